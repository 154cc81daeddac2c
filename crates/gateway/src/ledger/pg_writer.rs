//! The writer of a replica sharing PostgreSQL: the same batches as the SQLite writer (`writer.rs`), written to the
//! shared database, and a database that goes away loses nothing while memory allows.
//!
//! Rows are taken off the channel as they come, into a queue the writer owns (bounded by `store.max_queued_rows`),
//! so the channel never fills while the database is away and the request path never notices. A batch is written
//! when it holds `batch_rows` rows or `batch_interval` after its first row, by a task of its own, while the writer
//! goes on taking rows. A batch that fails goes back to the front of the queue and is tried again after a pause that
//! doubles from 250 ms up to 5 s; the first failure is logged as a warning with how many rows wait, the recovery as
//! how long the database was away and how many rows were written then. Only when the queue is full are rows dropped,
//! the oldest first, each counted in [`super::Ledger::lost`] and the drops logged.
//!
//! Between batches the writer reads every replica's spend (`budget_refresh_ms`) for the budgets, never while a
//! batch is being written, so a written batch is never counted twice or missed. On shutdown it writes what it holds
//! for up to [`SHUTDOWN_GRACE`], then says how many rows it could not write.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::writer::{PRUNE_EVERY, after_written, count_lost};
use super::{Core, Msg, Record, WriterConfig, Written, clock};
use crate::postgres::{PgError, Postgres, SpendSums, StoreConfig, insert_batch};

/// The most rows in one transaction.
const BATCH_AT_MOST: usize = 1000;
/// The pause after a failed batch starts here and doubles…
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// …up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// A batch that has not finished in this long counts as failed (a database that stopped answering).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for the database to take what is queued.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What `[store]` says about writing, and who this replica is.
pub(super) struct Options {
    /// This process's id in the `replica` column: random per start, so (replica, seq) is unique without asking
    /// anyone.
    pub(super) replica: i64,
    budget_refresh: Duration,
    max_queued: usize,
}

impl Options {
    pub(super) fn new(store: &StoreConfig) -> Options {
        let mut bytes = [0u8; 8];
        // A replica id from the clock when the OS has no randomness to give: it only has to differ between starts.
        let replica = match getrandom::fill(&mut bytes) {
            Ok(()) => i64::from_le_bytes(bytes) & i64::MAX,
            Err(_) => crate::store::now_ms() ^ i64::from(std::process::id()) << 40,
        };
        Options { replica, budget_refresh: store.budget_refresh(), max_queued: store.max_queued_rows }
    }
}

/// The rows waiting for the database, oldest first, with the receipts some of them carry.
struct Queue {
    rows: VecDeque<(i64, Record)>,
    receipts: HashMap<i64, oneshot::Sender<i64>>,
    next_seq: i64,
    /// Rows ever queued, and rows done with (written or dropped): a flush waits until `done` reaches what was
    /// queued before it.
    queued: u64,
    done: u64,
    dropped: u64,
    max: usize,
}

impl Queue {
    fn push(&mut self, record: Record, receipt: Option<oneshot::Sender<i64>>, in_flight: usize, core: &Core) {
        self.next_seq += 1;
        self.queued += 1;
        if let Some(receipt) = receipt {
            self.receipts.insert(self.next_seq, receipt);
        }
        self.rows.push_back((self.next_seq, record));
        if self.rows.len() + in_flight > self.max
            && let Some((seq, _)) = self.rows.pop_front()
        {
            self.receipts.remove(&seq);
            self.done += 1;
            self.dropped += 1;
            count_lost(core, 1);
            // Once, then every thousandth: the log says it without repeating it for every request.
            if self.dropped == 1 || self.dropped.is_multiple_of(1000) {
                tracing::error!(
                    queued = self.max,
                    dropped = self.dropped,
                    "PostgreSQL has been away so long that the rows waiting for it fill store.max_queued_rows: \
                     dropping the oldest ({} so far)",
                    self.dropped
                );
            }
        }
    }
}

/// A batch on its way, and the rows it took (given back if it fails).
type Writing = JoinHandle<(Vec<(i64, Record)>, Result<Vec<Written>, PgError>)>;

/// Since when the database has been failing, and when to try again.
struct Outage {
    since: Instant,
    retry_at: Instant,
    pause: Duration,
}

