//! The one SQLite database: settings, providers (and their key *metadata*), aliases, apps, the request ledger,
//! chat conversations, price overrides and the imported price catalog.
//!
//! # Threading model
//!
//! Every method here is a plain **blocking** function. [`Store`] is `Clone` (an `Arc` inside) and `Send + Sync`,
//! so hand a clone to whoever needs it. Async code must not call these methods on a runtime worker: wrap them with
//! [`Store::call`], which runs a closure on `tokio::task::spawn_blocking`:
//!
//! ```no_run
//! # async fn demo(store: switchboard_gateway::store::Store) -> Result<(), switchboard_gateway::store::StoreError> {
//! let aliases = store.call(|s| s.list_aliases()).await?;
//! # Ok(()) }
//! ```
//!
//! One connection sits behind a `std::sync::Mutex`; calls are short, so they simply take turns. A second connection
//! to the same file is just a second [`Store::open`] (WAL lets one writer and many readers work side by side, and
//! `busy_timeout` makes a writer wait for the other rather than fail); the ledger's batching writer is meant to hold
//! one of its own. The request path never waits on this module (see DESIGN.md, invariant 4).
//!
//! # What is never stored
//!
//! Provider keys live only in the keychain (`secrets/`); `provider_keys` holds a label, an order and at most the
//! last four characters. App tokens are stored only as their SHA-256 digest; the token itself is returned once, by
//! [`Store::create_app`] or [`Store::rotate_token`].
//!
//! # Schema
//!
//! Versions are counted in `PRAGMA user_version` and applied by `migrations.rs`; a database newer than this build is
//! refused rather than touched. Timestamps are INTEGER unix milliseconds (UTC); JSON columns are checked with
//! `json_valid`; every ordinary table is `STRICT`.

mod aliases;
mod apps;
mod catalog;
mod conversations;
mod defaults;
mod migrations;
mod portable;
mod providers;
mod settings;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode};

