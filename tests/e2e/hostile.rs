//! The hostile input table: each inbound route (`/v1/chat/completions`, `/v1/messages`, `/v1/responses`, Gemini's
//! `/v1beta/models/{model}:generateContent`) meets
//! malformed JSON, wrong types, huge numbers, deep nesting, invalid UTF-8 and a 10,000-message history; each case
//! gets its status and an error body in the route's shape that says what is wrong, and a normal request from another
//! client succeeds right after. A slow-drip body (408) and a head dripped line by line then flooded (431) are held
//! open while other clients are served. Oversized bodies are `inbound::an_oversized_body_is_a_413…`; header floods
//! on their own are `guards::header_floods_get_a_431…`.

use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";
const RESPONSES: &str = "/v1/responses";
const GEMINI: &str = "/v1beta/models/general:generateContent";
const ROUTES: [&str; 4] = [CHAT, MESSAGES, RESPONSES, GEMINI];
/// The gateway under test gives a body this long to arrive.
const BODY_TIMEOUT_SECS: u64 = 2;

struct World {
    _fake: FakeUpstream,
    gateway: Gateway,
    client: reqwest::Client,
}

impl World {
    async fn start() -> World {
        let fake = FakeUpstream::start(FakeKind::OpenAi).await;
        let config = format!(
            r#"
            [server]
            body_timeout_secs = {BODY_TIMEOUT_SECS}
            [[providers]]
            id = "up"
            kind = "openai"
            base_url = "{}"
            key_env = "UP_KEY"
            [[aliases]]
            name = "general"
            targets = ["up/chat-model"]
            [[apps]]
            name = "tests"
            token_env = "TESTS_TOKEN"
            "#,
            fake.api_base()
        );
        let gateway = tokio::task::spawn_blocking(move || {
            Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("TESTS_TOKEN", FAKE_TOKEN)]).unwrap()
        })
        .await
        .unwrap();
        World { _fake: fake, gateway, client: reqwest::Client::new() }
    }

    async fn post(&self, route: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{route}", self.gateway.root()))
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

    /// A normal request from a fresh client (its own connection) succeeds.
    async fn still_serves(&self, route: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}{route}", self.gateway.root()))
            .bearer_auth(FAKE_TOKEN)
            .json(&valid(route, messages(1)))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, StatusCode::OK, "{route}: {}", response.text().await.unwrap());
    }
}

fn messages(count: usize) -> Vec<Value> {
    (0..count).map(|i| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": "hi"})).collect()
}

/// A request the route accepts, with `history` as its conversation.
fn valid(route: &str, history: Vec<Value>) -> Value {
    match route {
        CHAT => json!({"model": "general", "messages": history}),
        MESSAGES => json!({"model": "general", "max_tokens": 64, "messages": history}),
        // Gemini's model is in the path.
        GEMINI => {
            let contents: Vec<Value> = history
                .iter()
                .map(|m| {
                    let role = if m["role"] == "assistant" { "model" } else { "user" };
                    json!({"role": role, "parts": [{"text": m["content"]}]})
                })
                .collect();
            json!({"contents": contents})
        }
        _ => json!({"model": "general", "input": history}),
    }
}

/// `valid(route)` with `field` (a dotted path) set to `value` (as raw JSON text).
fn with(route: &str, field: &str, value: &str) -> Vec<u8> {
    let mut body = valid(route, messages(1));
    let mut slot = &mut body;
    for key in field.split('.') {
        slot = &mut slot[key];
    }
    *slot = json!("__HOLE__");
    body.to_string().replace("\"__HOLE__\"", value).into_bytes()
}

/// The route's error shape: OpenAI's `{"error":{message,type}}`, Anthropic's `{"type":"error","error":{…}}` on
/// `/v1/messages`, or Google's `{"error":{code,message,status}}` on Gemini's. Returns the message.
fn error_message<'a>(route: &str, body: &'a Value) -> &'a str {
    if route == MESSAGES {
        assert_eq!(body["type"], "error", "{body}");
    }
    if route == GEMINI {
        assert!(body["error"]["code"].is_u64() && body["error"]["status"].is_string(), "{route}: {body}");
    } else {
        assert!(body["error"]["type"].as_str().is_some_and(|t| !t.is_empty()), "{route}: {body}");
    }
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("{route}: no message in {body}"))
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    /// Words the error message must contain.
    says: &'static str,
}

