//! Tests of `protocol/gemini/`, kept apart so the converter reads on its own.

use serde_json::{Value, json};

use super::response::decode_usage;
use super::*;
use crate::protocol::SseEvent;
use crate::protocol::neutral::{
    ChatRequest, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, StopReason, StreamEvent,
    SystemBlock, Tool, ToolChoice, Usage,
};

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn msg(role: Role, content: Vec<Part>) -> Message {
    Message { role, content }
}

fn sse(data: &str) -> SseEvent {
    SseEvent { event: None, data: data.into() }
}

fn tool(name: &str, parameters: Value) -> Tool {
    Tool { name: name.into(), description: Some(format!("{name} tool")), parameters, strict: None, cache: None }
}

fn fixture(name: &str) -> Value {
    let text = match name {
        "response_text" => include_str!("../fixtures/gemini/response_text.json"),
        "response_function_call" => include_str!("../fixtures/gemini/response_function_call.json"),
        "response_blocked" => include_str!("../fixtures/gemini/response_blocked.json"),
        "error" => include_str!("../fixtures/gemini/error.json"),
        _ => panic!("no fixture {name}"),
    };
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn method_paths() {
    assert_eq!(method_path("gemini-2.5-flash", false), "models/gemini-2.5-flash:generateContent");
    assert_eq!(method_path("gemini-2.5-flash", true), "models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert_eq!(method_path("models/gemini-2.5-pro", false), "models/gemini-2.5-pro:generateContent");
}

#[test]
fn minimal_request() {
    let request = ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![Message::text(Role::User, "Hi")],
        ..Default::default()
    };
    assert_eq!(encode_request(&request), json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hi" }] }] }));
}

#[test]
fn system_and_role_merging() {
    let request = ChatRequest {
        system: vec![
            SystemBlock { text: "Be brief.".into(), cache: None },
            SystemBlock { text: String::new(), cache: None },
            SystemBlock { text: "Be kind.".into(), cache: None },
        ],
        messages: vec![
            Message::text(Role::User, "a"),
            Message::text(Role::User, "b"),
            Message::text(Role::Assistant, "c"),
            msg(Role::Assistant, vec![]),
            Message::text(Role::Assistant, "d"),
            Message::text(Role::User, "e"),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(body["systemInstruction"], json!({ "parts": [{ "text": "Be brief." }, { "text": "Be kind." }] }));
    assert_eq!(
        body["contents"],
        json!([
            { "role": "user", "parts": [{ "text": "a" }, { "text": "b" }] },
            { "role": "model", "parts": [{ "text": "c" }, { "text": "d" }] },
            { "role": "user", "parts": [{ "text": "e" }] },
        ])
    );
    // No system blocks with text: no systemInstruction at all.
    let bare = ChatRequest { messages: vec![Message::text(Role::User, "x")], ..Default::default() };
    assert!(encode_request(&bare).get("systemInstruction").is_none());
}

#[test]
fn images() {
    let request = ChatRequest {
        messages: vec![msg(
            Role::User,
            vec![
                Part::Image {
                    source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
                    detail: None,
                    cache: None,
                },
                Part::Image {
                    source: ImageSource::Url("https://example.com/cat.WEBP?size=2".into()),
                    detail: Some("high".into()),
                    cache: None,
                },
                Part::Image { source: ImageSource::Url("https://example.com/photo".into()), detail: None, cache: None },
            ],
        )],
        ..Default::default()
    };
    assert_eq!(
        encode_request(&request)["contents"][0]["parts"],
        json!([
            { "inlineData": { "mimeType": "image/png", "data": "iVBORw0KGgo=" } },
            { "fileData": { "mimeType": "image/webp", "fileUri": "https://example.com/cat.WEBP?size=2" } },
            { "fileData": { "mimeType": "image/jpeg", "fileUri": "https://example.com/photo" } },
        ])
    );
}

#[test]
fn tool_calls_and_results() {
    let request = ChatRequest {
        messages: vec![
            Message::text(Role::User, "Weather in Paris and Rome?"),
            msg(
                Role::Assistant,
                vec![
                    Part::ToolCall {
                        id: "call_a".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                    Part::ToolCall { id: "call_b".into(), name: "get_time".into(), arguments: "not json".into() },
                    Part::ToolCall { id: "call_c".into(), name: "noop".into(), arguments: String::new() },
                ],
            ),
            // OpenAI tool messages: no name, found from the call with that id.
            msg(
                Role::User,
                vec![
                    Part::ToolResult {
                        call_id: "call_a".into(),
                        name: None,
                        content: vec![text("18C, sunny")],
                        is_error: false,
                        cache: None,
                    },
                    Part::ToolResult {
                        call_id: "call_b".into(),
                        name: None,
                        content: vec![text(r#"{"time":"12:00"}"#)],
                        is_error: false,
                        cache: None,
                    },
                ],
            ),
            msg(
                Role::User,
                vec![Part::ToolResult {
                    call_id: "call_c".into(),
                    name: Some("noop_named".into()),
                    content: vec![text("boom")],
                    is_error: true,
                    cache: None,
                }],
            ),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["contents"][1],
        json!({ "role": "model", "parts": [
            { "functionCall": { "id": "call_a", "name": "get_weather", "args": { "city": "Paris" } },
              "thoughtSignature": SKIP_SIGNATURE },
            { "functionCall": { "id": "call_b", "name": "get_time", "args": {} } },
            { "functionCall": { "id": "call_c", "name": "noop", "args": {} } },
        ] })
    );
    // Both tool messages merge into one user turn.
    assert_eq!(
        body["contents"][2],
        json!({ "role": "user", "parts": [
            { "functionResponse": { "id": "call_a", "name": "get_weather", "response": { "result": "18C, sunny" } } },
            { "functionResponse": { "id": "call_b", "name": "get_time", "response": { "time": "12:00" } } },
            { "functionResponse": { "id": "call_c", "name": "noop_named", "response": { "error": "boom" } } },
        ] })
    );
    assert_eq!(body["contents"].as_array().map(Vec::len), Some(3));
}

#[test]
fn thought_signatures_go_back_on_their_parts() {
    let request = ChatRequest {
        messages: vec![
            Message::text(Role::User, "q"),
            msg(
                Role::Assistant,
                vec![
                    Part::Thinking { text: "Let me think".into(), signature: Some("gemini:sigA".into()) },
                    Part::Thinking { text: "unsigned musing".into(), signature: None },
                    Part::RedactedThinking { data: "xyz".into() },
                    text("Calling."),
                    Part::Thinking { text: String::new(), signature: Some("gemini:sigB".into()) },
                    Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "{}".into() },
                    Part::ToolCall { id: "c2".into(), name: "g".into(), arguments: "{}".into() },
                ],
            ),
            Message::text(Role::User, "more"),
            msg(
                Role::Assistant,
                vec![Part::Thinking { text: String::new(), signature: Some("gemini:sigC".into()) }, text("Done.")],
            ),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            { "text": "Let me think", "thought": true, "thoughtSignature": "sigA" },
            { "text": "Calling." },
            { "functionCall": { "id": "c1", "name": "f", "args": {} }, "thoughtSignature": "sigB" },
            { "functionCall": { "id": "c2", "name": "g", "args": {} } },
        ])
    );
    assert_eq!(body["contents"][3]["parts"], json!([{ "text": "Done.", "thoughtSignature": "sigC" }]));
}

#[test]
fn tools_and_tool_choice() {
    let mut request = ChatRequest {
        messages: vec![Message::text(Role::User, "x")],
        tools: vec![
            tool(
                "get_weather",
                json!({
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": { "city": { "type": "string", "description": "City name" } },
                    "required": ["city"],
                    "additionalProperties": false,
                }),
            ),
            Tool {
                name: "ping".into(),
                description: None,
                parameters: json!({ "type": "object", "properties": {} }),
                strict: Some(true),
                cache: None,
            },
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["tools"],
        json!([{ "functionDeclarations": [
            {
                "name": "get_weather",
                "description": "get_weather tool",
                "parameters": {
                    "type": "OBJECT",
                    "properties": { "city": { "type": "STRING", "description": "City name" } },
                    "required": ["city"],
                },
            },
            { "name": "ping" },
        ] }])
    );
    assert_eq!(
        body["toolConfig"],
        json!({ "functionCallingConfig": { "mode": "ANY", "allowedFunctionNames": ["get_weather"] } })
    );
    for (choice, mode) in [(ToolChoice::Auto, "AUTO"), (ToolChoice::None, "NONE"), (ToolChoice::Required, "ANY")] {
        request.tool_choice = Some(choice);
        assert_eq!(encode_request(&request)["toolConfig"], json!({ "functionCallingConfig": { "mode": mode } }));
    }
    request.tool_choice = None;
    request.tools.clear();
    let body = encode_request(&request);
    assert!(body.get("tools").is_none() && body.get("toolConfig").is_none());
}

#[test]
fn schema_sanitising() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:x",
        "type": "object",
        "strict": true,
        "additionalProperties": false,
        "properties": {
            "name": { "type": ["string", "null"], "minLength": 1, "format": "email", "examples": ["a@b.c"] },
            "count": { "type": "integer", "exclusiveMinimum": 0, "minimum": 1, "multipleOf": 2 },
            "tags": { "type": "array", "items": { "type": "string", "pattern": "^[a-z]+$" }, "uniqueItems": true },
            "mode": { "const": "fast" },
            "level": { "enum": [1, 2, null] },
            "when": { "type": "string", "format": "date-time" },
            "address": { "$ref": "#/$defs/Address", "description": "Where" },
            "maybe": { "anyOf": [{ "type": "number" }, { "type": "null" }] },
            "either": { "oneOf": [{ "type": "string" }, { "type": "boolean" }] },
            "extra": { "type": "object", "additionalProperties": { "type": "string" } },
            "combined": { "allOf": [
                { "type": "object", "properties": { "a": { "type": "string" } }, "required": ["a"] },
                { "properties": { "b": { "type": "integer" } }, "required": ["b"] }
            ] },
            "node": { "$ref": "#/$defs/Node" },
            "missing": { "$ref": "#/$defs/Nope" },
        },
        "required": ["name", "ghost"],
        "$defs": {
            "Address": { "type": "object", "properties": { "street": { "type": "string" } }, "additionalProperties": false },
            "Node": { "type": "object", "properties": { "child": { "$ref": "#/$defs/Node" } } },
        },
    });
    let out = sanitize_schema(&schema);
    let properties = &out["properties"];
    assert_eq!(out["type"], "OBJECT");
    assert_eq!(out["required"], json!(["name"]));
    for key in ["$schema", "$id", "strict", "additionalProperties", "$defs"] {
        assert!(out.get(key).is_none(), "{key} kept");
    }
    assert_eq!(properties["name"], json!({ "type": "STRING", "minLength": 1, "nullable": true }));
    assert_eq!(properties["count"], json!({ "type": "INTEGER", "minimum": 1 }));
    assert_eq!(properties["tags"], json!({ "type": "ARRAY", "items": { "type": "STRING", "pattern": "^[a-z]+$" } }));
    assert_eq!(properties["mode"], json!({ "type": "STRING", "enum": ["fast"] }));
    assert_eq!(properties["level"], json!({ "type": "STRING", "enum": ["1", "2"], "nullable": true }));
    assert_eq!(properties["when"], json!({ "type": "STRING", "format": "date-time" }));
    assert_eq!(
        properties["address"],
        json!({ "type": "OBJECT", "properties": { "street": { "type": "STRING" } }, "description": "Where" })
    );
    assert_eq!(properties["maybe"], json!({ "type": "NUMBER", "nullable": true }));
    assert_eq!(properties["either"], json!({ "anyOf": [{ "type": "STRING" }, { "type": "BOOLEAN" }] }));
    assert_eq!(properties["extra"], json!({}));
    assert_eq!(
        properties["combined"],
        json!({
            "type": "OBJECT",
            "properties": { "a": { "type": "STRING" }, "b": { "type": "INTEGER" } },
            "required": ["a", "b"],
        })
    );
    assert_eq!(properties["missing"], json!({}));
    // A recursive ref is unrolled a bounded number of times and ends untyped.
    let mut depth = 0;
    let mut node = &properties["node"];
    while let Some(child) = node.get("properties").and_then(|p| p.get("child")) {
        node = child;
        depth += 1;
    }
    assert!((1..=MAX_REF_DEPTH).contains(&depth), "depth {depth}");
    assert_eq!(node, &json!({}));
}

#[test]
fn generation_config_fields() {
    let request = ChatRequest {
        messages: vec![Message::text(Role::User, "x")],
        max_tokens: Some(256),
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        seed: Some(7),
        presence_penalty: Some(0.1),
        frequency_penalty: Some(0.2),
        n: Some(2),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({ "type": "object", "properties": { "a": { "type": "string" } }, "additionalProperties": false }),
            strict: Some(true),
            description: None,
        }),
        reasoning: Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }),
        ..Default::default()
    };
    assert_eq!(
        encode_request(&request)["generationConfig"],
        json!({
            "maxOutputTokens": 256,
            "temperature": 0.5,
            "topP": 0.9,
            "topK": 40,
            "stopSequences": ["END"],
            "seed": 7,
            "presencePenalty": 0.1,
            "frequencyPenalty": 0.2,
            "candidateCount": 2,
            "responseMimeType": "application/json",
            "responseSchema": { "type": "OBJECT", "properties": { "a": { "type": "STRING" } } },
            "thinkingConfig": { "thinkingBudget": 16384, "includeThoughts": true },
        })
    );

    let json_object = ChatRequest {
        response_format: Some(ResponseFormat::JsonObject),
        reasoning: Some(Reasoning { effort: None, budget_tokens: None, enabled: false }),
        ..Default::default()
    };
    assert_eq!(
        encode_request(&json_object)["generationConfig"],
        json!({ "responseMimeType": "application/json", "thinkingConfig": { "thinkingBudget": 0 } })
    );
    let budget = ChatRequest {
        reasoning: Some(Reasoning { effort: None, budget_tokens: Some(3000), enabled: true }),
        ..Default::default()
    };
    assert_eq!(
        encode_request(&budget)["generationConfig"]["thinkingConfig"],
        json!({ "thinkingBudget": 3000, "includeThoughts": true })
    );
    let flash_max = ChatRequest {
        model: "gemini-2.5-flash".into(),
        reasoning: Some(Reasoning { effort: Some("max".into()), budget_tokens: None, enabled: true }),
        ..Default::default()
    };
    assert_eq!(encode_request(&flash_max)["generationConfig"]["thinkingConfig"]["thinkingBudget"], 24_576);
    let pro_off = ChatRequest {
        model: "gemini-2.5-pro".into(),
        reasoning: Some(Reasoning { effort: None, budget_tokens: None, enabled: false }),
        ..Default::default()
    };
    assert!(encode_request(&pro_off).get("generationConfig").is_none());
    let plain = ChatRequest { response_format: Some(ResponseFormat::Text), ..Default::default() };
    assert!(encode_request(&plain).get("generationConfig").is_none());
}

