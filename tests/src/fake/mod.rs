//! Fake upstream providers that speak each provider's real wire format (JSON bodies, SSE framing, error shapes,
//! auth headers) and misbehave on request, chosen by the model name (see [`script`]).
//!
//! - `openai`: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`, and `/v1/responses`
//!   (the Responses API, in `responses`) unless started without it ([`FakeUpstream::start_without_responses_api`]:
//!   an OpenAI-compatible server, or a proxy in front of OpenAI, that answers 404 for that path).
//! - `anthropic`: `/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`.
//! - `gemini`: `/v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `:countTokens`, `/v1beta/models`.
//! - `balances`: on the OpenAI fake, the balance endpoints of OpenRouter, DeepSeek and Moonshot.
//!
//! Every response carries `x-fake-received-model: <model>`; every request is recorded (method, path with query,
//! headers, body) before auth is checked, and counted as in flight from its arrival until its response body has
//! ended or been dropped ([`FakeUpstream::peak_in_flight`]). A key is accepted when it is non-empty and not `bad-key`.

mod anthropic;
mod balances;
mod gemini;
mod openai;
mod responses;
pub mod script;
mod wire;

pub use responses::ENCRYPTED_REASONING;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The header every response echoes the requested model in, so tests can check model rewriting.
pub const RECEIVED_MODEL_HEADER: &str = "x-fake-received-model";
/// The one non-empty key the fakes refuse.
pub const BAD_KEY: &str = "bad-key";

/// Bodies larger than this are refused (the providers' own limit is 32 MB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FakeKind {
    OpenAi,
    Anthropic,
    Gemini,
}

impl FakeKind {
    pub const ALL: [FakeKind; 3] = [FakeKind::OpenAi, FakeKind::Anthropic, FakeKind::Gemini];

