//! The Responses API as an upstream: clients of every protocol onto a provider of kind `openai-responses`, and
//! Responses clients that never dead-end: a host of kind `openai` without `/responses` has the same attempt
//! translated onto its chat completions, and is remembered so.

use std::time::Duration;

use e2e::fake::{ENCRYPTED_REASONING, FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, wait_for};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter, RequestRow};
use switchboard_gateway::store::Store;

use crate::fakes::{datas, events};

/// A gateway in front of two OpenAI fakes: `nr`, of kind `openai`, at one that has no `/v1/responses`, and `or`, of
/// kind `openai-responses`, at one that has.
struct World {
    missing: FakeUpstream,
    responses: FakeUpstream,
    gateway: Gateway,
    client: reqwest::Client,
}

impl World {
    async fn start() -> World {
        let missing = FakeUpstream::start_without_responses_api().await;
        let responses = FakeUpstream::start(FakeKind::OpenAi).await;
        let config = format!(
            r#"
            [[providers]]
            id = "nr"
            kind = "openai"
            base_url = "{}"
            key_env = "UP_KEY"
            [[providers]]
            id = "or"
            kind = "openai-responses"
            base_url = "{}"
            key_env = "UP_KEY"
            [[apps]]
            name = "tests"
            token_env = "TESTS_TOKEN"
            "#,
            missing.api_base(),
            responses.api_base()
        );
        let gateway = tokio::task::spawn_blocking(move || {
            Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("TESTS_TOKEN", FAKE_TOKEN)]).unwrap()
        })
        .await
        .unwrap();
        World { missing, responses, gateway, client: reqwest::Client::new() }
    }

    /// POSTs `body` to `path` as the client of that route does; returns status, headers and the body as text.
    async fn post(&self, path: &str, body: &Value) -> (StatusCode, HeaderMap, String) {
        let request = self.client.post(format!("{}{path}", self.gateway.root())).json(body);
        let request = if path == "/v1/messages" {
            request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01")
        } else {
            request.bearer_auth(FAKE_TOKEN)
        };
        let response = request.timeout(Duration::from_secs(30)).send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }

    /// The ledger rows for `model` (the upstream model), waiting until there are `count`; newest first.
    fn rows(&self, model: &str, count: usize) -> Vec<RequestRow> {
        let store = Store::open(&self.gateway.data().join(switchboard_gateway::ledger::DATABASE_FILE)).unwrap();
        let filter = RequestFilter { model: Some(model.to_owned()), ..RequestFilter::default() };
        wait_for(&format!("{count} ledger rows for {model}"), Duration::from_secs(10), || {
            let rows = queries::requests(&store, &filter, Page { limit: 20, before_id: None }).ok()?;
            (rows.len() >= count).then_some(rows)
        })
        .unwrap()
    }
}

/// The chat calls a fake received (not model lists).
fn posts(fake: &FakeUpstream) -> Vec<RecordedRequest> {
    fake.requests().into_iter().filter(|r| r.method == "POST").collect()
}

