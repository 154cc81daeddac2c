//! Anthropic clients (Claude Code, the `anthropic` SDKs) through `/v1/messages`, onto every upstream kind: an
//! Anthropic upstream by passthrough, OpenAI and Gemini by translation. Each stream is checked against the
//! Messages streaming grammar.

use e2e::fake::FakeKind;
use e2e::{FAKE_KEY, FAKE_TOKEN};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::conformance::World;

async fn messages(world: &World, body: &Value, extra: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .post(world.url("/v1/messages?beta=true"))
        .header("x-api-key", FAKE_TOKEN)
        .header("anthropic-version", "2023-06-01")
        .json(body);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// `(event name, data)` pairs of an SSE body.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_owned();
            let data = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            (name, serde_json::from_str(&data).unwrap_or_else(|_| panic!("not JSON: {data:?} in {body}")))
        })
        .collect()
}

/// Asserts the Messages stream grammar: message_start, then blocks opened/delta'd/closed in index order, then
/// message_delta and message_stop (or an error event); returns the text and the tool calls (name, input).
fn check_grammar(events: &[(String, Value)]) -> (String, Vec<(String, Value)>) {
    assert_eq!(events[0].0, "message_start", "{events:?}");
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0;
    let (mut text, mut tools) = (String::new(), Vec::<(String, String)>::new());
    let mut saw_delta = false;
    for (name, data) in &events[1..] {
        assert_eq!(data["type"], name.as_str(), "data.type names the event");
        match name.as_str() {
            "ping" => {}
            "content_block_start" => {
                assert!(open.is_none(), "a block opened inside another: {events:?}");
                assert_eq!(data["index"], next_index, "blocks are numbered in order");
                let kind = data["content_block"]["type"].as_str().unwrap().to_owned();
                if kind == "tool_use" {
                    tools.push((data["content_block"]["name"].as_str().unwrap().to_owned(), String::new()));
                }
                open = Some((next_index, kind));
                next_index += 1;
            }
            "content_block_delta" => {
                let (index, kind) = open.clone().expect("a delta outside a block");
                assert_eq!(data["index"], index);
                match (kind.as_str(), data["delta"]["type"].as_str().unwrap()) {
                    ("text", "text_delta") => text.push_str(data["delta"]["text"].as_str().unwrap()),
                    ("tool_use", "input_json_delta") => {
                        tools.last_mut().unwrap().1.push_str(data["delta"]["partial_json"].as_str().unwrap())
                    }
                    ("thinking", "thinking_delta" | "signature_delta") => {}
                    other => panic!("delta {other:?} does not fit its block"),
                }
            }
            "content_block_stop" => {
                let (index, _) = open.take().expect("a stop without a block");
                assert_eq!(data["index"], index);
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block still open");
                saw_delta = true;
            }
            "message_stop" => assert!(saw_delta, "message_stop before message_delta"),
            "error" => {}
            other => panic!("unknown event {other}"),
        }
    }
    let last = events.last().unwrap().0.as_str();
    assert!(last == "message_stop" || last == "error", "the stream ends properly: {events:?}");
    let tools = tools.into_iter().map(|(n, j)| (n, serde_json::from_str(&j).unwrap_or(Value::Null))).collect();
    (text, tools)
}

async fn plain_and_streamed(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({ "model": "general", "max_tokens": 1024, "messages": [{ "role": "user", "content": "hi" }] });
    let (status, body) = messages(&world, &request, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["text"], world.reply_text("chat-model", "hi"));
    assert_eq!(body["stop_reason"], "end_turn");
    // 12 prompt tokens of which 4 cached: Anthropic counts them apart.
    assert_eq!(
        body["usage"]["input_tokens"].as_u64().unwrap() + body["usage"]["cache_read_input_tokens"].as_u64().unwrap(),
        12,
        "{body}"
    );
    assert_eq!(body["usage"]["output_tokens"], 7);

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let (status, body) = messages(&world, &streamed, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = events(&body);
    let (text, _) = check_grammar(&events);
    assert_eq!(text, world.reply_text("chat-model", "hi"));
    let delta = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "end_turn");
}

