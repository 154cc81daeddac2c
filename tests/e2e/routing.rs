//! Aliases and fallback through the real gateway, against fakes that fail on cue: which target answered, how
//! many attempts it took, within what time, and that nothing falls back once the first byte has gone out.

use std::time::{Duration, Instant};

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A fake of `kind` reachable as two providers, `a` and `b`, plus whatever aliases `aliases` declares.
struct Routing {
    fake: FakeUpstream,
    gateway: Gateway,
}

impl Routing {
    async fn start(kind: FakeKind, aliases: &str) -> Routing {
        let fake = FakeUpstream::start(kind).await;
        let config = format!(
            "[[providers]]\nid = \"a\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\nkey_env = \"UP_KEY\"\n\
             [[providers]]\nid = \"b\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\nkey_env = \"UP_KEY\"\n\
             [[apps]]\nname = \"tests\"\ntoken_env = \"TESTS_TOKEN\"\n{aliases}",
            kind = kind.name(),
            base = fake.api_base(),
        );
        let gateway = tokio::task::spawn_blocking(move || {
            Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("TESTS_TOKEN", FAKE_TOKEN)]).unwrap()
        })
        .await
        .unwrap();
        Routing { fake, gateway }
    }

    async fn chat(&self, body: Value) -> (StatusCode, HeaderMap, String) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.gateway.root()))
            .bearer_auth(FAKE_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// The models the fake was asked for, in order (chat calls only).
    fn upstream_models(&self) -> Vec<String> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .filter_map(|r| r.json.and_then(|j| j["model"].as_str().map(str::to_owned)))
            .collect()
    }
}

fn hi(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] })
}

