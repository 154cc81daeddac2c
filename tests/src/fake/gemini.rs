//! The Gemini wire format: `GenerateContentResponse` objects, `streamGenerateContent` as `alt=sse` (CRLF-framed
//! `data:` lines, no `[DONE]`) or as a JSON array, `countTokens`, the model list, and
//! `{"error":{"code","message","status"}}` errors. The model comes from the URL, never the body.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::script::{self, Content, Fault, Finish, ReadTurn, Reply};
use super::wire::{self, Frame, J, SseStyle, obj};
use super::{FakeKind, Incoming, Key, Shared, joined_text, judge_key};

const PREFIX: &str = "/v1beta/models/";
const SSE: SseStyle = SseStyle {
    content_type: "text/event-stream",
    malformed: "data: {not json\r\n\r\n",
    failure: |_| format!("data: {STREAM_ERROR}\r\n\r\n"),
};
/// Without `alt=sse` the stream is one JSON array, sent element by element.
const ARRAY: SseStyle = SseStyle {
    content_type: "application/json; charset=UTF-8",
    malformed: ",\r\n{not json",
    failure: |_| format!(",\r\n{STREAM_ERROR}]"),
};
/// The error element a stream ends with when the generation fails part-way.
const STREAM_ERROR: &str =
    r#"{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}"#;
/// `base64("sig-fake-123")`: a `thoughtSignature` is bytes, which JSON carries as base64.
const THOUGHT_SIGNATURE: &str = "c2lnLWZha2UtMTIz";
const RESPONSE_ID: &str = "fake-response-id";
/// (name, display name, methods).
const MODELS: [(&str, &str, &[&str]); 3] = [
    (
        "gemini-2.5-flash",
        "Gemini 2.5 Flash",
        &["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
    ),
    (
        "gemini-2.5-pro",
        "Gemini 2.5 Pro",
        &["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
    ),
    ("text-embedding-004", "Text Embedding 004", &["embedContent"]),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1beta/models", get(models)).route("/v1beta/models/{rest}", get(model).post(call)).fallback(
        |uri: Uri| async move {
            let message = format!("The requested URL {} was not found on this server.", uri.path());
            error(StatusCode::NOT_FOUND, "NOT_FOUND", &message)
        },
    )
}

/// The model in `/v1beta/models/{model}:{method}` (or `/v1beta/models/{model}`).
pub(super) fn model_in_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(PREFIX)?;
    let model = rest.split_once(':').map_or(rest, |(model, _)| model);
    (!model.is_empty()).then_some(model)
}

/// `x-goog-api-key`. A `key=` query parameter is refused outright: keys in URLs end up in logs.
pub(super) fn check_auth(headers: &HeaderMap, query: Option<&str>) -> Option<Response> {
    if query.is_some_and(|query| query.split('&').any(|pair| pair == "key" || pair.starts_with("key="))) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "key in URL: the fake upstream refuses API keys in the query string; send x-goog-api-key",
        ));
    }
    match judge_key(headers.get("x-goog-api-key").and_then(|v| v.to_str().ok())) {
        Key::Accepted => None,
        Key::Missing => Some(error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or \
             other form of API consumer identity to call this API.",
        )),
        Key::Refused => {
            Some(error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."))
        }
    }
}

async fn call(
    State(shared): State<Shared>,
    Path(rest): Path<String>,
    uri: Uri,
    Extension(incoming): Extension<Arc<Incoming>>,
) -> Response {
    let Some((model, method)) = rest.split_once(':') else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("unknown method for models/{rest}"));
    };
    if !matches!(method, "generateContent" | "streamGenerateContent" | "countTokens") {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("models/{model} has no method {method}"));
    }
    let Some(body) = incoming.json.as_ref().filter(|body| body.is_object()) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault);
    }
    if method == "countTokens" {
        let usage = script::reply(FakeKind::Gemini, model, Content::Text, "").usage;
        let details = vec![obj! { "modality": "TEXT", "tokenCount": usage.input }];
        return Json(obj! { "totalTokens": usage.input, "promptTokensDetails": details }).into_response();
    }
    script::before_headers(scenario.delivery).await;
    let reply = match scenario.content {
        Content::ReadFile => script::read_file(FakeKind::Gemini, model, &read_turn(body)),
        Content::Agent => script::agent(FakeKind::Gemini, model, &ask(body)),
        content => script::reply(FakeKind::Gemini, model, content, &last_user_text(body)),
    };
    if method == "generateContent" {
        return wire::json(StatusCode::OK, &whole(model, &reply), scenario.delivery, shared.shutdown).await;
    }
    let chunks = chunks(model, &reply);
    let sse = uri.query().is_some_and(|query| query.split('&').any(|pair| pair == "alt=sse"));
    let frames = if sse {
        chunks.into_iter().map(|chunk| sse_frame(&chunk)).collect()
    } else {
        let count = chunks.len();
        let mut frames: Vec<Frame> = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut bytes = if i == 0 { b"[".to_vec() } else { b",\r\n".to_vec() };
                bytes.extend_from_slice(&chunk.to_bytes());
                Frame::new(bytes, true)
            })
            .collect();
        if count == 0 {
            frames.push(Frame::new("[", false));
        }
        frames.push(Frame::new("]", false));
        frames
    };
    wire::sse(if sse { &SSE } else { &ARRAY }, frames, scenario.delivery, shared.shutdown)
}

