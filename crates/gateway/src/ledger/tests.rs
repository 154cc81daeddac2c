//! The ledger end to end on real database files: batching, shutdown, back-pressure, pricing once, budgets, queries
//! and exports.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use super::queries::{self, Bucket, GroupBy, Page, RequestFilter, StatusClass};
use super::*;
use crate::store::{self, AppSpec};

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    (dir, path)
}

fn rows_in(path: &Path) -> i64 {
    Store::open(path)
        .unwrap()
        .with_conn(|c| Ok(c.query_row("SELECT count(*) FROM requests", [], |r| r.get(0))?))
        .unwrap()
}

/// Polls until `path` holds `n` rows; fails after 5 s.
async fn wait_for_rows(path: &Path, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while rows_in(path) != n {
        assert!(Instant::now() < deadline, "expected {n} rows, found {}", rows_in(path));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn slow_batches() -> WriterConfig {
    WriterConfig { batch_interval: Duration::from_secs(60), ..WriterConfig::default() }
}

fn gpt(app: &str, ts_ms: i64, input: u64, output: u64) -> Record {
    Record {
        ts_ms,
        alias: Some("general".into()),
        provider_id: Some("openai".into()),
        provider_kind: Some("openai".into()),
        model: Some("gpt-4o-mini".into()),
        usage: Some(Usage { input, output, ..Usage::default() }),
        latency_ms: 100,
        ..Record::new(app, "openai-chat")
    }
}

fn all_rows(store: &Store) -> Vec<queries::RequestRow> {
    queries::requests(store, &RequestFilter::default(), Page { limit: 1000, before_id: None }).unwrap()
}

#[tokio::test]
async fn a_batch_is_written_as_soon_as_it_holds_100_rows() {
    let (_dir, path) = db();
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), slow_batches()).unwrap();
    for _ in 0..99 {
        ledger.record(gpt("scripts", store::now_ms(), 10, 10));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rows_in(&path), 0, "99 rows wait for the 100th (or the interval)");
    ledger.record(gpt("scripts", store::now_ms(), 10, 10));
    wait_for_rows(&path, 100).await;
    ledger.shutdown().await;
}

#[tokio::test]
async fn a_partial_batch_is_written_250_ms_after_its_first_row() {
    let (_dir, path) = db();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    let start = Instant::now();
    ledger.record(gpt("scripts", store::now_ms(), 10, 10));
    ledger.record(gpt("scripts", store::now_ms(), 10, 10));
    assert_eq!(rows_in(&path), 0);
    wait_for_rows(&path, 2).await;
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(240), "written after {waited:?}, before the 250 ms interval");
    ledger.shutdown().await;
}

#[tokio::test]
async fn shutdown_writes_everything_queued_and_later_rows_are_refused() {
    let (_dir, path) = db();
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), slow_batches()).unwrap();
    let clone = ledger.clone();
    for _ in 0..250 {
        clone.record(gpt("scripts", store::now_ms(), 10, 10));
    }
    ledger.shutdown().await;
    assert_eq!(rows_in(&path), 250);
    // After shutdown: logged, not written, no panic; a second shutdown returns at once.
    clone.record(gpt("scripts", store::now_ms(), 10, 10));
    clone.shutdown().await;
    assert_eq!(rows_in(&path), 250);
    assert_eq!((ledger.delayed(), ledger.lost()), (0, 0));
}

#[tokio::test]
async fn dropping_every_handle_also_flushes() {
    let (_dir, path) = db();
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), slow_batches()).unwrap();
    ledger.record(gpt("scripts", store::now_ms(), 10, 10));
    drop(ledger);
    wait_for_rows(&path, 1).await;
}

#[tokio::test]
async fn a_full_channel_delays_rows_and_loses_none() {
    let (_dir, path) = db();
    let config = WriterConfig { capacity: 4, batch_rows: 3, ..slow_batches() };
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), config).unwrap();
    // On this single-threaded runtime the writer cannot run between these calls: 4 fit, 6 must wait.
    for i in 0..10 {
        ledger.record(gpt("scripts", store::now_ms() + i, 10, 10));
    }
    assert_eq!(ledger.delayed(), 6);
    ledger.shutdown().await;
    assert_eq!(rows_in(&path), 10);
    assert_eq!(ledger.lost(), 0);
}

