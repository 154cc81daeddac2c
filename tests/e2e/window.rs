//! The real desktop app, driven through tauri-driver + WebKitWebDriver on a private Xvfb display and D-Bus
//! session, with a private HOME so it touches none of the user's data.

use std::sync::Arc;
use std::time::Duration;

use e2e::{Display, Driver, Session, free_port, http_get, workspace_bin};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// One running app: its display, session and driver stay alive as long as this does. Shared with `window_manage`.
pub(crate) struct App {
    pub(crate) client: Client,
    _driver: Driver,
    pub(crate) display: Display,
    pub(crate) session: Arc<Session>,
}

impl App {
    pub(crate) async fn launch(port: u16) -> App {
        App::launch_in(Arc::new(Session::start().unwrap()), port).await
    }

    /// Launches the app in an existing session (same keychain, same HOME): a restart, as far as the app knows.
    pub(crate) async fn launch_in(session: Arc<Session>, port: u16) -> App {
        App::launch_with(session, port, &[]).await
    }

    /// Launches the app with more environment variables (e.g. `SWITCHBOARD_LOCAL_PROBES` in `window_aliases`).
    pub(crate) async fn launch_with(session: Arc<Session>, port: u16, env: &[(&str, &str)]) -> App {
        let display = Display::start().unwrap();
        let port = port.to_string();
        let mut app_env = vec![("SWITCHBOARD_PORT", port.as_str())];
        app_env.extend_from_slice(env);
        let driver = Driver::start(&display, &session, &app_env).unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": workspace_bin("switchboard").display().to_string() }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session with the app");
        App { client, _driver: driver, display, session }
    }

    /// Calls a Tauri command from inside the window, as the UI does; returns its reply or its error, as JSON text.
    pub(crate) async fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let script = "const [command, args, done] = arguments; \
            window.__TAURI_INTERNALS__.invoke(command, args).then(v => done({ ok: v ?? null }), e => done({ err: e }));";
        let reply = self.client.execute_async(script, vec![json!(command), args]).await.unwrap();
        match reply.get("ok") {
            Some(value) => Ok(value.clone()),
            None => Err(reply["err"].clone()),
        }
    }

    /// The `textContent` of `[data-testid=<id>]` once it satisfies `ready`, waiting up to 20 s. (textContent rather
    /// than WebDriver's rendered text, which WebKit reports empty for `user-select: all` elements.)
    pub(crate) async fn text_when(&self, id: &str, ready: impl Fn(&str) -> bool) -> String {
        let script =
            "const e = document.querySelector(`[data-testid='${arguments[0]}']`); return e ? e.textContent : null;";
        let mut last = None;
        for _ in 0..200 {
            if let Ok(value) = self.client.execute(script, vec![json!(id)]).await
                && let Some(text) = value.as_str()
            {
                if ready(text) {
                    return text.to_owned();
                }
                last = Some(text.to_owned());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{id} never became ready; last text: {last:?}");
    }

    pub(crate) async fn click(&self, id: &str) {
        let selector = format!("[data-testid='{id}']");
        self.client.find(Locator::Css(&selector)).await.unwrap().click().await.unwrap();
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_shows_a_live_endpoint() {
    let port = free_port();
    let app = App::launch(port).await;

    assert_eq!(app.client.title().await.unwrap(), "Switchboard");
    app.text_when("gateway-status", |s| s == "Listening").await;
    let endpoint = app.text_when("endpoint", |s| s.starts_with("http://")).await;
    assert_eq!(endpoint, format!("http://127.0.0.1:{port}/v1"));

    // What the header shows is where the gateway really answers.
    let health = format!("{}/health", endpoint.trim_end_matches("/v1"));
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&health)).await.unwrap().expect("health");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\""), "{body}");

    // A new user's Providers page starts empty and offers the way in.
    app.click("nav-providers").await;
    app.text_when("page-title", |s| s == "Providers").await;
    app.text_when("add-provider", |s| s.contains("Add provider")).await;

    // A new user's Usage page says what to do next, rather than showing made-up data.
    app.click("nav-usage").await;
    app.text_when("page-title", |s| s == "Usage").await;
    let note = app.text_when("usage-empty", |s| !s.is_empty()).await;
    assert!(note.contains("No requests in this range"), "{note}");

    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_is_shown_with_its_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let app = App::launch(port).await;

    app.text_when("gateway-status", |s| s == "Not listening").await;
    let error = app.text_when("gateway-error", |s| !s.is_empty()).await;
    assert!(error.contains(&format!("port {port} on 127.0.0.1 is already in use")), "{error}");
    assert!(error.contains("SWITCHBOARD_PORT"), "the fix should be shown: {error}");

    app.close().await;
    drop(taken);
}

