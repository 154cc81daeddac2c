//! The relay: one client request → a plan of targets → attempts until one starts answering → the answer back,
//! streamed chunk by chunk.
//!
//! Same protocol in and out is **passthrough**: the body goes upstream with only `model` rewritten (and usage
//! requested on streams), and SSE events come back byte for byte. Across protocols the body is decoded to the
//! neutral form and encoded for the upstream, and the answer (or each stream event) the other way. The choice is
//! made per target, so one alias can mix both.
//!
//! **Fallback** happens only before the first byte reaches the client: an attempt counts as started once the
//! upstream has answered 2xx *and* (for streams) sent its first chunk. Until then, connect errors, timeouts, 408,
//! 409, 429, 5xx, an unreadable answer, a rejected provider key, or a context-length error (to a larger window)
//! move on — with one jittered retry of the same target where that can help — while other 4xx stop at once.
//! After the first byte, a failure ends the stream with an in-band error event.
//!
//! Streams are relayed by a task that reads the upstream and writes the client's body through a small channel; it
//! stops the moment the client leaves (dropping the upstream request with it) and always ends the client's stream
//! well-formed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use eventsource_stream::Eventsource;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::apps::App;
use crate::config::Timeouts;
use crate::error::ApiError;
use crate::protocol::neutral::{ChatResponse, StreamEvent, Usage};
use crate::protocol::{self, Protocol, SseEvent, openai_chat, sse};
use crate::providers::{Call, Operation, UpstreamError};
use crate::routing::backoff::{self, RETRY_AFTER_CAP};
use crate::routing::{Memory, Needs, Resolution, Resolver, Target, conversation_key};

/// How many encoded chunks may wait for a slow client before the relay stops reading the upstream.
const STREAM_BUFFER: usize = 32;
/// The most of an upstream error body that is read (and shown).
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Retries of the same target before moving to the next.
const RETRIES_PER_TARGET: u32 = 1;

static X_ALIAS: HeaderName = HeaderName::from_static("x-switchboard-alias");
static X_TARGET: HeaderName = HeaderName::from_static("x-switchboard-target");
static X_ATTEMPTS: HeaderName = HeaderName::from_static("x-switchboard-attempts");

/// Who asked for what: carried from the route to the record of the request.
pub struct Ctx {
    pub app: App,
    pub client_model: String,
    pub started: Instant,
}

/// One try of one target, for the response headers and the record.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub target: String,
    /// `ok`, or why it failed.
    pub result: String,
    pub elapsed: Duration,
}

/// What happened, for the record. The ledger takes these over with the Ledger issue; until then they are logged.
#[derive(Debug)]
#[allow(dead_code, reason = "read through Debug until the ledger takes outcomes over")]
struct Outcome<'a> {
    app: &'a str,
    model: &'a str,
    target: String,
    attempts: &'a [Attempt],
    status: u16,
    stream: bool,
    usage: Option<Usage>,
    cost_usd: Option<f64>,
    latency: Duration,
    first_byte: Option<Duration>,
    error: Option<String>,
}

fn record(outcome: Outcome<'_>) {
    tracing::debug!(?outcome, "request finished");
}

/// How a body is sent to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Passthrough,
    Translate(Protocol),
}

struct Prepared {
    mode: Mode,
    body: Bytes,
    /// Remove the usage-only chunk the gateway asked for on the client's behalf.
    strip_usage: bool,
}

