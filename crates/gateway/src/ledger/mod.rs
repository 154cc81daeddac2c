//! The ledger: one row per request in the `requests` table (who asked, which target answered, tokens, cost,
//! latency), spend budgets checked from memory, and the queries behind the dashboard and `switchboard-gateway usage`.
//!
//! # The writer
//!
//! The request path never waits on SQLite (DESIGN.md, invariant 4). [`Ledger::record`] puts a [`Record`] into a
//! bounded channel and returns at once; one writer task (`writer.rs`), with its own connection, takes rows off the
//! channel and inserts them in batches: every 100 rows or 250 ms after the first row of a batch, whichever comes
//! first, one transaction per batch (under load a batch also takes every row already waiting, up to a thousand; the
//! SQLite work runs on tokio's blocking pool). When the channel is full the row is not dropped: the
//! [`Ledger::delayed`] counter rises and a small task waits for room. [`Ledger::shutdown`] writes everything still
//! queued before it returns.
//!
//! Costs are computed by the writer as it inserts, once (see [`prices`]); after each batch it adds the costs to the
//! budgets' running totals (see [`budgets`]) and marks the apps as used.
//!
//! [`Ledger::record_with_receipt`] also says which row a record became, once it is written: the chat window and
//! "Try it" show a request's tokens and cost from its own row, not from a guess among rows made at the same time.
//!
//! [`Ledger::expect`] does the same for a request sent over HTTP, by the `x-request-id` it carries (`expect.rs`):
//! the window's Test and Check of a connected client read their own rows that way.
//!
//! [`Ledger::count_into`] hands each written row, with its cost, to the Prometheus series (`crate::metrics`), so they
//! count what the database holds; nothing on the request path touches them.
//!
//! Rows are lost only when the database refuses them (a full disk, a file made read-only): the writer tries a batch
//! three times, then logs an error naming how many rows it dropped and counts them in [`Ledger::lost`].

pub mod budgets;
pub mod clock;
mod expect;
mod pg_writer;
mod price_table;
pub mod prices;
pub mod queries;
pub mod report;
pub(crate) mod rollup;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{DEFAULT_RETENTION_DAYS, LoggingConfig};
use crate::metrics::Metrics;
use crate::postgres::{PgError, Postgres, StoreConfig};
use crate::protocol::neutral::Usage;
use crate::store::{Store, StoreError};
pub use budgets::{Budget, BudgetAction, BudgetWarning, Verdict};
pub use expect::Expectation;
pub use prices::{Cost, CostSource, ImportedPrice, PriceOverride, Priced, Prices};

/// The database's file name inside the data folder (shared by the desktop app, the headless gateway and `usage`).
// FIXME: belongs in `paths.rs` once the headless binary opens the database itself.
pub const DATABASE_FILE: &str = "switchboard.db";

/// One finished (or abandoned) request, as the relay saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// When the request started, unix ms.
    pub ts_ms: i64,
    pub app_id: Option<i64>,
    pub app_name: String,
    pub alias: Option<String>,
    /// The provider that answered (or was tried last).
    pub provider_id: Option<String>,
    /// Its preset id: `openai`, `anthropic`, `gemini`, `openrouter`, `ollama`, …; picks the prices.
    pub provider_kind: Option<String>,
    /// The upstream's model id.
    pub model: Option<String>,
    /// `openai-chat`, `openai-completions`, `openai-embeddings`, `anthropic` or `responses`.
    pub client_protocol: &'static str,
    pub stream: bool,
    pub status: u16,
    pub error: Option<String>,
    pub attempts: Vec<AttemptRecord>,
    /// What the upstream reported; partial for a stream the client left early.
    pub usage: Option<Usage>,
    /// The cost the provider reported (OpenRouter's `usage.cost`); preferred over the price table.
    pub provider_cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    /// The prompt and the answer as text, only while request logging is on ([`Ledger::logs_bodies`]).
    pub bodies: Option<Box<Bodies>>,
    /// The request's `x-request-id`, carried only while someone expects one ([`Ledger::expects_request_ids`]);
    /// not stored.
    pub request_id: Option<Box<str>>,
}