#[tokio::test]
async fn a_row_keeps_everything_the_relay_knew() {
    let (_dir, path) = db();
    let store = Store::open(&path).unwrap();
    let (app, _) = store.create_app(&AppSpec::new("scripts")).unwrap();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    let ts = store::now_ms() - 5000;
    ledger.record(Record {
        ts_ms: ts,
        app_id: Some(app.id),
        alias: Some("smart".into()),
        provider_id: Some("claude".into()),
        provider_kind: Some("anthropic".into()),
        model: Some("claude-sonnet-4-5-20250929".into()),
        stream: true,
        status: 200,
        error: Some("client went away mid-stream".into()),
        attempts: vec![
            AttemptRecord { target: "openai/gpt-5".into(), result: "429".into(), elapsed_ms: 40, failure: None },
            AttemptRecord {
                target: "claude/claude-sonnet-4-5-20250929".into(),
                result: "ok".into(),
                elapsed_ms: 900,
                failure: None,
            },
        ],
        usage: Some(Usage {
            input: 12_000,
            cached_input: 10_000,
            cache_write: 1000,
            cache_write_1h: 400,
            output: 500,
            reasoning: 200,
        }),
        latency_ms: 950,
        ttft_ms: Some(320),
        ..Record::new("scripts", "anthropic")
    });
    ledger.shutdown().await;

    let rows = all_rows(&store);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.ts_ms, row.app_id, row.app_name.as_str()), (ts, Some(app.id), "scripts"));
    assert_eq!((row.alias.as_deref(), row.provider_id.as_deref()), (Some("smart"), Some("claude")));
    assert_eq!((row.client_protocol.as_str(), row.stream, row.status), ("anthropic", true, 200));
    assert_eq!(row.error.as_deref(), Some("client went away mid-stream"));
    assert_eq!(row.attempts.len(), 2);
    assert_eq!(row.attempts[0].result, "429");
    assert_eq!(
        (row.input_tokens, row.cached_input_tokens, row.cache_write_tokens, row.output_tokens, row.reasoning_tokens),
        (Some(12_000), Some(10_000), Some(1000), Some(500), Some(200))
    );
    assert_eq!(row.cache_write_1h_tokens, Some(400), "the hour-long part of the writes");
    // 1000 fresh, 10k read, 600 written for five minutes, 400 for an hour (twice the input price), 500 out.
    let want = (1000.0 * 3.0 + 10_000.0 * 0.30 + 600.0 * 3.75 + 400.0 * 6.0 + 500.0 * 15.0) / 1e6;
    assert!((row.cost_usd.unwrap() - want).abs() < 1e-12, "{:?}", row.cost_usd);
    assert_eq!((row.cost_source.as_deref(), row.price_version.as_deref()), (Some("prices"), Some("2026-11-25")));
    assert_eq!((row.latency_ms, row.ttft_ms), (Some(950), Some(320)));
    assert_eq!(store.app(app.id).unwrap().unwrap().last_used_at, Some(ts), "the app is marked as used");
}