/// An attempt that started answering.
enum Started {
    Whole { bytes: Bytes, content_type: Option<HeaderValue>, decoded: Decoded },
    Stream { first: Bytes, rest: BoxStream<'static, reqwest::Result<Bytes>> },
}

enum Decoded {
    Json(Value),
    Neutral(ChatResponse),
}

/// Why an attempt failed, and what to do next.
struct Failure {
    error: ApiError,
    next: Next,
    /// Whether this says something about the target's health (a client mistake does not).
    health: bool,
}

enum Next {
    /// Try the same target again after this wait, then move on.
    Retry(Duration),
    /// Move on to the next target.
    Fallback,
    /// Move on to targets with a larger context window than this one.
    LargerWindow,
    /// Give the client this error now: another target would fail the same way.
    Stop,
}

/// `/v1/chat/completions`: the alias's settings applied, the request validated, a plan made and walked.
pub async fn openai_chat(resolver: Arc<Resolver>, memory: Arc<Memory>, ctx: Ctx, body: Value) -> Response {
    let resolution = match resolve(&resolver, &ctx) {
        Ok(resolution) => resolution,
        Err(error) => return error.into_response(),
    };
    let mut body = body;
    if let Some(alias) = &resolution.alias {
        apply_alias_settings(&mut body, alias);
    }
    // Decoding validates every known field (types, roles, tool shapes) before anything is spent upstream.
    let request = match openai_chat::decode_request(&body) {
        Ok(request) => request,
        Err(e) => return ApiError::invalid(e.message, e.param.as_deref()).into_response(),
    };
    let needs = Needs::of(&request);
    let conversation = needs.signed_thinking.then(|| conversation_key(&request));
    let plan = match resolver.plan(&ctx.client_model, &resolution, &needs, conversation, &memory, Instant::now()) {
        Ok(plan) => plan,
        Err(no_target) => {
            return with_routing_headers(
                ApiError::invalid(no_target.to_string(), Some("model")).code("no_capable_target").into_response(),
                &resolution,
                None,
                &[],
            );
        }
    };
    let stream = request.stream;
    let wants_usage = request.stream_usage;
    let prepare = |target: &Target| -> Result<Prepared, ApiError> {
        match target.provider.protocol() {
            Protocol::OpenAiChat => passthrough_body(target, &body, stream, wants_usage),
            upstream => {
                let mut request = request.clone();
                request.model = target.model.clone();
                let encoded = protocol::encode_request(upstream, &request);
                Ok(Prepared { mode: Mode::Translate(upstream), body: to_bytes(&encoded)?, strip_usage: false })
            }
        }
    };
    let won = walk(&memory, &ctx, &resolution, plan, Operation::Chat, stream, prepare).await;
    if let (Ok(won), Some(key)) = (&won, conversation) {
        memory.remember(key, &won.target);
    }
    deliver(ctx, &resolution, won, wants_usage, resolution.timeouts)
}

/// `/v1/completions` and `/v1/embeddings`: OpenAI-compatible upstreams only, always passthrough.
pub async fn openai_raw(
    resolver: Arc<Resolver>,
    memory: Arc<Memory>,
    ctx: Ctx,
    op: Operation,
    body: Value,
    stream: bool,
    wants_usage: bool,
) -> Response {
    let resolution = match resolve(&resolver, &ctx) {
        Ok(resolution) => resolution,
        Err(error) => return error.into_response(),
    };
    let needs = Needs::default();
    let plan = match resolver.plan(&ctx.client_model, &resolution, &needs, None, &memory, Instant::now()) {
        Ok(plan) => plan,
        Err(no_target) => return ApiError::invalid(no_target.to_string(), Some("model")).into_response(),
    };
    let prepare = |target: &Target| passthrough_body(target, &body, stream, wants_usage);
    let won = walk(&memory, &ctx, &resolution, plan, op, stream, prepare).await;
    deliver(ctx, &resolution, won, wants_usage, resolution.timeouts)
}

fn resolve(resolver: &Resolver, ctx: &Ctx) -> Result<Resolution, ApiError> {
    if !ctx.app.may_use(&ctx.client_model) {
        let allowed = ctx.app.allowed_aliases.as_deref().unwrap_or_default().join(", ");
        let mut error = ApiError::forbidden(format!(
            "app {:?} may not use {:?}; it may use: {allowed} (change this in Apps)",
            ctx.app.name, ctx.client_model
        ))
        .code("model_not_allowed");
        error.param = Some("model".into());
        return Err(error);
    }
    resolver.resolve(&ctx.client_model).map_err(|e| {
        let mut error = ApiError::not_found(e.to_string()).code("model_not_found");
        error.param = Some("model".into());
        error
    })
}

/// Defaults fill what the client left out; forced parameters replace what it sent; the prefix goes first.
fn apply_alias_settings(body: &mut Value, alias: &crate::routing::Alias) {
    let Some(object) = body.as_object_mut() else { return };
    for (key, value) in &alias.params {
        let present = object.get(key).is_some_and(|v| !v.is_null())
            || (key == "max_tokens" && object.contains_key("max_completion_tokens"))
            || (key == "max_completion_tokens" && object.contains_key("max_tokens"));
        if !present {
            object.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &alias.forced_params {
        object.insert(key.clone(), value.clone());
        if key == "max_tokens" {
            object.remove("max_completion_tokens");
        }
    }
    if let Some(prefix) = &alias.system_prefix
        && let Some(Value::Array(messages)) = object.get_mut("messages")
    {
        messages.insert(0, json!({ "role": "system", "content": prefix }));
    }
}

fn passthrough_body(target: &Target, body: &Value, stream: bool, wants_usage: bool) -> Result<Prepared, ApiError> {
    let mut body = body.clone();
    body["model"] = Value::String(target.model.clone());
    // Usage is always requested so it can be counted; clients that did not ask never see the usage chunk.
    let ask_usage = stream && target.provider.preset().stream_usage_option;
    if ask_usage {
        match body.get_mut("stream_options") {
            Some(Value::Object(options)) => {
                options.insert("include_usage".into(), Value::Bool(true));
            }
            _ => body["stream_options"] = json!({ "include_usage": true }),
        }
    }
    Ok(Prepared { mode: Mode::Passthrough, body: to_bytes(&body)?, strip_usage: ask_usage && !wants_usage })
}

fn to_bytes(body: &Value) -> Result<Bytes, ApiError> {
    serde_json::to_vec(body).map(Bytes::from).map_err(|e| ApiError::invalid(e.to_string(), None))
}

struct Won {
    target: Target,
    prepared: Prepared,
    started: Started,
    attempts: Vec<Attempt>,
}

struct Lost {
    error: ApiError,
    attempts: Vec<Attempt>,
}

/// Tries the plan's targets in order until one starts answering.
async fn walk(
    memory: &Memory,
    ctx: &Ctx,
    resolution: &Resolution,
    plan: Vec<Target>,
    op: Operation,
    stream: bool,
    prepare: impl Fn(&Target) -> Result<Prepared, ApiError>,
) -> Result<Won, Lost> {
    let timeouts = resolution.timeouts;
    let deadline = ctx.started + Duration::from_secs_f64(timeouts.total);
    let mut plan: VecDeque<Target> = plan.into();
    let mut attempts = Vec::new();
    let mut last_error = None;
    'targets: while let Some(target) = plan.pop_front() {
        let mut retries = 0;
        let mut rotations = 0;
        loop {
            if Instant::now() >= deadline {
                last_error = Some(
                    ApiError::upstream(
                        StatusCode::GATEWAY_TIMEOUT,
                        format!("no target answered within the {}s this request may take", timeouts.total),
                    )
                    .code("upstream_timeout"),
                );
                break 'targets;
            }
            let prepared = match prepare(&target) {
                Ok(prepared) => prepared,
                Err(error) => {
                    attempts.push(Attempt {
                        target: target.label(),
                        result: error.message.clone(),
                        elapsed: Duration::ZERO,
                    });
                    last_error = Some(error);
                    continue 'targets;
                }
            };
            let began = Instant::now();
            match attempt(&target, &prepared, op, stream, &timeouts, deadline).await {
                Ok(started) => {
                    memory.health.succeeded(&target.label());
                    attempts.push(Attempt { target: target.label(), result: "ok".into(), elapsed: began.elapsed() });
                    return Ok(Won { target, prepared, started, attempts });
                }
                Err(failure) => {
                    tracing::info!(target = %target.label(), error = %failure.error.message, "attempt failed");
                    attempts.push(Attempt {
                        target: target.label(),
                        result: failure.error.message.clone(),
                        elapsed: began.elapsed(),
                    });
                    if failure.health {
                        memory.health.failed(&target.label(), Instant::now());
                    }
                    // A rate-limited key: the provider's next key is tried before any other target.
                    if failure.error.status == StatusCode::TOO_MANY_REQUESTS
                        && rotations + 1 < target.provider.key_count()
                        && target.provider.rotate_key()
                    {
                        rotations += 1;
                        continue;
                    }
                    match failure.next {
                        Next::Stop => return Err(Lost { error: failure.error, attempts }),
                        Next::Retry(wait) if retries < RETRIES_PER_TARGET && Instant::now() + wait < deadline => {
                            retries += 1;
                            tokio::time::sleep(wait).await;
                        }
                        Next::LargerWindow => {
                            let window = target.capabilities.context_window.unwrap_or(0);
                            plan.retain(|t| t.capabilities.context_window.is_none_or(|w| w > window));
                            last_error = Some(failure.error);
                            continue 'targets;
                        }
                        Next::Retry(_) | Next::Fallback => {
                            last_error = Some(failure.error);
                            continue 'targets;
                        }
                    }
                }
            }
        }
    }
    let mut error = last_error.unwrap_or_else(|| {
        ApiError::upstream(StatusCode::SERVICE_UNAVAILABLE, "no target could be tried").code("no_available_target")
    });
    if attempts.len() > 1 {
        let tried: Vec<String> = attempts
            .iter()
            .map(|a| format!("{} after {:.1}s: {}", a.target, a.elapsed.as_secs_f64(), a.result))
            .collect();
        error.message = format!("{} ({} attempts: {})", error.message, attempts.len(), tried.join("; "));
    }
    Err(Lost { error, attempts })
}

/// One try: send, check the status, and read until the answer has started (the whole body, or a stream's first
/// chunk), within the first-token limit (streams) or the request's deadline.
async fn attempt(
    target: &Target,
    prepared: &Prepared,
    op: Operation,
    stream: bool,
    timeouts: &Timeouts,
    deadline: Instant,
) -> Result<Started, Failure> {
    let call = Call { op, model: &target.model, body: prepared.body.clone(), stream, forward_headers: Vec::new() };
    let request = target.provider.build(call).map_err(|e| match e {
        UpstreamError::Unsupported { .. } => Failure {
            error: ApiError::invalid(e.to_string(), Some("model")).code("unsupported_operation"),
            next: Next::Fallback,
            health: false,
        },
        UpstreamError::MissingKey { .. } => Failure {
            error: ApiError::upstream(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).code("provider_key_missing"),
            next: Next::Fallback,
            health: false,
        },
    })?;
    let limit = if stream {
        Duration::from_secs_f64(timeouts.first_token).min(deadline.saturating_duration_since(Instant::now()))
    } else {
        deadline.saturating_duration_since(Instant::now())
    };
    let provider = target.provider.id().to_owned();
    let work = async {
        let response = request.send().await.map_err(|e| transport_failure(target, &e))?;
        if !response.status().is_success() {
            return Err(status_failure(target, response).await);
        }
        if stream {
            let mut body = response.bytes_stream();
            return match body.next().await {
                Some(Ok(first)) => Ok(Started::Stream { first, rest: body.boxed() }),
                Some(Err(e)) => Err(Failure {
                    error: read_failed(target, &e),
                    next: Next::Retry(backoff::full_jitter(0, backoff::unit_random())),
                    health: true,
                }),
                None => Err(Failure {
                    error: ApiError::upstream(StatusCode::BAD_GATEWAY, format!("{provider} sent an empty stream"))
                        .code("upstream_broken"),
                    next: Next::Fallback,
                    health: true,
                }),
            };
        }
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = response.bytes().await.map_err(|e| Failure {
            error: read_failed(target, &e),
            next: Next::Retry(backoff::full_jitter(0, backoff::unit_random())),
            health: true,
        })?;
        let unreadable =
            |detail: String| Failure { error: malformed(target, &detail), next: Next::Fallback, health: true };
        let json = serde_json::from_slice::<Value>(&bytes).map_err(|e| unreadable(e.to_string()))?;
        let decoded = match prepared.mode {
            Mode::Passthrough => Decoded::Json(json),
            Mode::Translate(upstream) => {
                Decoded::Neutral(protocol::decode_response(upstream, &json).map_err(|e| unreadable(e.message))?)
            }
        };
        Ok(Started::Whole { bytes, content_type, decoded })
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(Failure {
            error: ApiError::upstream(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{provider} did not start answering within {:.1}s", limit.as_secs_f64()),
            )
            .code("upstream_timeout"),
            next: Next::Retry(backoff::full_jitter(0, backoff::unit_random())),
            health: true,
        }),
    }
}

fn transport_failure(target: &Target, error: &reqwest::Error) -> Failure {
    let provider = target.provider.id();
    let detail = target.provider.redact(&error_chain(error));
    if error.is_connect() {
        Failure {
            error: ApiError::upstream(StatusCode::BAD_GATEWAY, format!("could not reach {provider}: {detail}"))
                .code("upstream_unreachable"),
            next: Next::Fallback,
            health: true,
        }
    } else if error.is_timeout() {
        Failure {
            error: ApiError::upstream(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{provider} did not answer in time: {detail}"),
            )
            .code("upstream_timeout"),
            next: Next::Retry(backoff::full_jitter(0, backoff::unit_random())),
            health: true,
        }
    } else {
        Failure {
            error: ApiError::upstream(StatusCode::BAD_GATEWAY, format!("{provider} failed: {detail}"))
                .code("upstream_unreachable"),
            next: Next::Retry(backoff::full_jitter(0, backoff::unit_random())),
            health: true,
        }
    }
}

/// The upstream's own error, passed on with its status and message (the provider's key scrubbed). A 401/403 from
/// the upstream is about Switchboard's key for it, not the client's token, so it becomes a 502 that says so.
async fn status_failure(target: &Target, response: reqwest::Response) -> Failure {
    let status = response.status();
    let retry_after_header = response.headers().get(header::RETRY_AFTER).cloned();
    let retry_after = retry_after_header.as_ref().and_then(|v| v.to_str().ok()).and_then(backoff::parse_retry_after);
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    let json = serde_json::from_str::<Value>(&text).ok();
    let message = json
        .as_ref()
        .and_then(|j| j["error"]["message"].as_str().or(j["message"].as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(500).collect());
    let message = target.provider.redact(&message);
    let provider = target.provider.id();
    let upstream_code = status.as_u16();
    let context_length = is_context_length_error(&message, json.as_ref());
    let (client_status, kind, code, next, health) = match upstream_code {
        401 | 403 => (StatusCode::BAD_GATEWAY, "upstream_error", "upstream_auth_failed", Next::Fallback, true),
        400 | 413 | 422 if context_length => {
            (status, "invalid_request_error", "context_length_exceeded", Next::LargerWindow, false)
        }
        408 | 409 | 429 | 500..=599 => {
            let wait = retry_after.unwrap_or_else(|| backoff::full_jitter(0, backoff::unit_random()));
            let next = if wait > RETRY_AFTER_CAP { Next::Fallback } else { Next::Retry(wait) };
            let (kind, code) = if upstream_code == 429 {
                ("rate_limit_error", "rate_limit_exceeded")
            } else {
                ("upstream_error", "upstream_error")
            };
            (status, kind, code, next, true)
        }
        400..=499 => (status, "invalid_request_error", "upstream_invalid_request", Next::Stop, false),
        _ => (StatusCode::BAD_GATEWAY, "upstream_error", "upstream_error", Next::Fallback, true),
    };
    let hint = if code == "upstream_auth_failed" {
        format!(" — check {provider}'s key in Providers")
    } else {
        String::new()
    };
    let mut error = ApiError::new(
        client_status,
        kind,
        format!("{provider} answered {upstream_code} for {}: {message}{hint}", target.model),
    )
    .code(code);
    error.retry_after = retry_after_header.map(Box::new);
    Failure { error, next, health }
}

fn is_context_length_error(message: &str, json: Option<&Value>) -> bool {
    if json.is_some_and(|j| j["error"]["code"] == "context_length_exceeded") {
        return true;
    }
    let message = message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "prompt is too long",
        "too many tokens",
        "exceeds the maximum number of tokens",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
}

/// Turns the walk's result into the client's response, spawning the stream relay where needed.
fn deliver(
    ctx: Ctx,
    resolution: &Resolution,
    won: Result<Won, Lost>,
    wants_usage: bool,
    timeouts: Timeouts,
) -> Response {
    let won = match won {
        Ok(won) => won,
        Err(lost) => {
            record(Outcome {
                app: &ctx.app.name,
                model: &ctx.client_model,
                target: lost.attempts.last().map(|a| a.target.clone()).unwrap_or_default(),
                attempts: &lost.attempts,
                status: lost.error.status.as_u16(),
                stream: false,
                usage: None,
                cost_usd: None,
                latency: ctx.started.elapsed(),
                first_byte: None,
                error: Some(lost.error.message.clone()),
            });
            let last = lost.attempts.last().map(|a| a.target.clone());
            return with_routing_headers(lost.error.into_response(), resolution, last, &lost.attempts);
        }
    };
    let Won { target, prepared, started, attempts } = won;
    let label = target.label();
    let response = match (started, prepared.mode) {
        (Started::Whole { bytes, content_type, decoded }, mode) => {
            let (usage, cost, response) = match (decoded, mode) {
                (Decoded::Neutral(answer), _) => {
                    (answer.usage, answer.cost_usd, axum::Json(openai_chat::encode_response(&answer)).into_response())
                }
                (Decoded::Json(json), _) => {
                    let usage = openai_usage(&json["usage"]);
                    let mut response = Response::new(Body::from(bytes));
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
                    );
                    (usage.map(|u| u.0), usage.and_then(|u| u.1), response)
                }
            };
            record(Outcome {
                app: &ctx.app.name,
                model: &ctx.client_model,
                target: label.clone(),
                attempts: &attempts,
                status: 200,
                stream: false,
                usage,
                cost_usd: cost,
                latency: ctx.started.elapsed(),
                first_byte: None,
                error: None,
            });
            response
        }
        (Started::Stream { first, rest }, Mode::Passthrough) => {
            let relay = StreamRelay { ctx, target, attempts: attempts.clone(), timeouts };
            relay.passthrough(first, rest, prepared.strip_usage)
        }
        (Started::Stream { first, rest }, Mode::Translate(upstream)) => {
            let relay = StreamRelay { ctx, target, attempts: attempts.clone(), timeouts };
            relay.translate(first, rest, upstream, wants_usage)
        }
    };
    with_routing_headers(response, resolution, Some(label), &attempts)
}

/// `x-switchboard-alias`, `-target` and `-attempts`: what routing decided, on every response.
fn with_routing_headers(
    mut response: Response,
    resolution: &Resolution,
    target: Option<String>,
    attempts: &[Attempt],
) -> Response {
    let headers: &mut HeaderMap = response.headers_mut();
    let alias = resolution.alias.as_ref().map_or("none", |a| a.name.as_str());
    if let Ok(value) = HeaderValue::from_str(alias) {
        headers.insert(X_ALIAS.clone(), value);
    }
    if let Some(value) = target.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(X_TARGET.clone(), value);
    }
    headers.insert(X_ATTEMPTS.clone(), HeaderValue::from(attempts.len()));
    response
}

/// The task that carries a started stream to the client.
struct StreamRelay {
    ctx: Ctx,
    target: Target,
    attempts: Vec<Attempt>,
    timeouts: Timeouts,
}

/// What the upstream stream did next, with the idle and total limits applied.
enum Step {
    Chunk(Bytes),
    End,
    Broken(String),
    ClientGone,
}

impl StreamRelay {
    /// The next upstream chunk, or why there is none.
    async fn next(
        &self,
        upstream: &mut BoxStream<'static, reqwest::Result<Bytes>>,
        tx: &mpsc::Sender<Bytes>,
        deadline: Instant,
    ) -> Step {
        let idle = Duration::from_secs_f64(self.timeouts.idle);
        tokio::select! {
            item = tokio::time::timeout(idle, upstream.next()) => match item {
                Ok(Some(Ok(chunk))) => Step::Chunk(chunk),
                Ok(Some(Err(e))) => Step::Broken(format!("the stream broke: {}", self.target.provider.redact(&error_chain(&e)))),
                Ok(None) => Step::End,
                Err(_) => Step::Broken(format!("the upstream sent nothing for {}s", self.timeouts.idle)),
            },
            () = tokio::time::sleep_until(deadline.into()) => {
                Step::Broken(format!("the request reached its {}s limit", self.timeouts.total))
            }
            () = tx.closed() => Step::ClientGone,
        }
    }

