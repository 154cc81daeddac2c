//! Check's requests as each client writes them, its readers over recorded-shape answers, and its verdicts.

use super::*;

fn caller(protocol: ClientProtocol, base_url: &str) -> Caller {
    Caller { protocol, base_url: base_url.into(), token: SecretString::from("sb-test-token-check-0000") }
}

#[test]
fn each_client_writes_its_own_url_auth_and_body() {
    let check = |protocol, base: &str, request: ChatRequest, url: &str, auth: (&str, &str), body: Value| {
        let built = build(&caller(protocol, base), &request);
        assert_eq!(built.url, url, "{protocol:?}");
        assert_eq!((built.auth.0, built.auth.1.as_str()), auth, "{protocol:?}");
        for (path, expected) in body.as_object().unwrap() {
            let found = built.body.pointer(path).unwrap_or(&Value::Null);
            assert_eq!(found, expected, "{protocol:?} {path} in {}", built.body);
        }
        built
    };
    let bearer = ("authorization", "Bearer sb-test-token-check-0000");

    let claude = check(
        ClientProtocol::Anthropic,
        "http://127.0.0.1:7352/",
        tool_request(ClientProtocol::Anthropic, "anthropic/claude-sonnet-4-5"),
        "http://127.0.0.1:7352/v1/messages?beta=true",
        bearer,
        json!({ "/model": "anthropic/claude-sonnet-4-5", "/stream": true, "/tools/0/name": TOOL_NAME,
                "/tool_choice/type": "any", "/system/1/cache_control/type": "ephemeral",
                "/metadata/user_id": "switchboard-client-check" }),
    );
    assert!(claude.headers.contains(&("anthropic-version", ANTHROPIC_VERSION)));
    assert!(claude.headers.iter().any(|(name, _)| *name == "anthropic-beta"));

    check(
        ClientProtocol::Anthropic,
        "http://127.0.0.1:7352",
        thinking_request(ClientProtocol::Anthropic, "general"),
        "http://127.0.0.1:7352/v1/messages?beta=true",
        bearer,
        json!({ "/thinking/type": "enabled", "/thinking/budget_tokens": 1024, "/max_tokens": 4096 }),
    );
    check(
        ClientProtocol::OpenAiChat,
        "http://127.0.0.1:7352/v1",
        plain_request(ClientProtocol::OpenAiChat, "general", true),
        "http://127.0.0.1:7352/v1/chat/completions",
        bearer,
        json!({ "/model": "general", "/stream": true, "/stream_options/include_usage": true,
                "/messages/0/role": "system" }),
    );
    check(
        ClientProtocol::Responses,
        "http://127.0.0.1:7352/v1/",
        tool_request(ClientProtocol::Responses, "openai/gpt-5"),
        "http://127.0.0.1:7352/v1/responses",
        bearer,
        json!({ "/model": "openai/gpt-5", "/store": false, "/stream": true, "/input/0/role": "developer",
                "/input/2/role": "user", "/tools/0/type": "function", "/tools/0/name": TOOL_NAME,
                "/tool_choice": "required" }),
    );
    check(
        ClientProtocol::Gemini,
        "http://127.0.0.1:7352",
        plain_request(ClientProtocol::Gemini, "gemini/gemini-2.5-flash", true),
        "http://127.0.0.1:7352/v1beta/models/gemini/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ("x-goog-api-key", "sb-test-token-check-0000"),
        json!({ "/contents/0/role": "user" }),
    );
    check(
        ClientProtocol::Gemini,
        "http://127.0.0.1:7352",
        plain_request(ClientProtocol::Gemini, "general", false),
        "http://127.0.0.1:7352/v1beta/models/general:generateContent",
        ("x-goog-api-key", "sb-test-token-check-0000"),
        json!({}),
    );
}

#[test]
fn the_tool_result_turn_carries_the_call_and_its_result() {
    let first = tool_request(ClientProtocol::Anthropic, "m");
    let called = Reply { text: "Let me look.".into(), ..Reply::default() };
    let call = Call { id: "toolu_1".into(), name: TOOL_NAME.into(), arguments: r#"{"city":"Paris"}"#.into() };
    let body = anthropic::encode_request(&tool_result_request(first, &called, &call));
    assert_eq!(body["messages"][1]["content"][0], json!({ "type": "text", "text": "Let me look." }));
    assert_eq!(body["messages"][1]["content"][1]["type"], "tool_use");
    assert_eq!(body["messages"][1]["content"][1]["input"], json!({ "city": "Paris" }));
    assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], "toolu_1");
    assert_eq!(body["tool_choice"]["type"], "auto");

    let responses = responses::encode_request(&tool_result_request(
        tool_request(ClientProtocol::Responses, "m"),
        &Reply::default(),
        &Call { id: "call_1".into(), ..call },
    ));
    let items = responses["input"].as_array().unwrap();
    assert_eq!(items[items.len() - 2]["type"], "function_call");
    assert_eq!(
        items[items.len() - 1],
        json!({ "type": "function_call_output", "call_id": "call_1",
        "output": TOOL_RESULT })
    );
}

