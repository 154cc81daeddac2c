//! The guard chain in front of every route.
//!
//! - Header bounds: more than [`MAX_HEADERS`] headers, or more than [`MAX_HEADER_BYTES`] of them, is a 431 before
//!   anything else looks at the request (hyper refuses more extreme heads itself, with a bare 431).
//! - Host must be a loopback name or address, or one the user allow-listed: a page on `evil.example` that rebinds
//!   its DNS name to 127.0.0.1 still sends `Host: evil.example`, and is refused (DNS-rebinding defence).
//! - A request carrying `Origin` comes from a web page; it is refused unless that exact origin is allow-listed
//!   (`null`, which sandboxed frames and `file:` pages send, only if `"null"` itself is in the list). An allow-listed
//!   page gets CORS headers naming its own origin, never `*`; its preflight is answered here, after the Host check
//!   and without a token, because browsers never send credentials on a preflight.
//! - Every `/v1` and `/v1beta` request needs an app token, as `Authorization: Bearer`, `x-api-key` (Anthropic
//!   clients), `api-key` (Azure-style clients) or `x-goog-api-key` (Gemini clients); Gemini routes also take it as
//!   `?key=`, as Google's API does (the query never reaches a trace). A missing, unknown or disabled token gets the
//!   same 401, which never says which, in the shape of the route's protocol.
//!
//! Each refusal is counted in `/metrics` by its reason (`metrics::Refusal`) when that is served.

use std::net::IpAddr;

use axum::extract::{OriginalUri, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, HOST, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;
use crate::metrics::Refusal;

/// Which `Host` values are accepted.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    extra: Vec<String>,
}

impl HostPolicy {
    pub fn new(allowed: &[String]) -> HostPolicy {
        HostPolicy { extra: allowed.iter().map(|h| h.to_ascii_lowercase()).collect() }
    }

    /// `host` as sent, with or without a port.
    pub fn allows(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        // An IPv6 literal only counts in brackets: `[::1]`, never `[::1` or a bare `::1`.
        let literal = match name.strip_prefix('[') {
            Some(rest) => rest.strip_suffix(']').filter(|ip| ip.contains(':')),
            None => Some(name).filter(|ip| !ip.contains(':')),
        };
        if literal.and_then(|ip| ip.parse::<IpAddr>().ok()).is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.extra.iter().any(|h| h == name || Some(h.as_str()) == literal)
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [::1]:7352 → [::1]
        return rest.find(']').map_or(host, |end| &host[..end + 2]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => name,
        _ => host,
    }
}

/// Most header fields a request may carry (each value of a repeated name counts).
pub(super) const MAX_HEADERS: usize = 100;
/// Most bytes a request's header fields may take, counted as on the HTTP/1 wire: name, `": "`, value, CRLF.
pub(super) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Refuses a request whose headers are too many or too large, with a 431 in OpenAI's shape. It runs first, so an
/// oversized request is not looked at further (nor echoed back in a preflight answer). Over HTTP/1 hyper stops at
/// 100 header lines by itself, so there the count rule matters for HTTP/2; the byte rule applies to both.
pub(super) async fn check_header_bounds(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let count = headers.len();
    let bytes = if count > MAX_HEADERS { None } else { Some(header_bytes(headers)) };
    if count > MAX_HEADERS || bytes.is_some_and(|b| b > MAX_HEADER_BYTES) {
        tracing::warn!(count, bytes, "refused a request with too many or too large headers");
        state.refused(Refusal::headers_too_large);
        return ApiError::headers_too_large(format!(
            "the request's headers are too large ({count} fields{}); Switchboard accepts at most {MAX_HEADERS} \
             header fields and {} KiB of headers",
            bytes.map(|b| format!(", {b} bytes")).unwrap_or_default(),
            MAX_HEADER_BYTES / 1024,
        ))
        .into_response();
    }
    next.run(request).await
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

/// The methods a page may use; the whole API is `GET` and `POST`.
const CORS_METHODS: &str = "GET, POST, OPTIONS";
/// Offered to a preflight besides the headers it asks for: the token headers and what the OpenAI, Anthropic and
/// Gemini SDKs send on their own.
const CORS_BASE_HEADERS: [&str; 11] = [
    "authorization",
    "content-type",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "openai-organization",
    "openai-project",
    "openai-beta",
];
/// Response headers a page's script may read besides the CORS-safelisted ones.
const CORS_EXPOSED_HEADERS: &str = "x-request-id, retry-after";
/// How long a browser may reuse a preflight answer. Short, though dropping an origin from the allow-list takes
/// effect at once anyway: its next actual request is refused whatever the browser cached.
const CORS_MAX_AGE_SECONDS: &str = "600";

/// Host, then Origin, then CORS for allow-listed pages.
///
/// CORS is written by hand rather than with tower-http's `CorsLayer`: the decision "is this origin allowed" must be
/// made once, here, where a foreign origin is refused with a 403; `CorsLayer` would make it a second time from its
/// own copy of the list and lets a foreign origin's request through (only without CORS headers). We also want a 204
/// preflight, `Vary` on the preflight's request headers, and requested header names echoed only when each is a
/// valid token, none of which `CorsLayer` does as such.
pub(super) async fn check_host_and_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(refusal) = check_host(&state, &request) {
        state.refused(Refusal::host);
        return refusal;
    }
    let origin = match allowed_origin(&state.inner.allowed_origins, request.headers()) {
        Ok(origin) => origin,
        Err(refusal) => {
            state.refused(Refusal::origin);
            return refusal.into_response();
        }
    };
    let Some(origin) = origin else {
        let mut response = next.run(request).await;
        if !state.inner.allowed_origins.is_empty() {
            // Answers differ by Origin once pages may call; a cache must not hand this one to a page.
            response.headers_mut().append(VARY, HeaderValue::from_static("origin"));
        }
        return response;
    };
    if request.method() == Method::OPTIONS && request.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        return preflight(origin, request.headers());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(CORS_EXPOSED_HEADERS));
    headers.append(VARY, HeaderValue::from_static("origin"));
    response
}

