//! Tests of the upstream side of `protocol/responses/`: requests written for a Responses API, its whole answers and
//! named events read, and round trips through both sides of the spoke.

use crate::protocol::test_support::sse;
use serde_json::json;

use super::*;
use crate::protocol::SseEvent;
use crate::protocol::neutral::{
    CacheHint, ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
};

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() }
}

fn result(call_id: &str, content: Vec<Part>, is_error: bool) -> Part {
    Part::ToolResult { call_id: call_id.into(), name: None, content, is_error, cache: None }
}

fn thinking(t: &str, signature: Option<&str>) -> Part {
    Part::Thinking { text: t.into(), signature: signature.map(str::to_owned) }
}

fn image(detail: Option<&str>) -> Part {
    Part::Image {
        source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
        detail: detail.map(str::to_owned),
        cache: None,
    }
}

fn tool(name: &str, strict: Option<bool>) -> Tool {
    Tool {
        name: name.into(),
        description: Some(format!("Calls {name}.")),
        parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        strict,
        cache: Some(CacheHint { kind: "ephemeral".into(), ttl: None }),
    }
}

/// Every event decoded, then what `finish` adds.
fn decode_all(events: &[SseEvent]) -> Vec<StreamEvent> {
    let mut decoder = StreamDecoder::new();
    let mut out: Vec<StreamEvent> = events.iter().flat_map(|e| decoder.decode(e).unwrap()).collect();
    out.extend(decoder.finish());
    out
}

fn parse(data: &str) -> Value {
    serde_json::from_str(data).unwrap()
}

fn named(name: &str, data: Value) -> SseEvent {
    SseEvent { event: Some(name.to_owned()), data: data.to_string() }
}

// --- requests --------------------------------------------------------------------------------------------

/// A conversation with every kind of part, each role, tools and every setting that has a Responses form.
fn full_request() -> ChatRequest {
    ChatRequest {
        model: "gpt-5-codex".into(),
        system: vec![
            SystemBlock {
                text: "You are terse.".into(),
                cache: Some(CacheHint { kind: "ephemeral".into(), ttl: None }),
            },
            SystemBlock { text: "".into(), cache: None },
            SystemBlock { text: "Use tools.".into(), cache: None },
        ],
        messages: vec![
            Message { role: Role::User, content: vec![text("Look at this"), image(None), text("")] },
            Message {
                role: Role::Assistant,
                content: vec![
                    thinking("Planning.", Some("openai:gAAAAopenai")),
                    thinking("From Claude.", Some("EqQBanthropic")),
                    thinking("From Gemini.", Some("gemini:CiQB")),
                    thinking("Unsigned.", None),
                    Part::RedactedThinking { data: "opaque".into() },
                    text("I will look."),
                    call("call_1", "lookup", r#"{"q":"x"}"#),
                    call("call_2", "lookup", ""),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    result("call_1", vec![text("found"), text("twice")], false),
                    result("call_2", vec![text("shot"), image(Some("low"))], true),
                    text("Now answer."),
                ],
            },
            Message { role: Role::Assistant, content: vec![thinking("", Some("openai:gAAAAbare"))] },
        ],
        tools: vec![tool("lookup", None), tool("strict_one", Some(true))],
        tool_choice: Some(ToolChoice::Named("lookup".into())),
        parallel_tool_calls: Some(false),
        max_tokens: Some(4096),
        temperature: Some(0.3),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        seed: Some(7),
        presence_penalty: Some(0.1),
        frequency_penalty: Some(0.2),
        n: Some(1),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: Some("The answer.".into()),
        }),
        reasoning: Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }),
        stream: true,
        stream_usage: true,
        user: Some("user-1234".into()),
        metadata: Some(serde_json::Map::from_iter([("k".to_owned(), json!("v"))])),
    }
}