pub use aliases::{AliasRow, TargetRow};
pub use apps::{AppRow, AppSpec, CHAT_WINDOW_APP, TOKEN_PREFIX, token_digest};
pub use catalog::{NewPriceImport, PriceImportRow};
pub use conversations::{
    ConversationPatch, ConversationRow, MessageRow, NewMessage, SEARCH_LIMIT, SearchHit, searchable_text,
};
pub use defaults::DEFAULT_ALIASES;
pub use migrations::SCHEMA_VERSION;
pub use portable::{
    ALLOWED_HOSTS_SETTING, ALLOWED_ORIGINS_SETTING, BIND_SETTING, Changes, ImportPlan, ImportSummary, MissingKey,
    PORT_SETTING, to_toml,
};
pub use providers::{DEFAULT_KEY_LABEL, ProviderKeyRow, ProviderRow, keychain_account};
pub use snapshot::{ALL_APPS_LIMITS_SETTING, LOGGING_BODIES_SETTING, LOGGING_RETENTION_SETTING};

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// A handle to the database. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    /// `None` for an in-memory database.
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot create the folder {path} for the database: {source}; check that it is writable")]
    CreateDir { path: String, source: std::io::Error },
    #[error("cannot open the database {path}: {source}; check that the file and its folder are writable")]
    Open { path: String, source: rusqlite::Error },
    #[error("{path} is not a Switchboard database; move the file aside to start fresh")]
    NotOurs { path: String },
    #[error(
        "this database was written by a newer Switchboard (schema {found} > {supported}); update Switchboard, \
         or move the file aside to start fresh: {path}"
    )]
    TooNew { found: i64, supported: i64, path: String },
    #[error("cannot upgrade the database {path} to schema {version}: {source}; the file was left as it was")]
    Migrate { path: String, version: i64, source: rusqlite::Error },
    /// The thing asked for does not exist; the message names it.
    #[error("{0}")]
    NotFound(String),
    /// A name (or label) is already taken; the message names it and says what to do.
    #[error("{0}")]
    Conflict(String),
    /// The input does not fit (an empty name, a too-long key hint, …) or the operation is not allowed (deleting the
    /// built-in app); the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A JSON column or setting does not hold what the code expects.
    #[error("{what} in the database is not valid: {source}")]
    Json { what: String, source: serde_json::Error },
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// A `spawn_blocking` task panicked or was cancelled.
    #[error("a database task did not finish: {0}")]
    Task(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date. Calling it twice on the
    /// same file gives two independent connections.
    pub fn open(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::CreateDir { path: parent.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open { path: shown.clone(), source })?;
        configure(&mut conn, &shown)?;
        migrations::migrate(&mut conn, &shown)?;
        Ok(Store { inner: Arc::new(Inner { conn: Mutex::new(conn), path: Some(path.to_owned()) }) })
    }

    /// A private, empty, fully migrated database that vanishes when the last clone drops. For tests.
    pub fn open_in_memory() -> Result<Store> {
        let shown = ":memory:";
        let mut conn =
            Connection::open_in_memory().map_err(|source| StoreError::Open { path: shown.to_owned(), source })?;
        configure(&mut conn, shown)?;
        migrations::migrate(&mut conn, shown)?;
        Ok(Store { inner: Arc::new(Inner { conn: Mutex::new(conn), path: None }) })
    }

    /// The database file, or `None` when in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The schema version the database is at (equal to [`SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<i64> {
        self.with_conn(|conn| Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?))
    }

    /// SQLite's own check of the whole file (`PRAGMA integrity_check`): `["ok"]`, or what is wrong.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
    }

    /// Sums `usage_hourly` again from the requests, in one transaction. The ledger keeps it in step by itself; this
    /// is for rows that arrived another way (an import, a benchmark's bulk load).
    pub fn rebuild_usage_rollup(&self) -> Result<()> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            tx.execute_batch(migrations::ROLLUP_REBUILD)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Runs `f` on tokio's blocking pool with a clone of this store: the way async code calls the blocking methods.
    pub async fn call<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Store) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with the connection held. The building block of every repository in this crate (ledger and chat
    /// included); `f` should be short, and use a transaction when it writes more than one statement.
    pub(crate) fn with_conn<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        // A panic while the lock was held cannot leave a transaction half-applied (rusqlite rolls back on drop), so
        // the connection is still sound: take it back rather than fail every later call.
        let mut conn = self.inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }
}

/// Now, as INTEGER unix milliseconds (the unit of every timestamp column).
pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The pragmas every connection gets. `path` is only for messages.
fn configure(conn: &mut Connection, path: &str) -> Result<()> {
    // Every transaction takes the write lock when it begins (waiting up to the busy timeout): a transaction that
    // reads and then writes would otherwise fail at once with SQLITE_BUSY when another connection (the ledger's
    // writer, the other process) committed in between, since waiting cannot help a stale read snapshot.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    let open_err = |source| StoreError::Open { path: path.to_owned(), source };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // The first statement that reads the file is where a non-database file shows itself.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(|e| {
        if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
            StoreError::NotOurs { path: path.to_owned() }
        } else {
            open_err(e)
        }
    })?;
    // An in-memory database answers "memory"; a file that cannot do WAL (some network file systems) keeps its mode,
    // which SQLite still runs correctly, only with less concurrency.
    if mode != "wal" && mode != "memory" {
        tracing::warn!(path, mode, "the database could not switch to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(open_err)?;
    // 8 MiB of page cache (the default is 2): the ledger's indexes and the dashboard's reads stay in memory. Pages
    // are only cached once touched, so a small database costs no more.
    conn.pragma_update(None, "cache_size", -8192).map_err(open_err)?;
    Ok(())
}

/// Whether `e` is a UNIQUE or PRIMARY KEY violation: how a taken name shows up.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// Reads a JSON column into `T`, naming the column in the error.
fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: impl FnOnce() -> String) -> Result<T> {
    serde_json::from_str(text).map_err(|source| StoreError::Json { what: what(), source })
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: impl FnOnce() -> String) -> Result<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Json { what: what(), source })
}