fn routed(headers: &HeaderMap) -> (String, String, String) {
    let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (get("x-switchboard-alias"), get("x-switchboard-target"), get("x-switchboard-attempts"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_falls_back_to_the_next() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"general\"\ntargets = [\"a/error-500\", \"b/chat-model\"]\n",
    )
    .await;
    let (status, headers, body) = world.chat(hi("general")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Hello from openai chat-model: hi"), "{body}");
    // The 500 was retried once, then the next target answered.
    assert_eq!(routed(&headers), ("general".into(), "b/chat-model".into(), "3".into()));
    assert_eq!(world.upstream_models(), ["error-500", "error-500", "chat-model"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_honour_retry_after_then_fall_back() {
    let world =
        Routing::start(FakeKind::Anthropic, "[[aliases]]\nname = \"g\"\ntargets = [\"a/rate-limit\", \"b/m\"]\n").await;
    let started = Instant::now();
    let (status, headers, body) = world.chat(hi("g")).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(routed(&headers).1, "b/m");
    assert_eq!(routed(&headers).2, "3");
    assert!(took >= Duration::from_millis(950), "Retry-After: 1 was honoured before the retry: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_4xx_do_not_fall_back() {
    let world =
        Routing::start(FakeKind::Gemini, "[[aliases]]\nname = \"g\"\ntargets = [\"a/error-400\", \"b/m\"]\n").await;
    let (status, headers, body) = world.chat(hi("g")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(routed(&headers), ("g".into(), "a/error-400".into(), "1".into()));
    assert_eq!(world.upstream_models().len(), 0, "Gemini puts the model in the URL, not the body");
    assert_eq!(world.fake.requests().iter().filter(|r| r.method == "POST").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_length_error_moves_to_a_larger_window() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"long\"\ntargets = [\"a/context-length\", \"b/tiny\", \"b/roomy\"]\n\
         [[models]]\nid = \"a/context-length\"\ncontext_window = 8192\n\
         [[models]]\nid = \"b/tiny\"\ncontext_window = 4096\n\
         [[models]]\nid = \"b/roomy\"\ncontext_window = 200000\n",
    )
    .await;
    let (status, headers, body) = world.chat(hi("long")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(routed(&headers).1, "b/roomy", "the smaller window was skipped");
    assert_eq!(world.upstream_models(), ["context-length", "roomy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_byte_times_out_and_falls_back_within_the_bound() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"fast\"\ntargets = [\"a/slow-first-byte\", \"b/m\"]\n\
         [aliases.timeouts]\nfirst_token = 0.4\n",
    )
    .await;
    let mut request = hi("fast");
    request["stream"] = json!(true);
    let started = Instant::now();
    let (status, headers, body) = world.chat(request).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(routed(&headers).1, "b/m");
    // Two timed-out tries of 0.4 s plus a jittered pause, then the fallback: well under the fake's 2 s delay × 2.
    assert!(took < Duration::from_millis(2000), "{took:?}");
    assert!(body.contains(r#""content":"Hello "#) && body.trim_end().ends_with("data: [DONE]"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_falls_back_after_the_first_byte() {
    for fault in ["stall-mid-stream", "drop-mid-stream"] {
        let world = Routing::start(
            FakeKind::Anthropic,
            &format!("[[aliases]]\nname = \"g\"\ntargets = [\"a/{fault}\", \"b/m\"]\n[aliases.timeouts]\nidle = 0.5\n"),
        )
        .await;
        let mut request = hi("g");
        request["stream"] = json!(true);
        let started = Instant::now();
        let (status, headers, body) = world.chat(request).await;
        assert_eq!(status, StatusCode::OK, "{fault}: {body}");
        assert_eq!(routed(&headers), ("g".into(), format!("a/{fault}"), "1".into()), "{fault}");
        assert!(body.contains("\"error\""), "{fault}: the stream ends with an in-band error: {body}");
        assert!(body.trim_end().ends_with("data: [DONE]"), "{fault}: {body}");
        assert!(started.elapsed() < Duration::from_secs(5), "{fault}: the idle limit ended it");
        assert_eq!(world.fake.requests().iter().filter(|r| r.method == "POST").count(), 1, "{fault}: no second target");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_limit_bounds_every_attempt() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"g\"\ntargets = [\"a/slow-first-byte\", \"b/slow-first-byte\"]\n\
         [aliases.timeouts]\ntotal = 1.0\n",
    )
    .await;
    let started = Instant::now();
    let (status, _, body) = world.chat(hi("g")).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert!(body.contains("upstream_timeout"), "{body}");
    assert!(took < Duration::from_millis(1800), "bounded by the 1 s total: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_keeps_failing_cools_down() {
    let world =
        Routing::start(FakeKind::OpenAi, "[[aliases]]\nname = \"g\"\ntargets = [\"a/garbage\", \"b/m\"]\n").await;
    for _ in 0..3 {
        let (status, headers, _) = world.chat(hi("g")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(routed(&headers).2, "2", "garbage falls back at once");
    }
    // Three failures in a row: `a` now cools down, and `b` is tried first.
    let (status, headers, _) = world.chat(hi("g")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((routed(&headers).1, routed(&headers).2), ("b/m".into(), "1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_skip_targets_that_cannot_serve_the_request() {
    let world = Routing::start(
        FakeKind::Gemini,
        "[[aliases]]\nname = \"g\"\ntargets = [\"a/text-only\", \"b/sees\"]\n\
         [[models]]\nid = \"a/text-only\"\nvision = false\ntools = false\n\
         [[aliases]]\nname = \"blind\"\ntargets = [\"a/text-only\"]\n",
    )
    .await;
    let image = json!({ "model": "g", "messages": [{ "role": "user", "content": [
        { "type": "text", "text": "what is it?" },
        { "type": "image_url", "image_url": { "url": "data:image/png;base64,iVBORw0KGgo=" } }
    ] }] });
    let (status, headers, body) = world.chat(image.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(routed(&headers), ("g".into(), "b/sees".into(), "1".into()));

    let mut blind = image;
    blind["model"] = json!("blind");
    let (status, _, body) = world.chat(blind).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "no_capable_target");
    assert!(body["error"]["message"].as_str().unwrap().contains("a/text-only does not accept images"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_settings_shape_the_request() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"code\"\ntargets = [\"a/coder\"]\nsystem_prefix = \"Answer in code only.\"\n\
         [aliases.params]\ntemperature = 0.1\nmax_tokens = 512\n\
         [aliases.forced_params]\nseed = 7\n",
    )
    .await;
    let mut request = hi("code");
    request["max_tokens"] = json!(100);
    request["seed"] = json!(1);
    let (status, _, body) = world.chat(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = world.fake.requests().into_iter().find(|r| r.method == "POST").unwrap().json.unwrap();
    assert_eq!(sent["temperature"], 0.1, "a default fills what the client left out");
    assert_eq!(sent["max_tokens"], 100, "the client's own value wins over a default");
    assert_eq!(sent["seed"], 7, "a forced value wins over the client's");
    assert_eq!(sent["messages"][0], json!({ "role": "system", "content": "Answer in code only." }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_alias_applies_to_the_next_request_without_a_restart() {
    let world = Routing::start(FakeKind::OpenAi, "[[aliases]]\nname = \"g\"\ntargets = [\"a/first\"]\n").await;
    let (_, headers, _) = world.chat(hi("g")).await;
    assert_eq!(routed(&headers).1, "a/first");

    let config_path = world.gateway.data_dir.path().join("switchboard.toml");
    let edited = std::fs::read_to_string(&config_path).unwrap().replace("a/first", "b/second");
    std::fs::write(&config_path, edited).unwrap();
    let pid = world.gateway.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let mut target = String::new();
    for _ in 0..50 {
        let (_, headers, _) = world.chat(hi("g")).await;
        target = routed(&headers).1;
        if target == "b/second" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(target, "b/second", "log: {}", world.gateway.stderr());

    // A broken edit keeps the running configuration, and says why in the log.
    std::fs::write(&config_path, "[[aliases]]\nname = \"g\"\ntargets = [\"nowhere/x\"]\n").unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    e2e::wait_for("the reload error in the log", Duration::from_secs(5), || {
        world.gateway.stderr().contains("kept the running configuration").then_some(())
    })
    .unwrap();
    let (status, headers, _) = world.chat(hi("g")).await;
    assert_eq!((status, routed(&headers).1), (StatusCode::OK, "b/second".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_aliases_spread_requests() {
    let world = Routing::start(
        FakeKind::OpenAi,
        "[[aliases]]\nname = \"g\"\ntargets = [\"a/m\", \"b/m\"]\nstrategy = \"weighted\"\nweights = [1, 1]\n",
    )
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let (_, headers, _) = world.chat(hi("g")).await;
        seen.insert(routed(&headers).1);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a/m", "b/m"], "40 draws at 1:1 reach both");
}
