//! The writer task: takes records off the channel, inserts them in batches on the blocking pool (pricing each row
//! and keeping the rollups), then updates the budgets, answers receipts and expected request ids, and deletes
//! expired bodies. See the
//! module docs of [`super`] for the batching rules.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use rusqlite::params;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Core, CostSource, Msg, Prices, Record, WriterConfig, Written, clock, prices, rollup, to_i64};
use crate::protocol::neutral::Usage;
use crate::store::{Store, StoreError};

/// The most messages the writer takes off the channel at once. Under load a batch holds everything that was
/// already waiting (up to this many), not just 100 rows: one commit per thousand rows costs far less disk work than
/// ten, and no row waits longer for it.
const RECEIVE_AT_ONCE: usize = 1000;

/// The writer: batches rows off the channel until it is told to stop or every handle is gone.
pub(super) async fn write_loop(mut rx: mpsc::Receiver<Msg>, store: Store, core: Arc<Core>, config: WriterConfig) {
    let mut batch = Batch::with_capacity(config.batch_rows);
    let mut received = Vec::with_capacity(RECEIVE_AT_ONCE);
    let mut deadline: Option<Instant> = None;
    loop {
        let open = match deadline {
            // Idle: the first row (or a flush) wakes the writer.
            None => rx.recv_many(&mut received, RECEIVE_AT_ONCE).await > 0,
            // A batch is open: sleep until it is full, someone flushes, or its interval ends.
            Some(at) => {
                tokio::select! {
                    () = core.wake.notified() => {}
                    () = tokio::time::sleep_until(at) => {}
                }
                loop {
                    match rx.try_recv() {
                        Ok(msg) => received.push(msg),
                        Err(mpsc::error::TryRecvError::Empty) => break true,
                        Err(mpsc::error::TryRecvError::Disconnected) => break !received.is_empty(),
                    }
                    if received.len() >= RECEIVE_AT_ONCE {
                        break true;
                    }
                }
            }
        };
        if !open {
            write_batch(&store, &core, &mut batch).await;
            return;
        }
        for msg in received.drain(..) {
            match msg {
                Msg::Record(record, receipt) => {
                    if batch.rows.is_empty() {
                        deadline = Some(Instant::now() + config.batch_interval);
                    }
                    batch.push(record, receipt);
                }
                Msg::Flush(ack) => {
                    write_batch(&store, &core, &mut batch).await;
                    deadline = None;
                    let _ = ack.send(());
                }
                Msg::Shutdown(ack) => {
                    // No new rows from here; what is already in the channel is still written.
                    rx.close();
                    let mut acks = vec![ack];
                    while let Some(msg) = rx.recv().await {
                        match msg {
                            Msg::Record(record, receipt) => batch.push(record, receipt),
                            Msg::Flush(ack) | Msg::Shutdown(ack) => acks.push(ack),
                        }
                    }
                    write_batch(&store, &core, &mut batch).await;
                    acks.into_iter().for_each(|ack| {
                        let _ = ack.send(());
                    });
                    return;
                }
            }
        }
        if batch.rows.len() >= config.batch_rows || deadline.is_some_and(|at| Instant::now() >= at) {
            write_batch(&store, &core, &mut batch).await;
            deadline = None;
        }
    }
}

/// The rows the writer holds, and the receipts some of them carry (by index into `rows`).
struct Batch {
    rows: Vec<Record>,
    receipts: Vec<(usize, oneshot::Sender<i64>)>,
}

impl Batch {
    fn with_capacity(rows: usize) -> Batch {
        Batch { rows: Vec::with_capacity(rows), receipts: Vec::new() }
    }

    fn push(&mut self, record: Record, receipt: Option<oneshot::Sender<i64>>) {
        if let Some(receipt) = receipt {
            self.receipts.push((self.rows.len(), receipt));
        }
        self.rows.push(record);
    }
}

/// Inserts `batch` (emptying it) in one transaction on the blocking pool, retrying a failed batch twice; then
/// answers its receipts (a lost batch drops them unanswered).
async fn write_batch(store: &Store, core: &Arc<Core>, batch: &mut Batch) {
    if batch.rows.is_empty() {
        return;
    }
    let mut rows = std::mem::take(&mut batch.rows);
    let receipts = std::mem::take(&mut batch.receipts);
    let n = rows.len();
    // Saturating: rows the writer took at shutdown may outnumber what was counted when a handle went away.
    let _ = core.queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| Some(q.saturating_sub(n)));
    let prices = core.prices();
    let mut delay = Duration::from_millis(250);
    for attempt in 1..=3 {
        let (conn, prices, count) = (store.clone(), prices.clone(), rows.len());
        let outcome = tokio::task::spawn_blocking(move || {
            let result = insert(&conn, &prices, &rows);
            (rows, result)
        })
        .await;
        let result;
        (rows, result) = match outcome {
            Ok(done) => done,
            Err(error) => {
                // The rows moved into the task that panicked; nothing is left to retry.
                count_lost(core, count as u64);
                tracing::error!(rows = count, "the ledger dropped a batch: its insert task failed: {error}");
                return;
            }
        };
        match result {
            Ok(written) => {
                after_written(core, &rows, &written);
                for (index, receipt) in receipts {
                    if let Some(w) = written.get(index) {
                        // The asker may have gone; the row is written either way.
                        let _ = receipt.send(w.id);
                    }
                }
                prune_bodies_if_due(store, core).await;
                return;
            }
            Err(error) if attempt < 3 => {
                tracing::warn!(rows = rows.len(), attempt, "the ledger could not write a batch, retrying: {error}");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(error) => {
                count_lost(core, rows.len() as u64);
                tracing::error!(rows = rows.len(), "the ledger dropped a batch it could not write: {error}");
            }
        }
    }
}

