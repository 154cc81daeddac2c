//! The relay's spans, named and filled as OpenTelemetry's GenAI semantic conventions say: one per request
//! (`chat general`, kind server) and one per upstream attempt beneath it (`chat gpt-4o-mini`, kind client).
//!
//! They are `tracing` spans at `debug` under the target [`TARGET`]: the default log filter leaves them out, so
//! unless `[telemetry]` exports them (or `RUST_LOG` asks for them) no layer wants them and each macro below costs one
//! cached interest check and returns a disabled span; every function here returns at once for a disabled span.
//!
//! A client that sends a W3C `traceparent` (and `tracestate`) has the request span made a child of its span
//! ([`continues`]), so the gateway's spans join the caller's trace; without one, or with a malformed one, the request
//! span is the root of a trace of its own.
//!
//! What goes in: operation, models, provider, upstream host and port, token counts, the error's kind, and
//! Switchboard's app, alias, target and attempt count. Never a prompt, an answer, an error message (an upstream may
//! echo the prompt in one), a header, a key or a token.

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::protocol::neutral::Usage;
use crate::providers::Operation;

/// The `tracing` target of the exported spans; the OTLP layer takes these and nothing else.
pub const TARGET: &str = "switchboard::genai";

/// `gen_ai.operation.name` for what a request asks an upstream to do.
pub fn operation(op: Operation) -> &'static str {
    match op {
        Operation::Chat | Operation::Responses => "chat",
        Operation::Completions => "text_completion",
        Operation::Embeddings => "embeddings",
        Operation::CountTokens => "count_tokens",
    }
}

/// `gen_ai.provider.name` for a provider kind: the conventions' well-known values where there is one, else the
/// kind itself.
pub fn provider_name(kind: &'static str) -> &'static str {
    match kind {
        "openai" | "openai-responses" => "openai",
        "gemini" => "gcp.gemini",
        "azure" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        other => other,
    }
}

/// `server.address` and `server.port` of a base URL (`https://api.openai.com/v1` → `api.openai.com`, 443), read
/// without parsing the whole URL; the port is the scheme's when the URL names none.
pub fn server(base_url: &str) -> (&str, Option<u16>) {
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("", base_url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let default_port = match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    // `[::1]:8080`, `host:8080`, `[::1]`, `host`.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
        _ => (authority, None),
    };
    (host.trim_start_matches('[').trim_end_matches(']'), port.or(default_port))
}

/// The span of one client request, from the route until its answer has ended (a stream's last byte).
pub fn request(operation: &'static str, model: &str, app: &str, protocol: &'static str) -> Span {
    tracing::debug_span!(
        target: TARGET,
        "request",
        otel.name = %format_args!("{operation} {model}"),
        otel.kind = "server",
        otel.status_code = Empty,
        gen_ai.operation.name = operation,
        gen_ai.request.model = model,
        gen_ai.response.model = Empty,
        gen_ai.provider.name = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.usage.cache_read.input_tokens = Empty,
        gen_ai.usage.cache_creation.input_tokens = Empty,
        "error.type" = Empty,
        switchboard.app = app,
        switchboard.alias = Empty,
        switchboard.client_protocol = protocol,
        switchboard.target = Empty,
        switchboard.attempts = Empty,
    )
}

/// Makes `request` (just opened, not yet entered) a child of the client's span when `headers` carry a valid W3C
/// `traceparent`, `tracestate` kept: same trace id, the client's span id as its parent, the client's sampling
/// decision honoured. A missing or malformed `traceparent` leaves it a root. Reads nothing for a disabled span, so
/// without export this is one check.
pub fn continues(request: &Span, headers: &HeaderMap) {
    if request.is_disabled() || !headers.contains_key("traceparent") {
        return;
    }
    let remote = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if remote.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed (spans wanted by `RUST_LOG` alone): nothing to join.
        let _ = request.set_parent(remote);
    }
}

/// The span of one call to an upstream, a child of `request`: `model` is the upstream's own model id, `provider`
/// the provider's id in the configuration, `kind` its preset.
pub fn attempt(
    request: &Span,
    operation: &'static str,
    model: &str,
    provider: &str,
    kind: &'static str,
    base_url: &str,
) -> Span {
    if request.is_disabled() {
        return Span::none();
    }
    let (address, port) = server(base_url);
    tracing::debug_span!(
        target: TARGET,
        parent: request,
        "attempt",
        otel.name = %format_args!("{operation} {model}"),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = operation,
        gen_ai.request.model = model,
        gen_ai.response.model = Empty,
        gen_ai.provider.name = provider_name(kind),
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        server.address = address,
        server.port = port,
        "error.type" = Empty,
        switchboard.provider = provider,
    )
}

/// The alias the request's model resolved to.
pub fn resolved(request: &Span, alias: Option<&str>) {
    if let Some(alias) = alias.filter(|_| !request.is_disabled()) {
        request.record("switchboard.alias", alias);
    }
}

/// Marks a span failed with `error_type`, a low-cardinality word (an error code, an HTTP status).
pub fn failed(span: &Span, error_type: &str) {
    if span.is_disabled() {
        return;
    }
    span.record("error.type", error_type);
    span.record("otel.status_code", "error");
}

/// The answer as the client got it: which target answered (`provider/model`, its kind), after how many attempts,
/// with what usage. `answering` is the attempt that answered, or a disabled span.
pub fn answered(
    request: &Span,
    answering: &Span,
    target: Option<(&str, &'static str)>,
    attempts: usize,
    usage: Option<&Usage>,
) {
    if request.is_disabled() {
        return;
    }
    request.record("switchboard.attempts", attempts as u64);
    if let Some((label, kind)) = target {
        let model = label.split_once('/').map_or(label, |(_, model)| model);
        request.record("switchboard.target", label);
        request.record("gen_ai.provider.name", provider_name(kind));
        request.record("gen_ai.response.model", model);
        answering.record("gen_ai.response.model", model);
    }
    if let Some(usage) = usage {
        for span in [request, answering] {
            span.record("gen_ai.usage.input_tokens", usage.input);
            span.record("gen_ai.usage.output_tokens", usage.output);
        }
        request.record("gen_ai.usage.cache_read.input_tokens", usage.cached_input);
        request.record("gen_ai.usage.cache_creation.input_tokens", usage.cache_write);
    }
}
