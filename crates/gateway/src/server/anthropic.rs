//! The Anthropic-compatible routes, for Claude Code and the `anthropic` SDKs: `POST /v1/messages` (Claude Code
//! adds `?beta=true`, which changes nothing here) and `POST /v1/messages/count_tokens`. Errors come back in
//! Anthropic's shape.

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::AppState;
use super::body::{self, JsonBody};
use super::relay::{self, Client, Ctx, anthropic_error};
use crate::apps::App;
use crate::error::ApiError;
use crate::metrics::Refusal;
use crate::protocol::{Protocol, anthropic};
use crate::providers::{Call, Operation};
use crate::routing::Needs;

pub(super) async fn messages(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    let body = match body {
        Ok(JsonBody(body)) => body,
        Err(error) => return anthropic_error(error),
    };
    let model = match body::model(&body).and_then(|m| body::stream_flag(&body).map(|_| m)) {
        Ok(model) => model.to_owned(),
        Err(error) => {
            state.refused(Refusal::invalid_request);
            return anthropic_error(error);
        }
    };
    let ctx = Ctx::new(app, model, "anthropic", state.ledger());
    relay::chat(state.resolver(), state.memory(), ctx, Client::Anthropic, Value::Object(body), &headers).await
}

/// Counted by an Anthropic upstream when the model's first target is one; otherwise estimated (characters / 4,
/// the same rough count routing uses to skip small context windows).
pub(super) async fn count_tokens(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    match count(state, app, headers, body).await {
        Ok(response) => response,
        Err(error) => anthropic_error(error),
    }
}

async fn count(
    state: AppState,
    app: App,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Result<Response, ApiError> {
    let JsonBody(body) = body?;
    let model = body::model(&body)?.to_owned();
    if !app.may_use(&model) {
        return Err(ApiError::forbidden(format!("app {:?} may not use {model:?}", app.name)).code("model_not_allowed"));
    }
    let body = Value::Object(body);
    let request = anthropic::decode_request(&body).map_err(|e| ApiError::invalid(e.message, e.param.as_deref()))?;
    let resolver = state.resolver();
    let resolution = resolver.resolve(&model).map_err(|e| ApiError::not_found(e.to_string()))?;
    if let Some(target) = resolution.targets.first().filter(|t| t.provider.protocol() == Protocol::Anthropic) {
        let mut upstream_body = body.clone();
        upstream_body["model"] = Value::String(target.model.clone());
        let forward_headers = ["anthropic-version", "anthropic-beta"]
            .iter()
            .filter_map(|name| Some((*name, headers.get(*name)?.to_str().ok()?.to_owned())))
            .collect();
        let call = Call {
            op: Operation::CountTokens,
            model: &target.model,
            body: Bytes::from(upstream_body.to_string()),
            stream: false,
            forward_headers,
        };
        let request = target.provider.build(call).map_err(|e| ApiError::invalid(e.to_string(), Some("model")))?;
        let response = request.send().await.map_err(|e| {
            ApiError::upstream(axum::http::StatusCode::BAD_GATEWAY, target.provider.redact(&e.to_string()))
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "error": { "message": text } }));
        if status.is_success() {
            return Ok(axum::Json(json).into_response());
        }
        let message = json["error"]["message"].as_str().unwrap_or("the upstream refused to count").to_owned();
        return Err(ApiError::new(status, "upstream_error", target.provider.redact(&message)));
    }
    Ok(axum::Json(json!({ "input_tokens": Needs::of(&request).input_tokens })).into_response())
}
