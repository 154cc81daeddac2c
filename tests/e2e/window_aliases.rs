//! The Providers and Aliases pages' own flows through the real window:
//! - a local server (a fake Ollama `/api/tags` on a random loopback port, given to the probe through the debug-only
//!   `SWITCHBOARD_LOCAL_PROBES`) is offered on Providers and added with one click, without a key;
//! - an alias's targets are reordered by dragging (pointer actions: what WebKitGTK makes of a real mouse) and the
//!   saved order is the dragged one;
//! - "Try it" sends a prompt through the alias: the failing first target, then the one that answered, its tokens
//!   and cost, and the request in the ledger as the Chat window app.
//!
//! With `UPDATE_SCREENSHOTS=1` it writes `docs/screenshots/providers-local.png` and `aliases-try.png`.

use std::sync::Arc;
use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{Session, free_port};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use serde_json::json;

use crate::window::App;
use crate::window_manage::{click, element, replace, screenshot, type_into};

const KEY: &str = "fake-aliases-key-5678abcd";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_server_is_offered_targets_are_dragged_and_try_it_shows_who_answered() {
    let upstream = FakeUpstream::start(FakeKind::OpenAi).await;
    let local_origin = fake_ollama().await;
    // LM Studio's probe goes to a port nobody listens on: it must simply not be offered.
    let probes = format!("ollama={local_origin},lmstudio=http://127.0.0.1:{}", free_port());
    let port = free_port();
    let session = Arc::new(Session::start().unwrap());
    let app = App::launch_with(session, port, &[("SWITCHBOARD_LOCAL_PROBES", &probes)]).await;
    app.text_when("gateway-status", |s| s == "Listening").await;

    // Providers: the empty page offers the local server, with its model count.
    click(&app, "nav-providers").await;
    app.text_when("providers-empty", |s| s.contains("No providers yet")).await;
    let offer = app.text_when("local-offer", |s| s.contains("Ollama")).await;
    assert!(offer.contains("Ollama (4 models)"), "{offer}");
    assert!(!offer.contains("LM Studio"), "{offer}");
    screenshot(&app, "providers-local").await;
    click(&app, "add-local-ollama").await;
    let row = app.text_when("provider-row-ollama", |s| s.contains("Ollama")).await;
    assert!(row.contains(&format!("{local_origin}/v1")), "the probed URL is stored: {row}");
    let providers = app.invoke("list_providers", json!({})).await.unwrap();
    assert_eq!(providers[0]["kind"], "ollama", "{providers}");
    assert_eq!(providers[0]["keys"], json!([]), "no key was asked for: {providers}");
    let gone = "return document.querySelector(`[data-testid='local-offer']`) === null";
    wait_until(&app, gone).await;

    // An OpenAI provider at the other fake, with a key.
    click(&app, "add-provider").await;
    click(&app, "preset-openai").await;
    replace(&app, "provider-base-url", &upstream.api_base()).await;
    type_into(&app, "provider-key", KEY).await;
    click(&app, "save-provider").await;
    app.text_when("provider-row-openai", |s| s.contains("…abcd")).await;

    // Aliases: `steady` → gpt-4o-mini, then error-500; dragging the second target above the first saves that order.
    click(&app, "nav-aliases").await;
    click(&app, "new-alias").await;
    type_into(&app, "alias-name", "steady").await;
    element(&app, "target-provider-0").await.select_by_value("openai").await.unwrap();
    type_into(&app, "target-model-0", "gpt-4o-mini").await;
    // Under each target: what the model can do and what it costs (the shipped catalog and price table).
    let facts = app.text_when("target-facts-0", |s| s.contains("per M tokens")).await;
    assert!(facts.contains("128k context") && facts.contains("$0.15 in"), "{facts}");
    click(&app, "add-target").await;
    element(&app, "target-provider-1").await.select_by_value("openai").await.unwrap();
    type_into(&app, "target-model-1", "error-500").await;
    drag(&app, "target-handle-1", "target-handle-0").await;
    let first = "return document.querySelector(`[data-testid='target-model-0']`).value === 'error-500'";
    wait_until(&app, first).await;
    click(&app, "save-alias").await;
    app.text_when("alias-row-steady", |s| s.contains("openai/error-500")).await;
    let aliases = app.invoke("list_aliases", json!({})).await.unwrap();
    let steady = aliases.as_array().unwrap().iter().find(|a| a["name"] == "steady").unwrap();
    let models: Vec<_> = steady["targets"].as_array().unwrap().iter().map(|t| t["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["error-500", "gpt-4o-mini"], "the dragged order is saved");

    // Try it: the first target fails, the second answers; the box says so, with tokens and cost.
    click(&app, "try-alias-steady").await;
    replace(&app, "try-prompt-steady", "ping from the aliases test").await;
    click(&app, "try-send-steady").await;
    let answer = app.text_when("try-answer-steady", |s| s.contains("ping from the aliases test")).await;
    assert!(answer.starts_with("Hello from openai gpt-4o-mini"), "{answer}");
    let target = app.text_when("try-target-steady", |s| !s.is_empty()).await;
    assert_eq!(target, "openai/gpt-4o-mini");
    let tokens = app.text_when("try-tokens-steady", |s| s != "—").await;
    assert_eq!(tokens, "12 in · 7 out");
    let cost = app.text_when("try-cost-steady", |s| !s.is_empty()).await;
    assert!(cost.starts_with('$') && cost != "$0.00", "a priced model has a cost: {cost}");
    let attempts = app.text_when("try-attempts-steady", |s| s.contains("ok")).await;
    assert!(attempts.starts_with("openai/error-500"), "the failed target first: {attempts}");
    assert!(attempts.contains("openai/gpt-4o-mini — ok"), "{attempts}");
    let show = "document.querySelector(`[data-testid='try-box-steady']`).scrollIntoView({ block: 'end' })";
    app.client.execute(show, vec![]).await.unwrap();
    screenshot(&app, "aliases-try").await;

    // The ledger has it, as the Chat window app, like any request.
    let rows = app.invoke("list_requests", json!({ "filter": {}, "beforeId": null, "limit": 10 })).await.unwrap();
    let row = &rows[0];
    assert_eq!((row["appName"].as_str(), row["alias"].as_str()), (Some("Chat window"), Some("steady")), "{rows}");
    assert_eq!(row["model"], "gpt-4o-mini", "{rows}");
    let asked: Vec<String> = upstream
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/chat/completions"))
        .filter_map(|r| Some(r.json.as_ref()?["model"].as_str()?.to_owned()))
        .collect();
    assert_eq!(asked.first().map(String::as_str), Some("error-500"), "{asked:?}");
    assert_eq!(asked.last().map(String::as_str), Some("gpt-4o-mini"), "{asked:?}");

    // An alias that does not exist: the gateway's refusal, with no ledger row to wait for.
    let started = std::time::Instant::now();
    let refused = app.invoke("try_alias", json!({ "alias": "nope", "prompt": "hi" })).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "no wait for a row that never comes");
    let status = refused["error"]["status"].as_u64();
    assert!(matches!(status, Some(400 | 404)), "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("nope")), "{refused}");
    assert_eq!(refused["request"], json!(null), "{refused}");

    app.close().await;
}

/// Ollama as far as the probe sees it: `/api/tags` with four models, no key asked. Answers with its origin.
async fn fake_ollama() -> String {
    let tags =
        json!({ "models": [{ "name": "llama3.2" }, { "name": "qwen3" }, { "name": "gemma3" }, { "name": "phi4" }] });
    let router = axum::Router::new().route("/api/tags", axum::routing::get(move || async move { axum::Json(tags) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    origin
}

/// Drags `from` onto `to` with the mouse: press, a few small moves (dnd-kit starts a drag after 4 px), release.
async fn drag(app: &App, from: &str, to: &str) {
    let (handle, onto) = (element(app, from).await, element(app, to).await);
    let step = Some(Duration::from_millis(100));
    let press = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: handle, duration: None, x: 0.0, y: 0.0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveBy { duration: step, x: 0.0, y: -6.0 })
        .then(PointerAction::MoveBy { duration: step, x: 0.0, y: -6.0 })
        .then(PointerAction::MoveToElement { element: onto, duration: step, x: 0.0, y: -4.0 });
    app.client.perform_actions(press).await.unwrap();
    // dnd-kit finds what the dragged row is over from positions it measures in a frame after the drag starts; on a
    // busy machine the moves can all be handled before that frame, and a release then drops onto nothing. So the
    // button goes up only once the page shows the drag over its new place: the row there has moved aside.
    let row = to.replace("target-handle-", "target-");
    let over = format!(
        "const t = document.querySelector(`[data-testid='{row}']`).style.transform; \
         return !!document.querySelector('.target-row--dragging') && !!t && !/^translate3d\\(0px, 0px/.test(t)"
    );
    wait_until(app, &over).await;
    let release = MouseActions::new("mouse".into()).then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    app.client.perform_actions(release).await.unwrap();
}

/// Waits up to 10 s for `script` (returning a boolean) to be true in the window.
async fn wait_until(app: &App, script: &str) {
    for _ in 0..100 {
        if app.client.execute(script, vec![]).await.ok().and_then(|v| v.as_bool()) == Some(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never true: {script}");
}
