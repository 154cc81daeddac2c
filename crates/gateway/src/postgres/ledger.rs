//! The ledger's rows in the shared database: a batch in one transaction (rows, bodies, both rollups, the apps' last
//! use), each replica's spend sums for the budgets, and the pruning of expired bodies.
//!
//! A batch is idempotent: every row carries (replica, seq), unique together, and is inserted with `ON CONFLICT DO
//! NOTHING`. When a commit's answer is lost (the connection dropped as it committed) the writer sends the batch
//! again; the rows already there are not inserted, and only the rows this transaction inserted are added to the
//! rollups, so nothing is counted twice.

use std::collections::HashMap;

use super::{PgError, Postgres};
use crate::ledger::clock;
use crate::ledger::prices::{CostSource, LookupCache, Prices};
use crate::ledger::rollup::{Key, Rollup, Totals};
use crate::ledger::{Record, Written, to_i64};
use crate::protocol::neutral::Usage;

/// The spend of the current UTC day and month, from every replica's rows (the daily rollup).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpendSums {
    /// The day and month these sums belong to (unix ms of their starts).
    pub day_start: i64,
    pub month_start: i64,
    /// (today, this month) of every request.
    pub all: (f64, f64),
    /// (today, this month) by the app's name.
    pub by_app: HashMap<String, (f64, f64)>,
}

/// Inserts `rows` (each with its sequence number from `replica`) in one transaction, prices them with `prices`, and
/// returns what each became, in order.
pub(crate) async fn insert_batch(
    pg: &Postgres,
    replica: i64,
    prices: &Prices,
    rows: &[(i64, Record)],
) -> Result<Vec<Written>, PgError> {
    let mut looked_up = LookupCache::default();
    let costs: Vec<_> = rows.iter().map(|(_, r)| prices.cost_cached(r, &mut looked_up)).collect();
    let tokens = |f: fn(&Usage) -> u64| -> Vec<Option<i64>> {
        rows.iter().map(|(_, r)| r.usage.as_ref().map(|u| to_i64(f(u)))).collect()
    };
    let text = |f: fn(&Record) -> Option<&str>| -> Vec<Option<&str>> { rows.iter().map(|(_, r)| f(r)).collect() };
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    let ts: Vec<i64> = rows.iter().map(|(_, r)| r.ts_ms).collect();
    let app_ids: Vec<Option<i64>> = rows.iter().map(|(_, r)| r.app_id).collect();
    let app_names: Vec<&str> = rows.iter().map(|(_, r)| r.app_name.as_str()).collect();
    let protocols: Vec<&str> = rows.iter().map(|(_, r)| r.client_protocol).collect();
    let streams: Vec<bool> = rows.iter().map(|(_, r)| r.stream).collect();
    let statuses: Vec<i32> = rows.iter().map(|(_, r)| i32::from(r.status)).collect();
    let attempts: Vec<serde_json::Value> =
        rows.iter().map(|(_, r)| serde_json::to_value(&r.attempts).unwrap_or_else(|_| serde_json::json!([]))).collect();
    let cost_usd: Vec<Option<f64>> = costs.iter().map(|c| c.usd).collect();
    let cost_source: Vec<Option<&str>> = costs.iter().map(|c| c.source.map(CostSource::as_str)).collect();
    let price_version: Vec<Option<&str>> = costs.iter().map(|c| c.price_version.as_deref()).collect();
    let latency: Vec<i64> = rows.iter().map(|(_, r)| to_i64(r.latency_ms)).collect();
    let ttft: Vec<Option<i64>> = rows.iter().map(|(_, r)| r.ttft_ms.map(to_i64)).collect();

    let mut client = pg.client().await?;
    let tx = client.transaction().await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO requests (replica, seq, ts, app_id, app_name, alias, provider_id, model, client_protocol, \
             stream, status, error, attempts, input_tokens, cached_input_tokens, cache_write_tokens, \
             cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, cost_source, price_version, \
             latency_ms, ttft_ms) \
             SELECT $1, * FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::bool[], $11::int4[], $12::text[], $13::jsonb[], $14::int8[], $15::int8[], \
             $16::int8[], $17::int8[], $18::int8[], $19::int8[], $20::float8[], $21::text[], $22::text[], \
             $23::int8[], $24::int8[]) \
             ON CONFLICT (replica, seq) DO NOTHING RETURNING seq, id",
        )
        .await?;
    let inserted = tx
        .query(
            &insert,
            &[
                &replica,
                &seqs,
                &ts,
                &app_ids,
                &app_names,
                &text(|r| r.alias.as_deref()),
                &text(|r| r.provider_id.as_deref()),
                &text(|r| r.model.as_deref()),
                &protocols,
                &streams,
                &statuses,
                &text(|r| r.error.as_deref()),
                &attempts,
                &tokens(|u| u.input),
                &tokens(|u| u.cached_input),
                &tokens(|u| u.cache_write),
                &tokens(|u| u.cache_write_1h),
                &tokens(|u| u.output),
                &tokens(|u| u.reasoning),
                &cost_usd,
                &cost_source,
                &price_version,
                &latency,
                &ttft,
            ],
        )
        .await?;
    let fresh: HashMap<i64, i64> = inserted.iter().map(|row| (row.get(0), row.get(1))).collect();
    // Rows an earlier try of this batch already committed: their ids, and nothing added to the rollups again.
    let mut ids = fresh.clone();
    if fresh.len() < rows.len() {
        let missing: Vec<i64> = seqs.iter().copied().filter(|s| !fresh.contains_key(s)).collect();
        for row in
            tx.query("SELECT seq, id FROM requests WHERE replica = $1 AND seq = ANY($2)", &[&replica, &missing]).await?
        {
            ids.insert(row.get(0), row.get(1));
        }
    }

    let mut rollup = Rollup::default();
    let mut last_used: HashMap<i64, i64> = HashMap::new();
    let bodies = tx
        .prepare_cached(
            "INSERT INTO request_bodies (request_id, ts, request, response, truncated) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (request_id) DO NOTHING",
        )
        .await?;
    for ((seq, r), cost) in rows.iter().zip(&costs) {
        let Some(id) = fresh.get(seq) else { continue };
        rollup.add(r, cost);
        if let Some(b) = &r.bodies {
            tx.execute(&bodies, &[id, &r.ts_ms, &b.request, &b.response, &b.truncated]).await?;
        }
        if let Some(app) = r.app_id {
            let at = last_used.entry(app).or_insert(r.ts_ms);
            *at = (*at).max(r.ts_ms);
        }
    }
    upsert(&tx, "usage_hourly", "hour", rollup.hours().iter()).await?;
    upsert(&tx, "usage_daily", "day", rollup.days().iter()).await?;
    for (app, at) in &last_used {
        tx.execute("UPDATE apps SET last_used_at = greatest(coalesce(last_used_at, $2), $2) WHERE id = $1", &[app, at])
            .await?;
    }
    tx.commit().await?;

    let mut written = Vec::with_capacity(rows.len());
    for ((seq, r), cost) in rows.iter().zip(&costs) {
        let id =
            ids.get(seq).copied().ok_or_else(|| PgError::Query(format!("row {seq} was neither inserted nor found")))?;
        written.push(Written { id, ts_ms: r.ts_ms, app_id: r.app_id, cost_usd: cost.usd });
    }
    Ok(written)
}

