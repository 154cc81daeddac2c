//! The Anthropic Messages wire format: `message` objects, the named SSE events (`message_start`,
//! `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`),
//! token counting, the model list, and `{"type":"error","error":{"type","message"},"request_id"}` errors.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::script::{self, Content, Fault, Finish, ReadTurn, Reply, SIGNATURE, STOP_SEQUENCE};
use super::wire::{self, Frame, J, SseStyle, obj};
use super::{FakeKind, Incoming, Key, Shared, joined_text, judge_key};

const SSE: SseStyle = SseStyle {
    content_type: "text/event-stream; charset=utf-8",
    malformed: "event: content_block_delta\ndata: {not json\n\n",
    failure: |_| {
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
            .to_owned()
    },
};
const REQUEST_ID: &str = "req_fake0000000000000000";
const MODELS: [(&str, &str, &str); 2] = [
    ("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z"),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found_error", "Not found") })
}

/// `x-api-key` and `anthropic-version`, refused the way Anthropic refuses them.
pub(super) fn check_auth(headers: &HeaderMap) -> Option<Response> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    match judge_key(key) {
        Key::Missing => {
            return Some(error(StatusCode::UNAUTHORIZED, "authentication_error", "x-api-key header is required"));
        }
        Key::Refused => return Some(error(StatusCode::UNAUTHORIZED, "authentication_error", "invalid x-api-key")),
        Key::Accepted => {}
    }
    if headers.get("anthropic-version").is_none_or(|v| v.is_empty()) {
        return Some(error(StatusCode::BAD_REQUEST, "invalid_request_error", "anthropic-version: header is required"));
    }
    None
}

/// The request's JSON body and model, or the message of the 400 Anthropic would answer.
fn parse(incoming: &Incoming) -> Result<(&Value, &str), &'static str> {
    let body = incoming.json.as_ref().filter(|body| body.is_object()).ok_or("The request body is not valid JSON.")?;
    let model = incoming.model.as_deref().ok_or("model: Field required")?;
    Ok((body, model))
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request_error", message)
}

async fn messages(State(shared): State<Shared>, Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let (body, model) = match parse(&incoming) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault);
    }
    script::before_headers(scenario.delivery).await;
    let reply = match scenario.content {
        Content::ReadFile => script::read_file(FakeKind::Anthropic, model, &read_turn(body)),
        Content::Agent => script::agent(FakeKind::Anthropic, model, &ask(body)),
        content => script::reply(FakeKind::Anthropic, model, content, &last_user_text(body)),
    };
    let mut response = if body["stream"] == true {
        wire::sse(&SSE, frames(model, &reply), scenario.delivery, shared.shutdown)
    } else {
        wire::json(StatusCode::OK, &message(model, &reply), scenario.delivery, shared.shutdown).await
    };
    response.headers_mut().insert("request-id", HeaderValue::from_static(REQUEST_ID));
    response
}

fn message(model: &str, reply: &Reply) -> J {
    let mut content = Vec::new();
    if let Some(thinking) = reply.reasoning {
        content.push(obj! { "type": "thinking", "thinking": thinking, "signature": SIGNATURE });
    }
    if let Some(text) = &reply.text {
        content.push(obj! { "type": "text", "text": text });
    }
    for call in &reply.tool_calls {
        content.push(
            obj! { "type": "tool_use", "id": call.id("toolu"), "name": &call.name, "input": call.arguments_json() },
        );
    }
    obj! {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(reply.finish),
        "stop_sequence": stop_sequence(reply.finish),
        "usage": usage(reply, reply.usage.output),
    }
}

/// The event stream of a message: `message_start`, each block (start, deltas, stop) with a `ping` after the first
/// start, `message_delta`, `message_stop`.
fn frames(model: &str, reply: &Reply) -> Vec<Frame> {
    let start = obj! {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": Vec::<J>::new(),
        "stop_reason": J::Null,
        "stop_sequence": J::Null,
        "usage": usage(reply, 1),
    };
    let mut frames = vec![event("message_start", obj! { "type": "message_start", "message": start }, false)];
    // (block, deltas) in order.
    let mut blocks: Vec<(J, Vec<J>)> = Vec::new();
    if let Some(thinking) = reply.reasoning {
        let mut deltas: Vec<J> = script::pieces(thinking)
            .into_iter()
            .map(|piece| obj! { "type": "thinking_delta", "thinking": piece })
            .collect();
        deltas.push(obj! { "type": "signature_delta", "signature": SIGNATURE });
        blocks.push((obj! { "type": "thinking", "thinking": "" }, deltas));
    }
    if let Some(text) = &reply.text {
        let deltas =
            script::pieces(text).into_iter().map(|piece| obj! { "type": "text_delta", "text": piece }).collect();
        blocks.push((obj! { "type": "text", "text": "" }, deltas));
    }
    for call in &reply.tool_calls {
        let deltas = script::fragments(&call.arguments, 3)
            .into_iter()
            .map(|piece| obj! { "type": "input_json_delta", "partial_json": piece })
            .collect();
        let block = obj! { "type": "tool_use", "id": call.id("toolu"), "name": &call.name, "input": obj! {} };
        blocks.push((block, deltas));
    }
    for (index, (block, deltas)) in blocks.into_iter().enumerate() {
        let start = obj! { "type": "content_block_start", "index": index, "content_block": block };
        frames.push(event("content_block_start", start, false));
        if index == 0 {
            frames.push(event("ping", obj! { "type": "ping" }, false));
        }
        for delta in deltas {
            let delta = obj! { "type": "content_block_delta", "index": index, "delta": delta };
            frames.push(event("content_block_delta", delta, true));
        }
        frames.push(event("content_block_stop", obj! { "type": "content_block_stop", "index": index }, false));
    }
    let delta = obj! {
        "type": "message_delta",
        "delta": obj! { "stop_reason": stop_reason(reply.finish), "stop_sequence": stop_sequence(reply.finish) },
        "usage": obj! { "output_tokens": reply.usage.output },
    };
    frames.push(event("message_delta", delta, false));
    frames.push(event("message_stop", obj! { "type": "message_stop" }, false));
    frames
}