#[tokio::test]
async fn a_cost_is_computed_once_and_never_repriced() {
    let (_dir, path) = db();
    let store = Store::open(&path).unwrap();
    let ledger = Ledger::start(&path, Prices::load(&store).unwrap()).unwrap();
    ledger.record(gpt("scripts", store::now_ms(), 1_000_000, 0));
    ledger.flush().await;

    store
        .with_conn(|c| {
            c.execute(
                "INSERT INTO price_overrides (provider_id, model, input_per_mtok, updated_at) \
                 VALUES ('openai', 'gpt-4o-mini', 1.0, 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    ledger.set_prices(Prices::load(&store).unwrap());
    ledger.record(gpt("scripts", store::now_ms(), 1_000_000, 0));
    ledger.shutdown().await;

    let mut costs: Vec<_> =
        all_rows(&store).into_iter().map(|r| (r.id, r.cost_usd, r.price_version.unwrap_or_default())).collect();
    costs.sort_by_key(|c| c.0);
    assert_eq!(
        costs.into_iter().map(|(_, cost, version)| (cost, version)).collect::<Vec<_>>(),
        [(Some(0.15), "2026-11-25".to_owned()), (Some(1.0), "2026-11-25+override".to_owned())],
        "the first row keeps the price it was written with"
    );
}

#[tokio::test]
async fn budgets_follow_the_rows_written_and_survive_a_restart() {
    let (_dir, path) = db();
    let store = Store::open(&path).unwrap();
    let budget = json!({"daily_usd": 0.01, "action": "block"});
    let (app, _) = store.create_app(&AppSpec { budget: Some(budget), ..AppSpec::new("scripts") }).unwrap();
    store.set_setting("budget", &json!({"monthly_usd": 100, "action": "warn"})).unwrap();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    let now = store::now_ms();
    assert_eq!(ledger.budget_verdict(Some(app.id), now), Verdict::Ok);

    // A local model costs nothing, so it never counts against a budget.
    ledger.record(Record {
        app_id: Some(app.id),
        provider_kind: Some("ollama".into()),
        model: Some("llama3.2".into()),
        usage: Some(Usage { input: 1_000_000, output: 1_000_000, ..Usage::default() }),
        ..Record::new("scripts", "openai-chat")
    });
    ledger.flush().await;
    assert_eq!(ledger.budget_verdict(Some(app.id), now), Verdict::Ok);

    ledger.record(Record {
        app_id: Some(app.id),
        provider_cost_usd: Some(0.02),
        ..Record::new("scripts", "openai-chat")
    });
    ledger.flush().await;
    let blocked = Verdict::Block {
        budget: "daily budget of app \"scripts\"".into(),
        spent: 0.02,
        limit: 0.01,
        resets_at_ms: clock::next_day_start(now),
    };
    assert_eq!(ledger.budget_verdict(Some(app.id), now), blocked);
    assert_eq!(ledger.budget_verdict(None, now), Verdict::Ok, "other callers only see the overall budget");
    ledger.shutdown().await;

    // A new ledger reads today's spend back from the rows.
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    assert_eq!(ledger.budget_verdict(Some(app.id), now), blocked);
    // Budgets are reloadable: lift the app's, tighten the overall one.
    store.update_app(app.id, &AppSpec { budget: None, ..AppSpec::new("scripts") }).unwrap();
    store.set_setting("budget", &json!({"monthly_usd": 0.015})).unwrap();
    ledger.reload_budgets(&store).unwrap();
    assert_eq!(
        ledger.budget_verdict(Some(app.id), now),
        Verdict::Warn { budget: "monthly overall budget".into(), spent: 0.02, limit: 0.015 }
    );
    ledger.set_budgets(HashMap::new(), None);
    assert_eq!(ledger.budget_verdict(Some(app.id), now), Verdict::Ok);
    ledger.shutdown().await;
}

#[tokio::test]
async fn a_receipt_names_its_own_row_in_a_batch_and_an_unwritten_row_drops_it() {
    let (_dir, path) = db();
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), slow_batches()).unwrap();
    let (first, first_id) = oneshot::channel();
    let (third, third_id) = oneshot::channel();
    ledger.record_with_receipt(gpt("a", 1_000, 1, 1), first);
    ledger.record(gpt("b", 2_000, 1, 1));
    ledger.record_with_receipt(gpt("c", 3_000, 1, 1), third);
    // One batch (the interval is a minute): the receipts answer when it is written, each with its own row.
    ledger.flush().await;
    let store = Store::open(&path).unwrap();
    let app_of = |id: i64| queries::request_detail(&store, id).unwrap().unwrap().row.app_name;
    assert_eq!(app_of(first_id.await.unwrap()), "a");
    assert_eq!(app_of(third_id.await.unwrap()), "c");

    // A row that is not written (here: recorded after shutdown) drops its receipt unanswered, so nobody waits.
    ledger.shutdown().await;
    let (late, late_id) = oneshot::channel();
    ledger.record_with_receipt(gpt("d", 4_000, 1, 1), late);
    assert!(late_id.await.is_err());
}

#[tokio::test]
async fn an_expected_request_id_names_its_own_row_and_an_abandoned_one_is_withdrawn() {
    let (_dir, path) = db();
    let ledger = Ledger::start_with(&path, Prices::shipped().unwrap(), slow_batches()).unwrap();
    assert!(!ledger.expects_request_ids(), "nothing expected: the relay copies no ids");
    let first = ledger.expect("sb-check-1");
    let second = ledger.expect("sb-check-2");
    let abandoned = ledger.expect("sb-check-3");
    assert!(ledger.expects_request_ids());
    drop(abandoned);
    let with_id = |app: &str, ts: i64, id: Option<&str>| Record { request_id: id.map(Box::from), ..gpt(app, ts, 1, 1) };
    // Same app, same batch; one row carries an id nobody expects, one carries none.
    ledger.record(with_id("a", 1_000, Some("sb-check-2")));
    ledger.record(with_id("a", 2_000, None));
    ledger.record(with_id("a", 3_000, Some("sb-check-1")));
    ledger.record(with_id("a", 4_000, Some("sb-check-3")));
    let store = Store::open(&path).unwrap();
    let ts_of = |id: i64| queries::request_detail(&store, id).unwrap().unwrap().row.ts_ms;
    let within = Duration::from_secs(2);
    assert_eq!(first.row_id(&ledger, within).await.map(ts_of), Some(3_000));
    assert_eq!(second.row_id(&ledger, within).await.map(ts_of), Some(1_000));
    assert!(!ledger.expects_request_ids(), "answered and withdrawn ids are gone");

    // A request that writes no row: the wait ends at its limit.
    let never = ledger.expect("sb-check-4");
    let started = Instant::now();
    assert_eq!(never.row_id(&ledger, Duration::from_millis(200)).await, None);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!ledger.expects_request_ids());

    // Registering an id again replaces the first registration; dropping the replaced one leaves the new one.
    let old = ledger.expect("sb-check-5");
    let new = ledger.expect("sb-check-5");
    drop(old);
    assert!(ledger.expects_request_ids());
    ledger.record(with_id("b", 5_000, Some("sb-check-5")));
    assert_eq!(new.row_id(&ledger, within).await.map(ts_of), Some(5_000));
    ledger.shutdown().await;
}