fn check_host(state: &AppState, request: &Request) -> Option<Response> {
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| request.headers().get(HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
    match host {
        None => Some(
            ApiError::forbidden("the request has no Host header; send one naming 127.0.0.1 or localhost")
                .code("host_not_allowed")
                .into_response(),
        ),
        Some(host) if !state.inner.hosts.allows(&host) => {
            tracing::warn!(%host, "refused a request for a host that is not allowed");
            Some(
                ApiError::forbidden(format!(
                    "Host {host:?} is not allowed; call Switchboard as 127.0.0.1 or localhost, or add the name to \
                     the allowed hosts in Settings"
                ))
                .code("host_not_allowed")
                .into_response(),
            )
        }
        Some(_) => None,
    }
}

/// `Ok(None)` without `Origin`, `Ok(Some(origin))` for an allow-listed one (byte for byte: no case folding, no
/// trailing-slash forgiveness, `null` only if listed), and the 403 otherwise. Two `Origin` headers are refused:
/// no browser sends that.
fn allowed_origin(allowed: &[String], headers: &HeaderMap) -> Result<Option<HeaderValue>, ApiError> {
    let mut origins = headers.get_all(ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return Ok(None);
    };
    if origins.next().is_none() && allowed.iter().any(|o| o.as_bytes() == origin.as_bytes()) {
        return Ok(Some(origin.clone()));
    }
    let shown = origin.to_str().unwrap_or("(not text)");
    tracing::warn!(origin = %shown, "refused a request from a web page");
    Err(ApiError::forbidden(format!(
        "requests from web pages are refused (Origin {shown:?}); if you trust that page, add its origin to the \
         allowed origins in Settings"
    ))
    .code("origin_not_allowed"))
}

/// The answer to an allow-listed page's preflight: no token asked (the actual request still needs one).
fn preflight(origin: HeaderValue, request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(CORS_METHODS));
    if let Ok(allowed) = HeaderValue::from_str(&allowed_request_headers(request).join(", ")) {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    }
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(CORS_MAX_AGE_SECONDS));
    headers.insert(
        VARY,
        HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers"),
    );
    response
}

