//! The relay: one client request → a plan of targets → attempts until one starts answering → the answer back,
//! streamed chunk by chunk. Clients speak OpenAI chat, Anthropic Messages, OpenAI Responses or Gemini
//! (`wire.rs`); the plan is walked in `walk.rs`; started streams are carried in `stream.rs`.
//!
//! Same protocol in and out is **passthrough**: the body goes upstream with only `model` rewritten (and usage
//! requested on streams), and SSE events come back byte for byte. Across protocols the body is decoded to the
//! neutral form and encoded for the upstream, and the answer (or each stream event) the other way. The choice is
//! made per target, so one alias can mix both. A Responses client is passed through only to providers that offer
//! the Responses API themselves (`Provider::offers_responses`: OpenAI, by either kind); a turn naming something
//! stored at OpenAI (`previous_response_id`, `conversation`, `prompt`) can only go there, since Switchboard stores
//! nothing; likewise a Gemini request naming a `cachedContent` can only go to Gemini. A host of kind `openai` that
//! answers 404 or 405 for `/responses` (a compatible server, a proxy) has the same attempt translated onto its chat
//! completions at once (`walk::Next::Translate`), and is remembered as such (`routing::Memory`), so later Responses
//! requests to it are translated straight away. A Gemini body goes to Gemini untouched (its model is in the URL),
//! and Gemini's stream is always asked for as SSE.
//!
//! **Fallback** happens only before the first byte reaches the client: an attempt counts as started once the
//! upstream has answered 2xx *and* (for streams) sent its first chunk. Until then, connect errors, timeouts, 408,
//! 409, 429, 5xx, an unreadable answer, a rejected provider key, or a context-length error (to a larger window)
//! move on — with one jittered retry of the same target where that can help — while other 4xx stop at once.
//! After the first byte, a failure ends the stream with an in-band error event.
//!
//! **Limits** (`crate::limits`) are checked once per request, after the budget and before the first attempt; the
//! permit a request is admitted with lives in its `Ctx`, so it ends with the response (a stream's ends with its
//! task), and the tokens the ledger record carries are counted into the windows as it is made.

mod gate;
use gate::{admit, budget_check, with_budget_header};
mod passthrough;
mod record;
mod settings;
mod stream;
mod walk;
pub(super) mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::apps::App;
use crate::error::ApiError;
use crate::ledger::{FailureKind, Ledger};
use crate::limits::Permit;
use crate::metrics::Refusal;
use crate::protocol;
use crate::providers::Operation;
use crate::routing::{Memory, Needs, Resolution, Resolver, Target, conversation_key};
use crate::telemetry::genai;
use passthrough::passthrough_body;
use record::{Outcome, record};
use stream::StreamRelay;
use walk::{Decoded, Lost, Mode, Prepared, Started, Won, walk};
pub use wire::{Client, anthropic_error};

static X_ALIAS: HeaderName = HeaderName::from_static("x-switchboard-alias");
static X_TARGET: HeaderName = HeaderName::from_static("x-switchboard-target");
static X_ATTEMPTS: HeaderName = HeaderName::from_static("x-switchboard-attempts");
static X_BUDGET: HeaderName = HeaderName::from_static("x-switchboard-budget");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Client headers passed on to an Anthropic upstream when the client speaks Anthropic too.
const ANTHROPIC_HEADERS: [&str; 2] = ["anthropic-version", "anthropic-beta"];

/// Who asked for what: carried from the route to the record of the request.
pub struct Ctx {
    pub app: App,
    pub client_model: String,
    pub started: Instant,
    /// The client's protocol as the ledger names it: `openai-chat`, `anthropic`, `responses`, …
    pub protocol: &'static str,
    pub ledger: Option<Ledger>,
    /// The alias the model resolved to, once resolved.
    alias: Option<String>,
    /// Unix ms at the start, for the record.
    started_ms: i64,
    /// The request body as text, kept only while request logging is on.
    logged_request: Option<String>,
    /// Who wants the id of this request's ledger row (the in-process chat); taken by the one record.
    receipt: Option<oneshot::Sender<i64>>,
    /// The request's `x-request-id`, kept only while the ledger expects some ([`Ledger::expect`]).
    request_id: Option<Box<str>>,
    /// The request's turn in its app's rate-limit windows, once admitted; held until the response has ended.
    permit: Option<Permit>,
    /// The request's span (`telemetry::genai`), disabled unless spans are exported; it ends when the `Ctx` does.
    span: tracing::Span,
    /// The span of the attempt that answered, kept open until the answer has ended.
    answering: tracing::Span,
}

