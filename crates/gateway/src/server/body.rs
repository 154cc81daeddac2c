//! Reading request bodies: our own JSON extractor, so a body that is too large, not JSON, or not an object gets an
//! OpenAI-shaped error that says what is wrong instead of axum's plain-text rejection.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON object body.
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request_error",
                    "the request body is larger than this gateway accepts; send less (e.g. fewer or smaller images), \
                     or raise server.max_body_mb",
                )
                .code("request_too_large")
            } else {
                ApiError::invalid(format!("could not read the request body: {}", rejection.body_text()), None)
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(JsonBody(object)),
            Ok(_) => Err(ApiError::invalid("the request body must be a JSON object", None).code("invalid_json")),
            Err(error) => {
                Err(ApiError::invalid(format!("the request body is not valid JSON: {error}"), None)
                    .code("invalid_json"))
            }
        }
    }
}

/// The `model` field, which every relayed request needs.
pub fn model(body: &Map<String, Value>) -> Result<&str, ApiError> {
    match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => Ok(model),
        None | Some(Value::Null) => Err(ApiError::invalid(
            "you must provide a model: an alias such as \"general\" or a provider/model; GET /v1/models lists them",
            Some("model"),
        )
        .code("missing_model")),
        Some(_) => Err(ApiError::invalid("model must be a non-empty string", Some("model")).code("invalid_type")),
    }
}

/// The `stream` flag: absent or null is false; anything but a boolean is an error.
pub fn stream_flag(body: &Map<String, Value>) -> Result<bool, ApiError> {
    match body.get("stream") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(stream)) => Ok(*stream),
        Some(_) => Err(ApiError::invalid("stream must be true or false", Some("stream")).code("invalid_type")),
    }
}