    /// Same protocol: SSE events go out byte for byte (garbage ends the stream with an error event).
    fn passthrough(
        self,
        first: Bytes,
        rest: BoxStream<'static, reqwest::Result<Bytes>>,
        strip_usage: bool,
    ) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        tokio::spawn(async move {
            let deadline = self.ctx.started + Duration::from_secs_f64(self.timeouts.total);
            let first_byte = Some(self.ctx.started.elapsed());
            let mut upstream = rest;
            let mut splitter = EventSplitter::default();
            let mut usage = None;
            let mut saw_done = false;
            let mut error = None;
            let mut client_gone = false;
            let mut pending = Some(first);
            'relay: loop {
                let chunk = match pending.take() {
                    Some(chunk) => chunk,
                    None => match self.next(&mut upstream, &tx, deadline).await {
                        Step::Chunk(chunk) => chunk,
                        Step::End => break,
                        Step::Broken(message) => {
                            error = Some(message);
                            break;
                        }
                        Step::ClientGone => {
                            client_gone = true;
                            break;
                        }
                    },
                };
                for event in splitter.push(&chunk) {
                    match event_data(&event).as_deref() {
                        None => {}
                        Some("[DONE]") => saw_done = true,
                        Some(data) => match serde_json::from_str::<Value>(data) {
                            // Parsed only to check it and find usage; the bytes go out as they came.
                            Ok(parsed) => {
                                if let Some(found) = openai_usage(&parsed["usage"]) {
                                    usage = Some(found);
                                    if strip_usage && parsed["choices"].as_array().is_some_and(Vec::is_empty) {
                                        continue;
                                    }
                                }
                            }
                            Err(e) => {
                                error = Some(format!("the upstream sent an unreadable event: {e}"));
                                break 'relay;
                            }
                        },
                    }
                    if tx.send(event).await.is_err() {
                        client_gone = true;
                        break 'relay;
                    }
                }
            }
            if !client_gone && !saw_done {
                // The upstream ended without its terminator: tell the client in-band, then end the stream properly.
                let message = error.clone().unwrap_or_else(|| "the upstream ended the stream early".to_owned());
                let _ = tx.send(sse::frame(None, &openai_error_event(&self.target, &message))).await;
                let _ = tx.send(sse::done()).await;
                error.get_or_insert(message);
            }
            if client_gone {
                error = Some("the client went away".into());
            }
            self.finish(usage, first_byte, error);
        });
        sse_response(rx)
    }

    /// Across protocols: upstream events → neutral events → the client's SSE.
    fn translate(
        self,
        first: Bytes,
        rest: BoxStream<'static, reqwest::Result<Bytes>>,
        upstream_protocol: Protocol,
        include_usage: bool,
    ) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        tokio::spawn(async move {
            let deadline = self.ctx.started + Duration::from_secs_f64(self.timeouts.total);
            let first_byte = Some(self.ctx.started.elapsed());
            let idle = Duration::from_secs_f64(self.timeouts.idle);
            let provider = self.target.provider.clone();
            // The upstream's bytes with the idle limit applied, parsed into SSE events.
            let chunks = stream::unfold((rest, Some(first)), move |(mut rest, first)| {
                let provider = provider.clone();
                async move {
                    if let Some(first) = first {
                        return Some((Ok(first), (rest, None)));
                    }
                    let item = match tokio::time::timeout(idle, rest.next()).await {
                        Ok(None) => return None,
                        Ok(Some(Ok(chunk))) => Ok(chunk),
                        Ok(Some(Err(e))) => Err(std::io::Error::other(provider.redact(&error_chain(&e)))),
                        Err(_) => {
                            Err(std::io::Error::other(format!("the upstream sent nothing for {}s", idle.as_secs_f64())))
                        }
                    };
                    Some((item, (rest, None)))
                }
            });
            let mut events = chunks.boxed().eventsource();
            let mut decoder = protocol::StreamDecoder::new(upstream_protocol);
            let mut encoder = openai_chat::StreamEncoder::new(include_usage);
            let mut usage = None;
            let mut error = None;
            let mut client_gone = false;
            'relay: loop {
                let item = tokio::select! {
                    item = events.next() => item,
                    () = tokio::time::sleep_until(deadline.into()) => {
                        let message = format!("the request reached its {}s limit", self.timeouts.total);
                        Some(Err(eventsource_stream::EventStreamError::Transport(std::io::Error::other(message))))
                    }
                    () = tx.closed() => { client_gone = true; break 'relay; }
                };
                let (out, over) = match item {
                    Some(Ok(event)) => {
                        let event = SseEvent {
                            event: Some(event.event).filter(|n| !n.is_empty() && n != "message"),
                            data: event.data,
                        };
                        match decoder.decode(&event) {
                            Ok(decoded) => (decoded, false),
                            Err(e) => {
                                (vec![broke(&mut error, format!("the upstream sent an unreadable event: {e}"))], true)
                            }
                        }
                    }
                    Some(Err(e)) => (vec![broke(&mut error, format!("the upstream stream broke: {e}"))], true),
                    None => (decoder.finish(), true),
                };
                for event in &out {
                    match event {
                        StreamEvent::Usage { usage: u, cost_usd } => usage = Some((*u, *cost_usd)),
                        StreamEvent::Error { message, .. } => {
                            error.get_or_insert_with(|| message.clone());
                        }
                        _ => {}
                    }
                    for frame in encoder.encode(event) {
                        if tx.send(sse::frame(frame.event.as_deref(), &frame.data)).await.is_err() {
                            client_gone = true;
                            break 'relay;
                        }
                    }
                }
                if over || error.is_some() {
                    break;
                }
            }
            if client_gone {
                error = Some("the client went away".into());
            } else {
                for frame in encoder.finish() {
                    let _ = tx.send(sse::frame(frame.event.as_deref(), &frame.data)).await;
                }
            }
            self.finish(usage, first_byte, error);
        });
        sse_response(rx)
    }

    fn finish(&self, usage: Option<(Usage, Option<f64>)>, first_byte: Option<Duration>, error: Option<String>) {
        record(Outcome {
            app: &self.ctx.app.name,
            model: &self.ctx.client_model,
            target: self.target.label(),
            attempts: &self.attempts,
            status: 200,
            stream: true,
            usage: usage.map(|u| u.0),
            cost_usd: usage.and_then(|u| u.1),
            latency: self.ctx.started.elapsed(),
            first_byte,
            error,
        });
    }
}

