//! The HTTP server on loopback: the router, its guard chain, and starting and stopping it.
//!
//! `router(state)` is apart from `start` so tests can drive it with `oneshot` as well as over a real port.

mod anthropic;
mod body;
mod gemini;
mod guards;
pub mod inprocess;
mod openai;
mod relay;
mod responses;
mod routes;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{AUTHORIZATION, HeaderName};
use axum::middleware;
use axum::serve::ListenerExt;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::apps::{AppRegistry, LimitHits};
use crate::config::{Config, ServerConfig};
use crate::ledger::Ledger;
use crate::metrics::Refusal;
use crate::models::ModelList;
use crate::providers::{HttpSettings, Registry, http_client};
use crate::routing::{Imported, Memory, Resolver};
use crate::secrets::SecretStore;

pub use guards::HostPolicy;

/// What the fuzz targets in `fuzz/` drive: the relay's SSE splitter and event reader, and each client protocol's
/// request decoder, answer encoder and stream encoder. Not an API: nothing else may use it.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::relay::wire::{Client, Encoder, EventSplitter, Watch, event_fields};
}

/// Everything a request handler may read. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    /// Swapped whole when the configuration changes; a request holds the `Arc` it started with.
    apps: RwLock<Arc<AppRegistry>>,
    hosts: HostPolicy,
    allowed_origins: Vec<String>,
    resolver: RwLock<Arc<Resolver>>,
    /// What the newest price catalog import said models can do; kept across configuration changes.
    imported: RwLock<Arc<Imported>>,
    /// Target health, sticky conversations and hosts without `/responses`, kept across configuration changes.
    memory: Arc<Memory>,
    /// Each provider's model ids, as its models endpoint last listed them (filled in the background).
    provider_models: RwLock<Vec<(String, Vec<String>)>>,
    http: reqwest::Client,
    http_settings: HttpSettings,
    /// Where request records go; `None` runs without a ledger (tests of the bare server).
    ledger: Option<Ledger>,
}

impl AppState {
    /// The gateway's state from its configuration. Provider keys are read from `secrets` here, once; the
    /// request path never touches the keychain.
    pub fn build(
        config: &Config,
        mut apps: AppRegistry,
        secrets: &dyn SecretStore,
        ledger: Option<Ledger>,
    ) -> Result<AppState, String> {
        apps.open_windows(&config.limits, None);
        let http_settings = HttpSettings::default();
        let http = http_client(&http_settings, None)?;
        let registry = Registry::from_config(&config.providers, secrets, &http, &http_settings)?;
        if let Some(ledger) = &ledger {
            ledger.set_logging(&config.logging);
        }
        Ok(AppState {
            inner: Arc::new(StateInner {
                apps: RwLock::new(Arc::new(apps)),
                hosts: HostPolicy::new(&config.server.allowed_hosts),
                allowed_origins: config.server.allowed_origins.clone(),
                resolver: RwLock::new(Arc::new(Resolver::new(registry, &config.aliases, &config.models))),
                imported: RwLock::default(),
                memory: Arc::new(Memory::default()),
                provider_models: RwLock::new(Vec::new()),
                http,
                http_settings,
                ledger,
            }),
        })
    }

    /// Applies a changed configuration (providers, aliases, models, apps and their limits, logging) to the next
    /// request, without a restart. Rate-limit windows carry over (see `crate::limits`).
    /// Server settings (port, hosts, origins) need a restart.
    pub fn reload(&self, config: &Config, mut apps: AppRegistry, secrets: &dyn SecretStore) -> Result<(), String> {
        let inner = &self.inner;
        let registry = Registry::from_config(&config.providers, secrets, &inner.http, &inner.http_settings)?;
        inner.memory.restore(&registry);
        let resolver = Resolver::new(registry, &config.aliases, &config.models);
        apps.open_windows(&config.limits, Some(&self.apps()));
        {
            // The catalog is read under the resolver's lock, so an import landing meanwhile is not lost.
            let mut current = inner.resolver.write().unwrap_or_else(|p| p.into_inner());
            let imported = inner.imported.read().unwrap_or_else(|p| p.into_inner()).clone();
            *current = Arc::new(resolver.with_imported(imported));
        }
        *inner.apps.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(apps);
        if let Some(ledger) = &inner.ledger {
            ledger.set_logging(&config.logging);
        }
        self.refresh_models();
        Ok(())
    }

