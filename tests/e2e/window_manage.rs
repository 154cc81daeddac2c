//! Issue 7 through the real window: add a provider pointing at a fake upstream and store its key (checked in the
//! Secret Service), create an alias and an app in the pages, call the endpoint with the app's token, and see the
//! request in Logs (with its bodies, since Settings turned request logging on) and its cost in Usage.
//!
//! With `UPDATE_SCREENSHOTS=1` it also writes a screenshot of every page it visits to `docs/screenshots/`.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::free_port;
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;

use crate::window::App;

const KEY: &str = "fake-manage-key-1234wxyz";
/// WebDriver keys: Control, then NULL to release it.
const SELECT_ALL: &str = "\u{E009}a\u{E000}";

pub(crate) async fn element(app: &App, id: &str) -> Element {
    let selector = format!("[data-testid='{id}']");
    for _ in 0..100 {
        if let Ok(found) = app.client.find(Locator::Css(&selector)).await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no element {selector}");
}

/// Clicks `[data-testid=<id>]` once it is there.
pub(crate) async fn click(app: &App, id: &str) {
    element(app, id).await.click().await.unwrap();
}

pub(crate) async fn type_into(app: &App, id: &str, text: &str) {
    element(app, id).await.send_keys(text).await.unwrap();
}

/// Types `text` over whatever the field holds.
pub(crate) async fn replace(app: &App, id: &str, text: &str) {
    let field = element(app, id).await;
    field.send_keys(SELECT_ALL).await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// A click through the DOM, for inputs drawn over by their styled look (switches).
async fn js_click(app: &App, id: &str) {
    element(app, id).await;
    app.client
        .execute("document.querySelector(`[data-testid='${arguments[0]}']`).click()", vec![json!(id)])
        .await
        .unwrap();
}

/// The ledger's rows, newest first, once it holds `count` (the writer batches, so a row lands a moment after its
/// response).
async fn ledger(app: &App, count: usize) -> serde_json::Value {
    for _ in 0..100 {
        let rows = app.invoke("list_requests", json!({ "filter": {}, "beforeId": null, "limit": 10 })).await.unwrap();
        if rows.as_array().is_some_and(|r| r.len() >= count) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the ledger never held {count} rows");
}

/// Saves what the window shows as `docs/screenshots/<name>.png` when `UPDATE_SCREENSHOTS` is set.
pub(crate) async fn screenshot(app: &App, name: &str) {
    if std::env::var_os("UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    // Let fonts, the chart and transitions settle; the screenshot must not show the previous paint.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let dir = e2e::package_dir().join("../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    // WebKitWebDriver's screenshot endpoint can hang under Xvfb; the display itself is the window (no window
    // manager, top left), cropped to the window's size from tauri.conf.json.
    let status = std::process::Command::new("import")
        .args(["-window", "root", "-crop", "1180x760+0+0", "+repage"])
        .arg(dir.join(format!("{name}.png")))
        .env("DISPLAY", &app.display.name)
        .status()
        .expect("imagemagick's import (apt-get install imagemagick)");
    assert!(status.success(), "import failed for {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_made_with_an_app_token_shows_in_logs_and_its_cost_in_usage() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let app = App::launch(port).await;
    app.text_when("gateway-status", |s| s == "Listening").await;

    // Settings: keep prompts and answers, so the detail view can show them.
    click(&app, "nav-settings").await;
    app.text_when("settings-data-dir", |s| s.contains("dev.switchboard.desktop")).await;
    js_click(&app, "settings-logging").await;
    click(&app, "settings-save").await;
    app.text_when("settings-saved", |s| s == "Saved").await;

    // Providers: the OpenAI preset pointed at the fake upstream, with a key that goes to the keychain.
    click(&app, "nav-providers").await;
    click(&app, "add-provider").await;
    click(&app, "preset-openai").await;
    replace(&app, "provider-base-url", &fake.api_base()).await;
    type_into(&app, "provider-key", KEY).await;
    click(&app, "save-provider").await;
    app.text_when("provider-row-openai", |s| s.contains("…wxyz")).await;
    let stored = app
        .session
        .command("secret-tool")
        .args(["lookup", "service", "switchboard", "username", "openai"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&stored.stdout).trim(), KEY, "the key is in the Secret Service");
    screenshot(&app, "providers").await;

    // Aliases: `cheap` → openai/gpt-4o-mini (a model with a price, so the request has a cost).
    click(&app, "nav-aliases").await;
    click(&app, "new-alias").await;
    type_into(&app, "alias-name", "cheap").await;
    element(&app, "target-provider-0").await.select_by_value("openai").await.unwrap();
    type_into(&app, "target-model-0", "gpt-4o-mini").await;
    click(&app, "save-alias").await;
    app.text_when("alias-row-cheap", |s| s.contains("gpt-4o-mini")).await;
    screenshot(&app, "aliases").await;

    // Apps: `scripts`; its token is shown once, in the dialog.
    click(&app, "nav-apps").await;
    click(&app, "new-app").await;
    type_into(&app, "app-name", "scripts").await;
    click(&app, "create-app").await;
    let token = app.text_when("app-token", |s| s.starts_with("sb-")).await;
    app.client
        .find(Locator::Css("[data-testid='token-dialog'] .button--primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Logs is open before the requests, so they must arrive live.
    click(&app, "nav-logs").await;
    app.text_when("logs-empty", |s| s.contains("No requests yet")).await;

    let endpoint = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let ask = |model: &str, text: &str| {
        let (endpoint, token) = (endpoint.clone(), token.clone());
        let body = json!({ "model": model, "messages": [{ "role": "user", "content": text }] });
        async move {
            let response = reqwest::Client::new().post(&endpoint).bearer_auth(token).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = ask("cheap", "hello from the manage test").await;
    assert_eq!(status, 200, "{body}");

    let rows = ledger(&app, 1).await;
    let id = rows[0]["id"].as_i64().unwrap();
    let route = app.text_when(&format!("log-row-{id}"), |s| s.contains("cheap → gpt-4o-mini")).await;
    assert!(route.contains("scripts"), "{route}");
    let cost = rows[0]["costUsd"].as_f64().expect("a priced model has a cost");
    assert!(cost > 0.0, "{rows}");
    let script =
        "return document.querySelector(`[data-testid='log-row-${arguments[0]}'] [data-testid='log-cost']`).textContent";
    let shown_cost = app.client.execute(script, vec![json!(id)]).await.unwrap();
    let shown_cost = shown_cost.as_str().unwrap().to_owned();
    assert!(shown_cost.starts_with('$') && shown_cost != "$0.00", "the row shows the cost: {shown_cost}");

    // The detail view has the bodies, because logging is on.
    click(&app, &format!("log-row-{id}")).await;
    let bodies = app.text_when("detail-bodies", |s| s.contains("hello from the manage test")).await;
    assert!(!bodies.contains(KEY) && !bodies.contains(&token), "no secrets in the logged bodies");
    screenshot(&app, "logs-detail").await;
    app.client
        .find(Locator::Css("[data-testid='request-detail'] .button--primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A few more, one of them failing, for a list worth looking at.
    for n in 0..4 {
        assert_eq!(ask("cheap", &format!("question {n}")).await.0, 200);
    }
    assert_eq!(ask("openai/error-400", "a bad one").await.0, 400);
    let rows = ledger(&app, 6).await;
    let newest = rows[0]["id"].as_i64().unwrap();
    app.text_when(&format!("log-row-{newest}"), |s| s.contains("400")).await;
    screenshot(&app, "logs").await;

    // Usage: the spend equals the sum of the rows' costs, shown the same way.
    let total: f64 = rows.as_array().unwrap().iter().filter_map(|r| r["costUsd"].as_f64()).sum();
    click(&app, "nav-usage").await;
    app.text_when("usage-requests", |s| s == "6").await;
    let spend = app.text_when("usage-spend", |s| s.starts_with('$')).await;
    assert!(total > 0.0, "{rows}");
    assert!(spend != "$0.00" && spend != "$0.0000", "the spend shows the requests' cost ({total}): {spend}");
    let breakdown = app.text_when("breakdown-table", |s| s.contains("scripts")).await;
    assert!(breakdown.contains('6'), "{breakdown}");
    screenshot(&app, "usage").await;

    // CSV export to a path the test can read.
    let csv = app.session.home.path().join("usage.csv");
    click(&app, "export-csv").await;
    app.text_when("export-dialog", |s| s.contains("Save to")).await;
    replace(&app, "export-path", &csv.display().to_string()).await;
    click(&app, "export-save").await;
    app.text_when("export-done", |s| s.contains("Saved 6 requests")).await;
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 7, "a header and six rows: {text}");
    assert!(text.contains("gpt-4o-mini") && text.contains("scripts"), "{text}");
    app.client
        .find(Locator::Css("[data-testid='export-dialog'] .button--primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The remaining pages, for the README.
    click(&app, "nav-apps").await;
    app.text_when("app-row-scripts", |s| s.contains("scripts")).await;
    screenshot(&app, "apps").await;
    click(&app, "nav-settings").await;
    app.text_when("settings-data-dir", |s| !s.is_empty()).await;
    screenshot(&app, "settings").await;

    app.close().await;
}