#[test]
fn every_field_is_written_the_responses_way() {
    let body = encode_request(&full_request());
    assert_eq!(
        body,
        json!({
            "model": "gpt-5-codex",
            "instructions": "You are terse.\n\nUse tools.",
            "input": [
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Look at this"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
                ]},
                // Only OpenAI's own reasoning goes back, without an id; the others' thinking is dropped.
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Planning."}],
                    "encrypted_content": "gAAAAopenai"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "I will look."}]},
                {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":\"x\"}"},
                {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "found\ntwice"},
                {"type": "function_call_output", "call_id": "call_2", "output": [
                    {"type": "input_text", "text": "Error:"},
                    {"type": "input_text", "text": "shot"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
                ]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Now answer."}]},
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAbare"},
            ],
            "tools": [
                {"type": "function", "name": "lookup", "description": "Calls lookup.",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": false},
                {"type": "function", "name": "strict_one", "description": "Calls strict_one.",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": true},
            ],
            "tool_choice": {"type": "function", "name": "lookup"},
            "parallel_tool_calls": false,
            "max_output_tokens": 4096,
            "temperature": 0.3,
            "top_p": 0.9,
            "text": {"format": {"type": "json_schema", "name": "answer", "description": "The answer.",
                "schema": {"type": "object"}, "strict": true}},
            "reasoning": {"effort": "high", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "store": false,
            "stream": true,
            "safety_identifier": "user-1234",
        }),
        "stop, seed, n, top_k, the penalties and metadata have no Responses form"
    );
}

/// Found by the conformance matrix: a client's stop sequences were left out without a word. What changes the answer
/// is named, for the relay to log.
#[test]
fn what_has_no_responses_form_is_named() {
    let all = ChatRequest { n: Some(2), ..full_request() };
    assert_eq!(unsent(&all), ["stop", "seed", "n", "top_k", "presence_penalty", "frequency_penalty"]);
    assert_eq!(unsent(&full_request()), ["stop", "seed", "top_k", "presence_penalty", "frequency_penalty"], "n: 1");
    let plain = ChatRequest { metadata: full_request().metadata, ..ChatRequest::default() };
    assert!(unsent(&plain).is_empty(), "metadata changes nothing");
}

#[test]
fn small_settings_take_their_responses_forms() {
    let base =
        || ChatRequest { model: "m".into(), messages: vec![Message::text(Role::User, "hi")], ..Default::default() };
    let with_tools = |choice| ChatRequest { tools: vec![tool("f", None)], tool_choice: Some(choice), ..base() };
    let reasoning = |effort: Option<&str>, budget, enabled| ChatRequest {
        reasoning: Some(Reasoning { effort: effort.map(str::to_owned), budget_tokens: budget, enabled }),
        ..base()
    };
    let table: Vec<(ChatRequest, &str, Value)> = vec![
        (with_tools(ToolChoice::Auto), "tool_choice", json!("auto")),
        (with_tools(ToolChoice::None), "tool_choice", json!("none")),
        (with_tools(ToolChoice::Required), "tool_choice", json!("required")),
        // Without tools, neither the choice nor the parallel flag is sent (OpenAI refuses them alone).
        (
            ChatRequest { tool_choice: Some(ToolChoice::Required), parallel_tool_calls: Some(true), ..base() },
            "tool_choice",
            Value::Null,
        ),
        (
            ChatRequest { response_format: Some(ResponseFormat::JsonObject), ..base() },
            "text",
            json!({"format": {"type": "json_object"}}),
        ),
        (
            ChatRequest { response_format: Some(ResponseFormat::Text), ..base() },
            "text",
            json!({"format": {"type": "text"}}),
        ),
        (ChatRequest { max_tokens: Some(1), ..base() }, "max_output_tokens", json!(MIN_OUTPUT_TOKENS)),
        (reasoning(None, Some(1000), true), "reasoning", json!({"effort": "minimal", "summary": "auto"})),
        (reasoning(Some("max"), None, true), "reasoning", json!({"effort": "high", "summary": "auto"})),
        (reasoning(Some("none"), None, false), "reasoning", Value::Null),
        (ChatRequest { user: Some("u".repeat(65)), ..base() }, "safety_identifier", Value::Null),
        (ChatRequest { stream: false, ..base() }, "stream", Value::Null),
    ];
    for (request, key, expected) in table {
        let body = encode_request(&request);
        assert_eq!(body[key], expected, "{key}: {body}");
        assert_eq!(body["store"], false);
        assert_eq!(
            body["input"],
            json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}])
        );
    }
    // Encrypted reasoning is asked for only with thinking on, or when OpenAI's reasoning is in the history: models
    // that do not reason refuse the `include`.
    assert!(encode_request(&base()).get("include").is_none());
    assert!(encode_request(&base()).get("instructions").is_none());
    let mut replay = base();
    replay.messages.push(Message { role: Role::Assistant, content: vec![thinking("t", Some("openai:gAAAA"))] });
    let body = encode_request(&replay);
    assert_eq!((&body["include"], &body["reasoning"]), (&json!(["reasoning.encrypted_content"]), &Value::Null));
    replay.messages[1].content[0] = thinking("t", Some("EqQB"));
    assert!(encode_request(&replay).get("include").is_none(), "Anthropic's signature says nothing about OpenAI");
}