    /// `openai`, `anthropic` or `gemini`: the word used on the command line and in default replies.
    pub fn name(self) -> &'static str {
        match self {
            FakeKind::OpenAi => "openai",
            FakeKind::Anthropic => "anthropic",
            FakeKind::Gemini => "gemini",
        }
    }

    pub fn parse(name: &str) -> Option<FakeKind> {
        FakeKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path with its query string, if any: `/v1beta/models/m:streamGenerateContent?alt=sse`.
    pub path: String,
    /// Lowercase names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body when it parsed as JSON.
    pub json: Option<Value>,
    /// The body as text (lossy UTF-8).
    pub text: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// A fake provider on `127.0.0.1:<free port>`, served from the current tokio runtime until dropped.
pub struct FakeUpstream {
    pub kind: FakeKind,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    in_flight: Arc<InFlight>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

/// Calls being served: now, and the most there have been at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One call in flight, until dropped.
struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn enter(in_flight: Arc<InFlight>) -> InFlightGuard {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.peak.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(in_flight)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FakeUpstream {
    /// Binds a free loopback port and starts serving on the current runtime.
    pub async fn start(kind: FakeKind) -> FakeUpstream {
        FakeUpstream::start_with(kind, true, &[]).await
    }

    /// An OpenAI fake whose `/v1/responses` answers 404 like any path it does not serve: a compatible server, or a
    /// proxy in front of OpenAI, configured as kind `openai`.
    pub async fn start_without_responses_api() -> FakeUpstream {
        FakeUpstream::start_with(FakeKind::OpenAi, false, &[]).await
    }

    /// As [`FakeUpstream::start`], with some model names standing for scenario words (`("claude-sonnet-4-5",
    /// "agent")`), so a test can use real-looking model names (shown in screenshots, matched by the capability
    /// catalog) and still pick a scenario.
    pub async fn start_scripted(kind: FakeKind, scripts: &[(&str, &str)]) -> FakeUpstream {
        FakeUpstream::start_with(kind, true, scripts).await
    }

    async fn start_with(kind: FakeKind, responses_api: bool, scripts: &[(&str, &str)]) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port for the fake upstream");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        let (shutdown, stopped) = watch::channel(false);
        let scripts = Arc::new(scripts.iter().map(|(m, w)| ((*m).to_owned(), (*w).to_owned())).collect());
        let shared = Shared {
            kind,
            log: Some(log.clone()),
            in_flight: Some(in_flight.clone()),
            shutdown: stopped,
            open: None,
            responses_api,
            scripts,
        };
        let server = tokio::spawn(serve_app(listener, app(shared)));
        FakeUpstream { kind, base_url: format!("http://{addr}"), addr, log, in_flight, shutdown, server }
    }

    /// Calls being served now: arrived, and their response not yet ended.
    pub fn in_flight(&self) -> usize {
        self.in_flight.now.load(Ordering::SeqCst)
    }

    /// The most calls that were in flight at once since the fake started.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak.load(Ordering::SeqCst)
    }

    /// What a provider config's `base_url` would be: `{base}/v1` for OpenAI, `{base}` for Anthropic (the client
    /// appends `/v1/messages`), `{base}/v1beta` for Gemini.
    pub fn api_base(&self) -> String {
        match self.kind {
            FakeKind::OpenAi => format!("{}/v1", self.base_url),
            FakeKind::Anthropic => self.base_url.clone(),
            FakeKind::Gemini => format!("{}/v1beta", self.base_url),
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        // Ends stalled streams (their connections break), then stops accepting.
        let _ = self.shutdown.send(true);
        self.server.abort();
    }
}

/// Serves one fake on `listener` until the task is dropped, recording nothing: the benchmark's upstream.
pub async fn serve(kind: FakeKind, listener: TcpListener) {
    // Held for as long as this runs, so stalled streams stall for good.
    let (_shutdown, stopped) = watch::channel(false);
    let shared = Shared {
        kind,
        log: None,
        in_flight: None,
        shutdown: stopped,
        open: None,
        responses_api: true,
        scripts: Arc::default(),
    };
    serve_app(listener, app(shared)).await;
}

/// As [`serve`], counting in `open` the requests whose response has not ended yet (its body finished or dropped,
/// as when the caller goes away): what `cargo xtask soak` reads to see upstream calls cancelled.
pub async fn serve_counting(kind: FakeKind, listener: TcpListener, open: Arc<AtomicUsize>) {
    let (_shutdown, stopped) = watch::channel(false);
    let shared = Shared {
        kind,
        log: None,
        in_flight: None,
        shutdown: stopped,
        open: Some(open),
        responses_api: true,
        scripts: Arc::default(),
    };
    serve_app(listener, app(shared)).await;
}

/// Takes one off the open count when the response body it travels with is dropped.
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_app(listener: TcpListener, app: Router) {
    let listener = listener.tap_io(|tcp| {
        // Small SSE frames must leave at once, as they do from the real providers.
        let _ = tcp.set_nodelay(true);
    });
    // axum::serve only returns on a fatal accept error; there is nobody to tell but the test that times out.
    let _ = axum::serve(listener, app).await;
}

/// What every handler can reach.
#[derive(Clone)]
struct Shared {
    kind: FakeKind,
    log: Option<Arc<Mutex<Vec<RecordedRequest>>>>,
    /// Calls from arrival to the end of their response, when counted.
    in_flight: Option<Arc<InFlight>>,
    shutdown: watch::Receiver<bool>,
    /// Responses not yet ended, when counted.
    open: Option<Arc<AtomicUsize>>,
    /// Whether the OpenAI fake serves `/v1/responses`.
    responses_api: bool,
    /// Model names that stand for scenario words ([`FakeUpstream::start_scripted`]).
    scripts: Arc<std::collections::HashMap<String, String>>,
}

/// The request body as the observing middleware read it, for the handlers.
struct Incoming {
    json: Option<Value>,
    model: Option<String>,
    /// The scenario words the model name stands for, when the fake was started with scripts for it.
    words: Option<String>,
}

impl Incoming {
    /// What `model` asks the fake to do: its scripted words, or the words in its name.
    fn scenario(&self, model: &str) -> script::Scenario {
        script::scenario(self.words.as_deref().unwrap_or(model))
    }
}

fn app(shared: Shared) -> Router {
    let routes = match shared.kind {
        FakeKind::OpenAi => openai::routes(shared.responses_api),
        FakeKind::Anthropic => anthropic::routes(),
        FakeKind::Gemini => gemini::routes(),
    };
    routes.layer(middleware::from_fn_with_state(shared.clone(), observe)).with_state(shared)
}

/// Reads and records the request, checks its key the provider's way, and stamps the model on the response.
async fn observe(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    // Dropped with this future when the caller leaves before the answer, else with the response body.
    let in_flight = shared.in_flight.clone().map(InFlightGuard::enter);
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large or unreadable").into_response();
    };
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    if let Some(log) = &shared.log {
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned()),
            headers: header_map(&parts.headers),
            json: json.clone(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        };
        log.lock().unwrap_or_else(PoisonError::into_inner).push(recorded);
    }
    let model = match shared.kind {
        FakeKind::Gemini => gemini::model_in_path(parts.uri.path()).map(str::to_owned),
        FakeKind::OpenAi | FakeKind::Anthropic => {
            json.as_ref().and_then(|body| body.get("model")).and_then(Value::as_str).map(str::to_owned)
        }
    };
    let refused = match shared.kind {
        FakeKind::OpenAi => openai::check_auth(&parts.headers),
        FakeKind::Anthropic => anthropic::check_auth(&parts.headers),
        FakeKind::Gemini => gemini::check_auth(&parts.headers, parts.uri.query()),
    };
    let stamp = model.as_deref().and_then(|model| HeaderValue::from_str(model).ok());
    let mut response = match refused {
        Some(refusal) => refusal,
        None => {
            let words = model.as_ref().and_then(|m| shared.scripts.get(m)).cloned();
            parts.extensions.insert(Arc::new(Incoming { json, model, words }));
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
    };
    if let Some(stamp) = stamp {
        response.headers_mut().insert(RECEIVED_MODEL_HEADER, stamp);
    }
    if let Some(open) = &shared.open {
        open.fetch_add(1, Ordering::SeqCst);
        let guard = OpenGuard(open.clone());
        response = response.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _held = &guard;
                chunk
            }))
        });
    }
    if let Some(guard) = in_flight {
        response = response.map(|body| {
            Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _held = &guard;
                chunk
            }))
        });
    }
    response
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        map.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    map
}

/// The key a request carries, when it is one the fakes accept.
enum Key {
    Missing,
    Refused,
    Accepted,
}

fn judge_key(key: Option<&str>) -> Key {
    match key.map(str::trim) {
        None | Some("") => Key::Missing,
        Some(BAD_KEY) => Key::Refused,
        Some(_) => Key::Accepted,
    }
}

/// The text of the last user turn: `parts` are that turn's content parts, `text_of` picks a part's text.
fn joined_text<'a>(
    parts: impl IntoIterator<Item = &'a Value>,
    text_of: impl Fn(&'a Value) -> Option<&'a str>,
) -> String {
    parts.into_iter().filter_map(text_of).collect::<Vec<_>>().join(" ")
}
