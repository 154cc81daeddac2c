//! Issue #18's price catalog and balances, black-box: the headless gateway prices a request before and after
//! `prices update` (from a catalog served in the models.dev shape by a local fake) each at its own time's price, a
//! broken catalog changes nothing and says why; and each provider's balance is read from a fake of its endpoint in
//! its real shape, with the key kept out of every error.

use std::process::{Command, Output};
use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, wait_for, workspace_bin};
use reqwest::StatusCode;
use serde_json::json;
use switchboard_gateway::config::Config;
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::providers::balance::{BalanceError, Balances, read};
use switchboard_gateway::providers::{HttpSettings, Registry, http_client};
use switchboard_gateway::secrets::{SecretError, SecretStore, SecretString};
use switchboard_gateway::store::Store;

/// gpt-4o-mini at twice its shipped price (0.15 / 0.075 cached / 0.60), in the models.dev shape with fields the
/// gateway does not read.
const CATALOG: &str = r#"{
  "openai": { "id": "openai", "name": "OpenAI", "env": ["OPENAI_API_KEY"], "npm": "@ai-sdk/openai", "doc": "x",
    "models": { "gpt-4o-mini": { "id": "gpt-4o-mini", "name": "GPT-4o mini", "attachment": true, "reasoning": false,
      "tool_call": true, "release_date": "2024-07-18", "last_updated": "2024-07-18", "open_weights": false,
      "modalities": { "input": ["text", "image"], "output": ["text"] },
      "cost": { "input": 0.3, "output": 1.2, "cache_read": 0.15 }, "limit": { "context": 128000, "output": 16384 } } } },
  "some-host-without-a-preset": { "id": "x", "models": { "m": { "id": "m", "cost": { "input": 1, "output": 1 } } } }
}"#;

