//! The Gemini API routes, for Gemini CLI and the google-genai SDKs: `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (SSE with `?alt=sse`, else one JSON array streamed element by element) and
//! `:countTokens`, `GET /v1beta/models` and `GET /v1beta/models/{model}`, and the same under `/v1` (the SDK's
//! default), where `GET /v1/models[/{model}]` answers in Google's shape only when the request carries a Gemini
//! key (`x-goog-api-key` or `?key=`). The model in the path is an alias or `provider/model` (a slash: the route is a
//! wildcard, cut at its last `:`). Errors come back in Google's shape.
//!
//! Onto Gemini upstreams the body is passed through untouched and the stream relayed byte for byte (always asked
//! for as SSE upstream); onto every other upstream it is translated (`protocol/gemini/`).

use axum::Extension;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use super::AppState;
use super::body::JsonBody;
use super::relay::wire::{EventSplitter, event_fields, google_error};
use super::relay::{self, Client, Ctx};
use crate::apps::App;
use crate::error::ApiError;
use crate::protocol::{Protocol, gemini};
use crate::providers::{Call, Operation};
use crate::routing::{Needs, Resolver};

/// The routes under `/v1beta` (those under `/v1` are in `routes.rs`, beside OpenAI's of the same paths).
pub(super) fn v1beta() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models))
        .route("/models/{*name}", get(get_model).post(call))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Whether a request speaks the Gemini API, so that its errors (the token guard's too) take Google's shape:
/// everything under `/v1beta`, a `models/{model}:{method}` call under `/v1`, and a `/v1/models` lookup carrying a
/// Gemini key.
pub(super) fn is_gemini(method: &Method, path: &str, headers: &HeaderMap, query: Option<&str>) -> bool {
    if path == "/v1beta" || path.starts_with("/v1beta/") {
        return true;
    }
    let Some(rest) = path.strip_prefix("/v1/models") else { return false };
    (method == Method::POST && rest.starts_with('/')) || carries_gemini_key(headers, query)
}

/// `x-goog-api-key`, or a `key` in the query (Google's API takes both).
pub(super) fn carries_gemini_key(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key("x-goog-api-key") || query_key(query).is_some()
}

/// The `key` query parameter, as written (app tokens need no percent-decoding). The query never reaches a trace.
pub(super) fn query_key(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("key=")).filter(|key| !key.is_empty())
}

/// The token guard's 401, in Google's shape and naming the Gemini ways to send the token.
pub(super) fn unauthorized() -> Response {
    let mut error = ApiError::unauthorized();
    error.message = "missing or invalid app token: send it as `x-goog-api-key: <token>` (Gemini CLI: \
                     GEMINI_API_KEY), `?key=<token>` or `Authorization: Bearer <token>` (create an app in \
                     Switchboard to get one)"
        .to_owned();
    google_error(error)
}

/// `POST …/models/{model}:{method}`.
pub(super) async fn call(
    State(state): State<AppState>,
    Extension(app): Extension<App>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    let Some((model, method)) = name.rsplit_once(':').filter(|(model, _)| !model.is_empty()) else {
        return google_error(ApiError::not_found(format!(
            "no method in models/{name}; call models/<alias>:generateContent, :streamGenerateContent or :countTokens"
        )));
    };
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "countTokens" => {
            return count_tokens(&state, &app, model, body).await.unwrap_or_else(google_error);
        }
        other => {
            return google_error(ApiError::not_found(format!(
                "models/{model} has no method {other:?} here; Switchboard serves generateContent, \
                 streamGenerateContent and countTokens"
            )));
        }
    };
    let body = match body {
        Ok(JsonBody(body)) => body,
        Err(error) => return google_error(error),
    };
    let ctx = Ctx::new(app, model.to_owned(), "gemini", state.ledger());
    let client = Client::Gemini { stream };
    let response = relay::chat(state.resolver(), state.memory(), ctx, client, Value::Object(body), &headers).await;
    let sse = uri.query().is_some_and(|query| query.split('&').any(|pair| pair == "alt=sse"));
    if stream && !sse { json_array(response) } else { response }
}

