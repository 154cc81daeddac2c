//! The OpenAI wire format: chat completions (`chat.completion`, `chat.completion.chunk` + `data: [DONE]`), legacy
//! text completions, embeddings, the model list, and `{"error":{"message","type","param","code"}}` errors. The
//! Responses API (`/v1/responses`) is in `responses.rs`.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::script::{self, Content, Fault, Finish, Host, ReadTurn, Reply, Usage};
use super::wire::{self, Frame, J, SseStyle, obj};
use super::{FakeKind, Incoming, Key, Shared, joined_text, judge_key};

/// Every object the fake makes has the same creation time, so whole bodies can be compared.
pub(super) const CREATED: i64 = 1_700_000_000;
const FINGERPRINT: &str = "fp_fake";
pub(super) const SSE: SseStyle = SseStyle {
    content_type: "text/event-stream; charset=utf-8",
    malformed: "data: {not json\n\n",
    failure: failed_chunk,
};
const DONE: &str = "data: [DONE]\n\n";
const MODELS: [&str; 4] = ["gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct", "text-embedding-3-small"];

/// The routes, with `/v1/responses` only when `responses_api` (without it, that path is unknown like any other).
pub(super) fn routes(responses_api: bool) -> Router<Shared> {
    let mut router = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .merge(super::balances::routes());
    if responses_api {
        router = router.route("/v1/responses", post(super::responses::create));
    }
    router.fallback(|| async { error(StatusCode::NOT_FOUND, "Unknown request URL.", "invalid_request_error", None) })
}

/// `Authorization: Bearer <key>`, refused the way OpenAI refuses it.
pub(super) fn check_auth(headers: &HeaderMap) -> Option<Response> {
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match judge_key(key) {
        Key::Accepted => None,
        Key::Missing => Some(error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using \
             Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
        )),
        Key::Refused => Some(error(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided: bad-key. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )),
    }
}

/// The request's JSON body and model, or the message of the 400 OpenAI would answer.
pub(super) fn parse(incoming: &Incoming) -> Result<(&Value, &str), &'static str> {
    let body = incoming
        .json
        .as_ref()
        .filter(|body| body.is_object())
        .ok_or("We could not parse the JSON body of your request.")?;
    let model = incoming.model.as_deref().ok_or("you must provide a model parameter")?;
    Ok((body, model))
}

pub(super) fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message, "invalid_request_error", None)
}

async fn chat(State(shared): State<Shared>, Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let (body, model) = match parse(&incoming) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault, model);
    }
    script::before_headers(scenario.delivery).await;
    let reply = match scenario.content {
        Content::ReadFile => script::read_file(FakeKind::OpenAi, model, &read_turn(body)),
        Content::Agent => script::agent(FakeKind::OpenAi, model, &ask(body)),
        content => script::reply(FakeKind::OpenAi, model, content, &last_user_text(body)),
    };
    if body["stream"] == true {
        let include_usage = body["stream_options"]["include_usage"] == true;
        wire::sse(&SSE, chat_frames(model, &reply, include_usage), scenario.delivery, shared.shutdown)
    } else {
        wire::json(StatusCode::OK, &chat_completion(model, &reply), scenario.delivery, shared.shutdown).await
    }
}

fn chat_completion(model: &str, reply: &Reply) -> J {
    let mut message = obj! { "role": "assistant", "content": reply.text.as_deref() };
    if let Some(reasoning) = reply.reasoning {
        message.push("reasoning_content", reasoning);
    }
    if !reply.tool_calls.is_empty() {
        let calls = reply
            .tool_calls
            .iter()
            .map(|call| {
                obj! {
                    "id": call.id("call"),
                    "type": "function",
                    "function": obj! { "name": &call.name, "arguments": &call.arguments },
                }
            })
            .collect::<Vec<_>>();
        message.push("tool_calls", calls);
    }
    message.push("refusal", J::Null);
    message.push("annotations", Vec::<J>::new());
    obj! {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": vec![obj! {
            "index": 0u32,
            "message": message,
            "logprobs": J::Null,
            "finish_reason": finish_reason(reply.finish),
        }],
        "usage": usage(&reply.usage, model),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
}

