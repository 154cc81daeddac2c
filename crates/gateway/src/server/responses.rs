//! The OpenAI Responses route, `POST /v1/responses`, for clients such as Codex CLI: passed through to providers
//! that offer the Responses API themselves (the `openai` kind: body forwarded with only `model` rewritten, events
//! relayed byte for byte, `previous_response_id` honoured there), and translated onto every other upstream
//! (OpenAI-compatible hosts through chat completions, Anthropic, Gemini).

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::body::{self, JsonBody};
use super::relay::{self, Client, Ctx};
use crate::apps::App;
use crate::metrics::Refusal;

/// `POST /v1/responses`, the OpenAI Responses API (Codex CLI): passthrough to OpenAI, translation elsewhere.
pub(super) async fn responses(
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
    let ctx = Ctx::new(app, model, "responses", state.ledger());
    relay::chat(state.resolver(), state.memory(), ctx, Client::Responses, Value::Object(body), &headers).await
}
