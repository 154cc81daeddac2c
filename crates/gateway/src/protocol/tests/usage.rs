//! Usage across the spokes (docs/ACCOUNTING.md): each provider's fields read into the neutral counts, every token
//! once, and the neutral counts written back in each client protocol's own fields.

use serde_json::{Value, json};

use super::neutral::{ChatResponse, Choice, Part, StopReason, StreamEvent, Usage};
use super::{SseEvent, anthropic, gemini, openai_chat, responses};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    OpenAiChat,
    Anthropic,
    Responses,
    Gemini,
}

/// A `usage` object (Gemini's `usageMetadata`) as the relay reads it, whole body or stream alike.
fn read(wire: Wire, usage: &Value) -> Option<(Usage, Option<f64>)> {
    match wire {
        Wire::OpenAiChat => openai_chat::usage_of(usage),
        Wire::Anthropic => anthropic::usage_of(usage).map(|u| (u, None)),
        Wire::Responses => responses::usage_of(usage).map(|u| (u, None)),
        Wire::Gemini => usage.is_object().then(|| (gemini::decode_usage(usage), None)),
    }
}

fn counts(input: u64, cached_input: u64, cache_write: u64, cache_write_1h: u64, output: u64, reasoning: u64) -> Usage {
    Usage { input, cached_input, cache_write, cache_write_1h, output, reasoning }
}

#[test]
fn every_providers_fields_become_the_same_counts() {
    let check = |wire: Wire, usage: Value, want: Option<(Usage, Option<f64>)>| {
        assert_eq!(read(wire, &usage), want, "{wire:?}: {usage}");
    };
    let plain = |usage| Some((usage, None));
    // 2000 prompt tokens of which 500 read from the cache, 400 out of which 150 reasoning, as each reports them.
    let m = counts(2000, 500, 0, 0, 400, 150);
    check(
        Wire::OpenAiChat,
        json!({"prompt_tokens": 2000, "completion_tokens": 400, "total_tokens": 2400,
            "prompt_tokens_details": {"cached_tokens": 500, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 150, "audio_tokens": 0}}),
        plain(m),
    );
    check(
        Wire::Responses,
        json!({"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 500}, "output_tokens": 400,
            "output_tokens_details": {"reasoning_tokens": 150}, "total_tokens": 2400}),
        plain(m),
    );
    // Gemini leaves the thoughts out of the candidates, and counts built-in tools' prompts apart.
    check(
        Wire::Gemini,
        json!({"promptTokenCount": 1990, "toolUsePromptTokenCount": 10, "cachedContentTokenCount": 500,
            "candidatesTokenCount": 250, "thoughtsTokenCount": 150, "totalTokenCount": 2400}),
        plain(m),
    );
    // DeepSeek: hits and misses at the top level, adding up to `prompt_tokens`, or standing in for it.
    check(
        Wire::OpenAiChat,
        json!({"prompt_tokens": 2000, "prompt_cache_hit_tokens": 500, "prompt_cache_miss_tokens": 1500,
            "completion_tokens": 400, "completion_tokens_details": {"reasoning_tokens": 150}}),
        plain(m),
    );
    check(
        Wire::OpenAiChat,
        json!({"prompt_cache_hit_tokens": 500, "prompt_cache_miss_tokens": 1500, "completion_tokens": 4}),
        plain(counts(2000, 500, 0, 0, 4, 0)),
    );
    // OpenAI's detail wins over DeepSeek's field when a host sends both.
    check(
        Wire::OpenAiChat,
        json!({"prompt_tokens": 20, "prompt_cache_hit_tokens": 5, "prompt_tokens_details": {"cached_tokens": 6}}),
        plain(counts(20, 6, 0, 0, 0, 0)),
    );
    // OpenRouter: its cache writes inside the prompt, and what it charged.
    check(
        Wire::OpenAiChat,
        json!({"prompt_tokens": 2000, "completion_tokens": 400, "cost": 1.2345,
            "cost_details": {"upstream_inference_cost": null},
            "prompt_tokens_details": {"cached_tokens": 500, "cache_write_tokens": 300},
            "completion_tokens_details": {"reasoning_tokens": 150}}),
        Some((counts(2000, 500, 300, 0, 400, 150), Some(1.2345))),
    );
    // Moonshot: cached tokens at the top level.
    check(
        Wire::OpenAiChat,
        json!({"prompt_tokens": 30, "completion_tokens": 3, "cached_tokens": 10}),
        plain(counts(30, 10, 0, 0, 3, 0)),
    );
    // Anthropic leaves reads and writes out of `input_tokens`, splits writes by lifetime, and counts no reasoning.
    check(
        Wire::Anthropic,
        json!({"input_tokens": 1200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 500,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 100},
            "output_tokens": 400}),
        plain(counts(2000, 500, 300, 100, 400, 0)),
    );
    // The split alone (no total): its sum is the write; the total alone (older API versions): all five-minute.
    check(
        Wire::Anthropic,
        json!({"input_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": 2, "ephemeral_1h_input_tokens": 3}}),
        plain(counts(6, 0, 5, 3, 0, 0)),
    );
    check(
        Wire::Anthropic,
        json!({"input_tokens": 1, "cache_creation_input_tokens": 4}),
        plain(counts(5, 0, 4, 0, 0, 0)),
    );
    // A split larger than the total never makes more hour-long writes than writes.
    check(
        Wire::Anthropic,
        json!({"cache_creation_input_tokens": 4, "cache_creation": {"ephemeral_1h_input_tokens": 9}}),
        plain(counts(4, 0, 4, 4, 0, 0)),
    );
    // Nothing to count: no row columns made up from it.
    for wire in [Wire::OpenAiChat, Wire::Anthropic, Wire::Responses, Wire::Gemini] {
        check(wire, Value::Null, None);
    }
    check(Wire::OpenAiChat, json!({"completion_tokens": 3}), None);
    check(Wire::Anthropic, json!({"output_tokens": 3}), None);
    check(Wire::Responses, json!({}), None);
}