    /// Routes the next request with `imported` (the newest price catalog import's capabilities) below the shipped
    /// facts. Called at start and after every import; nothing else changes.
    pub fn set_model_catalog(&self, imported: Imported) {
        let imported = Arc::new(imported);
        let inner = &self.inner;
        *inner.imported.write().unwrap_or_else(|p| p.into_inner()) = imported.clone();
        let mut resolver = inner.resolver.write().unwrap_or_else(|p| p.into_inner());
        *resolver = Arc::new(resolver.rebuilt_with(imported));
    }

    pub fn resolver(&self) -> Arc<Resolver> {
        self.inner.resolver.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn ledger(&self) -> Option<Ledger> {
        self.inner.ledger.clone()
    }

    /// Counts a request refused before routing into `/metrics`, when it is served (the ledger's metrics); nothing
    /// else otherwise.
    pub(crate) fn refused(&self, reason: Refusal) {
        if let Some(metrics) = self.inner.ledger.as_ref().and_then(Ledger::metrics) {
            metrics.refused(reason);
        }
    }

    pub fn memory(&self) -> Arc<Memory> {
        self.inner.memory.clone()
    }

    pub(crate) fn apps(&self) -> Arc<AppRegistry> {
        self.inner.apps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Which limit last refused a request, per app and for all apps together (from memory, since the limits were
    /// set or the gateway started).
    pub fn limit_hits(&self) -> LimitHits {
        self.apps().limit_hits()
    }

    /// Asks every provider for its models, in the background; `/v1/models` shows them as they arrive.
    pub fn refresh_models(&self) {
        let resolver = self.resolver();
        for provider in resolver.registry().iter() {
            let provider = provider.clone();
            let state = self.clone();
            tokio::spawn(async move {
                let id = provider.id().to_owned();
                let models = match provider.models_request() {
                    None => provider.preset().shipped_models.iter().map(|m| (*m).to_owned()).collect(),
                    Some(request) => match fetch_models(request).await {
                        Ok(body) => provider.parse_models(&body),
                        Err(error) => {
                            tracing::warn!(provider = %id, error = %provider.redact(&error), "could not list models");
                            return;
                        }
                    },
                };
                let mut all = state.inner.provider_models.write().unwrap_or_else(|p| p.into_inner());
                all.retain(|(p, _)| p != &id);
                all.push((id, models));
                all.sort_by(|a, b| a.0.cmp(&b.0));
            });
        }
    }

    /// Aliases, their targets, then every provider's listed models, without repeats.
    pub fn model_list(&self) -> ModelList {
        let resolver = self.resolver();
        let mut list = ModelList::aliases(resolver.alias_names(), &resolver);
        let all = self.inner.provider_models.read().unwrap_or_else(|p| p.into_inner());
        for (provider, models) in all.iter() {
            for model in models {
                list.push(format!("{provider}/{model}"), provider);
            }
        }
        list
    }
}

async fn fetch_models(request: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
    let response = request.timeout(Duration::from_secs(15)).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the models endpoint answered {status}"));
    }
    response.json().await.map_err(|e| e.to_string())
}

static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static API_KEY: HeaderName = HeaderName::from_static("api-key");
static X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface. Guards run outermost-first: header bounds (a 431 before anything reads the head), then
/// Host/Origin with CORS for allow-listed pages (cheap, and no token oracle for a rebinding page; preflights end
/// there), then the app token on `/v1` and `/v1beta`, then the body limit and the body timeout (read in `body.rs`).
///
/// Tracing never records header values: the request span carries method, path (not the query, where Gemini-style
/// clients put `?key=`), version and request id, and responses are logged without headers. The token and key
/// headers are also marked sensitive, so any `Debug` of them anywhere prints `Sensitive`.
pub fn router(state: AppState, server: &ServerConfig) -> Router {
    let v1 = routes::v1().layer(middleware::from_fn_with_state(state.clone(), guards::require_app_token));
    let v1beta = gemini::v1beta().layer(middleware::from_fn_with_state(state.clone(), guards::require_app_token));
    let sensitive = [AUTHORIZATION, X_API_KEY.clone(), API_KEY.clone(), X_GOOG_API_KEY.clone()];
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let request_id = request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::debug_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                version = ?request.version(),
                request_id,
            )
        })
        .on_response(DefaultOnResponse::new().include_headers(false));
    Router::new()
        .merge(routes::public())
        .nest("/v1", v1)
        .nest("/v1beta", v1beta)
        .fallback(routes::unknown_route)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(server.max_body_mb * 1024 * 1024))
        .layer(Extension(body::BodyTimeout(Duration::from_secs(server.body_timeout_secs))))
        .layer(middleware::from_fn_with_state(state.clone(), guards::check_host_and_origin))
        .layer(middleware::from_fn_with_state(state.clone(), guards::check_header_bounds))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new(sensitive))
                .layer(SetRequestIdLayer::new(X_REQUEST_ID.clone(), RequestIds::new()))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone())),
        )
        .with_state(state)
}