/// The chunks of a streamed chat completion: a role chunk, content (reasoning, text or tool-call fragments), a
/// finish chunk, the usage chunk when asked for, and `[DONE]`.
fn chat_frames(model: &str, reply: &Reply, include_usage: bool) -> Vec<Frame> {
    let chunk = |delta: J, finish: Option<&str>| {
        let mut chunk = obj! {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": vec![obj! { "index": 0u32, "delta": delta, "logprobs": J::Null, "finish_reason": finish }],
        };
        if include_usage {
            chunk.push("usage", J::Null);
        }
        chunk
    };
    let content_start = if reply.text.is_some() { J::from("") } else { J::Null };
    let mut frames =
        vec![data(&chunk(obj! { "role": "assistant", "content": content_start, "refusal": J::Null }, None), false)];
    if let Some(reasoning) = reply.reasoning {
        for piece in script::pieces(reasoning) {
            frames.push(data(&chunk(obj! { "reasoning_content": piece }, None), true));
        }
    }
    if let Some(text) = &reply.text {
        for piece in script::pieces(text) {
            frames.push(data(&chunk(obj! { "content": piece }, None), true));
        }
    }
    for call in &reply.tool_calls {
        let start = obj! {
            "index": call.index,
            "id": call.id("call"),
            "type": "function",
            "function": obj! { "name": &call.name, "arguments": "" },
        };
        frames.push(data(&chunk(obj! { "tool_calls": vec![start] }, None), false));
        for fragment in script::fragments(&call.arguments, 3) {
            let delta = obj! { "index": call.index, "function": obj! { "arguments": fragment } };
            frames.push(data(&chunk(obj! { "tool_calls": vec![delta] }, None), true));
        }
    }
    frames.push(data(&chunk(obj! {}, Some(finish_reason(reply.finish))), false));
    if include_usage {
        let last = obj! {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": Vec::<J>::new(),
            "usage": usage(&reply.usage, model),
        };
        frames.push(data(&last, false));
    }
    frames.push(Frame::new(DONE, false));
    frames
}

/// Legacy `/v1/completions`: the reply to `prompt`, with `suffix` echoed in brackets and `echo: true` honoured.
async fn completions(State(shared): State<Shared>, Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let (body, model) = match parse(&incoming) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault, model);
    }
    script::before_headers(scenario.delivery).await;
    let prompt = match &body["prompt"] {
        Value::String(prompt) => prompt.clone(),
        Value::Array(prompts) => prompts.first().and_then(Value::as_str).unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    // Tool calls and reasoning have no place in a text completion: those scenarios answer plain text.
    let content = match scenario.content {
        Content::Tools | Content::Thinking | Content::ReadFile | Content::Agent => Content::Text,
        other => other,
    };
    let reply = script::reply(FakeKind::OpenAi, model, content, &prompt);
    let mut text = reply.text.clone().unwrap_or_default();
    if let Some(suffix) = body["suffix"].as_str() {
        text.push_str(&format!(" [suffix: {suffix}]"));
    }
    if body["echo"] == true {
        text.insert_str(0, &prompt);
    }
    let finish = finish_reason(reply.finish);
    let legacy_usage = || obj! { "prompt_tokens": reply.usage.input, "completion_tokens": reply.usage.output, "total_tokens": reply.usage.total() };
    if body["stream"] != true {
        let completion = obj! {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "choices": vec![obj! { "text": text, "index": 0u32, "logprobs": J::Null, "finish_reason": finish }],
            "usage": legacy_usage(),
        };
        return wire::json(StatusCode::OK, &completion, scenario.delivery, shared.shutdown).await;
    }
    let chunk = |text: &str, finish: Option<&str>| {
        obj! {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "choices": vec![obj! { "text": text, "index": 0u32, "logprobs": J::Null, "finish_reason": finish }],
        }
    };
    let mut frames: Vec<Frame> = script::pieces(&text).iter().map(|piece| data(&chunk(piece, None), true)).collect();
    frames.push(data(&chunk("", Some(finish)), false));
    if body["stream_options"]["include_usage"] == true {
        let last = obj! {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": CREATED,
            "model": model,
            "choices": Vec::<J>::new(),
            "usage": legacy_usage(),
        };
        frames.push(data(&last, false));
    }
    frames.push(Frame::new(DONE, false));
    wire::sse(&SSE, frames, scenario.delivery, shared.shutdown)
}

