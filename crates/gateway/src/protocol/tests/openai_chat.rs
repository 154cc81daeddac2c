//! Tests of `protocol/openai_chat/`, kept apart so the converter reads on its own.

use crate::protocol::test_support::sse;
use serde_json::{Value, json};

use super::*;
use crate::protocol::SseEvent;
use crate::protocol::neutral::{
    ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, StopReason,
    StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
};

fn decode_all(events: &[SseEvent]) -> Vec<StreamEvent> {
    let mut decoder = StreamDecoder::new();
    events.iter().flat_map(|e| decoder.decode(e).unwrap()).collect()
}

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn parse(data: &str) -> Value {
    serde_json::from_str(data).unwrap()
}

#[test]
fn continue_shaped_request() {
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful coding assistant."},
            {"role": "user", "content": [{"type": "text", "text": "Explain this file"}]}
        ],
        "tools": [
            {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                "parameters": {"type": "object", "properties": {"filepath": {"type": "string"}}, "required": ["filepath"]}}},
            {"type": "function", "function": {"name": "ls", "parameters": {"type": "object", "properties": {}}}}
        ],
        "stream": true,
        "stream_options": {"include_usage": true},
        "some_future_field": {"x": 1}
    });
    let request = decode_request(&body).unwrap();
    assert_eq!(request.model, "gpt-4o");
    assert_eq!(request.system, vec![SystemBlock { text: "You are a helpful coding assistant.".into(), cache: None }]);
    assert_eq!(request.messages, vec![Message { role: Role::User, content: vec![text("Explain this file")] }]);
    assert_eq!(request.tools.len(), 2);
    assert_eq!(request.tools[0].name, "read_file");
    assert_eq!(request.tools[0].description.as_deref(), Some("Read a file"));
    assert_eq!(request.tools[1].parameters, json!({"type": "object", "properties": {}}));
    assert!(request.stream && request.stream_usage);
    assert_eq!(request.max_tokens, None);
}

#[test]
fn every_request_field_decodes() {
    let body = json!({
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": true}},
            {"type": "web_search"},
            {"type": "custom", "custom": {"name": "x"}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "parallel_tool_calls": false,
        "max_tokens": 10,
        "max_completion_tokens": 20,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": "END",
        "seed": -7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "n": 2,
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "description": "d",
            "schema": {"type": "object"}, "strict": true}},
        "reasoning_effort": "high",
        "user": "u-1",
        "metadata": {"k": "v"}
    });
    let r = decode_request(&body).unwrap();
    assert_eq!(r.tools.len(), 1, "non-function tools are skipped");
    assert_eq!(r.tools[0].strict, Some(true));
    assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert_eq!(r.max_tokens, Some(20), "max_completion_tokens wins");
    assert_eq!((r.temperature, r.top_p), (Some(0.5), Some(0.9)));
    assert_eq!(r.stop, vec!["END".to_owned()]);
    assert_eq!(r.seed, Some(-7));
    assert_eq!((r.presence_penalty, r.frequency_penalty, r.n), (Some(0.1), Some(0.2), Some(2)));
    assert_eq!(
        r.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "out".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: Some("d".into())
        })
    );
    assert_eq!(r.reasoning, Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }));
    assert_eq!(r.user.as_deref(), Some("u-1"));
    assert_eq!(r.metadata.unwrap()["k"], "v");
    assert!(!r.stream && !r.stream_usage);

    let table = [
        (json!("auto"), ToolChoice::Auto),
        (json!("none"), ToolChoice::None),
        (json!("required"), ToolChoice::Required),
    ];
    for (wire, neutral) in table {
        let r = decode_request(&json!({"messages": [], "tool_choice": wire, "stop": ["a", "b"]})).unwrap();
        assert_eq!(r.tool_choice, Some(neutral));
        assert_eq!(r.stop, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(r.model, "", "a missing model is the server's business");
    }
    let r = decode_request(&json!({"messages": [], "max_tokens": 5, "response_format": {"type": "json_object"},
        "reasoning_effort": "none"}))
    .unwrap();
    assert_eq!(r.max_tokens, Some(5));
    assert_eq!(r.response_format, Some(ResponseFormat::JsonObject));
    assert!(!r.reasoning.unwrap().enabled);
}

