//! What depends on the client's protocol: decoding its request, encoding answers and stream events for it, its
//! error shape, and — for passthrough streams — reading its events for usage and the end of the stream.

use axum::Json;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::protocol::neutral::{ChatRequest, ChatResponse, StreamEvent, Usage};
use crate::protocol::{Protocol, ProtocolError, SseEvent, anthropic, gemini, openai_chat, responses, sse};
use crate::providers::Provider;

/// The protocol a client speaks to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    OpenAiChat,
    Anthropic,
    Responses,
    /// Gemini CLI and the google-genai SDKs. Whether to stream is the method in the URL, not a body field.
    Gemini {
        stream: bool,
    },
}

impl Client {
    /// Whether an upstream of `protocol` can take this client's body as it is (passthrough).
    pub fn same_as(self, protocol: Protocol) -> bool {
        matches!(
            (self, protocol),
            (Client::OpenAiChat, Protocol::OpenAiChat)
                | (Client::Anthropic, Protocol::Anthropic)
                | (Client::Gemini { .. }, Protocol::Gemini)
                | (Client::Responses, Protocol::Responses)
        )
    }

    /// Whether `provider` takes this client's body as it is: the same protocol, or for a Responses client an
    /// upstream that offers the Responses API itself (OpenAI, by either kind, unless the host turned out to lack it).
    pub fn passes_through_to(self, provider: &dyn Provider) -> bool {
        match self {
            Client::Responses => provider.offers_responses(),
            Client::OpenAiChat | Client::Anthropic | Client::Gemini { .. } => self.same_as(provider.protocol()),
        }
    }

    pub fn decode_request(self, body: &Value) -> Result<ChatRequest, ProtocolError> {
        match self {
            Client::OpenAiChat => openai_chat::decode_request(body),
            Client::Anthropic => anthropic::decode_request(body),
            Client::Responses => responses::decode_request(body),
            Client::Gemini { stream } => gemini::decode_request(body, stream),
        }
    }

    pub fn encode_response(self, response: &ChatResponse) -> Value {
        match self {
            Client::OpenAiChat => openai_chat::encode_response(response),
            Client::Anthropic => anthropic::encode_response(response),
            Client::Responses => responses::encode_response(response),
            Client::Gemini { .. } => gemini::encode_response(response),
        }
    }

    /// The error in this client's shape: OpenAI's `{"error":{…}}`, Anthropic's `{"type":"error","error":{…}}`, or
    /// Google's `{"error":{"code","message","status"}}`.
    pub fn error_response(self, error: ApiError) -> Response {
        match self {
            Client::OpenAiChat | Client::Responses => error.into_response(),
            Client::Anthropic => anthropic_error(error),
            Client::Gemini { .. } => google_error(error),
        }
    }

    /// Usage from a whole passthrough answer's `usage` object (Gemini's `usageMetadata`).
    pub fn usage(self, usage: &Value) -> Option<(Usage, Option<f64>)> {
        match self {
            Client::OpenAiChat => openai_usage(usage),
            Client::Anthropic => anthropic_usage(usage),
            Client::Responses => responses_usage(usage),
            Client::Gemini { .. } => usage.is_object().then(|| (gemini::decode_usage(usage), None)),
        }
    }

    /// Body fields that name something stored at the client's own provider, which only a passthrough there can
    /// honour: a stored response, conversation or prompt at OpenAI, a cache at Google.
    pub fn stored_fields(self) -> &'static [&'static str] {
        match self {
            Client::Responses => &STORED_AT_OPENAI,
            Client::Gemini { .. } => &["cachedContent"],
            Client::OpenAiChat | Client::Anthropic => &[],
        }
    }
}

/// Responses fields that name an object stored at OpenAI (a response, a conversation, a prompt template): such a
/// request can only be passed through to OpenAI.
const STORED_AT_OPENAI: [&str; 3] = ["previous_response_id", "conversation", "prompt"];

/// Anthropic's error shape, with its error types.
pub fn anthropic_error(error: ApiError) -> Response {
    let kind = match error.status.as_u16() {
        400 | 405 | 408 | 422 | 431 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    };
    let body = json!({ "type": "error", "error": { "type": kind, "message": error.message } });
    let mut response = (error.status, Json(body)).into_response();
    if let Some(retry_after) = error.retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, *retry_after);
    }
    response
}