/// A request's body as the client sent it and the answer as the client received it (for a stream, its SSE events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bodies {
    pub request: Option<String>,
    pub response: Option<String>,
    /// Whether either was cut at [`MAX_LOGGED_BODY`].
    pub truncated: bool,
}

/// The most bytes of each body kept: enough for a long conversation, small enough that logging stays cheap.
pub const MAX_LOGGED_BODY: usize = 256 * 1024;

impl Bodies {
    /// `text` as it will be kept: cut at [`MAX_LOGGED_BODY`] on a character boundary, lossily decoded.
    pub fn keep(bytes: &[u8], truncated: &mut bool) -> String {
        let cut = if bytes.len() > MAX_LOGGED_BODY {
            *truncated = true;
            &bytes[..MAX_LOGGED_BODY]
        } else {
            bytes
        };
        // A cut in the middle of a character leaves a replacement character; the text stays valid UTF-8.
        String::from_utf8_lossy(cut).into_owned()
    }
}

/// What the budgets, receipts and metrics need from a written row, whichever database it went to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Written {
    pub(crate) id: i64,
    pub(crate) ts_ms: i64,
    pub(crate) app_id: Option<i64>,
    pub(crate) cost_usd: Option<f64>,
}

/// One try at one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// `provider/model`.
    #[serde(default)]
    pub target: String,
    /// `ok`, or what went wrong (`429`, `timeout`, `connect error`, …).
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Why it failed, in one word (`None` when it answered), for the metrics; not stored (`result` says it in full).
    #[serde(skip)]
    pub failure: Option<FailureKind>,
}

/// What kind of failure an attempt met, as the relay classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The upstream answered 429.
    RateLimited,
    /// The upstream answered 5xx.
    ServerError,
    /// No first byte (or no answer at all) in time.
    Timeout,
    /// The upstream could not be reached, or the connection failed.
    Unreachable,
    /// The upstream refused the request as invalid (4xx).
    BadRequest,
    /// Anything else: a rejected key, an unreadable answer, a missing Responses API, a refusal before sending.
    Other,
}

impl Record {
    /// A record started now with everything else empty: fill in the rest with struct update syntax.
    pub fn new(app_name: impl Into<String>, client_protocol: &'static str) -> Record {
        Record {
            ts_ms: crate::store::now_ms(),
            app_id: None,
            app_name: app_name.into(),
            alias: None,
            provider_id: None,
            provider_kind: None,
            model: None,
            client_protocol,
            stream: false,
            status: 200,
            error: None,
            attempts: Vec::new(),
            usage: None,
            provider_cost_usd: None,
            latency_ms: 0,
            ttft_ms: None,
            bodies: None,
            request_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("the price table is not valid: {0}")]
    Prices(String),
    #[error(
        "the budget is not valid: {0}; expected JSON like {{\"daily_usd\": 5, \"monthly_usd\": 50, \"action\": \"warn\"}} \
         (action \"warn\" or \"block\")"
    )]
    Budget(String),
    #[error("the ledger must be started inside a tokio runtime")]
    NoRuntime,
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the export as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// How the writer batches; [`WriterConfig::default`] is what the gateway uses. Tests shrink the channel.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Rows that may wait in the channel before [`Ledger::record`] hands them to a waiting task.
    pub capacity: usize,
    /// A batch is written once it holds this many rows…
    pub batch_rows: usize,
    /// …or this long after its first row arrived.
    pub batch_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> WriterConfig {
        WriterConfig { capacity: 10_000, batch_rows: 100, batch_interval: Duration::from_millis(250) }
    }
}

/// The handle the relay records through. Cheap to clone; every clone feeds the same writer.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
}