pub(super) async fn write_loop(
    mut rx: mpsc::Receiver<Msg>,
    pg: Postgres,
    core: Arc<Core>,
    config: WriterConfig,
    options: Options,
) {
    let mut queue = Queue {
        rows: VecDeque::new(),
        receipts: HashMap::new(),
        next_seq: 0,
        queued: 0,
        done: 0,
        dropped: 0,
        max: options.max_queued,
    };
    let mut received = Vec::with_capacity(BATCH_AT_MOST);
    let mut writing: Option<(Writing, usize)> = None;
    let mut refreshing: Option<JoinHandle<Result<SpendSums, PgError>>> = None;
    let mut batch_due: Option<Instant> = None;
    let mut outage: Option<Outage> = None;
    let mut next_refresh = Instant::now() + options.budget_refresh;
    let mut next_prune = Instant::now();
    let mut flushes: Vec<(u64, oneshot::Sender<()>)> = Vec::new();
    let mut stop: Option<(Vec<oneshot::Sender<()>>, Instant)> = None;
    let mut open = true;

    loop {
        let now = Instant::now();
        // Start a batch, or a spend refresh, when nothing is under way.
        if writing.is_none() && refreshing.is_none() {
            let may_write = outage.as_ref().is_none_or(|o| now >= o.retry_at);
            // Rows given back by a failed batch are due as soon as the pause is over.
            let due = queue.rows.len() >= config.batch_rows
                || batch_due.is_some_and(|at| now >= at)
                || outage.is_some()
                || !flushes.is_empty()
                || stop.is_some()
                || !open;
            if may_write && due && !queue.rows.is_empty() {
                let take = queue.rows.len().min(BATCH_AT_MOST);
                let rows: Vec<(i64, Record)> = queue.rows.drain(..take).collect();
                let (pg, prices, replica) = (pg.clone(), core.prices(), options.replica);
                let task = tokio::spawn(async move {
                    let result =
                        match tokio::time::timeout(WRITE_TIMEOUT, insert_batch(&pg, replica, &prices, &rows)).await {
                            Ok(result) => result,
                            Err(_) => Err(PgError::Query(format!("no answer in {}s", WRITE_TIMEOUT.as_secs()))),
                        };
                    (rows, result)
                });
                writing = Some((task, take));
                batch_due = None;
            } else if outage.is_none() && stop.is_none() && now >= next_refresh {
                let pg = pg.clone();
                refreshing = Some(tokio::spawn(async move { pg.spend(crate::store::now_ms()).await }));
                next_refresh = now + options.budget_refresh;
            } else if outage.is_none() && now >= next_prune {
                next_prune = now + PRUNE_EVERY;
                let days = i64::from(core.retention_days.load(std::sync::atomic::Ordering::Relaxed));
                let cutoff = crate::store::now_ms() - days * clock::DAY_MS;
                let pg = pg.clone();
                // Off the loop: a slow delete holds up no batch (and a failed one is tried again in an hour).
                tokio::spawn(async move {
                    match pg.prune_bodies(cutoff).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(bodies = n, days, "deleted request bodies past their retention"),
                        Err(error) => tracing::warn!("could not delete old request bodies: {error}"),
                    }
                });
            }
        }
        let (answered, waiting): (Vec<_>, Vec<_>) = flushes.drain(..).partition(|(until, _)| queue.done >= *until);
        flushes = waiting;
        for (_, ack) in answered {
            let _ = ack.send(());
        }
        let idle = queue.rows.is_empty() && writing.is_none();
        if let Some(metrics) = core.metrics.get() {
            metrics.waiting(queue.rows.len() + writing.as_ref().map_or(0, |(_, n)| *n));
        }
        // Closed (on shutdown, or with every handle gone) and drained: nothing more can come.
        if !open && idle {
            break;
        }
        if let Some((_, deadline)) = &stop
            && now >= *deadline
            && writing.is_none()
        {
            let left = queue.rows.len() as u64;
            count_lost(&core, left);
            tracing::error!(
                rows = left,
                "shutting down: PostgreSQL did not take {left} ledger rows in {}s; they are lost",
                SHUTDOWN_GRACE.as_secs()
            );
            break;
        }

        // Only what the next turn can act on wakes it: a time already past that must wait for a batch under way (or
        // for the database to come back) would spin the loop.
        let free = writing.is_none() && refreshing.is_none();
        let wake_at = [
            batch_due.filter(|_| free && outage.is_none()),
            outage.as_ref().map(|o| o.retry_at).filter(|_| free),
            Some(next_refresh).filter(|_| free && outage.is_none() && stop.is_none()),
            stop.as_ref().map(|(_, at)| *at).filter(|_| writing.is_none()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + LONGEST_PAUSE);
        tokio::select! {
            n = rx.recv_many(&mut received, BATCH_AT_MOST), if open => {
                if n == 0 {
                    // Every handle is gone: write what is held, as on shutdown.
                    open = false;
                    stop.get_or_insert_with(|| (Vec::new(), Instant::now() + SHUTDOWN_GRACE));
                }
                let in_flight = writing.as_ref().map_or(0, |(_, n)| *n);
                for msg in received.drain(..) {
                    match msg {
                        Msg::Record(record, receipt) => {
                            if queue.rows.is_empty() && batch_due.is_none() {
                                batch_due = Some(Instant::now() + config.batch_interval);
                            }
                            queue.push(record, receipt, in_flight, &core);
                            let _ = core.queued.fetch_update(
                                std::sync::atomic::Ordering::Relaxed,
                                std::sync::atomic::Ordering::Relaxed,
                                |q| Some(q.saturating_sub(1)),
                            );
                        }
                        Msg::Flush(ack) => flushes.push((queue.queued, ack)),
                        Msg::Shutdown(ack) => {
                            // No new rows from here; what is already in the channel is still written.
                            rx.close();
                            stop.get_or_insert_with(|| (Vec::new(), Instant::now() + SHUTDOWN_GRACE)).0.push(ack);
                        }
                    }
                }
            }
            done = finished(&mut writing) => {
                let taken = writing.take().map_or(0, |(_, n)| n);
                match done {
                    Ok((rows, Ok(written))) => {
                        queue.done += rows.len() as u64;
                        if let Some(o) = outage.take() {
                            tracing::info!(
                                away_s = o.since.elapsed().as_secs(),
                                queued = rows.len() + queue.rows.len(),
                                "PostgreSQL is answering again after {}s; writing the rows that waited",
                                o.since.elapsed().as_secs()
                            );
                        }
                        let (seqs, rows): (Vec<i64>, Vec<Record>) = rows.into_iter().unzip();
                        after_written(&core, &rows, &written);
                        for (seq, w) in seqs.iter().zip(&written) {
                            if let Some(receipt) = queue.receipts.remove(seq) {
                                let _ = receipt.send(w.id);
                            }
                        }
                    }
                    Ok((rows, Err(error))) => {
                        let waiting = rows.len() + queue.rows.len();
                        for row in rows.into_iter().rev() {
                            queue.rows.push_front(row);
                        }
                        match &mut outage {
                            None => {
                                tracing::warn!(
                                    rows = waiting,
                                    database = pg.target(),
                                    "cannot write the ledger to PostgreSQL, keeping {waiting} rows in memory and \
                                     retrying: {error}"
                                );
                                outage = Some(Outage { since: Instant::now(), retry_at: Instant::now() + FIRST_PAUSE, pause: FIRST_PAUSE });
                            }
                            Some(o) => {
                                tracing::debug!(rows = waiting, "PostgreSQL still failing: {error}");
                                o.pause = (o.pause * 2).min(LONGEST_PAUSE);
                                o.retry_at = Instant::now() + o.pause;
                            }
                        }
                    }
                    Err(error) => {
                        // The rows moved into the task that panicked; nothing is left to retry.
                        queue.done += taken as u64;
                        count_lost(&core, taken as u64);
                        tracing::error!(rows = taken, "the ledger dropped a batch: its insert task failed: {error}");
                    }
                }
            }
            spend = finished_refresh(&mut refreshing) => {
                refreshing = None;
                match spend {
                    Ok(Ok(sums)) => {
                        core.budgets.replace_spend(&sums);
                        tracing::debug!(today_usd = sums.all.0, month_usd = sums.all.1, "read the spend of all replicas");
                    }
                    Ok(Err(error)) => tracing::debug!("could not read the spend of all replicas: {error}"),
                    Err(error) => tracing::warn!("the spend refresh failed: {error}"),
                }
            }
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
    for (_, ack) in flushes {
        let _ = ack.send(());
    }
    if let Some((acks, _)) = stop {
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

/// The batch under way's outcome; never, when there is none.
async fn finished(writing: &mut Option<(Writing, usize)>) -> <Writing as std::future::Future>::Output {
    match writing {
        Some((task, _)) => task.await,
        None => std::future::pending().await,
    }
}

async fn finished_refresh(
    refreshing: &mut Option<JoinHandle<Result<SpendSums, PgError>>>,
) -> Result<Result<SpendSums, PgError>, tokio::task::JoinError> {
    match refreshing {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}
