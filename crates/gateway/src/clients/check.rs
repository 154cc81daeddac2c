//! Test and Check: what a connected client sends, sent the way it sends it, and a verdict on what came back.
//!
//! Each client speaks one protocol to the gateway ([`ClientProtocol`]). A [`Caller`] is that protocol with the base
//! URL and token *from the client's own files*, so a good answer proves the files are right. [`ask`] sends one short
//! streamed prompt as the client would — its URL path, auth header, headers, body shape, streaming — for the window's
//! Test. [`run_case`] runs one protocol case against one model (for Check: each target of an alias, named directly
//! as `provider/model`, so fallback cannot hide a broken target):
//!
//! - **plain**: a whole (non-streamed) answer with text;
//! - **streamed**: text streamed to its protocol's last event (`message_stop`, `[DONE]`, `response.completed`, a
//!   finish reason);
//! - **tools**: one declared tool and an instruction to call it (tool choice `required`); a call must come back,
//!   stopping for the tool; then the call and its result are sent back, and a text answer must follow;
//! - **thinking**: reasoning on (for targets whose capabilities say they reason); an answer must still come.
//!
//! Requests are neutral requests written with `protocol/`'s encoders (the code that writes them for upstreams of the
//! same protocol), answers are read with its decoders; the Responses API's client side is in `check/responses.rs`
//! until `protocol/responses` has it. Every request carries its own `x-request-id`, so the caller can find the
//! request's ledger row (`Ledger::expect`).

mod responses;

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::ClientProtocol;
use crate::protocol::neutral::{
    CacheHint, ChatRequest, Message, Part, Reasoning, Role, StopReason, StreamEvent, SystemBlock, Tool, ToolChoice,
    Usage,
};
use crate::protocol::{self, Protocol, SseEvent, anthropic, gemini, openai_chat};

/// The one tool the tool case declares.
pub const TOOL_NAME: &str = "get_weather";
/// What the tool case sends back as the tool's result.
pub const TOOL_RESULT: &str = "Sunny, 21 °C, a light wind from the west.";
/// Claude Code's Anthropic API version and a few of the beta flags it sends.
const ANTHROPIC_VERSION: &str = "2023-06-01";
const ANTHROPIC_BETA: &str =
    "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14";
/// Most bytes of an error answer read.
const ERROR_LIMIT: usize = 64 * 1024;
/// Longest piece of an answer quoted in a verdict, in characters.
const QUOTE: usize = 120;

/// One protocol case of Check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    Plain,
    Streamed,
    Tools,
    Thinking,
}

impl Case {
    pub const ALL: [Case; 4] = [Case::Plain, Case::Streamed, Case::Tools, Case::Thinking];

    /// `plain`, `streamed`, `tools`, `thinking`.
    pub fn id(self) -> &'static str {
        match self {
            Case::Plain => "plain",
            Case::Streamed => "streamed",
            Case::Tools => "tools",
            Case::Thinking => "thinking",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Case::Plain => "Plain",
            Case::Streamed => "Streamed",
            Case::Tools => "Tool call",
            Case::Thinking => "Thinking",
        }
    }
}

/// Who sends: a client's protocol, with the base URL and token its files hold.
#[derive(Debug, Clone)]
pub struct Caller {
    pub protocol: ClientProtocol,
    /// As the client's file has it: the root (`http://127.0.0.1:7352`) for Claude Code and Gemini CLI, which add
    /// their own paths; `…/v1` for Codex and the OpenAI-compatible clients.
    pub base_url: String,
    pub token: SecretString,
}

/// A tool call that came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    pub name: String,
    /// JSON text.
    pub arguments: String,
}

/// What came back for one request, whatever its protocol.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The HTTP status (0 when nothing answered).
    pub status: u16,
    pub text: String,
    pub thinking: String,
    /// The thinking came with a signature (Anthropic's `signature`, Gemini's `thoughtSignature`).
    pub signed: bool,
    pub calls: Vec<Call>,
    pub stop: Option<StopReason>,
    pub usage: Option<Usage>,
    /// A stream reached its protocol's last event; always true for a whole answer.
    pub ended: bool,
    /// Why it failed: the error an answer carried (status and message), an error event, unreadable bytes.
    pub error: Option<String>,
    /// The routing headers: which alias, which `provider/model` answered.
    pub alias: Option<String>,
    pub target: Option<String>,
    /// The `x-request-id` it was sent with.
    pub request_id: String,
}

