//! The update end to end on a database: what it stores, how requests before and after it are priced, and that a
//! broken catalog changes nothing.

use super::*;
use crate::ledger::{CostSource, PriceOverride, Record};
use crate::protocol::neutral::Usage;

const T0: i64 = 1_800_000_000_000;

/// A catalog in the models.dev shape with gpt-4o-mini at `input`/`output` and one model the shipped table lacks.
fn catalog(input: f64, output: f64) -> Vec<u8> {
    format!(
        r#"{{"openai": {{"id": "openai", "models": {{
            "gpt-4o-mini": {{"id": "gpt-4o-mini", "cost": {{"input": {input}, "output": {output}}},
                            "limit": {{"context": 128000, "output": 16384}}, "tool_call": true}},
            "gpt-4o": {{"id": "gpt-4o", "cost": {{"input": 2.5, "output": 10, "cache_read": 1.25}}}},
            "gpt-9-preview": {{"id": "gpt-9-preview", "cost": {{"input": 7, "output": 21}},
                              "limit": {{"context": 500000, "output": 1000}}}}
        }}}}}}"#
    )
    .into_bytes()
}

fn request(model: &str, ts_ms: i64) -> Record {
    Record {
        ts_ms,
        provider_id: Some("oa".into()),
        provider_kind: Some("openai".into()),
        model: Some(model.into()),
        usage: Some(Usage {
            input: 1_000_000,
            cached_input: 0,
            cache_write: 0,
            cache_write_1h: 0,
            output: 1_000_000,
            reasoning: 0,
        }),
        ..Record::new("scripts", "openai-chat")
    }
}

fn file() -> Source {
    Source::File("catalog.json".into())
}

#[test]
fn an_update_dates_its_prices_and_each_request_keeps_the_price_of_its_time() {
    let store = Store::open_in_memory().unwrap();
    // The shipped price of gpt-4o-mini is 0.15 + 0.60.
    let summary = apply(&store, &catalog(0.2, 0.8), &file(), T0).unwrap();
    // gpt-4o's price is the shipped one: unchanged, so not stored again.
    assert_eq!((summary.models, summary.models_added, summary.prices_changed), (3, 1, 1), "{summary:?}");
    assert_eq!(summary.version, import_version(summary.import_id, T0));
    assert!(summary.describe().starts_with("1 model added, 1 price changed, in effect from"), "{}", summary.describe());

    let prices = Prices::load(&store).unwrap();
    let before = prices.cost(&request("gpt-4o-mini", T0 - 1));
    let after = prices.cost(&request("gpt-4o-mini-2024-07-18", T0));
    assert_eq!((before.usd, before.price_version.as_deref()), (Some(0.75), Some("2026-11-25")));
    assert_eq!((after.usd, after.price_version.as_deref()), (Some(1.0), Some(summary.version.as_str())));
    // A model only the catalog knows is unpriced before the update and priced after it.
    assert_eq!(prices.cost(&request("gpt-9-preview", T0 - 1)).source, Some(CostSource::Unknown));
    assert_eq!(prices.cost(&request("gpt-9-preview", T0 + 5)).usd, Some(28.0));

    // A second update with a new price: three layers, each request priced by its own.
    let second = apply(&store, &catalog(0.3, 1.2), &file(), T0 + 1000).unwrap();
    assert_eq!((second.models_added, second.prices_changed), (0, 1), "only gpt-4o-mini changed again");
    let prices = Prices::load(&store).unwrap();
    for (ts, usd) in [(T0 - 1, 0.75), (T0 + 999, 1.0), (T0 + 1000, 1.5)] {
        assert_eq!(prices.cost(&request("gpt-4o-mini", ts)).usd, Some(usd), "at {ts}");
    }
    // The same catalog again changes nothing but is recorded.
    let again = apply(&store, &catalog(0.3, 1.2), &file(), T0 + 2000).unwrap();
    assert_eq!((again.models_added, again.prices_changed), (0, 0));
    assert!(again.describe().starts_with("no price changed"), "{}", again.describe());
    assert_eq!(store.price_imports().unwrap().len(), 3);
}

#[test]
fn the_users_override_wins_over_every_layer() {
    let store = Store::open_in_memory().unwrap();
    apply(&store, &catalog(0.2, 0.8), &file(), T0).unwrap();
    store
        .put_price_override(&PriceOverride {
            provider: "oa".into(),
            model: "gpt-4o-mini".into(),
            output: Some(0.1),
            ..Default::default()
        })
        .unwrap();
    let prices = Prices::load(&store).unwrap();
    let before = prices.cost(&request("gpt-4o-mini", T0 - 1));
    let after = prices.cost(&request("gpt-4o-mini", T0 + 1));
    assert_eq!((before.usd, before.price_version.as_deref()), (Some(0.25), Some("2026-11-25+override")));
    let version = format!("{}+override", import_version(1, T0));
    assert!(after.usd.is_some_and(|usd| (usd - 0.3).abs() < 1e-12), "{after:?}");
    assert_eq!(after.price_version.as_deref(), Some(version.as_str()));
}