/// Deterministic vectors: 8 numbers (or `dimensions`) in [-1, 1) from a hash of each input, as floats or base64.
async fn embeddings(State(shared): State<Shared>, Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let (body, model) = match parse(&incoming) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault, model);
    }
    script::before_headers(scenario.delivery).await;
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) if items.iter().all(Value::is_number) => vec![Value::Array(items.clone()).to_string()],
        Value::Array(items) => {
            items.iter().map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned)).collect()
        }
        _ => {
            return bad_request("'input' is a required property");
        }
    };
    let dimensions = body["dimensions"].as_u64().and_then(|d| usize::try_from(d).ok()).filter(|d| *d > 0).unwrap_or(8);
    let base64 = body["encoding_format"] == "base64";
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = embedding(input, dimensions);
            let embedding =
                if base64 { J::from(base64_f32(&vector)) } else { J::Arr(vector.into_iter().map(J::Float).collect()) };
            obj! { "object": "embedding", "index": index, "embedding": embedding }
        })
        .collect::<Vec<_>>();
    let tokens: usize = inputs.iter().map(|input| input.split_whitespace().count().max(1)).sum();
    let response = obj! {
        "object": "list",
        "data": data,
        "model": model,
        "usage": obj! { "prompt_tokens": tokens, "total_tokens": tokens },
    };
    wire::json(StatusCode::OK, &response, scenario.delivery, shared.shutdown).await
}

/// Each component is a multiple of 1/128, so it prints short and exactly.
pub(super) fn embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    (0..dimensions)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let byte = u8::try_from(z & 0xff).unwrap_or_default();
            (f32::from(byte) - 128.0) / 128.0
        })
        .collect()
}

/// The little-endian f32 bytes in standard base64, as `encoding_format: "base64"` returns them.
fn base64_f32(vector: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn models() -> Json<J> {
    Json(obj! { "object": "list", "data": MODELS.iter().map(|id| model_object(id)).collect::<Vec<_>>() })
}

async fn model(axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    if MODELS.contains(&id.as_str()) {
        Json(model_object(&id)).into_response()
    } else {
        let message = format!("The model '{id}' does not exist or you do not have access to it.");
        error(StatusCode::NOT_FOUND, &message, "invalid_request_error", Some("model_not_found"))
    }
}

fn model_object(id: &str) -> J {
    obj! { "id": id, "object": "model", "created": CREATED, "owned_by": "system" }
}

pub(super) fn fault_response(fault: Fault, model: &str) -> Response {
    match fault {
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        Fault::BadRequest => error(
            StatusCode::BAD_REQUEST,
            "Invalid value for 'messages': the fake upstream refuses this request.",
            "invalid_request_error",
            Some("invalid_value"),
        ),
        Fault::Overloaded => {
            error(StatusCode::SERVICE_UNAVAILABLE, "The server is overloaded or not ready yet.", "server_error", None)
        }
        Fault::RateLimit => {
            let message = format!(
                "Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, \
                 Requested 1. Please try again in 1s."
            );
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, &message, "requests", Some("rate_limit_exceeded"));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Fault::Garbage => wire::garbage(),
        Fault::ContextLength => error(
            StatusCode::BAD_REQUEST,
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. \
             Please reduce the length of the messages.",
            "invalid_request_error",
            Some("context_length_exceeded"),
        ),
    }
}

/// The error chunk a chat stream ends with when the generation fails part-way (no `[DONE]` follows).
fn failed_chunk(_: usize) -> String {
    let body = obj! { "error": obj! {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": J::Null,
        "code": J::Null,
    } };
    format!("data: {}\n\n", String::from_utf8_lossy(&body.to_bytes()))
}

/// `{"error":{"message","type","param","code"}}`.
fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = obj! { "error": obj! { "message": message, "type": kind, "param": J::Null, "code": code } };
    (status, Json(body)).into_response()
}

