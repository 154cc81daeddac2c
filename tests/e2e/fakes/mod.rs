//! The fake upstreams themselves, hit directly: if they drift from the providers' wire formats, every gateway test
//! built on them proves less. At least one stream per protocol is compared byte for byte with the documented shape.

use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::FAKE_KEY;
use e2e::fake::{FakeKind, FakeUpstream, RECEIVED_MODEL_HEADER};
use futures_util::StreamExt;
use futures_util::future::join_all;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// A request with the key in the header each provider expects.
pub(super) fn authed(fake: &FakeUpstream, request: RequestBuilder, key: &str) -> RequestBuilder {
    match fake.kind {
        FakeKind::OpenAi => request.bearer_auth(key),
        FakeKind::Anthropic => request.header("x-api-key", key).header("anthropic-version", "2023-06-01"),
        FakeKind::Gemini => request.header("x-goog-api-key", key),
    }
}

/// The provider's own "generate" request for `model`, asking `user_text`.
pub(super) fn generate(fake: &FakeUpstream, model: &str, stream: bool, user_text: &str) -> RequestBuilder {
    authed(fake, generate_without_key(fake, model, stream, user_text), FAKE_KEY)
}

pub(super) fn generate_without_key(fake: &FakeUpstream, model: &str, stream: bool, user_text: &str) -> RequestBuilder {
    let client = reqwest::Client::new();
    match fake.kind {
        FakeKind::OpenAi => client.post(format!("{}/chat/completions", fake.api_base())).json(&json!({
            "model": model,
            "stream": stream,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": user_text}],
        })),
        FakeKind::Anthropic => client.post(format!("{}/v1/messages", fake.api_base())).json(&json!({
            "model": model,
            "max_tokens": 64,
            "stream": stream,
            "messages": [{"role": "user", "content": [{"type": "text", "text": user_text}]}],
        })),
        FakeKind::Gemini => {
            let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
            client
                .post(format!("{}/models/{model}:{method}", fake.api_base()))
                .json(&json!({"contents": [{"role": "user", "parts": [{"text": user_text}]}]}))
        }
    }
}

pub(super) async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

/// SSE events as (event name, data), split on blank lines whether LF or CRLF framed.
pub(super) fn events(body: &str) -> Vec<(Option<String>, String)> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data.push_str(value);
                }
            }
            (name, data)
        })
        .collect()
}

pub(super) fn datas(body: &str) -> Vec<Value> {
    events(body)
        .into_iter()
        .filter(|(_, data)| data != "[DONE]")
        .map(|(_, data)| serde_json::from_str(&data).unwrap())
        .collect()
}

/// Reads a body until it ends, fails, or goes quiet for `quiet`: (text so far, how it stopped).
pub(super) async fn read_until_quiet(response: Response, quiet: Duration) -> (String, &'static str) {
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    loop {
        match tokio::time::timeout(quiet, stream.next()).await {
            Err(_) => return (text, "quiet"),
            Ok(None) => return (text, "ended"),
            Ok(Some(Err(_))) => return (text, "failed"),
            Ok(Some(Ok(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
        }
    }
}

mod anthropic;
mod gemini;
mod openai;

#[tokio::test]
async fn keys_are_checked_the_providers_way() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let bad = authed(&fake, generate_without_key(&fake, "m", false, "hi"), "bad-key");
        let (status, body) = json_of(bad.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind:?}");
        match kind {
            FakeKind::OpenAi => assert_eq!(body["error"]["code"], "invalid_api_key"),
            FakeKind::Anthropic => {
                assert_eq!((&body["type"], &body["error"]["type"]), (&json!("error"), &json!("authentication_error")));
            }
            FakeKind::Gemini => assert_eq!(body["error"]["status"], "UNAUTHENTICATED"),
        }
        let anonymous = reqwest::Client::new().post(format!("{}/anything", fake.base_url)).send().await.unwrap();
        assert!(anonymous.status().is_client_error(), "{kind:?}: {}", anonymous.status());
        assert_eq!(fake.requests().len(), 2, "refused requests are recorded too");
    }
    let fake = FakeUpstream::start(FakeKind::Anthropic).await;
    let unversioned = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url))
        .header("x-api-key", FAKE_KEY)
        .json(&json!({"model": "m", "max_tokens": 1, "messages": []}));
    let (status, body) = json_of(unversioned.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn faults_answer_in_each_providers_error_shape() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        for (model, status) in [("error-500", 500), ("error-400", 400), ("overloaded", 0), ("rate-limit", 429)] {
            let response = generate(&fake, model, true, "hi").send().await.unwrap();
            assert_eq!(response.headers()[RECEIVED_MODEL_HEADER], model);
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let (got, body) = json_of(response).await;
            let expected = match (model, kind) {
                ("overloaded", FakeKind::Anthropic) => 529,
                ("overloaded", _) => 503,
                _ => status,
            };
            assert_eq!(got.as_u16(), expected, "{kind:?} {model}");
            assert_eq!(retry_after.as_deref(), (model == "rate-limit").then_some("1"), "{kind:?} {model}");
            match kind {
                FakeKind::OpenAi => assert!(body["error"]["message"].is_string() && body["error"]["type"].is_string()),
                FakeKind::Anthropic => assert_eq!(body["type"], "error"),
                FakeKind::Gemini => assert_eq!(body["error"]["code"], expected),
            }
            if kind == FakeKind::Anthropic {
                let expected_type = match model {
                    "error-500" => "api_error",
                    "error-400" => "invalid_request_error",
                    "overloaded" => "overloaded_error",
                    _ => "rate_limit_error",
                };
                assert_eq!(body["error"]["type"], expected_type);
            }
        }
        let garbage = generate(&fake, "garbage", false, "hi").send().await.unwrap();
        assert_eq!(garbage.status(), StatusCode::OK);
        assert_eq!(garbage.headers()["content-type"], "application/json");
        assert_eq!(garbage.text().await.unwrap(), "<html>oops</html>");
    }
}

