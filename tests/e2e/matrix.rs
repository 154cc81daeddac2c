//! The translation conformance matrix: every inbound protocol (OpenAI chat, Anthropic messages, Responses) × every
//! upstream protocol (OpenAI chat, Anthropic, Gemini) × every case, one named test per cell
//! (`matrix::<inbound>::<upstream>::<case>`), so a failure names its cell.
//!
//! One gateway and the three fakes serve the whole grid (started on first use, stopped when the test process ends);
//! each cell asks for its own model name (`<scenario words>+cell-<inbound>-<upstream>-<case>`), so its upstream
//! request, its routing health and its ledger row are its own. Each cell checks, for the client's protocol:
//! well-formedness (event order, indices, ids, terminators), completeness (text and arguments reassembled equal what
//! the fake sent), the stop reason, the usage the fake reported (input, cached, output, reasoning) in the client's
//! usage and in the ledger row, and what the upstream received. The `client_shaped` case replays the requests of
//! Claude Code, Codex and Continue from `tests/fixtures/clients/`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::fake::script::{SIGNATURE, STOP_SEQUENCE, THINKING};
use e2e::fake::{FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, FAKE_TOKEN, Guarded, free_port, http_get, wait_for, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter, RequestRow};
use switchboard_gateway::store::Store;

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

// ---------------------------------------------------------------------------------------------------------------
// The shared world
// ---------------------------------------------------------------------------------------------------------------

/// The three fakes and one gateway in front of them (providers `oa`, `an`, `ge`), for the whole test process.
struct World {
    runtime: tokio::runtime::Runtime,
    fakes: Vec<FakeUpstream>,
    root: String,
    data: PathBuf,
    client: reqwest::Client,
    /// The shell that runs the gateway and stops it (and removes its folder) when this process ends and its stdin
    /// closes. Never dropped: it lives in a static.
    _gateway: Guarded,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::start)
}

