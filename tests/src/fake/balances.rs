//! The balance endpoints of the hosts that publish one, in their real JSON shapes, served by the OpenAI fake (whose
//! key check applies): OpenRouter's `GET /v1/key` and `GET /v1/credits` (the latter only for a key whose text holds
//! `management`, as OpenRouter asks for a management key there), DeepSeek's `GET /user/balance` and Moonshot's
//! `GET /v1/users/me/balance`. The figures are fixed: the tests check them.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/key", get(openrouter_key))
        .route("/v1/credits", get(openrouter_credits))
        .route("/user/balance", get(deepseek))
        .route("/v1/users/me/balance", get(moonshot))
}

async fn openrouter_key() -> Response {
    axum::Json(json!({ "data": {
        "label": "sk-or-v1-fak...000", "limit": 10.0, "limit_remaining": 3.25, "limit_reset": "monthly",
        "include_byok_in_limit": false, "usage": 6.75, "usage_daily": 0.5, "usage_weekly": 2.0, "usage_monthly": 6.75,
        "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
        "is_free_tier": false, "is_management_key": false, "is_provisioning_key": false,
        "rate_limit": { "requests": 1000, "interval": "1h", "note": "This field is deprecated and safe to ignore." }
    }}))
    .into_response()
}

async fn openrouter_credits(headers: HeaderMap) -> Response {
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !key.contains("management") {
        let body = json!({ "error": { "code": 403, "message": "Only management keys can perform this operation" } });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    axum::Json(json!({ "data": { "total_credits": 50.0, "total_usage": 48.5 } })).into_response()
}

async fn deepseek() -> Response {
    axum::Json(json!({ "is_available": true, "balance_infos": [
        { "currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00" }
    ]}))
    .into_response()
}

async fn moonshot() -> Response {
    axum::Json(json!({ "code": 0, "data": { "available_balance": 49.58894, "voucher_balance": 46.58893,
        "cash_balance": 3.00001 }, "scode": "0x0", "status": true }))
    .into_response()
}
