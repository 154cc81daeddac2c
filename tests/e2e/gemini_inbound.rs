//! Gemini clients (Gemini CLI, the google-genai SDKs) through `/v1beta/models/{model}:…` and its `/v1` twins, onto
//! every upstream kind: a Gemini upstream by passthrough (the body untouched, the stream relayed byte for byte),
//! OpenAI and Anthropic by translation. Every key form, the JSON-array stream, countTokens, the model list, bad
//! input and a broken stream in Google's shapes, and the ledger row.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

use crate::conformance::World;

/// How a request presents the app token.
#[derive(Clone, Copy, Debug)]
enum Key {
    /// `x-goog-api-key`, as Gemini CLI and the SDKs send it.
    Header,
    /// `?key=`.
    Query,
    Bearer,
    Missing,
    Wrong,
}

async fn send(
    world: &World,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    key: Key,
) -> (StatusCode, String) {
    let mut url = world.url(path);
    if let Key::Query = key {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("key={FAKE_TOKEN}"));
    }
    let mut request = reqwest::Client::new().request(method, url);
    request = match key {
        Key::Header => request.header("x-goog-api-key", FAKE_TOKEN),
        Key::Bearer => request.bearer_auth(FAKE_TOKEN),
        Key::Wrong => request.header("x-goog-api-key", "sb-wrong"),
        Key::Query | Key::Missing => request,
    };
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.timeout(Duration::from_secs(30)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(world: &World, path: &str, body: &Value) -> (StatusCode, String) {
    send(world, reqwest::Method::POST, path, Some(body), Key::Header).await
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn hi() -> Value {
    json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] })
}

/// The `data:` payloads of an SSE body, parsed (Gemini frames events with CRLF, the gateway with LF).
fn sse_chunks(body: &str) -> Vec<Value> {
    let body = body.replace("\r\n", "\n");
    assert!(body.ends_with("\n\n"), "the stream ends on an event boundary: {body:?}");
    body.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            parse(&data.join("\n"))
        })
        .collect()
}

/// Text parts (not thoughts) joined, across chunks.
fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
        .filter(|p| p.get("thought").is_none())
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect()
}

/// A Google-shaped error: `{"error":{"code","message","status"}}`; returns the message.
fn google_error(status: StatusCode, body: &str, want_status: &str) -> String {
    let body = parse(body);
    assert_eq!(body["error"]["code"], status.as_u16(), "{body}");
    assert_eq!(body["error"]["status"], want_status, "{body}");
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("a message: {body}")).to_owned()
}