#[test]
fn messages_decode_with_tools_thinking_and_images() {
    let body = json!({"messages": [
        {"role": "system", "content": "A"},
        {"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"}},
            {"type": "input_audio", "input_audio": {"data": "..", "format": "wav"}}
        ]},
        {"role": "assistant", "reasoning_content": "hmm", "content": "Checking.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get", "arguments": "{\"a\":1}"}},
            {"id": "c2", "type": "function", "function": {"name": "put", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
        {"role": "developer", "content": [{"type": "text", "text": "B"}]},
        {"role": "user", "content": "thanks"},
        {"role": "assistant", "content": null, "refusal": null}
    ]});
    let r = decode_request(&body).unwrap();
    assert_eq!(r.system.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    let expected = vec![
        Message {
            role: Role::User,
            content: vec![
                text("look"),
                Part::Image {
                    source: ImageSource::Base64 { media_type: "image/png".into(), data: "AAAA".into() },
                    detail: Some("high".into()),
                    cache: None,
                },
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Thinking { text: "hmm".into(), signature: None },
                text("Checking."),
                Part::ToolCall { id: "c1".into(), name: "get".into(), arguments: "{\"a\":1}".into() },
                Part::ToolCall { id: "c2".into(), name: "put".into(), arguments: "{}".into() },
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                Part::ToolResult {
                    call_id: "c1".into(),
                    name: Some("get".into()),
                    content: vec![text("one")],
                    is_error: false,
                    cache: None,
                },
                Part::ToolResult {
                    call_id: "c2".into(),
                    name: Some("put".into()),
                    content: vec![text("two")],
                    is_error: false,
                    cache: None,
                },
            ],
        },
        Message::text(Role::User, "thanks"),
        Message { role: Role::Assistant, content: vec![] },
    ];
    assert_eq!(r.messages, expected);
}

#[test]
fn bad_requests_name_the_field() {
    let cases = [
        (json!([]), None),
        (json!({}), Some("messages")),
        (json!({"messages": {}}), Some("messages")),
        (json!({"messages": [], "temperature": "hot"}), Some("temperature")),
        (json!({"messages": [], "max_tokens": -1}), Some("max_tokens")),
        (json!({"messages": [], "stream": "yes"}), Some("stream")),
        (json!({"messages": [], "stop": 3}), Some("stop")),
        (json!({"messages": [], "stop": ["a", 1]}), Some("stop[1]")),
        (json!({"messages": [], "tool_choice": "sometimes"}), Some("tool_choice")),
        (json!({"messages": [], "tools": [{"type": "function"}]}), Some("tools[0].function")),
        (json!({"messages": [], "tools": [{"type": "function", "function": {}}]}), Some("tools[0].function.name")),
        (json!({"messages": [], "response_format": {"type": "xml"}}), Some("response_format.type")),
        (json!({"messages": [], "stream_options": {"include_usage": 1}}), Some("stream_options.include_usage")),
        (json!({"messages": [], "functions": []}), Some("functions")),
        (json!({"messages": ["hi"]}), Some("messages[0]")),
        (json!({"messages": [{"content": "x"}]}), Some("messages[0].role")),
        (json!({"messages": [{"role": "wizard", "content": "x"}]}), Some("messages[0].role")),
        (json!({"messages": [{"role": "function", "name": "f", "content": "x"}]}), Some("messages[0].role")),
        (json!({"messages": [{"role": "user", "content": 5}]}), Some("messages[0].content")),
        (
            json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text"}]}]}),
            Some("messages[1].content[0].text"),
        ),
        (json!({"messages": [{"role": "tool", "content": "x"}]}), Some("messages[0].tool_call_id")),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": 1}}]}]}),
            Some("messages[0].tool_calls[0].function.arguments"),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            Some("messages[0].content[0].image_url"),
        ),
    ];
    for (body, param) in cases {
        let error = decode_request(&body).expect_err(&body.to_string());
        assert_eq!(error.param.as_deref(), param, "{body}: {}", error.message);
        assert!(!error.message.is_empty());
    }
    let error = decode_request(&json!({"messages": [], "temperature": "hot"})).unwrap_err();
    assert_eq!(error.message, "`temperature` must be a number, not a string");
}