fn paths(requests: &[RecordedRequest]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Codex's own request (`tests/fixtures/clients/codex-responses.json`), aimed at `model`.
fn codex(model: &str, stream: bool) -> Value {
    let path = e2e::package_dir().join("fixtures/clients/codex-responses.json");
    let mut body = json_of(&std::fs::read_to_string(path).unwrap());
    body["model"] = json!(model);
    body["stream"] = json!(stream);
    body
}

/// A Responses stream's events, checked: named like their `type`, numbered from 0, ending on a terminal event.
fn responses_events(text: &str) -> Vec<Value> {
    let all = events(text);
    for (i, (name, data)) in all.iter().enumerate() {
        let data = json_of(data);
        assert_eq!(data["type"], name.as_deref().unwrap_or_default(), "{text}");
        assert_eq!(data["sequence_number"], i, "{text}");
    }
    let last = all.last().and_then(|(name, _)| name.clone()).unwrap_or_default();
    assert!(["response.completed", "response.incomplete", "response.failed"].contains(&last.as_str()), "{text}");
    datas(text)
}

/// Usage as the ledger has it: (input, cached, output, reasoning).
fn ledger_usage(row: &RequestRow) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
    (row.input_tokens, row.cached_input_tokens, row.output_tokens, row.reasoning_tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_onto_a_host_without_responses_is_translated_and_remembered() {
    let world = World::start().await;
    let (status, headers, text) = world.post("/v1/responses", &codex("nr/gpt-4o-mini", false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json_of(&text);
    assert_eq!((body["object"].as_str(), body["status"].as_str()), (Some("response"), Some("completed")), "{text}");
    assert_eq!(body["usage"]["input_tokens"], 12, "{text}");
    assert_eq!(headers["x-switchboard-attempts"], "2", "one translated attempt after the 404");
    assert_eq!(paths(&posts(&world.missing)), ["/v1/responses", "/v1/chat/completions"]);
    let translated = posts(&world.missing)[1].json.clone().unwrap();
    assert!(translated["messages"].to_string().contains("You are Codex"), "{translated}");
    let log = world.gateway.stderr();
    assert!(log.contains("no Responses API at nr (404): translating onto chat completions"), "{log}");
    let rows = world.rows("gpt-4o-mini", 1);
    let results: Vec<&str> = rows[0].attempts.iter().map(|a| a.result.as_str()).collect();
    assert_eq!(results, ["no Responses API at nr (404): translated onto chat completions", "ok"], "{rows:?}");
    assert_eq!((rows[0].status, rows[0].provider_id.as_deref()), (200, Some("nr")));
    assert_eq!(ledger_usage(&rows[0]), (Some(12), Some(4), Some(7), Some(0)));

    // The next request, streamed, goes straight to chat completions: the fake sees no second 404.
    let (status, headers, text) = world.post("/v1/responses", &codex("nr/gpt-4o-mini", true)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["x-switchboard-attempts"], "1");
    let streamed = responses_events(&text);
    let said: String = streamed
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_owned())
        .collect();
    assert!(said.starts_with("Hello from openai gpt-4o-mini"), "{text}");
    assert_eq!(streamed.last().unwrap()["response"]["usage"]["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(paths(&posts(&world.missing)), ["/v1/responses", "/v1/chat/completions", "/v1/chat/completions"]);
    let rows = world.rows("gpt-4o-mini", 2);
    assert_eq!(rows[0].attempts.len(), 1, "{rows:?}");
    assert!(rows[0].stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_turns_onto_such_a_host_keep_a_clear_400() {
    let world = World::start().await;
    let mut body = codex("nr/gpt-4o-mini", true);
    body["previous_response_id"] = json!("resp_earlier");
    for round in 0..2 {
        let (status, _, text) = world.post("/v1/responses", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let error = json_of(&text);
        assert_eq!(error["error"]["param"], "previous_response_id", "{text}");
        assert_eq!(error["error"]["code"], "needs_openai_upstream", "{text}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("nr has no Responses API") && message.contains("resend the whole conversation"));
        assert!(!message.contains("attempts"), "one attempt, told once: {message}");
        // The first time the host is asked and answers 404; after that it is known and not asked at all.
        assert_eq!(paths(&posts(&world.missing)), ["/v1/responses"], "round {round}");
    }
    let rows = world.rows("gpt-4o-mini", 2);
    assert!(rows.iter().all(|row| row.status == 400 && row.attempts.len() == 1), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_clients_onto_openai_responses() {
    let world = World::start().await;
    let model = "gpt-5-mini+thinking";
    let ask = |stream: bool| {
        json!({ "model": format!("or/{model}"), "stream": stream, "reasoning_effort": "low",
            "messages": [{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "hi" }] })
    };
    let (status, _, text) = world.post("/v1/chat/completions", &ask(false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json_of(&text);
    let message = &body["choices"][0]["message"];
    assert_eq!(
        (message["content"].as_str(), message["reasoning_content"].as_str()),
        (Some("Answer."), Some("Let me think."))
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let usage = &body["usage"];
    assert_eq!((&usage["prompt_tokens"], &usage["completion_tokens"]), (&json!(12), &json!(7)), "{text}");
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 4);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 3);

    let sent = posts(&world.responses);
    assert_eq!(paths(&sent), ["/v1/responses"]);
    let sent = sent[0].json.clone().unwrap();
    assert_eq!(sent["instructions"], "Be brief.");
    assert_eq!(
        sent["input"],
        json!([{ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "hi" }] }])
    );
    assert_eq!((&sent["reasoning"], &sent["store"]), (&json!({ "effort": "low", "summary": "auto" }), &json!(false)));
    assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));

    let (status, _, text) = world.post("/v1/chat/completions", &ask(true)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let chunks = datas(&text);
    assert_eq!(events(&text).last().unwrap().1, "[DONE]");
    let field =
        |key: &str| -> String { chunks.iter().filter_map(|c| c["choices"][0]["delta"][key].as_str()).collect() };
    assert_eq!((field("reasoning_content"), field("content")), ("Let me think.".to_owned(), "Answer.".to_owned()));

    let rows = world.rows(model, 2);
    for row in &rows {
        assert_eq!((row.status, row.provider_id.as_deref(), row.error.as_deref()), (200, Some("or"), None), "{row:?}");
        assert_eq!(ledger_usage(row), (Some(12), Some(4), Some(7), Some(3)), "{row:?}");
        assert_eq!(row.cost_source.as_deref(), Some("prices"), "priced as OpenAI: {row:?}");
    }

    // Tools: function tools go as Responses function tools, calls come back as chat tool calls.
    let tools = json!({ "model": "or/tools", "stream": true, "messages": [{ "role": "user", "content": "weather?" }],
        "tools": [{ "type": "function", "function": { "name": "get_weather", "parameters": { "type": "object" } } }] });
    let (status, _, text) = world.post("/v1/chat/completions", &tools).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let chunks = datas(&text);
    let names: Vec<&str> =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"].as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time"], "{text}");
    let arguments: String = chunks
        .iter()
        .filter(|c| c["choices"][0]["delta"]["tool_calls"][0]["index"] == 0)
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);
    assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "tool_calls"), "{text}");
    let sent = posts(&world.responses).pop().unwrap().json.unwrap();
    assert_eq!(
        sent["tools"],
        json!([{ "type": "function", "name": "get_weather", "parameters": { "type": "object" }, "strict": false }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_clients_onto_openai_responses_keep_openai_s_reasoning() {
    let world = World::start().await;
    let model = "gpt-5+thinking";
    let ask = |stream: bool| {
        json!({ "model": format!("or/{model}"), "max_tokens": 2048, "stream": stream,
            "thinking": { "type": "enabled", "budget_tokens": 1024 },
            "messages": [{ "role": "user", "content": "hi" }] })
    };
    let (status, _, text) = world.post("/v1/messages", &ask(false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json_of(&text);
    let signature = format!("openai:{ENCRYPTED_REASONING}");
    assert_eq!(
        body["content"],
        json!([
            { "type": "thinking", "thinking": "Let me think.", "signature": signature },
            { "type": "text", "text": "Answer." }
        ]),
        "{text}"
    );
    assert_eq!(body["stop_reason"], "end_turn");
    let usage = &body["usage"];
    assert_eq!(
        (&usage["input_tokens"], &usage["cache_read_input_tokens"], &usage["output_tokens"]),
        (&json!(8), &json!(4), &json!(7))
    );
    assert_eq!(posts(&world.responses)[0].json.as_ref().unwrap()["reasoning"]["effort"], "minimal");

    let (status, _, text) = world.post("/v1/messages", &ask(true)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let streamed = datas(&text);
    let delta = |kind: &str, key: &str| -> String {
        streamed.iter().filter(|e| e["delta"]["type"] == kind).filter_map(|e| e["delta"][key].as_str()).collect()
    };
    assert_eq!(delta("thinking_delta", "thinking"), "Let me think.");
    assert_eq!(delta("signature_delta", "signature"), signature);
    assert_eq!(delta("text_delta", "text"), "Answer.");
    assert_eq!(events(&text).last().unwrap().0.as_deref(), Some("message_stop"));

    // The next turn hands the thinking back: OpenAI gets its own encrypted reasoning, without an id.
    let next = json!({ "model": format!("or/{model}"), "max_tokens": 2048,
        "thinking": { "type": "enabled", "budget_tokens": 1024 },
        "messages": [{ "role": "user", "content": "hi" }, { "role": "assistant", "content": body["content"] },
            { "role": "user", "content": "and?" }] });
    let (status, _, text) = world.post("/v1/messages", &next).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let sent = posts(&world.responses).pop().unwrap().json.unwrap();
    assert_eq!(
        sent["input"][1],
        json!({ "type": "reasoning", "summary": [{ "type": "summary_text", "text": "Let me think." }],
            "encrypted_content": ENCRYPTED_REASONING })
    );
    assert_eq!(sent["input"][2]["content"][0], json!({ "type": "output_text", "text": "Answer." }));

    let rows = world.rows(model, 3);
    assert!(rows.iter().all(|r| ledger_usage(r) == (Some(12), Some(4), Some(7), Some(3))), "{rows:?}");

    // Tool use, whole.
    let tools = json!({ "model": "or/tools", "max_tokens": 256, "messages": [{ "role": "user", "content": "go" }],
        "tools": [{ "name": "get_weather", "input_schema": { "type": "object" } }] });
    let (status, _, text) = world.post("/v1/messages", &tools).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let body = json_of(&text);
    assert_eq!(body["stop_reason"], "tool_use", "{text}");
    assert_eq!(
        body["content"][0],
        json!({ "type": "tool_use", "id": "call_1", "name": "get_weather", "input": { "city": "Paris" } })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_clients_pass_through_to_openai_responses_byte_for_byte() {
    let world = World::start().await;
    for stream in [true, false] {
        let (status, _, through) = world.post("/v1/responses", &codex("or/thinking", stream)).await;
        assert_eq!(status, StatusCode::OK, "{through}");
        let sent = posts(&world.responses).pop().unwrap();
        assert_eq!(sent.path, "/v1/responses");
        assert_eq!(sent.json.clone().unwrap(), codex("thinking", stream), "only the model rewritten");
        // The same body straight to the fake: the same bytes.
        let direct = reqwest::Client::new()
            .post(format!("{}/responses", world.responses.api_base()))
            .bearer_auth(FAKE_KEY)
            .body(sent.text)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(through, direct, "stream: {stream}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_response_mid_stream_ends_each_client_s_stream_in_band() {
    let world = World::start().await;
    let model = "fail-mid-stream";
    let chat =
        json!({ "model": format!("or/{model}"), "stream": true, "messages": [{ "role": "user", "content": "hi" }] });
    let (status, _, text) = world.post("/v1/chat/completions", &chat).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let all = events(&text);
    assert_eq!(all.last().unwrap().1, "[DONE]", "{text}");
    let error = json_of(&all[all.len() - 2].1);
    assert_eq!(error["error"]["message"], "The model had an error while generating.", "{text}");

    let messages = json!({ "model": format!("or/{model}"), "max_tokens": 64, "stream": true,
        "messages": [{ "role": "user", "content": "hi" }] });
    let (status, _, text) = world.post("/v1/messages", &messages).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (name, data) = events(&text).pop().unwrap();
    assert_eq!(name.as_deref(), Some("error"), "{text}");
    assert_eq!(json_of(&data)["error"]["message"], "The model had an error while generating.");
    assert!(text.contains("Hello "), "what came before the failure arrived: {text}");

    // A Responses client gets the upstream's own `response.failed`, passed through.
    let (status, _, text) = world.post("/v1/responses", &codex(&format!("or/{model}"), true)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(responses_events(&text).last().unwrap()["type"], "response.failed");

    let rows = world.rows(model, 3);
    for row in &rows {
        assert_eq!(row.error.as_deref(), Some("The model had an error while generating."), "{row:?}");
        assert_eq!(row.input_tokens, Some(12), "the failed response's usage is recorded: {row:?}");
    }
}
