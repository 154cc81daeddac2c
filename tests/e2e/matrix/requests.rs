//! The requests: the fixtures of real clients and the body each cell's client sends.

use super::*;

pub(super) fn fixture(name: &str) -> Value {
    let path = e2e::package_dir().join("fixtures/clients").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(super) fn weather_tools_chat() -> Value {
    json!([
        { "type": "function", "function": { "name": "get_weather", "description": "Weather for a city",
          "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } } },
        { "type": "function", "function": { "name": "get_time", "description": "Time in a zone",
          "parameters": { "type": "object", "properties": { "tz": { "type": "string" } } } } }
    ])
}

pub(super) fn weather_tools_messages() -> Value {
    json!([
        { "name": "get_weather", "description": "Weather for a city",
          "input_schema": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } },
        { "name": "get_time", "description": "Time in a zone",
          "input_schema": { "type": "object", "properties": { "tz": { "type": "string" } } } }
    ])
}

pub(super) fn weather_tools_responses() -> Value {
    json!([
        { "type": "function", "name": "get_weather", "description": "Weather for a city",
          "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } },
        { "type": "function", "name": "get_time", "description": "Time in a zone",
          "parameters": { "type": "object", "properties": { "tz": { "type": "string" } } } }
    ])
}

pub(super) const JSON_SCHEMA: &str = r#"{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}"#;

/// The last user text of each case's request (what the fake echoes).
pub(super) fn user_text(case: Case) -> &'static str {
    match case {
        Case::MultiTurn => "second question",
        Case::Image => "what is in this picture?",
        _ => "hi there friend",
    }
}

/// The path and body a client of `inbound` sends for this cell.
pub(super) fn request(cell: &Cell) -> (String, Value) {
    let model = cell.client_model();
    let text = user_text(cell.case);
    let schema: Value = serde_json::from_str(JSON_SCHEMA).expect("the schema is JSON");
    match cell.inbound {
        Inbound::Chat => {
            let mut body = json!({ "model": model, "messages": [{ "role": "user", "content": text }] });
            match cell.case {
                Case::MultiTurn => {
                    body["messages"] = json!([
                        { "role": "system", "content": "You are terse." },
                        { "role": "user", "content": "first question" },
                        { "role": "assistant", "content": "first answer" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_chat(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_chat();
                    body["parallel_tool_calls"] = json!(true);
                    body["messages"] = json!([
                        { "role": "user", "content": "weather and time in Paris?" },
                        { "role": "assistant", "content": null, "tool_calls": [
                            { "id": "call_a", "type": "function", "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } },
                            { "id": "call_b", "type": "function", "function": { "name": "get_time", "arguments": "{\"tz\":\"CET\"}" } }
                        ] },
                        { "role": "tool", "tool_call_id": "call_a", "content": "18°C and sunny" },
                        { "role": "tool", "tool_call_id": "call_b", "content": "14:05" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::Image => {
                    body["messages"][0]["content"] = json!([
                        { "type": "text", "text": text },
                        { "type": "image_url", "image_url": { "url": format!("data:image/png;base64,{PNG}") } }
                    ]);
                }
                Case::JsonMode => {
                    body["response_format"] =
                        json!({ "type": "json_schema", "json_schema": { "name": "ok", "schema": schema } });
                }
                Case::Thinking => body["reasoning_effort"] = json!("low"),
                Case::StopSequence => body["stop"] = json!([STOP_SEQUENCE]),
                Case::MaxTokens => body["max_tokens"] = json!(5),
                Case::Client => body = fixture("continue-chat.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
                body["stream_options"] = json!({ "include_usage": true });
            }
            ("/v1/chat/completions".to_owned(), body)
        }
        Inbound::Messages => {
            let mut body =
                json!({ "model": model, "max_tokens": 1024, "messages": [{ "role": "user", "content": text }] });
            match cell.case {
                Case::MultiTurn => {
                    body["system"] = json!("You are terse.");
                    body["messages"] = json!([
                        { "role": "user", "content": "first question" },
                        { "role": "assistant", "content": "first answer" },
                        { "role": "user", "content": text }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_messages(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_messages();
                    body["messages"] = json!([
                        { "role": "user", "content": "weather and time in Paris?" },
                        { "role": "assistant", "content": [
                            { "type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": { "city": "Paris" } },
                            { "type": "tool_use", "id": "toolu_b", "name": "get_time", "input": { "tz": "CET" } }
                        ] },
                        { "role": "user", "content": [
                            { "type": "tool_result", "tool_use_id": "toolu_a", "content": "18°C and sunny" },
                            { "type": "tool_result", "tool_use_id": "toolu_b", "content": [{ "type": "text", "text": "14:05" }] },
                            { "type": "text", "text": text }
                        ] }
                    ]);
                }
                Case::Image => {
                    body["messages"][0]["content"] = json!([
                        { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": PNG } },
                        { "type": "text", "text": text }
                    ]);
                }
                Case::JsonMode => body["output_format"] = json!({ "type": "json_schema", "schema": schema }),
                Case::Thinking => body["thinking"] = json!({ "type": "enabled", "budget_tokens": 1024 }),
                Case::StopSequence => body["stop_sequences"] = json!([STOP_SEQUENCE]),
                Case::MaxTokens => body["max_tokens"] = json!(5),
                Case::Client => body = fixture("claude-code-messages.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
            }
            ("/v1/messages?beta=true".to_owned(), body)
        }
        Inbound::Responses => {
            let mut body = json!({ "model": model, "input": text, "store": false });
            match cell.case {
                Case::MultiTurn => {
                    body["instructions"] = json!("You are terse.");
                    body["input"] = json!([
                        { "role": "user", "content": "first question" },
                        { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "first answer" }] },
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
                    ]);
                }
                Case::ToolsStreamed => body["tools"] = weather_tools_responses(),
                Case::ParallelTools => {
                    body["tools"] = weather_tools_responses();
                    body["parallel_tool_calls"] = json!(true);
                    body["input"] = json!([
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "weather and time in Paris?" }] },
                        { "type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" },
                        { "type": "function_call", "call_id": "call_b", "name": "get_time", "arguments": "{\"tz\":\"CET\"}" },
                        { "type": "function_call_output", "call_id": "call_a", "output": "18°C and sunny" },
                        { "type": "function_call_output", "call_id": "call_b", "output": "14:05" },
                        { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }
                    ]);
                }
                Case::Image => {
                    body["input"] = json!([{ "type": "message", "role": "user", "content": [
                        { "type": "input_text", "text": text },
                        { "type": "input_image", "image_url": format!("data:image/png;base64,{PNG}") }
                    ] }]);
                }
                Case::JsonMode => {
                    body["text"] = json!({ "format": { "type": "json_schema", "name": "ok", "schema": schema } });
                }
                Case::Thinking => {
                    body["reasoning"] = json!({ "effort": "low", "summary": "auto" });
                    // As Codex asks: with nothing stored, the reasoning travels encrypted to the next turn.
                    body["include"] = json!(["reasoning.encrypted_content"]);
                }
                // The Responses API has no stop sequences: the upstream stops at one anyway.
                Case::StopSequence => {}
                Case::MaxTokens => body["max_output_tokens"] = json!(16),
                Case::Client => body = fixture("codex-responses.json"),
                Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
            }
            body["model"] = json!(model);
            if cell.case.streams() {
                body["stream"] = json!(true);
            }
            ("/v1/responses".to_owned(), body)
        }
        Inbound::Gemini => gemini_request(cell, &model, text, schema),
    }
}

pub(super) fn weather_tools_gemini() -> Value {
    json!([{ "functionDeclarations": [
        { "name": "get_weather", "description": "Weather for a city",
          "parametersJsonSchema": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] } },
        // The classic OpenAPI form, as older clients declare functions.
        { "name": "get_time", "description": "Time in a zone",
          "parameters": { "type": "OBJECT", "properties": { "tz": { "type": "STRING" } } } }
    ] }])
}

/// A Gemini client's path (the model and the method) and body.
fn gemini_request(cell: &Cell, model: &str, text: &str, schema: Value) -> (String, Value) {
    let user = |text: &str| json!({ "role": "user", "parts": [{ "text": text }] });
    let mut body = json!({ "contents": [user(text)] });
    match cell.case {
        Case::MultiTurn => {
            body["systemInstruction"] = json!({ "parts": [{ "text": "You are terse." }] });
            body["contents"] = json!([
                user("first question"),
                { "role": "model", "parts": [{ "text": "first answer" }] },
                user(text)
            ]);
        }
        Case::ToolsStreamed => body["tools"] = weather_tools_gemini(),
        Case::ParallelTools => {
            body["tools"] = weather_tools_gemini();
            body["contents"] = json!([
                user("weather and time in Paris?"),
                { "role": "model", "parts": [
                    { "functionCall": { "id": "call_a", "name": "get_weather", "args": { "city": "Paris" } } },
                    { "functionCall": { "id": "call_b", "name": "get_time", "args": { "tz": "CET" } } }
                ] },
                { "role": "user", "parts": [
                    { "functionResponse": { "id": "call_a", "name": "get_weather", "response": { "output": "18°C and sunny" } } },
                    { "functionResponse": { "id": "call_b", "name": "get_time", "response": { "output": "14:05" } } },
                    { "text": text }
                ] }
            ]);
        }
        Case::Image => {
            body["contents"][0]["parts"] =
                json!([{ "text": text }, { "inlineData": { "mimeType": "image/png", "data": PNG } }]);
        }
        Case::JsonMode => {
            body["generationConfig"] = json!({ "responseMimeType": "application/json", "responseJsonSchema": schema });
        }
        Case::Thinking => {
            body["generationConfig"] = json!({ "thinkingConfig": { "thinkingBudget": 1024, "includeThoughts": true } });
        }
        Case::StopSequence => body["generationConfig"] = json!({ "stopSequences": [STOP_SEQUENCE] }),
        Case::MaxTokens => body["generationConfig"] = json!({ "maxOutputTokens": 5 }),
        Case::Client => body = fixture("gemini-cli-generate.json"),
        Case::Plain | Case::Stream | Case::UpstreamError | Case::MidStreamError => {}
    }
    let method = if cell.case.streams() { "streamGenerateContent?alt=sse" } else { "generateContent" };
    (format!("/v1beta/models/{model}:{method}"), body)
}
