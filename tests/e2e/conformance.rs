//! Every upstream protocol through the same cases, as an OpenAI client sees them: the headless gateway in front of
//! a fake upstream that speaks that provider's real wire format. OpenAI upstreams are passthrough; Anthropic and
//! Gemini are translated. One macro line per provider kind; the cases are plain functions below.

use e2e::fake::{FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The gateway and the fake behind it. The provider is called `up`; `general` is an alias for `up/chat-model`.
pub struct World {
    pub kind: FakeKind,
    pub fake: FakeUpstream,
    pub gateway: Gateway,
    client: reqwest::Client,
}

impl World {
    pub async fn start(kind: FakeKind) -> World {
        let fake = FakeUpstream::start(kind).await;
        let config = format!(
            r#"
            [[providers]]
            id = "up"
            kind = "{}"
            base_url = "{}"
            key_env = "UP_KEY"
            [[aliases]]
            name = "general"
            targets = ["up/chat-model"]
            [[apps]]
            name = "tests"
            token_env = "TESTS_TOKEN"
            "#,
            kind.name(),
            fake.api_base()
        );
        let gateway = tokio::task::spawn_blocking(move || {
            Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("TESTS_TOKEN", FAKE_TOKEN)]).unwrap()
        })
        .await
        .unwrap();
        World { kind, fake, gateway, client: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.root())
    }

    /// POSTs `body` to `path` with the app token; returns status, headers and the body as JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = self.client.post(self.url(path)).bearer_auth(FAKE_TOKEN).json(body).send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, headers, json)
    }

    /// POSTs a streaming chat request; returns each SSE `data:` payload in order.
    pub async fn stream(&self, body: &Value) -> Vec<String> {
        let response =
            self.client.post(self.url("/v1/chat/completions")).bearer_auth(FAKE_TOKEN).json(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let text = response.text().await.unwrap();
        assert!(text.ends_with("\n\n"), "the stream must end on an event boundary: {text:?}");
        text.split("\n\n")
            .filter(|event| !event.trim().is_empty())
            .map(|event| event.lines().filter_map(|line| line.strip_prefix("data: ")).collect::<Vec<_>>().join("\n"))
            .collect()
    }

    /// The one request the fake received for the chat (ignoring model-list calls).
    pub fn upstream_call(&self) -> RecordedRequest {
        let calls: Vec<_> = self.fake.requests().into_iter().filter(|r| r.method == "POST").collect();
        assert_eq!(calls.len(), 1, "expected one upstream call, got {calls:?}");
        calls.into_iter().next().unwrap()
    }

    pub fn reply_text(&self, model: &str, user: &str) -> String {
        format!("Hello from {} {model}: {user}", self.kind.name())
    }
}

fn chat(model: &str, text: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": text }] })
}

/// A stream's chunks, parsed, without the final `[DONE]` (asserted present and last).
fn chunks(events: &[String]) -> Vec<Value> {
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{events:?}");
    assert_eq!(events.iter().filter(|e| *e == "[DONE]").count(), 1, "{events:?}");
    events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect()
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect()
}

fn finish_reasons(chunks: &[Value]) -> Vec<String> {
    chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str().map(str::to_owned)).collect()
}

/// Asserts the upstream got the key in its own header and the model where its protocol puts it.
fn assert_upstream_auth_and_model(kind: FakeKind, call: &RecordedRequest, model: &str) {
    match kind {
        FakeKind::OpenAi => {
            assert_eq!(call.header("authorization"), Some(format!("Bearer {FAKE_KEY}").as_str()));
            assert_eq!(call.json.as_ref().unwrap()["model"], model);
        }
        FakeKind::Anthropic => {
            assert_eq!(call.header("x-api-key"), Some(FAKE_KEY));
            assert!(call.header("anthropic-version").is_some());
            assert_eq!(call.json.as_ref().unwrap()["model"], model);
        }
        FakeKind::Gemini => {
            assert_eq!(call.header("x-goog-api-key"), Some(FAKE_KEY));
            assert!(call.path.contains(&format!("/models/{model}:")), "{}", call.path);
            assert!(!call.path.contains("key="), "the key must never be in the URL: {}", call.path);
        }
    }
    // The client's app token never reaches a provider.
    assert!(!format!("{:?}", call.headers).contains(FAKE_TOKEN));
}

