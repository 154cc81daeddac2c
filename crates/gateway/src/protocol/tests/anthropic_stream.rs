//! Tests of `protocol/anthropic/stream.rs`: upstream events decoded, client events encoded and well-formed.

use crate::protocol::test_support::sse;
use serde_json::{Value, json};

use super::*;
use crate::protocol::neutral::{StopReason, StreamEvent, Usage};
use crate::protocol::{SseEvent, openai_chat};

fn decode_all(events: &[SseEvent]) -> Vec<StreamEvent> {
    let mut decoder = StreamDecoder::new();
    events.iter().flat_map(|e| decoder.decode(e).unwrap()).collect()
}

fn encode_all(events: &[StreamEvent]) -> Vec<SseEvent> {
    let mut encoder = StreamEncoder::new(true);
    let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    out.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "closing events once");
    out
}

/// Checks the event grammar: message_start, then well-nested blocks with sequential indexes, then
/// message_delta and message_stop (or an error). Returns the event names.
fn assert_well_formed(events: &[SseEvent]) -> Vec<String> {
    let names: Vec<String> = events.iter().map(|e| e.event.clone().unwrap()).collect();
    assert_eq!(names[0], "message_start");
    let mut open: Option<u64> = None;
    let mut next = 0;
    for (name, event) in names.iter().zip(events) {
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["type"], name.as_str(), "the data's type matches the event name");
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(open, None, "a block starts only when the previous one stopped");
                assert_eq!(data["index"], next);
                open = Some(next);
                next += 1;
            }
            "content_block_delta" => assert_eq!(data["index"].as_u64(), open),
            "content_block_stop" => {
                assert_eq!(data["index"].as_u64(), open);
                open = None;
            }
            "message_delta" | "message_stop" | "error" => assert_eq!(open, None),
            _ => {}
        }
    }
    let tail = &names[names.len().saturating_sub(2)..];
    assert!(tail == ["message_delta", "message_stop"] || names.last().unwrap() == "error", "{names:?}");
    names
}

#[test]
fn documented_streams_decode() {
    let usage = |input, output| StreamEvent::Usage {
        usage: Usage { input, cached_input: 0, cache_write: 0, cache_write_1h: 0, output, reasoning: 0 },
        cost_usd: None,
    };
    let events = decode_all(&sse(include_str!("../fixtures/anthropic/stream_text.sse")));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
                model: "claude-opus-4-6".into(),
                created: 0
            },
            StreamEvent::TextDelta { choice: 0, text: "Hello".into() },
            StreamEvent::TextDelta { choice: 0, text: "!".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
            usage(25, 15),
        ]
    );

    let events = decode_all(&sse(include_str!("../fixtures/anthropic/stream_tool_use.sse")));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Okay, let's check the weather for San Francisco, CA:");
    let arguments: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallDelta { index: 0, arguments, .. } => Some(arguments.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    assert!(events.contains(&StreamEvent::ToolCallStart {
        choice: 0,
        index: 0,
        id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
        name: "get_weather".into()
    }));
    assert_eq!(
        events[events.len() - 2..],
        [StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse }, usage(472, 89)]
    );

    let events = decode_all(&sse(include_str!("../fixtures/anthropic/stream_thinking.sse")));
    assert!(
        matches!(&events[1], StreamEvent::ThinkingDelta { text, .. } if text.starts_with("I need to find the GCD"))
    );
    assert_eq!(
        events[3],
        StreamEvent::ThinkingSignature {
            choice: 0,
            signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into()
        }
    );
    assert_eq!(events.last(), Some(&usage(0, 0)));

    let events = decode_all(&sse(include_str!("../fixtures/anthropic/stream_error.sse")));
    assert_eq!(events, vec![StreamEvent::Error { message: "Overloaded".into(), kind: "overloaded_error".into() }]);
    assert!(StreamDecoder::new().decode(&SseEvent { event: Some("ping".into()), data: "{oops".into() }).is_err());
}

#[test]
fn parallel_tool_blocks_get_tool_indexes_and_cache_usage_adds_up() {
    let frames = [
        r#"{"type":"message_start","message":{"id":"msg_p","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Both."}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"a","input":{}}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"x\":"}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"b","input":{}}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"y\":2}"}}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":60}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    let events: Vec<SseEvent> = frames.iter().map(|d| SseEvent { event: None, data: (*d).into() }).collect();
    let decoded = decode_all(&events);
    assert_eq!(
        decoded[2..],
        [
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "toolu_a".into(), name: "a".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"x\":".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "1}".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 1, id: "toolu_b".into(), name: "b".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"y\":2}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage {
                    input: 3210,
                    cached_input: 3000,
                    cache_write: 200,
                    cache_write_1h: 0,
                    output: 60,
                    reasoning: 0
                },
                cost_usd: None
            },
        ]
    );
    // Re-encoding gives the same usage numbers back on the wire.
    let out = encode_all(&decoded);
    let delta: Value = serde_json::from_str(&out[out.len() - 2].data).unwrap();
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 10, "output_tokens": 60, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0}})
    );
    assert_eq!(decode_all(&out), decoded);
}

