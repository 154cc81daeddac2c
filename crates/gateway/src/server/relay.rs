//! The relay: one client request → one upstream call → the answer back, streamed chunk by chunk.
//!
//! Same protocol in and out is **passthrough**: the body goes upstream with only `model` rewritten (and usage
//! requested on streams), and SSE events come back byte for byte. Across protocols the body is decoded to the
//! neutral form and encoded for the upstream, and the answer (or each stream event) the other way.
//!
//! Streams are relayed by a task that reads the upstream and writes the client's body through a small channel; it
//! stops the moment the client leaves (dropping the upstream request with it) and always ends the client's stream
//! well-formed, with an in-band error event if the upstream failed part-way.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::apps::App;
use crate::error::ApiError;
use crate::protocol::neutral::{ChatRequest, StreamEvent, Usage};
use crate::protocol::{self, SseEvent, openai_chat, sse};
use crate::providers::{Call, Operation, UpstreamError};
use crate::routing::{Resolution, Target};

/// How many encoded chunks may wait for a slow client before the relay stops reading the upstream.
const STREAM_BUFFER: usize = 32;
/// The most of an upstream error body that is read (and shown).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Who asked for what: carried from the route to the record of the request.
pub struct Ctx {
    pub app: App,
    pub client_model: String,
    pub resolution: Resolution,
    pub started: Instant,
}

/// What happened, for the record. The ledger takes these over with the Ledger issue; until then they are logged.
#[derive(Debug)]
#[allow(dead_code, reason = "read through Debug until the ledger takes outcomes over")]
struct Outcome<'a> {
    app: &'a str,
    model: &'a str,
    target: String,
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

/// The first target of the resolution, or why there is none.
pub fn first_target(ctx: &Ctx) -> Result<Target, ApiError> {
    ctx.resolution.targets.first().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_error",
            format!(
                "alias {:?} has no target whose provider is configured; edit the alias in Aliases",
                ctx.client_model
            ),
        )
        .code("no_available_target")
    })
}

/// OpenAI-protocol request → OpenAI-compatible upstream: forwarded with only `model` rewritten.
pub async fn passthrough(
    ctx: Ctx,
    target: Target,
    op: Operation,
    mut body: Value,
    stream: bool,
    client_wants_usage: bool,
) -> Result<Response, ApiError> {
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
    let strip_usage = ask_usage && !client_wants_usage;
    let bytes = Bytes::from(serde_json::to_vec(&body).map_err(|e| ApiError::invalid(e.to_string(), None))?);
    let call = Call { op, model: &target.model, body: bytes, stream, forward_headers: Vec::new() };
    let response = send(&target, call).await?;

    if !stream {
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = response.bytes().await.map_err(|e| read_failed(&target, &e))?;
        let parsed = serde_json::from_slice::<Value>(&bytes).map_err(|e| malformed(&target, &e.to_string()))?;
        let usage = openai_usage(&parsed["usage"]);
        record(Outcome {
            app: &ctx.app.name,
            model: &ctx.client_model,
            target: target.label(),
            status: status.as_u16(),
            stream: false,
            usage: usage.map(|u| u.0),
            cost_usd: usage.and_then(|u| u.1),
            latency: ctx.started.elapsed(),
            first_byte: None,
            error: None,
        });
        let mut reply = Response::new(Body::from(bytes));
        reply
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")));
        return Ok(reply);
    }

    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    tokio::spawn(async move {
        let mut upstream = response.bytes_stream();
        let mut splitter = EventSplitter::default();
        let mut usage = None;
        let mut first_byte = None;
        let mut saw_done = false;
        let mut error = None;
        'relay: loop {
            let chunk = tokio::select! {
                chunk = upstream.next() => chunk,
                () = tx.closed() => { error = Some("client went away".to_owned()); break 'relay; }
            };
            let chunk = match chunk {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    error = Some(format!("the upstream stream broke: {e}"));
                    break;
                }
                None => break,
            };
            first_byte.get_or_insert_with(|| ctx.started.elapsed());
            for event in splitter.push(&chunk) {
                let data = event_data(&event);
                match data.as_deref() {
                    None => {}
                    Some("[DONE]") => saw_done = true,
                    Some(data) if data.contains("\"usage\"") => match serde_json::from_str::<Value>(data) {
                        Ok(parsed) => {
                            if let Some(found) = openai_usage(&parsed["usage"]) {
                                usage = Some(found);
                                let usage_only = parsed["choices"].as_array().is_some_and(Vec::is_empty);
                                if strip_usage && usage_only {
                                    continue;
                                }
                            }
                        }
                        Err(e) => {
                            error = Some(format!("the upstream sent an unreadable event: {e}"));
                            break 'relay;
                        }
                    },
                    // Bytes pass through unchanged, but only if they are JSON: garbage ends the stream with an error.
                    Some(data) => {
                        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(data) {
                            error = Some(format!("the upstream sent an unreadable event: {e}"));
                            break 'relay;
                        }
                    }
                }
                if tx.send(event).await.is_err() {
                    error = Some("client went away".to_owned());
                    break 'relay;
                }
            }
        }
        if error.as_deref() != Some("client went away") && !saw_done {
            // The upstream ended without its terminator: tell the client in-band, then end the stream properly.
            let message = error.clone().unwrap_or_else(|| "the upstream ended the stream early".to_owned());
            let _ = tx.send(sse::frame(None, &openai_error_event(&target, &message))).await;
            let _ = tx.send(sse::done()).await;
        }
        record(Outcome {
            app: &ctx.app.name,
            model: &ctx.client_model,
            target: target.label(),
            status: 200,
            stream: true,
            usage: usage.map(|u| u.0),
            cost_usd: usage.and_then(|u| u.1),
            latency: ctx.started.elapsed(),
            first_byte,
            error,
        });
    });
    Ok(sse_response(rx))
}