/// A streamed answer re-framed as the JSON array a client gets without `alt=sse`: `[`, the chunks separated by
/// `,\r\n`, `]`, each chunk sent as soon as its event is whole. Errors (whole JSON bodies) pass as they are.
fn json_array(response: Response) -> Response {
    let streamed = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streamed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    let framed = stream::unfold(
        (Some(body.into_data_stream()), ArrayFraming::default()),
        |(upstream, mut framing)| async move {
            let mut upstream = upstream?;
            loop {
                match upstream.next().await {
                    Some(Ok(chunk)) => {
                        let framed = framing.push(&chunk);
                        if !framed.is_empty() {
                            return Some((Ok(framed), (Some(upstream), framing)));
                        }
                    }
                    Some(Err(error)) => return Some((Err(error), (None, framing))),
                    None => return Some((Ok(framing.end()), (None, framing))),
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(framed))
}

/// SSE events in, JSON array elements out.
#[derive(Default)]
struct ArrayFraming {
    splitter: EventSplitter,
    started: bool,
}

impl ArrayFraming {
    fn push(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        for event in self.splitter.push(chunk) {
            if let (_, Some(data)) = event_fields(&event) {
                out.extend_from_slice(if std::mem::replace(&mut self.started, true) { b",\r\n" } else { b"[" });
                out.extend_from_slice(data.as_bytes());
            }
        }
        out.freeze()
    }

    fn end(&self) -> Bytes {
        Bytes::from_static(if self.started { b"]" } else { b"[]" })
    }
}

/// `:countTokens`: counted by a Gemini upstream when the model's first target is one; otherwise estimated
/// (characters / 4, as routing and the Anthropic route count). The body holds `contents`, or a whole
/// `generateContentRequest`.
async fn count_tokens(
    state: &AppState,
    app: &App,
    model: &str,
    body: Result<JsonBody, ApiError>,
) -> Result<Response, ApiError> {
    let JsonBody(mut body) = body?;
    if !app.may_use(model) {
        return Err(ApiError::forbidden(format!("app {:?} may not use {model:?}", app.name)).code("model_not_allowed"));
    }
    let nested = ["generateContentRequest", "generate_content_request"].into_iter().find(|k| body.contains_key(*k));
    let counted = nested.and_then(|key| body.get(key)).cloned().unwrap_or_else(|| Value::Object(body.clone()));
    let request = gemini::decode_request(&counted, false).map_err(|e| {
        let param = e.param.map(|p| nested.map_or_else(|| p.clone(), |key| format!("{key}.{p}")));
        ApiError::invalid(e.message, param.as_deref())
    })?;
    let resolver = state.resolver();
    let resolution = resolver.resolve(model).map_err(|e| ApiError::not_found(e.to_string()))?;
    let Some(target) = resolution.targets.first().filter(|t| t.provider.protocol() == Protocol::Gemini) else {
        return Ok(Json(json!({ "totalTokens": Needs::of(&request).input_tokens })).into_response());
    };
    // A nested request names its model, which must be the upstream's.
    if let Some(Value::Object(inner)) = nested.and_then(|key| body.get_mut(key))
        && inner.contains_key("model")
    {
        inner.insert("model".into(), json!(format!("models/{}", target.model)));
    }
    let call = Call {
        op: Operation::CountTokens,
        model: &target.model,
        body: Bytes::from(Value::Object(body).to_string()),
        stream: false,
        forward_headers: Vec::new(),
    };
    let request = target.provider.build(call).map_err(|e| ApiError::invalid(e.to_string(), Some("model")))?;
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::upstream(StatusCode::BAD_GATEWAY, target.provider.redact(&e.to_string())))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "error": { "message": text } }));
    if status.is_success() {
        return Ok(Json(json).into_response());
    }
    let message = json["error"]["message"].as_str().unwrap_or("the upstream refused to count");
    Err(ApiError::new(status, "upstream_error", target.provider.redact(message)))
}

/// `GET …/models`: every alias and model `/v1/models` lists, in Google's model shape.
pub(super) async fn list_models(State(state): State<AppState>) -> Json<Value> {
    let resolver = state.resolver();
    let models: Vec<Value> =
        state.model_list().data.iter().map(|entry| model_object(&resolver, &entry.id, &entry.owned_by)).collect();
    Json(json!({ "models": models }))
}

/// `GET …/models/{model}` (with or without `models/`).
pub(super) async fn get_model(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let id = name.strip_prefix("models/").unwrap_or(&name);
    match state.model_list().get(id) {
        Some(entry) => Json(model_object(&state.resolver(), &entry.id, &entry.owned_by)).into_response(),
        None => google_error(ApiError::not_found(format!(
            "models/{id} is not an alias or model of this Switchboard; GET /v1beta/models lists them"
        ))),
    }
}

