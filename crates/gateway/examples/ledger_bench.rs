//! The ledger's numbers for `cargo xtask bench`: how fast the writer takes rows in, and how long each dashboard
//! query takes over a database of a million requests.
//!
//! `cargo run --release -p switchboard-gateway --example ledger_bench -- [--rows N] [--ingest N] [--json]`
//! builds a fresh database in a temporary folder. Ingest goes through the real writer (`Ledger::record`, batches,
//! one transaction per batch); the million rows for the queries are inserted directly, spread over 30 days, ten
//! apps, four aliases and eight models, the way a heavy user's year-to-date ledger looks.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use switchboard_gateway::ledger::queries::{self, Bucket, GroupBy, Page, RequestFilter, StatusClass};
use switchboard_gateway::ledger::{DATABASE_FILE, Ledger, Prices, Record};
use switchboard_gateway::protocol::neutral::Usage;
use switchboard_gateway::store::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;
/// Each query runs this many times; the median is reported.
const RUNS: usize = 7;

const APPS: [&str; 10] =
    ["Continue", "Claude Code", "Codex", "Zed", "Cline", "scripts", "ci", "notebook", "Chat window", "n8n"];
const ALIASES: [&str; 4] = ["general", "code", "fast", "long-context"];
const MODELS: [(&str, &str); 8] = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("gemini", "gemini-2.5-pro"),
    ("groq", "llama-3.3-70b-versatile"),
    ("ollama", "qwen2.5-coder:7b"),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, default: usize| -> Result<usize> {
        match args.iter().position(|a| a == flag) {
            Some(i) => args.get(i + 1).context("a number after the flag")?.parse().context("a number"),
            None => Ok(default),
        }
    };
    let rows = number("--rows", 1_000_000)?;
    let ingest = number("--ingest", 200_000)?;
    let json = args.iter().any(|a| a == "--json");

    let dir = tempfile::tempdir()?;
    let ingest_rate = ingest_rows_per_s(&dir.path().join("ingest").join(DATABASE_FILE), ingest)?;

    let path = dir.path().join("queries").join(DATABASE_FILE);
    let store = Store::open(&path)?;
    let now = now_ms();
    let filled = Instant::now();
    fill(&path, rows, now)?;
    store.rebuild_usage_rollup()?;
    eprintln!("filled {rows} rows in {:.1} s", filled.elapsed().as_secs_f64());

    let month = (now - 30 * DAY_MS, now + 1);
    let week = (now - 7 * DAY_MS, now + 1);
    let day = (now - DAY_MS, now + 1);
    let newest = queries::requests(&store, &RequestFilter::default(), Page { limit: 1, before_id: None })?;
    let some_id = newest.first().map_or(1, |r| r.id - 12_345);
    let timings: Vec<(&str, Duration)> = vec![
        ("overall, 30 days", time(|| queries::overall(&store, month.0, month.1).map(drop))?),
        ("overall, today", time(|| queries::overall(&store, day.0, day.1).map(drop))?),
        ("by app, 30 days", time(|| queries::totals(&store, month.0, month.1, GroupBy::App).map(drop))?),
        ("by alias, 30 days", time(|| queries::totals(&store, month.0, month.1, GroupBy::Alias).map(drop))?),
        ("by provider, 30 days", time(|| queries::totals(&store, month.0, month.1, GroupBy::Provider).map(drop))?),
        ("by model, 30 days", time(|| queries::totals(&store, month.0, month.1, GroupBy::Model).map(drop))?),
        ("daily series, 30 days", time(|| queries::series(&store, month.0, month.1, Bucket::Day).map(drop))?),
        ("hourly series, 7 days", time(|| queries::series(&store, week.0, week.1, Bucket::Hour).map(drop))?),
        (
            "request list, first page",
            time(|| {
                queries::requests(&store, &RequestFilter::default(), Page { limit: 200, before_id: None }).map(drop)
            })?,
        ),
        (
            "request list, one app's errors",
            time(|| {
                let filter = RequestFilter {
                    app: Some("Codex".into()),
                    status_class: Some(StatusClass::ErrorsOnly),
                    ..RequestFilter::default()
                };
                queries::requests(&store, &filter, Page { limit: 200, before_id: None }).map(drop)
            })?,
        ),
        (
            "request list, one model, deep page",
            time(|| {
                let filter = RequestFilter { model: Some("gpt-4.1".into()), ..RequestFilter::default() };
                queries::requests(&store, &filter, Page { limit: 200, before_id: Some(some_id) }).map(drop)
            })?,
        ),
        ("request detail", time(|| queries::request_detail(&store, some_id).map(drop))?),
    ];

    if json {
        let queries: Vec<_> = timings
            .iter()
            .map(|(name, d)| serde_json::json!({ "name": name, "ms": d.as_secs_f64() * 1000.0 }))
            .collect();
        println!("{}", serde_json::json!({ "rows": rows, "ingest_rows_per_s": ingest_rate, "queries": queries }));
    } else {
        println!("ledger ingest: {ingest_rate:.0} rows/s ({ingest} rows through the writer)");
        println!("dashboard queries over {rows} rows (median of {RUNS}):");
        for (name, d) in &timings {
            println!("  {name:<36} {:>8.2} ms", d.as_secs_f64() * 1000.0);
        }
    }
    Ok(())
}