// --- whole responses ----------------------------------------------------------------------------------------

#[test]
fn a_whole_response_decodes() {
    let body = parse(include_str!("../fixtures/responses/response_reasoning_tools.json"));
    let response = decode_response(&body).unwrap();
    assert_eq!(
        response,
        ChatResponse {
            id: "resp_up2".into(),
            model: "o3-pro".into(),
            created: 1_760_000_100,
            choices: vec![Choice {
                index: 0,
                content: vec![
                    thinking("**Reading the question**\n\nA lookup will settle it.", Some("openai:gAAAAencrypted2")),
                    text("Looking it up."),
                    call("call_lookup", "lookup", r#"{"q":"tides"}"#),
                ],
                stop: Some(StopReason::ToolUse),
            }],
            usage: Some(Usage {
                input: 1200,
                cached_input: 1024,
                cache_write: 0,
                cache_write_1h: 0,
                output: 300,
                reasoning: 256
            }),
            cost_usd: None,
        }
    );
}

#[test]
fn status_and_incomplete_reasons_become_stops() {
    let with = |status: &str, incomplete: Value, output: Value| json!({"id": "r", "status": status, "incomplete_details": incomplete, "output": output});
    let message = json!([{"type": "message", "content": [{"type": "output_text", "text": "Once"},
        {"type": "refusal", "refusal": "I can't."}]}]);
    let table = [
        (with("completed", Value::Null, message.clone()), Some(StopReason::EndTurn)),
        (with("incomplete", json!({"reason": "max_output_tokens"}), message.clone()), Some(StopReason::MaxTokens)),
        (with("incomplete", json!({"reason": "content_filter"}), json!([])), Some(StopReason::ContentFilter)),
        (
            with("incomplete", json!({"reason": "something_new"}), json!([])),
            Some(StopReason::Other("something_new".into())),
        ),
        (with("cancelled", Value::Null, json!([])), Some(StopReason::Other("cancelled".into()))),
        (json!({"output": []}), None),
    ];
    for (body, stop) in table {
        let response = decode_response(&body).unwrap();
        assert_eq!(response.choices[0].stop, stop, "{body}");
        assert_eq!(response.usage, None);
    }
    let response = decode_response(&with("completed", Value::Null, message)).unwrap();
    assert_eq!(response.choices[0].content, vec![text("Once"), text("I can't.")], "a refusal is read as text");
    // Raw reasoning text stands in for a summary; an empty reasoning item is skipped.
    let body = with(
        "completed",
        Value::Null,
        json!([
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "raw"}]},
            {"type": "reasoning", "summary": []},
        ]),
    );
    assert_eq!(decode_response(&body).unwrap().choices[0].content, vec![thinking("raw", None)]);
}

#[test]
fn failed_responses_are_errors() {
    let failed =
        json!({"id": "r", "status": "failed", "error": {"code": "server_error", "message": "The model broke"}});
    assert_eq!(decode_response(&failed).unwrap_err().message, "The model broke");
    assert_eq!(
        decode_response(&json!({"status": "failed", "error": null})).unwrap_err().param.as_deref(),
        Some("status")
    );
    assert!(decode_response(&json!([])).is_err());
    assert!(decode_response(&json!({"output": {}})).is_err(), "output must be an array");
}

// --- streams ------------------------------------------------------------------------------------------------

#[test]
fn a_stream_with_reasoning_text_and_parallel_calls_decodes() {
    let events = decode_all(&sse(include_str!("../fixtures/responses/stream_reasoning_tools.sse")));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start { id: "resp_up1".into(), model: "gpt-5-codex".into(), created: 1_760_000_000 },
            StreamEvent::ThinkingDelta { choice: 0, text: "**Weather first**".into() },
            // A new summary part starts after a blank line, as the whole response joins them.
            StreamEvent::ThinkingDelta { choice: 0, text: "\n\nThen the ".into() },
            StreamEvent::ThinkingDelta { choice: 0, text: "clock.".into() },
            StreamEvent::ThinkingSignature { choice: 0, signature: "openai:gAAAAencrypted1".into() },
            StreamEvent::TextDelta { choice: 0, text: "Checking ".into() },
            StreamEvent::TextDelta { choice: 0, text: "both.".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_w".into(), name: "get_weather".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"city\":".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 1, id: "call_t".into(), name: "get_time".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "\"Oslo\"}".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"tz\":\"CET\"}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage {
                    input: 320,
                    cached_input: 256,
                    cache_write: 0,
                    cache_write_1h: 0,
                    output: 90,
                    reasoning: 64
                },
                cost_usd: None,
            },
        ]
    );
}

