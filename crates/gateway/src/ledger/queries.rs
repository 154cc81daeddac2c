//! Reading the ledger: totals by app, alias, provider or model; a time series by hour or day; the request list with
//! filters and keyset paging; CSV and JSON export.
//!
//! Plain blocking functions on a [`Store`]: call them through [`Store::call`] from async code. Time ranges are
//! half-open, `since_ms <= ts < until_ms`, in unix ms; buckets are UTC hours and days. A request counts as an error
//! when its status is 400 or more, or when it carries an error (a stream that failed after a 200).

use std::io::Write;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use super::clock::{DAY_MS, HOUR_MS, format_rfc3339};
use super::{AttemptRecord, Bodies, LedgerError};
use crate::store::Store;

/// The SQL condition for "this request failed".
const IS_ERROR: &str = "(status >= 400 OR error IS NOT NULL)";

/// The columns [`request_row`] reads, in its order.
const REQUEST_COLUMNS: &str = "id, ts, app_id, app_name, alias, provider_id, model, client_protocol, stream, status, \
     error, attempts, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
     cost_usd, cost_source, price_version, latency_ms, ttft_ms, cache_write_1h_tokens";

/// Rows read per query while exporting.
const EXPORT_PAGE: u32 = 1000;

/// The most rows one page of [`requests`] returns.
pub const MAX_PAGE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By the app's name at the time of the request.
    App,
    Alias,
    /// By the provider's id.
    Provider,
    /// By the upstream model id.
    Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalRow {
    /// The app, alias, provider or model; `None` for requests without one (an unknown model name, say), and for
    /// the grand total.
    pub key: Option<String>,
    pub requests: u64,
    pub errors: u64,
    pub input: u64,
    pub cached_input: u64,
    /// Every cache write, the hour-long ones included.
    pub cache_write: u64,
    /// The part of `cache_write` kept for an hour (rows written before the ledger counted it add nothing).
    pub cache_write_1h: u64,
    pub output: u64,
    pub reasoning: u64,
    /// The sum of the known costs.
    pub cost_usd: f64,
    /// Requests whose tokens were counted but whose model has no price: `cost_usd` leaves them out.
    pub unpriced: u64,
    pub avg_latency_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub bucket_start_ms: i64,
    pub requests: u64,
    pub cost_usd: f64,
    pub input: u64,
    pub output: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    ErrorsOnly,
    OkOnly,
}

/// Which requests to list or export; every field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFilter {
    /// The app's name.
    pub app: Option<String>,
    pub alias: Option<String>,
    /// The provider's id.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub status_class: Option<StatusClass>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Newest first: `before_id` is the last `id` of the previous page (`None` for the first page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Clamped to 1..=[`MAX_PAGE`].
    pub limit: u32,
    pub before_id: Option<i64>,
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRow {
    pub id: i64,
    pub ts_ms: i64,
    pub app_id: Option<i64>,
    pub app_name: String,
    pub alias: Option<String>,
    pub provider_id: Option<String>,
    pub model: Option<String>,
    pub client_protocol: String,
    pub stream: bool,
    pub status: u16,
    pub error: Option<String>,
    pub attempts: Vec<AttemptRecord>,
    pub input_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    /// The part of `cache_write_tokens` kept for an hour (NULL in rows written before the ledger counted it).
    pub cache_write_1h_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub cost_source: Option<String>,
    pub price_version: Option<String>,
    pub latency_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
}

impl GroupBy {
    /// The same column in `usage_hourly`, where "none" is stored as ''.
    fn rollup_key(self) -> &'static str {
        match self {
            GroupBy::App => "app_name",
            GroupBy::Alias => "nullif(alias, '')",
            GroupBy::Provider => "nullif(provider_id, '')",
            GroupBy::Model => "nullif(model, '')",
        }
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::App => "app_name",
            GroupBy::Alias => "alias",
            GroupBy::Provider => "provider_id",
            GroupBy::Model => "model",
        }
    }
}