/// OpenAI chat request → Anthropic or Gemini upstream, through the neutral form.
pub async fn translated(ctx: Ctx, target: Target, mut request: ChatRequest) -> Result<Response, ApiError> {
    let upstream_protocol = target.provider.protocol();
    request.model = target.model.clone();
    let body = protocol::encode_request(upstream_protocol, &request);
    let bytes = Bytes::from(serde_json::to_vec(&body).map_err(|e| ApiError::invalid(e.to_string(), None))?);
    let forward_headers = Vec::new();
    let call = Call { op: Operation::Chat, model: &target.model, body: bytes, stream: request.stream, forward_headers };
    let response = send(&target, call).await?;

    if !request.stream {
        let bytes = response.bytes().await.map_err(|e| read_failed(&target, &e))?;
        let decoded = serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|json| protocol::decode_response(upstream_protocol, &json).map_err(|e| e.message))
            .map_err(|detail| malformed(&target, &detail))?;
        record(Outcome {
            app: &ctx.app.name,
            model: &ctx.client_model,
            target: target.label(),
            status: 200,
            stream: false,
            usage: decoded.usage,
            cost_usd: decoded.cost_usd,
            latency: ctx.started.elapsed(),
            first_byte: None,
            error: None,
        });
        return Ok(axum::Json(openai_chat::encode_response(&decoded)).into_response());
    }

    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let include_usage = request.stream_usage;
    tokio::spawn(async move {
        let mut upstream = response.bytes_stream().eventsource();
        let mut decoder = protocol::StreamDecoder::new(upstream_protocol);
        let mut encoder = openai_chat::StreamEncoder::new(include_usage);
        let mut usage = None;
        let mut first_byte = None;
        let mut error = None;
        let mut client_gone = false;
        'relay: loop {
            let item = tokio::select! {
                item = upstream.next() => item,
                () = tx.closed() => { client_gone = true; break 'relay; }
            };
            let (events, over) = match item {
                Some(Ok(event)) => {
                    first_byte.get_or_insert_with(|| ctx.started.elapsed());
                    let event = SseEvent {
                        event: Some(event.event).filter(|name| !name.is_empty() && name != "message"),
                        data: event.data,
                    };
                    match decoder.decode(&event) {
                        Ok(events) => (events, false),
                        Err(e) => (vec![upstream_broke(&mut error, format!("it sent an unreadable event: {e}"))], true),
                    }
                }
                Some(Err(e)) => (vec![upstream_broke(&mut error, format!("the stream broke: {e}"))], true),
                None => (decoder.finish(), true),
            };
            for event in &events {
                match event {
                    StreamEvent::Usage { usage: u, cost_usd } => usage = Some((*u, *cost_usd)),
                    StreamEvent::Error { message, .. } => error = Some(message.clone()),
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
        if !client_gone {
            for frame in encoder.finish() {
                let _ = tx.send(sse::frame(frame.event.as_deref(), &frame.data)).await;
            }
        } else {
            error = Some("client went away".to_owned());
        }
        record(Outcome {
            app: &ctx.app.name,
            model: &ctx.client_model,
            target: target.label(),
            status: 200,
            stream: true,
            usage: usage.map(|u| u.0),
            cost_usd: usage.and_then(|u| u.1),
            latency: ctx.started.elapsed(),
            first_byte,
            error,
        });
    });
    Ok(sse_response(rx))
}

fn upstream_broke(error: &mut Option<String>, message: String) -> StreamEvent {
    *error = Some(message.clone());
    StreamEvent::Error { message: format!("the upstream failed mid-stream: {message}"), kind: "upstream_error".into() }
}

fn sse_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let mut rx = rx;
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|b| b.map(Ok::<_, std::io::Error>)));
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Sends the call; a failure to connect, a timeout, or a non-2xx answer becomes the client's error.
async fn send(target: &Target, call: Call<'_>) -> Result<reqwest::Response, ApiError> {
    let provider = target.provider.id().to_owned();
    let request = target.provider.build(call).map_err(|e| match e {
        UpstreamError::Unsupported { .. } => {
            ApiError::invalid(e.to_string(), Some("model")).code("unsupported_operation")
        }
        UpstreamError::MissingKey { .. } => {
            ApiError::upstream(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).code("provider_key_missing")
        }
    })?;
    let response = request.send().await.map_err(|e| {
        let detail = target.provider.redact(&error_chain(&e));
        if e.is_timeout() {
            ApiError::upstream(StatusCode::GATEWAY_TIMEOUT, format!("{provider} did not answer in time: {detail}"))
                .code("upstream_timeout")
        } else {
            ApiError::upstream(StatusCode::BAD_GATEWAY, format!("could not reach {provider}: {detail}"))
                .code("upstream_unreachable")
        }
    })?;
    if response.status().is_success() {
        return Ok(response);
    }
    Err(upstream_status_error(target, response).await)
}

