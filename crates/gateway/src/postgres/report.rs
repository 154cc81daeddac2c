//! `switchboard-gateway usage` over the shared ledger: the same report as over SQLite, summed over every replica's
//! rows. The totals come straight from the rows in the range (indexed by time), so they are exact to the
//! millisecond whatever the range.

use tokio_postgres::Row;

use super::{PgError, Postgres};
use crate::ledger::queries::TotalRow;
use crate::ledger::report::UsageReport;

impl Postgres {
    /// The requests that started in the last `since` ms before `now_ms` (all of them for `None`), by app, alias and
    /// model, and in all.
    pub async fn usage_report(&self, since: Option<i64>, now_ms: i64) -> Result<UsageReport, PgError> {
        let since_ms = since.map(|span| now_ms.saturating_sub(span));
        let (from, until) = (since_ms.unwrap_or(i64::MIN), now_ms.saturating_add(1));
        let client = self.client().await?;
        let totals = |key: &str| {
            let group = if key == "NULL" { "" } else { "GROUP BY 1 ORDER BY 10 DESC, 2 DESC, 1" };
            format!(
                "SELECT {key}::text, count(*), count(*) FILTER (WHERE status >= 400 OR error IS NOT NULL), \
                 coalesce(sum(input_tokens), 0)::int8, coalesce(sum(cached_input_tokens), 0)::int8, \
                 coalesce(sum(cache_write_tokens), 0)::int8, coalesce(sum(cache_write_1h_tokens), 0)::int8, \
                 coalesce(sum(output_tokens), 0)::int8, coalesce(sum(reasoning_tokens), 0)::int8, \
                 coalesce(sum(cost_usd), 0)::float8, count(*) FILTER (WHERE cost_source = 'unknown'), \
                 avg(latency_ms)::float8 \
                 FROM requests WHERE ts >= $1 AND ts < $2 {group}"
            )
        };
        let mut rows = Vec::new();
        for key in ["app_name", "alias", "model", "NULL"] {
            let found = client.query(&totals(key), &[&from, &until]).await?;
            rows.push(found.iter().map(total_row).collect::<Vec<_>>());
        }
        let total = rows.pop().and_then(|mut r| r.pop()).unwrap_or_else(TotalRow::empty);
        let by_model = rows.pop().unwrap_or_default();
        let by_alias = rows.pop().unwrap_or_default();
        let by_app = rows.pop().unwrap_or_default();
        Ok(UsageReport { since_ms, until_ms: now_ms, by_app, by_alias, by_model, total })
    }
}

fn count(row: &Row, index: usize) -> u64 {
    u64::try_from(row.get::<_, i64>(index)).unwrap_or(0)
}

fn total_row(row: &Row) -> TotalRow {
    TotalRow {
        key: row.get(0),
        requests: count(row, 1),
        errors: count(row, 2),
        input: count(row, 3),
        cached_input: count(row, 4),
        cache_write: count(row, 5),
        cache_write_1h: count(row, 6),
        output: count(row, 7),
        reasoning: count(row, 8),
        cost_usd: row.get(9),
        unpriced: count(row, 10),
        avg_latency_ms: row.get(11),
    }
}