/// Whether a case passed, with what came back or what broke, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// On a pass, what came back ("answered: …"); on a fail, what broke; on a skip, why.
    pub detail: String,
    pub elapsed: Duration,
    /// The requests it sent (one, or two for the tool case).
    pub request_ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

impl Verdict {
    pub fn skip(reason: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Skip, detail: reason.into(), elapsed: Duration::ZERO, request_ids: Vec::new() }
    }
}

/// A fresh request id: `sb-check-` and 16 random hex digits.
pub fn request_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time still keeps ids apart within a run.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes = (now.as_nanos() as u64).to_be_bytes();
    }
    format!("sb-check-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The client for Test and Check: loopback only, so no proxy, and no redirects.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION"), " (client check)"))
        .build()
        .map_err(|e| format!("could not make an HTTP client: {e}"))
}

/// Test: `prompt` to `model` as the client sends a turn (its system prompt, streamed), with `request_id`.
pub async fn ask(http: &reqwest::Client, caller: &Caller, model: &str, prompt: &str, request_id: &str) -> Reply {
    let request = ChatRequest {
        messages: vec![Message::text(Role::User, prompt)],
        stream: true,
        ..base_request(caller.protocol, model)
    };
    send(http, caller, &request, request_id).await
}

/// Runs one case against `model` (an alias or `provider/model`), waiting at most `timeout` for it.
pub async fn run_case(http: &reqwest::Client, caller: &Caller, model: &str, case: Case, timeout: Duration) -> Verdict {
    let started = Instant::now();
    let mut request_ids = Vec::new();
    let result = tokio::time::timeout(timeout, case_steps(http, caller, model, case, &mut request_ids)).await;
    let (outcome, detail) = match result {
        Ok(Ok(passed)) => (Outcome::Pass, passed),
        Ok(Err(broke)) => (Outcome::Fail, broke),
        Err(_) => (Outcome::Fail, format!("no complete answer within {} s", timeout.as_secs())),
    };
    Verdict { outcome, detail, elapsed: started.elapsed(), request_ids }
}

