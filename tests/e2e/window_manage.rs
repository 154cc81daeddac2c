//! Issue 7 through the real window: add a provider pointing at a fake upstream and store its key (checked in the
//! Secret Service), create an alias and an app in the pages, call the endpoint with the app's token, and see the
//! request in Logs (with its bodies, since Settings turned request logging on) and its cost in Usage.
//!
//! With `UPDATE_SCREENSHOTS=1` it also writes a screenshot of every page it visits to `docs/screenshots/`.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{Display, free_port};
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
    capture(&app.display, name).await;
}

/// As [`screenshot`], for a window on `display` driven some other way (`window_chat`).
pub(crate) async fn capture(display: &Display, name: &str) {
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
        .env("DISPLAY", &display.name)
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

/// Waits up to 10 s for the switch `toggle` to show `on`.
async fn toggle_becomes(toggle: &Element, on: bool) {
    for _ in 0..100 {
        if toggle.is_selected().await.unwrap() == on {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the launch-at-login switch never showed {}", if on { "on" } else { "off" });
}

/// Issue 7's Settings: launch at login is the real login item (a `.desktop` file in the private HOME's
/// `.config/autostart`; the plugin ignores `XDG_CONFIG_HOME`), and the configuration goes out as a TOML file with keys as keychain names only and
/// comes back through a preview that lists the keys this computer lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_at_login_and_the_configuration_file_from_the_settings_page() {
    let port = free_port();
    let app = App::launch(port).await;
    app.text_when("gateway-status", |s| s == "Listening").await;
    let home = app.session.home.path().to_owned();
    let login_item = home.join(".config/autostart/Switchboard.desktop");

    click(&app, "nav-settings").await;
    app.text_when("settings-data-dir", |s| s.contains("dev.switchboard.desktop")).await;
    let toggle = element(&app, "settings-launch-at-login").await;
    assert!(!toggle.is_selected().await.unwrap() && !login_item.exists(), "off for a new user");
    js_click(&app, "settings-launch-at-login").await;
    e2e::wait_for("the login item", Duration::from_secs(10), || login_item.exists().then_some(())).unwrap();
    let desktop = std::fs::read_to_string(&login_item).unwrap();
    assert!(desktop.contains("--autostart"), "the login item starts Switchboard in the tray: {desktop}");
    // The page shows the new state once the command has answered, a moment after the file is written.
    toggle_becomes(&toggle, true).await;
    js_click(&app, "settings-launch-at-login").await;
    e2e::wait_for("the login item to go", Duration::from_secs(10), || (!login_item.exists()).then_some(())).unwrap();
    toggle_becomes(&toggle, false).await;

    // Something to export: a provider with a key in the keychain (which brings the four first-run aliases), an
    // alias and an app.
    let provider = json!({ "id": "openai", "kind": "openai", "name": null, "baseUrl": "http://127.0.0.1:9/v1",
                           "apiVersion": null, "enabled": true });
    app.invoke("save_provider", json!({ "provider": provider })).await.unwrap();
    app.invoke("set_provider_key", json!({ "providerId": "openai", "label": null, "key": KEY })).await.unwrap();
    let alias = json!({ "name": "cheap", "description": null, "strategy": "fallback", "settings": {},
                        "targets": [{ "providerId": "openai", "model": "gpt-4o-mini", "weight": 1 }] });
    app.invoke("save_alias", json!({ "alias": alias })).await.unwrap();
    let created = app.invoke("create_app", json!({ "app": { "name": "scripts", "allowedAliases": ["cheap"] } })).await;
    let token = created.unwrap()["token"].as_str().unwrap().to_owned();

    let exported = home.join("switchboard.toml");
    replace(&app, "config-path", &exported.display().to_string()).await;
    click(&app, "config-export").await;
    app.text_when("config-exported", |s| s.contains("1 provider, 5 aliases and 2 apps")).await;
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("keychain = [\"openai\"]") && text.contains("name = \"cheap\""), "{text}");
    assert!(!text.contains(KEY) && !text.contains(&token), "no key and no token in the file:\n{text}");

    // The same file plus a provider whose key this computer does not have.
    let edited = home.join("edited.toml");
    std::fs::write(&edited, format!("{text}\n[[providers]]\nid = \"groq\"\nkind = \"groq\"\nkeychain = [\"groq\"]\n"))
        .unwrap();
    replace(&app, "config-path", &edited.display().to_string()).await;
    click(&app, "config-preview").await;
    app.text_when("config-preview-providers", |s| s == "1 added").await;
    app.text_when("config-preview-aliases", |s| s == "no change").await;
    let followups = app.text_when("config-preview-followups", |s| !s.is_empty()).await;
    assert!(followups.contains("groq: its key is not in this computer's keychain; add the key on the Providers page"));
    click(&app, "config-import").await;
    app.text_when("config-imported", |s| s.contains("add the key on the Providers page")).await;
    let providers = app.invoke("list_providers", json!({})).await.unwrap();
    let ids: Vec<_> = providers.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["groq", "openai"]);

    // A broken file is refused with its line, and nothing is shown to import.
    let broken = home.join("broken.toml");
    std::fs::write(&broken, "[server]\nport = \"seven\"\n").unwrap();
    replace(&app, "config-path", &broken.display().to_string()).await;
    click(&app, "config-preview").await;
    let error = app.text_when("config-error", |s| !s.is_empty()).await;
    assert!(error.contains("line 2"), "{error}");
    app.close().await;
}

