//! Tests of the Gemini client side: requests from Gemini clients read (`client_request.rs`, `schema.rs`), answers
//! and streams written for them (`response.rs`, `stream.rs`), and signatures carried both ways (`signatures.rs`).

use serde_json::{Value, json};

use super::signatures::{self, Carried};
use super::*;
use crate::protocol::neutral::{
    ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature, StopReason,
    StreamEvent, SystemBlock, ToolChoice, Usage,
};
use crate::protocol::{SseEvent, anthropic};

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn decode(body: Value) -> crate::protocol::neutral::ChatRequest {
    decode_request(&body, false).unwrap_or_else(|e| panic!("{e:?}: {body}"))
}

/// The field a bad body's error names.
fn bad(body: Value) -> String {
    let error = decode_request(&body, false).expect_err("a bad body is refused");
    error.param.unwrap_or_else(|| panic!("no field named: {}", error.message))
}

/// A Gemini CLI–shaped turn: system instruction, tools with `parametersJsonSchema`, a signed call and its response.
#[test]
fn gemini_cli_shaped_request_decodes() {
    let body = json!({
        "systemInstruction": { "role": "user", "parts": [{ "text": "You are a CLI agent." }, { "text": "Be terse." }] },
        "contents": [
            { "role": "user", "parts": [{ "text": "<session context>" }, { "text": "list the files" }] },
            { "role": "model", "parts": [
                { "text": "Planning the listing.", "thought": true },
                { "functionCall": { "id": "fc-1", "name": "list_directory", "args": { "path": "." } },
                  "thoughtSignature": "Q2lRQm9wYXF1ZQ==" }
            ] },
            { "role": "user", "parts": [
                { "functionResponse": { "id": "fc-1", "name": "list_directory", "response": { "output": "a.rs\nb.rs" } } }
            ] }
        ],
        "tools": [{ "functionDeclarations": [{
            "name": "list_directory", "description": "Lists a folder",
            "parametersJsonSchema": { "type": "object", "properties": { "path": { "type": "string" } }, "required": ["path"] }
        }] }],
        "generationConfig": { "temperature": 1, "topP": 0.95, "topK": 64, "thinkingConfig": { "includeThoughts": true } }
    });
    let request = decode_request(&body, true).unwrap();
    assert!(request.stream && request.stream_usage, "the method says whether to stream");
    assert_eq!(request.model, "", "the model is in the URL");
    assert_eq!(
        request.system,
        vec![
            SystemBlock { text: "You are a CLI agent.".into(), cache: None },
            SystemBlock { text: "Be terse.".into(), cache: None }
        ]
    );
    assert_eq!(
        request.messages[0],
        Message { role: Role::User, content: vec![text("<session context>"), text("list the files")] }
    );
    assert_eq!(
        request.messages[1],
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Thinking { text: "Planning the listing.".into(), signature: None },
                Part::Thinking { text: String::new(), signature: Some(Signature::gemini("Q2lRQm9wYXF1ZQ==")) },
                Part::ToolCall {
                    id: "fc-1".into(),
                    name: "list_directory".into(),
                    arguments: r#"{"path":"."}"#.into()
                },
            ]
        }
    );
    assert_eq!(
        request.messages[2].content,
        vec![Part::ToolResult {
            call_id: "fc-1".into(),
            name: Some("list_directory".into()),
            content: vec![text("a.rs\nb.rs")],
            is_error: false,
            cache: None
        }]
    );
    assert_eq!(request.tools.len(), 1);
    assert_eq!(request.tools[0].parameters["required"], json!(["path"]));
    assert_eq!((request.temperature, request.top_p, request.top_k), (Some(1.0), Some(0.95), Some(64)));
    assert_eq!(request.reasoning, None, "includeThoughts alone asks nothing of the upstream");
}