/// 2026-03-15 00:00 UTC.
const DAY: i64 = 1_773_532_800_000;

/// Six requests over two days, written through a ledger.
async fn sample() -> (tempfile::TempDir, Store) {
    let (dir, path) = db();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    let hour = clock::HOUR_MS;
    ledger.record(gpt("scripts", DAY + hour, 1_000_000, 0)); // 0.15
    ledger.record(gpt("scripts", DAY + hour + 60_000, 0, 1_000_000)); // 0.60
    ledger.record(Record {
        status: 429,
        error: Some("rate limited".into()),
        usage: None,
        ..gpt("ide", DAY + 2 * hour, 0, 0)
    });
    ledger.record(Record {
        model: Some("claude-haiku-4-5".into()),
        provider_id: Some("anthropic".into()),
        provider_kind: Some("anthropic".into()),
        alias: None,
        latency_ms: 300,
        ..gpt("ide", DAY + 2 * hour + 5, 1_000_000, 0) // 1.00
    });
    ledger.record(Record { model: Some("mystery-1".into()), ..gpt("ide", DAY + clock::DAY_MS + 10, 10, 10) }); // unpriced
    ledger.record(gpt("scripts", DAY + clock::DAY_MS + hour, 2_000_000, 0)); // 0.30
    ledger.shutdown().await;
    let store = Store::open(&path).unwrap();
    (dir, store)
}