async fn generate(kind: FakeKind) {
    let world = World::start(kind).await;
    for path in ["/v1beta/models/general:generateContent", "/v1/models/general:generateContent"] {
        let (status, body) = post(&world, path, &hi()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let body = parse(&body);
        assert_eq!(text_of(std::slice::from_ref(&body)), world.reply_text("chat-model", "hi"), "{body}");
        assert_eq!(body["candidates"][0]["finishReason"], "STOP", "{body}");
        assert_eq!(body["candidates"][0]["content"]["role"], "model", "{body}");
        let usage = &body["usageMetadata"];
        assert_eq!(usage["promptTokenCount"], 12, "{body}");
        assert_eq!(usage["candidatesTokenCount"], 7, "{body}");
        assert_eq!(usage["totalTokenCount"], 19, "{body}");
        assert_eq!(usage["cachedContentTokenCount"], 4, "{body}");
    }
    let call = world.fake.requests().into_iter().find(|r| r.method == "POST").unwrap();
    assert!(!format!("{:?}", call.headers).contains(FAKE_TOKEN), "the app token never reaches a provider");
    if kind == FakeKind::Gemini {
        assert_eq!(call.path, "/v1beta/models/chat-model:generateContent", "the model is rewritten in the URL");
        assert_eq!(call.json.clone().unwrap(), hi(), "passthrough keeps the body untouched: no model added");
        assert_eq!(call.header("x-goog-api-key"), Some(FAKE_KEY));
    }
}

async fn stream_sse(kind: FakeKind) {
    let world = World::start(kind).await;
    let (status, body) = post(&world, "/v1beta/models/general:streamGenerateContent?alt=sse", &hi()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chunks = sse_chunks(&body);
    assert!(chunks.len() >= 3, "streamed in pieces: {body}");
    assert_eq!(text_of(&chunks), world.reply_text("chat-model", "hi"));
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP", "{body}");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 7, "{body}");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 19, "{body}");
    assert!(
        chunks[..chunks.len() - 1].iter().all(|c| c["candidates"][0].get("finishReason").is_none()),
        "only the last chunk finishes: {body}"
    );
    if kind == FakeKind::Gemini {
        let call = world.upstream_call();
        assert_eq!(call.path, "/v1beta/models/chat-model:streamGenerateContent?alt=sse");
        assert!(body.contains("\r\n\r\n"), "the fake's own framing, relayed byte for byte: {body:?}");
    }
}

async fn stream_json_array(kind: FakeKind) {
    let world = World::start(kind).await;
    let response = reqwest::Client::new()
        .post(world.url("/v1beta/models/general:streamGenerateContent"))
        .header("x-goog-api-key", FAKE_TOKEN)
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body = response.text().await.unwrap();
    assert!(body.starts_with('[') && body.ends_with(']'), "{body:?}");
    assert!(body.contains("}\r\n,") || body.contains("},\r\n"), "elements separated as Gemini does: {body:?}");
    let chunks: Vec<Value> = serde_json::from_str(&body).unwrap_or_else(|_| panic!("a JSON array: {body}"));
    assert_eq!(text_of(&chunks), world.reply_text("chat-model", "hi"));
    assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP");
    if kind == FakeKind::Gemini {
        assert!(world.upstream_call().path.ends_with("?alt=sse"), "the upstream is always asked for SSE");
    }
}

async fn function_calling(kind: FakeKind) {
    let world = World::start(kind).await;
    let declarations = json!([{ "functionDeclarations": [
        { "name": "get_weather", "parametersJsonSchema": { "type": "object", "properties": { "city": { "type": "string" } } } },
        { "name": "get_time", "parameters": { "type": "OBJECT", "properties": { "tz": { "type": "STRING" } } } }
    ] }, { "googleSearch": {} }]);
    let mut body =
        json!({ "contents": [{ "role": "user", "parts": [{ "text": "weather and time?" }] }], "tools": declarations });
    let (status, text) = post(&world, "/v1beta/models/up/tools:streamGenerateContent?alt=sse", &body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let calls: Vec<Value> = sse_chunks(&text)
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.get("functionCall").cloned())
        .collect();
    assert_eq!(calls.len(), 2, "{text}");
    assert_eq!((calls[0]["name"].as_str(), &calls[0]["args"]), (Some("get_weather"), &json!({ "city": "Paris" })));
    assert_eq!((calls[1]["name"].as_str(), &calls[1]["args"]), (Some("get_time"), &json!({ "tz": "CET" })));
    if kind != FakeKind::Gemini {
        let sent = world.upstream_call().json.unwrap().to_string();
        assert!(sent.contains("get_weather") && sent.contains("get_time"), "declarations translated: {sent}");
        assert!(!sent.contains("googleSearch"), "a built-in tool is dropped where it cannot run: {sent}");
    }

    // The calls answered: the next turn reaches the upstream with both results.
    world.fake.clear_requests();
    let model_turn =
        json!({ "role": "model", "parts": calls.iter().map(|c| json!({ "functionCall": c })).collect::<Vec<_>>() });
    let results = json!({ "role": "user", "parts": [
        { "functionResponse": { "id": calls[0]["id"], "name": "get_weather", "response": { "output": "18°C" } } },
        { "functionResponse": { "id": calls[1]["id"], "name": "get_time", "response": { "output": "14:05" } } }
    ] });
    body["contents"].as_array_mut().unwrap().extend([model_turn, results]);
    let (status, text) = post(&world, "/v1beta/models/general:generateContent", &body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let sent = world.upstream_call().json.unwrap().to_string();
    assert!(sent.contains("18°C") && sent.contains("14:05"), "{sent}");
}

async fn mid_stream_failure_ends_with_an_error_chunk(kind: FakeKind) {
    let world = World::start(kind).await;
    let body = json!({ "contents": [{ "parts": [{ "text": "hello there friend" }] }] });
    let (status, text) = post(&world, "/v1beta/models/up/drop-mid-stream:streamGenerateContent?alt=sse", &body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let chunks = sse_chunks(&text);
    let last = chunks.last().unwrap();
    assert!(last["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "an error chunk ends it: {text}");
    assert_eq!(last["error"]["status"], "UNAVAILABLE", "{text}");
    assert!(!text_of(&chunks).is_empty(), "what came before the break is kept: {text}");

    // The JSON-array framing ends with the error element and closes the array.
    let response = reqwest::Client::new()
        .post(world.url("/v1beta/models/up/drop-mid-stream:streamGenerateContent"))
        .header("x-goog-api-key", FAKE_TOKEN)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let chunks: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a closed JSON array: {text}"));
    assert!(chunks.last().unwrap()["error"].is_object(), "{text}");
}

macro_rules! gemini_inbound {
    ($($provider:ident => $kind:expr),*) => {$(
        mod $provider {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn generate() { super::generate($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stream_sse() { super::stream_sse($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stream_json_array() { super::stream_json_array($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn function_calling() { super::function_calling($kind).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mid_stream_failure_ends_with_an_error_chunk() { super::mid_stream_failure_ends_with_an_error_chunk($kind).await }
        }
    )*};
}

gemini_inbound! { openai => FakeKind::OpenAi, anthropic => FakeKind::Anthropic, gemini => FakeKind::Gemini }

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_form_works_and_a_missing_key_is_googles_401() {
    let world = World::start(FakeKind::OpenAi).await;
    for key in [Key::Header, Key::Query, Key::Bearer] {
        let (status, body) =
            send(&world, reqwest::Method::POST, "/v1beta/models/general:generateContent", Some(&hi()), key).await;
        assert_eq!(status, StatusCode::OK, "{key:?}: {body}");
    }
    for (path, method) in [
        ("/v1beta/models/general:generateContent", reqwest::Method::POST),
        ("/v1/models/general:generateContent", reqwest::Method::POST),
        ("/v1beta/models", reqwest::Method::GET),
        ("/v1beta/no/such/route", reqwest::Method::GET),
    ] {
        for key in [Key::Missing, Key::Wrong] {
            let (status, body) = send(&world, method.clone(), path, Some(&hi()), key).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {key:?}: {body}");
            let message = google_error(status, &body, "UNAUTHENTICATED");
            assert!(message.contains("x-goog-api-key"), "says how to send it: {message}");
        }
    }
    // OpenAI's routes keep OpenAI's 401.
    let (status, body) = send(&world, reqwest::Method::GET, "/v1/models", None, Key::Missing).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(parse(&body)["error"]["type"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_listed_in_googles_shape() {
    let world = World::start(FakeKind::Gemini).await;
    for (path, key) in [("/v1beta/models", Key::Header), ("/v1/models", Key::Header), ("/v1/models", Key::Query)] {
        let (status, body) = send(&world, reqwest::Method::GET, path, None, key).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let body = parse(&body);
        let models = body["models"].as_array().unwrap_or_else(|| panic!("{path}: {body}"));
        let general = models.iter().find(|m| m["name"] == "models/general").unwrap_or_else(|| panic!("{body}"));
        assert_eq!(general["displayName"], "general");
        assert!(general["supportedGenerationMethods"].as_array().unwrap().contains(&json!("generateContent")));
        assert!(models.iter().any(|m| m["name"] == "models/up/chat-model"), "{body}");
    }
    // Without a Gemini key, /v1/models is OpenAI's list as before.
    let (status, body) = send(&world, reqwest::Method::GET, "/v1/models", None, Key::Bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parse(&body)["object"], "list");

    for path in ["/v1beta/models/general", "/v1beta/models/up/chat-model", "/v1/models/general"] {
        let (status, body) = send(&world, reqwest::Method::GET, path, None, Key::Header).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(parse(&body)["name"].as_str().unwrap().starts_with("models/"), "{body}");
    }
    let (status, body) = send(&world, reqwest::Method::GET, "/v1beta/models/nope", None, Key::Header).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    google_error(status, &body, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_is_forwarded_to_gemini_and_estimated_elsewhere() {
    for kind in FakeKind::ALL {
        let world = World::start(kind).await;
        let body = json!({ "contents": [{ "parts": [{ "text": "how many tokens is this sentence?" }] }] });
        let (status, text) = post(&world, "/v1beta/models/general:countTokens", &body).await;
        assert_eq!(status, StatusCode::OK, "{kind:?}: {text}");
        let total = parse(&text)["totalTokens"].as_u64();
        match kind {
            FakeKind::Gemini => {
                assert_eq!(total, Some(12), "the fake's own count: {text}");
                assert_eq!(world.upstream_call().path, "/v1beta/models/chat-model:countTokens");
            }
            _ => assert!(total.is_some_and(|n| n > 0), "{kind:?}: {text}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_googles_errors() {
    let world = World::start(FakeKind::OpenAi).await;
    let (status, body) = post(&world, "/v1beta/models/no-such-alias:generateContent", &hi()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(google_error(status, &body, "NOT_FOUND").contains("general"), "names what exists: {body}");

    let malformed = json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] },
        { "role": "model", "parts": [{ "functionCall": { "name": "f", "args": "not an object" } }] }] });
    let (status, body) = post(&world, "/v1beta/models/general:generateContent", &malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = google_error(status, &body, "INVALID_ARGUMENT");
    assert!(message.contains("args"), "{message}");
    let field = &parse(&body)["error"]["details"][0]["fieldViolations"][0]["field"];
    assert_eq!(field, "contents[1].parts[0].functionCall.args", "{body}");

    let (status, body) = post(&world, "/v1beta/models/general:generateContent", &json!({ "contents": "hi" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(google_error(status, &body, "INVALID_ARGUMENT").contains("contents"), "{body}");

    let (status, body) = post(&world, "/v1beta/models/general:embedContent", &hi()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    google_error(status, &body, "NOT_FOUND");

    let (status, body) =
        send(&world, reqwest::Method::POST, "/v1beta/models/general:generateContent", None, Key::Header).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    google_error(status, &body, "INVALID_ARGUMENT");

    // An upstream failure after fallback, and a cache only Gemini holds, in Google's shape too.
    let (status, body) = post(&world, "/v1beta/models/up/overloaded:generateContent", &hi()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    google_error(status, &body, "UNAVAILABLE");
    let mut cached = hi();
    cached["cachedContent"] = json!("cachedContents/abc");
    let (status, body) = post(&world, "/v1beta/models/general:generateContent", &cached).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(google_error(status, &body, "INVALID_ARGUMENT").contains("kind `gemini`"), "{body}");
}

/// The ledger names the protocol and keeps every kind of token, priced: a Gemini upstream's thoughts and cache
/// (passthrough) and an OpenAI upstream's (translated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_records_gemini_requests() {
    let gemini = FakeUpstream::start(FakeKind::Gemini).await;
    let openai = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = format!(
        "[[providers]]\nid = \"ge\"\nkind = \"gemini\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[apps]]\nname = \"cli\"\ntoken_env = \"T\"\n",
        gemini.api_base(),
        openai.api_base()
    );
    let gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();
    let client = reqwest::Client::new();
    for (model, stream) in [("ge/gemini-2.5-flash+thinking", true), ("oa/gpt-4o-mini+thinking", false)] {
        let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
        let response = client
            .post(format!("{}/v1beta/models/{model}:{method}", gateway.root()))
            .header("x-goog-api-key", FAKE_TOKEN)
            .json(&hi())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{model}");
        let body = response.text().await.unwrap();
        let chunks = if stream { sse_chunks(&body) } else { vec![parse(&body)] };
        assert_eq!(text_of(&chunks), "Answer.", "{model}: {body}");
    }
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let rows = wait_for("two ledger rows", Duration::from_secs(10), || {
        let page = queries::Page { limit: 10, before_id: None };
        let rows = queries::requests(&store, &queries::RequestFilter::default(), page).ok()?;
        (rows.len() == 2).then_some(rows)
    })
    .unwrap();
    for row in &rows {
        assert_eq!(row.client_protocol, "gemini", "{row:?}");
        assert_eq!(row.app_name, "cli");
        assert_eq!(row.status, 200, "{row:?}");
        assert_eq!(
            (row.input_tokens, row.cached_input_tokens, row.output_tokens),
            (Some(12), Some(4), Some(7)),
            "{row:?}"
        );
        assert_eq!(row.reasoning_tokens, Some(3), "the thoughts: {row:?}");
        assert!(row.cost_usd.is_some_and(|c| c > 0.0), "priced: {row:?}");
    }
    assert_eq!(rows.iter().filter(|r| r.stream).count(), 1);
}
