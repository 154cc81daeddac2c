//! The one error type every route answers with, in OpenAI's shape:
//! `{"error":{"message":…,"type":…,"code":…,"param":…}}`.
//!
//! Internal details are logged where they happen; what goes to the client is a clean message that says what to do.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`, …
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub param: Option<String>,
    /// Passed on from an upstream's 429 or 503.
    pub retry_after: Option<Box<HeaderValue>>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), kind, code: None, param: None, retry_after: None }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// A 400 for a request that does not fit the API; `param` names the field.
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        error.param = param.map(str::to_owned);
        error
    }

    /// Upstream trouble the client cannot fix by changing its request (502, or 504 for timeouts).
    pub fn upstream(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::new(status, "upstream_error", message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing or invalid app token: send it as `Authorization: Bearer <token>` \
             (create an app in Switchboard to get one)",
        )
        .code("invalid_api_key")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "permission_error", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// A 431 for a request whose headers are too many or too large.
    pub fn headers_too_large(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error", message)
            .code("headers_too_large")
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
    param: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner { message: &self.message, kind: self.kind, code: self.code, param: self.param.as_deref() },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(retry_after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, *retry_after);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}