fn sse(event: Option<&str>, data: Value) -> SseEvent {
    SseEvent { event: event.map(str::to_owned), data: data.to_string() }
}

/// Feeds `events` to a reader as a stream would.
fn read(protocol: ClientProtocol, events: &[SseEvent]) -> Reply {
    let mut reader = Reader::new(protocol, Reply { status: 200, ..Reply::default() });
    for event in events {
        reader.event(event);
    }
    reader.finish()
}

fn anthropic_stream(blocks: &[(Value, Vec<Value>)], stop: &str, end: bool) -> Vec<SseEvent> {
    let mut events = vec![sse(
        Some("message_start"),
        json!({ "type": "message_start", "message": { "id": "msg_1", "model": "m", "content": [],
            "usage": { "input_tokens": 10, "output_tokens": 1 } } }),
    )];
    for (index, (block, deltas)) in blocks.iter().enumerate() {
        events.push(sse(
            Some("content_block_start"),
            json!({ "type": "content_block_start", "index": index, "content_block": block }),
        ));
        for delta in deltas {
            events.push(sse(
                Some("content_block_delta"),
                json!({ "type": "content_block_delta", "index": index, "delta": delta }),
            ));
        }
        events.push(sse(Some("content_block_stop"), json!({ "type": "content_block_stop", "index": index })));
    }
    events.push(sse(
        Some("message_delta"),
        json!({ "type": "message_delta", "delta": { "stop_reason": stop }, "usage": { "output_tokens": 7 } }),
    ));
    if end {
        events.push(sse(Some("message_stop"), json!({ "type": "message_stop" })));
    }
    events
}

