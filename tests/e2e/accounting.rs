//! Issue #18's "every token class from every path": for each upstream kind (OpenAI chat, OpenAI's Responses API,
//! Anthropic, Gemini, OpenRouter, DeepSeek) × each client protocol × whole or streamed, one test
//! (`accounting::<inbound>::<upstream>::{whole,streamed}`) checks the ledger row's token columns (input, cached,
//! cache write, its hour-long part, output, reasoning), its cost to the cent against a figure worked out by hand
//! from the prices set below, and the usage the client saw in its own protocol's fields. Then a stream cut off
//! mid-way, which records the usage seen before the cut, and a fallback, which records the answering attempt's
//! usage once.
//!
//! Every reply is `metered` (see `e2e::fake::script::METERED`): 2M prompt tokens of which 0.5M read from the cache
//! and 0.3M written to it (0.1M for an hour), 0.4M output of which 0.15M reasoning. Each fake reports what its
//! provider can say of them, in its provider's fields; docs/ACCOUNTING.md is the table this module checks.
//!
//! One gateway and the three fakes serve every test (started on first use, stopped when the test process ends), with
//! one price override per provider, USD per million tokens: input 1.00, cached input 0.10, cache write 1.25 (so
//! hour-long writes are 2.00, twice input), output 4.00.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::fake::script::{METERED, OPENROUTER_COST};
use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Guarded, free_port, http_get, wait_for, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::PriceOverride;
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter, RequestRow};
use switchboard_gateway::store::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inbound {
    Chat,
    Messages,
    Responses,
    Gemini,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upstream {
    OpenAi,
    Responses,
    Anthropic,
    Gemini,
    OpenRouter,
    DeepSeek,
}

impl Upstream {
    const ALL: [Upstream; 6] = [
        Upstream::OpenAi,
        Upstream::Responses,
        Upstream::Anthropic,
        Upstream::Gemini,
        Upstream::OpenRouter,
        Upstream::DeepSeek,
    ];

    /// The provider's id and kind in the gateway's config, and the fake behind it.
    fn provider(self) -> (&'static str, &'static str, FakeKind) {
        match self {
            Upstream::OpenAi => ("oa", "openai", FakeKind::OpenAi),
            Upstream::Responses => ("rs", "openai-responses", FakeKind::OpenAi),
            Upstream::Anthropic => ("an", "anthropic", FakeKind::Anthropic),
            Upstream::Gemini => ("ge", "gemini", FakeKind::Gemini),
            Upstream::OpenRouter => ("or", "openrouter", FakeKind::OpenAi),
            Upstream::DeepSeek => ("ds", "deepseek", FakeKind::OpenAi),
        }
    }

    /// The fake's words: a metered reply, in this host's usage fields.
    fn words(self) -> &'static str {
        match self {
            Upstream::OpenRouter => "metered+openrouter",
            Upstream::DeepSeek => "metered+deepseek",
            _ => "metered",
        }
    }

    /// What the ledger row must say. OpenAI (either API), Gemini and DeepSeek count cached tokens inside the prompt
    /// and report no writes; Anthropic reports writes with their lifetimes but no reasoning count; OpenRouter
    /// reports writes (no lifetimes) and what it charged, which is the cost.
    fn expected(self) -> Expected {
        let m = METERED;
        let all = Expected {
            input: m.input.into(),
            cached: m.cached.into(),
            write: 0,
            write_1h: 0,
            output: m.output.into(),
            reasoning: m.reasoning.into(),
            // 1.5M fresh × 1.00 + 0.5M read × 0.10 + 0.4M out × 4.00.
            cost_usd: 3.15,
            source: "prices",
        };
        match self {
            Upstream::OpenAi | Upstream::Responses | Upstream::Gemini | Upstream::DeepSeek => all,
            // 1.2M fresh × 1.00 + 0.5M × 0.10 + 0.2M five-minute writes × 1.25 + 0.1M hour-long × 2.00 + 0.4M × 4.00.
            Upstream::Anthropic => Expected {
                write: m.cache_write.into(),
                write_1h: m.cache_write_1h.into(),
                reasoning: 0,
                cost_usd: 3.30,
                ..all
            },
            Upstream::OpenRouter => {
                Expected { write: m.cache_write.into(), cost_usd: OPENROUTER_COST, source: "provider", ..all }
            }
        }
    }
}

