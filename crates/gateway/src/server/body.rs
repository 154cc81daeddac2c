//! Reading request bodies: our own JSON extractor, so a body that is too large, not JSON, or not an object gets an
//! OpenAI-shaped error that says what is wrong instead of axum's plain-text rejection. The whole body must arrive
//! within [`BodyTimeout`]: a client dripping it byte by byte gets a 408 rather than holding a task forever. Each
//! refusal is counted in `/metrics` by its reason, when that is served.

use std::time::Duration;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::AppState;
use crate::error::ApiError;
use crate::metrics::Refusal;

/// A JSON object body.
pub struct JsonBody(pub Map<String, Value>);

/// How long a client has to send its whole body (`server.body_timeout_secs`), put in each request's extensions by
/// the router. Without it a request gets [`crate::config::DEFAULT_BODY_TIMEOUT_SECS`].
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read(request, state).await.map(JsonBody).map_err(|(reason, error)| {
            state.refused(reason);
            error
        })
    }
}

/// The body as a JSON object, or the refusal with its reason.
async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Map<String, Value>, (Refusal, ApiError)> {
    let limit = request
        .extensions()
        .get::<BodyTimeout>()
        .map_or(Duration::from_secs(crate::config::DEFAULT_BODY_TIMEOUT_SECS), |timeout| timeout.0);
    let read = tokio::time::timeout(limit, Bytes::from_request(request, state)).await.map_err(|_| {
        tracing::warn!(?limit, "a request body did not arrive in time");
        let error = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            format!(
                "the request body did not arrive within {} s; send the whole body at once, or raise \
                 server.body_timeout_secs",
                limit.as_secs()
            ),
        )
        .code("request_timeout");
        (Refusal::body_timeout, error)
    })?;
    let bytes = read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let error = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "the request body is larger than this gateway accepts; send less (e.g. fewer or smaller images), or \
                 raise server.max_body_mb",
            )
            .code("request_too_large");
            (Refusal::body_too_large, error)
        } else {
            let text = rejection.body_text();
            (Refusal::bad_json, ApiError::invalid(format!("could not read the request body: {text}"), None))
        }
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::invalid("the request body must be a JSON object", None).code("invalid_json")),
        Err(error) => {
            Err(ApiError::invalid(format!("the request body is not valid JSON: {error}"), None).code("invalid_json"))
        }
    }
    .map_err(|error| (Refusal::bad_json, error))
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use bytes::Bytes;
    use futures_util::stream;

    use super::*;

    fn request(body: Body, timeout: Duration) -> Request {
        let mut request = Request::new(body);
        request.extensions_mut().insert(BodyTimeout(timeout));
        request
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_finishes_is_a_408() {
        // One byte, then nothing: the paused clock jumps straight to the deadline.
        let first = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"{"))]);
        let body = Body::from_stream(futures_util::StreamExt::chain(first, stream::pending()));
        let Err((reason, error)) = read(request(body, Duration::from_secs(5)), &()).await else {
            panic!("a body that never ends was accepted");
        };
        assert_eq!(reason, Refusal::body_timeout);
        let response = axum::response::IntoResponse::into_response(error);
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        let text = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains("did not arrive within 5 s") && text.contains("request_timeout"), "{text}");
    }

    #[tokio::test]
    async fn a_body_in_time_is_read() {
        let body = Body::from(r#"{"model":"m"}"#);
        let Ok(object) = read(request(body, Duration::from_secs(5)), &()).await else {
            panic!("a whole body was refused");
        };
        assert_eq!(object["model"], "m");
    }

    #[tokio::test]
    async fn deep_nesting_is_a_clear_400() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = Body::from(format!(r#"{{"model":"m","x":{deep}}}"#));
        let Err((reason, error)) = read(request(body, Duration::from_secs(5)), &()).await else {
            panic!("100,000 levels of nesting were accepted");
        };
        assert_eq!(reason, Refusal::bad_json);
        let response = axum::response::IntoResponse::into_response(error);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
