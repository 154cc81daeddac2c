//! Responses-API clients (Codex CLI) through `/v1/responses`: passed through to OpenAI's own Responses API, onto
//! the other upstream kinds by translation.

use e2e::FAKE_TOKEN;
use e2e::fake::FakeKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::conformance::World;

async fn responses(world: &World, body: &Value) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(world.url("/v1/responses"))
        .bearer_auth(FAKE_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The stream's events, checked: named like their `type`, numbered in order, `response.created` first and
/// `response.completed` (or `.failed`) last.
fn checked_events(body: &str) -> Vec<Value> {
    let events: Vec<(String, Value)> = body
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_owned();
            let data = e.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            (name, serde_json::from_str(&data).unwrap())
        })
        .collect();
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i as u64, "sequence numbers count up from 0");
    }
    assert_eq!(events[0].0, "response.created");
    let last = events.last().unwrap().0.as_str();
    assert!(last == "response.completed" || last == "response.failed", "{last}");
    events.into_iter().map(|(_, data)| data).collect()
}

/// A Codex-shaped turn: developer instructions as input items, function and hosted tools, no max_output_tokens.
fn codex_request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "abc",
        "parallel_tool_calls": true,
        "reasoning": { "effort": "medium", "summary": "auto" },
        "input": [
            { "type": "message", "role": "developer", "content": [{ "type": "input_text", "text": "You are Codex." }] },
            { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "hi" }] }
        ],
        "tools": [
            { "type": "function", "name": "shell", "description": "Run a command",
              "parameters": { "type": "object", "properties": { "command": { "type": "array", "items": { "type": "string" } } } } },
            { "type": "web_search" }
        ]
    })
}

async fn plain_stream_and_tools(kind: FakeKind) {
    let world = World::start(kind).await;
    let (status, body) = responses(&world, &codex_request("general", false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    let message = body["output"].as_array().unwrap().iter().find(|i| i["type"] == "message").unwrap();
    assert_eq!(message["content"][0]["text"], world.reply_text("chat-model", "hi"));
    assert_eq!(body["usage"]["input_tokens"], 12);
    assert_eq!(body["usage"]["output_tokens"], 7);

    let (status, body) = responses(&world, &codex_request("general", true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = checked_events(&body);
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, world.reply_text("chat-model", "hi"));

    let (status, body) = responses(&world, &codex_request("up/tools", true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = checked_events(&body);
    let completed = events.last().unwrap();
    let calls: Vec<(String, Value)> = completed["response"]["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function_call")
        .map(|i| {
            (i["name"].as_str().unwrap().to_owned(), serde_json::from_str(i["arguments"].as_str().unwrap()).unwrap())
        })
        .collect();
    assert_eq!(
        calls,
        [("get_weather".to_owned(), json!({ "city": "Paris" })), ("get_time".to_owned(), json!({ "tz": "CET" }))]
    );

    let sent = world.fake.requests().into_iter().rfind(|r| r.method == "POST").unwrap();
    if kind == FakeKind::OpenAi {
        // OpenAI runs hosted tools itself: the body reaches its Responses API as Codex sent it.
        assert_eq!(sent.path, "/v1/responses");
        let mut expected = codex_request("tools", true);
        expected["model"] = json!("tools");
        assert_eq!(sent.json.unwrap(), expected);
    } else {
        // The hosted tool was dropped, the developer item became the system prompt.
        let sent = sent.text;
        assert!(sent.contains("You are Codex.") && !sent.contains("web_search"), "{sent}");
    }
}

macro_rules! responses_inbound {
    ($($provider:ident => $kind:expr),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $provider() { plain_stream_and_tools($kind).await }
    )*};
}

responses_inbound! { onto_openai => FakeKind::OpenAi, onto_anthropic => FakeKind::Anthropic, onto_gemini => FakeKind::Gemini }

/// A stored conversation lives at OpenAI: continued there, a clear 400 where the turn would be translated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_conversations_continue_at_openai_only() {
    let mut request = codex_request("general", false);
    request["previous_response_id"] = json!("resp_123");

    let world = World::start(FakeKind::OpenAi).await;
    let (status, body) = responses(&world, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["previous_response_id"], "resp_123", "OpenAI got it: {body}");

    let world = World::start(FakeKind::Anthropic).await;
    let (status, body) = responses(&world, &request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["param"], "previous_response_id");
    assert!(body["error"]["message"].as_str().unwrap().contains("resend the whole conversation"));
    assert!(world.fake.requests().iter().all(|r| r.method != "POST"), "nothing reached Anthropic");
}