fn cases(route: &'static str) -> Vec<Case> {
    let list_field = match route {
        RESPONSES => "input",
        GEMINI => "contents",
        _ => "messages",
    };
    let max_field = match route {
        RESPONSES => "max_output_tokens",
        GEMINI => "generationConfig.maxOutputTokens",
        _ => "max_tokens",
    };
    let max_name = max_field.rsplit('.').next().unwrap_or(max_field);
    // Gemini has neither a body `model` to check the generic way nor a `stream` field (both are in the path).
    let (model_says, flag, flag_value, flag_says) = match route {
        GEMINI => ("`model` must be", "generationConfig", "\"yes\"", "generationConfig"),
        _ => ("model must be", "stream", "\"yes\"", "stream must be"),
    };
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut invalid_utf8 = br#"{"model":"general","max_tokens":64,"messages":[{"role":"user","content":"hi "#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(br#""}],"input":"x"}"#);
    vec![
        Case {
            name: "truncated JSON",
            body: br#"{"model":"general","#.to_vec(),
            status: StatusCode::BAD_REQUEST,
            says: "not valid JSON",
        },
        Case {
            name: "not an object",
            body: b"\"hello\"".to_vec(),
            status: StatusCode::BAD_REQUEST,
            says: "JSON object",
        },
        Case { name: "empty body", body: Vec::new(), status: StatusCode::BAD_REQUEST, says: "not valid JSON" },
        Case {
            name: "model is a number",
            body: with(route, "model", "42"),
            status: StatusCode::BAD_REQUEST,
            says: model_says,
        },
        Case {
            name: "a flag object is a string",
            body: with(route, flag, flag_value),
            status: StatusCode::BAD_REQUEST,
            says: flag_says,
        },
        Case {
            name: "conversation is a number",
            body: with(route, list_field, "5"),
            status: StatusCode::BAD_REQUEST,
            says: list_field,
        },
        Case {
            name: "a message is a number",
            body: with(route, list_field, "[5]"),
            status: StatusCode::BAD_REQUEST,
            says: list_field,
        },
        Case {
            name: "max_tokens beyond f64",
            body: with(route, max_field, "1e400"),
            status: StatusCode::BAD_REQUEST,
            says: "number out of range",
        },
        Case {
            name: "max_tokens beyond u64",
            body: with(route, max_field, "340282366920938463463374607431768211456"),
            status: StatusCode::BAD_REQUEST,
            says: max_name,
        },
        Case {
            name: "max_tokens below zero",
            body: with(route, max_field, "-1"),
            status: StatusCode::BAD_REQUEST,
            says: max_name,
        },
        Case {
            name: "max_tokens is a fraction",
            body: with(route, max_field, "0.5"),
            status: StatusCode::BAD_REQUEST,
            says: max_name,
        },
        Case {
            name: "10,000 levels of nesting",
            body: with(route, "metadata", &deep),
            status: StatusCode::BAD_REQUEST,
            says: "recursion limit",
        },
        Case { name: "invalid UTF-8", body: invalid_utf8, status: StatusCode::BAD_REQUEST, says: "not valid JSON" },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_body_gets_a_clear_4xx_and_others_are_still_served() {
    let world = World::start().await;
    let mut failures = Vec::new();
    for route in ROUTES {
        for case in cases(route) {
            let (status, body) = world.post(route, case.body).await;
            if status.is_success() {
                failures.push(format!("{route} {}: accepted with {status}", case.name));
                continue;
            }
            let message = error_message(route, &body);
            if status != case.status || !message.contains(case.says) {
                failures.push(format!(
                    "{route} {}: got {status} {message:?}, want {} saying {:?}",
                    case.name, case.status, case.says
                ));
            }
            world.still_serves(route).await;
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_message_history_is_served() {
    let world = World::start().await;
    for route in ROUTES {
        let body = serde_json::to_vec(&valid(route, messages(10_001))).unwrap();
        let (status, body) = world.post(route, body).await;
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
    }
}

/// Sends a request head for `route` with a 1,000-byte body, then the body one byte every 100 ms.
async fn drip_body(root_port: u16, route: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", root_port)).await.unwrap();
    let head = format!(
        "POST {route} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {FAKE_TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let dripper = tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // The answer ends when the server closes the connection (it cannot reuse one whose body it never read).
    let deadline = Duration::from_secs(BODY_TIMEOUT_SECS + 10);
    let _ = tokio::time::timeout(deadline, async {
        loop {
            match read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    dripper.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_body_times_out_with_a_408_while_others_are_served() {
    let world = World::start().await;
    for route in ROUTES {
        let started = std::time::Instant::now();
        let hostile = tokio::spawn(drip_body(world.gateway.port, route));
        // While the body drips, others get answers.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            world.still_serves(route).await;
        }
        let answer = hostile.await.unwrap();
        let elapsed = started.elapsed();
        assert!(answer.starts_with("HTTP/1.1 408"), "{route}: {answer}");
        assert!(answer.contains("did not arrive within 2 s"), "{route}: {answer}");
        if route == MESSAGES {
            assert!(answer.contains(r#""type":"error""#), "{answer}");
        }
        assert!(elapsed < Duration::from_secs(BODY_TIMEOUT_SECS + 3), "{route}: the 408 took {elapsed:?}");
        world.still_serves(route).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_flood_dripped_line_by_line_gets_a_431_while_others_are_served() {
    let world = World::start().await;
    let mut stream = TcpStream::connect(("127.0.0.1", world.gateway.port)).await.unwrap();
    stream.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n").await.unwrap();
    // 20 fields of 4 KiB (80 KiB, over our 64 KiB bound), one every 50 ms, served around.
    let big = "v".repeat(4096);
    for i in 0..20 {
        stream.write_all(format!("x-flood-{i}: {big}\r\n").as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        if i % 5 == 0 {
            world.still_serves(CHAT).await;
        }
    }
    stream.write_all(b"connection: close\r\ncontent-length: 2\r\n\r\n{}").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains("headers_too_large") || !answer.contains('{'), "{answer}");
    world.still_serves(CHAT).await;
    world.still_serves(MESSAGES).await;
}