/// What follows a written batch, whatever the database (`written[i]` is `rows[i]`'s): the metrics count the rows,
/// the budgets add their costs (warning once per limit reached), live views learn the newest id, and whoever
/// expected a request id gets its row.
pub(super) fn after_written(core: &Core, rows: &[Record], written: &[Written]) {
    let metrics = core.metrics.get();
    for (row, w) in rows.iter().zip(written) {
        if let Some(metrics) = metrics {
            metrics.written(row, w.cost_usd);
        }
        for warning in core.budgets.add(w.ts_ms, w.app_id, &row.app_name, w.cost_usd.unwrap_or(0.0)) {
            tracing::warn!(app = ?warning.app_name, period = warning.period, "budget warning: {}", warning.message());
            // No subscriber (headless) is fine: the log line above is the warning.
            let _ = core.warnings.send(warning);
        }
    }
    if let Some(newest) = written.iter().map(|w| w.id).max() {
        core.written.send_replace(newest);
    }
    core.expected.answer(rows.iter().zip(written).filter_map(|(row, w)| Some((row.request_id.as_deref()?, w.id))));
}

/// Counts `n` rows as lost, in the ledger and in the metrics.
pub(super) fn count_lost(core: &Core, n: u64) {
    core.lost.fetch_add(n, Ordering::Relaxed);
    if let Some(metrics) = core.metrics.get() {
        metrics.lost(n);
    }
}

/// How often the writer deletes bodies past their retention.
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes bodies older than the retention, at most once per [`PRUNE_EVERY`] (and once after the first batch).
async fn prune_bodies_if_due(store: &Store, core: &Arc<Core>) {
    {
        let mut next = core.next_prune.lock().unwrap_or_else(PoisonError::into_inner);
        if next.is_some_and(|at| Instant::now() < at) {
            return;
        }
        *next = Some(Instant::now() + PRUNE_EVERY);
    }
    let days = i64::from(core.retention_days.load(Ordering::Relaxed));
    let cutoff = crate::store::now_ms() - days * clock::DAY_MS;
    let store = store.clone();
    let result = tokio::task::spawn_blocking(move || prune_bodies(&store, cutoff)).await;
    match result {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(bodies = n, days, "deleted request bodies past their retention"),
        Ok(Err(error)) => tracing::warn!("could not delete old request bodies: {error}"),
        Err(error) => tracing::warn!("could not delete old request bodies: {error}"),
    }
}

/// Deletes the bodies of requests made before `cutoff_ms`; returns how many.
fn prune_bodies(store: &Store, cutoff_ms: i64) -> Result<usize, StoreError> {
    store.with_conn(|conn| Ok(conn.execute("DELETE FROM request_bodies WHERE ts < ?1", [cutoff_ms])?))
}

/// The blocking part: price and insert every row and mark the apps as used, in one transaction.
fn insert(store: &Store, prices: &Prices, rows: &[Record]) -> Result<Vec<Written>, StoreError> {
    let mut written = Vec::with_capacity(rows.len());
    let mut last_used: HashMap<i64, i64> = HashMap::new();
    let mut rollup = rollup::Rollup::default();
    let mut looked_up = prices::LookupCache::default();
    store.with_conn(|conn| {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO requests (ts, app_id, app_name, alias, provider_id, model, client_protocol, stream, \
                 status, error, attempts, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, \
                 reasoning_tokens, cost_usd, cost_source, price_version, latency_ms, ttft_ms, cache_write_1h_tokens) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
                 ?22)",
            )?;
            for r in rows {
                let cost = prices.cost_cached(r, &mut looked_up);
                let attempts = serde_json::to_string(&r.attempts).unwrap_or_else(|_| "[]".to_owned());
                let tokens = |f: fn(&Usage) -> u64| r.usage.as_ref().map(|u| to_i64(f(u)));
                stmt.execute(params![
                    r.ts_ms,
                    r.app_id,
                    r.app_name,
                    r.alias,
                    r.provider_id,
                    r.model,
                    r.client_protocol,
                    r.stream,
                    r.status,
                    r.error,
                    attempts,
                    tokens(|u| u.input),
                    tokens(|u| u.cached_input),
                    tokens(|u| u.cache_write),
                    tokens(|u| u.output),
                    tokens(|u| u.reasoning),
                    cost.usd,
                    cost.source.map(CostSource::as_str),
                    cost.price_version,
                    to_i64(r.latency_ms),
                    r.ttft_ms.map(to_i64),
                    tokens(|u| u.cache_write_1h),
                ])?;
                let id = tx.last_insert_rowid();
                if let Some(bodies) = &r.bodies {
                    let mut body_stmt = tx.prepare_cached(
                        "INSERT INTO request_bodies (request_id, ts, request, response, truncated) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    body_stmt.execute(params![id, r.ts_ms, bodies.request, bodies.response, bodies.truncated])?;
                }
                if let Some(app) = r.app_id {
                    let ts = last_used.entry(app).or_insert(r.ts_ms);
                    *ts = (*ts).max(r.ts_ms);
                }
                rollup.add(r, &cost);
                written.push(Written { id, ts_ms: r.ts_ms, app_id: r.app_id, cost_usd: cost.usd });
            }
        }
        rollup.write(&tx)?;
        // In the same transaction: one commit per batch, not one per app.
        for (app, ts) in &last_used {
            tx.prepare_cached("UPDATE apps SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1")?
                .execute(params![app, ts])?;
        }
        tx.commit()?;
        Ok(())
    })?;
    Ok(written)
}