#[test]
fn decodes_text_response() {
    let response = decode_response(&fixture("response_text")).expect("decodes");
    assert_eq!(response.id, "mAitaLmkHPPlz7IPvtfUqQc");
    assert_eq!(response.model, "gemini-2.5-flash");
    assert_eq!(
        response.choices,
        vec![Choice {
            index: 0,
            content: vec![
                Part::Thinking { text: "**Considering the question**\n".into(), signature: None },
                text("AI learns patterns from data to make predictions."),
            ],
            stop: Some(StopReason::EndTurn),
        }]
    );
    assert_eq!(
        response.usage,
        Some(Usage { input: 8, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 10 + 412, reasoning: 412 })
    );
}

#[test]
fn decodes_function_calls() {
    let response = decode_response(&fixture("response_function_call")).expect("decodes");
    let choice = &response.choices[0];
    assert_eq!(choice.stop, Some(StopReason::ToolUse));
    assert_eq!(
        choice.content,
        vec![
            Part::Thinking { text: String::new(), signature: Some("gemini:CiQB0e2Kb7sig==".into()) },
            Part::ToolCall {
                id: "call_0".into(),
                name: "set_light_values".into(),
                arguments: r#"{"brightness":25,"color_temp":"warm"}"#.into(),
            },
            Part::ToolCall { id: "fc-7".into(), name: "get_time".into(), arguments: "{}".into() },
            Part::ToolCall { id: "call_1".into(), name: "noop".into(), arguments: "{}".into() },
        ]
    );
    // Gemini-generated ids are absent on the first call; the response id falls back to a generated one.
    assert!(response.id.starts_with("gemini-"));
    assert_eq!(
        response.usage,
        Some(Usage {
            input: 120,
            cached_input: 100,
            cache_write: 0,
            cache_write_1h: 0,
            output: 20 + 30,
            reasoning: 30
        })
    );
}

