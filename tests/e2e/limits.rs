//! Rate limits and the loop guard through the headless gateway and a fake upstream: a burst over RPM and the ledger's
//! rows for it, requests at once under 32 parallel streams (counted at the fake), a client leaving mid-stream giving
//! its turn back, tokens per minute, the loop guard, the limits of all apps together, limits kept across a SIGHUP
//! reload, and each client protocol's 429.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, wait_for};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

/// The second app's token.
const OTHER_TOKEN: &str = "sb-test-token-other-00000000000000000";

struct World {
    fake: FakeUpstream,
    gateway: Gateway,
    client: reqwest::Client,
}

/// `scripts` with `limits` (an inline table), `other` with none; `top` goes first in the file (e.g. `[limits]`).
fn config(fake: &FakeUpstream, limits: &str, top: &str) -> String {
    format!(
        "{top}\n[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\nlimits = {limits}\n\
         [[apps]]\nname = \"other\"\ntoken_env = \"T2\"\n",
        fake.api_base()
    )
}

async fn world(limits: &str, top: &str) -> World {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = config(&fake, limits, top);
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN), ("T2", OTHER_TOKEN)];
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&config, &env)).await.unwrap().unwrap();
    World { fake, gateway, client: reqwest::Client::new() }
}

/// A chat request from `scripts`: `text` as the user's turn.
fn chat(model: &str, text: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": text }] })
}

impl World {
    async fn post_as(&self, token: &str, path: &str, body: &Value) -> (StatusCode, HeaderMap, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.gateway.root()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, HeaderMap, String) {
        self.post_as(FAKE_TOKEN, path, body).await
    }

    /// Chat requests the upstream received (the gateway also lists its models at start).
    fn fake_chats(&self) -> usize {
        self.fake.requests().iter().filter(|r| r.path == "/v1/chat/completions").count()
    }

    /// Every ledger row, newest first, once the gateway has stopped (a clean stop writes every queued row).
    fn rows_after_stop(&mut self) -> Vec<queries::RequestRow> {
        let status = self.gateway.terminate(Duration::from_secs(10)).unwrap();
        assert!(status.success(), "{}", self.gateway.stderr());
        let store = Store::open(&self.gateway.data().join(DATABASE_FILE)).unwrap();
        let page = queries::Page { limit: 500, before_id: None };
        queries::requests(&store, &queries::RequestFilter::default(), page).unwrap()
    }

    /// Sends SIGHUP and waits until the log says the configuration was reloaded for the `n`th time.
    fn reload(&self, n: usize) {
        let pid = self.gateway.pid().to_string();
        assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
        wait_for("the reload in the log", Duration::from_secs(10), || {
            (self.gateway.stderr().matches("configuration reloaded").count() >= n).then_some(())
        })
        .unwrap();
    }
}

/// The `Retry-After` seconds of a refusal: present, whole, 1 to 60.
fn retry_after(headers: &HeaderMap) -> u64 {
    let value = headers.get("retry-after").expect("a 429 carries Retry-After").to_str().unwrap();
    let secs: u64 = value.parse().unwrap_or_else(|_| panic!("Retry-After {value:?} is not whole seconds"));
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    secs
}