/// A name the user picks for an alias, provider or app: not empty, no surrounding spaces, no control characters.
fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid(format!("the {kind} name is empty; give it a name")));
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "the {kind} name {name:?} has leading/trailing spaces or control characters; remove them"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A migrated database in a real file, in a folder that is removed when the `TempDir` drops.
    pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("switchboard.db")).expect("open store");
        (dir, store)
    }

    /// Every byte SQLite has written for the database: the main file, the WAL and any rollback journal.
    pub(crate) fn all_file_bytes(store: &Store) -> Vec<u8> {
        let path = store.path().expect("a file-backed store");
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-journal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            if let Ok(content) = std::fs::read(&name) {
                bytes.extend_from_slice(&content);
            }
        }
        bytes
    }

    pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::temp_store;
    use super::*;

    fn pragma<T: rusqlite::types::FromSql>(store: &Store, name: &str) -> T {
        store.with_conn(|c| Ok(c.pragma_query_value(None, name, |r| r.get(0))?)).unwrap()
    }

    #[test]
    fn open_creates_the_folders_and_sets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep").join("er").join("switchboard.db");
        let store = Store::open(&path).unwrap();
        assert!(path.is_file());
        assert_eq!(store.path(), Some(path.as_path()));
        assert_eq!(pragma::<String>(&store, "journal_mode"), "wal");
        assert_eq!(pragma::<i64>(&store, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma::<i64>(&store, "foreign_keys"), 1);
        assert_eq!(pragma::<i64>(&store, "busy_timeout"), 5000);
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn data_survives_a_restart() {
        let (dir, store) = temp_store();
        store.put_provider(&ProviderRow::new("openai", "openai")).unwrap();
        store.put_alias(&AliasRow::new("general", vec![TargetRow::new("openai", "gpt-4o-mini")])).unwrap();
        let (app, token) = store.create_app(&AppSpec::new("scripts")).unwrap();
        drop(store);

        let store = Store::open(&dir.path().join("switchboard.db")).unwrap();
        assert_eq!(store.list_providers().unwrap(), [ProviderRow::new("openai", "openai")]);
        assert_eq!(store.list_aliases().unwrap().len(), 1);
        assert_eq!(store.app_by_token_hash(&token_digest(&token)).unwrap(), Some(app));
    }

    #[test]
    fn two_connections_to_one_file_see_each_other() {
        let (dir, first) = temp_store();
        let second = Store::open(&dir.path().join("switchboard.db")).unwrap();
        first.set_setting("a", &1).unwrap();
        assert_eq!(second.get_setting::<i32>("a").unwrap(), Some(1));
        second.set_setting("a", &2).unwrap();
        assert_eq!(first.get_setting::<i32>("a").unwrap(), Some(2));
    }

    #[test]
    fn foreign_keys_are_enforced() {
        let store = Store::open_in_memory().unwrap();
        let err = store
            .with_conn(|c| {
                Ok(c.execute(
                    "INSERT INTO provider_keys (provider_id, label, position, created_at) VALUES ('x', 'y', 0, 0)",
                    [],
                )?)
            })
            .unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY constraint failed"), "{err}");
    }

    #[test]
    fn a_panic_while_holding_the_connection_does_not_break_the_store() {
        let store = Store::open_in_memory().unwrap();
        let clone = store.clone();
        let panicked = std::thread::spawn(move || {
            clone.with_conn(|conn| -> Result<()> {
                let tx = conn.transaction()?;
                tx.execute("INSERT INTO settings (key, value) VALUES ('half', '1')", [])?;
                panic!("boom");
            })
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(store.get_setting::<i32>("half").unwrap(), None, "the half-done transaction was rolled back");
        store.set_setting("after", &true).unwrap();
    }

    #[tokio::test]
    async fn call_runs_blocking_work_off_the_runtime() {
        let store = Store::open_in_memory().unwrap();
        store.call(|s| s.set_setting("k", "v")).await.unwrap();
        let value = store.call(|s| s.get_setting::<String>("k")).await.unwrap();
        assert_eq!(value.as_deref(), Some("v"));
        let err = store.call(|s| s.delete_alias("nope")).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
    }
}
