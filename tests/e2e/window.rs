//! The real desktop app, driven through tauri-driver + WebKitWebDriver on a private Xvfb display and D-Bus
//! session, with a private HOME so it touches none of the user's data.

use std::time::Duration;

use e2e::{Display, Driver, Session, free_port, http_get, workspace_bin};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// One running app: its display, session and driver stay alive as long as this does.
struct App {
    client: Client,
    _driver: Driver,
    _display: Display,
    _session: Session,
}

impl App {
    async fn launch(port: u16) -> App {
        let session = Session::start().unwrap();
        let display = Display::start().unwrap();
        let port = port.to_string();
        let driver = Driver::start(&display, &session, &[("SWITCHBOARD_PORT", &port)]).unwrap();
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
        App { client, _driver: driver, _display: display, _session: session }
    }

    /// The `textContent` of `[data-testid=<id>]` once it satisfies `ready`, waiting up to 20 s. (textContent rather
    /// than WebDriver's rendered text, which WebKit reports empty for `user-select: all` elements.)
    async fn text_when(&self, id: &str, ready: impl Fn(&str) -> bool) -> String {
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

    async fn click(&self, id: &str) {
        let selector = format!("[data-testid='{id}']");
        self.client.find(Locator::Css(&selector)).await.unwrap().click().await.unwrap();
    }

    async fn close(self) {
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

    // Pages not built yet say so, rather than showing made-up data.
    app.click("nav-providers").await;
    app.text_when("page-title", |s| s == "Providers").await;
    let note = app.text_when("page-not-built", |s| !s.is_empty()).await;
    assert!(note.contains("not built yet"), "{note}");

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