impl Ctx {
    pub fn new(app: App, client_model: String, protocol: &'static str, ledger: Option<Ledger>) -> Ctx {
        Ctx {
            app,
            client_model,
            started: Instant::now(),
            protocol,
            ledger,
            alias: None,
            started_ms: crate::store::now_ms(),
            logged_request: None,
            receipt: None,
            request_id: None,
            permit: None,
            span: tracing::Span::none(),
            answering: tracing::Span::none(),
        }
    }

    /// Opens the request's span, for `op` on the model the client named, in the client's trace when `headers` carry
    /// a `traceparent`.
    fn open_span(&mut self, op: Operation, headers: &HeaderMap) {
        self.span = genai::request(genai::operation(op), &self.client_model, &self.app.name, self.protocol);
        genai::continues(&self.span, headers);
    }

    /// Keeps the alias the model resolved to, for the record and the span.
    fn resolved(&mut self, resolution: &Resolution) {
        self.alias = resolution.alias.as_ref().map(|a| a.name.clone());
        genai::resolved(&self.span, self.alias.as_deref());
    }

    /// Counts this request in `/metrics` as refused before routing, when that is served: such a request makes no
    /// ledger row.
    fn refused(&self, reason: Refusal) {
        if let Some(metrics) = self.ledger.as_ref().and_then(Ledger::metrics) {
            metrics.refused(reason);
        }
    }

    /// Keeps the request's id from `headers` for the record, when the ledger expects request ids (one atomic load
    /// otherwise): how a request sent over HTTP finds its own row.
    fn keep_request_id(&mut self, headers: &HeaderMap) {
        if self.ledger.as_ref().is_some_and(Ledger::expects_request_ids) {
            self.request_id = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).map(Box::from);
        }
    }

    /// `receipt` gets the id of this request's ledger row once it is written; it is dropped unanswered when the
    /// request writes no row (refused before routing, or no ledger).
    pub fn with_receipt(mut self, receipt: oneshot::Sender<i64>) -> Ctx {
        self.receipt = Some(receipt);
        self
    }

    /// Whether this request's bodies go to the ledger (request logging is on).
    fn logs_bodies(&self) -> bool {
        self.ledger.as_ref().is_some_and(Ledger::logs_bodies)
    }

    /// Keeps the client's body for the ledger when request logging is on (a serialisation only then).
    fn log_request(&mut self, body: &Value) {
        if self.logs_bodies() {
            self.logged_request = serde_json::to_string(body).ok();
        }
    }
}

/// One try of one target, for the response headers and the record.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub target: String,
    /// `ok`, or why it failed.
    pub result: String,
    pub elapsed: Duration,
    /// Why it failed, in one word; `None` when it answered.
    pub failure: Option<FailureKind>,
}

/// A chat request in any client protocol: the alias's settings applied, the request validated, a plan made and
/// walked. `headers` are the client's, for its trace context and for passing Anthropic's version and beta flags to an
/// Anthropic upstream.
pub async fn chat(
    resolver: Arc<Resolver>,
    memory: Arc<Memory>,
    mut ctx: Ctx,
    client: Client,
    body: Value,
    headers: &HeaderMap,
) -> Response {
    ctx.open_span(Operation::Chat, headers);
    let span = ctx.span.clone();
    let response = chat_relayed(resolver, memory, ctx, client, body, headers).await;
    responded(&span, &response);
    response
}

