//! `switchboard-gateway usage`: the ledger as a server operator reads it, from a database written through the library
//! (`Store::open` + `Ledger::start` + `record` + `shutdown`), the way the gateway writes it.

use std::path::Path;
use std::process::{Command, Output};

use e2e::workspace_bin;
use serde_json::Value;
use switchboard_gateway::ledger::{self, Ledger, Prices, Record};
use switchboard_gateway::protocol::neutral::Usage;
use switchboard_gateway::store::{self, AppSpec, Store};

const HOUR_MS: i64 = 3_600_000;

/// Three requests in the last hour (two by `scripts` through `general`, one by the chat window) and one three days
/// ago, at known prices: 0.15 + 0.60 + 1.00 now, 2.50 before.
async fn prepare(dir: &Path) {
    let path = dir.join(ledger::DATABASE_FILE);
    let store = Store::open(&path).unwrap();
    let (scripts, _) = store.create_app(&AppSpec::new("scripts")).unwrap();
    let chat = store.chat_window_app().unwrap();
    let ledger = Ledger::start(&path, Prices::load(&store).unwrap()).unwrap();
    let now = store::now_ms();
    let openai = |ts_ms, model: &str, usage: Usage| Record {
        ts_ms,
        app_id: Some(scripts.id),
        alias: Some("general".into()),
        provider_id: Some("openai".into()),
        provider_kind: Some("openai".into()),
        model: Some(model.into()),
        usage: Some(usage),
        latency_ms: 200,
        ..Record::new("scripts", "openai-chat")
    };
    let million = 1_000_000;
    ledger.record(openai(now - HOUR_MS / 2, "gpt-4o-mini", Usage { input: million, ..Usage::default() }));
    ledger.record(openai(now - HOUR_MS / 4, "gpt-4o-mini", Usage { output: million, ..Usage::default() }));
    ledger.record(openai(now - 72 * HOUR_MS, "gpt-4o", Usage { input: million, ..Usage::default() }));
    ledger.record(Record {
        ts_ms: now - HOUR_MS / 3,
        app_id: Some(chat.id),
        provider_id: Some("claude".into()),
        provider_kind: Some("anthropic".into()),
        model: Some("claude-haiku-4-5-20251001".into()),
        stream: true,
        usage: Some(Usage { input: million, ..Usage::default() }),
        latency_ms: 500,
        ..Record::new(chat.name.clone(), "anthropic")
    });
    ledger.shutdown().await;
    assert_eq!(ledger.delayed(), 0);
}

fn usage(dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_bin("switchboard-gateway"))
        .arg("usage")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "usage failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The table titled `title` (its header line starts with it), up to its total line.
fn table<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let start = text.lines().position(|l| l.starts_with(&format!("{title} "))).unwrap_or_else(|| panic!("{text}"));
    text.lines().skip(start).take_while(|l| !l.is_empty()).collect()
}

#[tokio::test]
async fn usage_prints_totals_by_app_alias_and_model() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path()).await;

    let text = stdout(&usage(dir.path(), &[]));
    assert!(text.starts_with("Usage from "), "{text}");
    assert_eq!(
        table(&text, "app"),
        [
            "app          requests  errors    input  cached   output  reasoning  cost (USD)  avg ms",
            "Chat window         1       0  1000000       0        0          0      1.0000     500",
            "scripts             2       0  1000000       0  1000000          0      0.7500     200",
            &"-".repeat(86),
            "total               3       0  2000000       0  1000000          0      1.7500     300",
        ]
    );
    let alias = table(&text, "alias");
    assert!(alias[1].starts_with("(none) ") && alias[1].contains(" 1.0000 "), "{alias:?}");
    assert!(alias[2].starts_with("general ") && alias[2].contains(" 0.7500 "), "{alias:?}");
    let model = table(&text, "model");
    assert!(model[1].starts_with("claude-haiku-4-5-20251001 "), "{model:?}");
    assert!(model[2].starts_with("gpt-4o-mini "), "{model:?}");
    assert!(!text.contains("gpt-4o "), "the request from three days ago is outside the last 24h: {text}");

    let all = stdout(&usage(dir.path(), &["--since", "all"]));
    assert!(all.starts_with("Usage of all time"), "{all}");
    let total = table(&all, "app").pop().unwrap();
    assert!(total.starts_with("total ") && total.contains(" 4 ") && total.contains(" 4.2500 "), "{total}");
    let recent = stdout(&usage(dir.path(), &["--since", "10m"]));
    assert!(recent.contains("no requests in this period"), "{recent}");
}

#[tokio::test]
async fn usage_json_is_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path()).await;

    let json: Value = serde_json::from_str(&stdout(&usage(dir.path(), &["--json", "--since", "7d"]))).unwrap();
    assert_eq!(json["total"]["requests"], 4);
    assert!((json["total"]["cost_usd"].as_f64().unwrap() - 4.25).abs() < 1e-9, "{json}");
    assert!(json["since_ms"].as_i64().unwrap() < json["until_ms"].as_i64().unwrap());
    let by_app = json["by_app"].as_array().unwrap();
    assert_eq!(by_app[0]["key"], "scripts", "the most expensive first: {json}");
    assert_eq!(by_app[0]["requests"], 3);
    assert_eq!(by_app[0]["input"], 2_000_000);
    let models: Vec<_> = json["by_model"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(models, ["gpt-4o", "claude-haiku-4-5-20251001", "gpt-4o-mini"]);
    assert_eq!(json["by_alias"][1]["key"], Value::Null, "requests without an alias");
}

#[test]
fn usage_before_the_gateway_ever_ran_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = usage(dir.path(), &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let path = dir.path().join(ledger::DATABASE_FILE);
    let expected = format!("no usage yet: {} does not exist; start the gateway first", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!path.exists(), "usage must not create the database");

    let bad = usage(dir.path(), &["--since", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is not a time span"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