/// Request ids unique within a run and unlikely to repeat across runs: this start's time, then a counter
/// (`req-18c3f0a2b4d-000001`). A random UUID per request cost a system call each.
#[derive(Clone)]
struct RequestIds {
    run: u64,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> RequestIds {
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
        RequestIds { run: run as u64, next: Arc::default() }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        axum::http::HeaderValue::from_str(&format!("req-{:x}-{n:06}", self.run)).ok().map(RequestId::new)
    }
}

/// Why the server could not start, with the fix a person can apply.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("port {port} on {bind} is already in use")]
    PortInUse { bind: std::net::IpAddr, port: u16 },
    #[error("cannot listen on {bind}:{port}: {source}")]
    Bind { bind: std::net::IpAddr, port: u16, source: std::io::Error },
}

impl StartError {
    /// One sentence saying what to do about it.
    pub fn fix(&self) -> String {
        match self {
            StartError::PortInUse { port, .. } => format!(
                "another program (perhaps another Switchboard) is using port {port}: quit it, or choose another \
                 port (SWITCHBOARD_PORT=N for the app, --port N for switchboard-gateway)"
            ),
            StartError::Bind { bind, .. } => {
                format!("check that {bind} is an address of this machine, or use the default 127.0.0.1")
            }
        }
    }
}

/// A server that is accepting connections. Dropping it does not stop it; call `shutdown`.
pub struct RunningServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Binds `config.server.bind:port` (port 0 picks a free one) and starts serving `state`.
    pub async fn start(config: &Config, state: AppState) -> Result<RunningServer, StartError> {
        let (bind, port) = (config.server.bind, config.server.port);
        let listener = TcpListener::bind((bind, port)).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                StartError::PortInUse { bind, port }
            } else {
                StartError::Bind { bind, port, source }
            }
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { bind, port, source })?;
        state.refresh_models();
        let app = router(state, &config.server);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        // Without TCP_NODELAY on accepted sockets, Nagle's algorithm meets the client's delayed ACK and adds ~40 ms
        // to responses whose headers and body leave in separate writes.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await
        });
        tracing::info!(%addr, "gateway listening on http://{addr}/v1");
        Ok(RunningServer { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-style base URL clients are given.
    pub fn endpoint(&self) -> String {
        endpoint_url(self.addr)
    }

    /// Stops accepting, lets requests in flight finish for up to `grace`, then returns.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        match tokio::time::timeout(grace, self.task).await {
            Ok(Ok(Err(error))) => tracing::warn!(%error, "gateway stopped with an error"),
            Ok(_) => tracing::info!("gateway stopped"),
            Err(_) => tracing::warn!("gateway did not stop within {grace:?}; requests were cut off"),
        }
    }

    /// Resolves when the server stops by itself (an accept-loop error).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

/// `http://127.0.0.1:7352/v1` for a listener address; IPv6 in brackets.
pub fn endpoint_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v1")
}