/// The same counts, told to each client in its own protocol's fields; what a protocol cannot say is left out, and
/// reading a client's usage back gives the counts it can hold.
#[test]
fn each_client_is_told_the_counts_in_its_own_fields() {
    let usage = counts(3600, 500, 3000, 2000, 400, 150);
    let response = ChatResponse {
        id: "r".into(),
        model: "m".into(),
        created: 1,
        choices: vec![Choice {
            index: 0,
            content: vec![Part::Text { text: "hi".into(), cache: None }],
            stop: Some(StopReason::EndTurn),
        }],
        usage: Some(usage),
        cost_usd: Some(0.5),
    };
    let told = |wire: Wire| match wire {
        Wire::OpenAiChat => openai_chat::encode_response(&response)["usage"].clone(),
        Wire::Anthropic => anthropic::encode_response(&response)["usage"].clone(),
        Wire::Responses => responses::encode_response(&response)["usage"].clone(),
        Wire::Gemini => gemini::encode_response(&response)["usageMetadata"].clone(),
    };
    let table = [
        (
            Wire::OpenAiChat,
            json!({"prompt_tokens": 3600, "completion_tokens": 400, "total_tokens": 4000,
                "prompt_tokens_details": {"cached_tokens": 500, "cache_write_tokens": 3000},
                "completion_tokens_details": {"reasoning_tokens": 150}, "cost": 0.5}),
            (counts(3600, 500, 3000, 0, 400, 150), Some(0.5)),
        ),
        (
            Wire::Anthropic,
            json!({"input_tokens": 100, "cache_read_input_tokens": 500, "cache_creation_input_tokens": 3000,
                "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
                "output_tokens": 400}),
            (counts(3600, 500, 3000, 2000, 400, 0), None),
        ),
        (
            Wire::Responses,
            json!({"input_tokens": 3600, "input_tokens_details": {"cached_tokens": 500}, "output_tokens": 400,
                "output_tokens_details": {"reasoning_tokens": 150}, "total_tokens": 4000}),
            (counts(3600, 500, 0, 0, 400, 150), None),
        ),
        (
            Wire::Gemini,
            json!({"promptTokenCount": 3600, "cachedContentTokenCount": 500, "candidatesTokenCount": 250,
                "thoughtsTokenCount": 150, "totalTokenCount": 4000}),
            (counts(3600, 500, 0, 0, 400, 150), None),
        ),
    ];
    for (wire, fields, back) in table {
        assert_eq!(told(wire), fields, "{wire:?}");
        assert_eq!(read(wire, &fields), Some(back), "{wire:?} read back");
    }
}

/// A host that counts usage on every chunk (vLLM's `continuous_usage_stats`) has its count so far kept for a stream
/// that breaks; OpenAI itself has none until the end.
#[test]
fn a_broken_stream_keeps_the_usage_seen_so_far() {
    let mut decoder = openai_chat::StreamDecoder::new();
    let chunk = |data: &str| SseEvent { event: None, data: data.to_owned() };
    decoder.decode(&chunk(r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"usage":null}"#)).unwrap();
    assert_eq!(decoder.usage_so_far(), None);
    let counted = r#"{"id":"c","choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#;
    decoder.decode(&chunk(counted)).unwrap();
    assert_eq!(decoder.usage_so_far(), Some(Usage { input: 9, output: 2, ..Usage::default() }));

    // Moonshot's usage beside the finish, inside the choice.
    let mut decoder = openai_chat::StreamDecoder::new();
    let finish = r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":30,"completion_tokens":3,"cached_tokens":10}}]}"#;
    let events = decoder.decode(&chunk(finish)).unwrap();
    let want = Usage { input: 30, cached_input: 10, output: 3, ..Usage::default() };
    assert!(events.contains(&StreamEvent::Usage { usage: want, cost_usd: None }), "{events:?}");
}
