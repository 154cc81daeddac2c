//! The rollups as the writer keeps them: each batch's totals per UTC hour (`usage_hourly`) and per UTC day
//! (`usage_daily`) and (app, alias, provider, model), added with one upsert per group in the transaction that
//! inserts the batch's rows.

use std::collections::HashMap;

use rusqlite::params;

use super::{Cost, CostSource, Record, clock, to_i64};

/// A group: the start of its hour or day (unix ms), app, alias, provider, model ('' for none).
pub(crate) type Key<'a> = (i64, &'a str, &'a str, &'a str, &'a str);

/// A batch's totals per UTC hour and (app, alias, provider, model), added to `usage_hourly` and, folded by day, to
/// `usage_daily`, with one upsert per group: a thousand rows of steady traffic are a handful of groups.
#[derive(Default)]
pub(crate) struct Rollup<'a> {
    groups: HashMap<Key<'a>, Totals>,
}

/// The rollup tables' counters.
#[derive(Default, Clone, Copy)]
pub(crate) struct Totals {
    /// requests, errors, input, cached input, cache write, hour-long cache write, output, reasoning tokens.
    pub(crate) counts: [i64; 8],
    pub(crate) cost_usd: f64,
    pub(crate) unpriced: i64,
    pub(crate) latency_sum: i64,
    pub(crate) latency_count: i64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.counts.iter_mut().zip(other.counts).for_each(|(total, n)| *total += n);
        self.cost_usd += other.cost_usd;
        self.unpriced += other.unpriced;
        self.latency_sum += other.latency_sum;
        self.latency_count += other.latency_count;
    }
}

impl<'a> Rollup<'a> {
    pub(crate) fn add(&mut self, r: &'a Record, cost: &Cost) {
        let hour = r.ts_ms.div_euclid(clock::HOUR_MS) * clock::HOUR_MS;
        let name = |s: &'a Option<String>| s.as_deref().unwrap_or("");
        let key = (hour, r.app_name.as_str(), name(&r.alias), name(&r.provider_id), name(&r.model));
        let u = r.usage.unwrap_or_default();
        let counts = [1, i64::from(r.status >= 400 || r.error.is_some())]
            .into_iter()
            .chain([u.input, u.cached_input, u.cache_write, u.cache_write_1h, u.output, u.reasoning].map(to_i64));
        let mut row = Totals {
            cost_usd: cost.usd.unwrap_or(0.0),
            unpriced: i64::from(cost.source == Some(CostSource::Unknown)),
            latency_sum: to_i64(r.latency_ms),
            latency_count: 1,
            ..Totals::default()
        };
        row.counts.iter_mut().zip(counts).for_each(|(slot, n)| *slot = n);
        self.groups.entry(key).or_default().add(&row);
    }

    /// The totals per hour.
    pub(crate) fn hours(&self) -> &HashMap<Key<'a>, Totals> {
        &self.groups
    }

    /// The same totals folded by UTC day.
    pub(crate) fn days(&self) -> HashMap<Key<'a>, Totals> {
        let mut days: HashMap<Key<'a>, Totals> = HashMap::new();
        for (&(hour, app, alias, provider, model), totals) in &self.groups {
            let day = hour.div_euclid(clock::DAY_MS) * clock::DAY_MS;
            days.entry((day, app, alias, provider, model)).or_default().add(totals);
        }
        days
    }

    pub(super) fn write(&self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        upsert(tx, "usage_hourly", "hour", self.hours().iter())?;
        upsert(tx, "usage_daily", "day", self.days().iter())
    }
}

/// Adds each group's totals to its row of `table` (whose time column is `start`), making the row when it is new.
fn upsert<'k, 'a: 'k>(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    start: &str,
    groups: impl Iterator<Item = (&'k Key<'a>, &'k Totals)>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO {table} ({start}, app_name, alias, provider_id, model, requests, errors, input_tokens, \
         cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd, \
         unpriced, latency_sum, latency_count) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT ({start}, app_name, alias, provider_id, model) DO UPDATE SET \
         requests = requests + excluded.requests, errors = errors + excluded.errors, \
         input_tokens = input_tokens + excluded.input_tokens, \
         cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, \
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
         cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens, \
         output_tokens = output_tokens + excluded.output_tokens, \
         reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, cost_usd = cost_usd + excluded.cost_usd, \
         unpriced = unpriced + excluded.unpriced, latency_sum = latency_sum + excluded.latency_sum, \
         latency_count = latency_count + excluded.latency_count",
    ))?;
    for ((at, app, alias, provider, model), t) in groups {
        let [requests, errors, input, cached, write, write_1h, output, reasoning] = t.counts;
        stmt.execute(params![
            at,
            app,
            alias,
            provider,
            model,
            requests,
            errors,
            input,
            cached,
            write,
            write_1h,
            output,
            reasoning,
            t.cost_usd,
            t.unpriced,
            t.latency_sum,
            t.latency_count
        ])?;
    }
    Ok(())
}
