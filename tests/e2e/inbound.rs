//! The OpenAI-compatible surface itself, whatever the upstream: bad input gets a clear 4xx in OpenAI's shape and
//! loses nothing; the other routes (legacy completions, embeddings, models) behave as the SDKs expect.

use e2e::FAKE_TOKEN;
use e2e::fake::FakeKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::conformance::World;

async fn post_raw(world: &World, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(world.url(path))
        .bearer_auth(FAKE_TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

fn check_error(status: StatusCode, body: &Value, expect_status: StatusCode, expect_param: Option<&str>, says: &str) {
    assert_eq!(status, expect_status, "{body}");
    let error = &body["error"];
    assert!(error["type"].as_str().is_some(), "{body}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(says), "message {message:?} should say {says:?}");
    if let Some(param) = expect_param {
        assert_eq!(error["param"], param, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_reaching_the_upstream() {
    let world = World::start(FakeKind::OpenAi).await;
    let chat = "/v1/chat/completions";
    let cases: Vec<(Vec<u8>, StatusCode, Option<&str>, &str)> = vec![
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST, None, "not valid JSON"),
        (b"[1,2]".to_vec(), StatusCode::BAD_REQUEST, None, "must be a JSON object"),
        (
            br#"{"messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("model"),
            "must provide a model",
        ),
        (br#"{"model":7,"messages":[]}"#.to_vec(), StatusCode::BAD_REQUEST, Some("model"), "model must be"),
        (br#"{"model":"general"}"#.to_vec(), StatusCode::BAD_REQUEST, Some("messages"), "messages"),
        (br#"{"model":"general","messages":"hi"}"#.to_vec(), StatusCode::BAD_REQUEST, Some("messages"), "messages"),
        (
            br#"{"model":"general","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("temperature"),
            "temperature",
        ),
        (
            br#"{"model":"general","messages":[{"role":"wizard","content":"hi"}]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("messages[0].role"),
            "wizard",
        ),
        (
            br#"{"model":"general","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("stream"),
            "stream must be",
        ),
        (
            br#"{"model":"no-such-alias","messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
            StatusCode::NOT_FOUND,
            None,
            "available aliases: general",
        ),
        (
            br#"{"model":"nowhere/m","messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
            StatusCode::NOT_FOUND,
            None,
            "provider \"nowhere\" is not configured",
        ),
    ];
    for (body, status, param, says) in cases {
        let (got, json) = post_raw(&world, chat, body).await;
        check_error(got, &json, status, param, says);
    }
    assert!(world.fake.requests().iter().all(|r| r.method != "POST"), "nothing bad reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_a_413_and_the_server_stays_up() {
    let world = World::start(FakeKind::OpenAi).await;
    let huge =
        format!(r#"{{"model":"general","messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(33 * 1024 * 1024));
    let (status, body) = post_raw(&world, "/v1/chat/completions", huge).await;
    check_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, None, "larger than this gateway accepts");
    let (status, _, _) = world
        .post("/v1/chat/completions", &json!({"model":"general","messages":[{"role":"user","content":"hi"}]}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_completions_pass_prompt_and_suffix_through() {
    let world = World::start(FakeKind::OpenAi).await;
    let request = json!({ "model": "up/code-model", "prompt": "fn main() {", "suffix": "}", "max_tokens": 16 });
    let (status, _, body) = world.post("/v1/completions", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "text_completion");
    assert!(body["choices"][0]["text"].as_str().unwrap().contains("[suffix: }]"), "{body}");
    let sent = world.upstream_call();
    assert_eq!(sent.path, "/v1/completions");
    assert_eq!(
        sent.json.unwrap(),
        json!({ "model": "code-model", "prompt": "fn main() {", "suffix": "}", "max_tokens": 16 })
    );

    let (status, _, body) = world.post("/v1/completions", &json!({ "model": "general" })).await;
    check_error(status, &body, StatusCode::BAD_REQUEST, Some("prompt"), "prompt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_an_upstream_lacks_are_a_clear_400() {
    for kind in [FakeKind::Anthropic, FakeKind::Gemini] {
        let world = World::start(kind).await;
        let (status, _, body) = world.post("/v1/embeddings", &json!({ "model": "general", "input": "hi" })).await;
        check_error(status, &body, StatusCode::BAD_REQUEST, Some("model"), "does not offer embeddings");
        let (status, _, body) = world.post("/v1/completions", &json!({ "model": "general", "prompt": "hi" })).await;
        check_error(status, &body, StatusCode::BAD_REQUEST, Some("model"), "does not offer text completions");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_include_what_each_provider_lists() {
    for kind in FakeKind::ALL {
        let world = World::start(kind).await;
        let listed = || async {
            let response =
                reqwest::Client::new().get(world.url("/v1/models")).bearer_auth(FAKE_TOKEN).send().await.unwrap();
            let body: Value = response.json().await.unwrap();
            body["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };
        // The provider's own list arrives in the background, shortly after start.
        let mut ids = listed().await;
        for _ in 0..50 {
            if ids.len() > 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            ids = listed().await;
        }
        assert_eq!(ids[..2], ["general", "up/chat-model"], "{kind:?}: aliases first: {ids:?}");
        assert!(ids.len() > 2 && ids[2..].iter().all(|id| id.starts_with("up/")), "{kind:?}: {ids:?}");
    }
}
