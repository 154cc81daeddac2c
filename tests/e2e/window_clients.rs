//! Issue 16 through the real window: the Clients page connects Claude Code (its `~/.claude/settings.json`, in the
//! app's private HOME, gets Switchboard's keys and keeps the user's own), Test answers through the alias and shows
//! the ledger's row, Check's grid passes against a capable model, and Disconnect puts the file back byte for byte.
//!
//! With `UPDATE_SCREENSHOTS=1` it also writes `docs/screenshots/clients.png`.

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::free_port;
use serde_json::{Value, json};

use crate::window::App;
use crate::window_manage::{click, screenshot};

/// The user's own Claude Code settings: a setting and an env var of theirs, in their formatting.
const SETTINGS: &str = "{\n  \"theme\": \"dark\",\n  \"env\": {\n    \"MY_VAR\": \"1\"\n  }\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_page_connects_tests_checks_and_disconnects_claude_code() {
    // A capable model behind a real-looking name: it calls the offered tool, answers from its result, thinks.
    let upstream = FakeUpstream::start_scripted(FakeKind::Anthropic, &[("claude-sonnet-4-5", "agent")]).await;
    let port = free_port();
    let session = std::sync::Arc::new(e2e::Session::start().unwrap());
    // No `claude` on this PATH, whatever the machine has: Connect must still write the file and say so.
    let app = App::launch_with(session, port, &[("PATH", "/usr/bin:/bin")]).await;
    app.text_when("gateway-status", |s| s == "Listening").await;

    let settings = app.session.home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, SETTINGS).unwrap();

    let provider = json!({ "id": "anthropic", "kind": "anthropic", "name": null, "baseUrl": upstream.api_base(),
                           "apiVersion": null, "enabled": true });
    app.invoke("save_provider", json!({ "provider": provider })).await.unwrap();
    app.invoke("set_provider_key", json!({ "providerId": "anthropic", "label": null, "key": e2e::FAKE_KEY }))
        .await
        .unwrap();
    let alias = json!({ "name": "code", "description": null, "strategy": "fallback", "settings": {},
                        "targets": [{ "providerId": "anthropic", "model": "claude-sonnet-4-5", "weight": 1 }] });
    app.invoke("save_alias", json!({ "alias": alias })).await.unwrap();

    click(&app, "nav-clients").await;
    app.text_when("page-title", |s| s == "Clients").await;
    app.text_when("client-state-claude-code", |s| s == "Not connected").await;
    let files = app.text_when("client-files-claude-code", |s| !s.is_empty()).await;
    assert_eq!(files, settings.display().to_string());

    // Connect: the dialog says what it will do before anything is written.
    click(&app, "connect-claude-code").await;
    let plan = app.text_when("connect-plan", |s| !s.is_empty()).await;
    assert!(plan.contains("Claude Code"), "the new app is named after the client: {plan}");
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), SETTINGS, "nothing written before Connect is pressed");
    click(&app, "connect-submit").await;
    let notice = app.text_when("client-notice-claude-code", |s| s.contains("Connected")).await;
    assert!(notice.contains("Connected as “Claude Code”"), "{notice}");
    let warnings = app.text_when("client-warnings-claude-code", |s| !s.is_empty()).await;
    assert!(warnings.contains("not on PATH"), "Connect says it found no `claude`: {warnings}");
    app.text_when("client-state-claude-code", |s| s == "Connected").await;
    app.text_when("client-app-claude-code", |s| s == "Claude Code").await;

    let written: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!((&written["theme"], &written["env"]["MY_VAR"]), (&json!("dark"), &json!("1")), "theirs kept: {written}");
    assert_eq!(written["env"]["ANTHROPIC_BASE_URL"], format!("http://127.0.0.1:{port}"), "{written}");
    assert_eq!(written["env"]["ANTHROPIC_MODEL"], "code", "{written}");
    let token = written["env"]["ANTHROPIC_AUTH_TOKEN"].as_str().unwrap_or_default().to_owned();
    assert!(token.len() > 16, "the new app's token is in the client's file: {written}");

    // Test sends what Claude Code sends, with the token from its file, and shows the ledger's row.
    click(&app, "test-claude-code").await;
    let answer = app.text_when("try-answer-client-claude-code", |s| !s.is_empty()).await;
    assert!(answer.starts_with("Hello from anthropic claude-sonnet-4-5"), "{answer}");
    let target = app.text_when("try-target-client-claude-code", |s| !s.is_empty()).await;
    assert!(target.contains("anthropic/claude-sonnet-4-5"), "{target}");
    let rows = app.invoke("list_requests", json!({ "filter": {}, "beforeId": null, "limit": 10 })).await.unwrap();
    let row = &rows[0];
    assert_eq!(
        (row["appName"].as_str(), row["alias"].as_str(), row["clientProtocol"].as_str()),
        (Some("Claude Code"), Some("code"), Some("anthropic")),
        "the Test's row is Claude Code's own: {rows}"
    );
    let sent = upstream.requests();
    let last = sent.last().expect("the Test reached the upstream");
    assert!(last.path.starts_with("/v1/messages"), "{last:?}");

    // Check runs Claude Code's protocol cases against the alias's target; a capable model passes them all.
    click(&app, "check-claude-code").await;
    // "Through code: Checking… 2 of 4 done" until the last case is in.
    let summary = app.text_when("check-summary-claude-code", |s| !s.contains("Checking")).await;
    assert!(summary.ends_with("4 of 4 passed"), "plain, streamed, a tool call and thinking: {summary}");
    let show = "document.querySelector(`[data-testid='check-grid-claude-code']`).scrollIntoView({ block: 'end' })";
    app.client.execute(show, vec![]).await.unwrap();
    screenshot(&app, "clients").await;

    // Disconnect: nothing else changed, so the file is the user's, byte for byte.
    click(&app, "disconnect-claude-code").await;
    let notice = app.text_when("client-notice-claude-code", |s| s.contains("Disconnected")).await;
    assert!(!notice.is_empty());
    app.text_when("client-state-claude-code", |s| s == "Not connected").await;
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), SETTINGS, "Disconnect restores the original bytes");
    assert!(!std::fs::read_to_string(&settings).unwrap().contains(&token));

    app.close().await;
}