fn whole(model: &str, reply: &Reply) -> J {
    let mut parts = Vec::new();
    if let Some(thought) = reply.reasoning {
        parts.push(obj! { "text": thought, "thought": true, "thoughtSignature": THOUGHT_SIGNATURE });
    }
    if let Some(text) = &reply.text {
        parts.push(obj! { "text": text });
    }
    for call in &reply.tool_calls {
        parts.push(function_call(call));
    }
    response(model, parts, Some(reply.finish), full_usage(reply))
}

/// The stream's `GenerateContentResponse`s: reasoning and text in word-ish pieces, one function call per chunk; the
/// last carries `finishReason` and the full usage, the others only the prompt's.
fn chunks(model: &str, reply: &Reply) -> Vec<J> {
    let mut parts: Vec<J> = Vec::new();
    if let Some(thought) = reply.reasoning {
        let pieces = script::pieces(thought);
        let last = pieces.len().saturating_sub(1);
        for (i, piece) in pieces.into_iter().enumerate() {
            let mut part = obj! { "text": piece, "thought": true };
            if i == last {
                part.push("thoughtSignature", THOUGHT_SIGNATURE);
            }
            parts.push(part);
        }
    }
    if let Some(text) = &reply.text {
        parts.extend(script::pieces(text).into_iter().map(|piece| obj! { "text": piece }));
    }
    parts.extend(reply.tool_calls.iter().map(function_call));
    let last = parts.len().saturating_sub(1);
    let input = reply.usage.input;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            if i == last {
                response(model, vec![part], Some(reply.finish), full_usage(reply))
            } else {
                let usage = obj! { "promptTokenCount": input, "totalTokenCount": input, "promptTokensDetails": text_tokens(input) };
                response(model, vec![part], None, usage)
            }
        })
        .collect()
}

fn response(model: &str, parts: Vec<J>, finish: Option<Finish>, usage: J) -> J {
    let mut candidate = obj! { "content": obj! { "parts": parts, "role": "model" } };
    if let Some(finish) = finish {
        candidate.push("finishReason", finish_reason(finish));
    }
    candidate.push("index", 0u32);
    obj! { "candidates": vec![candidate], "usageMetadata": usage, "modelVersion": model, "responseId": RESPONSE_ID }
}

fn function_call(call: &script::ToolCall) -> J {
    obj! { "functionCall": obj! { "name": &call.name, "args": call.arguments_json() } }
}

/// Gemini counts reasoning apart from the answer: `candidatesTokenCount` + `thoughtsTokenCount` is the output.
fn full_usage(reply: &Reply) -> J {
    let usage = reply.usage;
    let mut metadata = obj! {
        "promptTokenCount": usage.input,
        "candidatesTokenCount": usage.output - usage.reasoning,
        "totalTokenCount": usage.total(),
        "cachedContentTokenCount": usage.cached,
        "promptTokensDetails": text_tokens(usage.input),
        "cacheTokensDetails": text_tokens(usage.cached),
    };
    if usage.reasoning > 0 {
        metadata.push("thoughtsTokenCount", usage.reasoning);
    }
    metadata
}

fn text_tokens(count: u32) -> Vec<J> {
    vec![obj! { "modality": "TEXT", "tokenCount": count }]
}

fn sse_frame(chunk: &J) -> Frame {
    let mut bytes = b"data: ".to_vec();
    bytes.extend_from_slice(&chunk.to_bytes());
    bytes.extend_from_slice(b"\r\n\r\n");
    Frame::new(bytes, true)
}

