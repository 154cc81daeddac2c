//! The OpenAI-compatible routes: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`.

use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::body::{self, JsonBody};
use super::relay::{self, Ctx};
use crate::apps::App;
use crate::error::ApiError;
use crate::protocol::{Protocol, openai_chat};
use crate::providers::Operation;

pub(super) async fn chat_completions(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let model = body::model(&body)?.to_owned();
    let stream = body::stream_flag(&body)?;
    let body = Value::Object(body);
    // Decoding validates every known field (types, roles, tool shapes) before anything is spent upstream.
    let request = openai_chat::decode_request(&body).map_err(|e| ApiError::invalid(e.message, e.param.as_deref()))?;
    let ctx = ctx(&state, app, model, started)?;
    let target = relay::first_target(&ctx)?;
    match target.provider.protocol() {
        Protocol::OpenAiChat => {
            relay::passthrough(ctx, target, Operation::Chat, body, stream, request.stream_usage).await
        }
        Protocol::Anthropic | Protocol::Gemini => relay::translated(ctx, target, request).await,
    }
}

/// Legacy text completion, used by editor autocomplete (`prompt` + `suffix` for fill-in-the-middle).
pub(super) async fn completions(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let model = body::model(&body)?.to_owned();
    let stream = body::stream_flag(&body)?;
    match body.get("prompt") {
        Some(Value::String(_) | Value::Array(_)) => {}
        None => return Err(ApiError::invalid("you must provide a prompt", Some("prompt")).code("missing_prompt")),
        Some(_) => return Err(ApiError::invalid("prompt must be a string or an array", Some("prompt"))),
    }
    let wants_usage = body.get("stream_options").is_some_and(|o| o["include_usage"] == Value::Bool(true));
    let ctx = ctx(&state, app, model, started)?;
    let target = relay::first_target(&ctx)?;
    relay::passthrough(ctx, target, Operation::Completions, Value::Object(body), stream, wants_usage).await
}

pub(super) async fn embeddings(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let model = body::model(&body)?.to_owned();
    match body.get("input") {
        Some(Value::String(_) | Value::Array(_)) => {}
        None => return Err(ApiError::invalid("you must provide an input", Some("input")).code("missing_input")),
        Some(_) => return Err(ApiError::invalid("input must be a string or an array", Some("input"))),
    }
    let ctx = ctx(&state, app, model, started)?;
    let target = relay::first_target(&ctx)?;
    relay::passthrough(ctx, target, Operation::Embeddings, Value::Object(body), false, false).await
}

fn ctx(state: &AppState, app: App, model: String, started: Instant) -> Result<Ctx, ApiError> {
    let resolution =
        state.resolver().resolve(&model).map_err(|e| ApiError::not_found(e.to_string()).code("model_not_found"))?;
    Ok(Ctx { app, client_model: model, resolution, started })
}