/// Notes the failure and makes the in-band error event the client will see.
fn broke(error: &mut Option<String>, message: String) -> StreamEvent {
    *error = Some(message.clone());
    StreamEvent::Error { message, kind: "upstream_error".into() }
}

fn sse_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let mut rx = rx;
    let stream = stream::poll_fn(move |cx| rx.poll_recv(cx).map(|b| b.map(Ok::<_, std::io::Error>)));
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn malformed(target: &Target, detail: &str) -> ApiError {
    ApiError::upstream(
        StatusCode::BAD_GATEWAY,
        format!("{} sent an answer Switchboard could not read: {detail}", target.provider.id()),
    )
    .code("upstream_malformed")
}

fn read_failed(target: &Target, error: &reqwest::Error) -> ApiError {
    ApiError::upstream(
        StatusCode::BAD_GATEWAY,
        format!("{} stopped sending its answer: {}", target.provider.id(), target.provider.redact(&error_chain(error))),
    )
    .code("upstream_broken")
}

/// An error with its causes, e.g. "error sending request: connection refused".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn openai_error_event(target: &Target, message: &str) -> String {
    json!({ "error": { "message": target.provider.redact(message), "type": "upstream_error",
        "code": "upstream_stream_broken", "param": null } })
    .to_string()
}