#[tokio::test]
async fn totals_group_and_order_by_cost() {
    let (_dir, store) = sample().await;
    let by_app = queries::totals(&store, DAY, DAY + 2 * clock::DAY_MS, GroupBy::App).unwrap();
    let summary: Vec<_> =
        by_app.iter().map(|r| (r.key.clone().unwrap(), r.requests, r.errors, r.input, r.unpriced)).collect();
    assert_eq!(summary, [("scripts".into(), 3, 0, 3_000_000, 0), ("ide".into(), 3, 1, 1_000_010, 1)]);
    assert!((by_app[0].cost_usd - 1.05).abs() < 1e-9);
    assert!((by_app[1].cost_usd - 1.0).abs() < 1e-9);
    assert_eq!(by_app[1].avg_latency_ms, Some(500.0 / 3.0));

    let by_alias = queries::totals(&store, DAY, DAY + 2 * clock::DAY_MS, GroupBy::Alias).unwrap();
    let keys: Vec<_> = by_alias.iter().map(|r| (r.key.clone(), r.requests)).collect();
    assert_eq!(keys, [(Some("general".into()), 5), (None, 1)]);

    let by_model = queries::totals(&store, DAY, DAY + clock::DAY_MS, GroupBy::Model).unwrap();
    let keys: Vec<_> = by_model.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, ["claude-haiku-4-5", "gpt-4o-mini"], "the second day is out of range");

    let by_provider = queries::totals(&store, DAY, DAY + 2 * clock::DAY_MS, GroupBy::Provider).unwrap();
    assert_eq!(by_provider.len(), 2);
    let total = queries::overall(&store, i64::MIN, i64::MAX).unwrap();
    assert_eq!((total.key, total.requests, total.errors, total.unpriced), (None, 6, 1, 1));
    let unpriced = queries::unpriced(&store, i64::MIN, i64::MAX).unwrap();
    assert_eq!(unpriced.iter().map(|u| (u.model.as_deref(), u.requests)).collect::<Vec<_>>(), [(Some("mystery-1"), 1)]);
    assert!((total.cost_usd - 2.05).abs() < 1e-9);
    let empty = queries::overall(&store, 0, 1).unwrap();
    assert_eq!((empty.requests, empty.cost_usd, empty.avg_latency_ms), (0, 0.0, None));
    assert!(queries::totals(&store, 0, 1, GroupBy::App).unwrap().is_empty());
}

#[tokio::test]
async fn series_buckets_by_utc_hour_and_day() {
    let (_dir, store) = sample().await;
    let hourly = queries::series(&store, DAY, DAY + 2 * clock::DAY_MS, Bucket::Hour).unwrap();
    let shape: Vec<_> = hourly.iter().map(|p| ((p.bucket_start_ms - DAY) / clock::HOUR_MS, p.requests)).collect();
    assert_eq!(shape, [(1, 2), (2, 2), (24, 1), (25, 1)]);
    assert!((hourly[0].cost_usd - 0.75).abs() < 1e-9);
    assert_eq!((hourly[0].input, hourly[0].output), (1_000_000, 1_000_000));

    let daily = queries::series(&store, DAY, DAY + 2 * clock::DAY_MS, Bucket::Day).unwrap();
    let shape: Vec<_> = daily.iter().map(|p| (p.bucket_start_ms, p.requests)).collect();
    assert_eq!(shape, [(DAY, 4), (DAY + clock::DAY_MS, 2)]);
    assert!((daily[1].cost_usd - 0.3).abs() < 1e-9);

    // Two hours behind UTC, a day starts at 02:00 UTC: the 01:00 requests belong to the day before.
    let h = clock::HOUR_MS;
    let local = queries::series_at(&store, DAY, DAY + 2 * clock::DAY_MS, Bucket::Day, -2 * h).unwrap();
    let shape: Vec<_> = local.iter().map(|p| (p.bucket_start_ms, p.requests)).collect();
    assert_eq!(shape, [(DAY - 22 * h, 2), (DAY + 2 * h, 4)]);
    let hourly_local = queries::series_at(&store, DAY, DAY + 2 * clock::DAY_MS, Bucket::Hour, -2 * h).unwrap();
    assert_eq!(hourly_local.len(), hourly.len(), "whole-hour offsets leave hours as they are");
}