fn sample_request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        system: vec![SystemBlock { text: "Be brief.".into(), cache: None }],
        messages: vec![
            Message::text(Role::User, "weather?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    text("Let me check."),
                    Part::ToolCall { id: "c1".into(), name: "weather".into(), arguments: "{\"city\":\"Oslo\"}".into() },
                ],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "c1".into(),
                    name: Some("weather".into()),
                    content: vec![text("-3C")],
                    is_error: false,
                    cache: None,
                }],
            },
            Message {
                role: Role::User,
                content: vec![
                    text("and this?"),
                    Part::Image { source: ImageSource::Url("https://x/y.png".into()), detail: None, cache: None },
                ],
            },
        ],
        tools: vec![Tool {
            name: "weather".into(),
            description: Some("Weather by city".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            strict: Some(false),
            cache: None,
        }],
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(true),
        max_tokens: Some(256),
        temperature: Some(0.2),
        top_p: Some(0.8),
        top_k: None,
        stop: vec!["STOP".into()],
        seed: Some(1),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(0.25),
        n: Some(1),
        response_format: Some(ResponseFormat::JsonObject),
        reasoning: Some(Reasoning { effort: Some("low".into()), budget_tokens: None, enabled: true }),
        stream: true,
        stream_usage: true,
        user: Some("me".into()),
        metadata: None,
    }
}

#[test]
fn requests_round_trip() {
    let request = sample_request();
    assert_eq!(decode_request(&encode_request(&request)).unwrap(), request);
    let minimal = ChatRequest { messages: vec![Message::text(Role::User, "hi")], ..ChatRequest::default() };
    assert_eq!(decode_request(&encode_request(&minimal)).unwrap(), minimal);
}

#[test]
fn encoded_requests_fit_openai() {
    let mut request = sample_request();
    request.system.push(SystemBlock { text: "Second.".into(), cache: None });
    request.messages[2].content = vec![
        Part::ToolResult {
            call_id: "c1".into(),
            name: None,
            content: vec![
                text("see image"),
                Part::Image { source: ImageSource::Url("https://i/1.png".into()), detail: None, cache: None },
            ],
            is_error: true,
            cache: None,
        },
        text("also"),
    ];
    request.messages[1].content.insert(0, Part::Thinking { text: "secret".into(), signature: Some("s".into()) });
    request.top_k = Some(40);
    let body = encode_request(&request);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({"role": "system", "content": "Be brief.\n\nSecond."}));
    assert_eq!(messages[2]["content"], "Let me check.");
    assert!(messages[2].get("reasoning_content").is_none(), "thinking is not sent upstream");
    assert_eq!(messages[3], json!({"role": "tool", "tool_call_id": "c1", "content": "Error: see image"}));
    assert_eq!(
        messages[4],
        json!({"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://i/1.png"}},
            {"type": "text", "text": "also"}
        ]})
    );
    assert_eq!(body["max_completion_tokens"], 256);
    assert!(body.get("max_tokens").is_none() && body.get("top_k").is_none());
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["reasoning_effort"], "low");

    // Without tools, no tool_choice / parallel_tool_calls; no stream, no stream_options; usage is always asked.
    let plain = ChatRequest {
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        reasoning: Some(Reasoning { effort: None, budget_tokens: Some(20_000), enabled: true }),
        ..ChatRequest::default()
    };
    let body = encode_request(&plain);
    for key in ["tool_choice", "parallel_tool_calls", "stream", "stream_options", "tools"] {
        assert!(body.get(key).is_none(), "{key}");
    }
    assert_eq!(body["reasoning_effort"], "high");
    let client_stream = ChatRequest { stream: true, ..ChatRequest::default() };
    assert_eq!(encode_request(&client_stream)["stream_options"]["include_usage"], true);
}

#[test]
fn stop_reasons_map_both_ways() {
    let table = [
        (StopReason::EndTurn, "stop", StopReason::EndTurn),
        (StopReason::StopSequence(Some("X".into())), "stop", StopReason::EndTurn),
        (StopReason::MaxTokens, "length", StopReason::MaxTokens),
        (StopReason::ToolUse, "tool_calls", StopReason::ToolUse),
        (StopReason::ContentFilter, "content_filter", StopReason::ContentFilter),
        (StopReason::PauseTurn, "stop", StopReason::EndTurn),
        (StopReason::Other("weird".into()), "stop", StopReason::EndTurn),
    ];
    for (neutral, wire, back) in table {
        assert_eq!(finish_reason(&neutral), wire);
        assert_eq!(stop_reason(wire), back);
    }
    assert_eq!(stop_reason("function_call"), StopReason::ToolUse);
    assert_eq!(stop_reason("insufficient_system_resource"), StopReason::Other("insufficient_system_resource".into()));
}

fn sample_response() -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o".into(),
        created: 1_700_000_000,
        choices: vec![Choice {
            index: 0,
            content: vec![
                Part::Thinking { text: "think".into(), signature: None },
                text("Calling."),
                Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "{\"a\":1}".into() },
            ],
            stop: Some(StopReason::ToolUse),
        }],
        usage: Some(Usage {
            input: 100,
            cached_input: 40,
            cache_write: 0,
            cache_write_1h: 0,
            output: 30,
            reasoning: 10,
        }),
        cost_usd: Some(0.0012),
    }
}