#[test]
fn encoded_stream_is_well_formed() {
    let events = vec![
        StreamEvent::Start { id: "msg_x".into(), model: "m".into(), created: 5 },
        StreamEvent::ThinkingDelta { choice: 0, text: "hm".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "sig".into() },
        StreamEvent::RedactedThinking { choice: 0, data: "opaque".into() },
        StreamEvent::TextDelta { choice: 0, text: "Hi".into() },
        StreamEvent::TextDelta { choice: 0, text: " there".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":1}".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        StreamEvent::Usage {
            usage: Usage { input: 50, cached_input: 20, cache_write: 10, cache_write_1h: 0, output: 7, reasoning: 0 },
            cost_usd: None,
        },
    ];
    let out = encode_all(&events);
    let names = assert_well_formed(&out);
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let start: Value = serde_json::from_str(&out[0].data).unwrap();
    assert_eq!(start["message"]["id"], "msg_x");
    assert_eq!(start["message"]["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
    let delta: Value = serde_json::from_str(&out[14].data).unwrap();
    assert_eq!(delta["delta"], json!({"stop_reason": "tool_use", "stop_sequence": null}));
    assert_eq!(delta["usage"]["input_tokens"], 20);
    // The round trip gives the same events (created is not carried by Anthropic).
    let mut expected = events;
    expected[0] = StreamEvent::Start { id: "msg_x".into(), model: "m".into(), created: 0 };
    assert_eq!(decode_all(&out), expected);
}

#[test]
fn interleaved_openai_tool_calls_stream_as_sequential_blocks() {
    let mut decoder = openai_chat::StreamDecoder::new();
    let neutral: Vec<StreamEvent> = sse(include_str!("../fixtures/openai_chat/stream_parallel_tools.sse"))
        .iter()
        .flat_map(|e| decoder.decode(e).unwrap())
        .collect();
    let out = encode_all(&neutral);
    assert_well_formed(&out);
    let back = decode_all(&out);
    let calls: Vec<(u32, String)> = back
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart { index, id, .. } => Some((*index, id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [(0, "call_a".to_owned()), (1, "call_b".to_owned())]);
    for (index, expected) in [(0, json!({"city": "Paris"})), (1, json!({"tz": "CET"}))] {
        let arguments: String = back
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallDelta { index: i, arguments, .. } if *i == index => Some(arguments.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&arguments).unwrap(), expected);
    }
    assert_eq!(back[back.len() - 2], StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse });
}

#[test]
fn encoder_closes_cleanly_without_stop_and_ends_on_error() {
    // Nothing but text: finish still closes the block and the message.
    let out = encode_all(&[
        StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 },
        StreamEvent::TextDelta { choice: 0, text: "partial".into() },
    ]);
    let names = assert_well_formed(&out);
    assert_eq!(names.len(), 6);
    let delta: Value = serde_json::from_str(&out[4].data).unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");

    // Stop without usage: message_delta waits for finish, with zero usage.
    let mut encoder = StreamEncoder::new(false);
    encoder.encode(&StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 });
    let at_stop = encoder.encode(&StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens });
    assert!(at_stop.is_empty());
    let closing = encoder.finish();
    assert_eq!(closing.len(), 2);
    assert!(closing[0].data.contains("\"max_tokens\""));

    // An error ends the stream: nothing after it.
    let out = encode_all(&[
        StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 },
        StreamEvent::TextDelta { choice: 0, text: "par".into() },
        StreamEvent::Error { message: "upstream died".into(), kind: "upstream_error".into() },
        StreamEvent::TextDelta { choice: 0, text: "ignored".into() },
    ]);
    let last: Value = serde_json::from_str(&out.last().unwrap().data).unwrap();
    assert_eq!(out.last().unwrap().event.as_deref(), Some("error"));
    assert_eq!(last, json!({"type": "error", "error": {"type": "api_error", "message": "upstream died"}}));
    assert_eq!(out.len(), 4);

    // Even an empty upstream yields a whole message.
    assert_well_formed(&StreamEncoder::new(true).finish());
}

/// Found by the conformance matrix (`matrix::{chat,responses}::anthropic::mid_stream_error`): a translated stream
/// that broke left no usage in the ledger, although `message_start` had reported the prompt's tokens.
#[test]
fn usage_so_far_survives_a_broken_stream() {
    let mut decoder = StreamDecoder::new();
    assert_eq!(decoder.usage_so_far(), None);
    let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":8,"cache_read_input_tokens":4,"cache_creation_input_tokens":0,"output_tokens":1}}}"#;
    decoder.decode(&SseEvent { event: Some("message_start".into()), data: start.into() }).unwrap();
    let usage = decoder.usage_so_far().unwrap();
    assert_eq!((usage.input, usage.cached_input, usage.output), (12, 4, 1));
}