/// A ledger row's token columns and cost.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Expected {
    input: u64,
    cached: u64,
    write: u64,
    write_1h: u64,
    output: u64,
    reasoning: u64,
    cost_usd: f64,
    source: &'static str,
}

/// Whether the client's body goes to the upstream as it is.
fn passthrough(inbound: Inbound, upstream: Upstream) -> bool {
    matches!(
        (inbound, upstream),
        (Inbound::Chat, Upstream::OpenAi | Upstream::OpenRouter | Upstream::DeepSeek)
            | (Inbound::Messages, Upstream::Anthropic)
            | (Inbound::Responses, Upstream::OpenAi | Upstream::Responses)
            | (Inbound::Gemini, Upstream::Gemini)
    )
}

// ---------------------------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------------------------

struct World {
    runtime: tokio::runtime::Runtime,
    _fakes: Vec<FakeUpstream>,
    root: String,
    data: PathBuf,
    client: reqwest::Client,
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
        let base = |kind: FakeKind| fakes.iter().find(|f| f.kind == kind).expect("one fake per kind").api_base();
        let mut config = String::new();
        for upstream in Upstream::ALL {
            let (id, kind, fake) = upstream.provider();
            config.push_str(&format!(
                "[[providers]]\nid = \"{id}\"\nkind = \"{kind}\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n",
                base(fake)
            ));
        }
        for name in ["fb-whole", "fb-streamed"] {
            config.push_str(&format!(
                "[[aliases]]\nname = \"{name}\"\ntargets = [\"an/metered+overloaded+{name}\", \"oa/metered+{name}\"]\n"
            ));
        }
        config.push_str("[[apps]]\nname = \"accounting\"\ntoken_env = \"ACCT_TOKEN\"\n");
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the data folder");
        let store = Store::open(&data.join(switchboard_gateway::ledger::DATABASE_FILE)).expect("a database");
        for upstream in Upstream::ALL {
            let price = PriceOverride {
                provider: upstream.provider().0.to_owned(),
                model: "metered".to_owned(),
                input: Some(1.0),
                output: Some(4.0),
                cached_input: Some(0.10),
                cache_write: Some(1.25),
                // Hour-long writes at the derived 2 × input.
                cache_write_1h: None,
            };
            store.put_price_override(&price).expect("a price override");
        }
        drop(store);
        let config_path = dir.join("switchboard.toml");
        std::fs::write(&config_path, config).expect("the config file");
        let port = free_port();
        // The gateway outlives no test process: the shell waits for its stdin (this process's pipe) to close.
        let script = r#"gateway="$1"; dir="$2"; shift 2
            "$gateway" "$@" </dev/null 2>"$dir/stderr.log" & pid=$!
            cat >/dev/null
            kill "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir""#;
        let child = Command::new("sh")
            .args(["-c", script, "accounting-gateway"])
            .arg(workspace_bin("switchboard-gateway"))
            .arg(&dir)
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data)
            .args(["--port", &port.to_string()])
            .env("UP_KEY", FAKE_KEY)
            .env("ACCT_TOKEN", FAKE_TOKEN)
            .env_remove("SWITCHBOARD_PORT")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the gateway through sh");
        let root = format!("http://127.0.0.1:{port}");
        let health = format!("{root}/health");
        if let Err(error) = wait_for("the accounting gateway's /health", Duration::from_secs(20), || http_get(&health))
        {
            let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("{error}: {stderr}");
        }
        World { runtime, _fakes: fakes, root, data, client: reqwest::Client::new(), _gateway: Guarded(child) }
    }

    /// Sends `body` to `path` the way `inbound`'s clients do; returns the status and the whole body.
    fn send(&self, inbound: Inbound, path: &str, body: &Value) -> (StatusCode, String) {
        let request = self.client.post(format!("{}{path}", self.root)).json(body);
        let request = match inbound {
            Inbound::Chat | Inbound::Responses => request.bearer_auth(FAKE_TOKEN),
            Inbound::Messages => request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01"),
            Inbound::Gemini => request.header("x-goog-api-key", FAKE_TOKEN),
        };
        self.runtime.block_on(async {
            let response = request.timeout(Duration::from_secs(30)).send().await.expect("the gateway answers");
            (response.status(), response.text().await.expect("a whole body"))
        })
    }

    /// The one ledger row `filter` finds, once the writer has written it (it batches every 250 ms).
    fn row(&self, filter: RequestFilter) -> RequestRow {
        let store = Store::open(&self.data.join(switchboard_gateway::ledger::DATABASE_FILE)).expect("the database");
        let rows = wait_for(&format!("a ledger row for {filter:?}"), Duration::from_secs(10), || {
            let rows = queries::requests(&store, &filter, Page { limit: 20, before_id: None }).ok()?;
            (!rows.is_empty()).then_some(rows)
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1, "one row per request: {rows:?}");
        rows.into_iter().next().expect("one row")
    }

    fn row_for_model(&self, model: &str) -> RequestRow {
        self.row(RequestFilter { model: Some(model.to_owned()), ..RequestFilter::default() })
    }
}

