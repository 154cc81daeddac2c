use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::prelude::*;

use super::genai::{self, server};
use super::*;
use crate::config::TelemetryConfig;
use crate::protocol::neutral::Usage;

/// Runs `f` with the export layer over an in-memory exporter, and returns the spans it ended.
fn exported(f: impl FnOnce()) -> Vec<SpanData> {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(memory.clone()).build();
    let subscriber = tracing_subscriber::registry().with(export_layer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, f);
    provider.force_flush().unwrap();
    memory.get_finished_spans().unwrap()
}

fn attributes(span: &SpanData) -> BTreeMap<String, String> {
    span.attributes.iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect()
}

fn check(actual: &BTreeMap<String, String>, expect: &[(&str, &str)]) {
    let expect: BTreeMap<String, String> = expect.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(actual, &expect);
}

#[test]
fn a_request_and_its_attempts_become_a_tree_of_genai_spans() {
    let usage = Usage { input: 12, cached_input: 4, output: 7, ..Usage::default() };
    let spans = exported(|| {
        let request = genai::request("chat", "sturdy", "scripts", "openai-chat");
        genai::resolved(&request, Some("sturdy"));
        let first = genai::attempt(&request, "chat", "error-500", "oa", "openai", "http://127.0.0.1:9/v1");
        genai::failed(&first, "upstream_error");
        drop(first);
        let second = genai::attempt(&request, "chat", "claude-x", "an", "anthropic", "https://api.anthropic.com/v1");
        tracing::info!(target: genai::TARGET, prompt = "secret prompt", "an event is never exported");
        tracing::debug_span!("other spans are not exported").in_scope(|| {});
        genai::answered(&request, &second, Some(("an/claude-x", "anthropic")), 2, Some(&usage));
    });
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let (first, second, request) = (&spans[0], &spans[1], &spans[2]);
    assert_eq!(request.name, "chat sturdy");
    assert_eq!(request.span_kind, SpanKind::Server);
    assert_eq!(request.status, Status::Unset);
    check(
        &attributes(request),
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "sturdy"),
            ("gen_ai.response.model", "claude-x"),
            ("gen_ai.provider.name", "anthropic"),
            ("gen_ai.usage.input_tokens", "12"),
            ("gen_ai.usage.output_tokens", "7"),
            ("gen_ai.usage.cache_read.input_tokens", "4"),
            ("gen_ai.usage.cache_creation.input_tokens", "0"),
            ("switchboard.app", "scripts"),
            ("switchboard.alias", "sturdy"),
            ("switchboard.client_protocol", "openai-chat"),
            ("switchboard.target", "an/claude-x"),
            ("switchboard.attempts", "2"),
        ],
    );
    assert_eq!(first.name, "chat error-500");
    assert_eq!(first.span_kind, SpanKind::Client);
    assert!(matches!(first.status, Status::Error { .. }));
    check(
        &attributes(first),
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "error-500"),
            ("gen_ai.provider.name", "openai"),
            ("server.address", "127.0.0.1"),
            ("server.port", "9"),
            ("error.type", "upstream_error"),
            ("switchboard.provider", "oa"),
        ],
    );
    check(
        &attributes(second),
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "claude-x"),
            ("gen_ai.response.model", "claude-x"),
            ("gen_ai.provider.name", "anthropic"),
            ("gen_ai.usage.input_tokens", "12"),
            ("gen_ai.usage.output_tokens", "7"),
            ("server.address", "api.anthropic.com"),
            ("server.port", "443"),
            ("switchboard.provider", "an"),
        ],
    );
    assert!(second.events.is_empty(), "{:?}", second.events);
    let trace = request.span_context.trace_id();
    for attempt in [first, second] {
        assert_eq!(attempt.parent_span_id, request.span_context.span_id());
        assert_eq!(attempt.span_context.trace_id(), trace);
    }
}