/// An OpenAI-shaped 429: `rate_limit_error` with `code`, the message starting with `message`.
fn assert_openai_429(status: StatusCode, headers: &HeaderMap, body: &str, code: &str, message: &str) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    retry_after(headers);
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (body["error"]["type"].as_str(), body["error"]["code"].as_str()),
        (Some("rate_limit_error"), Some(code))
    );
    let text = body["error"]["message"].as_str().unwrap();
    assert!(text.starts_with(message), "{text:?} should start with {message:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_rpm_gets_429s_with_retry_after_the_rest_pass_and_the_ledger_has_every_refusal() {
    let mut world = world("{ rpm = 5 }", "").await;
    let burst = (0..8).map(|n| {
        let world = &world;
        async move { world.post("/v1/chat/completions", &chat("general", &format!("question {n}"), false)).await }
    });
    let answers = futures_util::future::join_all(burst).await;
    let (passed, refused): (Vec<_>, Vec<_>) = answers.iter().partition(|(status, _, _)| status.is_success());
    assert_eq!((passed.len(), refused.len()), (5, 3), "{answers:?}");
    for (status, headers, body) in refused {
        assert_openai_429(
            *status,
            headers,
            body,
            "rate_limited",
            "rate_limited: 5 requests per minute for app \"scripts\"",
        );
        assert!(body.contains("raise the limit in Apps"), "{body}");
        assert_eq!(headers.get("x-switchboard-attempts").unwrap(), "0", "refused before any attempt");
        assert_eq!(headers.get("x-switchboard-alias").unwrap(), "general");
    }
    assert_eq!(world.fake_chats(), 5, "only the admitted requests reached the upstream");
    // Another app is not held to scripts' limit.
    let (status, _, body) = world.post_as(OTHER_TOKEN, "/v1/chat/completions", &chat("general", "hi", false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let rows = world.rows_after_stop();
    let scripts: Vec<_> = rows.iter().filter(|r| r.app_name == "scripts").collect();
    assert_eq!(scripts.len(), 8, "{rows:?}");
    let refusals: Vec<_> = scripts.iter().filter(|r| r.status == 429).collect();
    assert_eq!(refusals.len(), 3);
    for row in refusals {
        let error = row.error.as_deref().unwrap_or_default();
        assert!(error.starts_with("rate_limited: 5 requests per minute"), "{row:?}");
        assert!(row.attempts.is_empty() && row.input_tokens.is_none() && row.alias.as_deref() == Some("general"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_limit_holds_under_32_parallel_streams() {
    let world = world("{ concurrent = 4 }", "").await;
    let streams = (0..32_u64).map(|n| {
        let world = &world;
        async move {
            let mut refused = 0_u32;
            loop {
                // `paced`: each frame 100 ms after the last, so a stream stays open for about a second.
                let (status, headers, body) =
                    world.post("/v1/chat/completions", &chat("oa/paced", &format!("stream {n}"), true)).await;
                if status == StatusCode::TOO_MANY_REQUESTS {
                    assert_eq!(retry_after(&headers), 1, "when one ends is not known: retry in a second");
                    assert!(body.contains("4 requests at once for app"), "{body}");
                    refused += 1;
                    // A client's back-off, short of the Retry-After so the turns are contended.
                    tokio::time::sleep(Duration::from_millis(100 + n * 5)).await;
                    continue;
                }
                assert_eq!(status, StatusCode::OK, "{body}");
                assert!(body.trim_end().ends_with("data: [DONE]"), "a whole stream: {body}");
                return refused;
            }
        }
    });
    let refusals: u32 = futures_util::future::join_all(streams).await.into_iter().sum();
    assert_eq!(world.fake.peak_in_flight(), 4, "never more than 4 streams open at the upstream, and 4 at times");
    assert!(refusals >= 28, "the 28 that found 4 running were refused at first ({refusals})");
    assert_eq!(world.fake_chats(), 32, "each stream reached the upstream once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_stream_gives_its_turn_back() {
    let world = world("{ concurrent = 1 }", "").await;
    let response = world
        .client
        .post(format!("{}/v1/chat/completions", world.gateway.root()))
        .bearer_auth(FAKE_TOKEN)
        .json(&chat("oa/stall-mid-stream", "hi", true))
        .send()
        .await
        .unwrap();
    let mut response = response;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.chunk().await.unwrap().is_some(), "the stream started");
    let (status, headers, body) = world.post("/v1/chat/completions", &chat("general", "meanwhile", false)).await;
    assert_openai_429(status, &headers, &body, "rate_limited", "rate_limited: 1 request at once for app \"scripts\"");

    drop(response);
    let mut answered = None;
    for _ in 0..100 {
        let (status, _, body) = world.post("/v1/chat/completions", &chat("general", "after", false)).await;
        if status == StatusCode::OK {
            answered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered.is_some(), "the stalled stream's turn was never given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpm_admits_the_request_that_crosses_it_and_refuses_the_next() {
    // Every fake answer uses 12 input and 7 output tokens.
    let world = world("{ tpm = 50 }", "").await;
    for n in 0..3 {
        let (status, _, body) = world.post("/v1/chat/completions", &chat("general", &format!("q{n}"), false)).await;
        assert_eq!(status, StatusCode::OK, "19, 38, then 57 tokens: the third crosses 50 and is admitted: {body}");
    }
    let (status, headers, body) = world.post("/v1/chat/completions", &chat("general", "q3", false)).await;
    assert_openai_429(
        status,
        &headers,
        &body,
        "rate_limited",
        "rate_limited: 50 tokens per minute for app \"scripts\"",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_guard_refuses_the_same_request_sent_too_often_and_says_why() {
    let world = world("{ loop_guard = 3 }", "").await;
    let same = chat("general", "fix the failing test", false);
    for _ in 0..3 {
        let (status, _, body) = world.post("/v1/chat/completions", &same).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = world.post("/v1/chat/completions", &same).await;
    assert_openai_429(status, &headers, &body, "loop_detected", "loop_detected: the same request was sent 3 times");
    assert!(body.contains("this looks like a loop — change the request, or raise loop_guard in Apps"), "{body}");
    // A fresh id in `metadata` or `user` does not make it another request.
    let mut relabelled = same.clone();
    relabelled["user"] = json!("run-8812");
    relabelled["metadata"] = json!({ "trace": "abc" });
    let (status, _, _) = world.post("/v1/chat/completions", &relabelled).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Anything else the client asks passes.
    let (status, _, body) = world.post("/v1/chat/completions", &chat("general", "now the other test", false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_of_all_apps_together_count_every_app() {
    let world = world("{}", "[limits]\nrpm = 2\n").await;
    for token in [FAKE_TOKEN, OTHER_TOKEN] {
        let (status, _, body) = world.post_as(token, "/v1/chat/completions", &chat("general", "hi", false)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for token in [FAKE_TOKEN, OTHER_TOKEN] {
        let (status, headers, body) =
            world.post_as(token, "/v1/chat/completions", &chat("general", "again", false)).await;
        assert_openai_429(status, &headers, &body, "rate_limited", "rate_limited: 2 requests per minute for all apps");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_survive_a_sighup_reload_and_a_raised_limit_applies_at_once() {
    let world = world("{ rpm = 3 }", "").await;
    for n in 0..3 {
        let (status, _, body) = world.post("/v1/chat/completions", &chat("general", &format!("q{n}"), false)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _, _) = world.post("/v1/chat/completions", &chat("general", "q3", false)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // A reload that leaves the app's limits alone (another alias added) keeps its window: still refused.
    let path = world.gateway.data_dir.path().join("switchboard.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("[[apps]]", "[[aliases]]\nname = \"extra\"\ntargets = [\"oa/gpt-4o\"]\n[[apps]]", 1);
    std::fs::write(&path, &edited).unwrap();
    world.reload(1);
    let (status, headers, body) = world.post("/v1/chat/completions", &chat("general", "q4", false)).await;
    assert_openai_429(status, &headers, &body, "rate_limited", "rate_limited: 3 requests per minute");

    // Raised to 5: the three already counted stay, so two more pass, then the new limit holds.
    std::fs::write(&path, edited.replace("rpm = 3", "rpm = 5")).unwrap();
    world.reload(2);
    for n in 5..7 {
        let (status, _, body) = world.post("/v1/chat/completions", &chat("general", &format!("q{n}"), false)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = world.post("/v1/chat/completions", &chat("general", "q7", false)).await;
    assert_openai_429(status, &headers, &body, "rate_limited", "rate_limited: 5 requests per minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_protocol_gets_its_own_429_and_count_tokens_is_not_limited() {
    let world = world("{ rpm = 1 }", "").await;
    let (status, _, body) = world.post("/v1/chat/completions", &chat("general", "the one", false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expect = "rate_limited: 1 request per minute for app \"scripts\"";

    let (status, headers, body) = world.post("/v1/chat/completions", &chat("general", "chat", true)).await;
    assert_openai_429(status, &headers, &body, "rate_limited", expect);
    let responses = json!({ "model": "general", "input": "hi" });
    let (status, headers, body) = world.post("/v1/responses", &responses).await;
    assert_openai_429(status, &headers, &body, "rate_limited", expect);
    let embeddings = json!({ "model": "general", "input": "hi" });
    let (status, headers, body) = world.post("/v1/embeddings", &embeddings).await;
    assert_openai_429(status, &headers, &body, "rate_limited", expect);
    let completions = json!({ "model": "general", "prompt": "def f(" });
    let (status, headers, body) = world.post("/v1/completions", &completions).await;
    assert_openai_429(status, &headers, &body, "rate_limited", expect);

    let messages = json!({ "model": "general", "max_tokens": 16, "messages": [{ "role": "user", "content": "hi" }] });
    let (status, headers, body) = world.post("/v1/messages", &messages).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    retry_after(&headers);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["type"].as_str(), body["error"]["type"].as_str()), (Some("error"), Some("rate_limit_error")));
    assert!(body["error"]["message"].as_str().unwrap().starts_with(expect), "{body}");

    let count = json!({ "model": "general", "messages": [{ "role": "user", "content": "hi" }] });
    let (status, _, body) = world.post("/v1/messages/count_tokens", &count).await;
    assert_eq!(status, StatusCode::OK, "counting tokens costs nothing and is not limited: {body}");
}