fn data(chunk: &J, content: bool) -> Frame {
    let mut bytes = b"data: ".to_vec();
    bytes.extend_from_slice(&chunk.to_bytes());
    bytes.extend_from_slice(b"\n\n");
    Frame::new(bytes, content)
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::StopSequence => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

/// A chat completion's `usage` in the fields of the host `model` names ([`Host`]). `prompt_tokens` counts every
/// prompt token, cached and written ones included, as every one of these hosts does.
fn usage(usage: &Usage, model: &str) -> J {
    match script::scenario(model).host {
        Host::OpenAi => obj! {
            "prompt_tokens": usage.input,
            "completion_tokens": usage.output,
            "total_tokens": usage.total(),
            "prompt_tokens_details": obj! { "cached_tokens": usage.cached, "audio_tokens": 0u32 },
            "completion_tokens_details": obj! {
                "reasoning_tokens": usage.reasoning,
                "audio_tokens": 0u32,
                "accepted_prediction_tokens": 0u32,
                "rejected_prediction_tokens": 0u32,
            },
        },
        // https://api-docs.deepseek.com/api/create-chat-completion: hits and misses add up to the prompt.
        Host::DeepSeek => obj! {
            "completion_tokens": usage.output,
            "prompt_tokens": usage.input,
            "prompt_cache_hit_tokens": usage.cached,
            "prompt_cache_miss_tokens": usage.input - usage.cached,
            "total_tokens": usage.total(),
            "completion_tokens_details": obj! { "reasoning_tokens": usage.reasoning },
        },
        // https://openrouter.ai/docs/use-cases/usage-accounting
        Host::OpenRouter => obj! {
            "completion_tokens": usage.output,
            "completion_tokens_details": obj! { "reasoning_tokens": usage.reasoning },
            "cost": J::Val(script::OPENROUTER_COST.into()),
            "cost_details": obj! { "upstream_inference_cost": J::Null },
            "prompt_tokens": usage.input,
            "prompt_tokens_details": obj! {
                "cached_tokens": usage.cached,
                "cache_write_tokens": usage.cache_write,
                "audio_tokens": 0u32,
            },
            "total_tokens": usage.total(),
        },
    }
}

/// What an `agent` model reads from a chat body.
fn ask(body: &Value) -> script::Ask {
    let last = body["messages"].as_array().and_then(|m| m.last());
    let tool_result = last.filter(|m| m["role"] == "tool").map(|m| match &m["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => joined_text(parts, |p| p["text"].as_str()),
        _ => String::new(),
    });
    script::Ask {
        user_text: last_user_text(body),
        offers_tool: body["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["function"]["name"].as_str() == Some(script::AGENT_TOOL))),
        tool_result,
        thinking: body.get("reasoning_effort").is_some_and(|e| e.is_string()) || body["reasoning"].is_object(),
    }
}

/// The last user message's text: a string, or its `text` parts joined.
fn last_user_text(body: &Value) -> String {
    let Some(message) = body["messages"].as_array().and_then(|m| m.iter().rev().find(|m| m["role"] == "user")) else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            joined_text(parts, |part| (part["type"] == "text").then(|| part["text"].as_str()).flatten())
        }
        _ => String::new(),
    }
}

/// The function tools offered and, when the conversation ends with `tool` messages, their text.
fn read_turn(body: &Value) -> ReadTurn {
    let tools = body["tools"].as_array().into_iter().flatten().filter_map(|tool| {
        let function = &tool["function"];
        Some((function["name"].as_str()?.to_owned(), function["parameters"].clone()))
    });
    let messages = body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let trailing = messages.iter().rev().take_while(|message| message["role"] == "tool");
    let mut results: Vec<String> = trailing
        .map(|message| match &message["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => joined_text(parts, |part| part["text"].as_str()),
            _ => String::new(),
        })
        .collect();
    results.reverse();
    ReadTurn {
        user_text: last_user_text(body),
        tools: tools.collect(),
        tool_result: (!results.is_empty()).then(|| results.join(" ")),
    }
}
