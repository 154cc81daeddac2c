//! `[store]`: where the headless gateway keeps its shared state. Without `url` it is the SQLite file in the data
//! folder; with `url = "postgres://…"` the ledger, its rollups, the app registry and budget spend live in PostgreSQL,
//! shared by every replica that names the same database.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often each replica reads every replica's spend, for its budgets, unless `budget_refresh_ms` says otherwise.
pub const DEFAULT_BUDGET_REFRESH_MS: u64 = 2_000;
/// Rows kept in memory while PostgreSQL cannot be reached, unless `max_queued_rows` says otherwise: at a hundred
/// requests a second, a quarter of an hour of traffic, in about 100 MB at most.
pub const DEFAULT_MAX_QUEUED_ROWS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://USER@HOST:PORT/DATABASE` (the headless gateway only; the desktop app stays on SQLite). Any
    /// libpq-style URL parameter tokio-postgres knows is accepted (`sslmode`, `connect_timeout`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable holding the database password, so that it need not be written into `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// How often each replica reads the spend of all replicas for its budgets, in ms.
    pub budget_refresh_ms: u64,
    /// Ledger rows kept in memory while the database is away; past this many the oldest are dropped (and said).
    pub max_queued_rows: usize,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            url: None,
            password_env: None,
            budget_refresh_ms: DEFAULT_BUDGET_REFRESH_MS,
            max_queued_rows: DEFAULT_MAX_QUEUED_ROWS,
        }
    }
}

impl StoreConfig {
    /// Whether the shared state lives in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.is_some()
    }

    pub fn budget_refresh(&self) -> Duration {
        Duration::from_millis(self.budget_refresh_ms)
    }

    /// The checks made when the configuration is read: a URL tokio-postgres understands, sensible numbers.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(format!(
                    "store.url {:?} is not a PostgreSQL URL; write it as postgres://USER@HOST:PORT/DATABASE",
                    super::redact(url)
                ));
            }
            url.parse::<tokio_postgres::Config>().map_err(|e| {
                format!(
                    "store.url {:?} cannot be read ({e}); write it as postgres://USER@HOST:PORT/DATABASE",
                    super::redact(url)
                )
            })?;
        } else if self.password_env.is_some() {
            return Err("store.password_env is set but store.url is not; add url = \"postgres://…\"".into());
        }
        if !(100..=60_000).contains(&self.budget_refresh_ms) {
            return Err(format!(
                "store.budget_refresh_ms = {} is out of range; use 100 to 60000 (the default is {DEFAULT_BUDGET_REFRESH_MS})",
                self.budget_refresh_ms
            ));
        }
        if self.max_queued_rows < 1_000 {
            return Err(format!(
                "store.max_queued_rows = {} is too small to ride out a restart of the database; use at least 1000 \
                 (the default is {DEFAULT_MAX_QUEUED_ROWS})",
                self.max_queued_rows
            ));
        }
        Ok(())
    }
}