#[test]
fn a_broken_or_empty_catalog_changes_nothing_and_says_why() {
    let store = Store::open_in_memory().unwrap();
    apply(&store, &catalog(0.2, 0.8), &file(), T0).unwrap();
    let before =
        (store.price_imports().unwrap(), store.imported_prices().unwrap(), store.model_capabilities().unwrap());
    for (bytes, expect) in [
        (b"{\"openai\": {\"models\": {\"gpt-4o\": ".to_vec(), "not valid"),
        (b"<!doctype html><p>Too many requests</p>".to_vec(), "not valid"),
        (
            b"{\"someone\": {\"models\": {\"x\": {\"cost\": {\"input\": 1, \"output\": 1}}}}}".to_vec(),
            "no priced model",
        ),
        (b"{\"openai\": {\"name\": \"no models\"}}".to_vec(), "api.json shape"),
    ] {
        let error = apply(&store, &bytes, &file(), T0 + 10).unwrap_err();
        assert!(error.to_string().contains(expect), "{error}");
        assert!(error.with_outcome().ends_with("nothing was changed"), "{}", error.with_outcome());
    }
    let after = (store.price_imports().unwrap(), store.imported_prices().unwrap(), store.model_capabilities().unwrap());
    assert_eq!(before, after);
}

#[test]
fn the_import_feeds_the_routers_capabilities() {
    let store = Store::open_in_memory().unwrap();
    apply(&store, &catalog(0.2, 0.8), &file(), T0).unwrap();
    let imported = imported_capabilities(&store).unwrap();
    let catalog = crate::routing::Catalog::new(&[]).with_imported(std::sync::Arc::new(imported));
    assert_eq!(catalog.lookup("oa", "openai", "gpt-9-preview").context_window, Some(500_000));
    // The shipped fact for gpt-4o-mini is kept.
    assert_eq!(catalog.lookup("oa", "openai", "gpt-4o-mini").vision, Some(true));
}

#[tokio::test]
async fn a_catalog_is_read_from_a_file_or_a_local_server_and_a_failed_download_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.json");
    std::fs::write(&path, catalog(0.2, 0.8)).unwrap();
    let http = http_client().unwrap();
    assert_eq!(fetch(&Source::File(path.clone()), &http).await.unwrap(), catalog(0.2, 0.8));
    let missing = fetch(&Source::File(dir.path().join("nope.json")), &http).await.unwrap_err();
    assert!(missing.to_string().starts_with("could not read"), "{missing}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/api.json", axum::routing::get(|| async { catalog(0.2, 0.8) }))
        .route("/down", axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy") }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let got = fetch(&Source::parse(&format!("{base}/api.json")), &http).await.unwrap();
    assert_eq!(got, catalog(0.2, 0.8));
    let error = fetch(&Source::parse(&format!("{base}/down")), &http).await.unwrap_err();
    assert!(error.to_string().contains("answered 503"), "{error}");
    assert_eq!(Source::parse(" ./api.json "), Source::File("./api.json".into()));
}

/// Through the real writer: rows queued on either side of an import, written after it, keep their own time's price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_prices_each_row_at_its_own_time() {
    use crate::ledger::queries::{self, Page, RequestFilter};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(crate::ledger::DATABASE_FILE);
    let store = Store::open(&path).unwrap();
    let ledger = crate::ledger::Ledger::start(&path, Prices::load(&store).unwrap()).unwrap();
    let now = crate::store::now_ms();
    apply(&store, &catalog(0.2, 0.8), &file(), now).unwrap();
    ledger.set_prices(Prices::load(&store).unwrap());
    ledger.record(request("gpt-4o-mini", now - 60_000));
    ledger.record(request("gpt-4o-mini", now + 1));
    ledger.flush().await;
    let rows = queries::requests(&store, &RequestFilter::default(), Page { limit: 10, before_id: None }).unwrap();
    let got: Vec<_> = rows.iter().rev().map(|r| (r.cost_usd, r.price_version.clone())).collect();
    assert_eq!(got, vec![(Some(0.75), Some("2026-11-25".into())), (Some(1.0), Some(import_version(1, now)))]);
    ledger.shutdown().await;
}
