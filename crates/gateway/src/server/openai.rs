//! The OpenAI-compatible routes: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`.

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::body::{self, JsonBody};
use super::relay::{self, Client, Ctx, Raw};
use crate::apps::App;
use crate::error::ApiError;
use crate::providers::Operation;

pub(super) async fn chat_completions(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let model = match body::model(&body).and_then(|m| body::stream_flag(&body).map(|_| m)) {
        Ok(model) => model.to_owned(),
        Err(error) => return error.into_response(),
    };
    let ctx = Ctx::new(app, model, "openai-chat", state.ledger());
    relay::chat(state.resolver(), state.memory(), ctx, Client::OpenAiChat, Value::Object(body), &headers).await
}

/// Legacy text completion, used by editor autocomplete (`prompt` + `suffix` for fill-in-the-middle).
pub(super) async fn completions(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let model = body::model(&body)?.to_owned();
    let stream = body::stream_flag(&body)?;
    match body.get("prompt") {
        Some(Value::String(_) | Value::Array(_)) => {}
        None => return Err(ApiError::invalid("you must provide a prompt", Some("prompt")).code("missing_prompt")),
        Some(_) => return Err(ApiError::invalid("prompt must be a string or an array", Some("prompt"))),
    }
    let wants_usage = body.get("stream_options").is_some_and(|o| o["include_usage"] == Value::Bool(true));
    let ctx = Ctx::new(app, model, "openai-completions", state.ledger());
    let body = Value::Object(body);
    let raw = Raw { op: Operation::Completions, stream, wants_usage };
    Ok(relay::openai_raw(state.resolver(), state.memory(), ctx, raw, body, &headers).await)
}

pub(super) async fn embeddings(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let model = body::model(&body)?.to_owned();
    match body.get("input") {
        Some(Value::String(_) | Value::Array(_)) => {}
        None => return Err(ApiError::invalid("you must provide an input", Some("input")).code("missing_input")),
        Some(_) => return Err(ApiError::invalid("input must be a string or an array", Some("input"))),
    }
    let ctx = Ctx::new(app, model, "openai-embeddings", state.ledger());
    let body = Value::Object(body);
    let raw = Raw { op: Operation::Embeddings, stream: false, wants_usage: false };
    Ok(relay::openai_raw(state.resolver(), state.memory(), ctx, raw, body, &headers).await)
}