async fn case_steps(
    http: &reqwest::Client,
    caller: &Caller,
    model: &str,
    case: Case,
    request_ids: &mut Vec<String>,
) -> Result<String, String> {
    let protocol = caller.protocol;
    let mut go = async |request: &ChatRequest| {
        let id = request_id();
        request_ids.push(id.clone());
        send(http, caller, request, &id).await
    };
    match case {
        Case::Plain => judge_plain(&go(&plain_request(protocol, model, false)).await),
        Case::Streamed => judge_streamed(protocol, &go(&plain_request(protocol, model, true)).await),
        Case::Tools => {
            let first = tool_request(protocol, model);
            let called = go(&first).await;
            let call = judge_tool_call(protocol, &called)?;
            let second = tool_result_request(first, &called, &call);
            judge_after_tool(protocol, &call, &go(&second).await)
        }
        Case::Thinking => judge_thinking(protocol, &go(&thinking_request(protocol, model)).await),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

/// What every request of a client starts from: a system prompt like an agent's (in our own words), marked for
/// caching as Claude Code marks its own.
fn base_request(protocol: ClientProtocol, model: &str) -> ChatRequest {
    let cache = (protocol == ClientProtocol::Anthropic).then(|| CacheHint { kind: "ephemeral".into(), ttl: None });
    ChatRequest {
        model: model.to_owned(),
        system: vec![
            SystemBlock { text: "You are a coding assistant working in a terminal.".into(), cache: None },
            SystemBlock {
                text: "Answer briefly. When a tool is offered and the user asks you to use it, call it.".into(),
                cache,
            },
        ],
        max_tokens: (protocol == ClientProtocol::Anthropic).then_some(4096),
        stream_usage: true,
        ..ChatRequest::default()
    }
}

fn plain_request(protocol: ClientProtocol, model: &str, stream: bool) -> ChatRequest {
    let prompt = "Reply with one short sentence: which model are you?";
    ChatRequest { messages: vec![Message::text(Role::User, prompt)], stream, ..base_request(protocol, model) }
}

fn tool_request(protocol: ClientProtocol, model: &str) -> ChatRequest {
    let prompt = format!("What is the weather in Paris right now? Call the {TOOL_NAME} tool; do not guess.");
    ChatRequest {
        messages: vec![Message::text(Role::User, prompt)],
        tools: vec![Tool {
            name: TOOL_NAME.into(),
            description: Some("The current weather in a city.".into()),
            parameters: json!({
                "type": "object",
                "properties": { "city": { "type": "string", "description": "The city's name" } },
                "required": ["city"],
            }),
            strict: None,
            cache: None,
        }],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        stream: true,
        ..base_request(protocol, model)
    }
}

/// The tool request again, with the model's turn (thinking, text and the call, as it came) and the tool's result.
fn tool_result_request(mut request: ChatRequest, called: &Reply, call: &Call) -> ChatRequest {
    let mut turn = Vec::new();
    if !called.thinking.is_empty() {
        turn.push(Part::Thinking { text: called.thinking.clone(), signature: None });
    }
    if !called.text.is_empty() {
        turn.push(Part::Text { text: called.text.clone(), cache: None });
    }
    turn.push(Part::ToolCall { id: call.id.clone(), name: call.name.clone(), arguments: call.arguments.clone() });
    request.messages.push(Message { role: Role::Assistant, content: turn });
    request.messages.push(Message {
        role: Role::User,
        content: vec![Part::ToolResult {
            call_id: call.id.clone(),
            name: Some(call.name.clone()),
            content: vec![Part::Text { text: TOOL_RESULT.into(), cache: None }],
            is_error: false,
            cache: None,
        }],
    });
    request.tool_choice = Some(ToolChoice::Auto);
    request
}

fn thinking_request(protocol: ClientProtocol, model: &str) -> ChatRequest {
    let prompt = "Is 391 a prime number? Think it through, then answer yes or no in one sentence.";
    ChatRequest {
        messages: vec![Message::text(Role::User, prompt)],
        reasoning: Some(Reasoning { effort: None, budget_tokens: Some(1024), enabled: true }),
        stream: true,
        ..base_request(protocol, model)
    }
}

/// A request as it goes on the wire: where, with which headers (besides the token's), which body.
#[derive(Debug, Clone, PartialEq)]
struct Built {
    url: String,
    /// The token's header: `(name, value)`.
    auth: (&'static str, String),
    headers: Vec<(&'static str, &'static str)>,
    body: Value,
}

/// Writes `request` the way `caller`'s client does.
fn build(caller: &Caller, request: &ChatRequest) -> Built {
    let base = caller.base_url.trim_end_matches('/');
    let token = caller.token.expose_secret();
    let bearer = ("authorization", format!("Bearer {token}"));
    match caller.protocol {
        ClientProtocol::Anthropic => {
            let mut body = anthropic::encode_request(request);
            body["metadata"] = json!({ "user_id": "switchboard-client-check" });
            Built {
                // Claude Code adds `?beta=true` to every call.
                url: format!("{base}/v1/messages?beta=true"),
                auth: bearer,
                headers: vec![("anthropic-version", ANTHROPIC_VERSION), ("anthropic-beta", ANTHROPIC_BETA)],
                body,
            }
        }
        ClientProtocol::OpenAiChat => Built {
            url: format!("{base}/chat/completions"),
            auth: bearer,
            headers: Vec::new(),
            body: openai_chat::encode_request(request),
        },
        ClientProtocol::Responses => Built {
            url: format!("{base}/responses"),
            auth: bearer,
            headers: Vec::new(),
            body: responses::encode_request(request),
        },
        ClientProtocol::Gemini => Built {
            url: format!("{base}/v1beta/{}", gemini::method_path(&request.model, request.stream)),
            auth: ("x-goog-api-key", token.to_owned()),
            headers: Vec::new(),
            body: gemini::encode_request(request),
        },
    }
}

/// Sends `request` and reads the whole answer (every event of a stream).
async fn send(http: &reqwest::Client, caller: &Caller, request: &ChatRequest, request_id: &str) -> Reply {
    let built = build(caller, request);
    let mut sending = http
        .post(&built.url)
        .header(built.auth.0, built.auth.1)
        .header("x-request-id", request_id)
        .header("content-type", "application/json")
        .body(built.body.to_string());
    for (name, value) in &built.headers {
        sending = sending.header(*name, *value);
    }
    let mut reply = Reply { request_id: request_id.to_owned(), ..Reply::default() };
    let response = match sending.send().await {
        Ok(response) => response,
        Err(error) => {
            reply.error = Some(format!("nothing answered at {}: {}", built.url, without_url(&error)));
            return reply;
        }
    };
    reply.status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    reply.alias = header("x-switchboard-alias");
    reply.target = header("x-switchboard-target");
    if !response.status().is_success() {
        let bytes = read_limited(response).await;
        reply.error = Some(format!("{}: {}", reply.status, error_message(&bytes)));
        return reply;
    }
    if !request.stream {
        let bytes = read_limited(response).await;
        let mut reader = Reader::new(caller.protocol, reply);
        reader.whole(&bytes);
        return reader.reply;
    }
    let mut reader = Reader::new(caller.protocol, reply);
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                reader.event(&SseEvent { event: Some(event.event).filter(|e| e != "message"), data: event.data })
            }
            Err(error) => {
                reader.broke(format!("the stream broke: {error}"));
                break;
            }
        }
    }
    reader.finish()
}

fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    if error.is_connect() { format!("{text} (is Switchboard listening on that port?)") } else { text }
}

async fn read_limited(response: reqwest::Response) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(Ok(chunk)) = body.next().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= ERROR_LIMIT {
            break;
        }
    }
    bytes
}

/// The message of an error body in any of the protocols' shapes (`{"error": {"message": …}}`), else its text.
fn error_message(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(body) => match body["error"]["message"].as_str().or(body["message"].as_str()) {
            Some(message) => message.to_owned(),
            None => quote(&text),
        },
        Err(_) if text.trim().is_empty() => "an empty answer".to_owned(),
        Err(_) => quote(&text),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------------

/// Folds an answer, whole or streamed, into a [`Reply`].
struct Reader {
    protocol: ClientProtocol,
    decoder: Decoder,
    reply: Reply,
    /// Tool calls by the stream's index, in order.
    streaming_calls: Vec<(u32, Call)>,
}

enum Decoder {
    Shared(protocol::StreamDecoder),
    Responses(responses::StreamDecoder),
}

impl Reader {
    fn new(protocol: ClientProtocol, reply: Reply) -> Reader {
        let decoder = match wire_protocol(protocol) {
            Some(shared) => Decoder::Shared(protocol::StreamDecoder::new(shared)),
            None => Decoder::Responses(responses::StreamDecoder::default()),
        };
        Reader { protocol, decoder, reply, streaming_calls: Vec::new() }
    }

    fn whole(&mut self, bytes: &[u8]) {
        self.reply.ended = true;
        let body: Value = match serde_json::from_slice(bytes) {
            Ok(body) => body,
            Err(error) => return self.broke(format!("the answer is not JSON: {error}")),
        };
        let decoded = match wire_protocol(self.protocol) {
            Some(shared) => protocol::decode_response(shared, &body),
            None => responses::decode_response(&body),
        };
        let response = match decoded {
            Ok(response) => response,
            Err(error) => return self.broke(format!("the answer could not be read: {error}")),
        };
        self.reply.usage = response.usage;
        let Some(choice) = response.choices.into_iter().next() else { return };
        self.reply.stop = choice.stop;
        for part in choice.content {
            match part {
                Part::Text { text, .. } => self.reply.text.push_str(&text),
                Part::Thinking { text, signature } => {
                    self.reply.thinking.push_str(&text);
                    self.reply.signed |= signature.is_some_and(|s| !s.is_empty());
                }
                Part::RedactedThinking { .. } => self.reply.signed = true,
                Part::ToolCall { id, name, arguments } => self.reply.calls.push(Call { id, name, arguments }),
                Part::Image { .. } | Part::ToolResult { .. } => {}
            }
        }
    }

    fn event(&mut self, event: &SseEvent) {
        if ends_stream(self.protocol, event) {
            self.reply.ended = true;
        }
        let decoded = match &mut self.decoder {
            Decoder::Shared(decoder) => decoder.decode(event),
            Decoder::Responses(decoder) => decoder.decode(event),
        };
        match decoded {
            Ok(events) => events.into_iter().for_each(|e| self.apply(e)),
            Err(error) => self.broke(format!("a stream event could not be read: {error}")),
        }
    }

    fn apply(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::TextDelta { choice: 0, text } => self.reply.text.push_str(&text),
            StreamEvent::ThinkingDelta { choice: 0, text } => self.reply.thinking.push_str(&text),
            StreamEvent::ThinkingSignature { choice: 0, signature } => self.reply.signed |= !signature.is_empty(),
            StreamEvent::RedactedThinking { choice: 0, .. } => self.reply.signed = true,
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => {
                self.streaming_calls.push((index, Call { id, name, arguments: String::new() }));
            }
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => {
                if let Some((_, call)) = self.streaming_calls.iter_mut().rev().find(|(i, _)| *i == index) {
                    call.arguments.push_str(&arguments);
                }
            }
            StreamEvent::Stop { choice: 0, reason } => self.reply.stop = Some(reason),
            StreamEvent::Usage { usage, .. } => self.reply.usage = Some(usage),
            StreamEvent::Error { message, .. } => self.broke(format!("the stream ended with an error: {message}")),
            _ => {}
        }
    }

    fn broke(&mut self, why: String) {
        if self.reply.error.is_none() {
            self.reply.error = Some(why);
        }
    }

    fn finish(mut self) -> Reply {
        if let Decoder::Shared(decoder) = &mut self.decoder {
            for event in decoder.finish() {
                self.apply(event);
            }
        }
        if self.protocol == ClientProtocol::Gemini {
            // Gemini has no closing event: a stream that said why it stopped ended well.
            self.reply.ended = self.reply.stop.is_some();
        }
        self.reply.calls.extend(self.streaming_calls.drain(..).map(|(_, call)| call));
        self.reply
    }
}