/// The client's trace context as headers.
fn trace_headers(pairs: &[(&'static str, &str)]) -> axum::http::HeaderMap {
    pairs.iter().map(|(name, value)| (axum::http::HeaderName::from_static(name), value.parse().unwrap())).collect()
}

#[test]
fn a_clients_traceparent_makes_the_request_span_its_child() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    let traced =
        trace_headers(&[("traceparent", &format!("00-{TRACE}-{PARENT}-01")), ("tracestate", "team=abc,other=1")]);
    let spans = exported(|| {
        let request = genai::request("chat", "general", "scripts", "openai-chat");
        genai::continues(&request, &traced);
        drop(genai::attempt(&request, "chat", "m", "oa", "openai", "http://h/v1"));
    });
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (attempt, request) = (&spans[0], &spans[1]);
    assert_eq!(request.span_context.trace_id().to_string(), TRACE);
    assert_eq!(request.parent_span_id.to_string(), PARENT);
    assert!(request.parent_span_is_remote);
    assert_eq!(request.span_context.trace_state().header(), "team=abc,other=1");
    assert_eq!(attempt.span_context.trace_id().to_string(), TRACE);
    assert_eq!(attempt.parent_span_id, request.span_context.span_id());
}

#[test]
fn a_client_that_did_not_sample_its_trace_is_not_exported() {
    let unsampled = trace_headers(&[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]);
    let spans = exported(|| {
        let request = genai::request("chat", "general", "scripts", "openai-chat");
        genai::continues(&request, &unsampled);
        drop(genai::attempt(&request, "chat", "m", "oa", "openai", "http://h/v1"));
    });
    assert!(spans.is_empty(), "{spans:#?}");
}

#[test]
fn a_missing_or_malformed_traceparent_starts_a_trace_of_its_own() {
    for headers in [
        trace_headers(&[]),
        trace_headers(&[("traceparent", "not-a-traceparent")]),
        trace_headers(&[("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")]),
        trace_headers(&[("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]),
        trace_headers(&[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]),
        trace_headers(&[("tracestate", "team=abc")]),
    ] {
        let spans = exported(|| {
            let request = genai::request("chat", "general", "scripts", "openai-chat");
            genai::continues(&request, &headers);
        });
        assert_eq!(spans.len(), 1, "{headers:?}");
        let request = &spans[0];
        assert!(request.span_context.is_valid(), "{headers:?}");
        assert_eq!(request.parent_span_id, opentelemetry::trace::SpanId::INVALID, "{headers:?}");
        assert_ne!(request.span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}

#[test]
fn a_traceparent_without_export_changes_nothing() {
    use tracing_subscriber::filter::Targets;
    let traced = trace_headers(&[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]);
    // Without export no layer wants the span: it is disabled, and `continues` reads nothing.
    tracing::subscriber::with_default(tracing_subscriber::registry().with(Targets::new()), || {
        let request = genai::request("chat", "general", "scripts", "openai-chat");
        assert!(request.is_disabled());
        genai::continues(&request, &traced);
    });
    // Spans wanted by a log filter alone (no OpenTelemetry layer) have no parent to take: nothing fails.
    let logged = Targets::new().with_target(genai::TARGET, tracing::Level::DEBUG);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(logged), || {
        let request = genai::request("chat", "general", "scripts", "openai-chat");
        assert!(!request.is_disabled());
        genai::continues(&request, &traced);
    });
}

#[test]
fn server_address_and_port_come_from_the_base_url() {
    for (url, address, port) in [
        ("https://api.openai.com/v1", "api.openai.com", Some(443)),
        ("http://127.0.0.1:8090/v1", "127.0.0.1", Some(8090)),
        ("http://localhost:11434", "localhost", Some(11434)),
        ("http://[::1]:1234/v1?x=1", "::1", Some(1234)),
        ("https://[::1]/v1", "::1", Some(443)),
        ("https://user:pass@example.com:8443/v1", "example.com", Some(8443)),
        ("example.com/v1", "example.com", None),
    ] {
        assert_eq!(server(url), (address, port), "{url}");
    }
}

#[test]
fn names_follow_the_conventions() {
    assert_eq!(genai::provider_name("openai-responses"), "openai");
    assert_eq!(genai::provider_name("gemini"), "gcp.gemini");
    assert_eq!(genai::provider_name("openrouter"), "openrouter");
    assert_eq!(genai::operation(crate::providers::Operation::Completions), "text_completion");
    assert_eq!(genai::operation(crate::providers::Operation::Responses), "chat");
    assert_eq!(traces_url("http://collector:4318"), "http://collector:4318/v1/traces");
    assert_eq!(traces_url("https://otel.example/base/"), "https://otel.example/base/v1/traces");
}

#[test]
fn an_exporter_needs_an_endpoint_and_its_header_variables() {
    let none = Exporter::from_config(&TelemetryConfig::default(), |_| None).unwrap();
    assert!(none.is_none());
    let config = TelemetryConfig {
        otlp_endpoint: Some("http://127.0.0.1:9".into()),
        headers_env: [("authorization".to_owned(), "OTLP_AUTH".to_owned())].into(),
        ..TelemetryConfig::default()
    };
    let error = Exporter::from_config(&config, |_| None).err().expect("an unset variable is refused").to_string();
    assert!(error.contains("telemetry.headers_env.authorization names OTLP_AUTH, which is not set"), "{error}");
    let exporter = Exporter::from_config(&config, |_| Some("Bearer x".into())).unwrap();
    assert!(exporter.is_some());
}

#[test]
fn a_dead_collector_does_not_hold_up_the_spans_or_the_stop() {
    // Port 9 (discard) on loopback: nothing listens, every export is refused.
    let config = TelemetryConfig { otlp_endpoint: Some("http://127.0.0.1:9".into()), ..TelemetryConfig::default() };
    let exporter = Exporter::from_config(&config, |_| None).unwrap().unwrap();
    let subscriber = tracing_subscriber::registry().with(export_layer(exporter.tracer()));
    let began = Instant::now();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..5_000 {
            let request = genai::request("chat", "general", "scripts", "openai-chat");
            drop(genai::attempt(&request, "chat", "m", "oa", "openai", "http://h/v1"));
        }
    });
    assert!(began.elapsed() < Duration::from_secs(2), "ending spans took {:?}", began.elapsed());
    let stopping = Instant::now();
    exporter.shutdown();
    assert!(stopping.elapsed() < otlp::SHUTDOWN_TIMEOUT + Duration::from_secs(1), "{:?}", stopping.elapsed());
}