/// Every file under `dir` whose path has a `logs` folder in it, read whole.
fn app_logs(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return text };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&app_logs(&path));
        } else if path.components().any(|c| c.as_os_str() == "logs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

/// Issue 6: a `warn` budget reached through the endpoint shows one desktop notification for the day, however many
/// requests pass it. A notification daemon runs on the private session bus, and `dbus-monitor` counts the
/// `org.freedesktop.Notifications.Notify` calls the app makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warn_budget_reached_shows_one_desktop_notification() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let app = App::launch(port).await;
    app.text_when("gateway-status", |s| s == "Listening").await;
    let daemon = app
        .session
        .command("/usr/lib/notification-daemon/notification-daemon")
        .env("DISPLAY", &app.display.name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(e2e::Guarded)
        .expect("notification-daemon (apt-get install notification-daemon)");
    let watched = app.session.home.path().join("notify.log");
    let monitor = app
        .session
        .command("dbus-monitor")
        .args(["--session", "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"])
        .stdout(std::fs::File::create(&watched).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(e2e::Guarded)
        .expect("dbus-monitor (apt-get install dbus-bin)");

    let provider = json!({ "id": "openai", "kind": "openai", "name": null, "baseUrl": fake.api_base(),
                           "apiVersion": null, "enabled": true });
    app.invoke("save_provider", json!({ "provider": provider })).await.unwrap();
    app.invoke("set_provider_key", json!({ "providerId": "openai", "label": null, "key": KEY })).await.unwrap();
    let alias = json!({ "name": "cheap", "description": null, "strategy": "fallback", "settings": {},
                        "targets": [{ "providerId": "openai", "model": "gpt-4o-mini", "weight": 1 }] });
    app.invoke("save_alias", json!({ "alias": alias })).await.unwrap();
    let created = app.invoke("create_app", json!({ "app": { "name": "Cursor", "allowedAliases": null } })).await;
    let created = created.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let budget = json!({ "dailyUsd": 0.000001, "monthlyUsd": null, "action": "warn" });
    app.invoke(
        "update_app",
        json!({ "id": created["app"]["id"], "app": { "name": "Cursor", "allowedAliases": null, "budget": budget,
                                                     "limits": created["app"]["limits"] } }),
    )
    .await
    .unwrap();

    let endpoint = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let body = json!({ "model": "cheap", "messages": [{ "role": "user", "content": "hi" }] });
    for _ in 0..4 {
        let response = reqwest::Client::new().post(&endpoint).bearer_auth(&token).json(&body).send().await.unwrap();
        assert!(response.status().is_success());
        // Past the ledger's batch interval: each row is counted before the next request.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let home = app.session.home.path().to_owned();
    let logs = e2e::wait_for("the budget warning in the app's log", Duration::from_secs(10), || {
        let logs = app_logs(&home);
        logs.contains("budget warning").then_some(logs)
    })
    .unwrap();
    assert_eq!(logs.matches("budget warning").count(), 1, "{logs}");
    assert!(logs.contains("Cursor has spent $"), "{logs}");
    let calls = e2e::wait_for("the Notify call on the session bus", Duration::from_secs(10), || {
        let seen = std::fs::read_to_string(&watched).unwrap_or_default();
        seen.contains("Cursor has spent $").then_some(seen)
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = std::fs::read_to_string(&watched).unwrap_or(calls);
    assert_eq!(calls.matches("member=Notify").count(), 1, "one notification for the day:\n{calls}");
    assert!(calls.contains("Cursor reached its daily budget"), "{calls}");
    drop((monitor, daemon));
    app.close().await;
}