/// The request `inbound`'s client sends for `model` (`provider/model` or an alias): its path and body.
fn request(inbound: Inbound, model: &str, stream: bool) -> (String, Value) {
    match inbound {
        Inbound::Chat => {
            let mut body =
                json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }], "stream": stream });
            if stream {
                body["stream_options"] = json!({ "include_usage": true });
            }
            ("/v1/chat/completions".to_owned(), body)
        }
        Inbound::Messages => (
            "/v1/messages".to_owned(),
            json!({ "model": model, "max_tokens": 256, "messages": [{ "role": "user", "content": "hi" }], "stream": stream }),
        ),
        Inbound::Responses => ("/v1/responses".to_owned(), json!({ "model": model, "input": "hi", "stream": stream })),
        Inbound::Gemini => {
            let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
            let body = json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] });
            (format!("/v1beta/models/{model}:{method}"), body)
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// What the client saw
// ---------------------------------------------------------------------------------------------------------------

/// The data of each SSE event in `body`, with its name.
fn events(body: &str) -> Vec<(String, Value)> {
    // Gemini frames its events with CRLF, and passthrough keeps its bytes.
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_owned();
            let data = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            Some((name, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

/// The usage object the client was given, in its own protocol's shape. An Anthropic stream's is `message_start`'s
/// with `message_delta`'s fields laid over it, as the Anthropic SDKs put them together.
fn client_usage(inbound: Inbound, stream: bool, body: &str) -> Value {
    if !stream {
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        return if inbound == Inbound::Gemini { body["usageMetadata"].clone() } else { body["usage"].clone() };
    }
    let events = events(body);
    let last = |pick: &dyn Fn(&(String, Value)) -> Option<Value>| events.iter().filter_map(pick).last();
    let found = match inbound {
        Inbound::Chat => last(&|(_, data)| Some(data["usage"].clone()).filter(Value::is_object)),
        Inbound::Responses => {
            last(&|(name, data)| (name == "response.completed").then(|| data["response"]["usage"].clone()))
        }
        Inbound::Gemini => last(&|(_, data)| Some(data["usageMetadata"].clone()).filter(Value::is_object)),
        Inbound::Messages => {
            let start = last(&|(name, data)| (name == "message_start").then(|| data["message"]["usage"].clone()));
            let delta = last(&|(name, data)| (name == "message_delta").then(|| data["usage"].clone()));
            start.zip(delta).map(|(mut start, delta)| {
                for (key, value) in delta.as_object().into_iter().flatten() {
                    start[key] = value.clone();
                }
                start
            })
        }
    };
    found.unwrap_or_else(|| panic!("the client got no usage: {body}"))
}

fn n(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// The usage the client saw against the row it should match, field by field in the client's protocol: what that
/// protocol cannot say (Anthropic's reasoning, everyone else's hour-long writes, Gemini's and Responses' writes)
/// is left out.
fn check_client(inbound: Inbound, upstream: Upstream, want: &Expected, usage: &Value) {
    let fresh = want.input - want.cached - want.write;
    let got: Vec<(&str, u64, u64)> = match inbound {
        Inbound::Chat => {
            // DeepSeek's own body, passed through, names the hits its own way.
            let cached = match passthrough(inbound, upstream) && upstream == Upstream::DeepSeek {
                true => &usage["prompt_cache_hit_tokens"],
                false => &usage["prompt_tokens_details"]["cached_tokens"],
            };
            let cost = usage["cost"].as_f64();
            let want_cost = (upstream == Upstream::OpenRouter).then_some(want.cost_usd);
            assert_eq!(cost, want_cost, "the provider's cost reaches OpenAI clients: {usage}");
            vec![
                ("prompt_tokens", n(&usage["prompt_tokens"]), want.input),
                ("cached", n(cached), want.cached),
                ("cache_write_tokens", n(&usage["prompt_tokens_details"]["cache_write_tokens"]), want.write),
                ("completion_tokens", n(&usage["completion_tokens"]), want.output),
                ("reasoning_tokens", n(&usage["completion_tokens_details"]["reasoning_tokens"]), want.reasoning),
            ]
        }
        Inbound::Messages => vec![
            ("input_tokens", n(&usage["input_tokens"]), fresh),
            ("cache_read_input_tokens", n(&usage["cache_read_input_tokens"]), want.cached),
            ("cache_creation_input_tokens", n(&usage["cache_creation_input_tokens"]), want.write),
            ("ephemeral_5m", n(&usage["cache_creation"]["ephemeral_5m_input_tokens"]), want.write - want.write_1h),
            ("ephemeral_1h", n(&usage["cache_creation"]["ephemeral_1h_input_tokens"]), want.write_1h),
            ("output_tokens", n(&usage["output_tokens"]), want.output),
        ],
        Inbound::Responses => vec![
            ("input_tokens", n(&usage["input_tokens"]), want.input),
            ("cached_tokens", n(&usage["input_tokens_details"]["cached_tokens"]), want.cached),
            ("output_tokens", n(&usage["output_tokens"]), want.output),
            ("reasoning_tokens", n(&usage["output_tokens_details"]["reasoning_tokens"]), want.reasoning),
        ],
        Inbound::Gemini => vec![
            ("promptTokenCount", n(&usage["promptTokenCount"]), want.input),
            ("cachedContentTokenCount", n(&usage["cachedContentTokenCount"]), want.cached),
            ("candidatesTokenCount", n(&usage["candidatesTokenCount"]), want.output - want.reasoning),
            ("thoughtsTokenCount", n(&usage["thoughtsTokenCount"]), want.reasoning),
        ],
    };
    for (field, got, want) in got {
        assert_eq!(got, want, "the client's {field}: {usage}");
    }
}

/// The row's token columns and cost against `want`; the cost to the cent (and closer).
fn check_row(row: &RequestRow, want: &Expected) {
    let tokens = (
        row.input_tokens,
        row.cached_input_tokens,
        row.cache_write_tokens,
        row.cache_write_1h_tokens,
        row.output_tokens,
        row.reasoning_tokens,
    );
    let expected = (
        Some(want.input),
        Some(want.cached),
        Some(want.write),
        Some(want.write_1h),
        Some(want.output),
        Some(want.reasoning),
    );
    assert_eq!(tokens, expected, "the row's input, cached, write, 1h write, output, reasoning: {row:?}");
    let cost = row.cost_usd.unwrap_or_else(|| panic!("the row is priced: {row:?}"));
    assert!((cost - want.cost_usd).abs() < 1e-9, "cost {cost}, want {}: {row:?}", want.cost_usd);
    assert_eq!(row.cost_source.as_deref(), Some(want.source), "{row:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// The cells
// ---------------------------------------------------------------------------------------------------------------

fn cell(inbound: Inbound, upstream: Upstream, stream: bool) {
    let world = world();
    let model = format!("{}+acct-{inbound:?}-{upstream:?}-{stream}", upstream.words()).to_lowercase();
    let (path, body) = request(inbound, &format!("{}/{model}", upstream.provider().0), stream);
    let (status, text) = world.send(inbound, &path, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let want = upstream.expected();
    check_client(inbound, upstream, &want, &client_usage(inbound, stream, &text));
    let row = world.row_for_model(&model);
    assert_eq!((row.status, row.stream, row.error.as_deref()), (200, stream, None), "{row:?}");
    check_row(&row, &want);
}

macro_rules! cells {
    ([$($inbound:ident => $in:expr),*] $upstreams:tt) => {
        $( cells!(@inbound $inbound => $in; $upstreams); )*
    };
    (@inbound $inbound:ident => $in:expr; [$($upstream:ident => $up:expr),*]) => {
        mod $inbound {
            $(
                mod $upstream {
                    use super::super::{Inbound, Upstream, cell};

                    #[test]
                    fn whole() {
                        cell($in, $up, false);
                    }

                    #[test]
                    fn streamed() {
                        cell($in, $up, true);
                    }
                }
            )*
        }
    };
}

cells! {
    [chat => Inbound::Chat, messages => Inbound::Messages, responses => Inbound::Responses, gemini => Inbound::Gemini]
    [openai => Upstream::OpenAi, responses => Upstream::Responses, anthropic => Upstream::Anthropic,
     gemini => Upstream::Gemini, openrouter => Upstream::OpenRouter, deepseek => Upstream::DeepSeek]
}

/// A stream the upstream breaks after two chunks: the row says it broke and keeps the usage reported before the
/// break, priced. Anthropic's `message_start` carries the whole prompt side (and one output token), each Gemini
/// chunk the prompt's count (without the cached part, which comes last); OpenAI reports usage only at the end, so
/// its row has no counts and no cost rather than made-up ones.
#[test]
fn a_stream_cut_off_mid_way_records_the_usage_seen() {
    let world = world();
    let m = METERED;
    let anthropic = Expected {
        input: m.input.into(),
        cached: m.cached.into(),
        write: m.cache_write.into(),
        write_1h: m.cache_write_1h.into(),
        output: 1,
        reasoning: 0,
        // 1.2M × 1.00 + 0.5M × 0.10 + 0.2M × 1.25 + 0.1M × 2.00 + 1 × 4.00.
        cost_usd: 1.700_004,
        source: "prices",
    };
    let gemini =
        Expected { input: m.input.into(), cached: 0, write: 0, write_1h: 0, output: 0, cost_usd: 2.0, ..anthropic };
    for (inbound, upstream, want) in [
        (Inbound::Messages, Upstream::Anthropic, Some(anthropic)),
        (Inbound::Chat, Upstream::Anthropic, Some(anthropic)),
        (Inbound::Gemini, Upstream::Gemini, Some(gemini)),
        (Inbound::Responses, Upstream::Gemini, Some(gemini)),
        (Inbound::Chat, Upstream::OpenAi, None),
        (Inbound::Messages, Upstream::Responses, None),
    ] {
        let model = format!("metered+drop-mid-stream+cut-{inbound:?}-{upstream:?}").to_lowercase();
        let (path, body) = request(inbound, &format!("{}/{model}", upstream.provider().0), true);
        let (status, text) = world.send(inbound, &path, &body);
        assert_eq!(status, StatusCode::OK, "{text}");
        let row = world.row_for_model(&model);
        assert!(row.error.as_deref().is_some_and(|e| e.contains("broke")), "{inbound:?} ← {upstream:?}: {row:?}");
        match want {
            Some(want) => check_row(&row, &want),
            None => {
                let counts = (row.input_tokens, row.output_tokens, row.cost_usd);
                assert_eq!(counts, (None, None, None), "{inbound:?} ← {upstream:?}: nothing was reported: {row:?}");
            }
        }
    }
}

/// An alias whose first target is overloaded falls back to the second: the request's one row names the answering
/// target, lists both attempts, and counts and prices the answer's usage once.
#[test]
fn a_fallback_records_the_answering_attempts_usage_once() {
    let world = world();
    for (alias, stream) in [("fb-whole", false), ("fb-streamed", true)] {
        let (path, body) = request(Inbound::Chat, alias, stream);
        let (status, text) = world.send(Inbound::Chat, &path, &body);
        assert_eq!(status, StatusCode::OK, "{text}");
        let want = Upstream::OpenAi.expected();
        check_client(Inbound::Chat, Upstream::OpenAi, &want, &client_usage(Inbound::Chat, stream, &text));
        let row = world.row(RequestFilter { alias: Some(alias.to_owned()), ..RequestFilter::default() });
        assert_eq!(row.provider_id.as_deref(), Some("oa"), "{row:?}");
        assert_eq!(row.model.as_deref(), Some(format!("metered+{alias}").as_str()), "{row:?}");
        assert!(row.attempts.len() >= 2, "the failed attempt is listed: {row:?}");
        assert_eq!(row.attempts.last().map(|a| a.result.as_str()), Some("ok"), "{row:?}");
        check_row(&row, &want);
    }
}
