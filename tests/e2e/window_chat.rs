//! The Chat page of the real app, through tauri-driver + WebKitWebDriver under Xvfb, against a fake OpenAI
//! upstream: send and stream, stop, regenerate, search, export, Markdown answers and titles, the ledger, and hostile
//! model output that must neither run nor reach a Tauri command.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{Display, Driver, Session, free_port, workspace_bin};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter};
use switchboard_gateway::store::{CHAT_WINDOW_APP, Store};

const ENTER: &str = "\u{E007}";

struct App {
    client: Client,
    session: Session,
    _driver: Driver,
    display: Display,
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
        App { client, session, _driver: driver, display }
    }

    async fn invoke(&self, command: &str, args: Value) -> Value {
        let script = "const [command, args, done] = arguments; \
            window.__TAURI_INTERNALS__.invoke(command, args).then(v => done({ ok: v ?? null }), e => done({ err: e }));";
        let reply = self.client.execute_async(script, vec![json!(command), args]).await.unwrap();
        assert!(reply.get("ok").is_some(), "{command} failed: {reply}");
        reply["ok"].clone()
    }

    /// Runs `script` (its `return` value) every 100 ms until `ready` accepts it; fails after 20 s with `what`.
    async fn until(&self, what: &str, script: &str, args: Vec<Value>, ready: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            if let Ok(value) = self.client.execute(script, args.clone()).await {
                if ready(&value) {
                    return value;
                }
                last = value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what} never happened; last: {last}");
    }

    /// The `textContent` of the first `selector`, once `ready` accepts it.
    async fn text(&self, selector: &str, ready: impl Fn(&str) -> bool) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        let value = self.until(selector, script, vec![json!(selector)], |v| v.as_str().is_some_and(&ready)).await;
        value.as_str().unwrap().to_owned()
    }

    /// The last stored message's role and text, once `ready` accepts them.
    async fn last_message(&self, ready: impl Fn(&str, &str) -> bool) -> String {
        let script = "const all = document.querySelectorAll(\"[data-testid='message']\"); \
            const e = all[all.length - 1]; return e ? [e.dataset.role, e.textContent] : null;";
        let value = self
            .until("the last message", script, vec![], |v| match v.as_array().map(Vec::as_slice) {
                Some([role, text]) => ready(role.as_str().unwrap_or(""), text.as_str().unwrap_or("")),
                _ => false,
            })
            .await;
        value[1].as_str().unwrap().to_owned()
    }

    async fn find(&self, id: &str) -> fantoccini::elements::Element {
        let selector = format!("[data-testid='{id}']");
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(&selector)).await {
                return element;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {selector}");
    }

    async fn click(&self, id: &str) {
        self.find(id).await.click().await.unwrap();
    }

    /// Replaces the model field's text and commits it (Enter blurs it).
    async fn choose_model(&self, model: &str) {
        let field = self.find("chat-model").await;
        field.clear().await.unwrap();
        field.send_keys(&format!("{model}{ENTER}")).await.unwrap();
        self.until(
            "the model to stick",
            "return document.querySelector(\"[data-testid='chat-model']\").value;",
            vec![],
            |v| v == model,
        )
        .await;
    }

    async fn send(&self, text: &str) {
        let input = self.find("composer-input").await;
        input.send_keys(&format!("{text}{ENTER}")).await.unwrap();
    }

    async fn send_enabled(&self) {
        let script = "const b = document.querySelector(\"[data-testid='composer-send']\"); return !!b && !b.disabled;";
        self.until("the Send button", script, vec![], |v| v == true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_sends_streams_stops_regenerates_searches_exports_and_renders_hostile_output_inert() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let app = App::launch(port).await;
    app.text("[data-testid='gateway-status']", |s| s == "Listening").await;
    let provider = json!({ "provider": { "id": "fake", "kind": "openai", "name": "Fake", "baseUrl": fake.api_base(),
        "apiVersion": null, "enabled": true } });
    app.invoke("save_provider", provider).await;
    app.invoke("set_provider_key", json!({ "providerId": "fake", "label": null, "key": e2e::FAKE_KEY })).await;
    let aliases =
        [("general", "chat-model"), ("stall", "stall-mid-stream"), ("hostile", "hostile"), ("code", "gpt-4.1")];
    for (alias, model) in aliases {
        let alias = json!({ "alias": { "name": alias, "description": null, "strategy": "fallback", "settings": {},
            "targets": [{ "providerId": "fake", "model": model, "weight": 1 }] } });
        app.invoke("save_alias", alias).await;
    }

    // Send: the answer streams in through the relay and is saved with its model and tokens.
    app.click("nav-chat").await;
    app.choose_model("general").await;
    app.send_enabled().await;
    let question = "Tell me about the old lighthouse keeper and his brass telescope";
    app.send(question).await;
    let answer = app.last_message(|role, text| role == "assistant" && text.contains("Hello from openai")).await;
    assert!(answer.contains(&format!("Hello from openai chat-model: {question}")), "{answer}");
    let meta = app.text("[data-testid='message'][data-role='assistant'] [data-testid='message-meta']", |_| true).await;
    assert!(meta.contains("fake/chat-model") && meta.contains("12 in · 7 out tokens"), "{meta}");
    let sent = fake.requests().into_iter().find(|r| r.path == "/v1/chat/completions").unwrap();
    let body = sent.json.unwrap();
    assert_eq!(body["stream"], true, "{body}");
    assert_eq!(body["messages"][0], json!({ "role": "user", "content": question }));
    // The conversation is named from the first exchange (first words at once, then the title alias's answer).
    app.text("[data-testid='conversation-title']", |s| !s.is_empty() && s != "New conversation").await;

    // Stop: a stalled stream shows its first words, Stop ends it, and what arrived is kept and marked.
    app.choose_model("stall").await;
    app.send("second question").await;
    app.text("[data-testid='message-live']", |s| s.contains("Hello")).await;
    app.click("composer-stop").await;
    let stopped = app.last_message(|role, text| role == "assistant" && text.contains("Stopped")).await;
    assert!(stopped.contains("Hello from") && !stopped.contains("second question"), "{stopped}");

    // Regenerate: the stopped answer is replaced by a full one from the model now chosen.
    app.choose_model("general").await;
    app.click("regenerate").await;
    let again =
        app.last_message(|role, text| role == "assistant" && text.contains("chat-model: second question")).await;
    assert!(!again.contains("Stopped"), "{again}");
    let count = "return document.querySelectorAll(\"[data-testid='message']\").length;";
    app.until("four messages", count, vec![], |v| v == 4).await;

    // Export: the file lands in Downloads and holds the conversation.
    app.click("export-md").await;
    let saved = app.text("[data-testid='export-path']", |s| s.starts_with("Saved to ")).await;
    let path = saved.trim_start_matches("Saved to ").to_owned();
    assert!(path.starts_with(&app.session.home.path().display().to_string()), "{path}");
    let markdown = std::fs::read_to_string(&path).unwrap();
    assert!(markdown.contains(question) && markdown.contains("## Assistant (`fake/chat-model`"), "{markdown}");
    app.click("export-json").await;
    let saved = app.text("[data-testid='export-path']", |s| s.ends_with(".json")).await;
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(saved.trim_start_matches("Saved to ")).unwrap()).unwrap();
    assert_eq!(exported["conversations"][0]["messages"].as_array().unwrap().len(), 4, "{exported}");

    // Search: from a new conversation, an old message is found by a word and opened.
    app.click("chat-new").await;
    app.find("chat-search").await.send_keys("telescop").await.unwrap();
    let hit = app.text("[data-testid='search-hit']", |s| s.contains("brass telescope")).await;
    assert!(hit.contains("lighthouse"), "{hit}");
    app.click("search-hit").await;
    app.text("[data-testid='message'][data-position='0']", |s| s.contains("brass telescope")).await;
    app.find("chat-search").await.clear().await.unwrap();

    // Hostile output: nothing in it runs, becomes an element that could, or reaches a Tauri command.
    app.click("chat-new").await;
    app.choose_model("hostile").await;
    app.send("show me").await;
    app.last_message(|role, text| role == "assistant" && text.contains("End of hostile answer")).await;
    let probe = "const list = document.querySelector(\"[data-testid='message-list']\"); \
        const bad = []; \
        for (const tag of ['script', 'img', 'iframe', 'object', 'embed', 'form', 'svg script']) \
            if (list.querySelector(tag)) bad.push(tag); \
        for (const e of list.querySelectorAll('*')) for (const a of e.attributes) { \
            if (a.name.startsWith('on')) bad.push(e.tagName + ' ' + a.name); \
            if (a.value.toLowerCase().includes('javascript:')) bad.push(e.tagName + ' ' + a.name + '=' + a.value); } \
        for (const a of list.querySelectorAll('a')) { a.click(); a.dispatchEvent(new MouseEvent('mouseover')); } \
        for (const e of list.querySelectorAll('div, span, p')) e.dispatchEvent(new MouseEvent('mouseover')); \
        return { bad, pwned: window.__pwned ?? null, text: list.textContent };";
    let report = app.client.execute(probe, vec![]).await.unwrap();
    assert_eq!(report["bad"], json!([]), "{report}");
    assert!(report["text"].as_str().unwrap().contains("click me"), "the words stay: {report}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pwned = app.client.execute("return window.__pwned ?? null;", vec![]).await.unwrap();
    assert_eq!(pwned, Value::Null, "injected script ran");
    let conversations = app.invoke("list_conversations", json!({})).await;
    assert_eq!(conversations.as_array().unwrap().len(), 2, "no conversation was deleted: {conversations}");
    let error = "const e = document.querySelector(\"[data-testid='chat-error']\"); return e ? e.textContent : null;";
    assert_eq!(app.client.execute(error, vec![]).await.unwrap(), Value::Null);
    let _ = app.client.clone().close().await;

    // The ledger has the chat's requests, as the built-in app, with the tokens the page showed.
    let db = app.session.home.path().join("share/dev.switchboard.desktop/switchboard.db");
    let store = Store::open(&db).unwrap();
    let filter = RequestFilter { app: Some(CHAT_WINDOW_APP.into()), ..RequestFilter::default() };
    let rows = queries::requests(&store, &filter, Page { limit: 100, before_id: None }).unwrap();
    let streamed: Vec<_> = rows.iter().filter(|r| r.client_protocol == "openai-chat" && r.stream).collect();
    assert!(streamed.len() >= 4, "send, stop, regenerate, hostile (and titles): {rows:?}");
    assert!(streamed.iter().any(|r| r.model.as_deref() == Some("stall-mid-stream")), "the stopped request is recorded");
    assert!(rows.iter().all(|r| r.app_id.is_some()), "{rows:?}");
}

/// A Markdown answer through an alias is drawn as Markdown (a highlighted code block with its copy button, a list,
/// emphasis), and the title model names the conversation. With `UPDATE_SCREENSHOTS=1` this is the README's first
/// picture, so the models have real names: `gpt-4.1` answers in Markdown, `gpt-5-nano` (behind the first-run `fast`
/// alias, which names conversations) gives a title.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_markdown_answer_is_drawn_with_its_code_list_and_emphasis_and_the_conversation_named() {
    let scripts = [("gpt-4.1", "markdown"), ("gpt-5-nano", "title")];
    let fake = FakeUpstream::start_scripted(FakeKind::OpenAi, &scripts).await;
    let app = App::launch(free_port()).await;
    app.text("[data-testid='gateway-status']", |s| s == "Listening").await;
    let provider = json!({ "provider": { "id": "openai", "kind": "openai", "name": null, "baseUrl": fake.api_base(),
        "apiVersion": null, "enabled": true } });
    app.invoke("save_provider", provider).await;
    app.invoke("set_provider_key", json!({ "providerId": "openai", "label": null, "key": e2e::FAKE_KEY })).await;
    for (alias, model) in [("code", "gpt-4.1"), ("fast", "gpt-5-nano")] {
        let alias = json!({ "alias": { "name": alias, "description": null, "strategy": "fallback", "settings": {},
            "targets": [{ "providerId": "openai", "model": model, "weight": 1 }] } });
        app.invoke("save_alias", alias).await;
    }

    app.click("nav-chat").await;
    app.choose_model("code").await;
    app.send_enabled().await;
    app.send("How do I read a file line by line in Rust?").await;
    app.last_message(|role, text| role == "assistant" && text.contains("even when the lines are short")).await;
    let drawn = "const m = [...document.querySelectorAll(\"[data-testid='message'][data-role='assistant']\")].pop(); \
        const code = m.querySelector('pre code'); \
        return { code: code ? code.textContent.includes('    for line in reader.lines()') : null, \
                 highlighted: !!m.querySelector('pre [class*=hljs-]'), copy: !!m.querySelector(\"[data-testid='code-copy']\"), \
                 items: m.querySelectorAll('li').length, strong: m.querySelector('strong')?.textContent ?? null };";
    let drawn = app.client.execute(drawn, vec![]).await.unwrap();
    let expected = json!({ "code": true, "highlighted": true, "copy": true, "items": 2, "strong": "large" });
    assert_eq!(drawn, expected, "the code keeps its indentation and is highlighted: {drawn}");
    let meta = app.text("[data-testid='message'][data-role='assistant'] [data-testid='message-meta']", |_| true).await;
    assert!(meta.contains("openai/gpt-4.1"), "{meta}");
    app.text("[data-testid='conversation-title']", |s| s == e2e::fake::script::TITLE).await;
    crate::window_manage::capture(&app.display, "chat").await;
    let _ = app.client.clone().close().await;
}

