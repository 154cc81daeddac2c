//! Runs the gateway core inside the app and tells the window how it is doing.
//!
//! The status is a small value behind a std mutex that is never held across an await; every change is also
//! emitted to the window as a `gateway-status` event.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use switchboard_gateway::apps::AppRegistry;
use switchboard_gateway::config::DEFAULT_PORT;
use switchboard_gateway::ledger::Ledger;
use switchboard_gateway::ledger::prices::Prices;
use switchboard_gateway::secrets::SecretStore;
use switchboard_gateway::server::{AppState, endpoint_url};
use switchboard_gateway::store::Store;
use switchboard_gateway::{Config, RunningServer};
use tauri::{AppHandle, Emitter};

pub const STATUS_EVENT: &str = "gateway-status";
/// Overrides the port for this run (tests use it; a Settings page will store it).
pub const PORT_ENV: &str = "SWITCHBOARD_PORT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum GatewayState {
    Starting,
    Listening,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayError {
    pub message: String,
    pub fix: String,
}

/// What the header shows. Mirrors `GatewayStatus` in `ui/src/api/types.ts`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    pub state: GatewayState,
    pub endpoint: String,
    pub port: u16,
    pub bind: String,
    pub error: Option<GatewayError>,
    /// Set when provider keys cannot be stored or read (no OS keychain).
    pub keychain_error: Option<GatewayError>,
}

/// Where the desktop gateway listens. Until the Settings page stores this, it is the default port, or
/// `SWITCHBOARD_PORT` when set.
pub fn settings_from_env() -> Config {
    let mut config = Config::default();
    match std::env::var(PORT_ENV).ok().map(|p| p.parse::<u16>()) {
        Some(Ok(port)) => config.server.port = port,
        Some(Err(_)) => tracing::warn!("{PORT_ENV} is not a port number; using {DEFAULT_PORT}"),
        None => {}
    }
    config
}

#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppHandle,
    /// Server settings; providers, aliases and apps come from the store.
    config: Config,
    store: Store,
    secrets: Arc<dyn SecretStore>,
    status: Mutex<GatewayStatus>,
    state: Mutex<Option<AppState>>,
    ledger: Mutex<Option<Ledger>>,
    server: tokio::sync::Mutex<Option<RunningServer>>,
}

impl Gateway {
    pub fn new(
        app: AppHandle,
        config: Config,
        store: Store,
        (secrets, keychain_error): (Arc<dyn SecretStore>, Option<String>),
    ) -> Gateway {
        let bind = config.server.bind;
        let port = config.server.port;
        let status = GatewayStatus {
            state: GatewayState::Starting,
            endpoint: endpoint_url(SocketAddr::new(bind, port)),
            port,
            bind: bind.to_string(),
            error: None,
            keychain_error: keychain_error.map(|message| GatewayError {
                message,
                fix: "start a keyring (GNOME Keyring, KWallet) in your desktop session, then restart Switchboard"
                    .into(),
            }),
        };
        Gateway {
            inner: Arc::new(Inner {
                app,
                config,
                store,
                secrets,
                status: Mutex::new(status),
                state: Mutex::new(None),
                ledger: Mutex::new(None),
                server: tokio::sync::Mutex::new(None),
            }),
        }
    }

    pub fn status(&self) -> GatewayStatus {
        self.inner.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.inner.secrets
    }

    /// The running gateway's state, once it has started.
    pub fn state(&self) -> Option<AppState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Providers, aliases and apps from the store, keys from the keychain: blocking work, run off the async threads.
    async fn load(&self) -> Result<(Config, AppRegistry), String> {
        let (store, base) = (self.inner.store.clone(), self.inner.config.clone());
        tokio::task::spawn_blocking(move || {
            store.refresh_default_aliases().map_err(|e| e.to_string())?;
            let config = store.gateway_config(&base).map_err(|e| e.to_string())?;
            let apps = store.app_registry().map_err(|e| e.to_string())?;
            Ok((config, apps))
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Starts listening. A failure (most often: the port is taken) is shown in the window and logged with its fix;
    /// the app keeps running either way.
    pub async fn start(&self) {
        let ledger = match self.start_ledger() {
            Ok(ledger) => Some(ledger),
            Err(error) => {
                // Requests still work; they are just not recorded. The log says why.
                tracing::error!(%error, "the usage ledger could not start");
                None
            }
        };
        *self.inner.ledger.lock().unwrap_or_else(|p| p.into_inner()) = ledger.clone();
        let built = match self.load().await {
            Ok((config, apps)) => {
                let secrets = self.inner.secrets.clone();
                tokio::task::spawn_blocking(move || AppState::build(&config, apps, secrets.as_ref(), ledger))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            Err(message) => Err(message),
        };
        let state = match built {
            Ok(state) => state,
            Err(message) => {
                tracing::error!(%message, "the local endpoint could not be configured");
                let fix = "check the provider settings, or move the data folder aside to start fresh".to_owned();
                self.update(|s| {
                    s.state = GatewayState::Failed;
                    s.error = Some(GatewayError { message, fix });
                });
                return;
            }
        };
        *self.inner.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        match RunningServer::start(&self.inner.config, state).await {
            Ok(server) => {
                let addr = server.local_addr();
                *self.inner.server.lock().await = Some(server);
                self.update(|s| {
                    s.state = GatewayState::Listening;
                    s.endpoint = endpoint_url(addr);
                    s.port = addr.port();
                    s.error = None;
                });
            }
            Err(error) => {
                let fix = error.fix();
                tracing::error!(%error, %fix, "the local endpoint could not start");
                self.update(|s| {
                    s.state = GatewayState::Failed;
                    s.error = Some(GatewayError { message: error.to_string(), fix });
                });
            }
        }
    }

    /// Applies what the user just changed (providers, keys, aliases, apps) to the next request.
    pub async fn reload(&self) -> Result<(), String> {
        let Some(state) = self.state() else { return Ok(()) };
        let (config, apps) = self.load().await?;
        let secrets = self.inner.secrets.clone();
        tokio::task::spawn_blocking(move || state.reload(&config, apps, secrets.as_ref()))
            .await
            .map_err(|e| e.to_string())?
    }

    fn start_ledger(&self) -> Result<Ledger, String> {
        let store = &self.inner.store;
        let path = store.path().ok_or("the database has no file")?.to_owned();
        let ledger =
            Ledger::start(&path, Prices::load(store).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        ledger.reload_budgets(store).map_err(|e| e.to_string())?;
        Ok(ledger)
    }

    pub async fn stop(&self) {
        if let Some(server) = self.inner.server.lock().await.take() {
            server.shutdown(Duration::from_secs(2)).await;
        }
        let ledger = self.inner.ledger.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(ledger) = ledger {
            ledger.shutdown().await;
        }
    }

    fn update(&self, change: impl FnOnce(&mut GatewayStatus)) {
        let status = {
            let mut status = self.inner.status.lock().unwrap_or_else(|p| p.into_inner());
            change(&mut status);
            status.clone()
        };
        if let Err(error) = self.inner.app.emit(STATUS_EVENT, &status) {
            tracing::warn!(%error, "could not tell the window about the gateway status");
        }
    }
}