/// The shared protocol module that reads this client's answers (`None`: Responses, read in `check/responses.rs`).
fn wire_protocol(protocol: ClientProtocol) -> Option<Protocol> {
    match protocol {
        ClientProtocol::OpenAiChat => Some(Protocol::OpenAiChat),
        ClientProtocol::Anthropic => Some(Protocol::Anthropic),
        ClientProtocol::Gemini => Some(Protocol::Gemini),
        ClientProtocol::Responses => None,
    }
}

/// Whether `event` is the one its protocol ends a good stream with.
fn ends_stream(protocol: ClientProtocol, event: &SseEvent) -> bool {
    let kind = || {
        event.event.clone().or_else(|| {
            let data: Value = serde_json::from_str(&event.data).ok()?;
            data["type"].as_str().map(str::to_owned)
        })
    };
    match protocol {
        ClientProtocol::OpenAiChat => event.data.trim() == "[DONE]",
        ClientProtocol::Anthropic => kind().as_deref() == Some("message_stop"),
        ClientProtocol::Responses => kind().as_deref() == Some("response.completed"),
        ClientProtocol::Gemini => false,
    }
}

/// What a good stream of this protocol ends with, for the verdict that it did not.
fn last_event(protocol: ClientProtocol) -> &'static str {
    match protocol {
        ClientProtocol::OpenAiChat => "data: [DONE]",
        ClientProtocol::Anthropic => "message_stop",
        ClientProtocol::Responses => "response.completed",
        ClientProtocol::Gemini => "a finishReason",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------------------------

fn failed(reply: &Reply) -> Result<(), String> {
    match &reply.error {
        Some(error) => Err(error.clone()),
        None => Ok(()),
    }
}

fn judge_plain(reply: &Reply) -> Result<String, String> {
    failed(reply)?;
    if reply.text.trim().is_empty() {
        return Err(match &reply.stop {
            Some(StopReason::MaxTokens) => "the answer stopped for max_tokens before any text".to_owned(),
            _ => "the answer had no text".to_owned(),
        });
    }
    Ok(format!("answered: {}", quote(&reply.text)))
}

fn judge_streamed(protocol: ClientProtocol, reply: &Reply) -> Result<String, String> {
    failed(reply)?;
    if !reply.ended {
        return Err(format!("the stream ended without {}", last_event(protocol)));
    }
    if reply.text.trim().is_empty() {
        return Err("the stream carried no text".to_owned());
    }
    let tokens = match reply.usage {
        Some(usage) => format!(" ({} in · {} out)", usage.input, usage.output),
        None => " (no token counts came with it)".to_owned(),
    };
    Ok(format!("streamed{tokens}: {}", quote(&reply.text)))
}

/// The tool call the first step must bring back.
fn judge_tool_call(protocol: ClientProtocol, reply: &Reply) -> Result<Call, String> {
    failed(reply)?;
    if !reply.ended {
        return Err(format!("the stream ended without {}", last_event(protocol)));
    }
    let Some(call) = reply.calls.first() else {
        return Err(match reply.text.trim() {
            "" => "no tool call came back".to_owned(),
            text => format!("no tool call came back; it answered instead: {}", quote(text)),
        });
    };
    if call.name != TOOL_NAME {
        return Err(format!("it called {:?}, a tool it was not offered", call.name));
    }
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Object(_)) => {}
        _ => return Err(format!("the tool call's arguments are not a JSON object: {}", quote(&call.arguments))),
    }
    if reply.stop != Some(StopReason::ToolUse) {
        let stop = reply.stop.as_ref().map_or("no stop reason".to_owned(), |s| format!("{s:?}"));
        return Err(format!(
            "the answer stopped with {stop}, not for the tool call: the client would not run the tool"
        ));
    }
    Ok(call.clone())
}