#[tokio::test]
async fn the_request_list_filters_and_pages_newest_first() {
    let (_dir, store) = sample().await;
    let all = RequestFilter::default();
    let first = queries::requests(&store, &all, Page { limit: 4, before_id: None }).unwrap();
    let second = queries::requests(&store, &all, Page { limit: 4, before_id: first.last().map(|r| r.id) }).unwrap();
    assert_eq!((first.len(), second.len()), (4, 2));
    let ids: Vec<_> = first.iter().chain(&second).map(|r| r.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    let count =
        |filter: RequestFilter| queries::requests(&store, &filter, Page { limit: 100, before_id: None }).unwrap().len();
    assert_eq!(count(RequestFilter { app: Some("ide".into()), ..all.clone() }), 3);
    assert_eq!(count(RequestFilter { alias: Some("general".into()), ..all.clone() }), 5);
    assert_eq!(count(RequestFilter { provider: Some("anthropic".into()), ..all.clone() }), 1);
    assert_eq!(count(RequestFilter { model: Some("gpt-4o-mini".into()), ..all.clone() }), 4);
    assert_eq!(count(RequestFilter { status_class: Some(StatusClass::ErrorsOnly), ..all.clone() }), 1);
    assert_eq!(count(RequestFilter { status_class: Some(StatusClass::OkOnly), ..all.clone() }), 5);
    assert_eq!(count(RequestFilter { since_ms: Some(DAY + clock::DAY_MS), ..all.clone() }), 2);
    assert_eq!(count(RequestFilter { until_ms: Some(DAY + 2 * clock::HOUR_MS), ..all.clone() }), 2);
    let filter = RequestFilter { app: Some("ide".into()), status_class: Some(StatusClass::OkOnly), ..all.clone() };
    assert_eq!(count(filter), 2);
    assert_eq!(queries::requests(&store, &all, Page { limit: 0, before_id: None }).unwrap().len(), 1, "clamped");
}

#[test]
fn csv_cells_are_quoted_and_defused() {
    let check = |input: &str, expect: &str| assert_eq!(queries::csv_text(input), expect, "{input:?}");
    check("plain", "plain");
    check("a,b", "\"a,b\"");
    check("say \"hi\"", "\"say \"\"hi\"\"\"");
    check("two\nlines", "\"two\nlines\"");
    check("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
    check("+1", "'+1");
    check("@sum", "'@sum");
    check("", "");
}

#[tokio::test]
async fn exports_write_every_matching_row() {
    let (_dir, store) = sample().await;
    let mut csv = Vec::new();
    assert_eq!(queries::export_csv(&store, &RequestFilter::default(), &mut csv).unwrap(), 6);
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines[0].starts_with("id,time,ts_ms,app_id,app,alias,provider,model,"), "{}", lines[0]);
    let rate_limited = lines.iter().find(|l| l.contains("rate limited")).unwrap();
    assert!(rate_limited.contains(",2026-03-15T02:00:00.000Z,"), "{rate_limited}");
    assert!(rate_limited.contains(",429,rate limited,[],"), "{rate_limited}");

    let mut out = Vec::new();
    let filter = RequestFilter { app: Some("scripts".into()), ..RequestFilter::default() };
    assert_eq!(queries::export_json(&store, &filter, &mut out).unwrap(), 3);
    let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
    assert_eq!(parsed[0]["app_name"], "scripts");
    assert_eq!(parsed[0]["cost_source"], "prices");

    let mut out = Vec::new();
    let none = RequestFilter { app: Some("nobody".into()), ..RequestFilter::default() };
    assert_eq!(queries::export_json(&store, &none, &mut out).unwrap(), 0);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out).unwrap(), json!([]));
}

#[tokio::test]
async fn the_usage_report_prints_aligned_tables_with_totals() {
    let (_dir, store) = sample().await;
    let report = report::UsageReport::build(&store, None, DAY + 2 * clock::DAY_MS).unwrap();
    let text = report.to_text();
    assert!(text.starts_with("Usage of all time, to 2026-03-17 00:00 UTC\n"), "{text}");
    let app_table: Vec<_> = text.split("\n\n").nth(1).unwrap().lines().collect();
    assert_eq!(app_table[0], "app      requests  errors    input  cached   output  reasoning  cost (USD)  avg ms");
    assert_eq!(app_table[1], "scripts         3       0  3000000       0  1000000          0      1.0500     100");
    assert_eq!(app_table[2], "ide             3       1  1000010       0       10          0     1.0000*     167");
    assert!(app_table[3].chars().all(|c| c == '-'));
    assert_eq!(app_table[4], "total           6       1  4000010       0  1000010          0     2.0500*     133");
    assert!(text.contains("\n* 1 request(s) used a model with no price"), "{text}");
    assert!(text.contains("\nmodel "), "{text}");
    assert!(text.contains("\n(none) "), "the alias table names requests without one: {text}");

    let recent = report::UsageReport::build(&store, Some(clock::HOUR_MS), DAY + 30 * clock::DAY_MS).unwrap();
    assert!(recent.to_text().ends_with("\nno requests in this period\n"), "{}", recent.to_text());
}