/// [`CORS_BASE_HEADERS`], then each name the preflight asks for (the SDKs add their own, such as `x-stainless-os`
/// or `x-stainless-retry-count`), lower-cased, once. A name that is not a valid token is left out, so the browser
/// refuses the actual request rather than us echoing something malformed.
fn allowed_request_headers(request: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = CORS_BASE_HEADERS.iter().map(|h| (*h).to_owned()).collect();
    let asked = request.get_all(ACCESS_CONTROL_REQUEST_HEADERS).iter().filter_map(|v| v.to_str().ok());
    for name in asked.flat_map(|v| v.split(',')).map(str::trim).filter(|n| is_token(n)) {
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// RFC 9110 `token`: one or more of `!#$%&'*+-.^_`|~`, digits and letters.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(super) async fn require_app_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let apps = state.apps();
    let path = request.extensions().get::<OriginalUri>().map_or(request.uri().path(), |uri| uri.path());
    let gemini = super::gemini::is_gemini(request.method(), path, request.headers(), request.uri().query());
    let token = presented_token(&request, gemini);
    let presented = token.is_some();
    let app = token.and_then(|token| apps.authenticate(token)).cloned();
    match app {
        Some(app) => {
            request.extensions_mut().insert(app);
            next.run(request).await
        }
        None => {
            state.refused(if presented { Refusal::bad_token } else { Refusal::no_token });
            // Anthropic and Gemini clients get their error shapes on their routes.
            if gemini {
                super::gemini::unauthorized()
            } else if path.starts_with("/v1/messages") {
                super::relay::anthropic_error(ApiError::unauthorized())
            } else {
                ApiError::unauthorized().into_response()
            }
        }
    }
}

fn presented_token(request: &Request, gemini: bool) -> Option<&str> {
    let headers = request.headers();
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    let header = ["x-api-key", "api-key", "x-goog-api-key"].iter().find_map(|name| headers.get(*name));
    match header {
        Some(value) => value.to_str().ok().map(str::trim),
        None if gemini => super::gemini::query_key(request.uri().query()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_allowed() {
        let policy = HostPolicy::new(&[]);
        for host in [
            "127.0.0.1",
            "127.0.0.1:7352",
            "127.1.2.3:80",
            "localhost",
            "LOCALHOST:7352",
            "localhost.",
            "app.localhost:7352",
            "[::1]",
            "[::1]:7352",
        ] {
            assert!(policy.allows(host), "{host} should be allowed");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        let policy = HostPolicy::new(&[]);
        for host in [
            "evil.example",
            "evil.example:7352",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "192.168.1.10:7352",
            "0.0.0.0",
            "[::]:7352",
            "",
            "[::1",
            "::1",
            "localhostx",
            "[127.0.0.1]",
        ] {
            assert!(!policy.allows(host), "{host} should be refused");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_an_exactly_listed_origin_is_allowed() {
        let allowed = ["http://localhost:5173".to_owned()];
        assert_eq!(allowed_origin(&allowed, &headers(&[])).ok(), Some(None));
        let page = headers(&[("origin", "http://localhost:5173")]);
        assert_eq!(allowed_origin(&allowed, &page).ok().flatten().unwrap(), "http://localhost:5173");
        for origin in ["null", "http://LOCALHOST:5173", "http://localhost:5173/", "https://localhost:5173", ""] {
            assert!(allowed_origin(&allowed, &headers(&[("origin", origin)])).is_err(), "{origin:?}");
        }
        let twice = headers(&[("origin", "http://localhost:5173"), ("origin", "http://localhost:5173")]);
        assert!(allowed_origin(&allowed, &twice).is_err());
        // `null` only when the user listed it literally.
        let null = ["null".to_owned()];
        assert!(allowed_origin(&null, &headers(&[("origin", "null")])).is_ok_and(|o| o.is_some()));
    }

    #[test]
    fn preflight_headers_echo_valid_tokens_once() {
        let asked = headers(&[
            ("access-control-request-headers", "X-Stainless-OS, authorization,,x-stainless-os"),
            ("access-control-request-headers", "bad name, bad(paren), x-ok"),
        ]);
        let names = allowed_request_headers(&asked);
        assert_eq!(&names[..CORS_BASE_HEADERS.len()], CORS_BASE_HEADERS);
        assert_eq!(&names[CORS_BASE_HEADERS.len()..], ["x-stainless-os", "x-ok"]);
        assert!(HeaderValue::from_str(&names.join(", ")).is_ok());
        assert!(is_token("x-stainless-retry-count") && is_token("a!#$%&'*+-.^_`|~9"));
        assert!(!is_token("") && !is_token("a b") && !is_token("a:b") && !is_token("é"));
    }

    #[test]
    fn header_bytes_count_the_wire_form() {
        assert_eq!(header_bytes(&headers(&[("ab", "cde"), ("ab", "f")])), (2 + 3 + 4) + (2 + 1 + 4));
    }

    #[test]
    fn allow_list_extends_the_defaults() {
        let policy = HostPolicy::new(&["Switchboard.lan".to_owned(), "192.168.1.10".to_owned()]);
        assert!(policy.allows("switchboard.lan:7352"));
        assert!(policy.allows("192.168.1.10:7352"));
        assert!(!policy.allows("other.lan"));
    }
}