#[test]
fn every_generation_field_decodes() {
    let request = decode(json!({
        "contents": [{ "parts": [{ "text": "hi" }] }],
        "generationConfig": {
            "temperature": 0.3, "topP": 0.5, "topK": 40.0, "maxOutputTokens": 256, "candidateCount": 2, "seed": 7,
            "presencePenalty": 0.1, "frequencyPenalty": 0.2, "stopSequences": ["END", "STOP"],
            "responseMimeType": "application/json",
            "responseJsonSchema": { "type": "object", "properties": { "ok": { "type": "boolean" } } },
            "thinkingConfig": { "thinkingBudget": 2048, "includeThoughts": true },
            "responseModalities": ["TEXT"], "mediaResolution": "MEDIA_RESOLUTION_LOW"
        },
        "safetySettings": [{ "category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE" }],
        "someFutureField": { "x": 1 }
    }));
    assert_eq!(request.messages[0].role, Role::User, "a turn without a role is the user's");
    assert_eq!((request.temperature, request.top_p, request.top_k), (Some(0.3), Some(0.5), Some(40)));
    assert_eq!((request.max_tokens, request.n, request.seed), (Some(256), Some(2), Some(7)));
    assert_eq!((request.presence_penalty, request.frequency_penalty), (Some(0.1), Some(0.2)));
    assert_eq!(request.stop, ["END", "STOP"]);
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: json!({ "type": "object", "properties": { "ok": { "type": "boolean" } } }),
            strict: None,
            description: None
        })
    );
    assert_eq!(request.reasoning, Some(Reasoning { effort: None, budget_tokens: Some(2048), enabled: true }));
}

#[test]
fn json_mode_schemas_and_thinking_forms() {
    let config =
        |config: Value| decode(json!({ "contents": [{ "parts": [{ "text": "x" }] }], "generationConfig": config }));
    assert_eq!(
        config(json!({ "responseMimeType": "application/json" })).response_format,
        Some(ResponseFormat::JsonObject)
    );
    assert_eq!(config(json!({ "responseMimeType": "text/plain" })).response_format, None);
    let enum_text =
        config(json!({ "responseMimeType": "text/x.enum", "responseSchema": { "type": "STRING", "enum": ["A"] } }));
    assert_eq!(enum_text.response_format, None, "a bare enum answer has no neutral form");
    let classic = config(json!({ "responseMimeType": "application/json", "responseSchema": {
        "type": "OBJECT", "properties": { "n": { "type": "INTEGER", "nullable": true, "minimum": 1 } }, "required": ["n"] } }));
    let Some(ResponseFormat::JsonSchema { schema, .. }) = classic.response_format else { panic!("a schema") };
    assert_eq!(
        schema,
        json!({ "type": "object", "properties": { "n": { "type": ["integer", "null"], "minimum": 1.0 } }, "required": ["n"] })
    );

    let thinking = |thinking: Value| config(json!({ "thinkingConfig": thinking })).reasoning;
    assert_eq!(
        thinking(json!({ "thinkingBudget": 0 })),
        Some(Reasoning { effort: None, budget_tokens: None, enabled: false })
    );
    assert_eq!(
        thinking(json!({ "thinkingBudget": -1 })),
        Some(Reasoning { effort: None, budget_tokens: None, enabled: true })
    );
    assert_eq!(
        thinking(json!({ "thinkingLevel": "LOW", "includeThoughts": true })),
        Some(Reasoning { effort: Some("low".into()), budget_tokens: None, enabled: true })
    );
    assert_eq!(thinking(json!({ "includeThoughts": false })), None);
}

