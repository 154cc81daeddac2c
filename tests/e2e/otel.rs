//! OpenTelemetry export from the headless gateway: a tiny OTLP/HTTP collector in the test receives the spans of an
//! answer, a fallback after an upstream 500, a stream and a refused model, flushed by a clean stop (SIGTERM); their
//! GenAI attributes, their tree, token counts and error types are checked, and the provider key, the app token, the
//! prompt and the answer are looked for in every byte received. A client's W3C `traceparent` makes the request span
//! its child; a malformed one is ignored. A collector that is down changes nothing for requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_TOKEN, Gateway, free_port};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{Span, status};
use prost::Message;
use serde_json::json;

/// The provider key: a canary that must never reach the collector.
const CANARY_KEY: &str = "fake-canary-otel-7f3a9c1e5b2d4608";
/// The prompt: the fake echoes it in its answer, so neither may reach the collector.
const PROMPT: &str = "PROMPT-CANARY purple elephants at dawn";
/// The collector's credentials, sent as a header from `headers_env`.
const COLLECTOR_AUTH: &str = "Bearer collector-secret-1234";

/// What the collector received: each export's body and headers.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Received {
    fn all(&self) -> Vec<(HeaderMap, Bytes)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Accepts OTLP/HTTP protobuf on `/v1/traces` at a free port, answering as a collector does (an empty
/// `ExportTraceServiceResponse`).
async fn collector() -> (u16, Received) {
    async fn traces(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> (StatusCode, HeaderMap) {
        received.0.lock().unwrap_or_else(PoisonError::into_inner).push((headers, body));
        let mut answer = HeaderMap::new();
        answer.insert("content-type", "application/x-protobuf".parse().unwrap());
        (StatusCode::OK, answer)
    }
    let received = Received::default();
    let port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let app = axum::Router::new().route("/v1/traces", post(traces)).with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, received)
}

fn config(fake: &FakeUpstream, collector_port: u16) -> String {
    format!(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:{collector_port}\"\nservice_name = \"sb-e2e\"\n\
         headers_env = {{ x-collector-auth = \"COLLECTOR_AUTH\" }}\n\
         [[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[aliases]]\nname = \"sturdy\"\ntargets = [\"oa/error-500\", \"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\n",
        fake.api_base()
    )
}

async fn start(config: String) -> Gateway {
    // Batches every minute: the spans then reach the collector only through the flush of a clean stop.
    let env = [
        ("UP_KEY", CANARY_KEY),
        ("T", FAKE_TOKEN),
        ("COLLECTOR_AUTH", COLLECTOR_AUTH),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ];
    tokio::task::spawn_blocking(move || Gateway::start(&config, &env)).await.unwrap().unwrap()
}

/// Sends `general`, `sturdy` (a 500, then the fallback) and a `general` stream; returns each one's model and its
/// `x-switchboard-attempts`.
async fn send_requests(gateway: &Gateway) -> Vec<(&'static str, usize)> {
    let client = reqwest::Client::new();
    let mut sent = Vec::new();
    for (model, stream) in [("general", false), ("sturdy", false), ("general", true)] {
        let body = json!({ "model": model, "stream": stream, "stream_options": { "include_usage": true },
            "messages": [{ "role": "user", "content": PROMPT }] });
        let body = if stream { body } else { json!({ "model": model, "messages": body["messages"] }) };
        let response = client
            .post(format!("{}/v1/chat/completions", gateway.root()))
            .bearer_auth(FAKE_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{model}");
        let attempts = response.headers()["x-switchboard-attempts"].to_str().unwrap().parse().unwrap();
        let text = response.text().await.unwrap();
        assert!(text.contains("Hello"), "{text}");
        sent.push((model, attempts));
    }
    sent
}

/// SIGTERM, off the test's runtime threads (the collector must keep answering while the gateway flushes).
async fn stop(gateway: Gateway) -> (Gateway, Duration) {
    tokio::task::spawn_blocking(move || {
        let mut gateway = gateway;
        let began = Instant::now();
        let status = gateway.terminate(Duration::from_secs(15)).unwrap();
        assert!(status.success(), "{}", gateway.stderr());
        (gateway, began.elapsed())
    })
    .await
    .unwrap()
}

fn attributes(attributes: &[KeyValue]) -> HashMap<String, String> {
    let text = |value: &Option<AnyValue>| match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    };
    attributes.iter().map(|kv| (kv.key.clone(), text(&kv.value))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_with_genai_attributes_and_nothing_secret() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let (port, received) = collector().await;
    let gateway = start(config(&fake, port)).await;
    let sent = send_requests(&gateway).await;
    // A model nobody configured: refused before any attempt, its span marked with the status.
    let body = json!({ "model": "missing", "messages": [{ "role": "user", "content": PROMPT }] });
    let url = format!("{}/v1/chat/completions", gateway.root());
    let refused = reqwest::Client::new().post(url).bearer_auth(FAKE_TOKEN).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(received.all().is_empty(), "a batch left before the stop");
    let (gateway, _) = stop(gateway).await;

    let exports = received.all();
    assert!(!exports.is_empty(), "nothing was exported: {}", gateway.stderr());
    let mut spans: Vec<Span> = Vec::new();
    for (headers, body) in &exports {
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["x-collector-auth"], COLLECTOR_AUTH);
        let request = ExportTraceServiceRequest::decode(body.as_ref()).expect("an OTLP protobuf body");
        for resource in request.resource_spans {
            let resource_attributes = attributes(&resource.resource.unwrap_or_default().attributes);
            assert_eq!(resource_attributes["service.name"], "sb-e2e");
            spans.extend(resource.scope_spans.into_iter().flat_map(|scope| scope.spans));
        }
        for secret in [CANARY_KEY, FAKE_TOKEN, PROMPT, "purple elephants", "Hello from", COLLECTOR_AUTH] {
            let found = body.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} reached the collector");
        }
    }

    // One server span per request, each the root of its own trace.
    let mut requests: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Server as i32).collect();
    assert_eq!(requests.len(), sent.len() + 1, "{spans:#?}");
    requests.sort_by_key(|s| s.start_time_unix_nano);
    let missing = requests.pop().unwrap();
    assert_eq!(missing.name, "chat missing");
    let a = attributes(&missing.attributes);
    assert_eq!(a["error.type"], "404", "{a:?}");
    assert_eq!(a["gen_ai.request.model"], "missing");
    assert!(!a.contains_key("gen_ai.response.model"), "{a:?}");
    assert_eq!(missing.status.as_ref().map(|s| s.code), Some(status::StatusCode::Error as i32));
    assert!(!spans.iter().any(|s| s.parent_span_id == missing.span_id), "no attempt was made");
    for (span, (model, attempts)) in requests.iter().zip(&sent) {
        assert_eq!(span.name, format!("chat {model}"));
        assert!(span.parent_span_id.is_empty(), "{} is a root", span.name);
        let a = attributes(&span.attributes);
        for (key, value) in [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", model),
            ("gen_ai.response.model", "gpt-4o-mini"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.usage.input_tokens", "12"),
            ("gen_ai.usage.output_tokens", "7"),
            ("gen_ai.usage.cache_read.input_tokens", "4"),
            ("switchboard.app", "scripts"),
            ("switchboard.alias", model),
            ("switchboard.target", "oa/gpt-4o-mini"),
            ("switchboard.attempts", &attempts.to_string()),
        ] {
            assert_eq!(a.get(key).map(String::as_str), Some(value), "{key} of {}: {a:?}", span.name);
        }
        assert!(!a.contains_key("error.type"), "{a:?}");

        // Its attempts: client spans beneath it, the failed ones marked with error.type, the last one answering.
        let mut children: Vec<&Span> =
            spans.iter().filter(|s| s.parent_span_id == span.span_id && s.trace_id == span.trace_id).collect();
        children.sort_by_key(|s| s.start_time_unix_nano);
        assert_eq!(children.len(), *attempts, "{}: {children:#?}", span.name);
        let (last, failed) = children.split_last().unwrap();
        let answering = attributes(&last.attributes);
        assert_eq!(last.kind, SpanKind::Client as i32);
        assert_eq!(last.name, "chat gpt-4o-mini");
        assert_eq!(answering["gen_ai.request.model"], "gpt-4o-mini");
        assert_eq!(answering["gen_ai.usage.output_tokens"], "7");
        assert_eq!(answering["server.address"], "127.0.0.1");
        assert_eq!(answering["server.port"], fake.addr.port().to_string());
        assert!(!answering.contains_key("error.type"), "{answering:?}");
        for attempt in failed {
            let a = attributes(&attempt.attributes);
            assert_eq!(attempt.name, "chat error-500");
            assert_eq!(a["error.type"], "upstream_error");
            assert_eq!(attempt.status.as_ref().map(|s| s.code), Some(status::StatusCode::Error as i32));
            assert!(attempt.end_time_unix_nano <= last.start_time_unix_nano, "attempts do not overlap");
        }
        // The stream's span lasts until its answer has ended; its attempt too.
        assert!(last.end_time_unix_nano <= span.end_time_unix_nano);
    }
    let sturdy = sent.iter().find(|(model, _)| *model == "sturdy").unwrap();
    assert!(sturdy.1 >= 2, "the fallback made at least two attempts: {sent:?}");
    let expected = sent.iter().map(|(_, attempts)| attempts + 1).sum::<usize>() + 1;
    assert_eq!(spans.len(), expected, "no other spans");
}

