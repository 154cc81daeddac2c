//! The OpenAI-compatible routes: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`.

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::AppState;
use super::body::{self, JsonBody};
use super::relay::{self, Client, Ctx, Raw};
use crate::apps::App;
use crate::error::ApiError;
use crate::metrics::Refusal;
use crate::providers::Operation;

pub(super) async fn chat_completions(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    let model = match body::model(&body).and_then(|m| body::stream_flag(&body).map(|_| m)) {
        Ok(model) => model.to_owned(),
        Err(error) => {
            state.refused(Refusal::invalid_request);
            return error.into_response();
        }
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
    let fields = completion_fields(&body).inspect_err(|_| state.refused(Refusal::invalid_request));
    let (model, stream) = fields?;
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
    let model = embedding_model(&body).inspect_err(|_| state.refused(Refusal::invalid_request))?;
    let ctx = Ctx::new(app, model, "openai-embeddings", state.ledger());
    let body = Value::Object(body);
    let raw = Raw { op: Operation::Embeddings, stream: false, wants_usage: false };
    Ok(relay::openai_raw(state.resolver(), state.memory(), ctx, raw, body, &headers).await)
}

/// A completion's model and stream flag, once its prompt is there.
fn completion_fields(body: &Map<String, Value>) -> Result<(String, bool), ApiError> {
    let model = body::model(body)?.to_owned();
    let stream = body::stream_flag(body)?;
    match body.get("prompt") {
        Some(Value::String(_) | Value::Array(_)) => Ok((model, stream)),
        None => Err(ApiError::invalid("you must provide a prompt", Some("prompt")).code("missing_prompt")),
        Some(_) => Err(ApiError::invalid("prompt must be a string or an array", Some("prompt"))),
    }
}

/// An embedding request's model, once its input is there.
fn embedding_model(body: &Map<String, Value>) -> Result<String, ApiError> {
    let model = body::model(body)?.to_owned();
    match body.get("input") {
        Some(Value::String(_) | Value::Array(_)) => Ok(model),
        None => Err(ApiError::invalid("you must provide an input", Some("input")).code("missing_input")),
        Some(_) => Err(ApiError::invalid("input must be a string or an array", Some("input"))),
    }
}