#[test]
fn items_sent_whole_and_unknown_events_decode() {
    // A server that sends each item only when done, with no deltas, and events this version does not know.
    let events = decode_all(&[
        named("response.created", json!({"type": "response.created", "response": {"id": "r", "model": "m"}})),
        named(
            "response.web_search_call.searching",
            json!({"type": "response.web_search_call.searching", "output_index": 0}),
        ),
        named(
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 1,
            "item": {"type": "reasoning", "summary": [{"type": "summary_text", "text": "whole"}]}}),
        ),
        named(
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 2,
            "item": {"type": "message", "content": [{"type": "output_text", "text": "all at once"}]}}),
        ),
        named(
            "response.output_item.added",
            json!({"type": "response.output_item.added", "output_index": 3,
            "item": {"type": "function_call", "call_id": "c", "name": "f", "arguments": ""}}),
        ),
        named(
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 3,
            "item": {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":1}"}}),
        ),
        named(
            "response.incomplete",
            json!({"type": "response.incomplete", "response": {"status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"}, "usage": {"input_tokens": 3, "output_tokens": 2}}}),
        ),
        named(
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "output_index": 2, "delta": "late"}),
        ),
    ]);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start { id: "r".into(), model: "m".into(), created: 0 },
            StreamEvent::ThinkingDelta { choice: 0, text: "whole".into() },
            StreamEvent::TextDelta { choice: 0, text: "all at once".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c".into(), name: "f".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":1}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens },
            StreamEvent::Usage {
                usage: Usage { input: 3, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 2, reasoning: 0 },
                cost_usd: None,
            },
        ],
        "nothing after the terminal event"
    );
}