async fn models() -> Json<J> {
    Json(obj! { "models": MODELS.iter().map(|m| model_object(*m)).collect::<Vec<_>>() })
}

async fn model(Path(rest): Path<String>) -> Response {
    match MODELS.iter().find(|m| m.0 == rest) {
        Some(m) => Json(model_object(*m)).into_response(),
        None => {
            error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("models/{rest} is not found for API version v1beta"))
        }
    }
}

fn model_object((name, display_name, methods): (&str, &str, &[&str])) -> J {
    let methods: Vec<J> = methods.iter().map(|m| J::from(*m)).collect();
    let mut model = obj! {
        "name": format!("models/{name}"),
        "version": "001",
        "displayName": display_name,
        "description": format!("{display_name} (fake)"),
        "inputTokenLimit": 1_048_576u32,
        "outputTokenLimit": 65_536u32,
        "supportedGenerationMethods": methods,
    };
    if name.starts_with("gemini") {
        model.push("temperature", 1u32);
        model.push("topP", 0.95f32);
        model.push("topK", 64u32);
        model.push("maxTemperature", 2u32);
        model.push("thinking", true);
    }
    model
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        Fault::BadRequest => {
            error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        }
        Fault::Overloaded => {
            error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        }
        Fault::RateLimit => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Fault::Garbage => wire::garbage(),
        Fault::ContextLength => error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        ),
    }
}

/// `{"error":{"code","message","status"}}`.
fn error(status: StatusCode, status_name: &str, message: &str) -> Response {
    let body = obj! { "error": obj! { "code": u32::from(status.as_u16()), "message": message, "status": status_name } };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    response
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::StopSequence | Finish::ToolCalls => "STOP",
        Finish::Length => "MAX_TOKENS",
    }
}

/// What an `agent` model reads from a generateContent body.
fn ask(body: &Value) -> script::Ask {
    let last = body["contents"].as_array().and_then(|turns| turns.last());
    let tool_result = last.and_then(|turn| turn["parts"].as_array()).and_then(|parts| {
        let response = parts.iter().find_map(|p| p.get("functionResponse"))?;
        Some(match &response["response"] {
            Value::Object(fields) if fields.len() == 1 => fields
                .values()
                .next()
                .and_then(Value::as_str)
                .map_or_else(|| response["response"].to_string(), str::to_owned),
            other => other.to_string(),
        })
    });
    let offered = body["tools"].as_array().into_iter().flatten().filter_map(|t| t["functionDeclarations"].as_array());
    let thinking = &body["generationConfig"]["thinkingConfig"];
    script::Ask {
        user_text: last_user_text(body),
        offers_tool: offered.flatten().any(|f| f["name"].as_str() == Some(script::tool_calls()[0].name.as_str())),
        tool_result,
        thinking: thinking["includeThoughts"] == true || thinking["thinkingBudget"].as_u64().is_some_and(|b| b > 0),
    }
}

/// The last user turn's text parts joined (a turn without a role is the user's).
fn last_user_text(body: &Value) -> String {
    let Some(turn) = body["contents"]
        .as_array()
        .and_then(|turns| turns.iter().rev().find(|turn| turn.get("role").is_none_or(|role| role == "user")))
    else {
        return String::new();
    };
    turn["parts"].as_array().map(|parts| joined_text(parts, |part| part["text"].as_str())).unwrap_or_default()
}

/// The function declarations offered and, when the last turn holds `functionResponse` parts, their `output` (or
/// the whole response as JSON).
fn read_turn(body: &Value) -> ReadTurn {
    let declarations = body["tools"].as_array().into_iter().flatten();
    let declarations = declarations.flat_map(|tool| tool["functionDeclarations"].as_array().into_iter().flatten());
    let tools = declarations.filter_map(|declaration| {
        let schema = declaration.get("parametersJsonSchema").unwrap_or(&declaration["parameters"]);
        Some((declaration["name"].as_str()?.to_owned(), schema.clone()))
    });
    let last = body["contents"].as_array().and_then(|turns| turns.last());
    let results: Vec<String> = last
        .and_then(|turn| turn["parts"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|part| part.get("functionResponse"))
        .map(|response| match &response["response"]["output"] {
            Value::String(text) => text.clone(),
            _ => response["response"].to_string(),
        })
        .collect();
    ReadTurn {
        user_text: last_user_text(body),
        tools: tools.collect(),
        tool_result: (!results.is_empty()).then(|| results.join(" ")),
    }
}