/// `{"input_tokens": 12}`: the same prompt size every reply reports.
async fn count_tokens(Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let model = match parse(&incoming) {
        Ok((_, model)) => model,
        Err(message) => return bad_request(message),
    };
    if let Some(fault) = incoming.scenario(model).fault {
        return fault_response(fault);
    }
    let usage = script::reply(FakeKind::Anthropic, model, Content::Text, "").usage;
    Json(obj! { "input_tokens": usage.input }).into_response()
}

async fn models() -> Json<J> {
    let data: Vec<J> = MODELS.iter().map(|m| model_object(*m)).collect();
    Json(obj! { "data": data, "has_more": false, "first_id": MODELS[0].0, "last_id": MODELS[MODELS.len() - 1].0 })
}

async fn model(Path(id): Path<String>) -> Response {
    match MODELS.iter().find(|m| m.0 == id) {
        Some(m) => Json(model_object(*m)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found_error", &format!("model: {id}")),
    }
}

fn model_object((id, display_name, created_at): (&str, &str, &str)) -> J {
    obj! { "type": "model", "id": id, "display_name": display_name, "created_at": created_at }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "Internal server error"),
        Fault::BadRequest => {
            error(StatusCode::BAD_REQUEST, "invalid_request_error", "messages: the fake upstream refuses this request")
        }
        Fault::Overloaded => {
            let status = StatusCode::from_u16(529).expect("529 is a valid status code");
            error(status, "overloaded_error", "Overloaded")
        }
        Fault::RateLimit => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 5 requests per minute.",
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Fault::Garbage => wire::garbage(),
        Fault::ContextLength => error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
        ),
    }
}

/// `{"type":"error","error":{"type","message"},"request_id"}`, with the `request-id` header.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = obj! { "type": "error", "error": obj! { "type": kind, "message": message }, "request_id": REQUEST_ID };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert("request-id", HeaderValue::from_static(REQUEST_ID));
    response
}

fn event(name: &str, data: J, content: bool) -> Frame {
    let mut bytes = format!("event: {name}\ndata: ").into_bytes();
    bytes.extend_from_slice(&data.to_bytes());
    bytes.extend_from_slice(b"\n\n");
    Frame::new(bytes, content)
}

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::StopSequence => "stop_sequence",
        Finish::ToolCalls => "tool_use",
    }
}

fn stop_sequence(finish: Finish) -> Option<&'static str> {
    (finish == Finish::StopSequence).then_some(STOP_SEQUENCE)
}

/// Anthropic counts cached input apart: `input_tokens` is what was neither read from nor written to the cache, and
/// the writes are split by lifetime in `cache_creation`
/// (https://docs.claude.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance).
fn usage(reply: &Reply, output: u32) -> J {
    let usage = reply.usage;
    obj! {
        "input_tokens": usage.input - usage.cached - usage.cache_write,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached,
        "cache_creation": obj! {
            "ephemeral_5m_input_tokens": usage.cache_write - usage.cache_write_1h,
            "ephemeral_1h_input_tokens": usage.cache_write_1h,
        },
        "output_tokens": output,
    }
}

/// What an `agent` model reads from a messages body.
fn ask(body: &Value) -> script::Ask {
    let last = body["messages"].as_array().and_then(|m| m.last());
    let tool_result = last.and_then(|m| m["content"].as_array()).and_then(|blocks| {
        let result = blocks.iter().find(|b| b["type"] == "tool_result")?;
        Some(match &result["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => joined_text(parts, |p| p["text"].as_str()),
            _ => String::new(),
        })
    });
    script::Ask {
        user_text: last_user_text(body),
        offers_tool: body["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["name"].as_str() == Some(script::AGENT_TOOL))),
        tool_result,
        thinking: matches!(body["thinking"]["type"].as_str(), Some("enabled" | "adaptive")),
    }
}

/// The last user message's text: a string, or its `text` blocks joined.
fn last_user_text(body: &Value) -> String {
    let Some(message) = body["messages"].as_array().and_then(|m| m.iter().rev().find(|m| m["role"] == "user")) else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => {
            joined_text(blocks, |block| (block["type"] == "text").then(|| block["text"].as_str()).flatten())
        }
        _ => String::new(),
    }
}

/// The tools offered and, when the last message is the user's tool results, their text.
fn read_turn(body: &Value) -> ReadTurn {
    let tools = body["tools"].as_array().into_iter().flatten();
    let tools = tools.filter_map(|tool| Some((tool["name"].as_str()?.to_owned(), tool["input_schema"].clone())));
    let last = body["messages"].as_array().and_then(|messages| messages.last());
    let results: Vec<String> = last
        .filter(|message| message["role"] == "user")
        .and_then(|message| message["content"].as_array())
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "tool_result")
        .map(|block| match &block["content"] {
            Value::String(text) => text.clone(),
            Value::Array(blocks) => joined_text(blocks, |block| block["text"].as_str()),
            _ => String::new(),
        })
        .collect();
    ReadTurn {
        user_text: last_user_text(body),
        tools: tools.collect(),
        tool_result: (!results.is_empty()).then(|| results.join(" ")),
    }
}