struct Shared {
    tx: mpsc::Sender<Msg>,
    runtime: tokio::runtime::Handle,
    delayed: AtomicU64,
    /// Rows handed to waiting tasks that have not reached the channel yet.
    waiting: Arc<Waiting>,
    core: Arc<Core>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// What the handles and the writer share.
struct Core {
    budgets: budgets::Budgets,
    prices: Mutex<Arc<Prices>>,
    lost: AtomicU64,
    /// Whether bodies are kept ([`LoggingConfig::bodies`]); read on the request path, so an atomic.
    log_bodies: AtomicBool,
    /// Bodies older than this many days are deleted by the writer.
    retention_days: AtomicU32,
    /// The id of the newest row written, for live views of the ledger.
    written: watch::Sender<i64>,
    /// `warn` budgets reached, each once per period ([`Ledger::budget_warnings`]).
    warnings: broadcast::Sender<BudgetWarning>,
    /// When the writer next deletes expired bodies.
    next_prune: Mutex<Option<Instant>>,
    /// Rows recorded and not yet written, and the bell `record` rings once they fill a batch (and
    /// `flush`/`shutdown` ring at once): while a batch is open the writer sleeps until then or its interval ends,
    /// instead of waking for every row.
    queued: AtomicUsize,
    wake: Notify,
    batch_rows: usize,
    /// Rows awaited by request id ([`Ledger::expect`]).
    expected: Arc<expect::Expected>,
    /// Where written rows are counted for `/metrics`, when it is served ([`Ledger::count_into`]).
    metrics: OnceLock<Metrics>,
}

#[derive(Default)]
struct Waiting {
    count: AtomicU64,
    idle: Notify,
}

// Nearly every message is a record: boxing it would cost an allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
enum Msg {
    /// A row, and who wants its id once it is written.
    Record(Record, Option<oneshot::Sender<i64>>),
    /// Write what is queued, then answer.
    Flush(oneshot::Sender<()>),
    /// Write what is queued, answer, and stop.
    Shutdown(oneshot::Sender<()>),
}

impl Core {
    fn new(budgets: budgets::Budgets, prices: Prices, last_id: i64, config: &WriterConfig) -> Core {
        Core {
            budgets,
            prices: Mutex::new(Arc::new(prices)),
            lost: AtomicU64::new(0),
            log_bodies: AtomicBool::new(false),
            retention_days: AtomicU32::new(DEFAULT_RETENTION_DAYS),
            written: watch::Sender::new(last_id),
            warnings: broadcast::Sender::new(16),
            next_prune: Mutex::new(None),
            queued: AtomicUsize::new(0),
            wake: Notify::new(),
            batch_rows: config.batch_rows.max(1),
            expected: Arc::default(),
            metrics: OnceLock::new(),
        }
    }

    /// The prices rows are priced with now.
    fn prices(&self) -> Arc<Prices> {
        self.prices.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Shared {
    /// The last handle is going: close the channel now (the writer sees it at once instead of at the end of its
    /// batch interval) and wake the writer to write what it holds and stop.
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        self.core.wake.notify_one();
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("delayed", &self.delayed()).field("lost", &self.lost()).finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens its own connection to `db_path` (creating and migrating the database if needed), loads the budgets and
    /// today's and this month's spend, and starts the writer task. Call inside a tokio runtime (a `spawn_blocking`
    /// closure counts): opening the database and summing the month's costs block for a moment, so do it at startup.
    pub fn start(db_path: &Path, prices: Prices) -> Result<Ledger, LedgerError> {
        Ledger::start_with(db_path, prices, WriterConfig::default())
    }

    /// [`Ledger::start`] with another batching configuration.
    pub fn start_with(db_path: &Path, prices: Prices, config: WriterConfig) -> Result<Ledger, LedgerError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LedgerError::NoRuntime)?;
        let store = Store::open(db_path)?;
        let budgets = budgets::Budgets::load(&store, crate::store::now_ms())?;
        let last_id: i64 = store
            .with_conn(|conn| Ok(conn.query_row("SELECT coalesce(max(id), 0) FROM requests", [], |r| r.get(0))?))?;
        let core = Arc::new(Core::new(budgets, prices, last_id, &config));
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let writer = runtime.spawn(writer::write_loop(rx, store, core.clone(), config));
        Ok(Ledger::around(tx, runtime, core, writer))
    }