/// The event that says a stream is complete, per protocol.
fn terminator(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::OpenAi => "data: [DONE]",
        FakeKind::Anthropic => "event: message_stop",
        FakeKind::Gemini => "\"finishReason\"",
    }
}

#[tokio::test]
async fn drop_mid_stream_breaks_the_connection_before_the_terminator() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let response = generate(&fake, "drop-mid-stream", true, "hi").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (text, how) = read_until_quiet(response, Duration::from_secs(2)).await;
        assert_eq!(how, "failed", "{kind:?}: {text}");
        assert!(text.contains("Hello ") && text.contains("from "), "{kind:?}: two content chunks arrive first: {text}");
        assert!(!text.contains(terminator(kind)), "{kind:?}: {text}");
    }
}

#[tokio::test]
async fn stall_mid_stream_goes_quiet_after_two_chunks() {
    join_all(FakeKind::ALL.map(|kind| async move {
        let fake = FakeUpstream::start(kind).await;
        let stream = async {
            let response = generate(&fake, "stall-mid-stream", true, "hi").send().await.unwrap();
            let (text, how) = read_until_quiet(response, Duration::from_millis(300)).await;
            assert_eq!(how, "quiet", "{kind:?}: {text}");
            let complete = text.contains("openai ") || text.contains(terminator(kind));
            assert!(text.contains("from ") && !complete, "{kind:?}: {text}");
        };
        let plain = async {
            let plain =
                generate(&fake, "stall-mid-stream", false, "hi").timeout(Duration::from_millis(300)).send().await;
            assert!(plain.unwrap_err().is_timeout(), "{kind:?}");
        };
        tokio::join!(stream, plain);
    }))
    .await;
}

#[tokio::test]
async fn slow_first_byte_holds_the_headers_for_two_seconds() {
    let early = join_all(FakeKind::ALL.map(|kind| async move {
        let fake = FakeUpstream::start(kind).await;
        let early = generate(&fake, "slow-first-byte", true, "hi").timeout(Duration::from_millis(300)).send().await;
        assert!(early.unwrap_err().is_timeout(), "{kind:?}");
    }));
    let late = async {
        let fake = FakeUpstream::start(FakeKind::OpenAi).await;
        let started = std::time::Instant::now();
        let (status, _) = json_of(generate(&fake, "slow-first-byte", false, "hi").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_secs(2));
    };
    tokio::join!(early, late);
}

#[tokio::test]
async fn malformed_sse_puts_a_broken_line_between_good_chunks() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let text = generate(&fake, "malformed-sse", true, "hi").send().await.unwrap().text().await.unwrap();
        let broken = events(&text).iter().position(|(_, data)| data == "{not json").expect("a broken line");
        let good_before = events(&text)[..broken]
            .iter()
            .filter(|(_, data)| serde_json::from_str::<Value>(data).is_ok_and(|d| d.to_string().contains("Hello ")))
            .count();
        assert_eq!(good_before, 1, "{kind:?}: {text}");
        assert!(text.contains(terminator(kind)), "{kind:?}: the rest follows: {text}");
    }
}

#[tokio::test]
async fn fail_mid_stream_ends_with_the_providers_own_error_event() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let response = generate(&fake, "fail-mid-stream", true, "hi").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        let all = events(&text);
        let (name, data) = all.last().expect("events");
        let data: Value = serde_json::from_str(data).unwrap_or_else(|_| panic!("{kind:?}: {text}"));
        match kind {
            FakeKind::Anthropic => assert_eq!((name.as_deref(), &data["type"]), (Some("error"), &json!("error"))),
            FakeKind::OpenAi | FakeKind::Gemini => assert!(data["error"]["message"].is_string(), "{kind:?}: {text}"),
        }
        assert!(text.contains("Hello ") && text.contains("from "), "{kind:?}: two content chunks first: {text}");
        assert!(!text.contains(terminator(kind)), "{kind:?}: {text}");
        // A whole answer is not affected.
        let (status, _) = json_of(generate(&fake, "fail-mid-stream", false, "hi").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{kind:?}");
    }
}

#[tokio::test]
async fn the_binary_serves_one_fake_on_the_port_it_prints() {
    let mut child = e2e::Guarded(
        Command::new(env!("CARGO_BIN_EXE_fake-upstream"))
            .args(["--kind", "gemini"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let response = reqwest::Client::new()
        .get(format!("{base}/v1beta/models"))
        .header("x-goog-api-key", FAKE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        Command::new(env!("CARGO_BIN_EXE_fake-upstream")).args(["--kind", "nope"]).output().unwrap().status.code()
            != Some(0)
    );
}