#[test]
fn blocked_prompt() {
    let response = decode_response(&fixture("response_blocked")).expect("decodes");
    assert_eq!(response.choices, vec![Choice { index: 0, content: vec![], stop: Some(StopReason::ContentFilter) }]);
    assert_eq!(response.usage.map(|u| u.input), Some(7));
}

#[test]
fn error_body_is_an_error() {
    let error = decode_response(&fixture("error")).expect_err("an error body");
    assert!(error.message.contains("API key not valid"));
    assert!(decode_response(&json!([1])).is_err());
}

#[test]
fn finish_reason_table() {
    let table = [
        ("STOP", false, StopReason::EndTurn),
        ("STOP", true, StopReason::ToolUse),
        ("MAX_TOKENS", false, StopReason::MaxTokens),
        ("MAX_TOKENS", true, StopReason::MaxTokens),
        ("SAFETY", false, StopReason::ContentFilter),
        ("RECITATION", false, StopReason::ContentFilter),
        ("BLOCKLIST", false, StopReason::ContentFilter),
        ("PROHIBITED_CONTENT", false, StopReason::ContentFilter),
        ("SPII", false, StopReason::ContentFilter),
        ("IMAGE_SAFETY", false, StopReason::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", false, StopReason::Other("MALFORMED_FUNCTION_CALL".into())),
        ("LANGUAGE", false, StopReason::Other("LANGUAGE".into())),
        ("OTHER", false, StopReason::Other("OTHER".into())),
    ];
    for (reason, call, expected) in table {
        assert_eq!(stop_reason(reason, call), expected, "{reason}");
    }
}

#[test]
fn usage_arithmetic() {
    let usage = decode_usage(&json!({
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 50,
        "thoughtsTokenCount": 200,
        "toolUsePromptTokenCount": 30,
        "totalTokenCount": 1280,
    }));
    assert_eq!(
        usage,
        Usage { input: 1030, cached_input: 600, cache_write: 0, cache_write_1h: 0, output: 250, reasoning: 200 }
    );
    // Everything counted once: input + output is Gemini's total.
    assert_eq!(usage.input + usage.output, 1280);
    assert_eq!(decode_usage(&json!({})), Usage::default());
}

#[test]
fn stream_of_chunks() {
    let body = include_str!("../fixtures/gemini/stream.sse");
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for data in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        events.extend(decoder.decode(&sse(data)).expect("decodes"));
    }
    events.extend(decoder.finish());
    let Some(StreamEvent::Start { id, model, .. }) = events.first() else { panic!("no start: {events:?}") };
    assert_eq!((id.as_str(), model.as_str()), ("resp-1", "gemini-2.5-flash"));
    assert_eq!(
        events[1..],
        [
            StreamEvent::ThinkingDelta { choice: 0, text: "Planning the calls.".into() },
            StreamEvent::ThinkingDelta { choice: 0, text: " Two lookups.".into() },
            StreamEvent::ThinkingSignature { choice: 0, signature: "gemini:sig-thought".into() },
            StreamEvent::TextDelta { choice: 0, text: "Let me ".into() },
            StreamEvent::TextDelta { choice: 0, text: "check.".into() },
            StreamEvent::ThinkingSignature { choice: 0, signature: "gemini:sig-call".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_0".into(), name: "get_weather".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: r#"{"city":"Paris"}"#.into() },
            StreamEvent::ToolCallStart { choice: 0, index: 1, id: "fc-2".into(), name: "get_time".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: r#"{"tz":"CET"}"#.into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage {
                    input: 40,
                    cached_input: 0,
                    cache_write: 0,
                    cache_write_1h: 0,
                    output: 25 + 60,
                    reasoning: 60
                },
                cost_usd: None,
            },
        ]
    );
    // Usage went out with the last chunk; finish adds nothing more.
    assert!(decoder.finish().is_empty());
}