#[test]
fn failures_end_the_stream_in_band() {
    // `response.failed` mid-stream: an error with its code, and the usage it reported kept for the ledger.
    let mut decoder = StreamDecoder::new();
    let text = json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Part"});
    let added = json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message"}});
    decoder.decode(&named("response.output_item.added", added)).unwrap();
    assert_eq!(decoder.decode(&named("response.output_text.delta", text)).unwrap().len(), 1);
    assert_eq!(decoder.usage_so_far(), None);
    let failed = json!({"type": "response.failed", "response": {"status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "Slow down"}, "usage": {"input_tokens": 9, "output_tokens": 1}}});
    assert_eq!(
        decoder.decode(&named("response.failed", failed)).unwrap(),
        vec![StreamEvent::Error { message: "Slow down".into(), kind: "rate_limit_exceeded".into() }]
    );
    assert_eq!(decoder.usage_so_far().map(|u| (u.input, u.output)), Some((9, 1)));
    assert!(decoder.finish().is_empty(), "the failure was the end");

    // An `error` event.
    let error = json!({"type": "error", "code": "server_error", "message": "Upstream hiccup", "param": null});
    assert_eq!(
        decode_all(&[named("error", error)]),
        vec![StreamEvent::Error { message: "Upstream hiccup".into(), kind: "server_error".into() }]
    );
    let bare = decode_all(&[named("response.failed", json!({"type": "response.failed", "response": {}}))]);
    assert_eq!(
        bare,
        vec![StreamEvent::Error { message: "the upstream's response failed".into(), kind: "server_error".into() }]
    );

    // A stream cut before its terminal event.
    let cut = decode_all(&[named("response.created", json!({"type": "response.created", "response": {"id": "r"}}))]);
    assert!(matches!(cut.last(), Some(StreamEvent::Error { kind, .. }) if kind == "upstream_error"), "{cut:?}");

    // Bytes that are not JSON are the decoder's error, for the relay to end the stream with.
    assert!(StreamDecoder::new().decode(&named("response.created", json!("x"))).is_err());
    assert!(StreamDecoder::new().decode(&SseEvent { event: None, data: "{not json".into() }).is_err());
}

// --- round trips ----------------------------------------------------------------------------------------------

/// What a Responses client would be sent, read back as an upstream's answer: the same neutral response.
#[test]
fn whole_responses_round_trip_through_both_sides() {
    let content = vec![
        thinking("Plan.", Some("openai:gAAAAsig")),
        text("Hello"),
        call("call_a", "get_weather", r#"{"city":"Paris"}"#),
        call("call_b", "get_time", "{}"),
    ];
    let usage = Usage { input: 100, cached_input: 40, cache_write: 0, cache_write_1h: 0, output: 30, reasoning: 10 };
    for (content, stop) in [
        (content.clone(), StopReason::ToolUse),
        (vec![text("Once upon")], StopReason::MaxTokens),
        (vec![text("No.")], StopReason::ContentFilter),
        (vec![text("Done.")], StopReason::EndTurn),
    ] {
        let neutral = ChatResponse {
            id: "resp_x".into(),
            model: "gpt-5".into(),
            created: 1_700_000_000,
            choices: vec![Choice { index: 0, content, stop: Some(stop) }],
            usage: Some(usage),
            cost_usd: None,
        };
        assert_eq!(decode_response(&encode_response(&neutral)).unwrap(), neutral);
    }
}

#[test]
fn streams_round_trip_through_both_sides() {
    let events = vec![
        StreamEvent::Start { id: "resp_x".into(), model: "gpt-5".into(), created: 1_700_000_000 },
        StreamEvent::ThinkingDelta { choice: 0, text: "Let me ".into() },
        StreamEvent::ThinkingDelta { choice: 0, text: "think.".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "openai:gAAAAsig".into() },
        StreamEvent::TextDelta { choice: 0, text: "Checking.".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_a".into(), name: "get_weather".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"city\":".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 1, id: "call_b".into(), name: "get_time".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{}".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "\"Paris\"}".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        StreamEvent::Usage {
            usage: Usage { input: 5, cached_input: 1, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 2 },
            cost_usd: None,
        },
    ];
    let mut encoder = StreamEncoder::new(true);
    let mut wire: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    wire.extend(encoder.finish());
    assert_eq!(decode_all(&wire), events);

    // A failure mid-stream comes back as the same error.
    let mut encoder = StreamEncoder::new(true);
    let broken = [
        StreamEvent::Start { id: "resp_y".into(), model: "m".into(), created: 1 },
        StreamEvent::TextDelta { choice: 0, text: "Part".into() },
        StreamEvent::Error { message: "upstream died".into(), kind: "server_error".into() },
    ];
    let wire: Vec<SseEvent> = broken.iter().flat_map(|e| encoder.encode(e)).collect();
    assert_eq!(decode_all(&wire), broken);
}

/// A neutral request written for a Responses upstream and read back as a client's body: the same conversation,
/// except what has no Responses form (cache hints, stop sequences, …) and thinking, whose encrypted content only
/// OpenAI reads.
#[test]
fn requests_round_trip_through_both_sides() {
    let mut request = full_request();
    request.stream = false;
    request.stream_usage = false;
    let decoded = decode_request(&encode_request(&request)).unwrap();
    assert_eq!(decoded.system, vec![SystemBlock { text: "You are terse.\n\nUse tools.".into(), cache: None }]);
    assert_eq!(
        decoded.messages,
        vec![
            Message { role: Role::User, content: vec![text("Look at this"), image(Some("auto"))] },
            Message {
                role: Role::Assistant,
                content: vec![
                    thinking("Planning.", None),
                    text("I will look."),
                    call("call_1", "lookup", r#"{"q":"x"}"#),
                    call("call_2", "lookup", "{}"),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult {
                        call_id: "call_1".into(),
                        name: Some("lookup".into()),
                        content: vec![text("found\ntwice")],
                        is_error: false,
                        cache: None,
                    },
                    Part::ToolResult {
                        call_id: "call_2".into(),
                        name: Some("lookup".into()),
                        content: vec![text("Error:"), text("shot"), image(Some("low"))],
                        is_error: false,
                        cache: None,
                    },
                    text("Now answer."),
                ],
            },
        ]
    );
    let names: Vec<&str> = decoded.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["lookup", "strict_one"]);
    assert_eq!((decoded.tools[0].strict, decoded.tools[1].strict), (Some(false), Some(true)));
    assert_eq!(decoded.tool_choice, request.tool_choice);
    assert_eq!(decoded.parallel_tool_calls, Some(false));
    assert_eq!((decoded.max_tokens, decoded.temperature, decoded.top_p), (Some(4096), Some(0.3), Some(0.9)));
    assert_eq!(decoded.response_format, request.response_format);
    assert_eq!(decoded.reasoning, request.reasoning);
    assert_eq!(decoded.user.as_deref(), Some("user-1234"));
}