#[tokio::test]
async fn bodies_are_kept_with_their_row_cut_at_the_bound_and_pruned_after_their_retention() {
    let (_dir, path) = db();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    ledger.set_logging(&LoggingConfig { bodies: true, retention_days: 2 });
    assert!(ledger.logs_bodies());
    let mut written = ledger.subscribe();
    let before = *written.borrow_and_update();

    let now = store::now_ms();
    let huge = "é".repeat(MAX_LOGGED_BODY); // two bytes each: cut in the middle of the text
    let mut truncated = false;
    let kept = Bodies::keep(huge.as_bytes(), &mut truncated);
    assert!(truncated && kept.len() <= MAX_LOGGED_BODY + 3, "cut at the bound, still valid UTF-8");
    let with_bodies = |ts_ms, request: &str, response: &str| Record {
        bodies: Some(Box::new(Bodies {
            request: Some(request.to_owned()),
            response: Some(response.to_owned()),
            truncated: false,
        })),
        ..gpt("scripts", ts_ms, 5, 5)
    };
    ledger.record(with_bodies(now - 3 * clock::DAY_MS, "{\"old\":true}", "old answer"));
    ledger.record(with_bodies(now, "{\"messages\":[]}", "data: {}\n\n"));
    ledger.record(gpt("scripts", now, 5, 5)); // logged while logging was off: no bodies
    ledger.flush().await;
    tokio::time::timeout(Duration::from_secs(5), written.changed()).await.unwrap().unwrap();
    assert_eq!(*written.borrow(), before + 3, "the watch names the newest row written");

    let store = Store::open(&path).unwrap();
    let rows = all_rows(&store);
    let (newest, fresh, old) = (rows[0].id, rows[1].id, rows[2].id);
    let detail = queries::request_detail(&store, fresh).unwrap().unwrap();
    let bodies = detail.bodies.unwrap();
    assert_eq!(bodies.request.as_deref(), Some("{\"messages\":[]}"));
    assert_eq!(bodies.response.as_deref(), Some("data: {}\n\n"));
    assert!(queries::request_detail(&store, newest).unwrap().unwrap().bodies.is_none());
    assert!(
        queries::request_detail(&store, old).unwrap().unwrap().bodies.is_none(),
        "the first batch pruned bodies older than 2 days; the row itself stays"
    );
    assert_eq!(queries::request_detail(&store, old).unwrap().unwrap().row.input_tokens, Some(5));
    assert!(queries::request_detail(&store, 999_999).unwrap().is_none());

    ledger.set_logging(&LoggingConfig { bodies: false, retention_days: 2 });
    assert!(!ledger.logs_bodies());
    ledger.shutdown().await;
}

