//! Tests of `protocol/responses/`, kept apart so the converter reads on its own.

use serde_json::json;

use super::*;
use crate::protocol::SseEvent;
use crate::protocol::neutral::{
    ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, StopReason, StreamEvent,
    SystemBlock, ToolChoice, Usage,
};

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn system(t: &str) -> SystemBlock {
    SystemBlock { text: t.into(), cache: None }
}

fn call(id: &str, name: &str, arguments: &str) -> Part {
    Part::ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() }
}

fn result(call_id: &str, name: &str, content: Vec<Part>) -> Part {
    Part::ToolResult { call_id: call_id.into(), name: Some(name.into()), content, is_error: false, cache: None }
}

fn thinking(t: &str, signature: Option<&str>) -> Part {
    Part::Thinking { text: t.into(), signature: signature.map(str::to_owned) }
}

fn parse(data: &str) -> Value {
    serde_json::from_str(data).unwrap()
}

#[test]
fn codex_shaped_request() {
    let body = parse(include_str!("../fixtures/responses/codex_request.json"));
    let request = decode_request(&body).unwrap();
    assert_eq!(request.model, "my-coder");
    assert_eq!(
        request.system,
        vec![
            system("<permissions instructions>Sandbox: workspace-write.</permissions instructions>"),
            system("You are a coding agent running in a terminal."),
        ]
    );
    let image = Part::Image {
        source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
        detail: Some("auto".into()),
        cache: None,
    };
    assert_eq!(
        request.messages,
        vec![
            Message {
                role: Role::User,
                content: vec![
                    text("<environment_context><cwd>/home/me/project</cwd></environment_context>"),
                    text("Why does the build fail?"),
                    image,
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    thinking("**Checking the build**\n\nRun cargo build first.", Some("EqQBCkgIBxABGAIiQsig")),
                    call("call_1", "exec_command", r#"{"cmd":"cargo build"}"#),
                    call("call_2", "exec_command", r#"{"cmd":"git status"}"#),
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    result("call_1", "exec_command", vec![text("error[E0425]: cannot find value `x`")]),
                    result("call_2", "exec_command", vec![text("clean")]),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    thinking("", Some("gemini:CiQBdGhvdWdodCBzaWduYXR1cmU=")),
                    text("`x` is undefined in main.rs."),
                ],
            },
            Message { role: Role::User, content: vec![text("Fix it.")] },
        ]
    );
    // Seven function tools kept; the namespace and the hosted web_search dropped.
    let names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "exec_command",
            "write_stdin",
            "update_plan",
            "apply_patch",
            "view_image",
            "list_mcp_resources",
            "request_user_input"
        ]
    );
    assert_eq!(request.tools[0].description.as_deref(), Some("Runs a command in a PTY."));
    assert_eq!(request.tools[0].strict, Some(false));
    assert_eq!(request.tools[0].parameters["required"], json!(["cmd"]));
    assert_eq!(request.tools[6].parameters, json!({"type": "object", "properties": {}}));
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(request.parallel_tool_calls, Some(true));
    assert_eq!(
        request.reasoning,
        Some(Reasoning { effort: Some("medium".into()), budget_tokens: None, enabled: true })
    );
    assert_eq!(request.response_format, None);
    assert_eq!(request.max_tokens, None);
    assert!(request.stream && request.stream_usage);
    assert_eq!(request.metadata, None);
    assert_eq!(request.user, None);
}

