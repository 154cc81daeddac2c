//! Route table. `/health` is open (guarded only by Host/Origin) so tools and the window can see the gateway is up;
//! everything under `/v1` needs an app token, as does `/v1beta` (the Gemini API, in `gemini.rs`). `/v1/models` is
//! OpenAI's list, or Google's when the request carries a Gemini key; `POST /v1/models/{model}:{method}` is Gemini's.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{AppState, gemini};
use crate::error::ApiError;
use crate::models::{ModelEntry, ModelList};

pub(super) fn public() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

pub(super) fn v1() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models))
        .route("/models/{*id}", get(get_model).post(super::gemini::call))
        .route("/chat/completions", post(super::openai::chat_completions))
        .route("/completions", post(super::openai::completions))
        .route("/embeddings", post(super::openai::embeddings))
        .route("/messages", post(super::anthropic::messages))
        .route("/messages/count_tokens", post(super::anthropic::count_tokens))
        .route("/responses", post(super::responses::responses))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn list_models(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    if gemini::carries_gemini_key(&headers, uri.query()) {
        return gemini::list_models(State(state)).await.into_response();
    }
    Json::<ModelList>(state.model_list()).into_response()
}

/// `{*id}` because direct targets contain a slash: `GET /v1/models/anthropic/claude-sonnet-4-5`.
async fn get_model(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if gemini::carries_gemini_key(&headers, uri.query()) {
        return gemini::get_model(State(state), Path(id)).await;
    }
    let found: Option<ModelEntry> = state.model_list().get(&id).cloned();
    match found {
        Some(entry) => Json(entry).into_response(),
        None => {
            ApiError::not_found(format!("model {id:?} does not exist; GET /v1/models lists the aliases and models"))
                .code("model_not_found")
                .into_response()
        }
    }
}

pub(super) async fn unknown_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!(
        "no route for {method} {}; Switchboard serves the OpenAI API under /v1 (e.g. POST /v1/chat/completions)",
        uri.path()
    ))
    .code("unknown_url")
}

pub(super) async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        format!("{} does not accept {method}", uri.path()),
    )
    .code("method_not_allowed")
}