/// Rows per second through `Ledger::record` until `flush` returns, on a fresh database.
fn ingest_rows_per_s(path: &std::path::Path, n: usize) -> Result<f64> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let ledger = Ledger::start(path, Prices::shipped()?)?;
        let now = now_ms();
        let records: Vec<Record> = (0..n).map(|i| record(i, now)).collect();
        let start = Instant::now();
        for (i, record) in records.into_iter().enumerate() {
            ledger.record(record);
            // A producer far faster than any real traffic that still keeps within the channel (10,000 rows), so
            // what is measured is the writer, not tasks waiting for room.
            if i % 5000 == 4999 {
                ledger.flush().await;
            }
        }
        ledger.flush().await;
        let elapsed = start.elapsed();
        ledger.shutdown().await;
        anyhow::ensure!(ledger.lost() == 0, "the writer lost rows");
        anyhow::ensure!(ledger.delayed() == 0, "rows waited for room: the producer outran the channel");
        Ok(n as f64 / elapsed.as_secs_f64())
    })
}

fn record(i: usize, now: i64) -> Record {
    let (provider, model) = MODELS[i % MODELS.len()];
    let input = 200 + (i * 7919 % 20_000) as u64;
    Record {
        // Rows arrive in time order, as requests finish: a few per millisecond at this rate.
        ts_ms: now + i as i64 / 4,
        app_id: Some((i % APPS.len()) as i64 + 2),
        alias: Some(ALIASES[i % ALIASES.len()].to_owned()),
        provider_id: Some(provider.to_owned()),
        provider_kind: Some(provider.to_owned()),
        model: Some(model.to_owned()),
        stream: !i.is_multiple_of(3),
        status: if i.is_multiple_of(50) { 429 } else { 200 },
        usage: Some(Usage { input, output: input / 8, cached_input: input / 3, ..Usage::default() }),
        latency_ms: 300 + (i % 4000) as u64,
        ttft_ms: Some(120 + (i % 900) as u64),
        ..Record::new(APPS[i % APPS.len()], "openai-chat")
    }
}

/// `rows` requests spread evenly over the 30 days before `now`, inserted in one transaction.
fn fill(path: &std::path::Path, rows: usize, now: i64) -> Result<()> {
    // Its own connection: the store's is for the queries under test (and not public).
    let mut conn = rusqlite::Connection::open(path)?;
    {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO requests (ts, app_id, app_name, alias, provider_id, model, client_protocol, stream, \
                 status, error, attempts, input_tokens, cached_input_tokens, output_tokens, cost_usd, cost_source, \
                 price_version, latency_ms, ttft_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'openai-chat', ?7, ?8, ?9, '[]', ?10, ?11, ?12, ?13, 'table', \
                 '2026-11-25', ?14, ?15)",
            )?;
            let step = (30 * DAY_MS) / rows.max(1) as i64;
            for i in 0..rows {
                let (provider, model) = MODELS[i % MODELS.len()];
                let input = 200 + (i * 7919 % 20_000) as i64;
                let failed = i.is_multiple_of(50);
                stmt.execute(rusqlite_params(i, now - 30 * DAY_MS + i as i64 * step, provider, model, input, failed))?;
            }
        }
        tx.commit()?;
    }
    Ok(())
}

type Params = (
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    i64,
    Option<&'static str>,
    i64,
    i64,
    i64,
    f64,
    i64,
    i64,
);

#[allow(clippy::too_many_arguments)]
fn rusqlite_params(i: usize, ts: i64, provider: &'static str, model: &'static str, input: i64, failed: bool) -> Params {
    (
        ts,
        (i % APPS.len()) as i64 + 2,
        APPS[i % APPS.len()],
        ALIASES[i % ALIASES.len()],
        provider,
        model,
        !i.is_multiple_of(3),
        if failed { 429 } else { 200 },
        failed.then_some("rate limited"),
        input,
        input / 3,
        input / 8,
        input as f64 * 1.5e-7,
        300 + (i % 4000) as i64,
        120 + (i % 900) as i64,
    )
}

/// The median of [`RUNS`] runs of `query`.
fn time(mut query: impl FnMut() -> Result<(), switchboard_gateway::ledger::LedgerError>) -> Result<Duration> {
    let mut runs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        query()?;
        runs.push(start.elapsed());
    }
    runs.sort();
    Ok(runs[RUNS / 2])
}
