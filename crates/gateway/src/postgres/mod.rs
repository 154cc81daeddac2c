//! PostgreSQL as the shared store of a team's headless replicas (`[store] url = "postgres://…"`).
//!
//! Every replica that names the same database writes its ledger rows there (with the hourly and daily rollups, in
//! the same transaction), registers the configuration's apps there (so an app has one id everywhere, and its
//! spend is one sum), and reads every replica's spend from there every `budget_refresh_ms` for its budgets. The
//! request path never waits on it: rows go through the ledger's writer (`ledger/pg_writer.rs`), which keeps them in
//! memory while the database is away and writes them once it is back.
//!
//! - `config.rs`: the `[store]` section.
//! - `schema.rs`: the versioned migrations, applied under an advisory lock so replicas starting together agree.
//! - `error.rs`: what went wrong, said with the host and what to check.
//! - `ledger.rs`: a batch of rows in one transaction (idempotent: a batch retried after a lost commit is not counted
//!   twice), the spend sums for budgets, expired bodies.
//! - `apps.rs`: the app registry: the configuration's apps and their budgets, by name.
//! - `report.rs`: `switchboard-gateway usage` over the shared ledger.
//!
//! The client is tokio-postgres with a small deadpool pool (chosen over sqlx: no macros, no compile-time database,
//! a fraction of the dependencies); TLS is rustls with the platform's verifier, as for providers.

mod apps;
mod config;
mod error;
mod ledger;
mod report;
mod schema;
mod tls;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

pub use apps::Registered;
pub use config::{DEFAULT_BUDGET_REFRESH_MS, DEFAULT_MAX_QUEUED_ROWS, StoreConfig};
pub use error::PgError;
pub use ledger::SpendSums;
pub(crate) use ledger::insert_batch;

/// How long connecting may take before the database counts as unreachable (unless the URL sets `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections kept open per replica: the ledger writer, the budget refresh, a report.
const POOL_SIZE: usize = 4;

/// A pool of connections to the shared database, migrated and ready. Cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    /// `user@host:port/database`, for messages; never the password.
    target: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to `config.url` (the password from `config.password_env` when set), says clearly why when it
    /// cannot, and brings the schema up to date. `env` reads environment variables.
    pub async fn connect(config: &StoreConfig, env: impl Fn(&str) -> Option<String>) -> Result<Postgres, PgError> {
        let url = config.url.as_deref().ok_or(PgError::NoUrl)?;
        let mut pg: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| PgError::Url(format!("{e}")))?;
        if let Some(var) = &config.password_env {
            let password = env(var).filter(|p| !p.is_empty()).ok_or_else(|| PgError::NoPassword(var.clone()))?;
            pg.password(password);
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("switchboard-gateway");
        }
        let target = describe(&pg);
        let tls = tls::connector();
        // The first connection is made by hand, so that its error (refused, timed out, wrong password, no such
        // database) reaches the person starting the gateway as it is, not as a pool's timeout.
        let (mut client, connection) =
            pg.connect(tls.clone()).await.map_err(|e| PgError::from_connect(&target, pg.get_user(), &e))?;
        let task = tokio::spawn(connection);
        schema::migrate(&mut client).await.map_err(|e| e.at(&target))?;
        drop(client);
        let _ = task.await;

        let manager = Manager::from_config(pg, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| PgError::Query(format!("cannot make the connection pool: {e}")))?;
        Ok(Postgres { pool, target })
    }

    /// `user@host:port/database`.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        self.pool.get().await.map_err(|error| {
            // The pool's own words ("error connecting to server") hide why: add the innermost cause.
            let mut cause = std::error::Error::source(&error);
            let mut said = error.to_string();
            while let Some(inner) = cause {
                said = format!("{error}: {inner}");
                cause = inner.source();
            }
            PgError::Pool(said)
        })
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `user@host:port/database` from a parsed configuration (the first host when it names several).
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let user = pg.get_user().unwrap_or("(no user)");
    let db = pg.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(redact("postgres://sb:hunter2@db:5432/sb"), "postgres://sb:***@db:5432/sb");
        assert_eq!(redact("postgres://sb@db/sb?sslmode=require"), "postgres://sb@db/sb?sslmode=require");
        assert_eq!(redact("postgresql://sb:p%40ss@db"), "postgresql://sb:***@db");
        let pg: tokio_postgres::Config = "postgres://sb:hunter2@db.internal:6543/ledger".parse().unwrap();
        assert_eq!(describe(&pg), "sb@db.internal:6543/ledger");
        assert!(!format!("{pg:?}").is_empty());
    }

    #[test]
    fn the_store_section_is_checked_when_read() {
        let ok = StoreConfig { url: Some("postgres://sb@db/sb".into()), ..StoreConfig::default() };
        assert_eq!(ok.validate(), Ok(()));
        let mysql = StoreConfig { url: Some("mysql://sb:pw@db/sb".into()), ..ok.clone() };
        let err = mysql.validate().unwrap_err();
        assert!(err.contains("not a PostgreSQL URL") && !err.contains("pw@"), "{err}");
        let fast = StoreConfig { budget_refresh_ms: 10, ..ok.clone() };
        assert!(fast.validate().unwrap_err().contains("budget_refresh_ms"));
        let small = StoreConfig { max_queued_rows: 10, ..ok };
        assert!(small.validate().unwrap_err().contains("max_queued_rows"));
        let orphan = StoreConfig { password_env: Some("PW".into()), ..StoreConfig::default() };
        assert!(orphan.validate().unwrap_err().contains("store.url is not"));
    }
}
