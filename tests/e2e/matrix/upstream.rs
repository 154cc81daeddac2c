//! What each upstream received, checked for what the case must carry across in that upstream's own form; for a
//! passthrough cell, the client's body with only `model` rewritten.

use super::*;

/// What the upstream received, checked for what the case must carry across.
pub(super) fn check_upstream(world: &World, cell: &Cell, path_body: &Value) {
    let calls = world.upstream_requests(cell.upstream, &cell.model());
    let expected_calls = if cell.case == Case::UpstreamError { 2 } else { 1 };
    assert_eq!(calls.len(), expected_calls, "upstream calls for {}: {calls:?}", cell.model());
    let call = &calls[0];
    let sent = call.json.clone().expect("a JSON body upstream");
    let text = call.text.as_str();
    assert!(!format!("{:?}", call.headers).contains(FAKE_TOKEN), "the app token never reaches a provider");
    if cell.passthrough() {
        let mut expected = path_body.clone();
        if cell.inbound == Inbound::Gemini {
            // Gemini's model is in the URL: the body arrives untouched.
            assert!(call.path.contains(&format!("/models/{}:", cell.model())), "{}", call.path);
            assert!(call.path.ends_with("generateContent") || call.path.ends_with("?alt=sse"), "{}", call.path);
            assert_eq!(sent, expected, "passthrough keeps the body untouched");
            return;
        }
        expected["model"] = json!(cell.model());
        if cell.inbound == Inbound::Messages && cell.case == Case::Client {
            // The Anthropic API refuses `role: "system"` inside `messages`: Claude Code's joins `system`.
            let messages = expected["messages"].as_array_mut().expect("messages");
            let system = messages.remove(0);
            assert_eq!(system["role"], "system", "the fixture starts with a system message");
            let block = json!({ "type": "text", "text": system["content"] });
            expected["system"].as_array_mut().expect("system blocks").push(block);
        }
        if cell.inbound == Inbound::Chat && cell.case.streams() {
            // The gateway asks for usage; the client asked too.
            assert_eq!(sent["stream_options"]["include_usage"], true, "{sent}");
        }
        assert_eq!(sent, expected, "passthrough keeps the body but for the model");
        if cell.inbound == Inbound::Responses {
            // OpenAI itself is reached through its Responses API, not chat completions.
            assert_eq!(call.path, "/v1/responses", "{}", call.path);
        }
        if cell.inbound == Inbound::Messages && cell.case == Case::Client {
            let beta = call.header("anthropic-beta").unwrap_or_default();
            assert!(beta.contains("claude-code-20250219"), "beta headers reach Anthropic: {beta}");
            assert!(call.path.starts_with("/v1/messages"), "{}", call.path);
        }
        return;
    }
    if cell.upstream != Upstream::Anthropic {
        assert_eq!(call.header("anthropic-beta"), None, "Anthropic's beta flags stay with Anthropic");
    }
    match cell.upstream {
        Upstream::OpenAi => {
            assert_eq!(sent["stream"].as_bool().unwrap_or(false), cell.case.streams(), "{sent}");
            if cell.case.streams() {
                assert_eq!(sent["stream_options"]["include_usage"], true, "usage is asked for: {sent}");
            }
        }
        Upstream::Anthropic => {
            assert!(sent["max_tokens"].as_u64().is_some_and(|n| n > 0), "Anthropic needs max_tokens: {sent}");
            assert_eq!(call.header("anthropic-version"), Some("2023-06-01"));
        }
        Upstream::Gemini => {
            let method = if cell.case.streams() { ":streamGenerateContent" } else { ":generateContent" };
            assert!(call.path.contains(method), "{}", call.path);
        }
        Upstream::Responses => {
            assert_eq!(call.path, "/v1/responses", "every chat request goes to the Responses API");
            assert_eq!(sent["stream"].as_bool().unwrap_or(false), cell.case.streams(), "{sent}");
            // A stream's usage always comes in its final event; nothing is stored at OpenAI.
            assert!(sent.get("stream_options").is_none() && sent.get("messages").is_none(), "{sent}");
            assert_eq!(sent["store"], false, "{sent}");
            assert!(sent["input"].is_array(), "a Responses body: {sent}");
        }
    }
    match cell.case {
        Case::MultiTurn => {
            let (system, roles): (String, Vec<Value>) = match cell.upstream {
                Upstream::OpenAi => (
                    sent["messages"][0]["content"].to_string(),
                    sent["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect(),
                ),
                Upstream::Anthropic => (
                    sent["system"].to_string(),
                    sent["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect(),
                ),
                Upstream::Gemini => (
                    sent["systemInstruction"].to_string(),
                    sent["contents"].as_array().expect("contents").iter().map(|m| m["role"].clone()).collect(),
                ),
                Upstream::Responses => (
                    sent["instructions"].to_string(),
                    sent["input"].as_array().expect("input").iter().map(|m| m["role"].clone()).collect(),
                ),
            };
            assert!(system.contains("You are terse."), "the system prompt: {sent}");
            let want: Vec<Value> = match cell.upstream {
                Upstream::OpenAi => vec![json!("system"), json!("user"), json!("assistant"), json!("user")],
                Upstream::Anthropic | Upstream::Responses => vec![json!("user"), json!("assistant"), json!("user")],
                Upstream::Gemini => vec![json!("user"), json!("model"), json!("user")],
            };
            assert_eq!(roles, want, "{sent}");
        }
        Case::ParallelTools => {
            let (calls, results) = match cell.upstream {
                Upstream::OpenAi => (r#""tool_calls""#, r#""role":"tool""#),
                Upstream::Anthropic => (r#""type":"tool_use""#, r#""type":"tool_result""#),
                Upstream::Gemini => ("\"functionCall\"", "\"functionResponse\""),
                Upstream::Responses => (r#""type":"function_call""#, r#""type":"function_call_output""#),
            };
            assert_eq!(text.matches(results).count(), 2, "both tool results travel: {sent}");
            assert!(text.contains(calls) && text.contains("18°C and sunny") && text.contains("14:05"), "{sent}");
            if cell.upstream == Upstream::Gemini {
                assert!(text.contains(r#""name":"get_time""#), "a functionResponse names its function: {sent}");
            }
        }
        Case::ToolsStreamed if cell.upstream == Upstream::Responses => {
            let tools = sent["tools"].as_array().expect("tools");
            let names: Vec<&Value> = tools.iter().map(|t| &t["name"]).collect();
            assert_eq!(names, [&json!("get_weather"), &json!("get_time")], "{sent}");
            let function = |t: &Value| t["type"] == "function" && t["parameters"]["type"] == "object";
            // Responses makes function tools strict unless told otherwise, which most clients' schemas fail.
            assert!(tools.iter().all(|t| function(t) && t["strict"] == false), "Responses function tools: {sent}");
        }
        Case::Image => {
            let found = match cell.upstream {
                Upstream::OpenAi => text.contains(&format!("data:image/png;base64,{PNG}")),
                Upstream::Anthropic => {
                    text.contains(&json!({ "type": "base64", "media_type": "image/png", "data": PNG }).to_string())
                }
                Upstream::Gemini => text.contains(&json!({ "mimeType": "image/png", "data": PNG }).to_string()),
                Upstream::Responses => {
                    text.contains(r#""type":"input_image""#) && text.contains(&format!("data:image/png;base64,{PNG}"))
                }
            };
            assert!(found, "the image travels in the upstream's form: {sent}");
        }
        Case::JsonMode => match cell.upstream {
            Upstream::OpenAi => assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}"),
            Upstream::Anthropic => assert!(sent["system"].to_string().contains("ok"), "the schema is conveyed: {sent}"),
            Upstream::Gemini => assert_eq!(sent["generationConfig"]["responseMimeType"], "application/json", "{sent}"),
            Upstream::Responses => {
                assert_eq!(sent["text"]["format"]["type"], "json_schema", "{sent}");
                assert_eq!(sent["text"]["format"]["schema"]["required"], json!(["ok"]), "{sent}");
            }
        },
        Case::Thinking => match cell.upstream {
            Upstream::OpenAi => assert!(sent["reasoning_effort"].is_string(), "{sent}"),
            Upstream::Anthropic => assert_eq!(sent["thinking"]["type"], "enabled", "{sent}"),
            Upstream::Gemini => assert!(sent["generationConfig"]["thinkingConfig"].is_object(), "{sent}"),
            Upstream::Responses => {
                assert!(sent["reasoning"]["effort"].is_string(), "{sent}");
                assert_eq!(sent["reasoning"]["summary"], "auto", "the thinking is asked to be shown: {sent}");
                assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]), "{sent}");
            }
        },
        Case::StopSequence if cell.upstream == Upstream::Responses => {
            // The Responses API has no stop sequences: the client's are not sent (the fake stops anyway).
            assert!(!text.contains(&format!("\"{STOP_SEQUENCE}\"")) && sent.get("stop").is_none(), "{sent}");
        }
        Case::StopSequence if cell.inbound != Inbound::Responses => {
            let stops = match cell.upstream {
                Upstream::OpenAi => &sent["stop"],
                Upstream::Anthropic => &sent["stop_sequences"],
                Upstream::Gemini => &sent["generationConfig"]["stopSequences"],
                Upstream::Responses => unreachable!("handled above"),
            };
            assert_eq!(stops, &json!([STOP_SEQUENCE]), "{sent}");
        }
        Case::MaxTokens => {
            let limit = match cell.upstream {
                Upstream::OpenAi => sent.get("max_completion_tokens").or(sent.get("max_tokens")),
                Upstream::Anthropic => sent.get("max_tokens"),
                Upstream::Gemini => sent["generationConfig"].get("maxOutputTokens"),
                Upstream::Responses => sent.get("max_output_tokens"),
            };
            // OpenAI's Responses API refuses fewer than 16 output tokens: a smaller limit is raised to that.
            let want = if cell.inbound == Inbound::Responses || cell.upstream == Upstream::Responses { 16 } else { 5 };
            assert_eq!(limit.and_then(Value::as_u64), Some(want), "{sent}");
        }
        Case::Client => check_client_fixture_upstream(cell, &sent, text),
        _ => {}
    }
}

/// The system prompt as the upstream received it (its text, JSON-encoded).
pub(super) fn system_text(upstream: Upstream, sent: &Value) -> String {
    match upstream {
        Upstream::OpenAi => sent["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["role"] == "system" || m["role"] == "developer")
            .map(|m| m["content"].to_string())
            .collect(),
        Upstream::Anthropic => sent["system"].to_string(),
        Upstream::Gemini => sent["systemInstruction"].to_string(),
        Upstream::Responses => sent["instructions"].to_string(),
    }
}

/// How a PNG looks in the upstream's request.
pub(super) fn image_form(upstream: Upstream) -> &'static str {
    match upstream {
        Upstream::OpenAi => "data:image/png;base64,",
        Upstream::Anthropic => "\"media_type\":\"image/png\"",
        Upstream::Gemini => "\"mimeType\":\"image/png\"",
        Upstream::Responses => "\"type\":\"input_image\"",
    }
}

/// What must survive (or be dropped) when a real client's request is translated.
pub(super) fn check_client_fixture_upstream(cell: &Cell, sent: &Value, text: &str) {
    let tool_names: Vec<String> = match cell.upstream {
        Upstream::OpenAi => {
            sent["tools"].as_array().expect("tools").iter().map(|t| t["function"]["name"].to_string()).collect()
        }
        Upstream::Anthropic | Upstream::Responses => {
            sent["tools"].as_array().expect("tools").iter().map(|t| t["name"].to_string()).collect()
        }
        Upstream::Gemini => sent["tools"][0]["functionDeclarations"]
            .as_array()
            .expect("function declarations")
            .iter()
            .map(|t| t["name"].to_string())
            .collect(),
    };
    // Neither cache hints nor Anthropic's signatures mean anything to other upstreams.
    if cell.upstream != Upstream::Anthropic {
        assert!(!text.contains("cache_control"), "cache_control is dropped: {sent}");
        assert!(!text.contains("EqQBCkYIBxgC"), "Claude's thinking signature is dropped: {sent}");
    }
    // OpenAI's own encrypted reasoning, replayed by Codex, means nothing to any upstream here.
    assert!(!text.contains("gAAAAB"), "foreign encrypted reasoning is dropped: {sent}");
    match cell.inbound {
        Inbound::Messages => {
            let fixture = fixture("claude-code-messages.json");
            assert_eq!(tool_names.len(), fixture["tools"].as_array().expect("tools").len(), "every tool travels");
            // The system blocks (and the system message inside `messages`), the tool result's image.
            let system = system_text(cell.upstream, sent);
            for block in fixture["system"].as_array().expect("system blocks") {
                let first_line = block["text"].as_str().expect("text").lines().next().expect("a line");
                assert!(system.contains(first_line), "system text {first_line:?} is the system prompt: {sent}");
            }
            assert!(system.contains("Prefer small, focused diffs."), "the system message joins the system prompt");
            assert!(text.contains(image_form(cell.upstream)), "the tool result's image travels: {sent}");
            assert!(!text.contains("context_management") && !text.contains("output_config"), "{sent}");
        }
        Inbound::Responses => {
            let fixture = fixture("codex-responses.json");
            let functions = fixture["tools"].as_array().expect("tools").iter().filter(|t| t["type"] == "function");
            assert_eq!(tool_names.len(), functions.count(), "function tools travel, hosted ones do not: {sent}");
            assert!(!text.contains("web_search"), "the hosted tool is dropped: {sent}");
            let system = system_text(cell.upstream, sent);
            assert!(system.contains("You are Codex, a coding agent"), "developer items become the system prompt");
            assert!(!system.contains("environment_context"), "user items stay user turns: {sent}");
            assert!(text.contains("Cargo.toml") && text.contains("exit code 0"), "the tool output travels: {sent}");
            assert!(text.contains(image_form(cell.upstream)), "view_image's output image travels: {sent}");
        }
        Inbound::Gemini => {
            let fixture = fixture("gemini-cli-generate.json");
            let declared = fixture["tools"][0]["functionDeclarations"].as_array().expect("declarations").len();
            assert_eq!(tool_names.len(), declared, "every function declaration travels: {sent}");
            assert!(!text.contains("googleSearch"), "the built-in tool is dropped: {sent}");
            let system = system_text(cell.upstream, sent);
            let first_line = fixture["systemInstruction"]["parts"][0]["text"].as_str().expect("text").lines().next();
            assert!(system.contains(first_line.expect("a line")), "the system instruction is the system prompt");
            assert!(text.contains("src/main.rs") && text.contains("cargo check passed"), "tool results travel: {sent}");
            // Gemini's own signatures mean nothing elsewhere.
            assert!(!text.contains("R2VtaW5pU2lnbmF0dXJl"), "Gemini's thought signatures stay with Gemini: {sent}");
        }
        Inbound::Chat => {
            let fixture = fixture("continue-chat.json");
            assert_eq!(tool_names.len(), fixture["tools"].as_array().expect("tools").len(), "every tool travels");
            assert!(system_text(cell.upstream, sent).contains("You are in agent mode."), "{sent}");
        }
    }
}