async fn chat_relayed(
    resolver: Arc<Resolver>,
    memory: Arc<Memory>,
    mut ctx: Ctx,
    client: Client,
    body: Value,
    headers: &HeaderMap,
) -> Response {
    ctx.keep_request_id(headers);
    let resolution = match resolve(&resolver, &ctx) {
        Ok(resolution) => resolution,
        Err(error) => return client.error_response(error),
    };
    ctx.resolved(&resolution);
    ctx.log_request(&body);
    let mut body = body;
    if client == Client::Anthropic {
        // Anthropic refuses system messages inside `messages`, which Claude Code may send: they join `system`.
        protocol::anthropic::lift_system_messages(&mut body);
    }
    // OpenAI bodies take the alias's settings as JSON, so passthrough carries them too; others in the neutral form.
    if let (Some(alias), Client::OpenAiChat) = (&resolution.alias, client) {
        settings::openai(&mut body, alias);
    }
    // A Responses turn that refers to something stored at OpenAI can only be served there, passed through. The rest
    // of the body is still validated, without the fields translation cannot honour.
    let stored = client.stored_fields().iter().copied().find(|name| body.get(*name).is_some_and(|v| !v.is_null()));
    let decoded = if stored.is_some() {
        let mut rest = body.clone();
        if let Some(object) = rest.as_object_mut() {
            for name in client.stored_fields() {
                object.remove(*name);
            }
        }
        client.decode_request(&rest)
    } else {
        client.decode_request(&body)
    };
    // Decoding validates every known field (types, roles, tool shapes) before anything is spent upstream.
    let mut request = match decoded {
        Ok(request) => request,
        Err(e) => {
            ctx.refused(Refusal::invalid_request);
            return client.error_response(ApiError::invalid(e.message, e.param.as_deref()));
        }
    };
    if let (Some(alias), Client::Anthropic | Client::Responses | Client::Gemini { .. }) = (&resolution.alias, client) {
        settings::neutral(&mut request, alias);
    }
    // An Anthropic body passed through to Anthropic takes the same settings as JSON (translation uses `request`).
    if let (Some(alias), Client::Anthropic) = (&resolution.alias, client) {
        settings::anthropic(&mut body, alias);
    }
    // Likewise a Responses body passed through to OpenAI.
    if let (Some(alias), Client::Responses) = (&resolution.alias, client) {
        settings::responses(&mut body, alias);
    }
    // And a Gemini body passed through to Gemini.
    if let (Some(alias), Client::Gemini { .. }) = (&resolution.alias, client) {
        settings::gemini(&mut body, alias);
    }
    let needs = Needs::of(&request);
    let conversation = needs.signed_thinking.then(|| conversation_key(&request));
    let mut plan = match resolver.plan(&ctx.client_model, &resolution, &needs, conversation, &memory, Instant::now()) {
        Ok(plan) => plan,
        Err(no_target) => {
            ctx.refused(Refusal::invalid_request);
            let error = ApiError::invalid(no_target.to_string(), Some("model")).code("no_capable_target");
            return with_routing_headers(client.error_response(error), &resolution, None, &[]);
        }
    };
    if let Some(field) = stored {
        // Targets that can hold what is named: Gemini for a cache; for OpenAI's storage, those whose kind offers the
        // Responses API (one found without it after all is refused when prepared).
        plan.retain(|target| match client {
            Client::Gemini { .. } => client.passes_through_to(target.provider.as_ref()),
            _ => target.provider.preset().responses_api,
        });
        if plan.is_empty() {
            let instead = stored_instead(field);
            let model = &ctx.client_model;
            let error = match client {
                Client::Gemini { .. } => ApiError::invalid(
                    format!(
                        "`{field}` names a cache stored at Google, but none of {model:?}'s targets is a Gemini \
                         provider (Switchboard stores nothing itself): send the whole conversation in `contents`, or \
                         route {model:?} to a provider of kind `gemini`"
                    ),
                    Some(field),
                )
                .code("needs_gemini_upstream"),
                _ => ApiError::invalid(
                    format!(
                        "`{field}` refers to something stored at OpenAI, but none of {model:?}'s targets is an \
                         OpenAI provider (Switchboard stores nothing itself): {instead}, or route {model:?} to a \
                         provider of kind `openai`"
                    ),
                    Some(field),
                )
                .code("needs_openai_upstream"),
            };
            ctx.refused(Refusal::invalid_request);
            return with_routing_headers(client.error_response(error), &resolution, None, &[]);
        }
    }
    let budget = match budget_check(&ctx, &plan).and_then(|warning| admit(&mut ctx, &body).map(|()| warning)) {
        Ok(warning) => warning,
        Err(error) => {
            record(&mut ctx, Outcome::refused(&error, request.stream));
            return with_routing_headers(client.error_response(error), &resolution, None, &[]);
        }
    };
    let forward: Vec<(&'static str, String)> = ANTHROPIC_HEADERS
        .iter()
        .filter_map(|name| Some((*name, headers.get(*name)?.to_str().ok()?.to_owned())))
        .collect();
    let (stream, wants_usage) = (request.stream, request.stream_usage);
    // Attempts are prepared one at a time, so each translated one borrows the decoded request and sets its model
    // rather than copying the whole request.
    let prepare = |target: &Target| -> Result<Prepared, ApiError> {
        let upstream = target.provider.protocol();
        if client.passes_through_to(target.provider.as_ref()) {
            let op = if client == Client::Responses { Operation::Responses } else { Operation::Chat };
            let mut prepared =
                passthrough_body(target, &body, op, stream, wants_usage && client == Client::OpenAiChat)?;
            if client == Client::Anthropic {
                prepared.forward_headers = forward.clone();
            }
            return Ok(prepared);
        }
        if let Some(field) = stored {
            return Err(no_responses_api(field, target, &ctx.client_model));
        }
        request.model.clone_from(&target.model);
        if upstream == protocol::Protocol::Responses {
            let unsent = protocol::responses::unsent(&request);
            if !unsent.is_empty() {
                tracing::info!(target = %target.label(), "not sent, the Responses API has no such parameters: {}",
                    unsent.join(", "));
            }
        }
        let encoded = protocol::encode_request(upstream, &request);
        Ok(Prepared {
            mode: Mode::Translate(upstream),
            op: Operation::Chat,
            body: to_bytes(&encoded)?,
            strip_usage: false,
            forward_headers: Vec::new(),
        })
    };
    let won = walk(&memory, &ctx, &resolution, plan, stream, prepare).await;
    if let (Ok(won), Some(key)) = (&won, conversation) {
        memory.remember(key, &won.target);
    }
    with_budget_header(deliver(ctx, client, &resolution, won, stream, wants_usage), budget)
}

/// What a `/v1/completions` or `/v1/embeddings` request asks for besides its body.
#[derive(Debug, Clone, Copy)]
pub struct Raw {
    pub op: Operation,
    pub stream: bool,
    /// A stream's `stream_options.include_usage`.
    pub wants_usage: bool,
}

/// `/v1/completions` and `/v1/embeddings`: OpenAI-compatible upstreams only, always passthrough. `headers` are the
/// client's, for its trace context.
pub async fn openai_raw(
    resolver: Arc<Resolver>,
    memory: Arc<Memory>,
    mut ctx: Ctx,
    Raw { op, stream, wants_usage }: Raw,
    body: Value,
    headers: &HeaderMap,
) -> Response {
    ctx.open_span(op, headers);
    let span = ctx.span.clone();
    let response = openai_raw_relayed(resolver, memory, ctx, op, body, stream, wants_usage).await;
    responded(&span, &response);
    response
}

async fn openai_raw_relayed(
    resolver: Arc<Resolver>,
    memory: Arc<Memory>,
    mut ctx: Ctx,
    op: Operation,
    body: Value,
    stream: bool,
    wants_usage: bool,
) -> Response {
    let resolution = match resolve(&resolver, &ctx) {
        Ok(resolution) => resolution,
        Err(error) => return error.into_response(),
    };
    ctx.resolved(&resolution);
    ctx.log_request(&body);
    let needs = Needs::default();
    let plan = match resolver.plan(&ctx.client_model, &resolution, &needs, None, &memory, Instant::now()) {
        Ok(plan) => plan,
        Err(no_target) => {
            ctx.refused(Refusal::invalid_request);
            return ApiError::invalid(no_target.to_string(), Some("model")).into_response();
        }
    };
    let budget = match budget_check(&ctx, &plan).and_then(|warning| admit(&mut ctx, &body).map(|()| warning)) {
        Ok(warning) => warning,
        Err(error) => {
            record(&mut ctx, Outcome::refused(&error, stream));
            return with_routing_headers(error.into_response(), &resolution, None, &[]);
        }
    };
    let prepare = |target: &Target| passthrough_body(target, &body, op, stream, wants_usage);
    let won = walk(&memory, &ctx, &resolution, plan, stream, prepare).await;
    with_budget_header(deliver(ctx, Client::OpenAiChat, &resolution, won, stream, wants_usage), budget)
}

/// Marks the request's span failed when the client is answered with an error status (the status is the error's
/// type: refusals before routing end here too, without a ledger record).
fn responded(span: &tracing::Span, response: &Response) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        genai::failed(span, status.as_str());
    }
}