/// Issue 5's canary: a recognisable fake key goes in through the window, requests go out through the endpoint,
/// the app restarts; the key reaches the provider and the keychain, and nowhere else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_apps_set_in_the_window_serve_requests_and_leak_nowhere() {
    const CANARY: &str = "fake-CANARY-key-9f8e7d6c5b4a";
    let fake = e2e::fake::FakeUpstream::start(e2e::fake::FakeKind::OpenAi).await;
    let port = free_port();
    let app = App::launch(port).await;
    app.text_when("gateway-status", |s| s == "Listening").await;
    let mut replies = Vec::new();
    let mut call = async |app: &App, command: &str, args: Value| {
        let reply = app.invoke(command, args).await;
        replies.push(format!("{command}: {reply:?}"));
        reply
    };

    let provider = json!({ "provider": { "id": "fake", "kind": "openai", "name": "Fake", "baseUrl": fake.api_base(),
        "apiVersion": null, "enabled": true } });
    call(&app, "save_provider", provider).await.unwrap();
    let key =
        call(&app, "set_provider_key", json!({ "providerId": "fake", "label": null, "key": CANARY })).await.unwrap();
    assert_eq!(key, json!({ "label": "default", "hint": "…5b4a" }), "only the last four characters come back");
    let alias = json!({ "alias": { "name": "general", "description": null, "strategy": "fallback", "settings": {},
        "targets": [{ "providerId": "fake", "model": "chat-model", "weight": 1 }] } });
    call(&app, "save_alias", alias).await.unwrap();
    let created =
        call(&app, "create_app", json!({ "app": { "name": "scripts", "allowedAliases": null } })).await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sb-") && token.len() > 40, "{token}");
    // A mistake gets a clear error, not a crash.
    let bad = call(
        &app,
        "save_provider",
        json!({ "provider": { "id": "x", "kind": "nope", "name": null,
        "baseUrl": null, "apiVersion": null, "enabled": true } }),
    )
    .await
    .unwrap_err();
    assert_eq!(bad["kind"], "invalid", "{bad}");
    let providers = call(&app, "list_providers", json!({})).await.unwrap();
    assert_eq!(providers[0]["keys"], json!([{ "label": "default", "hint": "…5b4a" }]));
    call(&app, "list_apps", json!({})).await.unwrap();

    let endpoint = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let chat = json!({ "model": "general", "messages": [{ "role": "user", "content": "hi" }] });
    let ask = |token: String| {
        let (endpoint, chat) = (endpoint.clone(), chat.clone());
        async move {
            let response = reqwest::Client::new().post(&endpoint).bearer_auth(token).json(&chat).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = ask(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Hello from openai chat-model: hi"), "{body}");
    let seen = fake.requests().into_iter().filter(|r| r.method == "POST").collect::<Vec<_>>();
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {CANARY}").as_str()),
        "the key reached the provider"
    );

    // Restart: the key comes back from the keychain, the app token from the database.
    let session = app.session.clone();
    app.close().await;
    let app = App::launch_in(session.clone(), port).await;
    app.text_when("gateway-status", |s| s == "Listening").await;
    let (status, body) = ask(token.clone()).await;
    assert_eq!(status, 200, "after a restart: {body}");

    // Rotating the token stops the old one at once.
    let rotated = call(&app, "rotate_app_token", json!({ "id": created["app"]["id"] })).await.unwrap();
    assert_eq!(ask(token.clone()).await.0, 401);
    assert_eq!(ask(rotated["token"].as_str().unwrap().to_owned()).await.0, 200);

    // Deleting the provider deletes its keychain entry.
    let stored =
        session.command("secret-tool").args(["lookup", "service", "switchboard", "username", "fake"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&stored.stdout).trim(), CANARY, "the key is in the keychain");
    call(&app, "delete_provider", json!({ "id": "fake" })).await.unwrap();
    let gone =
        session.command("secret-tool").args(["lookup", "service", "switchboard", "username", "fake"]).output().unwrap();
    assert!(!gone.status.success(), "the keychain entry went with the provider");
    app.close().await;

    // Nowhere else: not in any IPC reply, nor in any file the app wrote (database, WAL, logs).
    for reply in &replies {
        assert!(!reply.contains(CANARY), "an IPC reply carried the key: {reply}");
    }
    let grep = std::process::Command::new("grep")
        .args(["-rl", CANARY])
        .arg(session.home.path().join("share"))
        .output()
        .unwrap();
    assert!(grep.stdout.is_empty(), "the key is in plaintext in: {}", String::from_utf8_lossy(&grep.stdout));
    let files = std::process::Command::new("find")
        .arg(session.home.path().join("share"))
        .args(["-name", "*.db*"])
        .output()
        .unwrap();
    assert!(!files.stdout.is_empty(), "the database was where the test looked");
}