/// Issue 8's performance bar, measured in the real window: an answer streamed as fast as the fake can send it
/// (about 2,000 chunks) keeps the page drawing frames, and a conversation of 1,200 messages opens with only the
/// visible ones in the DOM and scrolls from end to start. The figures are printed (run with `--nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_chunks_and_a_long_conversation_keep_the_window_responsive() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let app = App::launch(free_port()).await;
    app.text("[data-testid='gateway-status']", |s| s == "Listening").await;
    let provider = json!({ "provider": { "id": "fake", "kind": "openai", "name": "Fake", "baseUrl": fake.api_base(),
        "apiVersion": null, "enabled": true } });
    app.invoke("save_provider", provider).await;
    app.invoke("set_provider_key", json!({ "providerId": "fake", "label": null, "key": e2e::FAKE_KEY })).await;
    let alias = json!({ "alias": { "name": "flood", "description": null, "strategy": "fallback", "settings": {},
        "targets": [{ "providerId": "fake", "model": "flood", "weight": 1 }] } });
    app.invoke("save_alias", alias).await;

    // Frames drawn while the flood streams: the longest gap between two animation frames is the longest freeze.
    let monitor = "window.__frames = { max: 0, count: 0, start: performance.now(), stop: false }; \
        let last = performance.now(); \
        const tick = (t) => { const f = window.__frames; f.max = Math.max(f.max, t - last); \
            if (t - last > 80) (f.long = f.long || []).push([Math.round(t - f.start), Math.round(t - last), document.querySelector(\"[data-testid='message-live']\")?.textContent.length ?? -1]); last = t; f.count++; \
            if (!f.stop) requestAnimationFrame(tick); }; requestAnimationFrame(tick);";
    app.choose_model("flood").await;
    let idle = "const [done] = arguments; let n = 0, max = 0, last = performance.now(); const start = last;         const tick = (t) => { max = Math.max(max, t - last); last = t; n++;             if (t - start < 1000) requestAnimationFrame(tick); else done({ n, max }); }; requestAnimationFrame(tick);";
    let baseline = app.client.execute_async(idle, vec![]).await.unwrap();
    println!("idle: {} frames in 1 s, longest gap {:.0} ms", baseline["n"], baseline["max"].as_f64().unwrap());
    app.client.execute(monitor, vec![]).await.unwrap();
    app.send("go").await;
    let words = e2e::fake::script::FLOOD_WORDS;
    let last_word = format!("w{words}");
    app.last_message(|role, text| role == "assistant" && text.contains(&last_word)).await;
    let frames = app
        .client
        .execute(
            "const f = window.__frames; f.stop = true; return { max: f.max, count: f.count, ms: performance.now() - f.start, long: f.long };",
            vec![],
        )
        .await
        .unwrap();
    let (max_gap, count, ms) =
        (frames["max"].as_f64().unwrap(), frames["count"].as_f64().unwrap(), frames["ms"].as_f64().unwrap());
    let rate = words as f64 / (ms / 1000.0);
    println!("long frames [at ms, gap ms, live text length]: {}", frames["long"]);
    println!(
        "flood: {words} chunks in {ms:.0} ms (≥ {rate:.0} chunks/s), {count} frames, longest frame gap {max_gap:.0} ms"
    );
    assert!(rate >= 100.0, "the flood must stream at 100+ chunks/s to mean anything: {rate:.0}");
    assert!(max_gap < 1000.0, "the page froze for {max_gap:.0} ms while streaming");
    assert!(count >= ms / 1000.0 * 5.0, "the page drew only {count} frames in {ms:.0} ms");

    // A long conversation, written straight into the database.
    let db = app.session.home.path().join("share/dev.switchboard.desktop/switchboard.db");
    let store = Store::open(&db).unwrap();
    let long = store.create_conversation(Some("flood"), None, &json!({})).unwrap();
    let patch = switchboard_gateway::store::ConversationPatch { title: Some("Long one".into()), ..Default::default() };
    store.update_conversation(long.id, &patch).unwrap();
    for i in 0..1200 {
        let (role, content) = if i % 2 == 0 {
            ("user", json!(format!("Question number {i}: how does this work?")))
        } else {
            (
                "assistant",
                json!([{ "type": "text",
                "text": format!("Answer **{i}** with a list:\n\n- one\n- two\n\n```rust\nfn f() -> u32 {{ {i} }}\n```") }]),
            )
        };
        let message = switchboard_gateway::store::NewMessage { role: role.into(), content, ..Default::default() };
        store.append_message(long.id, &message).unwrap();
    }
    drop(store);
    app.click("nav-providers").await;
    app.click("nav-chat").await;
    let open = std::time::Instant::now();
    app.text("[data-testid='conversation-title']", |s| s == "Long one").await;
    app.click("conversation").await;
    app.last_message(|role, text| role == "assistant" && text.contains("Answer 1199")).await;
    let opened = open.elapsed();
    let in_dom = app
        .client
        .execute("return document.querySelectorAll(\"[data-testid='message']\").length;", vec![])
        .await
        .unwrap();
    let in_dom = in_dom.as_u64().unwrap();
    // Scroll from the end to the start in 40 steps, one per frame, and time the frames.
    let scroll = "const [done] = arguments; const list = document.querySelector(\"[data-testid='message-list']\"); \
        let step = 0, max = 0, last = performance.now(); const start = last; \
        const tick = (t) => { max = Math.max(max, t - last); last = t; \
            list.scrollTop = list.scrollHeight * (1 - ++step / 40); \
            if (step < 40) requestAnimationFrame(tick); else { list.scrollTop = 0; \
                setTimeout(() => done({ max, ms: performance.now() - start }), 300); } }; \
        requestAnimationFrame(tick);";
    let scrolled = app.client.execute_async(scroll, vec![]).await.unwrap();
    app.text("[data-testid='message'][data-position='0']", |s| s.contains("Question number 0")).await;
    println!(
        "1,200 messages: opened in {} ms with {in_dom} in the DOM; scrolled end to start in {:.0} ms, longest frame {:.0} ms",
        opened.as_millis(),
        scrolled["ms"].as_f64().unwrap(),
        scrolled["max"].as_f64().unwrap()
    );
    assert!(in_dom < 60, "the list is virtualized: {in_dom} messages in the DOM");
    assert!(scrolled["max"].as_f64().unwrap() < 1000.0, "scrolling froze the page: {scrolled}");
    let _ = app.client.clone().close().await;
}