/// A stored-object turn planned onto a host of kind `openai` that turned out to have no `/responses`.
fn no_responses_api(field: &str, target: &Target, model: &str) -> ApiError {
    let provider = target.provider.id();
    let instead = stored_instead(field);
    ApiError::invalid(
        format!(
            "`{field}` refers to something stored at OpenAI, but {provider} has no Responses API (it answered 404 or \
             405 for /responses) and Switchboard stores nothing itself: {instead}, or route {model:?} to OpenAI's own \
             API"
        ),
        Some(field),
    )
    .code("needs_openai_upstream")
}

/// What a client should send instead of a reference to a stored object.
fn stored_instead(field: &str) -> &'static str {
    match field {
        "prompt" => "send `instructions` and `input` instead",
        _ => "resend the whole conversation in `input`",
    }
}

/// The model's targets, or the refusal (counted: it makes no ledger row).
fn resolve(resolver: &Resolver, ctx: &Ctx) -> Result<Resolution, ApiError> {
    if !ctx.app.may_use(&ctx.client_model) {
        ctx.refused(Refusal::model_not_allowed);
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
        ctx.refused(Refusal::unknown_model);
        let mut error = ApiError::not_found(e.to_string()).code("model_not_found");
        error.param = Some("model".into());
        error
    })
}