#[test]
fn stream_usage_waits_for_finish_when_not_on_the_stop_chunk() {
    let mut decoder = StreamDecoder::new();
    let first = r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],
        "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":"m"}"#;
    let last =
        r#"{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}]}"#;
    let mut events = decoder.decode(&sse(first)).expect("decodes");
    events.extend(decoder.decode(&sse(last)).expect("decodes"));
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage { .. })));
    assert_eq!(events.last(), Some(&StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens }));
    let tail = decoder.finish();
    assert_eq!(
        tail,
        vec![StreamEvent::Usage {
            usage: Usage { input: 3, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 1, reasoning: 0 },
            cost_usd: None,
        }]
    );
    assert!(decoder.finish().is_empty());
}

#[test]
fn stream_blocked_prompt_and_errors() {
    let mut decoder = StreamDecoder::new();
    let events = decoder.decode(&sse(&fixture("response_blocked").to_string())).expect("decodes");
    assert!(matches!(events[0], StreamEvent::Start { .. }));
    assert_eq!(events[1], StreamEvent::Stop { choice: 0, reason: StopReason::ContentFilter });
    assert!(matches!(events[2], StreamEvent::Usage { .. }));
    assert_eq!(events.len(), 3);

    let mut decoder = StreamDecoder::new();
    let events = decoder.decode(&sse(&fixture("error").to_string())).expect("decodes");
    assert_eq!(
        events,
        vec![StreamEvent::Error {
            message: "API key not valid. Please pass a valid API key.".into(),
            kind: "INVALID_ARGUMENT".into(),
        }]
    );

    let mut decoder = StreamDecoder::new();
    assert!(decoder.decode(&sse("{not json")).is_err());
    assert!(decoder.decode(&sse("")).expect("empty is fine").is_empty());
    assert!(decoder.finish().is_empty());
}