/// Every span in the collector's exports.
fn spans_in(exports: &[(HeaderMap, Bytes)]) -> Vec<Span> {
    let decode = |body: &Bytes| ExportTraceServiceRequest::decode(body.as_ref()).expect("an OTLP protobuf body");
    let resources = exports.iter().flat_map(|(_, body)| decode(body).resource_spans);
    resources.flat_map(|resource| resource.scope_spans).flat_map(|scope| scope.spans).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_traceparent_makes_the_request_span_its_child() {
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const PARENT: &str = "b7ad6b7169203331";
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let (port, received) = collector().await;
    let gateway = start(config(&fake, port)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", gateway.root());
    let body = json!({ "model": "general", "messages": [{ "role": "user", "content": PROMPT }] });
    let traced = format!("00-{TRACE}-{PARENT}-01");
    // A good one (with a tracestate), then malformed ones: an uppercase trace id, a zero span id, no dashes.
    let malformed = [
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase()),
        format!("00-{TRACE}-0000000000000000-01"),
        "garbage".into(),
    ];
    for traceparent in std::iter::once(&traced).chain(&malformed) {
        let response = client
            .post(&url)
            .bearer_auth(FAKE_TOKEN)
            .header("traceparent", traceparent)
            .header("tracestate", "team=checkout")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{traceparent}");
        assert!(response.text().await.unwrap().contains("Hello"));
    }
    let (gateway, _) = stop(gateway).await;

    let spans = spans_in(&received.all());
    let mut requests: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Server as i32).collect();
    assert_eq!(requests.len(), 1 + malformed.len(), "{}: {spans:#?}", gateway.stderr());
    requests.sort_by_key(|s| s.start_time_unix_nano);
    let (joined, fresh) = requests.split_first().unwrap();
    assert_eq!(hex(&joined.trace_id), TRACE);
    assert_eq!(hex(&joined.parent_span_id), PARENT);
    assert_eq!(joined.trace_state, "team=checkout");
    assert_eq!(joined.name, "chat general");
    let attempt = spans.iter().find(|s| s.parent_span_id == joined.span_id).expect("its attempt");
    assert_eq!(hex(&attempt.trace_id), TRACE);
    let mut trace_ids = Vec::new();
    for span in fresh {
        assert!(span.parent_span_id.is_empty(), "a malformed traceparent makes a root: {span:#?}");
        assert_eq!(span.trace_id.len(), 16);
        assert!(span.trace_id.iter().any(|b| *b != 0), "a valid trace id");
        assert_ne!(hex(&span.trace_id), TRACE);
        assert!(span.trace_state.is_empty(), "a tracestate without its traceparent is dropped");
        trace_ids.push(span.trace_id.clone());
    }
    trace_ids.dedup();
    assert_eq!(trace_ids.len(), malformed.len(), "each a trace of its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_costs_requests_nothing() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    // Nothing listens on this port.
    let gateway = start(config(&fake, free_port())).await;
    let began = Instant::now();
    for _ in 0..3 {
        send_requests(&gateway).await;
    }
    assert!(began.elapsed() < Duration::from_secs(10), "requests took {:?}", began.elapsed());
    let (_, stopping) = stop(gateway).await;
    assert!(stopping < Duration::from_secs(10), "the stop took {stopping:?}");
}
