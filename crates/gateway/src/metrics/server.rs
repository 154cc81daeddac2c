//! The metrics listener: `GET /metrics` on a port of its own, behind an optional bearer token. Nothing else is
//! served there, and nothing of it on the API's port.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::config::MetricsConfig;
use crate::error::ApiError;
use crate::server::StartError;

/// Who may scrape: anyone who reaches the port, or only those sending the token.
#[derive(Clone)]
pub enum Scrapers {
    Anyone,
    /// The SHA-256 digest of the token, compared in constant time.
    WithToken([u8; 32]),
}

impl Scrapers {
    /// From `[metrics]`: with `token_env`, only those sending that variable's token, which must be set (the gateway
    /// refuses to start rather than serve metrics to anyone).
    pub fn from_config(config: &MetricsConfig, env: impl Fn(&str) -> Option<String>) -> Result<Scrapers, String> {
        let Some(var) = &config.token_env else { return Ok(Scrapers::Anyone) };
        match env(var) {
            Some(token) if !token.trim().is_empty() => {
                Ok(Scrapers::token(&SecretString::from(token.trim().to_owned())))
            }
            _ => Err(format!("metrics.token_env names {var}, which is not set: set it to the token scrapes must send")),
        }
    }

    pub fn token(token: &SecretString) -> Scrapers {
        Scrapers::WithToken(Sha256::digest(token.expose_secret().as_bytes()).into())
    }

    fn allow(&self, headers: &HeaderMap) -> bool {
        let Scrapers::WithToken(digest) = self else { return true };
        let sent = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        sent.is_some_and(|sent| {
            let sent: [u8; 32] = Sha256::digest(sent.trim().as_bytes()).into();
            bool::from(sent.ct_eq(digest))
        })
    }
}

#[derive(Clone)]
struct ScrapeState {
    metrics: Metrics,
    scrapers: Scrapers,
}

/// The metrics listener's routes: `/metrics`, and a 404 for anything else.
pub fn router(metrics: Metrics, scrapers: Scrapers) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { ApiError::not_found("only /metrics is served here").into_response() })
        .with_state(ScrapeState { metrics, scrapers })
}

async fn scrape(State(state): State<ScrapeState>, headers: HeaderMap) -> Response {
    if !state.scrapers.allow(&headers) {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing or wrong scrape token: send the token named by metrics.token_env as `Authorization: Bearer <token>`",
        )
        .code("invalid_api_key")
        .into_response();
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    // Rendered into a string first: the families' locks are released before a byte is written to the socket.
    let text = state.metrics.render();
    ([(CONTENT_TYPE, HeaderValue::from_static(super::CONTENT_TYPE))], text).into_response()
}

/// A metrics listener that is accepting connections. Dropping it does not stop it; call `shutdown`.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl MetricsServer {
    /// Binds `bind:port` (port 0 picks a free one) and serves `/metrics` there.
    pub async fn start(
        bind: IpAddr,
        port: u16,
        metrics: Metrics,
        scrapers: Scrapers,
    ) -> Result<MetricsServer, StartError> {
        let listener = TcpListener::bind((bind, port)).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                StartError::PortInUse { bind, port }
            } else {
                StartError::Bind { bind, port, source }
            }
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { bind, port, source })?;
        if !bind.is_loopback() && matches!(scrapers, Scrapers::Anyone) {
            tracing::warn!(%addr, "metrics are open to anyone who can reach {addr}: set metrics.token_env");
        }
        let app = router(metrics, scrapers);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await
        });
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
        Ok(MetricsServer { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits up to `grace` for scrapes in flight.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!("the metrics listener did not stop within {grace:?}");
        }
    }
}