impl World {
    fn start() -> World {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let fakes = runtime.block_on(async {
            let mut fakes = Vec::new();
            for kind in FakeKind::ALL {
                fakes.push(FakeUpstream::start(kind).await);
            }
            fakes
        });
        let mut config = String::new();
        for fake in &fakes {
            config.push_str(&format!(
                "[[providers]]\nid = \"{}\"\nkind = \"{}\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n",
                Upstream::of(fake.kind).provider(),
                fake.kind.name(),
                fake.api_base()
            ));
        }
        config.push_str("[[apps]]\nname = \"matrix\"\ntoken_env = \"MATRIX_TOKEN\"\n");
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the data folder");
        let config_path = dir.join("switchboard.toml");
        std::fs::write(&config_path, config).expect("the config file");
        let port = free_port();
        // The gateway outlives no test process: the shell waits for its stdin (this process's pipe) to close.
        let script = r#"gateway="$1"; dir="$2"; shift 2
            "$gateway" "$@" </dev/null 2>"$dir/stderr.log" & pid=$!
            cat >/dev/null
            kill "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir""#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("matrix-gateway")
            .arg(workspace_bin("switchboard-gateway"))
            .arg(&dir)
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data)
            .arg("--port")
            .arg(port.to_string())
            .env("UP_KEY", FAKE_KEY)
            .env("MATRIX_TOKEN", FAKE_TOKEN)
            .env_remove("SWITCHBOARD_PORT")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the gateway through sh");
        let root = format!("http://127.0.0.1:{port}");
        let health = format!("{root}/health");
        if let Err(error) = wait_for("the matrix gateway's /health", Duration::from_secs(20), || http_get(&health)) {
            let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("{error}: {stderr}");
        }
        World { runtime, fakes, root, data, client: reqwest::Client::new(), _gateway: Guarded(child) }
    }

    fn fake(&self, upstream: Upstream) -> &FakeUpstream {
        self.fakes.iter().find(|f| f.kind == upstream.kind()).expect("one fake per kind")
    }

    /// The requests `upstream` received for `model` (chat calls only).
    fn upstream_requests(&self, upstream: Upstream, model: &str) -> Vec<RecordedRequest> {
        self.fake(upstream)
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .filter(|r| match upstream {
                Upstream::Gemini => r.path.contains(&format!("/models/{model}:")),
                _ => r.json.as_ref().is_some_and(|body| body["model"] == model),
            })
            .collect()
    }

    /// The ledger rows written for `model`, waiting (the writer batches every 250 ms) until there are `count`.
    fn ledger_rows(&self, model: &str, count: usize) -> Vec<RequestRow> {
        let store =
            Store::open(&self.data.join(switchboard_gateway::ledger::DATABASE_FILE)).expect("the gateway's database");
        let filter = RequestFilter { model: Some(model.to_owned()), ..RequestFilter::default() };
        wait_for(&format!("{count} ledger rows for {model}"), Duration::from_secs(10), || {
            let rows = queries::requests(&store, &filter, Page { limit: 20, before_id: None }).ok()?;
            (rows.len() >= count).then_some(rows)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The axes
// ---------------------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inbound {
    Chat,
    Messages,
    Responses,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upstream {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Upstream {
    fn of(kind: FakeKind) -> Upstream {
        match kind {
            FakeKind::OpenAi => Upstream::OpenAi,
            FakeKind::Anthropic => Upstream::Anthropic,
            FakeKind::Gemini => Upstream::Gemini,
        }
    }

    fn kind(self) -> FakeKind {
        match self {
            Upstream::OpenAi => FakeKind::OpenAi,
            Upstream::Anthropic => FakeKind::Anthropic,
            Upstream::Gemini => FakeKind::Gemini,
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Upstream::OpenAi => "oa",
            Upstream::Anthropic => "an",
            Upstream::Gemini => "ge",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Plain,
    Stream,
    MultiTurn,
    ToolsStreamed,
    ParallelTools,
    Image,
    JsonMode,
    Thinking,
    StopSequence,
    MaxTokens,
    UpstreamError,
    MidStreamError,
    /// The request shape of the inbound protocol's typical client, from `tests/fixtures/clients/`.
    Client,
}

impl Case {
    /// The fake's scenario words.
    fn words(self) -> &'static str {
        match self {
            Case::Plain | Case::Stream | Case::MultiTurn | Case::Image => "text",
            Case::ToolsStreamed | Case::ParallelTools | Case::Client => "tools",
            Case::JsonMode => "json",
            Case::Thinking => "thinking",
            Case::StopSequence => "stop-sequence",
            Case::MaxTokens => "max-tokens",
            Case::UpstreamError => "overloaded",
            Case::MidStreamError => "drop-mid-stream",
        }
    }

    fn streams(self) -> bool {
        matches!(
            self,
            Case::Stream
                | Case::ToolsStreamed
                | Case::Thinking
                | Case::StopSequence
                | Case::MaxTokens
                | Case::MidStreamError
                | Case::UpstreamError
                | Case::Client
        )
    }
}

/// One cell of the grid.
#[derive(Clone, Copy, Debug)]
struct Cell {
    inbound: Inbound,
    upstream: Upstream,
    case: Case,
}

impl Cell {
    /// The upstream model this cell asks for: the fake's scenario, and a tag that makes it the cell's own.
    fn model(&self) -> String {
        format!("{}+cell-{:?}-{:?}-{:?}", self.case.words(), self.inbound, self.upstream, self.case).to_lowercase()
    }

    fn client_model(&self) -> String {
        format!("{}/{}", self.upstream.provider(), self.model())
    }

    /// The reply text the fake sends for this cell when the last user text is `user`.
    fn hello(&self, user: &str) -> String {
        format!("Hello from {} {}: {user}", self.upstream.kind().name(), self.model())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// What the client saw, in one shape for every protocol
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Outcome {
    text: String,
    thinking: String,
    signature: Option<String>,
    calls: Vec<Call>,
    /// The stop reason in the client's own words (`stop`, `end_turn`, `completed`, `incomplete:max_output_tokens`).
    stop: String,
    /// Anthropic's `stop_sequence`.
    stop_sequence: Option<String>,
    usage: Option<Tokens>,
    /// An in-band error ended the stream: its type or code.
    error: Option<String>,
}

#[derive(Debug)]
struct Call {
    id: String,
    name: String,
    arguments: String,
    /// How many deltas carried the arguments (1 for a whole answer).
    deltas: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tokens {
    /// Every prompt token, cached ones included.
    input: u64,
    cached: u64,
    output: u64,
    reasoning: Option<u64>,
}

/// `(event name, data)` pairs of an SSE body, checking it ends on an event boundary.
fn sse_events(body: &str) -> Vec<(String, String)> {
    assert!(body.ends_with("\n\n"), "the stream must end on an event boundary: {body:?}");
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_owned();
            let data = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            (name, data)
        })
        .collect()
}

fn parse(data: &str, body: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|_| panic!("not JSON: {data:?} in {body}"))
}

fn u(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

// OpenAI chat ----------------------------------------------------------------------------------------------------

fn chat_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| Tokens {
        input: u(&usage["prompt_tokens"]),
        cached: u(&usage["prompt_tokens_details"]["cached_tokens"]),
        output: u(&usage["completion_tokens"]),
        reasoning: usage["completion_tokens_details"]["reasoning_tokens"].as_u64(),
    })
}

fn chat_whole(body: &Value) -> Outcome {
    assert_eq!(body["object"], "chat.completion", "{body}");
    let choices = body["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 1, "{body}");
    let message = &choices[0]["message"];
    assert_eq!(message["role"], "assistant", "{body}");
    let calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|call| {
            assert_eq!(call["type"], "function", "{body}");
            Call {
                id: call["id"].as_str().expect("a call id").to_owned(),
                name: call["function"]["name"].as_str().expect("a name").to_owned(),
                arguments: call["function"]["arguments"].as_str().expect("arguments as text").to_owned(),
                deltas: 1,
            }
        })
        .collect();
    Outcome {
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        thinking: message["reasoning_content"].as_str().unwrap_or_default().to_owned(),
        calls,
        stop: choices[0]["finish_reason"].as_str().expect("a finish_reason").to_owned(),
        usage: chat_usage(&body["usage"]),
        ..Outcome::default()
    }
}

/// Chunks, then `[DONE]` once and last; the role first; deltas, then one finish_reason, then (when asked) one usage
/// chunk with no choices; or an error chunk before `[DONE]`.
fn chat_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"), "{body}");
    assert_eq!(events.iter().filter(|e| e.1 == "[DONE]").count(), 1, "{body}");
    let mut outcome = Outcome::default();
    let mut finished = false;
    let mut usage_seen = false;
    for (i, (name, data)) in events[..events.len() - 1].iter().enumerate() {
        assert!(name.is_empty(), "OpenAI chunks are unnamed: {body}");
        let chunk = parse(data, body);
        assert!(outcome.error.is_none(), "nothing follows an error but [DONE]: {body}");
        if chunk.get("error").is_some() {
            outcome.error = Some(chunk["error"]["type"].as_str().unwrap_or("?").to_owned());
            assert!(chunk["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            continue;
        }
        assert_eq!(chunk["object"], "chat.completion.chunk", "{body}");
        assert!(!usage_seen, "the usage chunk comes last: {body}");
        let choices = chunk["choices"].as_array().expect("choices");
        if choices.is_empty() {
            outcome.usage = chat_usage(&chunk["usage"]);
            assert!(outcome.usage.is_some(), "a chunk without choices carries usage: {body}");
            usage_seen = true;
            continue;
        }
        assert_eq!(choices.len(), 1, "{body}");
        let choice = &choices[0];
        assert_eq!(choice["index"], 0, "{body}");
        let delta = &choice["delta"];
        if i == 0 {
            assert_eq!(delta["role"], "assistant", "the first chunk names the role: {body}");
        }
        let has_content = delta["content"].as_str().is_some_and(|t| !t.is_empty())
            || delta["reasoning_content"].as_str().is_some()
            || delta["tool_calls"].is_array();
        assert!(!(finished && has_content), "content after the finish_reason: {body}");
        outcome.text.push_str(delta["content"].as_str().unwrap_or_default());
        outcome.thinking.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = usize::try_from(call["index"].as_u64().expect("a call index")).unwrap_or(usize::MAX);
            if let Some(id) = call["id"].as_str() {
                assert_eq!(index, outcome.calls.len(), "a new call takes the next index: {body}");
                assert_eq!(call["type"], "function", "{body}");
                outcome.calls.push(Call {
                    id: id.to_owned(),
                    name: call["function"]["name"].as_str().expect("a new call's name").to_owned(),
                    arguments: String::new(),
                    deltas: 0,
                });
            }
            let known = outcome.calls.get_mut(index).unwrap_or_else(|| panic!("arguments for an unknown call: {body}"));
            if let Some(arguments) = call["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                known.arguments.push_str(arguments);
                known.deltas += 1;
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            assert!(!finished, "one finish_reason per choice: {body}");
            finished = true;
            outcome.stop = reason.to_owned();
        }
    }
    assert!(finished || outcome.error.is_some(), "the stream finishes or reports an error: {body}");
    outcome
}

// Anthropic messages ---------------------------------------------------------------------------------------------

/// Anthropic counts cached input apart; `merged` is the message_start usage updated by message_delta's.
fn messages_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| {
        let cached = u(&usage["cache_read_input_tokens"]);
        Tokens {
            input: u(&usage["input_tokens"]) + cached + u(&usage["cache_creation_input_tokens"]),
            cached,
            output: u(&usage["output_tokens"]),
            reasoning: None,
        }
    })
}

fn messages_whole(body: &Value) -> Outcome {
    assert_eq!(body["type"], "message", "{body}");
    assert_eq!(body["role"], "assistant", "{body}");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
    let mut outcome = Outcome {
        stop: body["stop_reason"].as_str().expect("a stop_reason").to_owned(),
        stop_sequence: body["stop_sequence"].as_str().map(str::to_owned),
        usage: messages_usage(&body["usage"]),
        ..Outcome::default()
    };
    for block in body["content"].as_array().expect("content blocks") {
        match block["type"].as_str() {
            Some("text") => outcome.text.push_str(block["text"].as_str().expect("text")),
            Some("thinking") => {
                outcome.thinking.push_str(block["thinking"].as_str().expect("thinking"));
                outcome.signature = block["signature"].as_str().map(str::to_owned);
            }
            Some("tool_use") => {
                assert!(block["input"].is_object(), "tool input is an object: {body}");
                outcome.calls.push(Call {
                    id: block["id"].as_str().expect("an id").to_owned(),
                    name: block["name"].as_str().expect("a name").to_owned(),
                    arguments: block["input"].to_string(),
                    deltas: 1,
                });
            }
            other => panic!("unexpected block {other:?}: {body}"),
        }
    }
    outcome
}

/// message_start, then blocks opened, delta'd and closed one at a time in index order, then message_delta with the
/// stop reason and message_stop; or an error event last.
fn messages_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    let mut outcome = Outcome::default();
    assert_eq!(events[0].0, "message_start", "{body}");
    let start = parse(&events[0].1, body);
    assert_eq!(start["message"]["role"], "assistant", "{body}");
    let mut usage = start["message"]["usage"].clone();
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0;
    let mut saw_delta = false;
    let mut stopped = false;
    for (name, data) in &events[1..] {
        let data = parse(data, body);
        assert_eq!(data["type"], name.as_str(), "data.type names the event: {body}");
        assert!(!stopped, "nothing after message_stop: {body}");
        assert!(outcome.error.is_none(), "nothing after an error: {body}");
        match name.as_str() {
            "ping" => {}
            "content_block_start" => {
                assert!(open.is_none(), "a block opened inside another: {body}");
                assert!(!saw_delta, "a block after message_delta: {body}");
                assert_eq!(data["index"], next_index, "blocks are numbered in order: {body}");
                let block = &data["content_block"];
                let kind = block["type"].as_str().expect("a block type").to_owned();
                match kind.as_str() {
                    "tool_use" => {
                        assert_eq!(block["input"], json!({}), "{body}");
                        outcome.calls.push(Call {
                            id: block["id"].as_str().expect("an id").to_owned(),
                            name: block["name"].as_str().expect("a name").to_owned(),
                            arguments: String::new(),
                            deltas: 0,
                        });
                    }
                    "text" => assert_eq!(block["text"], "", "{body}"),
                    "thinking" => assert_eq!(block["thinking"], "", "{body}"),
                    other => panic!("unexpected block {other}: {body}"),
                }
                open = Some((next_index, kind));
                next_index += 1;
            }
            "content_block_delta" => {
                let (index, kind) = open.clone().unwrap_or_else(|| panic!("a delta outside a block: {body}"));
                assert_eq!(data["index"], index, "{body}");
                let delta = &data["delta"];
                match (kind.as_str(), delta["type"].as_str().unwrap_or_default()) {
                    ("text", "text_delta") => outcome.text.push_str(delta["text"].as_str().expect("text")),
                    ("tool_use", "input_json_delta") => {
                        let call = outcome.calls.last_mut().expect("the open call");
                        call.arguments.push_str(delta["partial_json"].as_str().expect("partial_json"));
                        call.deltas += 1;
                    }
                    ("thinking", "thinking_delta") => {
                        assert!(outcome.signature.is_none(), "thinking after its signature: {body}");
                        outcome.thinking.push_str(delta["thinking"].as_str().expect("thinking"));
                    }
                    ("thinking", "signature_delta") => {
                        outcome.signature = Some(delta["signature"].as_str().expect("signature").to_owned());
                    }
                    other => panic!("delta {other:?} does not fit its block: {body}"),
                }
            }
            "content_block_stop" => {
                let (index, _) = open.take().unwrap_or_else(|| panic!("a stop without a block: {body}"));
                assert_eq!(data["index"], index, "{body}");
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block still open: {body}");
                assert!(!saw_delta, "one message_delta: {body}");
                saw_delta = true;
                outcome.stop = data["delta"]["stop_reason"].as_str().expect("a stop_reason").to_owned();
                outcome.stop_sequence = data["delta"]["stop_sequence"].as_str().map(str::to_owned);
                // The delta's counts replace message_start's, field by field.
                for (key, value) in data["usage"].as_object().into_iter().flatten() {
                    if !value.is_null() {
                        usage[key] = value.clone();
                    }
                }
            }
            "message_stop" => {
                assert!(saw_delta, "message_stop before message_delta: {body}");
                stopped = true;
            }
            "error" => {
                outcome.error = Some(data["error"]["type"].as_str().expect("an error type").to_owned());
                assert!(data["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
            other => panic!("unknown event {other}: {body}"),
        }
    }
    assert!(stopped || outcome.error.is_some(), "the stream ends with message_stop or an error: {body}");
    if saw_delta {
        outcome.usage = messages_usage(&usage);
    }
    outcome
}

// Responses ------------------------------------------------------------------------------------------------------

fn responses_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| {
        assert_eq!(u(&usage["total_tokens"]), u(&usage["input_tokens"]) + u(&usage["output_tokens"]), "{usage}");
        Tokens {
            input: u(&usage["input_tokens"]),
            cached: u(&usage["input_tokens_details"]["cached_tokens"]),
            output: u(&usage["output_tokens"]),
            reasoning: usage["output_tokens_details"]["reasoning_tokens"].as_u64(),
        }
    })
}

/// A response object's output items, read into an outcome.
fn responses_items(response: &Value, outcome: &mut Outcome) {
    for item in response["output"].as_array().expect("output items") {
        assert!(item["id"].as_str().is_some_and(|id| !id.is_empty()), "every item has an id: {response}");
        match item["type"].as_str() {
            Some("message") => {
                assert_eq!(item["role"], "assistant", "{response}");
                for part in item["content"].as_array().expect("content parts") {
                    assert_eq!(part["type"], "output_text", "{response}");
                    outcome.text.push_str(part["text"].as_str().expect("text"));
                }
            }
            Some("reasoning") => {
                for part in item["summary"].as_array().expect("a summary list") {
                    outcome.thinking.push_str(part["text"].as_str().expect("summary text"));
                }
                if let Some(encrypted) = item["encrypted_content"].as_str() {
                    outcome.signature = Some(encrypted.to_owned());
                }
            }
            Some("function_call") => outcome.calls.push(Call {
                id: item["call_id"].as_str().expect("a call_id").to_owned(),
                name: item["name"].as_str().expect("a name").to_owned(),
                arguments: item["arguments"].as_str().expect("arguments as text").to_owned(),
                deltas: 1,
            }),
            other => panic!("unexpected item {other:?}: {response}"),
        }
    }
}

fn responses_stop(response: &Value) -> String {
    let status = response["status"].as_str().expect("a status");
    match response["incomplete_details"]["reason"].as_str() {
        Some(reason) => format!("{status}:{reason}"),
        None => status.to_owned(),
    }
}

fn responses_whole(body: &Value) -> Outcome {
    assert_eq!(body["object"], "response", "{body}");
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("resp_")), "{body}");
    let mut outcome =
        Outcome { stop: responses_stop(body), usage: responses_usage(&body["usage"]), ..Outcome::default() };
    responses_items(body, &mut outcome);
    outcome
}

/// Named events, `type` equal to the name, sequence numbers from 0; `response.created`, `response.in_progress`,
/// items added in output order with their deltas before their `done`, then `response.completed` (or `incomplete` /
/// `failed`) last, whose output equals what the deltas built.
fn responses_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    let events: Vec<(String, Value)> = events.into_iter().map(|(n, d)| (n, parse(&d, body))).collect();
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "data.type names the event: {body}");
        assert_eq!(data["sequence_number"], i as u64, "sequence numbers count up from 0: {body}");
    }
    assert_eq!(events[0].0, "response.created", "{body}");
    assert_eq!(events[1].0, "response.in_progress", "{body}");
    let id = events[0].1["response"]["id"].as_str().expect("a response id").to_owned();
    // (item id, type, done, text or arguments, deltas)
    let mut items: Vec<(String, String, bool, String, usize)> = Vec::new();
    let mut thinking = String::new();
    let mut last: Option<&Value> = None;
    for (name, data) in &events[2..] {
        assert!(last.is_none(), "nothing follows the terminal event: {body}");
        let index = data["output_index"].as_u64().map(|i| usize::try_from(i).unwrap_or(usize::MAX));
        let live = |items: &Vec<(String, String, bool, String, usize)>| {
            let index = index.unwrap_or_else(|| panic!("{name} without an output_index: {body}"));
            let item = items.get(index).unwrap_or_else(|| panic!("{name} for an item not added: {body}"));
            assert!(!item.2, "{name} after the item was done: {body}");
            if name != "response.output_item.done" {
                assert_eq!(data["item_id"], item.0.as_str(), "{name} names its item: {body}");
            }
            index
        };
        match name.as_str() {
            "response.output_item.added" => {
                assert_eq!(index, Some(items.len()), "items are added in output order: {body}");
                let item = &data["item"];
                items.push((
                    item["id"].as_str().expect("an item id").to_owned(),
                    item["type"].as_str().expect("an item type").to_owned(),
                    false,
                    String::new(),
                    0,
                ));
            }
            "response.content_part.added" | "response.content_part.done" => {
                live(&items);
            }
            "response.output_text.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "message", "{body}");
                items[i].3.push_str(data["delta"].as_str().expect("a delta"));
                items[i].4 += 1;
            }
            "response.output_text.done" => {
                let i = live(&items);
                assert_eq!(data["text"], items[i].3.as_str(), "done repeats the whole text: {body}");
            }
            "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done" => {
                let i = live(&items);
                assert_eq!(items[i].1, "reasoning", "{body}");
            }
            "response.reasoning_summary_text.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "reasoning", "{body}");
                thinking.push_str(data["delta"].as_str().expect("a delta"));
            }
            "response.reasoning_summary_text.done" => {
                live(&items);
            }
            "response.function_call_arguments.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "function_call", "{body}");
                items[i].3.push_str(data["delta"].as_str().expect("a delta"));
                items[i].4 += 1;
            }
            "response.function_call_arguments.done" => {
                let i = live(&items);
                assert_eq!(data["arguments"], items[i].3.as_str(), "done repeats the arguments: {body}");
            }
            "response.output_item.done" => {
                let i = live(&items);
                assert_eq!(data["item"]["id"], items[i].0.as_str(), "{body}");
                items[i].2 = true;
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                assert_eq!(data["response"]["id"], id.as_str(), "one response id throughout: {body}");
                if name != "response.failed" {
                    assert!(items.iter().all(|item| item.2), "every item is done before the end: {body}");
                }
                last = Some(&data["response"]);
            }
            other => panic!("unexpected event {other}: {body}"),
        }
    }
    let response = last.unwrap_or_else(|| panic!("no terminal event: {body}"));
    let mut outcome = Outcome { stop: responses_stop(response), ..Outcome::default() };
    if response["status"] == "failed" {
        outcome.error = Some(response["error"]["code"].as_str().expect("an error code").to_owned());
        // What streamed before the failure.
        outcome.text = items.iter().filter(|i| i.1 == "message").map(|i| i.3.as_str()).collect();
        return outcome;
    }
    outcome.usage = responses_usage(&response["usage"]);
    responses_items(response, &mut outcome);
    // The final output is what the deltas built.
    let streamed_text: String = items.iter().filter(|i| i.1 == "message").map(|i| i.3.as_str()).collect();
    assert_eq!(outcome.text, streamed_text, "{body}");
    assert_eq!(outcome.thinking, thinking, "{body}");
    let streamed_calls: Vec<&(String, String, bool, String, usize)> =
        items.iter().filter(|i| i.1 == "function_call").collect();
    assert_eq!(outcome.calls.len(), streamed_calls.len(), "{body}");
    for (call, streamed) in outcome.calls.iter_mut().zip(streamed_calls) {
        assert_eq!(call.arguments, streamed.3, "{body}");
        call.deltas = streamed.4;
    }
    outcome
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