#[test]
fn snake_case_field_names_read_as_their_json_names() {
    // The Python SDK's spellings; Google's API takes both.
    let request = decode(json!({
        "system_instruction": { "parts": [{ "text": "sys" }] },
        "contents": [{ "role": "user", "parts": [{ "inline_data": { "mime_type": "image/png", "data": "iVBORw0KGgo=" } }] }],
        "tools": [{ "function_declarations": [{ "name": "f", "parameters_json_schema": { "type": "object" } }] }],
        "tool_config": { "function_calling_config": { "mode": "ANY", "allowed_function_names": ["f"] } },
        "generation_config": { "max_output_tokens": 9, "thinking_config": { "thinking_level": "high" } }
    }));
    assert_eq!(request.system[0].text, "sys");
    assert_eq!(
        request.messages[0].content,
        vec![Part::Image {
            source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
            detail: None,
            cache: None
        }]
    );
    assert_eq!(request.tools[0].parameters, json!({ "type": "object" }));
    assert_eq!(request.tool_choice, Some(ToolChoice::Named("f".into())));
    assert_eq!(request.max_tokens, Some(9));
    assert_eq!(request.reasoning.unwrap().effort.as_deref(), Some("high"));
    // Both spellings at once: the JSON name wins.
    let both = decode(json!({ "contents": [{ "parts": [{ "text": "x" }] }],
        "generationConfig": { "maxOutputTokens": 5, "max_output_tokens": 6 } }));
    assert_eq!(both.max_tokens, Some(5));
}

#[test]
fn tools_tool_config_and_built_in_tools() {
    let request = decode(json!({
        "contents": [{ "parts": [{ "text": "x" }] }],
        "tools": [
            { "googleSearch": {} },
            { "codeExecution": {} },
            { "functionDeclarations": [
                { "name": "classic", "description": "OpenAPI schema", "parameters": {
                    "type": "OBJECT", "properties": {
                        "tags": { "type": "ARRAY", "items": { "type": "STRING", "enum": ["a", "b"] }, "minItems": "1" },
                        "when": { "type": "STRING", "format": "date-time", "example": "2026-01-01T00:00:00Z" },
                        "either": { "anyOf": [{ "type": "STRING" }, { "type": "NUMBER" }], "nullable": true }
                    }, "propertyOrdering": ["tags", "when"] } },
                { "name": "bare" }
            ] }
        ],
        "toolConfig": { "functionCallingConfig": { "mode": "ANY" } }
    }));
    assert_eq!(
        request.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["classic", "bare"],
        "built-ins dropped"
    );
    assert_eq!(
        request.tools[0].parameters,
        json!({ "type": "object", "properties": {
            "tags": { "type": "array", "minItems": 1, "items": { "type": "string", "enum": ["a", "b"] } },
            "when": { "type": "string", "format": "date-time", "examples": ["2026-01-01T00:00:00Z"] },
            "either": { "anyOf": [{ "type": "string" }, { "type": "number" }, { "type": "null" }] }
        } })
    );
    assert_eq!(request.tools[1].parameters, json!({ "type": "object", "properties": {} }));
    assert_eq!(request.tool_choice, Some(ToolChoice::Required));

    let mode = |mode: &str| {
        decode(json!({ "contents": [{ "parts": [{ "text": "x" }] }],
            "toolConfig": { "functionCallingConfig": { "mode": mode } } }))
        .tool_choice
    };
    assert_eq!(mode("AUTO"), Some(ToolChoice::Auto));
    assert_eq!(mode("VALIDATED"), Some(ToolChoice::Auto));
    assert_eq!(mode("NONE"), Some(ToolChoice::None));
    assert_eq!(mode("MODE_UNSPECIFIED"), None);
}