pub async fn plain(kind: FakeKind) {
    let world = World::start(kind).await;
    let (status, _, body) = world.post("/v1/chat/completions", &chat("general", "hi")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["content"], world.reply_text("chat-model", "hi"));
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let usage = &body["usage"];
    assert_eq!((usage["prompt_tokens"].as_u64(), usage["completion_tokens"].as_u64()), (Some(12), Some(7)), "{body}");
    assert_eq!(usage["total_tokens"], 19);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 4);
    assert_upstream_auth_and_model(kind, &world.upstream_call(), "chat-model");
}

pub async fn stream(kind: FakeKind) {
    let world = World::start(kind).await;
    let mut request = chat("up/chat-model", "hi");
    request["stream"] = json!(true);
    let chunks = chunks(&world.stream(&request).await);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant", "{chunks:?}");
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"), "{chunks:?}");
    assert_eq!(streamed_text(&chunks), world.reply_text("chat-model", "hi"));
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    // The client did not ask for usage, so it gets no usage chunk…
    assert!(chunks.iter().all(|c| c["usage"].is_null()), "{chunks:?}");
    // …although the upstream was asked for it, so the gateway can count it.
    if kind == FakeKind::OpenAi {
        assert_eq!(world.upstream_call().json.unwrap()["stream_options"]["include_usage"], true);
    }
}