fn fixture(name: &str) -> Value {
    let path = e2e::package_dir().join("fixtures/clients").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn weather_tools_chat() -> Value {
    json!([
        { "type": "function", "function": { "name": "get_weather", "description": "Weather for a city",
          "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } } },
        { "type": "function", "function": { "name": "get_time", "description": "Time in a zone",
          "parameters": { "type": "object", "properties": { "tz": { "type": "string" } } } } }
    ])
}

fn weather_tools_messages() -> Value {
    json!([
        { "name": "get_weather", "description": "Weather for a city",
          "input_schema": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } },
        { "name": "get_time", "description": "Time in a zone",
          "input_schema": { "type": "object", "properties": { "tz": { "type": "string" } } } }
    ])
}

fn weather_tools_responses() -> Value {
    json!([
        { "type": "function", "name": "get_weather", "description": "Weather for a city",
          "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } },
        { "type": "function", "name": "get_time", "description": "Time in a zone",
          "parameters": { "type": "object", "properties": { "tz": { "type": "string" } } } }
    ])
}

const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}"#;

/// The last user text of each case's request (what the fake echoes).
fn user_text(case: Case) -> &'static str {
    match case {
        Case::MultiTurn => "second question",
        Case::Image => "what is in this picture?",
        _ => "hi there friend",
    }
}

/// The path and body a client of `inbound` sends for this cell.
fn request(cell: &Cell) -> (&'static str, Value) {
    let model = cell.client_model();
    let text = user_text(cell.case);
    let schema: Value = serde_json::from_str(JSON_SCHEMA).expect("the schema is JSON");
    match cell.inbound {
        Inbound::Chat => {
            let mut body = json!({ "model": model, "messages": [{ "role": "user", "content": text }] });
            match cell.case {
                Case::MultiTurn => {
                    body["messages"] = json!([
                        { "role": "system", "content": "You are terse." },
                        { "role": "user", "content": "first question" },
                        { "role": "assistant", "content": "first answer" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_chat(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_chat();
                    body["parallel_tool_calls"] = json!(true);
                    body["messages"] = json!([
                        { "role": "user", "content": "weather and time in Paris?" },
                        { "role": "assistant", "content": null, "tool_calls": [
                            { "id": "call_a", "type": "function", "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } },
                            { "id": "call_b", "type": "function", "function": { "name": "get_time", "arguments": "{\"tz\":\"CET\"}" } }
                        ] },
                        { "role": "tool", "tool_call_id": "call_a", "content": "18°C and sunny" },
                        { "role": "tool", "tool_call_id": "call_b", "content": "14:05" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::Image => {
                    body["messages"][0]["content"] = json!([
                        { "type": "text", "text": text },
                        { "type": "image_url", "image_url": { "url": format!("data:image/png;base64,{PNG}") } }
                    ]);
                }
                Case::JsonMode => {
                    body["response_format"] =
                        json!({ "type": "json_schema", "json_schema": { "name": "ok", "schema": schema } });
                }
                Case::Thinking => body["reasoning_effort"] = json!("low"),
                Case::StopSequence => body["stop"] = json!([STOP_SEQUENCE]),
                Case::MaxTokens => body["max_tokens"] = json!(5),
                Case::Client => body = fixture("continue-chat.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
                body["stream_options"] = json!({ "include_usage": true });
            }
            ("/v1/chat/completions", body)
        }
        Inbound::Messages => {
            let mut body =
                json!({ "model": model, "max_tokens": 1024, "messages": [{ "role": "user", "content": text }] });
            match cell.case {
                Case::MultiTurn => {
                    body["system"] = json!("You are terse.");
                    body["messages"] = json!([
                        { "role": "user", "content": "first question" },
                        { "role": "assistant", "content": "first answer" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_messages(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_messages();
                    body["messages"] = json!([
                        { "role": "user", "content": "weather and time in Paris?" },
                        { "role": "assistant", "content": [
                            { "type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": { "city": "Paris" } },
                            { "type": "tool_use", "id": "toolu_b", "name": "get_time", "input": { "tz": "CET" } }
                        ] },
                        { "role": "user", "content": [
                            { "type": "tool_result", "tool_use_id": "toolu_a", "content": "18°C and sunny" },
                            { "type": "tool_result", "tool_use_id": "toolu_b", "content": [{ "type": "text", "text": "14:05" }] },
                            { "type": "text", "text": text }
                        ] }
                    ]);
                }
                Case::Image => {
                    body["messages"][0]["content"] = json!([
                        { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": PNG } },
                        { "type": "text", "text": text }
                    ]);
                }
                Case::JsonMode => body["output_format"] = json!({ "type": "json_schema", "schema": schema }),
                Case::Thinking => body["thinking"] = json!({ "type": "enabled", "budget_tokens": 1024 }),
                Case::StopSequence => body["stop_sequences"] = json!([STOP_SEQUENCE]),
                Case::MaxTokens => body["max_tokens"] = json!(5),
                Case::Client => body = fixture("claude-code-messages.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
            }
            ("/v1/messages?beta=true", body)
        }
        Inbound::Responses => {
            let mut body = json!({ "model": model, "input": text, "store": false });
            match cell.case {
                Case::MultiTurn => {
                    body["instructions"] = json!("You are terse.");
                    body["input"] = json!([
                        { "role": "user", "content": "first question" },
                        { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "first answer" }] },
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_responses(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_responses();
                    body["parallel_tool_calls"] = json!(true);
                    body["input"] = json!([
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "weather and time in Paris?" }] },
                        { "type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" },
                        { "type": "function_call", "call_id": "call_b", "name": "get_time", "arguments": "{\"tz\":\"CET\"}" },
                        { "type": "function_call_output", "call_id": "call_a", "output": "18°C and sunny" },
                        { "type": "function_call_output", "call_id": "call_b", "output": "14:05" },
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
                    ]);
                }
                Case::Image => {
                    body["input"] = json!([{ "type": "message", "role": "user", "content": [
                        { "type": "input_text", "text": text },
                        { "type": "input_image", "image_url": format!("data:image/png;base64,{PNG}") }
                    ] }]);
                }
                Case::JsonMode => {
                    body["text"] = json!({ "format": { "type": "json_schema", "name": "ok", "schema": schema } });
                }
                Case::Thinking => body["reasoning"] = json!({ "effort": "low", "summary": "auto" }),
                // The Responses API has no stop sequences: the upstream stops at one anyway.
                Case::StopSequence => {}
                Case::MaxTokens => body["max_output_tokens"] = json!(16),
                Case::Client => body = fixture("codex-responses.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
            }
            ("/v1/responses", body)
        }
    }
}

/// Sends the cell's request the way its client does; returns the status and body.
fn send(world: &World, cell: &Cell, path: &str, body: &Value) -> (StatusCode, String) {
    let mut request = world.client.post(format!("{}{path}", world.root)).json(body);
    request = match cell.inbound {
        // Claude Code as the Apps page sets it up (ANTHROPIC_AUTH_TOKEN: a bearer token), the SDKs with x-api-key.
        Inbound::Messages if cell.case == Case::Client => {
            request.bearer_auth(FAKE_TOKEN).header("anthropic-version", "2023-06-01").header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
            )
        }
        Inbound::Messages => request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01"),
        Inbound::Chat | Inbound::Responses => request.bearer_auth(FAKE_TOKEN),
    };
    world.runtime.block_on(async {
        let response = request.timeout(Duration::from_secs(30)).send().await.expect("the gateway answers");
        let status = response.status();
        if cell.case.streams() && status == StatusCode::OK {
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        }
        (status, response.text().await.expect("a whole body"))
    })
}

fn outcome(cell: &Cell, body: &str) -> Outcome {
    match (cell.inbound, cell.case.streams()) {
        (Inbound::Chat, true) => chat_stream(body),
        (Inbound::Messages, true) => messages_stream(body),
        (Inbound::Responses, true) => responses_stream(body),
        (inbound, false) => {
            let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
            match inbound {
                Inbound::Chat => chat_whole(&json),
                Inbound::Messages => messages_whole(&json),
                Inbound::Responses => responses_whole(&json),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------------------------

/// The stop reason the client should see for a reply that ended as `finish` says.
fn expected_stop(cell: &Cell) -> &'static str {
    let finish = match cell.case {
        Case::ToolsStreamed | Case::ParallelTools | Case::Client => "tools",
        Case::MaxTokens => "length",
        // Only Anthropic says a stop sequence matched; OpenAI and Gemini say a plain stop.
        Case::StopSequence if cell.upstream == Upstream::Anthropic => "sequence",
        _ => "stop",
    };
    match (cell.inbound, finish) {
        (Inbound::Chat, "tools") => "tool_calls",
        (Inbound::Chat, "length") => "length",
        (Inbound::Chat, _) => "stop",
        (Inbound::Messages, "tools") => "tool_use",
        (Inbound::Messages, "length") => "max_tokens",
        (Inbound::Messages, "sequence") => "stop_sequence",
        (Inbound::Messages, _) => "end_turn",
        (Inbound::Responses, "length") => "incomplete:max_output_tokens",
        (Inbound::Responses, _) => "completed",
    }
}

/// The fake's counts: 12 prompt tokens of which 4 cached, 7 output of which 3 reasoning when it thought.
fn expected_usage(cell: &Cell) -> Tokens {
    let reasoning = (cell.case == Case::Thinking && cell.upstream != Upstream::Anthropic).then_some(3);
    Tokens { input: 12, cached: 4, output: 7, reasoning }
}

fn check_usage(cell: &Cell, got: Option<Tokens>, body: &str) {
    let got = got.unwrap_or_else(|| panic!("the client gets usage: {body}"));
    let want = expected_usage(cell);
    assert_eq!((got.input, got.cached, got.output), (want.input, want.cached, want.output), "usage: {body}");
    if let Some(reasoning) = want.reasoning
        && cell.inbound != Inbound::Messages
    {
        assert_eq!(got.reasoning, Some(reasoning), "reasoning tokens: {body}");
    }
}

fn check_ledger(world: &World, cell: &Cell, status: u16) {
    let rows = world.ledger_rows(&cell.model(), 1);
    assert_eq!(rows.len(), 1, "one ledger row per request: {rows:?}");
    let row = &rows[0];
    assert_eq!(row.status, status, "{row:?}");
    assert_eq!(row.stream, cell.case.streams(), "{row:?}");
    assert_eq!(row.provider_id.as_deref(), Some(cell.upstream.provider()), "{row:?}");
    let protocol = match cell.inbound {
        Inbound::Chat => "openai-chat",
        Inbound::Messages => "anthropic",
        Inbound::Responses => "responses",
    };
    assert_eq!(row.client_protocol, protocol, "{row:?}");
    assert!(row.latency_ms.is_some(), "{row:?}");
    if status == 200 && cell.case.streams() {
        assert!(row.ttft_ms.is_some(), "a stream's time to first byte is recorded: {row:?}");
    }
    if cell.case == Case::MidStreamError {
        assert!(row.error.as_deref().is_some_and(|e| e.contains("broke")), "the ledger says the stream broke: {row:?}");
        // What the upstream reported before the break: Anthropic's message_start and every Gemini chunk carry the
        // prompt's tokens; OpenAI reports usage only at the end.
        let input = (cell.upstream != Upstream::OpenAi).then_some(12);
        assert_eq!(row.input_tokens, input, "the partial usage: {row:?}");
    }
    if status == 200 && cell.case != Case::MidStreamError {
        let want = expected_usage(cell);
        assert_eq!(
            (row.input_tokens, row.cached_input_tokens, row.output_tokens),
            (Some(want.input), Some(want.cached), Some(want.output)),
            "the ledger's usage: {row:?}"
        );
        if let Some(reasoning) = want.reasoning {
            assert_eq!(row.reasoning_tokens, Some(reasoning), "{row:?}");
        }
    }
}

fn calls_as_json(outcome: &Outcome, body: &str) -> Vec<(String, Value)> {
    outcome
        .calls
        .iter()
        .map(|c| {
            let args = serde_json::from_str(&c.arguments).unwrap_or_else(|_| panic!("arguments {c:?}: {body}"));
            (c.name.clone(), args)
        })
        .collect()
}

fn check_two_calls(cell: &Cell, outcome: &Outcome, body: &str) {
    assert_eq!(
        calls_as_json(outcome, body),
        [("get_weather".to_owned(), json!({ "city": "Paris" })), ("get_time".to_owned(), json!({ "tz": "CET" }))],
        "{body}"
    );
    let ids: Vec<&str> = outcome.calls.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{body}");
    assert_ne!(ids[0], ids[1], "call ids are distinct: {body}");
    // Anthropic's answers name their calls toolu_…; the others call_… (Gemini has no ids: the gateway makes them).
    if cell.inbound == Inbound::Messages && cell.upstream == Upstream::Anthropic {
        assert_eq!(ids, ["toolu_1", "toolu_2"], "passthrough keeps the ids");
    }
    assert!(outcome.text.is_empty(), "a tool-only reply has no text: {body}");
}

/// What the upstream received, checked for what the case must carry across.
fn check_upstream(world: &World, cell: &Cell, path_body: &Value) {
    let calls = world.upstream_requests(cell.upstream, &cell.model());
    let expected_calls = if cell.case == Case::UpstreamError { 2 } else { 1 };
    assert_eq!(calls.len(), expected_calls, "upstream calls for {}: {calls:?}", cell.model());
    let call = &calls[0];
    let sent = call.json.clone().expect("a JSON body upstream");
    let text = call.text.as_str();
    assert!(!format!("{:?}", call.headers).contains(FAKE_TOKEN), "the app token never reaches a provider");
    let passthrough = matches!(
        (cell.inbound, cell.upstream),
        (Inbound::Chat, Upstream::OpenAi) | (Inbound::Messages, Upstream::Anthropic)
    );
    if passthrough {
        let mut expected = path_body.clone();
        expected["model"] = json!(cell.model());
        if cell.inbound == Inbound::Messages && cell.case == Case::Client {
            // The Anthropic API refuses `role: "system"` inside `messages`: Claude Code's joins `system`.
            let messages = expected["messages"].as_array_mut().expect("messages");
            let system = messages.remove(0);
            assert_eq!(system["role"], "system", "the fixture starts with a system message");
            let block = json!({ "type": "text", "text": system["content"] });
            expected["system"].as_array_mut().expect("system blocks").push(block);
        }
        if cell.inbound == Inbound::Chat && cell.case.streams() {
            // The gateway asks for usage; the client asked too.
            assert_eq!(sent["stream_options"]["include_usage"], true, "{sent}");
        }
        assert_eq!(sent, expected, "passthrough keeps the body but for the model");
        if cell.inbound == Inbound::Messages && cell.case == Case::Client {
            let beta = call.header("anthropic-beta").unwrap_or_default();
            assert!(beta.contains("claude-code-20250219"), "beta headers reach Anthropic: {beta}");
            assert!(call.path.starts_with("/v1/messages"), "{}", call.path);
        }
        return;
    }
    if cell.upstream != Upstream::Anthropic {
        assert_eq!(call.header("anthropic-beta"), None, "Anthropic's beta flags stay with Anthropic");
    }
    match cell.upstream {
        Upstream::OpenAi => {
            assert_eq!(sent["stream"].as_bool().unwrap_or(false), cell.case.streams(), "{sent}");
            if cell.case.streams() {
                assert_eq!(sent["stream_options"]["include_usage"], true, "usage is asked for: {sent}");
            }
        }
        Upstream::Anthropic => {
            assert!(sent["max_tokens"].as_u64().is_some_and(|n| n > 0), "Anthropic needs max_tokens: {sent}");
            assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
        }
        Upstream::Gemini => {
            let method = if cell.case.streams() { ":streamGenerateContent" } else { ":generateContent" };
            assert!(call.path.contains(method), "{}", call.path);
        }
    }
    match cell.case {
        Case::MultiTurn => {
            let (system, roles): (String, Vec<Value>) = match cell.upstream {
                Upstream::OpenAi => (
                    sent["messages"][0]["content"].to_string(),
                    sent["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect(),
                ),
                Upstream::Anthropic => (
                    sent["system"].to_string(),
                    sent["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect(),
                ),
                Upstream::Gemini => (
                    sent["systemInstruction"].to_string(),
                    sent["contents"].as_array().expect("contents").iter().map(|m| m["role"].clone()).collect(),
                ),
            };
            assert!(system.contains("You are terse."), "the system prompt: {sent}");
            let want: Vec<Value> = match cell.upstream {
                Upstream::OpenAi => vec![json!("system"), json!("user"), json!("assistant"), json!("user")],
                Upstream::Anthropic => vec![json!("user"), json!("assistant"), json!("user")],
                Upstream::Gemini => vec![json!("user"), json!("model"), json!("user")],
            };
            assert_eq!(roles, want, "{sent}");
        }
        Case::ParallelTools => {
            let (calls, results) = match cell.upstream {
                Upstream::OpenAi => (r#""tool_calls""#, r#""role":"tool""#),
                Upstream::Anthropic => (r#""type":"tool_use""#, r#""type":"tool_result""#),
                Upstream::Gemini => ("\"functionCall\"", "\"functionResponse\""),
            };
            assert_eq!(text.matches(results).count(), 2, "both tool results travel: {sent}");
            assert!(text.contains(calls) && text.contains("18°C and sunny") && text.contains("14:05"), "{sent}");
            if cell.upstream == Upstream::Gemini {
                assert!(text.contains(r#""name":"get_time""#), "a functionResponse names its function: {sent}");
            }
        }
        Case::Image => {
            let found = match cell.upstream {
                Upstream::OpenAi => text.contains(&format!("data:image/png;base64,{PNG}")),
                Upstream::Anthropic => {
                    text.contains(&json!({ "type": "base64", "media_type": "image/png", "data": PNG }).to_string())
                }
                Upstream::Gemini => text.contains(&json!({ "mimeType": "image/png", "data": PNG }).to_string()),
            };
            assert!(found, "the image travels in the upstream's form: {sent}");
        }
        Case::JsonMode => match cell.upstream {
            Upstream::OpenAi => assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}"),
            Upstream::Anthropic => assert!(sent["system"].to_string().contains("ok"), "the schema is conveyed: {sent}"),
            Upstream::Gemini => assert_eq!(sent["generationConfig"]["responseMimeType"], "application/json", "{sent}"),
        },
        Case::Thinking => match cell.upstream {
            Upstream::OpenAi => assert!(sent["reasoning_effort"].is_string(), "{sent}"),
            Upstream::Anthropic => assert_eq!(sent["thinking"]["type"], "enabled", "{sent}"),
            Upstream::Gemini => assert!(sent["generationConfig"]["thinkingConfig"].is_object(), "{sent}"),
        },
        Case::StopSequence if cell.inbound != Inbound::Responses => {
            let stops = match cell.upstream {
                Upstream::OpenAi => &sent["stop"],
                Upstream::Anthropic => &sent["stop_sequences"],
                Upstream::Gemini => &sent["generationConfig"]["stopSequences"],
            };
            assert_eq!(stops, &json!([STOP_SEQUENCE]), "{sent}");
        }
        Case::MaxTokens => {
            let limit = match cell.upstream {
                Upstream::OpenAi => sent.get("max_completion_tokens").or(sent.get("max_tokens")),
                Upstream::Anthropic => sent.get("max_tokens"),
                Upstream::Gemini => sent["generationConfig"].get("maxOutputTokens"),
            };
            let want = if cell.inbound == Inbound::Responses { 16 } else { 5 };
            assert_eq!(limit.and_then(Value::as_u64), Some(want), "{sent}");
        }
        Case::Client => check_client_fixture_upstream(cell, &sent, text),
        _ => {}
    }
}

/// The system prompt as the upstream received it (its text, JSON-encoded).
fn system_text(upstream: Upstream, sent: &Value) -> String {
    match upstream {
        Upstream::OpenAi => sent["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["role"] == "system" || m["role"] == "developer")
            .map(|m| m["content"].to_string())
            .collect(),
        Upstream::Anthropic => sent["system"].to_string(),
        Upstream::Gemini => sent["systemInstruction"].to_string(),
    }
}

/// How a PNG looks in the upstream's request.
fn image_form(upstream: Upstream) -> &'static str {
    match upstream {
        Upstream::OpenAi => "data:image/png;base64,",
        Upstream::Anthropic => "\"media_type\":\"image/png\"",
        Upstream::Gemini => "\"mimeType\":\"image/png\"",
    }
}

/// What must survive (or be dropped) when a real client's request is translated.
fn check_client_fixture_upstream(cell: &Cell, sent: &Value, text: &str) {
    let tool_names: Vec<String> = match cell.upstream {
        Upstream::OpenAi => {
            sent["tools"].as_array().expect("tools").iter().map(|t| t["function"]["name"].to_string()).collect()
        }
        Upstream::Anthropic => sent["tools"].as_array().expect("tools").iter().map(|t| t["name"].to_string()).collect(),
        Upstream::Gemini => sent["tools"][0]["functionDeclarations"]
            .as_array()
            .expect("function declarations")
            .iter()
            .map(|t| t["name"].to_string())
            .collect(),
    };
    // Neither cache hints nor Anthropic's signatures mean anything to other upstreams.
    if cell.upstream != Upstream::Anthropic {
        assert!(!text.contains("cache_control"), "cache_control is dropped: {sent}");
        assert!(!text.contains("EqQBCkYIBxgC"), "Claude's thinking signature is dropped: {sent}");
    }
    // OpenAI's own encrypted reasoning, replayed by Codex, means nothing to any upstream here.
    assert!(!text.contains("gAAAAB"), "foreign encrypted reasoning is dropped: {sent}");
    match cell.inbound {
        Inbound::Messages => {
            let fixture = fixture("claude-code-messages.json");
            assert_eq!(tool_names.len(), fixture["tools"].as_array().expect("tools").len(), "every tool travels");
            // The system blocks (and the system message inside `messages`), the tool result's image.
            let system = system_text(cell.upstream, sent);
            for block in fixture["system"].as_array().expect("system blocks") {
                let first_line = block["text"].as_str().expect("text").lines().next().expect("a line");
                assert!(system.contains(first_line), "system text {first_line:?} is the system prompt: {sent}");
            }
            assert!(system.contains("Prefer small, focused diffs."), "the system message joins the system prompt");
            assert!(text.contains(image_form(cell.upstream)), "the tool result's image travels: {sent}");
            assert!(!text.contains("context_management") && !text.contains("output_config"), "{sent}");
        }
        Inbound::Responses => {
            let fixture = fixture("codex-responses.json");
            let functions = fixture["tools"].as_array().expect("tools").iter().filter(|t| t["type"] == "function");
            assert_eq!(tool_names.len(), functions.count(), "function tools travel, hosted ones do not: {sent}");
            assert!(!text.contains("web_search"), "the hosted tool is dropped: {sent}");
            let system = system_text(cell.upstream, sent);
            assert!(system.contains("You are Codex, a coding agent"), "developer items become the system prompt");
            assert!(!system.contains("environment_context"), "user items stay user turns: {sent}");
            assert!(text.contains("Cargo.toml") && text.contains("exit code 0"), "the tool output travels: {sent}");
            assert!(text.contains(image_form(cell.upstream)), "view_image's output image travels: {sent}");
        }
        Inbound::Chat => {
            let fixture = fixture("continue-chat.json");
            assert_eq!(tool_names.len(), fixture["tools"].as_array().expect("tools").len(), "every tool travels");
            assert!(system_text(cell.upstream, sent).contains("You are in agent mode."), "{sent}");
        }
    }
}

/// Runs one cell and checks everything it can.
fn run(inbound: Inbound, upstream: Upstream, case: Case) {
    let world = world();
    let cell = Cell { inbound, upstream, case };
    let (path, body) = request(&cell);
    let (status, text) = send(world, &cell, path, &body);

    if case == Case::UpstreamError {
        check_upstream_error(world, &cell, status, &text);
        return;
    }
    assert_eq!(status, StatusCode::OK, "{text}");
    let outcome = outcome(&cell, &text);
    check_upstream(world, &cell, &body);

    if case == Case::MidStreamError {
        assert!(outcome.error.is_some(), "an in-band error ends the broken stream: {text}");
        assert!(!outcome.text.is_empty(), "what arrived before the drop is kept: {text}");
        assert!(cell.hello(user_text(case)).starts_with(&outcome.text), "{text}");
        check_ledger(world, &cell, 200);
        return;
    }
    assert_eq!(outcome.error, None, "{text}");
    assert_eq!(outcome.stop, expected_stop(&cell), "the stop reason: {text}");
    check_usage(&cell, outcome.usage, &text);
    match case {
        Case::ToolsStreamed | Case::ParallelTools | Case::Client => {
            check_two_calls(&cell, &outcome, &text);
            if case.streams() && upstream != Upstream::Gemini {
                // Gemini sends each call whole; the others stream the arguments in pieces, and so must we. An
                // Anthropic client's blocks are sequential while an OpenAI upstream may interleave parallel calls,
                // so there the first call streams live and the next ones arrive whole when it ends.
                let live = if inbound == Inbound::Messages && upstream == Upstream::OpenAi { 1 } else { 2 };
                assert!(outcome.calls.iter().take(live).all(|c| c.deltas >= 2), "arguments stream: {text}");
            }
        }
        Case::JsonMode => {
            let answer: Value = serde_json::from_str(&outcome.text).unwrap_or_else(|_| panic!("JSON: {text}"));
            assert_eq!(answer, json!({ "ok": true }));
        }
        Case::Thinking => {
            assert_eq!(outcome.thinking, THINKING, "the reasoning reaches the client: {text}");
            assert_eq!(outcome.text, "Answer.", "{text}");
            check_signature_round_trip(world, &cell, &outcome, &text);
        }
        Case::StopSequence => {
            assert_eq!(outcome.text, "Counting: one two three ", "{text}");
            if inbound == Inbound::Messages && upstream == Upstream::Anthropic {
                assert_eq!(outcome.stop_sequence.as_deref(), Some(STOP_SEQUENCE), "{text}");
            }
        }
        Case::MaxTokens => assert_eq!(outcome.text, "Once upon a time there", "{text}"),
        Case::Plain | Case::Stream | Case::MultiTurn | Case::Image => {
            assert_eq!(outcome.text, cell.hello(user_text(case)), "the whole text, in order: {text}");
            assert!(outcome.calls.is_empty() && outcome.thinking.is_empty(), "{text}");
        }
        Case::UpstreamError | Case::MidStreamError => unreachable!("handled above"),
    }
    check_ledger(world, &cell, 200);
}

/// The signature the fake signs its thinking with, as the client should see it, and as the upstream wants it back.
fn signatures(cell: &Cell) -> Option<(String, &'static str)> {
    let raw = match cell.upstream {
        Upstream::Anthropic => SIGNATURE,
        // base64("sig-fake-123"): Gemini's thoughtSignature.
        Upstream::Gemini => "c2lnLWZha2UtMTIz",
        Upstream::OpenAi => return None,
    };
    let client = match (cell.inbound, cell.upstream) {
        (Inbound::Chat, _) => return None,
        (Inbound::Messages, Upstream::Anthropic) => raw.to_owned(),
        (Inbound::Responses, Upstream::Anthropic) => format!("anthropic:{raw}"),
        (_, _) => format!("gemini:{raw}"),
    };
    Some((client, raw))
}

/// The client replays the signed thinking on its next turn: the upstream that signed it gets its signature back.
fn check_signature_round_trip(world: &World, cell: &Cell, outcome: &Outcome, text: &str) {
    let Some((client, raw)) = signatures(cell) else { return };
    assert_eq!(outcome.signature.as_deref(), Some(client.as_str()), "the signature reaches the client: {text}");
    let model = format!("{}/{}+turn-2", cell.upstream.provider(), cell.model());
    let (path, body) = match cell.inbound {
        Inbound::Messages => (
            "/v1/messages",
            json!({ "model": model, "max_tokens": 2048,
            "thinking": { "type": "enabled", "budget_tokens": 1024 },
            "messages": [
                { "role": "user", "content": "hi there friend" },
                { "role": "assistant", "content": [
                    { "type": "thinking", "thinking": outcome.thinking, "signature": client },
                    { "type": "text", "text": outcome.text } ] },
                { "role": "user", "content": "and then?" } ] }),
        ),
        Inbound::Responses => (
            "/v1/responses",
            json!({ "model": model, "reasoning": { "effort": "low" },
            "input": [
                { "type": "message", "role": "user", "content": "hi there friend" },
                { "type": "reasoning", "summary": [{ "type": "summary_text", "text": outcome.thinking }],
                  "encrypted_content": client },
                { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": outcome.text }] },
                { "type": "message", "role": "user", "content": "and then?" } ] }),
        ),
        Inbound::Chat => return,
    };
    let turn = Cell { case: Case::Plain, ..*cell };
    let (status, answer) = send(world, &turn, path, &body);
    assert_eq!(status, StatusCode::OK, "{answer}");
    let upstream_model = format!("{}+turn-2", cell.model());
    let sent = world.upstream_requests(cell.upstream, &upstream_model);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent = sent[0].json.clone().expect("JSON");
    let got = match cell.upstream {
        Upstream::Anthropic => &sent["messages"][1]["content"][0]["signature"],
        _ => &sent["contents"][1]["parts"][0]["thoughtSignature"],
    };
    assert_eq!(got, raw, "the signer gets its own signature back: {sent}");
}

/// An overloaded upstream (Anthropic 529, the others 503), retried once, and a rate limit reach a streaming client
/// before the stream starts: an HTTP error in its own shape, as the providers answer.
fn check_upstream_error(world: &World, cell: &Cell, status: StatusCode, text: &str) {
    let body: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("an error body is JSON: {text}"));
    let want_status = if cell.upstream == Upstream::Anthropic { 529 } else { 503 };
    assert_eq!(status.as_u16(), want_status, "{text}");
    match cell.inbound {
        Inbound::Messages => {
            assert_eq!(body["type"], "error", "{text}");
            assert_eq!(body["error"]["type"], "overloaded_error", "{text}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
        }
        Inbound::Chat | Inbound::Responses => {
            assert!(
                body["error"]["message"].as_str().is_some_and(|m| m.starts_with(cell.upstream.provider())),
                "{text}"
            );
            assert!(body["error"]["code"].is_string(), "{text}");
        }
    }
    assert!(!text.contains(FAKE_KEY), "{text}");
    let calls = world.upstream_requests(cell.upstream, &cell.model());
    assert_eq!(calls.len(), 2, "an overloaded upstream is tried twice");
    check_ledger(world, cell, want_status);

    // A rate limit: 429 with Retry-After passed on, in the client's shape.
    let (path, mut body) = request(cell);
    let model = cell.model().replacen("overloaded", "rate-limit", 1);
    body["model"] = json!(format!("{}/{model}", cell.upstream.provider()));
    let response = world.runtime.block_on(async {
        let mut request = world.client.post(format!("{}{path}", world.root)).json(&body);
        request = match cell.inbound {
            Inbound::Messages => request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01"),
            Inbound::Chat | Inbound::Responses => request.bearer_auth(FAKE_TOKEN),
        };
        request.send().await.expect("the gateway answers")
    });
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: Value = world.runtime.block_on(response.json()).expect("an error body is JSON");
    match cell.inbound {
        Inbound::Messages => {
            assert_eq!(
                (body["type"].as_str(), body["error"]["type"].as_str()),
                (Some("error"), Some("rate_limit_error"))
            )
        }
        Inbound::Chat | Inbound::Responses => assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}"),
    }
}

macro_rules! matrix {
    ([$($inbound:ident => $in:expr),*] $upstreams:tt $cases:tt) => {
        $( matrix!(@inbound $inbound => $in; $upstreams $cases); )*
    };
    (@inbound $inbound:ident => $in:expr; [$($upstream:ident => $up:expr),*] $cases:tt) => {
        mod $inbound {
            $( matrix!(@upstream $in; $upstream => $up; $cases); )*
        }
    };
    (@upstream $in:expr; $upstream:ident => $up:expr; [$($case:ident => $c:expr),*]) => {
        mod $upstream {
            use super::super::{Case, Inbound, Upstream, run};
            $(
                #[test]
                fn $case() {
                    run($in, $up, $c);
                }
            )*
        }
    };
}

matrix! {
    [chat => Inbound::Chat, messages => Inbound::Messages, responses => Inbound::Responses]
    [openai => Upstream::OpenAi, anthropic => Upstream::Anthropic, gemini => Upstream::Gemini]
    [plain => Case::Plain, stream => Case::Stream, multi_turn => Case::MultiTurn,
     tools_streamed => Case::ToolsStreamed, parallel_tools => Case::ParallelTools, image_input => Case::Image,
     json_mode => Case::JsonMode, thinking => Case::Thinking, stop_sequence => Case::StopSequence,
     max_tokens => Case::MaxTokens, upstream_error => Case::UpstreamError, mid_stream_error => Case::MidStreamError,
     client_shaped => Case::Client]
}