impl Bucket {
    pub fn millis(self) -> i64 {
        match self {
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }
}

/// Totals per app, alias, provider or model, the most expensive first.
pub fn totals(store: &Store, since_ms: i64, until_ms: i64, group_by: GroupBy) -> Result<Vec<TotalRow>, LedgerError> {
    aggregate(store, since_ms, until_ms, Some(group_by))
}

/// One row of totals over everything in the range (its `key` is `None`).
pub fn overall(store: &Store, since_ms: i64, until_ms: i64) -> Result<TotalRow, LedgerError> {
    let rows = aggregate(store, since_ms, until_ms, None)?;
    Ok(rows.into_iter().next().unwrap_or_else(TotalRow::empty))
}

impl TotalRow {
    /// The totals of no requests.
    pub fn empty() -> TotalRow {
        TotalRow {
            key: None,
            requests: 0,
            errors: 0,
            input: 0,
            cached_input: 0,
            cache_write: 0,
            cache_write_1h: 0,
            output: 0,
            reasoning: 0,
            cost_usd: 0.0,
            unpriced: 0,
            avg_latency_ms: None,
        }
    }
}

fn aggregate(
    store: &Store,
    since_ms: i64,
    until_ms: i64,
    group_by: Option<GroupBy>,
) -> Result<Vec<TotalRow>, LedgerError> {
    let (rollup_key, raw_key, group) = match group_by {
        Some(GroupBy::App) => ("app_name", "app_name", "GROUP BY key ORDER BY 9 DESC, 2 DESC, 1"),
        Some(g) => (g.rollup_key(), g.column(), "GROUP BY key ORDER BY 9 DESC, 2 DESC, 1"),
        None => ("NULL", "NULL", ""),
    };
    let raw = |range: &str| {
        format!(
            "SELECT {raw_key}, 1, {IS_ERROR}, coalesce(input_tokens, 0), coalesce(cached_input_tokens, 0), \
             coalesce(cache_write_tokens, 0), coalesce(output_tokens, 0), coalesce(reasoning_tokens, 0), \
             coalesce(cost_usd, 0.0), coalesce(cost_source = 'unknown', 0), coalesce(latency_ms, 0), \
             latency_ms IS NOT NULL, coalesce(cache_write_1h_tokens, 0) FROM requests WHERE {range}"
        )
    };
    let rollup = |table: &str, start: &str, range: (usize, usize)| {
        format!(
            "SELECT {rollup_key} AS key, requests AS n, errors AS err, input_tokens AS i, cached_input_tokens AS ci, \
             cache_write_tokens AS cw, output_tokens AS o, reasoning_tokens AS r, cost_usd AS cost, unpriced, \
             latency_sum AS lat_sum, latency_count AS lat_n, cache_write_1h_tokens AS cw1h FROM {table} WHERE {start} >= ?{} AND {start} < ?{}",
            range.0, range.1
        )
    };
    let sql = format!(
        "SELECT key, coalesce(sum(n), 0), coalesce(sum(err), 0), coalesce(sum(i), 0), coalesce(sum(ci), 0), \
         coalesce(sum(cw), 0), coalesce(sum(o), 0), coalesce(sum(r), 0), total(cost), coalesce(sum(unpriced), 0), \
         CASE WHEN sum(lat_n) > 0 THEN sum(lat_sum) * 1.0 / sum(lat_n) END, coalesce(sum(cw1h), 0) \
         FROM ({} UNION ALL {} UNION ALL {} UNION ALL {} UNION ALL {}) {group}",
        rollup("usage_daily", "day", (1, 2)),
        rollup("usage_hourly", "hour", (3, 4)),
        rollup("usage_hourly", "hour", (5, 6)),
        raw("ts >= ?7 AND ts < ?8"),
        raw("ts >= ?9 AND ts < ?10"),
    );
    let rows = store.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(Split::of(since_ms, until_ms).params(), |row| {
                Ok(TotalRow {
                    key: row.get(0)?,
                    requests: count(row, 1)?,
                    errors: count(row, 2)?,
                    input: count(row, 3)?,
                    cached_input: count(row, 4)?,
                    cache_write: count(row, 5)?,
                    cache_write_1h: count(row, 11)?,
                    output: count(row, 6)?,
                    reasoning: count(row, 7)?,
                    cost_usd: row.get(8)?,
                    unpriced: count(row, 9)?,
                    avg_latency_ms: row.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    // Without GROUP BY an empty range still gives one row of zeros; callers of `overall` want it, of `totals` not.
    Ok(rows.into_iter().filter(|r| group_by.is_none() || r.requests > 0).collect())
}

/// A provider's model whose requests were counted but not priced (the model has no price).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnpricedModel {
    pub provider_id: Option<String>,
    pub model: Option<String>,
    pub requests: u64,
}

/// The models whose requests in the range have no price, by provider and model, the most requests first.
pub fn unpriced(store: &Store, since_ms: i64, until_ms: i64) -> Result<Vec<UnpricedModel>, LedgerError> {
    let rollup = |table: &str, start: &str, range: (usize, usize)| {
        format!(
            "SELECT nullif(provider_id, '') AS p, nullif(model, '') AS m, unpriced AS n FROM {table} \
             WHERE {start} >= ?{} AND {start} < ?{} AND unpriced > 0",
            range.0, range.1
        )
    };
    let raw =
        |range: &str| format!("SELECT provider_id, model, 1 FROM requests WHERE cost_source = 'unknown' AND {range}");
    let sql = format!(
        "SELECT p, m, sum(n) FROM ({} UNION ALL {} UNION ALL {} UNION ALL {} UNION ALL {}) GROUP BY p, m \
         ORDER BY 3 DESC, 1, 2",
        rollup("usage_daily", "day", (1, 2)),
        rollup("usage_hourly", "hour", (3, 4)),
        rollup("usage_hourly", "hour", (5, 6)),
        raw("ts >= ?7 AND ts < ?8"),
        raw("ts >= ?9 AND ts < ?10"),
    );
    let rows = store.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(Split::of(since_ms, until_ms).params(), |row| {
                Ok(UnpricedModel { provider_id: row.get(0)?, model: row.get(1)?, requests: count(row, 2)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    Ok(rows.into_iter().filter(|r| r.requests > 0).collect())
}

/// A time range cut into whole UTC days, read from the `usage_daily` rollup; the whole hours around them, read from
/// `usage_hourly`; and the ragged edges before and after those, read from the requests themselves (at most two
/// hours of rows, found by the `ts` index). An empty range `(0, 0)` is a part the range does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    days: (i64, i64),
    hours: [(i64, i64); 2],
    rows: [(i64, i64); 2],
}

impl Split {
    /// The split with whole days, for totals and daily series.
    fn of(since_ms: i64, until_ms: i64) -> Split {
        let split = Split::hourly(since_ms, until_ms);
        let (first_hour, last_hour) = split.hours[0];
        let first_day = (first_hour + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS;
        let last_day = last_hour.div_euclid(DAY_MS) * DAY_MS;
        if first_day < last_day {
            Split { days: (first_day, last_day), hours: [(first_hour, first_day), (last_day, last_hour)], ..split }
        } else {
            split
        }
    }

    /// The split without days, for hourly series.
    fn hourly(since_ms: i64, until_ms: i64) -> Split {
        // "Since the beginning" may come as i64::MIN: no request is older than ±35,000 years.
        const FAR: i64 = 1 << 50;
        const NONE: (i64, i64) = (0, 0);
        let (since_ms, until_ms) = (since_ms.clamp(-FAR, FAR), until_ms.clamp(-FAR, FAR));
        let first_hour = (since_ms + HOUR_MS - 1).div_euclid(HOUR_MS) * HOUR_MS;
        let last_hour = until_ms.div_euclid(HOUR_MS) * HOUR_MS;
        if first_hour < last_hour {
            Split {
                days: NONE,
                hours: [(first_hour, last_hour), NONE],
                rows: [(since_ms, first_hour), (last_hour, until_ms)],
            }
        } else {
            Split { days: NONE, hours: [NONE, NONE], rows: [(since_ms, until_ms), NONE] }
        }
    }

    /// `?1`..`?10`: the days, the two runs of hours, the rows before and after them.
    fn params(self) -> [i64; 10] {
        let Split { days, hours: [h1, h2], rows: [r1, r2] } = self;
        [days.0, days.1, h1.0, h1.1, h2.0, h2.1, r1.0, r1.1, r2.0, r2.1]
    }
}

/// Requests, cost and tokens per UTC hour or day, oldest first. Buckets without requests are left out.
pub fn series(store: &Store, since_ms: i64, until_ms: i64, bucket: Bucket) -> Result<Vec<SeriesPoint>, LedgerError> {
    series_at(store, since_ms, until_ms, bucket, 0)
}

/// [`series`] with buckets in a time zone `offset_ms` ahead of UTC (days start at local midnight, as a date range
/// picked in the window does). The rollups hold UTC hours and days, so with an offset that is not a whole number of
/// hours a request is counted in the bucket its UTC hour starts in; UTC days are read whole only without an offset.
pub fn series_at(
    store: &Store,
    since_ms: i64,
    until_ms: i64,
    bucket: Bucket,
    offset_ms: i64,
) -> Result<Vec<SeriesPoint>, LedgerError> {
    let rollup = |table: &str, start: &str, range: (usize, usize)| {
        format!(
            "SELECT {start} - ((({start} + ?12) % ?11) + ?11) % ?11 AS b, requests AS n, cost_usd AS cost, \
             input_tokens AS i, output_tokens AS o FROM {table} WHERE {start} >= ?{} AND {start} < ?{}",
            range.0, range.1
        )
    };
    let raw = |range: &str| {
        format!(
            "SELECT ts - (((ts + ?12) % ?11) + ?11) % ?11, 1, coalesce(cost_usd, 0.0), coalesce(input_tokens, 0), \
             coalesce(output_tokens, 0) FROM requests WHERE {range}"
        )
    };
    let sql = format!(
        "SELECT b, sum(n), total(cost), sum(i), sum(o) FROM ({} UNION ALL {} UNION ALL {} UNION ALL {} UNION ALL {}) \
         GROUP BY b ORDER BY b",
        rollup("usage_daily", "day", (1, 2)),
        rollup("usage_hourly", "hour", (3, 4)),
        rollup("usage_hourly", "hour", (5, 6)),
        raw("ts >= ?7 AND ts < ?8"),
        raw("ts >= ?9 AND ts < ?10"),
    );
    let split = match bucket {
        Bucket::Day if offset_ms.rem_euclid(DAY_MS) == 0 => Split::of(since_ms, until_ms),
        Bucket::Day | Bucket::Hour => Split::hourly(since_ms, until_ms),
    };
    let [a, b, c, d, e, f, g, h, i, j] = split.params();
    let rows = store.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map([a, b, c, d, e, f, g, h, i, j, bucket.millis(), offset_ms], |row| {
                Ok(SeriesPoint {
                    bucket_start_ms: row.get(0)?,
                    requests: count(row, 1)?,
                    cost_usd: row.get(2)?,
                    input: count(row, 3)?,
                    output: count(row, 4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    Ok(rows)
}

/// One page of requests matching `filter`, newest first.
pub fn requests(store: &Store, filter: &RequestFilter, page: Page) -> Result<Vec<RequestRow>, LedgerError> {
    let (mut clauses, mut values) = conditions(filter);
    if let Some(before) = page.before_id {
        clauses.push("id < ?".to_owned());
        values.push(Value::Integer(before));
    }
    values.push(Value::Integer(i64::from(page.limit.clamp(1, MAX_PAGE))));
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE {} ORDER BY id DESC LIMIT ?",
        if clauses.is_empty() { "1".to_owned() } else { clauses.join(" AND ") }
    );
    let rows = store.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(values), request_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?;
    Ok(rows)
}

/// One request with its bodies (when request logging kept them), for the Logs page's detail view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestDetail {
    pub row: RequestRow,
    /// `None` when logging was off for this request or its retention has passed.
    pub bodies: Option<Bodies>,
}

/// The request `id`, or `None` if there is no such row.
pub fn request_detail(store: &Store, id: i64) -> Result<Option<RequestDetail>, LedgerError> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1");
    let detail = store.with_conn(|conn| {
        let row = conn.prepare_cached(&sql)?.query_row([id], request_row).optional()?;
        let Some(row) = row else { return Ok(None) };
        let bodies = conn
            .prepare_cached("SELECT request, response, truncated FROM request_bodies WHERE request_id = ?1")?
            .query_row([id], |r| Ok(Bodies { request: r.get(0)?, response: r.get(1)?, truncated: r.get(2)? }))
            .optional()?;
        Ok(Some(RequestDetail { row, bodies }))
    })?;
    Ok(detail)
}

/// Every request matching `filter` as CSV (a header line, then newest first), read a page at a time. Returns how
/// many rows were written. Text cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn export_csv(store: &Store, filter: &RequestFilter, mut writer: impl Write) -> Result<u64, LedgerError> {
    const HEADER: &str = "id,time,ts_ms,app_id,app,alias,provider,model,client_protocol,stream,status,error,attempts,\
                          input_tokens,cached_input_tokens,cache_write_tokens,cache_write_1h_tokens,output_tokens,\
                          reasoning_tokens,\
                          cost_usd,cost_source,price_version,latency_ms,ttft_ms";
    writeln!(writer, "{HEADER}")?;
    let written = for_each_page(store, filter, |row| {
        let attempts = serde_json::to_string(&row.attempts)?;
        let num = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        let text = |s: &Option<String>| s.as_deref().map(csv_text).unwrap_or_default();
        let cells = [
            row.id.to_string(),
            format_rfc3339(row.ts_ms),
            row.ts_ms.to_string(),
            row.app_id.map(|id| id.to_string()).unwrap_or_default(),
            csv_text(&row.app_name),
            text(&row.alias),
            text(&row.provider_id),
            text(&row.model),
            csv_text(&row.client_protocol),
            row.stream.to_string(),
            row.status.to_string(),
            text(&row.error),
            csv_text(&attempts),
            num(row.input_tokens),
            num(row.cached_input_tokens),
            num(row.cache_write_tokens),
            num(row.cache_write_1h_tokens),
            num(row.output_tokens),
            num(row.reasoning_tokens),
            row.cost_usd.map(|c| c.to_string()).unwrap_or_default(),
            text(&row.cost_source),
            text(&row.price_version),
            num(row.latency_ms),
            num(row.ttft_ms),
        ];
        writeln!(writer, "{}", cells.join(","))?;
        Ok(())
    })?;
    writer.flush()?;
    Ok(written)
}

/// Every request matching `filter` as one JSON array of [`RequestRow`] objects, newest first. Returns how many.
pub fn export_json(store: &Store, filter: &RequestFilter, mut writer: impl Write) -> Result<u64, LedgerError> {
    writer.write_all(b"[")?;
    let mut first = true;
    let count = for_each_page(store, filter, |row| {
        if !first {
            writer.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut writer, row)?;
        Ok(())
    })?;
    writer.write_all(b"]\n")?;
    writer.flush()?;
    Ok(count)
}

/// Walks every row matching `filter`, newest first, a page at a time (so the connection is not held for the
/// whole export).
fn for_each_page(
    store: &Store,
    filter: &RequestFilter,
    mut each: impl FnMut(&RequestRow) -> Result<(), LedgerError>,
) -> Result<u64, LedgerError> {
    let mut page = Page { limit: EXPORT_PAGE, before_id: None };
    let mut count = 0;
    loop {
        let rows = requests(store, filter, page)?;
        for row in &rows {
            each(row)?;
            count += 1;
        }
        match rows.last() {
            Some(last) if rows.len() == EXPORT_PAGE as usize => page.before_id = Some(last.id),
            _ => return Ok(count),
        }
    }
}

/// The WHERE conditions of `filter`, with their values in order.
fn conditions(filter: &RequestFilter) -> (Vec<String>, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    for (column, value) in [
        ("app_name", &filter.app),
        ("alias", &filter.alias),
        ("provider_id", &filter.provider),
        ("model", &filter.model),
    ] {
        if let Some(value) = value {
            clauses.push(format!("{column} = ?"));
            values.push(Value::Text(value.clone()));
        }
    }
    match filter.status_class {
        Some(StatusClass::ErrorsOnly) => clauses.push(IS_ERROR.to_owned()),
        Some(StatusClass::OkOnly) => clauses.push(format!("NOT {IS_ERROR}")),
        None => {}
    }
    if let Some(since) = filter.since_ms {
        clauses.push("ts >= ?".to_owned());
        values.push(Value::Integer(since));
    }
    if let Some(until) = filter.until_ms {
        clauses.push("ts < ?".to_owned());
        values.push(Value::Integer(until));
    }
    (clauses, values)
}

fn request_row(row: &Row<'_>) -> rusqlite::Result<RequestRow> {
    let attempts: String = row.get(11)?;
    let opt = |i| -> rusqlite::Result<Option<u64>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(|n| u64::try_from(n).unwrap_or(0)))
    };
    Ok(RequestRow {
        id: row.get(0)?,
        ts_ms: row.get(1)?,
        app_id: row.get(2)?,
        app_name: row.get(3)?,
        alias: row.get(4)?,
        provider_id: row.get(5)?,
        model: row.get(6)?,
        client_protocol: row.get(7)?,
        stream: row.get(8)?,
        status: row.get(9)?,
        error: row.get(10)?,
        // The column is a JSON array by constraint; an element of another shape (a newer build's) reads as empty.
        attempts: serde_json::from_str(&attempts).unwrap_or_default(),
        input_tokens: opt(12)?,
        cached_input_tokens: opt(13)?,
        cache_write_tokens: opt(14)?,
        cache_write_1h_tokens: opt(22)?,
        output_tokens: opt(15)?,
        reasoning_tokens: opt(16)?,
        cost_usd: row.get(17)?,
        cost_source: row.get(18)?,
        price_version: row.get(19)?,
        latency_ms: opt(20)?,
        ttft_ms: opt(21)?,
    })
}

/// A non-negative SQL count or sum.
fn count(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
}

/// One CSV cell of text: quoted when it holds a comma, quote or line break (quotes doubled), and prefixed with `'`
/// when it starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, carriage return).
pub fn csv_text(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}