/// One model as Google describes models: its name, the methods Switchboard serves for it, and the token limits the
/// catalog knows for its first target.
fn model_object(resolver: &Resolver, id: &str, owned_by: &str) -> Value {
    let description = if owned_by == "switchboard" {
        format!("Switchboard alias {id}")
    } else {
        format!("{id}, through Switchboard")
    };
    let mut model = json!({
        "name": format!("models/{id}"),
        "version": env!("CARGO_PKG_VERSION"),
        "displayName": id,
        "description": description,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    });
    let capabilities = resolver.resolve(id).ok().and_then(|r| r.targets.first().map(|t| t.capabilities));
    if let Some(window) = capabilities.and_then(|c| c.context_window) {
        model["inputTokenLimit"] = json!(window);
    }
    if let Some(output) = capabilities.and_then(|c| c.max_output) {
        model["outputTokenLimit"] = json!(output);
    }
    model
}

async fn unknown_route(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    google_error(
        ApiError::not_found(format!(
            "no route for {method} {}; Switchboard serves the Gemini API as /v1beta/models/<alias>:generateContent, \
             :streamGenerateContent and :countTokens, and GET /v1beta/models",
            uri.path()
        ))
        .code("unknown_url"),
    )
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    google_error(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        format!("{} does not accept {method}", uri.path()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_become_a_json_array_chunk_by_chunk() {
        let mut framing = ArrayFraming::default();
        assert_eq!(framing.push(b"data: {\"a\":1}\r\n\r\ndata: {\"b\""), "[{\"a\":1}");
        assert_eq!(framing.push(b":2}\n\n"), ",\r\n{\"b\":2}");
        assert_eq!(framing.push(b": comment\n\n"), "");
        assert_eq!(framing.end(), "]");
        assert_eq!(ArrayFraming::default().end(), "[]");
    }

    /// The passthrough watch on a Gemini stream (in `relay/wire.rs`): usage from the latest `usageMetadata`, the end
    /// at the chunk with a `finishReason`, an upstream's `{"error"}` noted, and a broken stream's own error chunk.
    #[test]
    fn gemini_streams_are_watched_for_usage_and_their_end() {
        use super::super::relay::wire::Watch;
        use crate::protocol::neutral::Usage;
        let mut watch = Watch::new(Client::Gemini { stream: true }, false);
        let first = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}],\"usageMetadata\":{\"promptTokenCount\":12}}\r\n\r\n";
        assert_eq!(watch.inspect(first), Ok(true));
        assert!(!watch.done && watch.usage.is_some());
        let last = b"data: {\"candidates\":[{\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":12,\
            \"candidatesTokenCount\":4,\"thoughtsTokenCount\":3,\"cachedContentTokenCount\":4}}\r\n\r\n";
        assert_eq!(watch.inspect(last), Ok(true));
        assert!(watch.done && watch.failed.is_none());
        assert_eq!(
            watch.usage.unwrap().0,
            Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 3 }
        );
        assert!(watch.inspect(b"data: {not json\r\n\r\n").is_err(), "garbage ends the stream");

        let mut failed = Watch::new(Client::Gemini { stream: true }, false);
        failed.inspect(b"data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n").unwrap();
        assert!(failed.done && failed.failed.as_deref() == Some("boom"));
        let ending = Watch::new(Client::Gemini { stream: true }, false).broken("the stream broke");
        let (_, data) = event_fields(&ending[0]);
        let data: Value = serde_json::from_str(&data.unwrap()).unwrap();
        assert_eq!(data, json!({ "error": { "code": 502, "message": "the stream broke", "status": "UNAVAILABLE" } }));
    }

    #[test]
    fn gemini_requests_are_told_apart() {
        let none = HeaderMap::new();
        let mut keyed = HeaderMap::new();
        keyed.insert("x-goog-api-key", HeaderValue::from_static("t"));
        assert!(is_gemini(&Method::GET, "/v1beta/models", &none, None));
        assert!(is_gemini(&Method::GET, "/v1beta/nowhere", &none, None));
        assert!(is_gemini(&Method::POST, "/v1/models/up/m:generateContent", &none, None));
        assert!(is_gemini(&Method::GET, "/v1/models", &keyed, None));
        assert!(is_gemini(&Method::GET, "/v1/models/general", &none, Some("key=t")));
        assert!(!is_gemini(&Method::GET, "/v1/models", &none, None), "OpenAI's list");
        assert!(!is_gemini(&Method::POST, "/v1/chat/completions", &keyed, None));
        assert_eq!(query_key(Some("alt=sse&key=sb-1")), Some("sb-1"));
        assert_eq!(query_key(Some("monkey=x&key=")), None);
    }
}