fn judge_after_tool(protocol: ClientProtocol, call: &Call, reply: &Reply) -> Result<String, String> {
    if let Err(error) = failed(reply) {
        return Err(format!("the tool call came back, but sending its result failed: {error}"));
    }
    if !reply.ended {
        return Err(format!("after the tool result, the stream ended without {}", last_event(protocol)));
    }
    if !reply.calls.is_empty() && reply.text.trim().is_empty() {
        return Err("after the tool result it called a tool again instead of answering".to_owned());
    }
    if reply.text.trim().is_empty() {
        return Err("no answer came after the tool result".to_owned());
    }
    Ok(format!("called {}({}), then answered: {}", call.name, quote(&call.arguments), quote(&reply.text)))
}

fn judge_thinking(protocol: ClientProtocol, reply: &Reply) -> Result<String, String> {
    failed(reply)?;
    if !reply.ended {
        return Err(format!("the stream ended without {}", last_event(protocol)));
    }
    if reply.text.trim().is_empty() {
        return Err(match &reply.stop {
            Some(StopReason::MaxTokens) => "it thought until max_tokens and never answered".to_owned(),
            _ => "no answer came with thinking on".to_owned(),
        });
    }
    let thought = match (reply.thinking.is_empty(), reply.signed) {
        (false, true) => "thought (signed), then answered",
        (false, false) => "thought, then answered",
        (true, true) => "thought (hidden, signed), then answered",
        (true, false) => "answered with thinking on (no reasoning came back to see)",
    };
    Ok(format!("{thought}: {}", quote(&reply.text)))
}

/// `text` on one line, cut at [`QUOTE`] characters.
fn quote(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(QUOTE) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests;