#[test]
fn responses_encode_and_round_trip() {
    let response = sample_response();
    let body = encode_response(&response);
    assert_eq!(
        body,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Calling.",
                "reasoning_content": "think",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                "finish_reason": "tool_calls", "logprobs": null}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
                "prompt_tokens_details": {"cached_tokens": 40}, "completion_tokens_details": {"reasoning_tokens": 10},
                "cost": 0.0012}
        })
    );
    assert_eq!(decode_response(&body).unwrap(), response);

    // Tool calls only: content null; nothing at all: "".
    let mut only_calls = response.clone();
    only_calls.choices[0].content.drain(..2);
    assert_eq!(encode_response(&only_calls)["choices"][0]["message"]["content"], Value::Null);
    let mut empty = response;
    empty.choices[0].content.clear();
    empty.usage = None;
    let body = encode_response(&empty);
    assert_eq!(body["choices"][0]["message"], json!({"role": "assistant", "content": ""}));
    assert!(body.get("usage").is_none());
    assert_eq!(decode_response(&body).unwrap().usage, None);
}

#[test]
fn upstream_responses_decode() {
    // OpenAI's documented shape, plus DeepSeek and OpenRouter extras.
    let body = json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image shows a wooden boardwalk.",
            "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035"
    });
    let r = decode_response(&body).unwrap();
    assert_eq!(r.choices[0].content, vec![text("The image shows a wooden boardwalk.")]);
    assert_eq!(r.choices[0].stop, Some(StopReason::EndTurn));
    assert_eq!(
        r.usage,
        Some(Usage { input: 1117, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 46, reasoning: 0 })
    );

    let deepseek = json!({"id": "x", "model": "deepseek-reasoner", "created": 1, "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_cache_hit_tokens": 8,
            "prompt_tokens_details": null, "cost": null}});
    let r = decode_response(&deepseek).unwrap();
    assert_eq!(r.choices[0].content[0], Part::Thinking { text: "2+2".into(), signature: None });
    assert_eq!(r.choices[0].stop, Some(StopReason::MaxTokens));
    assert_eq!(r.usage.unwrap().cached_input, 8);
    assert_eq!(r.cost_usd, None);

    let openrouter = json!({"id": "gen-1", "model": "a/b", "choices": [{"index": 0, "message": {"role": "assistant",
        "content": "hi", "reasoning": "short"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.5,
            "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 3}}});
    let r = decode_response(&openrouter).unwrap();
    assert_eq!(
        r.usage,
        Some(Usage { input: 10, cached_input: 2, cache_write: 3, cache_write_1h: 0, output: 5, reasoning: 0 })
    );
    assert_eq!(r.cost_usd, Some(0.5));
    assert_eq!(r.choices[0].content[0], Part::Thinking { text: "short".into(), signature: None });

    let error = decode_response(&json!({"error": {"message": "bad key", "type": "invalid_request_error"}}));
    assert_eq!(error.unwrap_err().message, "bad key");
}

#[test]
fn text_stream_decodes() {
    let events = decode_all(&sse(include_str!("../fixtures/openai_chat/stream_text.sse")));
    assert_eq!(
        events,
        vec![
            StreamEvent::Start { id: "chatcmpl-123".into(), model: "gpt-4o-mini".into(), created: 1694268190 },
            StreamEvent::TextDelta { choice: 0, text: "Hello".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
            StreamEvent::Usage {
                usage: Usage { input: 9, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 12, reasoning: 0 },
                cost_usd: None
            },
        ]
    );
}

#[test]
fn parallel_tool_call_stream_decodes_in_order() {
    let events = decode_all(&sse(include_str!("../fixtures/openai_chat/stream_parallel_tools.sse")));
    assert_eq!(
        events[1..],
        [
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_a".into(), name: "get_weather".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"city\": ".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 1, id: "call_b".into(), name: "get_time".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"tz\": ".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "\"Paris\"}".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "\"CET\"}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage {
                    input: 120,
                    cached_input: 64,
                    cache_write: 0,
                    cache_write_1h: 0,
                    output: 40,
                    reasoning: 0
                },
                cost_usd: None
            },
        ]
    );
}

#[test]
fn reasoning_stream_and_odd_chunks_decode() {
    let events = decode_all(&sse(include_str!("../fixtures/openai_chat/stream_deepseek_reasoning.sse")));
    assert_eq!(
        events[1..],
        [
            StreamEvent::ThinkingDelta { choice: 0, text: "Let me think.".into() },
            StreamEvent::TextDelta { choice: 0, text: "42".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
            StreamEvent::Usage {
                usage: Usage {
                    input: 10,
                    cached_input: 0,
                    cache_write: 0,
                    cache_write_1h: 0,
                    output: 20,
                    reasoning: 15
                },
                cost_usd: None
            },
        ]
    );

    let mut decoder = StreamDecoder::new();
    let error = SseEvent {
        event: None,
        data: r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":429}}"#.into(),
    };
    assert_eq!(
        decoder.decode(&error).unwrap(),
        vec![StreamEvent::Error { message: "Rate limit reached".into(), kind: "rate_limit_error".into() }]
    );
    assert!(decoder.decode(&SseEvent { event: None, data: "{not json".into() }).is_err());
    assert!(decoder.decode(&SseEvent { event: None, data: "[DONE]".into() }).unwrap().is_empty());

    // A whole call in one chunk, with the id repeated on a later fragment (seen from some hosts).
    let mut decoder = StreamDecoder::new();
    let whole = r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}"#;
    let again = r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"arguments":" "}}]}}]}"#;
    let events: Vec<_> = [whole, again]
        .iter()
        .flat_map(|d| decoder.decode(&SseEvent { event: None, data: (*d).into() }).unwrap())
        .collect();
    assert_eq!(
        events[1..],
        [
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c".into(), name: "f".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{}".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: " ".into() },
        ]
    );
}

