//! The guard chain in front of every route.
//!
//! - Host must be a loopback name or address, or one the user allow-listed: a page on `evil.example` that rebinds
//!   its DNS name to 127.0.0.1 still sends `Host: evil.example`, and is refused (DNS-rebinding defence).
//! - A request carrying `Origin` comes from a web page; it is refused unless that exact origin is allow-listed.
//! - Every `/v1` request needs an app token, as `Authorization: Bearer`, `x-api-key` (Anthropic clients) or
//!   `api-key` (Azure-style clients). A missing, unknown or disabled token gets the same 401, which never says which.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

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

pub(super) async fn check_host_and_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| request.headers().get(HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
    match host {
        None => {
            return ApiError::forbidden("the request has no Host header; send one naming 127.0.0.1 or localhost")
                .code("host_not_allowed")
                .into_response();
        }
        Some(host) if !state.inner.hosts.allows(&host) => {
            tracing::warn!(%host, "refused a request for a host that is not allowed");
            return ApiError::forbidden(format!(
                "Host {host:?} is not allowed; call Switchboard as 127.0.0.1 or localhost, or add the name to \
                 the allowed hosts in Settings"
            ))
            .code("host_not_allowed")
            .into_response();
        }
        Some(_) => {}
    }
    if let Some(origin) = request.headers().get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        if !state.inner.allowed_origins.iter().any(|o| o == origin) {
            tracing::warn!(%origin, "refused a request from a web page");
            return ApiError::forbidden(format!(
                "requests from web pages are refused (Origin {origin:?}); if you trust that page, add its origin \
                 to the allowed origins in Settings"
            ))
            .code("origin_not_allowed")
            .into_response();
        }
    }
    next.run(request).await
}

pub(super) async fn require_app_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let app = presented_token(&request).and_then(|token| state.inner.apps.authenticate(token)).cloned();
    match app {
        Some(app) => {
            request.extensions_mut().insert(app);
            next.run(request).await
        }
        None => ApiError::unauthorized().into_response(),
    }
}

fn presented_token(request: &Request) -> Option<&str> {
    let headers = request.headers();
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    ["x-api-key", "api-key"].iter().find_map(|name| headers.get(*name)).and_then(|v| v.to_str().ok()).map(str::trim)
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

    #[test]
    fn allow_list_extends_the_defaults() {
        let policy = HostPolicy::new(&["Switchboard.lan".to_owned(), "192.168.1.10".to_owned()]);
        assert!(policy.allows("switchboard.lan:7352"));
        assert!(policy.allows("192.168.1.10:7352"));
        assert!(!policy.allows("other.lan"));
    }
}