async fn tools_streamed(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({
        "model": "up/tools", "max_tokens": 1024, "stream": true,
        "messages": [{ "role": "user", "content": "weather and time?" }],
        "tools": [
            { "name": "get_weather", "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } },
            { "name": "get_time", "input_schema": { "type": "object", "properties": { "tz": { "type": "string" } } } }
        ]
    });
    let (status, body) = messages(&world, &request, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = events(&body);
    let (_, tools) = check_grammar(&events);
    assert_eq!(
        tools,
        [("get_weather".to_owned(), json!({ "city": "Paris" })), ("get_time".to_owned(), json!({ "tz": "CET" }))]
    );
    let delta = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
}

async fn errors_in_anthropic_shape(kind: FakeKind) {
    let world = World::start(kind).await;
    let request =
        json!({ "model": "up/error-400", "max_tokens": 10, "messages": [{ "role": "user", "content": "hi" }] });
    let (status, body) = messages(&world, &request, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let unauthorized = reqwest::Client::new()
        .post(world.url("/v1/messages"))
        .header("x-api-key", "sb-wrong")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unauthorized.json().await.unwrap();
    assert_eq!((body["type"].as_str(), body["error"]["type"].as_str()), (Some("error"), Some("authentication_error")));

    let (status, body) = messages(&world, &json!({ "model": "general", "max_tokens": 5, "messages": "hi" }), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("\"type\":\"error\"") && body.contains("messages"), "{body}");
}

async fn mid_stream_failure_ends_with_an_error_event(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({ "model": "up/drop-mid-stream", "max_tokens": 10, "stream": true,
        "messages": [{ "role": "user", "content": "hello there friend" }] });
    let (status, body) = messages(&world, &request, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let events = events(&body);
    check_grammar(&events);
    assert_eq!(events.last().unwrap().0, "error", "{events:?}");
}

macro_rules! anthropic_inbound {
    ($($provider:ident => $kind:expr),*) => {$(
        mod $provider {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn plain_and_streamed() { super::plain_and_streamed($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn tools_streamed() { super::tools_streamed($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn errors_in_anthropic_shape() { super::errors_in_anthropic_shape($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mid_stream_failure_ends_with_an_error_event() { super::mid_stream_failure_ends_with_an_error_event($kind).await }
        }
    )*};
}

anthropic_inbound! { openai => FakeKind::OpenAi, anthropic => FakeKind::Anthropic, gemini => FakeKind::Gemini }

/// A Claude Code–shaped request onto an Anthropic upstream: passed through untouched but for the model, with its
/// beta header, unknown fields and cache_control intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_requests_pass_through_to_anthropic() {
    let world = World::start(FakeKind::Anthropic).await;
    let request = json!({
        "model": "general",
        "max_tokens": 32000,
        "stream": true,
        "system": [{ "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } }],
        "messages": [{ "role": "user", "content": [{ "type": "text", "text": "hi", "cache_control": { "type": "ephemeral" } }] }],
        "tools": [{ "name": "Bash", "description": "Run a command", "input_schema": { "type": "object" } }],
        "thinking": { "type": "enabled", "budget_tokens": 4000 },
        "metadata": { "user_id": "user_abc" },
        "context_management": { "edits": [] },
        "output_config": { "effort": "high" }
    });
    let (status, body) = messages(
        &world,
        &request,
        &[("anthropic-beta", "claude-code-20250219,fine-grained-tool-streaming-2025-05-14")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    check_grammar(&events(&body));
    let call = world.upstream_call();
    let mut expected = request.clone();
    expected["model"] = json!("chat-model");
    assert_eq!(call.json.clone().unwrap(), expected, "passthrough keeps every field");
    assert_eq!(call.header("anthropic-beta"), Some("claude-code-20250219,fine-grained-tool-streaming-2025-05-14"));
    assert_eq!(call.header("x-api-key"), Some(FAKE_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_answers_for_every_upstream() {
    for kind in FakeKind::ALL {
        let world = World::start(kind).await;
        let response = reqwest::Client::new()
            .post(world.url("/v1/messages/count_tokens"))
            .header("x-api-key", FAKE_TOKEN)
            .json(
                &json!({ "model": "general", "messages": [{ "role": "user", "content": "how many tokens is this?" }] }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{kind:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body["input_tokens"].as_u64().is_some_and(|n| n > 0), "{kind:?}: {body}");
    }
}

/// An alias's settings reach an Anthropic upstream when an Anthropic client's body is passed through: defaults
/// fill what the client left out, forced values win, and the prefix comes first in `system`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_settings_apply_to_anthropic_passthrough() {
    let fake = e2e::fake::FakeUpstream::start(FakeKind::Anthropic).await;
    let config = format!(
        "[[providers]]\nid = \"up\"\nkind = \"anthropic\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"code\"\ntargets = [\"up/chat-model\"]\nsystem_prefix = \"Answer in code only.\"\n\
         params = {{ temperature = 0.2, top_p = 0.9 }}\nforced_params = {{ max_completion_tokens = 1024 }}\n\
         [[apps]]\nname = \"tests\"\ntoken_env = \"T\"\n",
        fake.api_base()
    );
    let gateway = tokio::task::spawn_blocking(move || {
        e2e::Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]).unwrap()
    })
    .await
    .unwrap();
    let request = json!({
        "model": "code",
        "max_tokens": 32000,
        "top_p": 0.5,
        "system": [{ "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } }],
        "messages": [{ "role": "user", "content": "hi" }]
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", gateway.root()))
        .header("x-api-key", FAKE_TOKEN)
        .header("anthropic-version", "2023-06-01")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let sent = fake.requests().into_iter().find(|r| r.method == "POST").unwrap().json.unwrap();
    assert_eq!(sent["temperature"], 0.2, "a default fills what the client left out");
    assert_eq!(sent["top_p"], 0.5, "the client's own value wins over a default");
    assert_eq!(sent["max_tokens"], 1024, "a forced value wins");
    assert_eq!(
        sent["system"],
        json!([
            { "type": "text", "text": "Answer in code only." },
            { "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } }
        ])
    );
}