/// Serves `/api.json` (the catalog above) and `/broken.json` (cut short) on a loopback port.
async fn catalog_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/api.json", axum::routing::get(|| async { CATALOG }))
        .route("/broken.json", axum::routing::get(|| async { &CATALOG[..CATALOG.len() / 2] }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn chat(gateway: &Gateway) {
    let body = json!({ "model": "general", "messages": [{ "role": "user", "content": "hi" }] });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.root()))
        .bearer_auth(FAKE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// `switchboard-gateway prices <args> --data-dir <the gateway's>`.
async fn prices(gateway: &Gateway, args: &[&str]) -> Output {
    let mut command = Command::new(workspace_bin("switchboard-gateway"));
    command.arg("prices").args(args).arg("--data-dir").arg(gateway.data());
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Sends SIGHUP and waits for the gateway to say it reloaded its prices (the `n`th time).
async fn hangup(gateway: &Gateway, n: usize) {
    let pid = gateway.pid().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    wait_for("the gateway to reload its prices", Duration::from_secs(10), || {
        (gateway.stderr().matches("prices reloaded").count() >= n).then_some(())
    })
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_before_and_after_a_catalog_update_keep_their_own_price_and_a_broken_catalog_changes_nothing() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let catalog = catalog_server().await;
    let config = format!(
        "[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\n",
        fake.api_base()
    );
    let mut gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();

    chat(&gateway).await;
    let update = prices(&gateway, &["update", "--from", &format!("{catalog}/api.json")]).await;
    let (stdout, stderr) = text(&update);
    assert!(update.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("0 models added, 1 price changed, in effect from"), "{stdout}");
    assert!(stdout.contains("catalog#1 ") && stdout.contains("/api.json"), "{stdout}");
    hangup(&gateway, 1).await;
    chat(&gateway).await;

    // A catalog cut short, a file that is not there: refused, said why, nothing changed.
    let broken = prices(&gateway, &["update", "--from", &format!("{catalog}/broken.json")]).await;
    let (_, stderr) = text(&broken);
    assert!(!broken.status.success());
    assert!(stderr.contains("the price catalog is not valid") && stderr.contains("nothing was changed"), "{stderr}");
    let missing = prices(&gateway, &["update", "--from", "/no/such/api.json"]).await;
    assert!(text(&missing).1.contains("could not read /no/such/api.json"), "{:?}", text(&missing));
    hangup(&gateway, 2).await;
    chat(&gateway).await;

    let listed = prices(&gateway, &["--model", "openai/gpt-4o-mini"]).await;
    assert!(text(&listed).0.contains("$0.3 input, $1.2 output") && text(&listed).0.contains("from catalog#1 "));
    let layers = text(&prices(&gateway, &[]).await).0;
    assert!(layers.contains("shipped snapshot: 2026-11-25") && layers.contains("0 models added, 1 prices changed"));

    assert!(gateway.terminate(Duration::from_secs(10)).unwrap().success(), "{}", gateway.stderr());
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    assert_eq!(store.price_imports().unwrap().len(), 1, "the broken catalog left no import");
    let page = queries::Page { limit: 10, before_id: None };
    let mut rows = queries::requests(&store, &queries::RequestFilter::default(), page).unwrap();
    rows.reverse();
    // The fake answers 12 prompt tokens (4 cached) and 7 completion tokens.
    let shipped = (8.0 * 0.15 + 4.0 * 0.075 + 7.0 * 0.60) / 1e6;
    let updated = (8.0 * 0.3 + 4.0 * 0.15 + 7.0 * 1.2) / 1e6;
    let got: Vec<_> = rows.iter().map(|r| (r.cost_usd.unwrap(), r.price_version.clone().unwrap())).collect();
    assert_eq!(got.len(), 3, "{rows:?}");
    assert!((got[0].0 - shipped).abs() < 1e-12 && got[0].1 == "2026-11-25", "{got:?}");
    for (cost, version) in &got[1..] {
        assert!((cost - updated).abs() < 1e-12 && version.starts_with("catalog#1 "), "{got:?}");
    }
}

/// Keys by keychain account, as the keychain would hand them out.
struct Keys(Vec<(&'static str, &'static str)>);

impl SecretStore for Keys {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(self.0.iter().find(|(a, _)| *a == account).map(|(_, key)| SecretString::from(*key)))
    }
    fn set(&self, _account: &str, _secret: &SecretString) -> Result<(), SecretError> {
        Ok(())
    }
    fn delete(&self, _account: &str) -> Result<(), SecretError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_are_read_in_each_providers_shape_and_the_key_stays_out_of_errors() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let base = fake.api_base();
    let mut text = String::new();
    for (id, kind) in [
        ("or", "openrouter"),
        ("or-admin", "openrouter"),
        ("ds", "deepseek"),
        ("kimi", "moonshot"),
        ("ds-bad", "deepseek"),
        ("oa", "openai"),
        ("or-nokey", "openrouter"),
    ] {
        text.push_str(&format!("[[providers]]\nid = \"{id}\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\n"));
    }
    let config = Config::from_toml(&text, "test").unwrap();
    let management = "fake-provider-key-management-0000";
    let keys = Keys(vec![
        ("or", FAKE_KEY),
        ("or-admin", management),
        ("ds", FAKE_KEY),
        ("kimi", FAKE_KEY),
        ("ds-bad", "bad-key"),
        ("oa", FAKE_KEY),
    ]);
    let settings = HttpSettings::default();
    let registry =
        Registry::from_config(&config.providers, &keys, &http_client(&settings, None).unwrap(), &settings).unwrap();
    let provider = |id: &str| registry.get(id).unwrap().clone();
    let now = 1_800_000_000_000;

    // OpenRouter with an ordinary key: the key's limit (its credits need a management key, and are skipped).
    let or = read(provider("or").as_ref(), now).await.unwrap();
    let amounts: Vec<_> = or.amounts.iter().map(|a| (a.label.as_str(), a.remaining, a.total)).collect();
    assert_eq!(amounts, [("Key limit", 3.25, Some(10.0))]);
    // With a management key the account's credits come first.
    let admin = read(provider("or-admin").as_ref(), now).await.unwrap();
    assert_eq!((admin.amounts[0].label.as_str(), admin.amounts[0].remaining), ("Credits", 1.5));
    assert_eq!(admin.lowest().map(|a| a.remaining), Some(1.5));
    let ds = read(provider("ds").as_ref(), now).await.unwrap();
    assert_eq!((ds.amounts[0].remaining, ds.amounts[0].currency.as_str(), ds.usable), (110.0, "CNY", true));
    let kimi = read(provider("kimi").as_ref(), now).await.unwrap();
    assert_eq!((kimi.amounts[0].remaining, kimi.amounts[0].currency.as_str()), (49.58894, "USD"));

    let refused = read(provider("ds-bad").as_ref(), now).await.unwrap_err();
    assert!(matches!(refused, BalanceError::Refused { status: 401, .. }), "{refused}");
    assert!(!refused.to_string().contains("bad-key"), "{refused}");
    assert!(matches!(read(provider("oa").as_ref(), now).await, Err(BalanceError::Unsupported { .. })));
    assert!(matches!(read(provider("or-nokey").as_ref(), now).await, Err(BalanceError::NoKey { .. })));

    // The key went only in the Authorization header, and no path carried it.
    let log = fake.requests();
    let reads: Vec<_> = log.iter().filter(|r| r.method == "GET").collect();
    assert!(reads.iter().any(|r| r.path == "/v1/key") && reads.iter().any(|r| r.path == "/user/balance"));
    assert!(reads.iter().all(|r| !r.path.contains(FAKE_KEY) && r.header("authorization").is_some()));

    // The cache reads each provider at most once within its interval.
    let count = || fake.requests().iter().filter(|r| r.path == "/user/balance").count();
    let before = count();
    let balances = Balances::default();
    let first = balances.refresh(provider("ds").as_ref(), Balances::AUTO_EVERY, now).await;
    let again = balances.refresh(provider("ds").as_ref(), Balances::AUTO_EVERY, now + 60_000).await;
    assert_eq!(first, again);
    assert_eq!(count(), before + 1, "the second refresh came from the cache");
    let later = balances.refresh(provider("ds").as_ref(), Balances::AUTO_EVERY, now + 6 * 60_000).await;
    assert_eq!((later.at_ms, count()), (now + 6 * 60_000, before + 2));
}