fn to_bytes(body: &Value) -> Result<Bytes, ApiError> {
    serde_json::to_vec(body).map(Bytes::from).map_err(|e| ApiError::invalid(e.to_string(), None))
}

/// Turns the walk's result into the client's response, spawning the stream relay where needed.
fn deliver(
    mut ctx: Ctx,
    client: Client,
    resolution: &Resolution,
    won: Result<Won, Lost>,
    stream: bool,
    wants_usage: bool,
) -> Response {
    let timeouts = resolution.timeouts;
    let won = match won {
        Ok(won) => won,
        Err(lost) => {
            record(
                &mut ctx,
                Outcome {
                    target: lost.attempts.last().map(|a| a.target.clone()),
                    provider_kind: None,
                    attempts: lost.attempts.clone(),
                    status: lost.error.status.as_u16(),
                    stream,
                    usage: None,
                    cost_usd: None,
                    first_byte: None,
                    error: Some(lost.error.message.clone()),
                    logged_response: None,
                },
            );
            let last = lost.attempts.last().map(|a| a.target.clone());
            return with_routing_headers(client.error_response(lost.error), resolution, last, &lost.attempts);
        }
    };
    let Won { target, prepared, started, attempts, span } = won;
    ctx.answering = span;
    let label = target.label();
    let response = match (started, prepared.mode) {
        (Started::Whole { bytes, content_type, decoded }, mode) => {
            let logs = ctx.logs_bodies();
            let mut logged_response = None;
            let (usage, cost, response) = match (decoded, mode) {
                (Decoded::Neutral(answer), _) => {
                    let encoded = client.encode_response(&answer);
                    if logs {
                        logged_response = serde_json::to_vec(&encoded).ok();
                    }
                    (answer.usage, answer.cost_usd, axum::Json(encoded).into_response())
                }
                (Decoded::Usage(usage), _) => {
                    let usage = client.usage(&usage);
                    if logs {
                        logged_response = Some(bytes.to_vec());
                    }
                    let mut response = Response::new(Body::from(bytes));
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
                    );
                    (usage.map(|u| u.0), usage.and_then(|u| u.1), response)
                }
            };
            record(
                &mut ctx,
                Outcome {
                    target: Some(label.clone()),
                    provider_kind: Some(target.provider.preset().id),
                    attempts: attempts.clone(),
                    status: 200,
                    stream: false,
                    usage,
                    cost_usd: cost,
                    first_byte: None,
                    error: None,
                    logged_response,
                },
            );
            response
        }
        (Started::Stream { first, rest }, Mode::Passthrough) => {
            let relay = StreamRelay { ctx, target, attempts: attempts.clone(), timeouts, client };
            relay.passthrough(first, rest, prepared.strip_usage)
        }
        (Started::Stream { first, rest }, Mode::Translate(upstream)) => {
            let relay = StreamRelay { ctx, target, attempts: attempts.clone(), timeouts, client };
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
