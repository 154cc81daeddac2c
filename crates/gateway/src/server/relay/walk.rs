//! Walking the plan: one attempt after another until a target starts answering, with the rules for what to try
//! next after each kind of failure.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

use super::{Attempt, Ctx};
use crate::config::Timeouts;
use crate::error::ApiError;
use crate::ledger::FailureKind;
use crate::protocol::neutral::ChatResponse;
use crate::protocol::{self, Protocol};
use crate::providers::{Call, Operation, UpstreamError};
use crate::routing::backoff::{self, RETRY_AFTER_CAP};
use crate::routing::{Memory, Resolution, Target};
use crate::telemetry::genai;

/// The most of an upstream error body that is read (and shown).
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Retries of the same target before moving to the next.
const RETRIES_PER_TARGET: u32 = 1;

/// How a body is sent to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Passthrough,
    Translate(Protocol),
}

pub(super) struct Prepared {
    pub mode: Mode,
    /// What the upstream is asked to do: a Responses client passed through to OpenAI calls `/responses`, the same
    /// client translated for another target calls chat completions.
    pub op: Operation,
    pub body: Bytes,
    /// Remove the usage-only chunk the gateway asked for on the client's behalf.
    pub strip_usage: bool,
    /// Client headers a same-protocol upstream should see (`anthropic-beta`, `anthropic-version`).
    pub forward_headers: Vec<(&'static str, String)>,
}

/// An attempt that started answering.
pub(super) enum Started {
    Whole { bytes: Bytes, content_type: Option<HeaderValue>, decoded: Decoded },
    Stream { first: Bytes, rest: BoxStream<'static, reqwest::Result<Bytes>> },
}

/// A whole passthrough answer as far as the relay reads it: its `usage` (Gemini's `usageMetadata`).
#[derive(serde::Deserialize)]
struct UsageOnly {
    #[serde(default)]
    usage: Value,
    #[serde(default, rename = "usageMetadata")]
    usage_metadata: Value,
}

pub(super) enum Decoded {
    /// Passed through as it came: only its `usage` was read (the rest is checked to be JSON, not built).
    Usage(Value),
    Neutral(ChatResponse),
}

/// Why an attempt failed, and what to do next.
pub(super) struct Failure {
    error: ApiError,
    next: Next,
    /// Whether this says something about the target's health (a client mistake does not).
    health: bool,
}

pub(super) enum Next {
    /// Try the same target again after this wait, then move on.
    Retry(Duration),
    /// Move on to the next target.
    Fallback,
    /// Move on to targets with a larger context window than this one.
    LargerWindow,
    /// Give the client this error now: another target would fail the same way.
    Stop,
    /// Send the same attempt again at once, translated: the upstream has no `/responses` for a Responses client
    /// passed through to it (a compatible host declared `openai`, a proxy in front of OpenAI). Remembered
    /// (`Memory::note_no_responses`), so this prepare and every later one translate; not the target's fault, and
    /// not a reason to try another target.
    Translate,
}

pub(super) struct Won {
    pub target: Target,
    pub prepared: Prepared,
    pub started: Started,
    pub attempts: Vec<Attempt>,
    /// The answering attempt's span, ended with the answer.
    pub span: tracing::Span,
}

pub(super) struct Lost {
    pub error: ApiError,
    pub attempts: Vec<Attempt>,
}

/// Tries the plan's targets in order until one starts answering.
pub(super) async fn walk(
    memory: &Memory,
    ctx: &Ctx,
    resolution: &Resolution,
    plan: Vec<Target>,
    stream: bool,
    mut prepare: impl FnMut(&Target) -> Result<Prepared, ApiError>,
) -> Result<Won, Lost> {
    let timeouts = resolution.timeouts;
    let deadline = ctx.started + Duration::from_secs_f64(timeouts.total);
    let mut plan: VecDeque<Target> = plan.into();
    let mut attempts = Vec::new();
    let mut last_error = None;
    'targets: while let Some(target) = plan.pop_front() {
        let mut retries = 0;
        let mut rotations = 0;
        // The attempt that asked for a translation, recorded once it is known what came of preparing it anew.
        let mut untranslated: Option<Attempt> = None;
        loop {
            if Instant::now() >= deadline {
                last_error = Some(
                    ApiError::upstream(
                        StatusCode::GATEWAY_TIMEOUT,
                        format!("no target answered within the {}s this request may take", timeouts.total),
                    )
                    .code("upstream_timeout"),
                );
                attempts.extend(untranslated.take());
                break 'targets;
            }
            let prepared = match prepare(&target) {
                Ok(prepared) => {
                    if let Some(mut first) = untranslated.take() {
                        first.result = format!("{}: translated onto {}", first.result, prepared.op.describe());
                        attempts.push(first);
                    }
                    prepared
                }
                Err(error) => {
                    // After a translation was asked for, the refusal is that attempt's outcome (one call, one row).
                    let elapsed = untranslated.take().map_or(Duration::ZERO, |first| first.elapsed);
                    attempts.push(Attempt {
                        target: target.label(),
                        result: error.message.clone(),
                        elapsed,
                        failure: Some(failure_kind(&error)),
                    });
                    last_error = Some(error);
                    continue 'targets;
                }
            };
            let began = Instant::now();
            let span = attempt_span(ctx, &target, prepared.op);
            let result = attempt(&target, &prepared, stream, &timeouts, deadline).await;
            if let Err(failure) = &result {
                genai::failed(&span, failure.error.code.unwrap_or("upstream_error"));
            }
            match result {
                Ok(started) => {
                    memory.health.succeeded(&target.label());
                    attempts.push(Attempt {
                        target: target.label(),
                        result: "ok".into(),
                        elapsed: began.elapsed(),
                        failure: None,
                    });
                    return Ok(Won { target, prepared, started, attempts, span });
                }
                Err(failure) if matches!(failure.next, Next::Translate) && untranslated.is_none() => {
                    drop(span);
                    let kind = failure_kind(&failure.error);
                    let (provider, result) = (target.provider.id(), failure.error.message);
                    tracing::info!(target = %target.label(), "{result}: translating onto chat completions, as every \
                        Responses request to {provider} from now on");
                    memory.note_no_responses(target.provider.as_ref());
                    untranslated =
                        Some(Attempt { target: target.label(), result, elapsed: began.elapsed(), failure: Some(kind) });
                }
                Err(failure) => {
                    // The attempt's span ends here, before any wait for a retry.
                    drop(span);
                    tracing::info!(target = %target.label(), error = %failure.error.message, "attempt failed");
                    attempts.push(Attempt {
                        target: target.label(),
                        result: failure.error.message.clone(),
                        elapsed: began.elapsed(),
                        failure: Some(failure_kind(&failure.error)),
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
                        // A translated attempt asked again: cannot happen (translations call chat completions).
                        Next::Stop | Next::Translate => return Err(Lost { error: failure.error, attempts }),
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

/// The span of one call to `target`, beneath the request's.
fn attempt_span(ctx: &Ctx, target: &Target, op: Operation) -> tracing::Span {
    let provider = target.provider.as_ref();
    let base_url = &provider.endpoint().base_url;
    genai::attempt(&ctx.span, genai::operation(op), &target.model, provider.id(), provider.preset().id, base_url)
}

/// One try: send, check the status, and read until the answer has started (the whole body, or a stream's first
/// chunk), within the first-token limit (streams) or the request's deadline.
pub(super) async fn attempt(
    target: &Target,
    prepared: &Prepared,
    stream: bool,
    timeouts: &Timeouts,
    deadline: Instant,
) -> Result<Started, Failure> {
    let forward_headers = prepared.forward_headers.clone();
    let call = Call { op: prepared.op, model: &target.model, body: prepared.body.clone(), stream, forward_headers };
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
            return Err(status_failure(target, prepared.op, response).await);
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
        let decoded = match prepared.mode {
            Mode::Passthrough => {
                let answer = serde_json::from_slice::<UsageOnly>(&bytes).map_err(|e| unreadable(e.to_string()))?;
                Decoded::Usage(if answer.usage.is_null() { answer.usage_metadata } else { answer.usage })
            }
            Mode::Translate(upstream) => {
                let json = serde_json::from_slice::<Value>(&bytes).map_err(|e| unreadable(e.to_string()))?;
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
/// the upstream is about Switchboard's key for it, not the client's token, so it becomes a 502 that says so. A 404
/// or 405 for `/responses` from a host that also has chat completions means it has no Responses API (unless the
/// answer is about the model): the attempt is translated instead.
async fn status_failure(target: &Target, op: Operation, response: reqwest::Response) -> Failure {
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
    if matches!(upstream_code, 404 | 405)
        && op == Operation::Responses
        && target.provider.protocol() == Protocol::OpenAiChat
        && !is_about_the_model(&message, json.as_ref())
    {
        let error = ApiError::upstream(status, format!("no Responses API at {provider} ({upstream_code})"))
            .code("upstream_no_responses_api");
        return Failure { error, next: Next::Translate, health: false };
    }
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

/// Whether a 404 names the model rather than the path (OpenAI answers an unknown model with 404 `model_not_found`).
fn is_about_the_model(message: &str, json: Option<&Value>) -> bool {
    let error = json.map(|j| &j["error"]);
    error.is_some_and(|e| e["code"] == "model_not_found" || e["param"] == "model")
        || message.to_ascii_lowercase().contains("model")
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

pub(super) fn malformed(target: &Target, detail: &str) -> ApiError {
    ApiError::upstream(
        StatusCode::BAD_GATEWAY,
        format!("{} sent an answer Switchboard could not read: {detail}", target.provider.id()),
    )
    .code("upstream_malformed")
}

pub(super) fn read_failed(target: &Target, error: &reqwest::Error) -> ApiError {
    ApiError::upstream(
        StatusCode::BAD_GATEWAY,
        format!("{} stopped sending its answer: {}", target.provider.id(), target.provider.redact(&error_chain(error))),
    )
    .code("upstream_broken")
}

/// An error with its causes, e.g. "error sending request: connection refused".
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An attempt's failure in one word, from the error the walk made of it (its code says what happened upstream).
fn failure_kind(error: &ApiError) -> FailureKind {
    match error.code {
        Some("upstream_timeout") => FailureKind::Timeout,
        Some("rate_limit_exceeded") => FailureKind::RateLimited,
        Some("upstream_unreachable") => FailureKind::Unreachable,
        Some("upstream_invalid_request" | "context_length_exceeded") => FailureKind::BadRequest,
        Some("upstream_error") if error.status.is_server_error() => FailureKind::ServerError,
        _ => FailureKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn context_length_errors_are_recognised() {
        assert!(is_context_length_error("This model's maximum context length is 8192 tokens", None));
        assert!(is_context_length_error("prompt is too long: 210000 tokens > 200000 maximum", None));
        assert!(is_context_length_error("x", Some(&json!({"error": {"code": "context_length_exceeded"}}))));
        assert!(is_context_length_error("The input token count (1200000) exceeds the maximum number of tokens", None));
        assert!(!is_context_length_error("temperature must be at most 2", None));
    }

    #[test]
    fn a_missing_path_is_told_from_a_missing_model() {
        let openai_model = json!({"error": {"message": "The model `gpt-9` does not exist or you do not have access \
            to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}});
        assert!(is_about_the_model("The model `gpt-9` does not exist", Some(&openai_model)));
        assert!(is_about_the_model("x", Some(&json!({"error": {"param": "model"}}))));
        assert!(is_about_the_model("The model `m` does not exist.", None), "a compatible server's words");
        for path in ["Invalid URL (POST /v1/responses)", "Not Found", "Cannot POST /v1/responses", ""] {
            assert!(!is_about_the_model(path, None), "{path}");
        }
    }
}