fn neutral_stream() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start { id: "chatcmpl-x".into(), model: "m".into(), created: 1_700_000_000 },
        StreamEvent::ThinkingDelta { choice: 0, text: "hm".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "sig".into() },
        StreamEvent::TextDelta { choice: 0, text: "Hi".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "1}".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        StreamEvent::Usage {
            usage: Usage { input: 5, cached_input: 1, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 2 },
            cost_usd: Some(0.25),
        },
    ]
}

fn encode_all(include_usage: bool, events: &[StreamEvent]) -> Vec<SseEvent> {
    let mut encoder = StreamEncoder::new(include_usage);
    let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    out.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "[DONE] once");
    out
}

#[test]
fn encoded_stream_is_well_formed() {
    let events = neutral_stream();
    let out = encode_all(true, &events);
    assert!(out.iter().all(|e| e.event.is_none()));
    assert_eq!(out.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = out[..out.len() - 1].iter().map(|e| parse(&e.data)).collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!((chunk["id"].as_str(), chunk["created"].as_u64()), (Some("chatcmpl-x"), Some(1_700_000_000)));
    }
    let deltas: Vec<&Value> = chunks[..chunks.len() - 1].iter().map(|c| &c["choices"][0]["delta"]).collect();
    assert_eq!(*deltas[0], json!({"role": "assistant", "content": ""}));
    assert_eq!(*deltas[1], json!({"reasoning_content": "hm"}));
    assert_eq!(*deltas[2], json!({"content": "Hi"}));
    assert_eq!(
        *deltas[3],
        json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]})
    );
    assert_eq!(*deltas[4], json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}));
    assert_eq!(*deltas[6], json!({}));
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "tool_calls");
    assert!(chunks[..6].iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 12);
    assert_eq!(usage["usage"]["cost"], 0.25);

    // Without include_usage: no usage chunk.
    let out = encode_all(false, &events);
    assert_eq!(out.len(), 7 + 1);
    assert!(out.iter().all(|e| !e.data.contains("\"usage\"")));

    // And back: the same events, less what OpenAI cannot say (the signature).
    let decoded = decode_all(&encode_all(true, &events));
    let expected: Vec<_> = events.into_iter().filter(|e| !matches!(e, StreamEvent::ThinkingSignature { .. })).collect();
    assert_eq!(decoded, expected);
}

#[test]
fn encoded_stream_errors_and_late_starts() {
    let out = encode_all(
        false,
        &[
            StreamEvent::TextDelta { choice: 1, text: "x".into() },
            StreamEvent::Error { message: "upstream died".into(), kind: "upstream_error".into() },
        ],
    );
    assert_eq!(parse(&out[0].data)["choices"][0]["delta"]["role"], "assistant", "role first, even without Start");
    assert_eq!(parse(&out[0].data)["choices"][0]["index"], 1);
    assert_eq!(
        parse(&out[2].data),
        json!({"error": {"message": "upstream died", "type": "upstream_error", "code": null, "param": null}})
    );
    assert_eq!(out[3].data, "[DONE]");
}