/// Found by the conformance matrix (`matrix::messages::gemini::client_shaped`): Claude Code's history carries
/// Anthropic's thinking signatures, which went to Gemini as `thoughtSignature`s that Gemini rejects.
#[test]
fn another_providers_signatures_are_not_sent() {
    let request = ChatRequest {
        messages: vec![
            Message::text(Role::User, "q"),
            msg(
                Role::Assistant,
                vec![
                    Part::Thinking { text: "Anthropic's thinking".into(), signature: Some("EqQBCkYIBxgC".into()) },
                    Part::Thinking { text: String::new(), signature: Some("EqQBanother".into()) },
                    Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "{}".into() },
                ],
            ),
            Message::text(Role::User, "more"),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([{ "functionCall": { "id": "c1", "name": "f", "args": {} }, "thoughtSignature": SKIP_SIGNATURE }])
    );
    // Gemini's own come back unmarked, on their part.
    let answer = json!({ "candidates": [{ "content": { "role": "model", "parts": [
        { "text": "hm", "thought": true, "thoughtSignature": "CiQB" }, { "text": "Hi." } ] }, "finishReason": "STOP" }] });
    let response = decode_response(&answer).unwrap();
    let thinking = &response.choices[0].content[0];
    assert_eq!(thinking, &Part::Thinking { text: "hm".into(), signature: Some("gemini:CiQB".into()) });
    let back = encode_request(&ChatRequest {
        messages: vec![Message::text(Role::User, "q"), msg(Role::Assistant, response.choices[0].content.clone())],
        ..Default::default()
    });
    assert_eq!(back["contents"][1]["parts"][0]["thoughtSignature"], "CiQB");
}

/// Found by the conformance matrix (`matrix::*::gemini::mid_stream_error`): a stream that broke left no usage in
/// the ledger, although every chunk had reported the prompt's tokens.
#[test]
fn usage_so_far_survives_a_broken_stream() {
    let mut decoder = StreamDecoder::new();
    assert_eq!(decoder.usage_so_far(), None);
    let chunk = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],
        "usageMetadata":{"promptTokenCount":12,"cachedContentTokenCount":4,"totalTokenCount":12}}"#;
    decoder.decode(&SseEvent { event: None, data: chunk.replace('\n', "") }).unwrap();
    let usage = decoder.usage_so_far().unwrap();
    assert_eq!((usage.input, usage.cached_input, usage.output), (12, 4, 0));
}