/// The upstream's own error, passed on with its status and message (the provider's key scrubbed). A 401/403 from
/// the upstream is about Switchboard's key for it, not the client's token, so it becomes a 502 that says so.
async fn upstream_status_error(target: &Target, response: reqwest::Response) -> ApiError {
    let status = response.status();
    let upstream_code = status.as_u16();
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
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
    let (status, kind, code) = match status.as_u16() {
        401 | 403 => (StatusCode::BAD_GATEWAY, "upstream_error", "upstream_auth_failed"),
        400 | 404 | 409 | 413 | 422 => (status, "invalid_request_error", "upstream_invalid_request"),
        429 => (status, "rate_limit_error", "rate_limit_exceeded"),
        _ => (
            if status.is_server_error() { status } else { StatusCode::BAD_GATEWAY },
            "upstream_error",
            "upstream_error",
        ),
    };
    let hint = match code {
        "upstream_auth_failed" => format!(" — check {provider}'s key in Providers"),
        _ => String::new(),
    };
    let mut error = ApiError::new(
        status,
        kind,
        format!("{provider} answered {} for {}: {message}{hint}", upstream_code, target.model),
    )
    .code(code);
    error.retry_after = retry_after.map(Box::new);
    error
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
    json!({ "error": { "message": target.provider.redact(message), "type": "upstream_error", "code": "upstream_stream_broken", "param": null } }).to_string()
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
}