    /// The ledger of a replica sharing PostgreSQL (`[store] url`): rows go to `pg` in batches, kept in memory while it
    /// is away (up to `store.max_queued_rows`); the budgets start from every replica's spend and read it again every
    /// `store.budget_refresh_ms`. Budgets themselves come from the app registry ([`Ledger::set_budgets`]).
    pub async fn start_postgres(
        pg: Postgres,
        prices: Prices,
        store: &StoreConfig,
        config: WriterConfig,
    ) -> Result<Ledger, LedgerError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LedgerError::NoRuntime)?;
        let now = crate::store::now_ms();
        let budgets = budgets::Budgets::empty(now);
        budgets.replace_spend(&pg.spend(now).await?);
        let last_id = pg.newest_row().await?;
        let core = Arc::new(Core::new(budgets, prices, last_id, &config));
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let options = pg_writer::Options::new(store);
        tracing::info!(replica = options.replica, database = pg.target(), "the ledger writes to PostgreSQL");
        let writer = runtime.spawn(pg_writer::write_loop(rx, pg, core.clone(), config, options));
        Ok(Ledger::around(tx, runtime, core, writer))
    }

    fn around(
        tx: mpsc::Sender<Msg>,
        runtime: tokio::runtime::Handle,
        core: Arc<Core>,
        writer: JoinHandle<()>,
    ) -> Ledger {
        Ledger {
            shared: Arc::new(Shared {
                tx,
                runtime,
                delayed: AtomicU64::new(0),
                waiting: Arc::default(),
                core,
                writer: Mutex::new(Some(writer)),
            }),
        }
    }

    /// Queues `record` for the writer. Never blocks and never waits on SQLite: when the channel is full the row goes
    /// to a task that waits for room, and [`Ledger::delayed`] counts it.
    pub fn record(&self, record: Record) {
        self.queue(record, None);
    }

    /// [`Ledger::record`], and `receipt` gets the row's id once it is written. If the row is lost, `receipt` is
    /// dropped unanswered.
    pub fn record_with_receipt(&self, record: Record, receipt: oneshot::Sender<i64>) {
        self.queue(record, Some(receipt));
    }

    fn queue(&self, record: Record, receipt: Option<oneshot::Sender<i64>>) {
        let shared = &self.shared;
        let core = &shared.core;
        if core.queued.fetch_add(1, Ordering::Relaxed) + 1 >= core.batch_rows {
            core.wake.notify_one();
        }
        match shared.tx.try_send(Msg::Record(record, receipt)) {
            Ok(()) => {}
            Err(TrySendError::Full(msg)) => {
                shared.delayed.fetch_add(1, Ordering::Relaxed);
                shared.waiting.count.fetch_add(1, Ordering::SeqCst);
                let (tx, waiting) = (shared.tx.clone(), shared.waiting.clone());
                shared.runtime.spawn(async move {
                    if tx.send(msg).await.is_err() {
                        tracing::error!("a request's usage row was lost: the ledger was shut down while it waited");
                    }
                    if waiting.count.fetch_sub(1, Ordering::SeqCst) == 1 {
                        waiting.idle.notify_waiters();
                    }
                });
            }
            Err(TrySendError::Closed(_)) => {
                tracing::error!("a request's usage row was not recorded: the ledger is shut down");
            }
        }
    }

    /// Counts every row written from now on (with the cost it was priced at) into `metrics`, and every row lost.
    /// Only the first call counts: a ledger feeds one set of metrics.
    pub fn count_into(&self, metrics: Metrics) {
        let _ = self.shared.core.metrics.set(metrics);
    }

    /// The metrics this ledger's rows are counted into, if `/metrics` is served: where requests refused before they
    /// could make a row are counted (`Metrics::refused`). One load of a `OnceLock`.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.shared.core.metrics.get()
    }

    /// How many rows found the channel full and had to wait for room (none of them lost).
    pub fn delayed(&self) -> u64 {
        self.shared.delayed.load(Ordering::Relaxed)
    }

    /// How many rows the database refused, after retries. Zero unless something is badly wrong with the disk.
    pub fn lost(&self) -> u64 {
        self.shared.core.lost.load(Ordering::Relaxed)
    }

    /// Waits until every row recorded before this call is in the database.
    pub async fn flush(&self) {
        self.wait_for_waiting().await;
        let (ack, done) = oneshot::channel();
        if self.shared.tx.send(Msg::Flush(ack)).await.is_ok() {
            self.shared.core.wake.notify_one();
            let _ = done.await;
        }
    }

    /// Writes everything queued (including rows still waiting for room) and stops the writer. Rows recorded after
    /// this are logged and dropped. Calling it again, from any clone, returns at once.
    pub async fn shutdown(&self) {
        self.wait_for_waiting().await;
        let (ack, done) = oneshot::channel();
        if self.shared.tx.send(Msg::Shutdown(ack)).await.is_ok() {
            self.shared.core.wake.notify_one();
            let _ = done.await;
        }
        let writer = self.shared.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(writer) = writer
            && let Err(error) = writer.await
        {
            tracing::error!("the ledger writer failed: {error}");
        }
    }

    /// Whether `app_id` may spend now, from the running totals in memory (no SQLite). Local models cost nothing and
    /// must not be checked: the relay skips this for targets where [`prices::is_local`] holds.
    pub fn budget_verdict(&self, app_id: Option<i64>, now_ms: i64) -> Verdict {
        self.shared.core.budgets.verdict(app_id, now_ms)
    }

    /// This UTC day's and month's spend of `app_id` (every request's for `None`): the running totals budgets are
    /// checked against, from memory.
    pub fn spend(&self, app_id: Option<i64>, now_ms: i64) -> (f64, f64) {
        self.shared.core.budgets.spend(app_id, now_ms)
    }

    /// Replaces the budgets (the apps' by app id, and the overall one). The running totals are kept.
    pub fn set_budgets(&self, apps: HashMap<i64, Budget>, overall: Option<Budget>) {
        self.shared.core.budgets.set(apps, overall);
    }

    /// [`Ledger::set_budgets`] with the apps' names by id, for messages and for spend read by name (a replica
    /// sharing PostgreSQL: see [`Ledger::start_postgres`]).
    pub fn set_named_budgets(&self, apps: HashMap<i64, Budget>, names: HashMap<i64, String>, overall: Option<Budget>) {
        self.shared.core.budgets.set_named(apps, names, overall);
    }

    /// Reads the apps' budgets and names and the overall budget setting from `store` again (after the user edits
    /// them). Blocking: call it through [`Store::call`] from async code.
    pub fn reload_budgets(&self, store: &Store) -> Result<(), LedgerError> {
        self.shared.core.budgets.reload(store)
    }

    /// Prices rows written from now on with `prices` (after the user edits an override or a catalog import lands),
    /// each at its own time. Rows already written keep their cost.
    pub fn set_prices(&self, prices: Prices) {
        *self.shared.core.prices.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(prices);
    }

    /// Keeps (or stops keeping) request bodies from now on, for `logging.retention_days`. Bodies already kept
    /// stay until their retention ends, even when logging is turned off.
    pub fn set_logging(&self, logging: &LoggingConfig) {
        let core = &self.shared.core;
        core.retention_days.store(logging.retention_days.max(1), Ordering::Relaxed);
        core.log_bodies.store(logging.bodies, Ordering::Relaxed);
    }

    /// Whether the relay should capture bodies for [`Record::bodies`].
    pub fn logs_bodies(&self) -> bool {
        self.shared.core.log_bodies.load(Ordering::Relaxed)
    }

    /// The id of the newest row in the database, updated after every batch: a live view (the Logs page) waits on
    /// `changed()` and then reads the rows newer than what it shows.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.shared.core.written.subscribe()
    }

    /// Every `warn` budget (an app's or the overall one, daily or monthly) the moment a written row reaches it, once
    /// per budget and period. The writer also logs each one; with no subscriber that log line is all there is.
    pub fn budget_warnings(&self) -> broadcast::Receiver<BudgetWarning> {
        self.shared.core.warnings.subscribe()
    }

    async fn wait_for_waiting(&self) {
        let waiting = &self.shared.waiting;
        loop {
            let idle = waiting.idle.notified();
            if waiting.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