#[test]
fn an_anthropic_stream_is_read_with_thinking_tools_and_its_end() {
    let thinking = (
        json!({ "type": "thinking", "thinking": "" }),
        vec![
            json!({ "type": "thinking_delta", "thinking": "Hmm." }),
            json!({ "type": "signature_delta", "signature": "sig-1" }),
        ],
    );
    let tool = (
        json!({ "type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": {} }),
        vec![
            json!({ "type": "input_json_delta", "partial_json": "{\"city\":" }),
            json!({ "type": "input_json_delta", "partial_json": "\"Paris\"}" }),
        ],
    );
    let reply = read(ClientProtocol::Anthropic, &anthropic_stream(&[thinking, tool], "tool_use", true));
    assert_eq!(reply.thinking, "Hmm.");
    assert!(reply.signed && reply.ended && reply.error.is_none(), "{reply:?}");
    assert_eq!(
        reply.calls,
        [Call { id: "toolu_1".into(), name: TOOL_NAME.into(), arguments: r#"{"city":"Paris"}"#.into() }]
    );
    assert_eq!(reply.stop, Some(StopReason::ToolUse));
    assert_eq!(reply.usage.map(|u| (u.input, u.output)), Some((10, 7)));
    assert_eq!(judge_tool_call(ClientProtocol::Anthropic, &reply).unwrap().name, TOOL_NAME);

    let text = (json!({ "type": "text", "text": "" }), vec![json!({ "type": "text_delta", "text": "Hi there" })]);
    let cut = read(ClientProtocol::Anthropic, &anthropic_stream(std::slice::from_ref(&text), "end_turn", false));
    assert_eq!(cut.text, "Hi there");
    assert_eq!(judge_streamed(ClientProtocol::Anthropic, &cut).unwrap_err(), "the stream ended without message_stop");
    let whole = read(ClientProtocol::Anthropic, &anthropic_stream(&[text], "end_turn", true));
    assert_eq!(judge_streamed(ClientProtocol::Anthropic, &whole).unwrap(), "streamed (10 in · 7 out): Hi there");

    let mut failing = anthropic_stream(&[], "end_turn", false);
    failing.push(sse(Some("error"), json!({ "type": "error", "error": { "type": "api_error", "message": "boom" } })));
    let broke = read(ClientProtocol::Anthropic, &failing);
    assert_eq!(judge_plain(&broke).unwrap_err(), "the stream ended with an error: boom");
}

#[test]
fn openai_and_responses_streams_end_with_their_own_last_event() {
    let chunk = |delta: Value, finish: Value| {
        sse(
            None,
            json!({ "id": "c", "model": "m", "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] }),
        )
    };
    let mut events = vec![chunk(json!({ "role": "assistant", "content": "Hel" }), Value::Null)];
    events.push(chunk(json!({ "content": "lo" }), json!("stop")));
    let unfinished = read(ClientProtocol::OpenAiChat, &events);
    assert_eq!(unfinished.text, "Hello");
    assert!(!unfinished.ended);
    events.push(SseEvent { event: None, data: "[DONE]".into() });
    assert!(read(ClientProtocol::OpenAiChat, &events).ended);

    let responses = [
        sse(None, json!({ "type": "response.created", "response": { "id": "r", "model": "m" } })),
        sse(
            None,
            json!({ "type": "response.output_item.added", "output_index": 0,
            "item": { "type": "function_call", "call_id": "call_9", "name": TOOL_NAME } }),
        ),
        sse(None, json!({ "type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}" })),
        sse(
            None,
            json!({ "type": "response.completed", "response": { "status": "completed",
            "usage": { "input_tokens": 5, "output_tokens": 2 } } }),
        ),
    ];
    let reply = read(ClientProtocol::Responses, &responses);
    assert!(reply.ended, "{reply:?}");
    assert_eq!(reply.calls[0].id, "call_9");
    assert_eq!(reply.stop, Some(StopReason::ToolUse));
    assert_eq!(reply.usage.map(|u| u.input), Some(5));
}

#[test]
fn a_gemini_stream_ends_well_once_it_says_why_it_stopped() {
    let chunk = |parts: Value, finish: Option<&str>| {
        let mut candidate = json!({ "content": { "role": "model", "parts": parts }, "index": 0 });
        if let Some(finish) = finish {
            candidate["finishReason"] = json!(finish);
        }
        sse(None, json!({ "candidates": [candidate] }))
    };
    let cut = read(ClientProtocol::Gemini, &[chunk(json!([{ "text": "Hi" }]), None)]);
    assert_eq!(cut.text, "Hi");
    assert_eq!(judge_streamed(ClientProtocol::Gemini, &cut).unwrap_err(), "the stream ended without a finishReason");
    let done = read(ClientProtocol::Gemini, &[chunk(json!([{ "text": "Hi" }]), Some("STOP"))]);
    assert!(done.ended, "{done:?}");
}

#[test]
fn verdicts_say_what_broke() {
    let answered =
        Reply { text: "Paris is sunny.".into(), ended: true, stop: Some(StopReason::EndTurn), ..Reply::default() };
    let call = Call { id: "c".into(), name: TOOL_NAME.into(), arguments: "{}".into() };
    let check = |result: Result<String, String>, expected: Result<&str, &str>| {
        assert_eq!(result.as_ref().map(String::as_str).map_err(String::as_str), expected);
    };
    check(judge_plain(&answered), Ok("answered: Paris is sunny."));
    check(
        judge_plain(&Reply { error: Some("400: the model refuses".into()), ..Reply::default() }),
        Err("400: the model refuses"),
    );
    check(
        judge_plain(&Reply { ended: true, stop: Some(StopReason::MaxTokens), ..Reply::default() }),
        Err("the answer stopped for max_tokens before any text"),
    );
    let tool_error = |reply: &Reply| judge_tool_call(ClientProtocol::Anthropic, reply).map(|c| c.name);
    check(tool_error(&answered), Err("no tool call came back; it answered instead: Paris is sunny."));
    let wrong = Reply { calls: vec![Call { name: "rm_rf".into(), ..call.clone() }], ..answered.clone() };
    check(tool_error(&wrong), Err("it called \"rm_rf\", a tool it was not offered"));
    let not_json = Reply { calls: vec![Call { arguments: "city=Paris".into(), ..call.clone() }], ..answered.clone() };
    check(tool_error(&not_json), Err("the tool call's arguments are not a JSON object: city=Paris"));
    let no_stop = Reply { calls: vec![call.clone()], ..answered.clone() };
    check(
        tool_error(&no_stop),
        Err("the answer stopped with EndTurn, not for the tool call: the client would not run the tool"),
    );
    let again = Reply { calls: vec![call.clone()], text: String::new(), ..answered.clone() };
    check(
        judge_after_tool(ClientProtocol::Anthropic, &call, &again),
        Err("after the tool result it called a tool again instead of answering"),
    );
    check(
        judge_after_tool(ClientProtocol::Anthropic, &call, &answered),
        Ok("called get_weather({}), then answered: Paris is sunny."),
    );
    let thought = Reply { thinking: "391 = 17 × 23".into(), signed: true, ..answered.clone() };
    check(judge_thinking(ClientProtocol::Anthropic, &thought), Ok("thought (signed), then answered: Paris is sunny."));
    check(
        judge_thinking(ClientProtocol::OpenAiChat, &answered),
        Ok("answered with thinking on (no reasoning came back to see): Paris is sunny."),
    );
    let spent = Reply { text: String::new(), stop: Some(StopReason::MaxTokens), ..thought };
    check(judge_thinking(ClientProtocol::Anthropic, &spent), Err("it thought until max_tokens and never answered"));
}

#[test]
fn error_bodies_give_their_message_and_quotes_stay_short() {
    assert_eq!(error_message(br#"{"error":{"message":"no such alias"}}"#), "no such alias");
    assert_eq!(error_message(br#"{"type":"error","error":{"type":"x","message":"refused"}}"#), "refused");
    assert_eq!(error_message(b""), "an empty answer");
    assert_eq!(error_message(b"<html>\n  bad gateway</html>"), "<html> bad gateway</html>");
    let long = "word ".repeat(100);
    assert_eq!(quote(&long).chars().count(), QUOTE + 1);
    assert!(request_id().starts_with("sb-check-") && request_id() != request_id());
}
