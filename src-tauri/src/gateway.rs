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
use switchboard_gateway::ledger::prices::Prices;
use switchboard_gateway::ledger::{Ledger, clock, queries};
use switchboard_gateway::providers::balance::{self, Balances, Reader, Reading};
use switchboard_gateway::secrets::SecretStore;
use switchboard_gateway::server::{AppState, endpoint_url};
use switchboard_gateway::store::Store;
use switchboard_gateway::{Config, RunningServer};
use tauri::{AppHandle, Emitter};
use tauri_plugin_notification::NotificationExt;

pub const STATUS_EVENT: &str = "gateway-status";
/// Emitted with the newest ledger row id after every batch the ledger writes (Logs and Usage follow it).
pub const LEDGER_EVENT: &str = "ledger-written";
/// Overrides the stored port for this run (tests use it).
pub const PORT_ENV: &str = "SWITCHBOARD_PORT";
/// Below this much left (in each balance's own currency) a provider's balance is low: the tray's "today" line shows
/// it. Five dollars is a day or two of heavy agent use; the `balances.low_below` setting changes it.
pub const LOW_BALANCE: f64 = 5.0;
pub const LOW_BALANCE_SETTING: &str = "balances.low_below";
/// The server settings the Settings page stores (JSON values in the store).
pub use switchboard_gateway::store::{ALLOWED_HOSTS_SETTING, ALLOWED_ORIGINS_SETTING, BIND_SETTING, PORT_SETTING};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum GatewayState {
    Starting,
    Listening,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GatewayError {
    pub message: String,
    pub fix: String,
}

/// What the header shows (generated into `ui/src/api/generated/GatewayStatus.ts`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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

/// Where the desktop gateway listens before the stored settings are read: the default port, or `SWITCHBOARD_PORT`.
pub fn settings_from_env() -> Config {
    let mut config = Config::default();
    if let Some(port) = port_from_env() {
        config.server.port = port;
    }
    config
}

/// `SWITCHBOARD_PORT`, when it is set to a port number; it wins over the stored port for this run.
pub fn port_from_env() -> Option<u16> {
    match std::env::var(PORT_ENV).ok().map(|p| p.parse::<u16>()) {
        Some(Ok(port)) => Some(port),
        Some(Err(_)) => {
            tracing::warn!("{PORT_ENV} is not a port number; using the stored port or {DEFAULT_PORT}");
            None
        }
        None => None,
    }
}

/// The stored server settings over `base`, with `SWITCHBOARD_PORT` still winning. Blocking (SQLite).
pub fn server_settings(store: &Store, base: &Config) -> Result<Config, String> {
    let mut config = base.clone();
    let text = |e: switchboard_gateway::store::StoreError| e.to_string();
    if let Some(port) = store.get_setting::<u16>(PORT_SETTING).map_err(text)? {
        config.server.port = port;
    }
    if let Some(bind) = store.get_setting::<String>(BIND_SETTING).map_err(text)? {
        config.server.bind =
            bind.parse().map_err(|_| format!("the stored bind address {bind:?} is not an IP address"))?;
    }
    if let Some(hosts) = store.get_setting::<Vec<String>>(ALLOWED_HOSTS_SETTING).map_err(text)? {
        config.server.allowed_hosts = hosts;
    }
    if let Some(origins) = store.get_setting::<Vec<String>>(ALLOWED_ORIGINS_SETTING).map_err(text)? {
        config.server.allowed_origins = origins;
    }
    if let Some(port) = port_from_env() {
        config.server.port = port;
    }
    Ok(config)
}

#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppHandle,
    /// Server settings (from the store, then `SWITCHBOARD_PORT`); providers, aliases and apps come from the store.
    config: Mutex<Config>,
    store: Store,
    secrets: Arc<dyn SecretStore>,
    status: Mutex<GatewayStatus>,
    state: Mutex<Option<AppState>>,
    ledger: Mutex<Option<Ledger>>,
    server: tokio::sync::Mutex<Option<RunningServer>>,
    /// The providers' latest balance readings.
    balances: Balances,
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
                config: Mutex::new(config),
                store,
                secrets,
                status: Mutex::new(status),
                state: Mutex::new(None),
                ledger: Mutex::new(None),
                server: tokio::sync::Mutex::new(None),
                balances: Balances::default(),
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

    /// The ledger, once it has started (`None` if it could not).
    pub fn ledger(&self) -> Option<Ledger> {
        self.inner.ledger.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The server settings in use.
    pub fn config(&self) -> Config {
        self.inner.config.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The running gateway's state, once it has started.
    pub fn state(&self) -> Option<AppState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Providers, aliases and apps from the store, keys from the keychain: blocking work, run off the async threads.
    async fn load(&self) -> Result<(Config, AppRegistry), String> {
        let (store, base) = (self.inner.store.clone(), self.config());
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
        let (store, base) = (self.inner.store.clone(), self.config());
        match tokio::task::spawn_blocking(move || server_settings(&store, &base)).await {
            Ok(Ok(config)) => *self.inner.config.lock().unwrap_or_else(|p| p.into_inner()) = config,
            Ok(Err(error)) => tracing::error!(%error, "the stored server settings are unreadable; using the defaults"),
            Err(error) => tracing::error!(%error, "could not read the server settings"),
        }
        let ledger = match self.start_ledger() {
            Ok(ledger) => Some(ledger),
            Err(error) => {
                // Requests still work; they are just not recorded. The log says why.
                tracing::error!(%error, "the usage ledger could not start");
                None
            }
        };
        *self.inner.ledger.lock().unwrap_or_else(|p| p.into_inner()) = ledger.clone();
        if let Some(ledger) = &ledger {
            self.follow_ledger(ledger);
            self.notify_budget_warnings(ledger);
        }
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
        let store = self.inner.store.clone();
        match tokio::task::spawn_blocking(move || switchboard_gateway::catalog::imported_capabilities(&store)).await {
            Ok(Ok(imported)) => state.set_model_catalog(imported),
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not read the imported model catalog; using the shipped one")
            }
            Err(error) => tracing::warn!(%error, "could not read the imported model catalog"),
        }
        *self.inner.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.clone());
        self.watch_balances();
        let mut server = self.inner.server.lock().await;
        self.listen(&mut server, state).await;
    }

    pub fn balances(&self) -> &Balances {
        &self.inner.balances
    }

    /// The low-balance line (`balances.low_below`, else [`LOW_BALANCE`]).
    pub async fn low_balance(&self) -> f64 {
        let stored = self.inner.store.call(|store| store.get_setting::<f64>(LOW_BALANCE_SETTING)).await;
        stored.ok().flatten().filter(|n| n.is_finite() && *n >= 0.0).unwrap_or(LOW_BALANCE)
    }

    /// Reads the balance of every enabled provider with a balance endpoint and a key, unless it was read less than
    /// `every` ago; answers every provider's latest reading, by id.
    pub async fn refresh_balances(&self, every: Duration) -> Vec<(String, Reading)> {
        let Some(state) = self.state() else { return Vec::new() };
        let resolver = state.resolver();
        let mut providers: Vec<_> = resolver
            .registry()
            .iter()
            .filter(|p| Reader::for_preset(p.preset().id).is_some() && p.key_count() > 0)
            .cloned()
            .collect();
        providers.sort_by(|a, b| a.id().cmp(b.id()));
        self.inner.balances.retain(|id| providers.iter().any(|p| p.id() == id));
        let mut readings = Vec::new();
        for provider in providers {
            let reading =
                self.inner.balances.refresh(provider.as_ref(), every, switchboard_gateway::store::now_ms()).await;
            readings.push((provider.id().to_owned(), reading));
        }
        readings
    }

    /// Keeps balances current for the tray: every few minutes, never at start-up (the first read is one interval in,
    /// or when the Providers page asks).
    fn watch_balances(&self) {
        let gateway = self.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                tokio::time::sleep(Balances::AUTO_EVERY).await;
                gateway.refresh_balances(Balances::AUTO_EVERY).await;
                gateway.refresh_tray().await;
            }
        });
    }

    /// Rewrites the tray's lines in the background (after a balance was read by hand).
    pub fn refresh_tray_soon(&self) {
        let gateway = self.clone();
        tauri::async_runtime::spawn(async move { gateway.refresh_tray().await });
    }

    /// Stops listening and listens again with `config`'s server settings (after the Settings page changed them).
    /// Returns the status afterwards; a port in use shows in it, with its fix, as at start.
    pub async fn restart(&self, config: Config) -> GatewayStatus {
        *self.inner.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
        let Some(state) = self.state() else { return self.status() };
        let mut server = self.inner.server.lock().await;
        if let Some(running) = server.take() {
            running.shutdown(Duration::from_secs(2)).await;
        }
        self.update(|s| s.state = GatewayState::Starting);
        self.listen(&mut server, state).await;
        self.status()
    }

    async fn listen(&self, server: &mut Option<RunningServer>, state: AppState) {
        let config = self.config();
        let bind = config.server.bind;
        match RunningServer::start(&config, state).await {
            Ok(running) => {
                let addr = running.local_addr();
                *server = Some(running);
                self.update(|s| {
                    s.state = GatewayState::Listening;
                    s.endpoint = endpoint_url(addr);
                    s.port = addr.port();
                    s.bind = bind.to_string();
                    s.error = None;
                });
            }
            Err(error) => {
                let fix = error.fix();
                tracing::error!(%error, %fix, "the local endpoint could not start");
                let port = config.server.port;
                self.update(|s| {
                    s.state = GatewayState::Failed;
                    s.endpoint = endpoint_url(SocketAddr::new(bind, port));
                    s.port = port;
                    s.bind = bind.to_string();
                    s.error = Some(GatewayError { message: error.to_string(), fix });
                });
            }
        }
        self.refresh_tray().await;
    }

    /// Shows a desktop notification for every `warn` budget the ledger reports reached (once per budget and period;
    /// the ledger decides that).
    fn notify_budget_warnings(&self, ledger: &Ledger) {
        let mut warnings = ledger.budget_warnings();
        let app = self.inner.app.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let warning = match warnings.recv().await {
                    Ok(warning) => warning,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "budget warnings came faster than they could be shown");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let title = match &warning.app_name {
                    Some(name) => format!("{name} reached its {} budget", warning.period),
                    None => format!("The {} overall budget is reached", warning.period),
                };
                if let Err(error) = app.notification().builder().title(title).body(warning.message()).show() {
                    tracing::warn!(%error, "could not show the budget notification");
                }
            }
        });
    }

    /// Tells the window about every batch the ledger writes, and keeps the tray's "today" line current.
    fn follow_ledger(&self, ledger: &Ledger) {
        let mut written = ledger.subscribe();
        let gateway = self.clone();
        tauri::async_runtime::spawn(async move {
            while written.changed().await.is_ok() {
                let id = *written.borrow_and_update();
                if let Err(error) = gateway.inner.app.emit(LEDGER_EVENT, id) {
                    tracing::warn!(%error, "could not tell the window about new requests");
                }
                gateway.refresh_tray().await;
            }
        });
    }

    /// Today's spend (UTC day) and whether the endpoint listens, in the tray.
    async fn refresh_tray(&self) {
        let now = switchboard_gateway::store::now_ms();
        let spent = self
            .inner
            .store
            .call(move |store| {
                queries::overall(store, clock::day_start(now), i64::MAX)
                    .map_err(|e| switchboard_gateway::store::StoreError::Invalid(e.to_string()))
            })
            .await;
        let status = self.status();
        let mut today = match spent {
            Ok(total) => format!("Today: {}", crate::tray::usd(total.cost_usd)),
            Err(error) => {
                tracing::warn!(%error, "could not read today's spend");
                "Today: unknown".to_owned()
            }
        };
        let readings = self.inner.balances.all();
        let low = balance::lowest_low(readings.iter().map(|(id, r)| (id.as_str(), r)), self.low_balance().await);
        if let Some((provider, amount)) = low {
            today.push_str(&format!(" · {provider} {} left", crate::tray::money(amount.remaining, &amount.currency)));
        }
        let listening = match status.state {
            GatewayState::Listening => format!("Listening on {}", status.endpoint),
            GatewayState::Starting => "Starting…".to_owned(),
            GatewayState::Failed => "Not listening".to_owned(),
        };
        crate::tray::show_state(&self.inner.app, &today, &listening);
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