pub async fn stream_with_usage(kind: FakeKind) {
    let world = World::start(kind).await;
    let mut request = chat("general", "hi");
    request["stream"] = json!(true);
    request["stream_options"] = json!({ "include_usage": true });
    let chunks = chunks(&world.stream(&request).await);
    let usage: Vec<&Value> = chunks.iter().filter(|c| !c["usage"].is_null()).collect();
    assert_eq!(usage.len(), 1, "exactly one usage chunk: {chunks:?}");
    assert_eq!(usage[0]["choices"], json!([]));
    assert_eq!(usage[0]["usage"]["prompt_tokens"], 12);
    assert_eq!(usage[0]["usage"]["completion_tokens"], 7);
    assert_eq!(usage[0]["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    assert!(std::ptr::eq(usage[0], chunks.last().unwrap()), "usage comes last, before [DONE]");
}

pub async fn multi_turn(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({
        "model": "general",
        "messages": [
            { "role": "system", "content": "You are terse." },
            { "role": "user", "content": "first question" },
            { "role": "assistant", "content": "first answer" },
            { "role": "user", "content": "second question" }
        ],
        "temperature": 0.2,
        "x_unknown_field": { "kept": true }
    });
    let (status, _, body) = world.post("/v1/chat/completions", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], world.reply_text("chat-model", "second question"));
    let sent = world.upstream_call().json.unwrap();
    match kind {
        FakeKind::OpenAi => {
            // Passthrough: the very body, unknown fields and all, with only the model rewritten.
            let mut expected = request.clone();
            expected["model"] = json!("chat-model");
            assert_eq!(sent, expected);
        }
        FakeKind::Anthropic => {
            assert!(sent["system"].to_string().contains("You are terse."), "{sent}");
            let roles: Vec<&str> =
                sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
            assert_eq!(roles, ["user", "assistant", "user"]);
            assert_eq!(sent["temperature"], 0.2);
            assert!(sent["max_tokens"].as_u64().is_some_and(|n| n > 0), "Anthropic needs max_tokens: {sent}");
        }
        FakeKind::Gemini => {
            assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "You are terse.");
            let roles: Vec<&str> =
                sent["contents"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
            assert_eq!(roles, ["user", "model", "user"]);
            assert_eq!(sent["generationConfig"]["temperature"], 0.2);
        }
    }
}

pub async fn tools_streamed(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({
        "model": "up/tools",
        "stream": true,
        "messages": [{ "role": "user", "content": "weather and time in Paris?" }],
        "tools": [
            { "type": "function", "function": { "name": "get_weather", "description": "Weather for a city",
              "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } } },
            { "type": "function", "function": { "name": "get_time", "description": "Time in a zone",
              "parameters": { "type": "object", "properties": { "tz": { "type": "string" } } } } }
        ],
        "tool_choice": "auto"
    });
    let chunks = chunks(&world.stream(&request).await);
    // Reassemble the calls as an OpenAI client does: by index, name and id from the first delta, arguments appended.
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in &chunks {
        for delta in chunk["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let index = delta["index"].as_u64().unwrap() as usize;
            if let Some(id) = delta["id"].as_str() {
                assert_eq!(index, calls.len(), "a new call takes the next index: {chunks:?}");
                calls.push((id.to_owned(), delta["function"]["name"].as_str().unwrap().to_owned(), String::new()));
            }
            calls[index].2.push_str(delta["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(calls.len(), 2, "{chunks:?}");
    assert_eq!(calls[0].1, "get_weather");
    assert_eq!(serde_json::from_str::<Value>(&calls[0].2).unwrap(), json!({ "city": "Paris" }));
    assert_eq!(calls[1].1, "get_time");
    assert_eq!(serde_json::from_str::<Value>(&calls[1].2).unwrap(), json!({ "tz": "CET" }));
    assert_ne!(calls[0].0, calls[1].0, "call ids are distinct");
    assert_eq!(finish_reasons(&chunks), ["tool_calls"]);

    let sent = world.upstream_call().json.unwrap();
    match kind {
        FakeKind::OpenAi => assert_eq!(sent["tools"], request["tools"]),
        FakeKind::Anthropic => {
            assert_eq!(sent["tools"][0]["name"], "get_weather");
            assert_eq!(sent["tools"][0]["input_schema"]["required"], json!(["city"]));
        }
        FakeKind::Gemini => {
            assert_eq!(sent["tools"][0]["functionDeclarations"][1]["name"], "get_time");
        }
    }
}

pub async fn tool_results_round_trip(kind: FakeKind) {
    let world = World::start(kind).await;
    let request = json!({
        "model": "general",
        "messages": [
            { "role": "user", "content": "weather in Paris?" },
            { "role": "assistant", "content": null, "tool_calls": [
                { "id": "call_1", "type": "function", "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } }
            ] },
            { "role": "tool", "tool_call_id": "call_1", "content": "18°C and sunny" },
            { "role": "user", "content": "thanks" }
        ],
        "tools": [{ "type": "function", "function": { "name": "get_weather", "parameters": { "type": "object" } } }]
    });
    let (status, _, body) = world.post("/v1/chat/completions", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = world.upstream_call().json.unwrap();
    let sent_text = sent.to_string();
    assert!(sent_text.contains("18°C and sunny"), "the tool result reaches the upstream: {sent}");
    match kind {
        FakeKind::OpenAi => assert_eq!(sent["messages"], request["messages"]),
        FakeKind::Anthropic => {
            assert!(
                sent_text.contains(r#""type":"tool_use""#) && sent_text.contains(r#""type":"tool_result""#),
                "{sent}"
            );
            assert!(sent_text.contains(r#""tool_use_id":"call_1""#), "{sent}");
        }
        FakeKind::Gemini => {
            assert!(sent_text.contains("functionCall") && sent_text.contains("functionResponse"), "{sent}");
            assert!(sent_text.contains(r#""name":"get_weather""#), "the response names its function: {sent}");
        }
    }
}

pub async fn image_input(kind: FakeKind) {
    let world = World::start(kind).await;
    let data = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let request = json!({
        "model": "general",
        "messages": [{ "role": "user", "content": [
            { "type": "text", "text": "what is this?" },
            { "type": "image_url", "image_url": { "url": format!("data:image/png;base64,{data}"), "detail": "low" } }
        ] }]
    });
    let (status, _, body) = world.post("/v1/chat/completions", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = world.upstream_call().json.unwrap();
    match kind {
        FakeKind::OpenAi => assert_eq!(sent["messages"], request["messages"]),
        FakeKind::Anthropic => {
            let image = &sent["messages"][0]["content"][1];
            assert_eq!(image["type"], "image");
            assert_eq!(image["source"], json!({ "type": "base64", "media_type": "image/png", "data": data }));
        }
        FakeKind::Gemini => {
            let image = &sent["contents"][0]["parts"][1];
            assert_eq!(image["inlineData"], json!({ "mimeType": "image/png", "data": data }));
        }
    }
}

pub async fn json_mode(kind: FakeKind) {
    let world = World::start(kind).await;
    let mut request = chat("up/json", "give me json");
    request["response_format"] = json!({ "type": "json_schema", "json_schema": { "name": "ok",
        "schema": { "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] } } });
    let (status, _, body) = world.post("/v1/chat/completions", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(content).unwrap(), json!({ "ok": true }));
    let sent = world.upstream_call().json.unwrap();
    match kind {
        FakeKind::OpenAi => assert_eq!(sent["response_format"], request["response_format"]),
        FakeKind::Anthropic => {
            // Anthropic has no JSON mode in this API: the schema travels as a system instruction.
            let system = sent["system"][0]["text"].as_str().unwrap();
            assert!(system.contains(r#""required":["ok"]"#), "the schema is conveyed: {sent}");
        }
        FakeKind::Gemini => assert_eq!(sent["generationConfig"]["responseMimeType"], "application/json"),
    }
}

pub async fn upstream_errors(kind: FakeKind) {
    let world = World::start(kind).await;
    // The attempts: 5xx and 429 are retried once on the same target, a 400 or garbage are not.
    for (model, status, code, attempts) in [
        ("up/error-500", StatusCode::INTERNAL_SERVER_ERROR, "upstream_error", "2"),
        ("up/error-400", StatusCode::BAD_REQUEST, "upstream_invalid_request", "1"),
        ("up/rate-limit", StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "2"),
        ("up/garbage", StatusCode::BAD_GATEWAY, "upstream_malformed", "1"),
    ] {
        let (got, headers, body) = world.post("/v1/chat/completions", &chat(model, "hi")).await;
        assert_eq!(got, status, "{model}: {body}");
        assert_eq!(body["error"]["code"], code, "{model}: {body}");
        assert_eq!(headers["x-switchboard-attempts"], attempts, "{model}: {body}");
        assert_eq!(headers["x-switchboard-target"], model, "{model}");
        assert_eq!(headers["x-switchboard-alias"], "none", "{model}: addressed directly");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("up "), "the message names the provider: {message}");
        assert!(!message.contains(FAKE_KEY), "{message}");
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(headers["retry-after"], "1", "Retry-After is passed on");
        }
    }
}

pub async fn malformed_stream(kind: FakeKind) {
    let world = World::start(kind).await;
    let mut request = chat("up/malformed-sse", "hi");
    request["stream"] = json!(true);
    let events = world.stream(&request).await;
    let chunks = chunks(&events);
    let error = chunks.last().unwrap();
    assert!(error["error"]["type"].as_str().is_some(), "{events:?}");
    assert!(error["error"]["message"].as_str().unwrap().contains("unreadable"), "{error}");
}

pub async fn upstream_disconnect(kind: FakeKind) {
    let world = World::start(kind).await;
    let mut request = chat("up/drop-mid-stream", "hi there friend");
    request["stream"] = json!(true);
    let events = world.stream(&request).await;
    let chunks = chunks(&events);
    assert!(!streamed_text(&chunks).is_empty(), "what arrived before the drop is kept: {events:?}");
    let last = chunks.last().unwrap();
    assert!(last["error"]["message"].as_str().is_some(), "an in-band error ends the stream: {events:?}");
}

pub async fn wrong_key_is_a_gateway_error(kind: FakeKind) {
    let fake = FakeUpstream::start(kind).await;
    let config = format!(
        "[[providers]]\nid = \"up\"\nkind = \"{}\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[apps]]\nname = \"t\"\ntoken_env = \"T\"\n",
        kind.name(),
        fake.api_base()
    );
    let gateway = tokio::task::spawn_blocking(move || {
        Gateway::start(&config, &[("UP_KEY", "bad-key"), ("T", FAKE_TOKEN)]).unwrap()
    })
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.root()))
        .bearer_auth(FAKE_TOKEN)
        .json(&chat("up/m", "hi"))
        .send()
        .await
        .unwrap();
    // Not a 401: the client's own token was fine; Switchboard's key for the provider was not.
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("check up's key"), "{body}");
}

macro_rules! conformance {
    ($($provider:ident => $kind:expr),* $(,)?) => {$(
        mod $provider {
            use super::*;
            conformance!(@cases $kind; plain, stream, stream_with_usage, multi_turn, tools_streamed,
                tool_results_round_trip, image_input, json_mode, upstream_errors, malformed_stream,
                upstream_disconnect, wrong_key_is_a_gateway_error);
        }
    )*};
    (@cases $kind:expr; $($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            super::$case($kind).await;
        }
    )*};
}

conformance! {
    openai => FakeKind::OpenAi,
    anthropic => FakeKind::Anthropic,
    gemini => FakeKind::Gemini,
}