#[test]
fn call_ids_are_made_and_matched_by_name() {
    let request = decode(json!({ "contents": [
        { "role": "user", "parts": [{ "text": "weather and time?" }] },
        { "role": "model", "parts": [
            { "functionCall": { "name": "get_weather", "args": { "city": "Paris" } } },
            { "functionCall": { "name": "get_time" } }
        ] },
        { "role": "user", "parts": [
            { "functionResponse": { "name": "get_time", "response": { "result": { "t": "14:05" } } } },
            { "functionResponse": { "name": "get_weather", "response": { "error": "offline" } } },
            { "functionResponse": { "name": "get_weather", "response": { "temp": 18, "sky": "clear" },
              "parts": [{ "inlineData": { "mimeType": "image/png", "data": "AAAA" } }] } }
        ] }
    ] }));
    let calls: Vec<(&str, &str)> = request.messages[1]
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, arguments, .. } => Some((id.as_str(), arguments.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [("call_1", r#"{"city":"Paris"}"#), ("call_2", "{}")]);
    let results: Vec<(&str, &str, bool, usize)> = request.messages[2]
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolResult { call_id, content, is_error, .. } => match &content[0] {
                Part::Text { text, .. } => Some((call_id.as_str(), text.as_str(), *is_error, content.len())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [
            ("call_2", r#"{"t":"14:05"}"#, false, 1),
            ("call_1", "offline", true, 1),
            ("get_weather", r#"{"temp":18,"sky":"clear"}"#, false, 2),
        ],
        "results answer the earliest open call of their name; one with no call left keeps its name"
    );
}

#[test]
fn wrong_types_name_their_field() {
    let turn = |parts: Value| json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }, { "role": "model", "parts": parts }] });
    assert_eq!(
        bad(turn(json!([{ "functionCall": { "name": "f", "args": "{}" } }]))),
        "contents[1].parts[0].functionCall.args"
    );
    assert_eq!(
        bad(turn(json!([{ "text": "a" }, { "functionCall": { "args": {} } }]))),
        "contents[1].parts[1].functionCall.name"
    );
    assert_eq!(bad(turn(json!([{ "text": 5 }]))), "contents[1].parts[0].text");
    assert_eq!(bad(turn(json!("hi"))), "contents[1].parts");
    assert_eq!(bad(json!({ "contents": "hi" })), "contents");
    assert_eq!(bad(json!({})), "contents");
    assert_eq!(bad(json!({ "contents": [] })), "contents");
    assert_eq!(bad(json!({ "contents": [{ "role": "assistant", "parts": [] }] })), "contents[0].role");
    assert_eq!(
        bad(json!({ "contents": [{ "parts": [{ "inlineData": { "data": "AA" } }] }] })),
        "contents[0].parts[0].inlineData.mimeType"
    );
    let with = |key: &str, value: Value| {
        let mut body = json!({ "contents": [{ "parts": [{ "text": "x" }] }] });
        body[key] = value;
        bad(body)
    };
    assert_eq!(with("generationConfig", json!({ "temperature": "hot" })), "generationConfig.temperature");
    assert_eq!(with("generationConfig", json!({ "topK": 1.5 })), "generationConfig.topK");
    assert_eq!(with("generationConfig", json!({ "stopSequences": ["a", 1] })), "generationConfig.stopSequences[1]");
    assert_eq!(
        with("generationConfig", json!({ "thinkingConfig": { "thinkingLevel": "LOTS" } })),
        "generationConfig.thinkingConfig.thinkingLevel"
    );
    assert_eq!(
        with("toolConfig", json!({ "functionCallingConfig": { "mode": "SOMETIMES" } })),
        "toolConfig.functionCallingConfig.mode"
    );
    assert_eq!(
        with(
            "tools",
            json!([{ "functionDeclarations": [{ "name": "f", "parameters": { "properties": { "a": { "type": 3 } } } }] }])
        ),
        "tools[0].functionDeclarations[0].parameters.properties.a.type"
    );
    assert_eq!(
        with("tools", json!([{ "functionDeclarations": [{ "name": "f", "parametersJsonSchema": [] }] }])),
        "tools[0].functionDeclarations[0].parametersJsonSchema"
    );
    assert_eq!(
        with("cachedContent", json!("cachedContents/abc")),
        "cachedContent",
        "a cache at Google cannot be translated"
    );
    assert_eq!(with("systemInstruction", json!(5)), "systemInstruction");
}

fn answer(content: Vec<Part>, stop: StopReason) -> ChatResponse {
    ChatResponse {
        id: "resp-1".into(),
        model: "up-model".into(),
        created: 0,
        choices: vec![Choice { index: 0, content, stop: Some(stop) }],
        usage: Some(Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 3 }),
        cost_usd: None,
    }
}

#[test]
fn whole_answers_encode() {
    let body = encode_response(&answer(
        vec![
            Part::Thinking { text: "Hmm.".into(), signature: None },
            text("It is "),
            text("sunny."),
            Part::ToolCall { id: "toolu_1".into(), name: "get_time".into(), arguments: r#"{"tz":"CET"}"#.into() },
        ],
        StopReason::ToolUse,
    ));
    assert_eq!(
        body,
        json!({
            "candidates": [{
                "content": { "parts": [
                    { "text": "Hmm.", "thought": true },
                    { "text": "It is " },
                    { "text": "sunny." },
                    { "functionCall": { "id": "toolu_1", "name": "get_time", "args": { "tz": "CET" } } }
                ], "role": "model" },
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": { "promptTokenCount": 12, "candidatesTokenCount": 4, "totalTokenCount": 19,
                "cachedContentTokenCount": 4, "thoughtsTokenCount": 3 },
            "modelVersion": "up-model",
            "responseId": "resp-1"
        })
    );
}

#[test]
fn finish_reasons_map() {
    for (stop, expected) in [
        (StopReason::EndTurn, "STOP"),
        (StopReason::StopSequence(Some("END".into())), "STOP"),
        (StopReason::ToolUse, "STOP"),
        (StopReason::MaxTokens, "MAX_TOKENS"),
        (StopReason::ContentFilter, "SAFETY"),
        (StopReason::PauseTurn, "STOP"),
        (StopReason::Other("MALFORMED_FUNCTION_CALL".into()), "MALFORMED_FUNCTION_CALL"),
        (StopReason::Other("weird".into()), "OTHER"),
    ] {
        assert_eq!(finish_reason(&stop), expected, "{stop:?}");
    }
}

/// Found while designing the round trip: an Anthropic signature must reach a Gemini client in a form it can hold
/// (base64, which the Python SDK decodes to bytes) and come back to Anthropic with its thinking text.
#[test]
fn another_providers_signatures_round_trip_through_a_gemini_client() {
    let thinking = Part::Thinking { text: "Let me think.".into(), signature: Some("EqQBanthropic-sig".into()) };
    let redacted = Part::RedactedThinking { data: "EmwKAhgBEgy".into() };
    let call = Part::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: "{}".into() };
    let body = encode_response(&answer(vec![thinking.clone(), redacted.clone(), call.clone()], StopReason::ToolUse));
    let parts = body["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0], json!({ "text": "Let me think.", "thought": true }), "the thinking is shown");
    let carried = parts[1]["thoughtSignature"].as_str().expect("the call carries the signature");
    assert!(carried.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)), "valid base64: {carried}");
    assert!(parts[1].get("thought").is_none());

    // The client hands back only the call (Gemini CLI drops thought parts): the blocks come back whole, in order.
    let history = json!({ "contents": [
        { "role": "user", "parts": [{ "text": "go" }] },
        { "role": "model", "parts": [parts[1].clone()] },
        { "role": "user", "parts": [{ "functionResponse": { "id": "toolu_1", "name": "f", "response": { "output": "ok" } } }] }
    ] });
    let request = decode(history);
    assert_eq!(request.messages[1].content, vec![thinking.clone(), redacted.clone(), call]);
    // …and so they reach Anthropic, which takes its own signatures back.
    let upstream = anthropic::encode_request(&request);
    assert_eq!(
        upstream["messages"][1]["content"][0],
        json!({ "type": "thinking", "thinking": "Let me think.", "signature": "EqQBanthropic-sig" })
    );
    assert_eq!(upstream["messages"][1]["content"][1], json!({ "type": "redacted_thinking", "data": "EmwKAhgBEgy" }));

    // Re-encoded with the URL-safe alphabet and no padding (as a bytes-holding SDK may), it still reads.
    let bytes = base64_decode(carried);
    let url_safe = base64_url_safe_unpadded(&bytes);
    assert_eq!(signatures::read(&url_safe), Carried::Blocks(vec![thinking, redacted]));
    // With nothing after it, a signature gets a part of its own.
    let alone = encode_response(&answer(
        vec![Part::Thinking { text: "x".into(), signature: Some("sig".into()) }],
        StopReason::EndTurn,
    ));
    let parts = alone["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts[1]["text"], "");
    assert!(parts[1]["thoughtSignature"].is_string());
}

/// Found when the Gemini client side met the Responses upstream: OpenAI's encrypted reasoning rides to a Gemini
/// client like Anthropic's signatures do, and its next turn hands it back to OpenAI.
#[test]
fn openai_s_encrypted_reasoning_round_trips_through_a_gemini_client() {
    let thinking = Part::Thinking { text: "Let me think.".into(), signature: Some(Signature::openai("gAAAAB-enc")) };
    let body = encode_response(&answer(vec![thinking.clone(), text("Answer.")], StopReason::EndTurn));
    let parts = body["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts[0], json!({ "text": "Let me think.", "thought": true }), "the thinking is shown");
    let carried = parts[1]["thoughtSignature"].as_str().expect("the text carries the reasoning");
    assert_eq!(signatures::read(carried), Carried::Blocks(vec![thinking]));

    let history = json!({ "contents": [
        { "role": "user", "parts": [{ "text": "hi" }] },
        { "role": "model", "parts": [parts[1].clone()] },
        { "role": "user", "parts": [{ "text": "and then?" }] }
    ] });
    let upstream = crate::protocol::responses::encode_request(&decode(history));
    assert_eq!(
        upstream["input"][1],
        json!({ "type": "reasoning", "summary": [{ "type": "summary_text", "text": "Let me think." }],
            "encrypted_content": "gAAAAB-enc" })
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_url_safe_unpadded(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn gemini_signatures_are_raw_both_ways() {
    // Gemini's own: what the client sends is what Gemini made; the neutral form marks it, the client sees it raw.
    assert_eq!(signatures::read("CiQBopaque"), Carried::Gemini("gemini:CiQBopaque".into()));
    let body = encode_response(&answer(
        vec![
            Part::Thinking { text: "Thought.".into(), signature: Some(Signature::gemini("CiQBsig1")) },
            Part::Thinking { text: String::new(), signature: Some(Signature::gemini("CiQBsig2")) },
            text("Answer."),
        ],
        StopReason::EndTurn,
    ));
    assert_eq!(
        body["candidates"][0]["content"]["parts"],
        json!([
            { "text": "Thought.", "thought": true, "thoughtSignature": "CiQBsig1" },
            { "text": "Answer.", "thoughtSignature": "CiQBsig2" }
        ])
    );
    // A value that only looks like ours is Gemini's to judge.
    let fake = base64_url_safe_unpadded(b"switchboard-thinking:not json");
    assert!(matches!(signatures::read(&fake), Carried::Gemini(_)));
}

fn encode_stream(events: &[StreamEvent]) -> Vec<Value> {
    let mut encoder = StreamEncoder::new(false);
    let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    out.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "the end is written once");
    out.iter()
        .map(|e| {
            assert_eq!(e.event, None, "Gemini's events are unnamed");
            serde_json::from_str(&e.data).unwrap()
        })
        .collect()
}

fn start() -> StreamEvent {
    StreamEvent::Start { id: "r1".into(), model: "m".into(), created: 0 }
}

#[test]
fn stream_chunks_come_in_order_with_usage_last() {
    let usage = Usage { input: 12, cached_input: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 3 };
    let chunks = encode_stream(&[
        start(),
        StreamEvent::ThinkingDelta { choice: 0, text: "Let me ".into() },
        StreamEvent::ThinkingDelta { choice: 0, text: "think.".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "EqQBsig".into() },
        StreamEvent::TextDelta { choice: 0, text: "Hel".into() },
        StreamEvent::TextDelta { choice: 0, text: "lo".into() },
        // Interleaved argument fragments, as OpenAI streams parallel calls.
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "a".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 1, id: "c2".into(), name: "b".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"x\":".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{}".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "1}".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        StreamEvent::Usage { usage, cost_usd: None },
    ]);
    let parts: Vec<&Value> = chunks.iter().map(|c| &c["candidates"][0]["content"]["parts"][0]).collect();
    assert_eq!(*parts[0], json!({ "text": "Let me ", "thought": true }));
    assert_eq!(*parts[1], json!({ "text": "think.", "thought": true }));
    assert_eq!(parts[2]["text"], "Hel");
    let Carried::Blocks(blocks) = signatures::read(parts[2]["thoughtSignature"].as_str().unwrap()) else {
        panic!("the first text part after the thinking carries it")
    };
    assert_eq!(blocks, [Part::Thinking { text: "Let me think.".into(), signature: Some("EqQBsig".into()) }]);
    assert_eq!(*parts[3], json!({ "text": "lo" }));
    let last = chunks.last().unwrap();
    assert_eq!(chunks.len(), 5, "{chunks:?}");
    assert_eq!(
        last["candidates"][0]["content"]["parts"],
        json!([
            { "functionCall": { "id": "c1", "name": "a", "args": { "x": 1 } } },
            { "functionCall": { "id": "c2", "name": "b", "args": {} } }
        ]),
        "calls arrive whole"
    );
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({ "promptTokenCount": 12, "candidatesTokenCount": 4, "totalTokenCount": 19,
            "cachedContentTokenCount": 4, "thoughtsTokenCount": 3 })
    );
    assert!(
        chunks[..4]
            .iter()
            .all(|c| c.get("usageMetadata").is_none() && c["candidates"][0].get("finishReason").is_none())
    );
    assert!(chunks.iter().all(|c| c["responseId"] == "r1" && c["modelVersion"] == "m"));
}

#[test]
fn stream_errors_and_early_ends() {
    let chunks = encode_stream(&[
        start(),
        StreamEvent::TextDelta { choice: 0, text: "Hi".into() },
        StreamEvent::Error { message: "the upstream stream broke".into(), kind: "upstream_error".into() },
        StreamEvent::TextDelta { choice: 0, text: "never".into() },
    ]);
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        chunks[1],
        json!({ "error": { "code": 502, "message": "the upstream stream broke", "status": "UNAVAILABLE" } })
    );

    let limited = encode_stream(&[StreamEvent::Error { message: "slow down".into(), kind: "rate_limit_error".into() }]);
    assert_eq!(limited[0]["error"]["status"], "RESOURCE_EXHAUSTED");

    // No stop and no usage: the end still comes, as a natural stop.
    let chunks = encode_stream(&[start(), StreamEvent::TextDelta { choice: 0, text: "Hi".into() }]);
    assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP");
    assert!(chunks.last().unwrap().get("usageMetadata").is_none());
    // Usage before the stop (some upstreams) ends it all the same.
    let chunks = encode_stream(&[
        start(),
        StreamEvent::Usage { usage: Usage::default(), cost_usd: None },
        StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens },
    ]);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(chunks[0]["candidates"][0]["content"]["parts"], json!([{ "text": "" }]));
}

#[test]
fn error_bodies_have_googles_statuses() {
    for (code, status) in [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (408, "DEADLINE_EXCEEDED"),
        (413, "INVALID_ARGUMENT"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (502, "UNAVAILABLE"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
    ] {
        assert_eq!(error_body(code, "m"), json!({ "error": { "code": code, "message": "m", "status": status } }));
    }
}