#[test]
fn simple_requests_decode() {
    let body = json!({
        "model": "gpt-4.1", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 256,
        "temperature": 0.2, "top_p": 0.9, "metadata": {"k": "v"}, "user": "u1",
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
        "reasoning": {"effort": "none"}
    });
    let request = decode_request(&body).unwrap();
    assert_eq!(request.system, vec![system("Be brief.")]);
    assert_eq!(request.messages, vec![Message::text(Role::User, "Hi")]);
    assert_eq!(request.max_tokens, Some(256));
    assert_eq!((request.temperature, request.top_p), (Some(0.2), Some(0.9)));
    assert_eq!(request.metadata.unwrap()["k"], "v");
    assert_eq!(request.user.as_deref(), Some("u1"));
    assert_eq!(request.tool_choice, Some(ToolChoice::Named("f".into())));
    assert_eq!(
        request.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: None
        })
    );
    assert!(!request.reasoning.unwrap().enabled);
    assert!(!request.stream && !request.stream_usage);

    // Other small forms: tool_choice strings and hosted choices, json_object, reasoning without an effort,
    // `safety_identifier` as the user, a system item, a user message without type, null fields as absent.
    let table = [
        (json!({"tool_choice": "required"}), "tool_choice", json!("Required")),
        (json!({"tool_choice": {"type": "web_search_preview"}}), "tool_choice", json!("Auto")),
        (
            json!({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": []}}),
            "tool_choice",
            json!("Required"),
        ),
        (json!({"text": {"format": {"type": "json_object"}}}), "response_format", json!("JsonObject")),
        (
            json!({"reasoning": {"summary": "auto"}}),
            "reasoning",
            json!({"effort": null, "budget_tokens": null, "enabled": false}),
        ),
        (json!({"safety_identifier": "hash"}), "user", json!("hash")),
        (
            json!({"instructions": null, "previous_response_id": null, "max_output_tokens": null}),
            "max_tokens",
            Value::Null,
        ),
    ];
    for (extra, key, expected) in table {
        let mut body =
            json!({"model": "m", "input": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let request = decode_request(&body).unwrap();
        assert_eq!(serde_json::to_value(&request).unwrap()[key], expected, "{extra}");
        assert_eq!(request.system, vec![system("S")]);
        assert_eq!(request.messages, vec![Message::text(Role::User, "U")]);
    }
}

#[test]
fn bad_requests_name_the_field() {
    let table = [
        (json!({"input": "x", "previous_response_id": "resp_1"}), "previous_response_id"),
        (json!({"input": "x", "conversation": "conv_1"}), "conversation"),
        (json!({"input": "x", "prompt": {"id": "pmpt_1"}}), "prompt"),
        (json!({"input": "x", "background": true}), "background"),
        (json!({"model": "m"}), "input"),
        (json!({"input": 3}), "input"),
        (json!({"input": [{"content": "x"}]}), "input[0].type"),
        (json!({"input": [{"role": "tool", "content": "x"}]}), "input[0].role"),
        (json!({"input": [{"role": "user", "content": 5}]}), "input[0].content"),
        (json!({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}), "input[0].content[0].text"),
        (json!({"input": [{"type": "function_call", "name": "f"}]}), "input[0].call_id"),
        (json!({"input": [{"type": "function_call_output", "call_id": "c"}]}), "input[0].output"),
        (json!({"input": [{"type": "function_call_output", "call_id": "c", "output": {}}]}), "input[0].output"),
        (json!({"input": [{"type": "reasoning", "summary": "x"}]}), "input[0].summary"),
        (json!({"input": "x", "instructions": ["a"]}), "instructions"),
        (json!({"input": "x", "tools": {}}), "tools"),
        (json!({"input": "x", "tools": [{"type": "function"}]}), "tools[0].name"),
        (
            json!({"input": "x", "tools": [{"type": "function", "name": "f", "parameters": "{}"}]}),
            "tools[0].parameters",
        ),
        (json!({"input": "x", "tool_choice": "any"}), "tool_choice"),
        (json!({"input": "x", "tool_choice": {"type": "function"}}), "tool_choice.name"),
        (json!({"input": "x", "max_output_tokens": -1}), "max_output_tokens"),
        (json!({"input": "x", "temperature": "hot"}), "temperature"),
        (json!({"input": "x", "parallel_tool_calls": "yes"}), "parallel_tool_calls"),
        (json!({"input": "x", "reasoning": {"effort": 3}}), "reasoning.effort"),
        (json!({"input": "x", "text": {"format": {"type": "xml"}}}), "text.format.type"),
        (json!({"input": "x", "stream": 1}), "stream"),
        (json!({"input": "x", "metadata": []}), "metadata"),
    ];
    for (body, param) in table {
        let error = decode_request(&body).unwrap_err();
        assert_eq!(error.param.as_deref(), Some(param), "{body}: {}", error.message);
        assert!(!error.message.ends_with('.'), "{}", error.message);
    }
    let error = decode_request(&json!({"input": "x", "previous_response_id": "resp_1"})).unwrap_err();
    assert_eq!(
        error.message,
        "Switchboard does not store responses; resend the whole conversation (Codex does this by default)"
    );
    assert!(decode_request(&json!([])).is_err());
}

fn response_with(content: Vec<Part>, stop: StopReason, usage: Option<Usage>) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "m".into(),
        created: 1_700_000_000,
        choices: vec![Choice { index: 0, content, stop: Some(stop) }],
        usage,
        cost_usd: None,
    }
}

#[test]
fn text_response_encodes() {
    let usage = Usage { input: 100, cached_input: 40, cache_write: 5, cache_write_1h: 0, output: 30, reasoning: 10 };
    let body = encode_response(&response_with(vec![text("Hello"), text(" world")], StopReason::EndTurn, Some(usage)));
    assert_eq!(body["id"], "resp_chatcmpl-1");
    assert_eq!((body["object"].as_str(), body["status"].as_str()), (Some("response"), Some("completed")));
    assert_eq!((body["created_at"].as_u64(), body["model"].as_str()), (Some(1_700_000_000), Some("m")));
    assert_eq!((&body["error"], &body["incomplete_details"]), (&Value::Null, &Value::Null));
    assert_eq!(
        body["output"],
        json!([{"type": "message", "id": "msg_chatcmpl-1_0", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello world", "annotations": []}]}])
    );
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 40}, "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 10}, "total_tokens": 130})
    );
    for key in ["parallel_tool_calls", "tool_choice", "tools", "text", "reasoning", "metadata", "temperature"] {
        assert!(body.get(key).is_some(), "{key}");
    }
    let mut unknown = response_with(vec![], StopReason::EndTurn, None);
    unknown.id = "resp_abc".into();
    let body = encode_response(&unknown);
    assert_eq!((body["id"].as_str(), &body["usage"], &body["output"]), (Some("resp_abc"), &Value::Null, &json!([])));
}

#[test]
fn tool_and_reasoning_responses_encode() {
    let content = vec![
        thinking("Need the weather.", Some("sig1")),
        Part::RedactedThinking { data: "opaque".into() },
        text("Checking."),
        call("call_a", "get_weather", r#"{"city":"Paris"}"#),
        call("call_b", "get_time", "{}"),
    ];
    let response = response_with(content.clone(), StopReason::ToolUse, None);
    let body = encode_response(&response);
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["output"],
        json!([
            {"type": "reasoning", "id": "rs_chatcmpl-1_0", "summary": [{"type": "summary_text", "text": "Need the weather."}],
                "encrypted_content": "anthropic:sig1"},
            {"type": "reasoning", "id": "rs_chatcmpl-1_1", "summary": [],
                "encrypted_content": "switchboard-redacted:opaque"},
            {"type": "message", "id": "msg_chatcmpl-1_2", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "id": "fc_chatcmpl-1_3", "call_id": "call_a", "name": "get_weather",
                "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_chatcmpl-1_4", "call_id": "call_b", "name": "get_time",
                "arguments": "{}", "status": "completed"},
        ])
    );
    // The client sends the output back as input next turn: the same assistant content comes out.
    let next = decode_request(&json!({"input": body["output"]})).unwrap();
    assert_eq!(next.messages, vec![Message { role: Role::Assistant, content }]);
    // Unsigned thinking (DeepSeek) has no encrypted_content.
    let body = encode_response(&response_with(vec![thinking("hm", None)], StopReason::EndTurn, None));
    assert!(body["output"][0].get("encrypted_content").is_none());
}

#[test]
fn incomplete_responses_encode() {
    let body = encode_response(&response_with(vec![text("Once upon")], StopReason::MaxTokens, None));
    assert_eq!(body["status"], "incomplete");
    assert_eq!(body["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(body["output"][0]["content"][0]["text"], "Once upon");
    let body = encode_response(&response_with(vec![], StopReason::ContentFilter, None));
    assert_eq!(
        (body["status"].as_str(), &body["incomplete_details"]["reason"]),
        (Some("incomplete"), &json!("content_filter"))
    );
    for stop in [StopReason::StopSequence(None), StopReason::PauseTurn, StopReason::Other("x".into())] {
        assert_eq!(encode_response(&response_with(vec![], stop, None))["status"], "completed");
    }
}

// --- streams ---------------------------------------------------------------------------------------------

fn encode_all(events: &[StreamEvent]) -> Vec<SseEvent> {
    let mut encoder = StreamEncoder::new(false);
    let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
    out.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "the terminal event once");
    assert!(encoder.encode(&StreamEvent::TextDelta { choice: 0, text: "late".into() }).is_empty());
    out
}

struct Seen {
    id: String,
    kind: String,
    streamed: String,
    done: bool,
}

/// Checks the event grammar and returns the event names and the final response: `type` equals the event name,
/// sequence numbers count from 0, `created` and `in_progress` come first, items are added in output order,
/// every part/delta/done event names an added, unfinished item, the `…done` texts equal what was streamed,
/// exactly one terminal event comes last, and its output is exactly the items finished.
fn check_stream(events: &[SseEvent]) -> (Vec<String>, Value) {
    let mut items: Vec<Seen> = Vec::new();
    let mut finished: Vec<Value> = Vec::new();
    let mut terminal = None;
    let mut names = Vec::new();
    for (i, event) in events.iter().enumerate() {
        assert!(terminal.is_none(), "nothing after the terminal event: {names:?}");
        let name = event.event.clone().expect("named events");
        let data = parse(&event.data);
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i);
        let live = |items: &mut Vec<Seen>| -> usize {
            let index = data["output_index"].as_u64().unwrap() as usize;
            let seen = items.get(index).unwrap_or_else(|| panic!("{name}: item {index} not added"));
            assert!(!seen.done, "{name}: item {index} already done");
            if let Some(id) = data["item_id"].as_str() {
                assert_eq!(id, seen.id);
            }
            index
        };
        match name.as_str() {
            "response.created" | "response.in_progress" => {
                assert_eq!(i, usize::from(name == "response.in_progress"));
                assert_eq!(data["response"]["status"], "in_progress");
                assert_eq!(data["response"]["output"], json!([]));
            }
            "response.output_item.added" => {
                assert_eq!(data["output_index"], items.len());
                let item = &data["item"];
                let id = item["id"].as_str().unwrap().to_owned();
                assert!(items.iter().all(|s| s.id != id), "ids are unique");
                let kind = item["type"].as_str().unwrap().to_owned();
                items.push(Seen { id, kind, streamed: String::new(), done: false });
            }
            "response.output_text.delta"
            | "response.reasoning_summary_text.delta"
            | "response.function_call_arguments.delta" => {
                let index = live(&mut items);
                let kind = match name.as_str() {
                    "response.output_text.delta" => "message",
                    "response.reasoning_summary_text.delta" => "reasoning",
                    _ => "function_call",
                };
                assert_eq!(items[index].kind, kind);
                items[index].streamed.push_str(data["delta"].as_str().unwrap());
            }
            "response.output_text.done" | "response.reasoning_summary_text.done" => {
                let index = live(&mut items);
                assert_eq!(data["text"], items[index].streamed.as_str());
            }
            "response.function_call_arguments.done" => {
                let index = live(&mut items);
                assert_eq!(data["arguments"], items[index].streamed.as_str());
            }
            "response.content_part.added"
            | "response.content_part.done"
            | "response.reasoning_summary_part.added"
            | "response.reasoning_summary_part.done" => {
                live(&mut items);
            }
            "response.output_item.done" => {
                let index = live(&mut items);
                let item = &data["item"];
                let seen = &mut items[index];
                assert_eq!(
                    (item["id"].as_str(), item["type"].as_str()),
                    (Some(seen.id.as_str()), Some(seen.kind.as_str()))
                );
                let whole = match seen.kind.as_str() {
                    "message" => item["content"][0]["text"].as_str().unwrap().to_owned(),
                    "function_call" => item["arguments"].as_str().unwrap().to_owned(),
                    _ => item["summary"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect(),
                };
                assert_eq!(whole, seen.streamed, "the done item holds what was streamed");
                seen.done = true;
                finished.push(item.clone());
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let response = data["response"].clone();
                assert_eq!(response["status"], name.trim_start_matches("response."));
                if name != "response.failed" {
                    assert!(items.iter().all(|s| s.done), "every item finished before {name}");
                }
                terminal = Some(response);
            }
            other => panic!("unexpected event {other}"),
        }
        names.push(name);
    }
    let response = terminal.expect("a terminal event");
    assert_eq!(response["output"], Value::Array(finished), "the final output is what was streamed");
    (names, response)
}

fn start() -> StreamEvent {
    StreamEvent::Start { id: "chatcmpl-x".into(), model: "m".into(), created: 1_700_000_000 }
}

fn usage_event() -> StreamEvent {
    StreamEvent::Usage {
        usage: Usage { input: 5, cached_input: 1, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 2 },
        cost_usd: Some(0.25),
    }
}

#[test]
fn text_stream_is_well_formed() {
    let events = [
        start(),
        StreamEvent::TextDelta { choice: 0, text: "Hel".into() },
        StreamEvent::TextDelta { choice: 0, text: "".into() },
        StreamEvent::TextDelta { choice: 0, text: "lo".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
        usage_event(),
    ];
    let out = encode_all(&events);
    let (names, response) = check_stream(&out);
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(parse(&out[0].data)["response"]["id"], "resp_chatcmpl-x");
    assert_eq!(
        parse(&out[4].data),
        json!({"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_chatcmpl-x_0",
            "output_index": 0, "content_index": 0, "delta": "Hel", "logprobs": []})
    );
    assert_eq!(response["usage"]["total_tokens"], 12);
    assert_eq!(response["usage"]["input_tokens_details"]["cached_tokens"], 1);
    // The streamed response equals the whole one for the same content.
    let whole = encode_response(&ChatResponse {
        id: "chatcmpl-x".into(),
        model: "m".into(),
        created: 1_700_000_000,
        choices: vec![Choice { index: 0, content: vec![text("Hello")], stop: Some(StopReason::EndTurn) }],
        usage: Some(Usage { input: 5, cached_input: 1, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 2 }),
        cost_usd: None,
    });
    assert_eq!(response, whole);
}

#[test]
fn interleaved_parallel_tool_calls_stream() {
    let events = [
        start(),
        StreamEvent::TextDelta { choice: 0, text: "Looking.".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_a".into(), name: "get_weather".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"city\": ".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 1, id: "call_b".into(), name: "get_time".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"tz\": ".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "\"Paris\"}".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "\"CET\"}".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 7, arguments: "lost".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        usage_event(),
    ];
    let out = encode_all(&events);
    let (names, response) = check_stream(&out);
    let output = response["output"].as_array().unwrap();
    assert_eq!(output.len(), 3);
    assert_eq!(output[1]["arguments"], "{\"city\": \"Paris\"}");
    assert_eq!((output[2]["call_id"].as_str(), output[2]["name"].as_str()), (Some("call_b"), Some("get_time")));
    assert_eq!(output[2]["arguments"], "{\"tz\": \"CET\"}");
    let added = parse(&out[names.iter().position(|n| n == "response.function_call_arguments.delta").unwrap() - 1].data);
    assert_eq!(
        added["item"],
        json!({"type": "function_call", "id": "fc_chatcmpl-x_1", "call_id": "call_a", "name": "get_weather",
            "arguments": "", "status": "in_progress"})
    );
    let done = out.iter().find(|e| e.event.as_deref() == Some("response.function_call_arguments.done")).unwrap();
    assert_eq!(parse(&done.data)["name"], "get_weather");
    // Both calls stay open until the stop: their done events come after every delta.
    let last_delta = names.iter().rposition(|n| n == "response.function_call_arguments.delta").unwrap();
    let first_done = names.iter().position(|n| n == "response.function_call_arguments.done").unwrap();
    assert!(last_delta < first_done);
}

#[test]
fn thinking_then_text_stream() {
    let events = [
        start(),
        StreamEvent::ThinkingDelta { choice: 0, text: "Let me ".into() },
        StreamEvent::ThinkingDelta { choice: 0, text: "think.".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "sig1".into() },
        StreamEvent::ThinkingDelta { choice: 0, text: "More.".into() },
        StreamEvent::RedactedThinking { choice: 0, data: "opaque".into() },
        StreamEvent::TextDelta { choice: 0, text: "42".into() },
        // Gemini: a thought signature with no thought text, before a call.
        StreamEvent::ThinkingSignature { choice: 0, signature: "gsig".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{}".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
        usage_event(),
    ];
    let out = encode_all(&events);
    let (names, response) = check_stream(&out);
    assert_eq!(
        names[2..6],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta"
        ]
    );
    let expected_content = vec![
        thinking("Let me think.", Some("sig1")),
        thinking("More.", None),
        Part::RedactedThinking { data: "opaque".into() },
        text("42"),
        thinking("", Some("gsig")),
        call("c1", "f", "{}"),
    ];
    assert_eq!(response["output"].as_array().unwrap().len(), expected_content.len());
    assert_eq!(response["output"][0]["encrypted_content"], "anthropic:sig1");
    // Sent back next turn, the streamed output is the same neutral content.
    let next = decode_request(&json!({"input": response["output"]})).unwrap();
    assert_eq!(next.messages, vec![Message { role: Role::Assistant, content: expected_content.clone() }]);
    // And the whole-response encoder writes the same output.
    let whole = encode_response(&response_with(expected_content, StopReason::ToolUse, None));
    assert_eq!(whole["output"].to_string().replace("chatcmpl-1", "chatcmpl-x"), response["output"].to_string());
}

#[test]
fn error_mid_stream_fails_the_response() {
    let events = [
        start(),
        StreamEvent::TextDelta { choice: 0, text: "Partial".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
        StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":".into() },
        StreamEvent::Error { message: "upstream died".into(), kind: "api_error".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
    ];
    let out = encode_all(&events);
    let (names, response) = check_stream(&out);
    assert_eq!(names.last().unwrap(), "response.failed");
    assert_eq!(response["error"], json!({"code": "server_error", "message": "upstream died"}));
    // The message finished before the call started; the half-streamed call is not in the output.
    assert_eq!(response["output"].as_array().unwrap().len(), 1);
    assert_eq!(response["output"][0]["type"], "message");

    let out = encode_all(&[StreamEvent::Error { message: "slow down".into(), kind: "rate_limit_error".into() }]);
    let (names, response) = check_stream(&out);
    assert_eq!(names, ["response.created", "response.in_progress", "response.failed"]);
    assert_eq!(response["error"]["code"], "rate_limit_exceeded");
    assert!(response["id"].as_str().unwrap().starts_with("resp_"));
}

#[test]
fn finish_closes_a_stream_without_stop() {
    // No Start, no Stop, no Usage: still a whole stream, with an id of its own.
    let out = encode_all(&[
        StreamEvent::TextDelta { choice: 0, text: "cut".into() },
        StreamEvent::TextDelta { choice: 1, text: "other choice".into() },
        StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
    ]);
    let (names, response) = check_stream(&out);
    assert_eq!(names.last().unwrap(), "response.completed");
    assert_eq!(response["status"], "completed");
    assert_eq!(response["usage"], Value::Null);
    assert_eq!(response["output"][0]["content"][0]["text"], "cut");
    assert_eq!(response["output"][1]["arguments"], "");
    assert!(response["id"].as_str().unwrap().starts_with("resp_"));
    assert!(response["created_at"].as_u64().unwrap() > 0);

    // Nothing at all.
    let (names, response) = check_stream(&encode_all(&[]));
    assert_eq!(names, ["response.created", "response.in_progress", "response.completed"]);
    assert_eq!(response["output"], json!([]));

    // A max-tokens stop ends as incomplete, even when usage comes first or never.
    let out = encode_all(&[
        start(),
        usage_event(),
        StreamEvent::TextDelta { choice: 0, text: "Once".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens },
    ]);
    let (names, response) = check_stream(&out);
    assert_eq!(names.last().unwrap(), "response.incomplete");
    assert_eq!(response["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(response["usage"]["output_tokens"], 7);
}

/// Found by the conformance matrix (`matrix::responses::anthropic::client_shaped`): Codex replays OpenAI's own
/// encrypted reasoning, which went to Anthropic as a thinking signature that Anthropic rejects. Only what this
/// gateway wrote (`anthropic:` / `gemini:` signatures, redacted thinking) is read back as a signature.
#[test]
fn encrypted_content_this_gateway_did_not_write_is_dropped() {
    let item = |encrypted: &str| {
        json!({"model": "m", "input": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": encrypted},
            {"type": "message", "role": "user", "content": "go"}
        ]})
    };
    let first_part = |encrypted: &str| decode_request(&item(encrypted)).unwrap().messages[0].content[0].clone();
    assert_eq!(first_part("gAAAAABopenai"), thinking("plan", None));
    assert_eq!(first_part("anthropic:EqQB"), thinking("plan", Some("EqQB")));
    assert_eq!(first_part("gemini:CiQB"), thinking("plan", Some("gemini:CiQB")));
    assert_eq!(first_part("switchboard-redacted:xyz"), Part::RedactedThinking { data: "xyz".into() });
    // And the other way: Anthropic's signature is marked, Gemini's already is.
    let mut encoder = StreamEncoder::new(true);
    let mut events = Vec::new();
    for event in [
        StreamEvent::Start { id: "r".into(), model: "m".into(), created: 1 },
        StreamEvent::ThinkingDelta { choice: 0, text: "a".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "EqQB".into() },
        StreamEvent::ThinkingSignature { choice: 0, signature: "gemini:CiQB".into() },
        StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
        StreamEvent::Usage { usage: Usage::default(), cost_usd: None },
    ] {
        events.extend(encoder.encode(&event));
    }
    let completed: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    let encrypted: Vec<&Value> =
        completed["response"]["output"].as_array().unwrap().iter().map(|i| &i["encrypted_content"]).collect();
    assert_eq!(encrypted, [&json!("anthropic:EqQB"), &json!("gemini:CiQB")]);
}