/// The dashboard reads whole days from `usage_daily`, whole hours from `usage_hourly` and the ragged edges from the
/// rows: for any range, grouping and mix of rows (including deleted ones) it must say what summing the rows themselves says.
#[tokio::test]
async fn totals_and_series_from_the_rollup_equal_sums_over_the_rows() {
    let (_dir, path) = db();
    let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
    let start = clock::day_start(store::now_ms()) - 3 * clock::DAY_MS;
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for i in 0..2_000 {
        let mut record =
            gpt(["a", "b", "c"][next(3) as usize], start + next(3 * clock::DAY_MS as u64) as i64, next(900), next(90));
        record.alias = [Some("general".to_owned()), Some("code".to_owned()), None][next(3) as usize].clone();
        record.model = Some(["gpt-4o-mini", "no-such-model-so-unpriced"][next(2) as usize].to_owned());
        record.status = if i % 17 == 0 { 500 } else { 200 };
        record.latency_ms = next(2000);
        if let Some(usage) = record.usage.as_mut().filter(|_| next(2) == 0) {
            usage.cache_write = next(300);
            usage.cache_write_1h = next(usage.cache_write + 1);
        }
        ledger.record(record);
    }
    ledger.shutdown().await;
    let store = Store::open(&path).unwrap();
    store.with_conn(|c| Ok(c.execute("DELETE FROM requests WHERE id % 10 = 3", [])?)).unwrap();
    let filter = RequestFilter::default();
    let rows = queries::requests(&store, &filter, Page { limit: queries::MAX_PAGE, before_id: None }).unwrap();
    assert_eq!(rows.len(), 1_800);
    let rollup = |store: &Store, table: &str| -> Vec<(i64, String, String, i64, i64, i64, i64)> {
        store
            .with_conn(|c| {
                let start = if table == "usage_daily" { "day" } else { "hour" };
                let mut stmt = c.prepare(&format!(
                    "SELECT {start}, app_name, model, requests, input_tokens, CAST(round(cost_usd * 1e9) AS INTEGER), \
                     cache_write_1h_tokens FROM {table} ORDER BY {start}, app_name, alias, model"
                ))?;
                let rows = stmt.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                });
                Ok(rows?.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    };
    let kept = (rollup(&store, "usage_hourly"), rollup(&store, "usage_daily"));
    assert!(kept.1.len() > 3 && kept.1.len() < kept.0.len(), "the rows span a few days");
    store.rebuild_usage_rollup().unwrap();
    assert_eq!(
        (rollup(&store, "usage_hourly"), rollup(&store, "usage_daily")),
        kept,
        "the writer's running totals equal a rebuild from the rows"
    );

    for _ in 0..40 {
        let since = start + next(3 * clock::DAY_MS as u64) as i64 - clock::HOUR_MS;
        // Up to three days: many ranges hold whole days (read from `usage_daily`), some only hours or minutes.
        let until = since + next(3 * clock::DAY_MS as u64) as i64;
        let inside: Vec<_> = rows.iter().filter(|r| r.ts_ms >= since && r.ts_ms < until).collect();
        for group in [GroupBy::App, GroupBy::Alias, GroupBy::Model] {
            let key = |r: &queries::RequestRow| match group {
                GroupBy::App => Some(r.app_name.clone()),
                GroupBy::Alias => r.alias.clone(),
                GroupBy::Model => r.model.clone(),
                GroupBy::Provider => r.provider_id.clone(),
            };
            let got = queries::totals(&store, since, until, group).unwrap();
            let mut keys: Vec<_> = inside.iter().map(|r| key(r)).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(got.len(), keys.len(), "{group:?} over [{since}, {until})");
            for total in got {
                let mine: Vec<_> = inside.iter().filter(|r| key(r) == total.key).collect();
                assert_eq!(total.requests, mine.len() as u64, "{group:?} {:?}", total.key);
                assert_eq!(total.errors, mine.iter().filter(|r| r.status >= 400).count() as u64);
                assert_eq!(total.input, mine.iter().filter_map(|r| r.input_tokens).sum::<u64>());
                assert_eq!(total.output, mine.iter().filter_map(|r| r.output_tokens).sum::<u64>());
                assert_eq!(total.cache_write, mine.iter().filter_map(|r| r.cache_write_tokens).sum::<u64>());
                assert_eq!(total.cache_write_1h, mine.iter().filter_map(|r| r.cache_write_1h_tokens).sum::<u64>());
                let cost: f64 = mine.iter().filter_map(|r| r.cost_usd).sum();
                assert!((total.cost_usd - cost).abs() < 1e-9, "{} vs {cost}", total.cost_usd);
                let unpriced = mine.iter().filter(|r| r.cost_source.as_deref() == Some("unknown")).count();
                assert_eq!(total.unpriced, unpriced as u64);
                let latency = mine.iter().filter_map(|r| r.latency_ms).sum::<u64>() as f64 / mine.len() as f64;
                assert!((total.avg_latency_ms.unwrap() - latency).abs() < 1e-6);
            }
        }
        let overall = queries::overall(&store, since, until).unwrap();
        assert_eq!(overall.requests, inside.len() as u64);
        let unpriced = queries::unpriced(&store, since, until).unwrap();
        let expect = inside.iter().filter(|r| r.cost_source.as_deref() == Some("unknown")).count() as u64;
        assert_eq!(unpriced.iter().map(|u| u.requests).sum::<u64>(), expect);
        assert!(unpriced.iter().all(|u| u.model.as_deref() == Some("no-such-model-so-unpriced")), "{unpriced:?}");
        let series = queries::series(&store, since, until, Bucket::Hour).unwrap();
        assert_eq!(series.iter().map(|p| p.requests).sum::<u64>(), inside.len() as u64);
        for point in &series {
            let n =
                inside.iter().filter(|r| r.ts_ms.div_euclid(clock::HOUR_MS) * clock::HOUR_MS == point.bucket_start_ms);
            assert_eq!(point.requests, n.count() as u64, "hour {}", point.bucket_start_ms);
        }
        let days = queries::series(&store, since, until, Bucket::Day).unwrap();
        assert_eq!(
            days.iter().map(|p| p.input).sum::<u64>(),
            inside.iter().filter_map(|r| r.input_tokens).sum::<u64>()
        );
    }
}