/// Usage (and OpenRouter's reported cost) from an OpenAI-shaped `usage` object.
fn openai_usage(usage: &Value) -> Option<(Usage, Option<f64>)> {
    let prompt = usage["prompt_tokens"].as_u64()?;
    Some((
        Usage {
            input: prompt,
            cached_input: usage["prompt_tokens_details"]["cached_tokens"].as_u64().unwrap_or(0),
            cache_write: 0,
            output: usage["completion_tokens"].as_u64().unwrap_or(0),
            reasoning: usage["completion_tokens_details"]["reasoning_tokens"].as_u64().unwrap_or(0),
        },
        usage["cost"].as_f64(),
    ))
}

/// The `data:` payload of one raw SSE event (its lines joined), if it has any.
fn event_data(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data: Option<String> = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    data
}

/// Cuts a byte stream into whole SSE events (each with its blank-line terminator), keeping the bytes as sent.
#[derive(Default)]
struct EventSplitter {
    buffer: BytesMut,
}

impl EventSplitter {
    fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.buffer) {
            events.push(self.buffer.split_to(end).freeze());
        }
        events
    }
}

/// The index just past the first event terminator (`\n\n`, `\r\n\r\n` or `\r\r`), if the buffer holds one.
fn event_end(buffer: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < buffer.len() {
        match (buffer[i], buffer[i + 1]) {
            (b'\n', b'\n') | (b'\r', b'\r') => return Some(i + 2),
            (b'\r', b'\n') if buffer.get(i + 2..i + 4) == Some(b"\r\n") => return Some(i + 4),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_keeps_bytes_and_waits_for_whole_events() {
        let mut splitter = EventSplitter::default();
        assert!(splitter.push(b"data: {\"a\"").is_empty());
        let events = splitter.push(b":1}\n\ndata: [DONE]\n\n");
        assert_eq!(events, [Bytes::from_static(b"data: {\"a\":1}\n\n"), Bytes::from_static(b"data: [DONE]\n\n")]);
        let events = splitter.push(b"data: x\r\n\r\ndata: y\n\n");
        assert_eq!(events, [Bytes::from_static(b"data: x\r\n\r\n"), Bytes::from_static(b"data: y\n\n")]);
    }

    #[test]
    fn event_data_joins_lines() {
        assert_eq!(event_data(b"event: x\ndata: a\ndata: b\n\n").as_deref(), Some("a\nb"));
        assert_eq!(event_data(b"data:[DONE]\n\n").as_deref(), Some("[DONE]"));
        assert_eq!(event_data(b": comment\n\n"), None);
    }

    #[test]
    fn usage_reads_openai_and_openrouter_fields() {
        let usage = json!({"prompt_tokens": 12, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 3}, "cost": 0.0012});
        let (u, cost) = openai_usage(&usage).unwrap();
        assert_eq!(u, Usage { input: 12, cached_input: 4, cache_write: 0, output: 7, reasoning: 3 });
        assert_eq!(cost, Some(0.0012));
        assert!(openai_usage(&Value::Null).is_none());
    }

    #[test]
    fn context_length_errors_are_recognised() {
        assert!(is_context_length_error("This model's maximum context length is 8192 tokens", None));
        assert!(is_context_length_error("prompt is too long: 210000 tokens > 200000 maximum", None));
        assert!(is_context_length_error("x", Some(&json!({"error": {"code": "context_length_exceeded"}}))));
        assert!(is_context_length_error("The input token count (1200000) exceeds the maximum number of tokens", None));
        assert!(!is_context_length_error("temperature must be at most 2", None));
    }
}