/// Google's error shape, `{"error":{"code","message","status"}}` with its status names; a field the error is about
/// is named in a `BadRequest` detail too, as Google's API names it.
pub fn google_error(error: ApiError) -> Response {
    let code = error.status.as_u16();
    let mut body = gemini::error_body(code, &error.message);
    if let Some(param) = &error.param {
        body["error"]["details"] = json!([{ "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{ "field": param, "description": error.message }] }]);
    }
    let mut response = (error.status, Json(body)).into_response();
    if let Some(retry_after) = error.retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, *retry_after);
    }
    response
}

/// Neutral stream events → the client's SSE events.
pub enum Encoder {
    OpenAiChat(openai_chat::StreamEncoder),
    Anthropic(anthropic::StreamEncoder),
    Responses(responses::StreamEncoder),
    Gemini(gemini::StreamEncoder),
}

impl Encoder {
    pub fn new(client: Client, include_usage: bool) -> Encoder {
        match client {
            Client::OpenAiChat => Encoder::OpenAiChat(openai_chat::StreamEncoder::new(include_usage)),
            Client::Anthropic => Encoder::Anthropic(anthropic::StreamEncoder::new(include_usage)),
            Client::Responses => Encoder::Responses(responses::StreamEncoder::new(include_usage)),
            Client::Gemini { .. } => Encoder::Gemini(gemini::StreamEncoder::new(include_usage)),
        }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<Bytes> {
        frames(match self {
            Encoder::OpenAiChat(e) => e.encode(event),
            Encoder::Anthropic(e) => e.encode(event),
            Encoder::Responses(e) => e.encode(event),
            Encoder::Gemini(e) => e.encode(event),
        })
    }

    pub fn finish(&mut self) -> Vec<Bytes> {
        frames(match self {
            Encoder::OpenAiChat(e) => e.finish(),
            Encoder::Anthropic(e) => e.finish(),
            Encoder::Responses(e) => e.finish(),
            Encoder::Gemini(e) => e.finish(),
        })
    }
}

fn frames(events: Vec<SseEvent>) -> Vec<Bytes> {
    events.iter().map(|e| sse::frame(e.event.as_deref(), &e.data)).collect()
}

/// Reads a passthrough stream's events as they go by: checks each is JSON, keeps the usage, notices the end, and
/// says which events the client should not see (the usage chunk an OpenAI client did not ask for).
pub struct Watch {
    client: Client,
    strip_usage: bool,
    pub usage: Option<(Usage, Option<f64>)>,
    pub done: bool,
    /// The upstream ended its stream with its own error (a Responses `response.failed` or `error` event).
    pub failed: Option<String>,
    /// Responses only: the response as `response.created` announced it, and the last sequence number, so a broken
    /// stream can still end with a `response.failed` that continues the count.
    created: Option<Value>,
    sequence: Option<u64>,
}

impl Watch {
    pub fn new(client: Client, strip_usage: bool) -> Watch {
        Watch { client, strip_usage, usage: None, done: false, failed: None, created: None, sequence: None }
    }

    /// Whether to forward this event; an error when its data is not JSON.
    pub fn inspect(&mut self, event: &[u8]) -> Result<bool, String> {
        let (name, data) = event_fields(event);
        let Some(data) = data else { return Ok(true) };
        if self.client == Client::OpenAiChat && data == "[DONE]" {
            self.done = true;
            return Ok(true);
        }
        let parsed: Value =
            serde_json::from_str(&data).map_err(|e| format!("the upstream sent an unreadable event: {e}"))?;
        match self.client {
            Client::Responses => {
                self.sequence = parsed["sequence_number"].as_u64().or(self.sequence);
                match name.as_deref().or(parsed["type"].as_str()) {
                    // Kept only when it is an object, so the failure written from it is well-formed.
                    Some("response.created") => {
                        self.created = Some(parsed["response"].clone()).filter(Value::is_object);
                    }
                    // Every terminal event carries the final response with its usage.
                    Some(end @ ("response.completed" | "response.incomplete" | "response.failed")) => {
                        self.done = true;
                        self.usage = responses_usage(&parsed["response"]["usage"]);
                        if end == "response.failed" {
                            let message = parsed["response"]["error"]["message"].as_str();
                            self.failed = Some(message.unwrap_or("the upstream's response failed").to_owned());
                        }
                    }
                    Some("error") => {
                        self.done = true;
                        self.failed = Some(parsed["message"].as_str().unwrap_or("the upstream failed").to_owned());
                    }
                    _ => {}
                }
            }
            Client::OpenAiChat => {
                if let Some(found) = parsed.as_object().and_then(openai_chat::chunk_usage).and_then(openai_usage) {
                    self.usage = Some(found);
                    if self.strip_usage && parsed["choices"].as_array().is_some_and(Vec::is_empty) {
                        return Ok(false);
                    }
                }
            }
            Client::Anthropic => match name.as_deref().or(parsed["type"].as_str()) {
                Some("message_start") => self.usage = anthropic_usage(&parsed["message"]["usage"]),
                Some("message_delta") => {
                    // The delta's usage carries the output count, and sometimes the input side again.
                    let (mut usage, _) = self.usage.unwrap_or_default();
                    if let Some(delta) = parsed["usage"].as_object() {
                        anthropic::merge_delta_usage(&mut usage, delta);
                    }
                    self.usage = Some((usage, None));
                }
                Some("message_stop") => self.done = true,
                _ => {}
            },
            // Gemini's stream has no terminator: it ends with the chunk that says why it finished (or an error).
            Client::Gemini { .. } => {
                if let Some(error) = parsed.get("error") {
                    self.done = true;
                    self.failed = Some(error["message"].as_str().unwrap_or("the upstream failed").to_owned());
                }
                if parsed["usageMetadata"].is_object() {
                    self.usage = Some((gemini::decode_usage(&parsed["usageMetadata"]), None));
                }
                let finished =
                    parsed["candidates"].as_array().is_some_and(|c| c.iter().any(|c| c["finishReason"].is_string()));
                if finished || parsed["promptFeedback"]["blockReason"].is_string() {
                    self.done = true;
                }
            }
        }
        Ok(true)
    }

    /// The events that end a broken stream in-band: an error, and the protocol's terminator.
    pub fn broken(&self, message: &str) -> Vec<Bytes> {
        match self.client {
            Client::OpenAiChat => {
                let error = json!({ "error": { "message": message, "type": "upstream_error",
                    "code": "upstream_stream_broken", "param": null } });
                vec![sse::frame(None, &error.to_string()), sse::done()]
            }
            // Responses streams end on a terminal event: the response the upstream began, failed; or, when it
            // never began one, an `error` event. Either way the sequence numbers keep counting.
            Client::Responses => {
                let sequence = self.sequence.map_or(0, |n| n.saturating_add(1));
                match &self.created {
                    Some(created) => {
                        let mut response = created.clone();
                        response["status"] = json!("failed");
                        response["error"] = json!({ "code": "server_error", "message": message });
                        let event = json!({ "type": "response.failed", "sequence_number": sequence,
                            "response": response });
                        vec![sse::frame(Some("response.failed"), &event.to_string())]
                    }
                    None => {
                        let event = json!({ "type": "error", "sequence_number": sequence,
                            "code": "server_error", "message": message, "param": null });
                        vec![sse::frame(Some("error"), &event.to_string())]
                    }
                }
            }
            Client::Anthropic => {
                let error = json!({ "type": "error", "error": { "type": "api_error", "message": message } });
                vec![sse::frame(Some("error"), &error.to_string())]
            }
            Client::Gemini { .. } => vec![sse::frame(None, &gemini::error_body(502, message).to_string())],
        }
    }
}

/// Usage (and OpenRouter's reported cost) from an OpenAI-shaped `usage` object: the chat spoke's reading, so a
/// passthrough answer is counted exactly as a translated one.
pub fn openai_usage(usage: &Value) -> Option<(Usage, Option<f64>)> {
    openai_chat::usage_of(usage)
}

/// Usage from a Responses `usage` object (a whole response's, or the final one in a stream's terminal event).
pub fn responses_usage(usage: &Value) -> Option<(Usage, Option<f64>)> {
    responses::usage_of(usage).map(|u| (u, None))
}

/// Usage from an Anthropic `usage` object, whose `input_tokens` leave out cache reads and writes.
pub fn anthropic_usage(usage: &Value) -> Option<(Usage, Option<f64>)> {
    anthropic::usage_of(usage).map(|u| (u, None))
}

/// The `event:` name and the `data:` payload (its lines joined) of one raw SSE event.
pub fn event_fields(event: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(event) else { return (None, None) };
    let mut name = None;
    let mut data: Option<String> = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
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
    (name, data)
}

/// Cuts a byte stream into whole SSE events (each with its blank-line terminator), keeping the bytes as sent.
#[derive(Default)]
pub struct EventSplitter {
    buffer: BytesMut,
    /// How far the buffer is known to hold no terminator, so a large event arriving in many small chunks is
    /// scanned once, not once per chunk (found by the `sse_stream` fuzz target: quadratic in the event's size).
    scanned: usize,
}

impl EventSplitter {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        // A terminator may straddle the old end: back up by its longest length less one.
        let mut from = self.scanned.saturating_sub(3);
        while let Some(end) = event_end(&self.buffer[from..]).map(|end| from + end) {
            events.push(self.buffer.split_to(end).freeze());
            from = 0;
        }
        self.scanned = self.buffer.len();
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
    fn splitter_finds_terminators_across_chunks_of_any_size() {
        let stream: &[u8] = b"data: a\r\n\r\ndata: bb\n\nevent: x\rdata: c\r\rdata: d\n\n";
        let whole = EventSplitter::default().push(stream);
        assert_eq!(whole.len(), 4);
        for step in 1..stream.len() {
            let mut splitter = EventSplitter::default();
            let chunked: Vec<Bytes> = stream.chunks(step).flat_map(|chunk| splitter.push(chunk)).collect();
            assert_eq!(chunked, whole, "chunks of {step}");
        }
    }

    #[test]
    fn event_fields_join_lines() {
        assert_eq!(event_fields(b"event: x\ndata: a\ndata: b\n\n"), (Some("x".into()), Some("a\nb".into())));
        assert_eq!(event_fields(b"data:[DONE]\n\n").1.as_deref(), Some("[DONE]"));
        assert_eq!(event_fields(b": comment\n\n"), (None, None));
    }

    #[test]
    fn usage_reads_openai_and_openrouter_fields() {
        let usage = json!({"prompt_tokens": 12, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 3}, "cost": 0.0012});
        let (u, cost) = openai_usage(&usage).unwrap();
        assert_eq!(u, Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 3 });
        assert_eq!(cost, Some(0.0012));
        assert!(openai_usage(&Value::Null).is_none());
    }

    #[test]
    fn anthropic_streams_are_watched_for_usage_and_their_end() {
        let mut watch = Watch::new(Client::Anthropic, false);
        let start =
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":8,\
            \"cache_read_input_tokens\":4,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n";
        assert_eq!(watch.inspect(start), Ok(true));
        let delta = b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\n";
        assert_eq!(watch.inspect(delta), Ok(true));
        assert!(!watch.done);
        assert_eq!(watch.inspect(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), Ok(true));
        assert!(watch.done);
        assert_eq!(
            watch.usage.unwrap().0,
            Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 0 }
        );
        assert!(watch.inspect(b"data: {not json\n\n").is_err());
    }

    /// A passthrough answer is counted as a translated one would be: DeepSeek's cache hits, OpenRouter's writes,
    /// Anthropic's hour-long writes from `message_start` and a `message_delta` that repeats the prompt's counts.
    #[test]
    fn passthrough_reads_every_token_class() {
        let deepseek = json!({"prompt_tokens": 20, "prompt_cache_hit_tokens": 5, "prompt_cache_miss_tokens": 15,
            "completion_tokens": 4, "completion_tokens_details": {"reasoning_tokens": 1}});
        let want = Usage { input: 20, cached_input: 5, output: 4, reasoning: 1, ..Usage::default() };
        assert_eq!(Client::OpenAiChat.usage(&deepseek), Some((want, None)));
        let openrouter = json!({"prompt_tokens": 20, "cost": 0.25, "prompt_tokens_details": {"cache_write_tokens": 6}});
        let want = Usage { input: 20, cache_write: 6, ..Usage::default() };
        assert_eq!(Client::OpenAiChat.usage(&openrouter), Some((want, Some(0.25))));

        let mut watch = Watch::new(Client::Anthropic, false);
        let start = json!({"type": "message_start", "message": {"usage": {"input_tokens": 10,
            "cache_creation_input_tokens": 30, "cache_read_input_tokens": 50,
            "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}, "output_tokens": 1}}});
        let delta = json!({"type": "message_delta", "usage": {"input_tokens": 10, "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 50, "output_tokens": 9}});
        for (name, data) in [("message_start", start), ("message_delta", delta)] {
            assert_eq!(watch.inspect(format!("event: {name}\ndata: {data}\n\n").as_bytes()), Ok(true));
        }
        let want = Usage { input: 90, cached_input: 50, cache_write: 30, cache_write_1h: 20, output: 9, reasoning: 0 };
        assert_eq!(watch.usage, Some((want, None)));
    }

    /// Moonshot streams its usage inside the finishing choice rather than on a chunk of its own.
    #[test]
    fn usage_inside_the_finishing_choice_is_counted() {
        let mut watch = Watch::new(Client::OpenAiChat, true);
        let finish = b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\",\
            \"usage\":{\"prompt_tokens\":30,\"completion_tokens\":3,\"cached_tokens\":10}}]}\n\n";
        assert_eq!(watch.inspect(finish), Ok(true), "a chunk with choices is always forwarded");
        let want = Usage { input: 30, cached_input: 10, output: 3, ..Usage::default() };
        assert_eq!(watch.usage, Some((want, None)));
    }

    #[test]
    fn openai_usage_chunks_are_hidden_from_clients_that_did_not_ask() {
        let mut watch = Watch::new(Client::OpenAiChat, true);
        let usage = b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n";
        assert_eq!(watch.inspect(usage), Ok(false));
        assert_eq!(
            watch.inspect(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n"),
            Ok(true)
        );
        assert_eq!(watch.inspect(b"data: [DONE]\n\n"), Ok(true));
        assert!(watch.done && watch.usage.is_some());
    }

    /// One named Responses event as OpenAI frames it.
    fn named(name: &str, data: Value) -> Vec<u8> {
        format!("event: {name}\ndata: {data}\n\n").into_bytes()
    }

    #[test]
    fn responses_streams_are_watched_for_the_final_usage_and_their_end() {
        let mut watch = Watch::new(Client::Responses, false);
        let created = json!({"type": "response.created", "sequence_number": 0,
            "response": {"id": "resp_1", "object": "response", "status": "in_progress", "usage": null}});
        assert_eq!(watch.inspect(&named("response.created", created)), Ok(true));
        let delta = json!({"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hi"});
        assert_eq!(watch.inspect(&named("response.output_text.delta", delta)), Ok(true));
        assert!(!watch.done && watch.usage.is_none());
        let completed = json!({"type": "response.completed", "sequence_number": 2, "response": {"id": "resp_1",
            "status": "completed", "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 19}}});
        assert_eq!(watch.inspect(&named("response.completed", completed)), Ok(true));
        assert!(watch.done && watch.failed.is_none());
        assert_eq!(
            watch.usage.unwrap().0,
            Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 3 }
        );
    }

    #[test]
    fn a_broken_responses_stream_ends_with_its_own_response_failed() {
        let mut watch = Watch::new(Client::Responses, false);
        let created = json!({"type": "response.created", "sequence_number": 0,
            "response": {"id": "resp_1", "object": "response", "status": "in_progress"}});
        watch.inspect(&named("response.created", created)).unwrap();
        let delta = json!({"type": "response.output_text.delta", "sequence_number": 5, "delta": "Hi"});
        watch.inspect(&named("response.output_text.delta", delta)).unwrap();
        let frames = watch.broken("the stream broke");
        assert_eq!(frames.len(), 1);
        let (name, data) = event_fields(&frames[0]);
        assert_eq!(name.as_deref(), Some("response.failed"));
        let data: Value = serde_json::from_str(&data.unwrap()).unwrap();
        assert_eq!(data["sequence_number"], 6, "the count goes on");
        assert_eq!(data["response"]["id"], "resp_1");
        assert_eq!(data["response"]["status"], "failed");
        assert_eq!(data["response"]["error"]["message"], "the stream broke");

        // A created response that is not an object, or a sequence at its end, still makes a well-formed ending.
        let mut odd = Watch::new(Client::Responses, false);
        let created = json!({"type": "response.created", "sequence_number": u64::MAX, "response": 5});
        odd.inspect(&named("response.created", created)).unwrap();
        let (name, data) = event_fields(&odd.broken("x")[0]);
        assert_eq!(name.as_deref(), Some("error"));
        assert_eq!(serde_json::from_str::<Value>(&data.unwrap()).unwrap()["sequence_number"], u64::MAX);

        // Nothing began: a plain `error` event.
        let (name, _) = event_fields(&Watch::new(Client::Responses, false).broken("x")[0]);
        assert_eq!(name.as_deref(), Some("error"));
    }

    #[test]
    fn an_upstream_failed_response_is_noted_for_the_ledger() {
        let mut watch = Watch::new(Client::Responses, false);
        let failed = json!({"type": "response.failed", "sequence_number": 3, "response": {"status": "failed",
            "error": {"code": "server_error", "message": "The model had an error"}, "usage": null}});
        assert_eq!(watch.inspect(&named("response.failed", failed)), Ok(true));
        assert!(watch.done);
        assert_eq!(watch.failed.as_deref(), Some("The model had an error"));
        assert!(watch.usage.is_none());
    }

    #[test]
    fn whole_responses_answers_give_their_usage() {
        let usage = json!({"input_tokens": 30, "input_tokens_details": {"cached_tokens": 10}, "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 35});
        let (u, cost) = Client::Responses.usage(&usage).unwrap();
        assert_eq!(
            u,
            Usage { input: 30, cached_input: 10, cache_write: 0, cache_write_1h: 0, output: 5, reasoning: 2 }
        );
        assert_eq!(cost, None);
        assert!(Client::Responses.usage(&json!({"prompt_tokens": 3})).is_none(), "chat usage is not Responses usage");
    }
}