/// Adds each group's totals to its row of `table` (whose time column is `start`), making the row when it is new.
async fn upsert<'k, 'a: 'k>(
    tx: &deadpool_postgres::Transaction<'_>,
    table: &str,
    start: &str,
    groups: impl Iterator<Item = (&'k Key<'a>, &'k Totals)>,
) -> Result<(), PgError> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO {table} AS t ({start}, app_name, alias, provider_id, model, requests, errors, input_tokens, \
             cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, \
             cost_usd, unpriced, latency_sum, latency_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT ({start}, app_name, alias, provider_id, model) DO UPDATE SET \
             requests = t.requests + excluded.requests, errors = t.errors + excluded.errors, \
             input_tokens = t.input_tokens + excluded.input_tokens, \
             cached_input_tokens = t.cached_input_tokens + excluded.cached_input_tokens, \
             cache_write_tokens = t.cache_write_tokens + excluded.cache_write_tokens, \
             cache_write_1h_tokens = t.cache_write_1h_tokens + excluded.cache_write_1h_tokens, \
             output_tokens = t.output_tokens + excluded.output_tokens, \
             reasoning_tokens = t.reasoning_tokens + excluded.reasoning_tokens, \
             cost_usd = t.cost_usd + excluded.cost_usd, unpriced = t.unpriced + excluded.unpriced, \
             latency_sum = t.latency_sum + excluded.latency_sum, latency_count = t.latency_count + excluded.latency_count"
        ))
        .await?;
    for ((at, app, alias, provider, model), t) in groups {
        let [requests, errors, input, cached, write, write_1h, output, reasoning] = t.counts;
        tx.execute(
            &stmt,
            &[
                at,
                app,
                alias,
                provider,
                model,
                &requests,
                &errors,
                &input,
                &cached,
                &write,
                &write_1h,
                &output,
                &reasoning,
                &t.cost_usd,
                &t.unpriced,
                &t.latency_sum,
                &t.latency_count,
            ],
        )
        .await?;
    }
    Ok(())
}

impl Postgres {
    /// The batch the ledger's writer sends (see [`insert_batch`]), for tools and for testing a retried batch against
    /// a real server: each row's id, in order.
    pub async fn write_rows(&self, replica: i64, prices: &Prices, rows: &[(i64, Record)]) -> Result<Vec<i64>, PgError> {
        Ok(insert_batch(self, replica, prices, rows).await?.into_iter().map(|w| w.id).collect())
    }

    /// Every replica's spend of the UTC day and month holding `now_ms`, by app name, from the daily rollup (a
    /// month is at most a few thousand rows there, so each replica can ask every few seconds).
    pub async fn spend(&self, now_ms: i64) -> Result<SpendSums, PgError> {
        let (day_start, month_start) = (clock::day_start(now_ms), clock::month_start(now_ms));
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT app_name, coalesce(sum(cost_usd) FILTER (WHERE day >= $1), 0), coalesce(sum(cost_usd), 0) \
                 FROM usage_daily WHERE day >= $2 GROUP BY app_name",
                &[&day_start, &month_start],
            )
            .await?;
        let mut sums = SpendSums { day_start, month_start, ..SpendSums::default() };
        for row in rows {
            let (name, day, month): (String, f64, f64) = (row.get(0), row.get(1), row.get(2));
            sums.all.0 += day;
            sums.all.1 += month;
            sums.by_app.insert(name, (day, month));
        }
        Ok(sums)
    }

    /// The newest row's id (0 for none).
    pub async fn newest_row(&self) -> Result<i64, PgError> {
        Ok(self.client().await?.query_one("SELECT coalesce(max(id), 0) FROM requests", &[]).await?.get(0))
    }

    /// Deletes the bodies of requests made before `cutoff_ms`; returns how many.
    pub async fn prune_bodies(&self, cutoff_ms: i64) -> Result<u64, PgError> {
        Ok(self.client().await?.execute("DELETE FROM request_bodies WHERE ts < $1", &[&cutoff_ms]).await?)
    }
}
