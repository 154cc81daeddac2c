//! The checks a cell runs on what the client saw, what the upstream received and the ledger row.

use super::*;

/// The stop reason the client should see for a reply that ended as `finish` says.
pub(super) fn expected_stop(cell: &Cell) -> &'static str {
    let finish = match cell.case {
        Case::ToolsStreamed | Case::ParallelTools | Case::Client => "tools",
        Case::MaxTokens => "length",
        // Only Anthropic says a stop sequence matched; OpenAI and Gemini say a plain stop.
        Case::StopSequence if cell.upstream == Upstream::Anthropic => "sequence",
        _ => "stop",
    };
    match (cell.inbound, finish) {
        (Inbound::Chat, "tools") => "tool_calls",
        (Inbound::Chat, "length") => "length",
        (Inbound::Chat, _) => "stop",
        (Inbound::Messages, "tools") => "tool_use",
        (Inbound::Messages, "length") => "max_tokens",
        (Inbound::Messages, "sequence") => "stop_sequence",
        (Inbound::Messages, _) => "end_turn",
        (Inbound::Responses, "length") => "incomplete:max_output_tokens",
        (Inbound::Responses, _) => "completed",
        // Gemini ends tool calls and stop sequences with STOP too.
        (Inbound::Gemini, "length") => "MAX_TOKENS",
        (Inbound::Gemini, _) => "STOP",
    }
}

/// The fake's counts: 12 prompt tokens of which 4 cached, 7 output of which 3 reasoning when it thought.
pub(super) fn expected_usage(cell: &Cell) -> Tokens {
    let reasoning = (cell.case == Case::Thinking && cell.upstream != Upstream::Anthropic).then_some(3);
    Tokens { input: 12, cached: 4, output: 7, reasoning }
}

pub(super) fn check_usage(cell: &Cell, got: Option<Tokens>, body: &str) {
    let got = got.unwrap_or_else(|| panic!("the client gets usage: {body}"));
    let want = expected_usage(cell);
    assert_eq!((got.input, got.cached, got.output), (want.input, want.cached, want.output), "usage: {body}");
    if let Some(reasoning) = want.reasoning
        && cell.inbound != Inbound::Messages
    {
        assert_eq!(got.reasoning, Some(reasoning), "reasoning tokens: {body}");
    }
}

pub(super) fn check_ledger(world: &World, cell: &Cell, status: u16) {
    let rows = world.ledger_rows(&cell.model(), 1);
    assert_eq!(rows.len(), 1, "one ledger row per request: {rows:?}");
    let row = &rows[0];
    assert_eq!(row.status, status, "{row:?}");
    assert_eq!(row.stream, cell.case.streams(), "{row:?}");
    assert_eq!(row.provider_id.as_deref(), Some(cell.upstream.provider()), "{row:?}");
    let protocol = match cell.inbound {
        Inbound::Chat => "openai-chat",
        Inbound::Messages => "anthropic",
        Inbound::Responses => "responses",
        Inbound::Gemini => "gemini",
    };
    assert_eq!(row.client_protocol, protocol, "{row:?}");
    assert!(row.latency_ms.is_some(), "{row:?}");
    if status == 200 && cell.case.streams() {
        assert!(row.ttft_ms.is_some(), "a stream's time to first byte is recorded: {row:?}");
    }
    if cell.case == Case::MidStreamError && cell.upstream == Upstream::Responses {
        // The Responses API's own failure: `response.failed`, its error and its usage so far.
        assert_eq!(row.error.as_deref(), Some(FAILED_MESSAGE), "the ledger has the upstream's error: {row:?}");
        assert_eq!((row.input_tokens, row.output_tokens), (Some(12), Some(7)), "the failed response's usage: {row:?}");
    } else if cell.case == Case::MidStreamError {
        assert!(row.error.as_deref().is_some_and(|e| e.contains("broke")), "the ledger says the stream broke: {row:?}");
        // What the upstream reported before the break: Anthropic's message_start and every Gemini chunk carry the
        // prompt's tokens; OpenAI reports usage only at the end.
        let input = (cell.upstream != Upstream::OpenAi).then_some(12);
        assert_eq!(row.input_tokens, input, "the partial usage: {row:?}");
    }
    if status == 200 && cell.case != Case::MidStreamError {
        let want = expected_usage(cell);
        assert_eq!(
            (row.input_tokens, row.cached_input_tokens, row.output_tokens),
            (Some(want.input), Some(want.cached), Some(want.output)),
            "the ledger's usage: {row:?}"
        );
        if let Some(reasoning) = want.reasoning {
            assert_eq!(row.reasoning_tokens, Some(reasoning), "{row:?}");
        }
    }
}

pub(super) fn calls_as_json(outcome: &Outcome, body: &str) -> Vec<(String, Value)> {
    outcome
        .calls
        .iter()
        .map(|c| {
            let args = serde_json::from_str(&c.arguments).unwrap_or_else(|_| panic!("arguments {c:?}: {body}"));
            (c.name.clone(), args)
        })
        .collect()
}

pub(super) fn check_two_calls(cell: &Cell, outcome: &Outcome, body: &str) {
    assert_eq!(
        calls_as_json(outcome, body),
        [("get_weather".to_owned(), json!({ "city": "Paris" })), ("get_time".to_owned(), json!({ "tz": "CET" }))],
        "{body}"
    );
    let ids: Vec<&str> = outcome.calls.iter().map(|c| c.id.as_str()).collect();
    if cell.inbound == Inbound::Gemini && cell.upstream == Upstream::Gemini {
        // Passed through as Gemini sent them: without ids, which its clients match by name.
        assert_eq!(ids, ["", ""], "{body}");
        assert!(outcome.text.is_empty(), "a tool-only reply has no text: {body}");
        return;
    }
    assert!(ids.iter().all(|id| !id.is_empty()), "{body}");
    assert_ne!(ids[0], ids[1], "call ids are distinct: {body}");
    // Anthropic's answers name their calls toolu_…; the others call_… (Gemini has no ids: the gateway makes them).
    if cell.inbound == Inbound::Messages && cell.upstream == Upstream::Anthropic {
        assert_eq!(ids, ["toolu_1", "toolu_2"], "passthrough keeps the ids");
    }
    assert!(outcome.text.is_empty(), "a tool-only reply has no text: {body}");
}

/// A Responses upstream whose connection breaks mid-stream, rather than failing in-band as the cell's own request
/// does: the client's stream ends with an in-band error after what arrived, and the ledger says the stream broke,
/// with no usage (the Responses API reports it only in its terminal event).
pub(super) fn check_dropped_responses_stream(world: &World, cell: &Cell) {
    let (path, mut body) = request(cell);
    let model = cell.model().replacen("fail-mid-stream", "drop-mid-stream", 1);
    let path = path.replace(&cell.model(), &model);
    if cell.inbound != Inbound::Gemini {
        body["model"] = json!(format!("{}/{model}", cell.upstream.provider()));
    }
    let (status, text) = send(world, cell, &path, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let outcome = outcome(cell, &text);
    assert!(outcome.error.is_some(), "an in-band error ends the broken stream: {text}");
    let hello = format!("Hello from openai {model}: {}", user_text(cell.case));
    assert!(!outcome.text.is_empty() && hello.starts_with(&outcome.text), "what arrived is kept: {text}");
    let rows = world.ledger_rows(&model, 1);
    let row = &rows[0];
    assert_eq!((row.status, row.provider_id.as_deref()), (200, Some(cell.upstream.provider())), "{row:?}");
    assert!(row.error.as_deref().is_some_and(|e| e.contains("broke")), "the ledger says the stream broke: {row:?}");
    assert_eq!(row.input_tokens, None, "no usage arrived: {row:?}");
}

/// The signature the fake signs its thinking with, as the client should see it (`None`: one of the gateway's
/// making, which carries the thinking too), and as the upstream wants it back.
pub(super) fn signatures(cell: &Cell) -> Option<(Option<String>, &'static str)> {
    let raw = match cell.upstream {
        Upstream::Anthropic => SIGNATURE,
        // base64("sig-fake-123"): Gemini's thoughtSignature.
        Upstream::Gemini => "c2lnLWZha2UtMTIz",
        // OpenAI's encrypted reasoning comes only from its Responses API (chat completions have none).
        Upstream::Responses => ENCRYPTED_REASONING,
        Upstream::OpenAi if cell.inbound == Inbound::Responses => ENCRYPTED_REASONING,
        Upstream::OpenAi => return None,
    };
    let client = match (cell.inbound, cell.upstream) {
        (Inbound::Chat, _) => return None,
        (Inbound::Messages, Upstream::Anthropic) | (Inbound::Gemini, Upstream::Gemini) => Some(raw.to_owned()),
        // Passed through: OpenAI's own, as OpenAI wrote it.
        (Inbound::Responses, Upstream::OpenAi | Upstream::Responses) => Some(raw.to_owned()),
        (Inbound::Responses, Upstream::Anthropic) => Some(format!("anthropic:{raw}")),
        (Inbound::Messages, Upstream::Responses) => Some(format!("openai:{raw}")),
        (Inbound::Messages | Inbound::Responses, Upstream::Gemini) => Some(format!("gemini:{raw}")),
        (Inbound::Gemini, Upstream::Anthropic | Upstream::Responses) => None,
        (Inbound::Messages | Inbound::Gemini, Upstream::OpenAi) => unreachable!("no signature"),
    };
    Some((client, raw))
}

/// The client replays the signed thinking on its next turn: the upstream that signed it gets its signature back.
pub(super) fn check_signature_round_trip(world: &World, cell: &Cell, outcome: &Outcome, text: &str) {
    let Some((client, raw)) = signatures(cell) else { return };
    let client = match client {
        Some(client) => {
            assert_eq!(outcome.signature.as_deref(), Some(client.as_str()), "the signature reaches the client: {text}");
            client
        }
        None => {
            let carried = outcome.signature.clone().unwrap_or_else(|| panic!("a signature reaches the client: {text}"));
            assert_ne!(carried, raw, "another provider's signature is carried, not shown raw: {text}");
            carried
        }
    };
    let model = format!("{}/{}+turn-2", cell.upstream.provider(), cell.model());
    let (path, body) = match cell.inbound {
        Inbound::Messages => (
            "/v1/messages",
            json!({ "model": model, "max_tokens": 2048,
            "thinking": { "type": "enabled", "budget_tokens": 1024 },
            "messages": [
                { "role": "user", "content": "hi there friend" },
                { "role": "assistant", "content": [
                    { "type": "thinking", "thinking": outcome.thinking, "signature": client },
                    { "type": "text", "text": outcome.text } ] },
                { "role": "user", "content": "and then?" } ] }),
        ),
        Inbound::Responses => (
            "/v1/responses",
            json!({ "model": model, "reasoning": { "effort": "low" },
            "input": [
                { "type": "message", "role": "user", "content": "hi there friend" },
                { "type": "reasoning", "summary": [{ "type": "summary_text", "text": outcome.thinking }],
                  "encrypted_content": client },
                { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": outcome.text }] },
                { "type": "message", "role": "user", "content": "and then?" } ] }),
        ),
        // Gemini CLI replays the model's parts as they came.
        Inbound::Gemini => (
            "/v1beta/models/{model}:generateContent",
            json!({ "generationConfig": { "thinkingConfig": { "thinkingBudget": 1024, "includeThoughts": true } },
            "contents": [
                { "role": "user", "parts": [{ "text": "hi there friend" }] },
                { "role": "model", "parts": outcome.parts },
                { "role": "user", "parts": [{ "text": "and then?" }] } ] }),
        ),
        Inbound::Chat => return,
    };
    let path = path.replace("{model}", &model);
    let turn = Cell { case: Case::Plain, ..*cell };
    let (status, answer) = send(world, &turn, &path, &body);
    assert_eq!(status, StatusCode::OK, "{answer}");
    let upstream_model = format!("{}+turn-2", cell.model());
    let sent = world.upstream_requests(cell.upstream, &upstream_model);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent = sent[0].json.clone().expect("JSON");
    let got = match cell.upstream {
        Upstream::Anthropic => &sent["messages"][1]["content"][0]["signature"],
        Upstream::OpenAi | Upstream::Responses => sent["input"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["type"] == "reasoning"))
            .map_or(&Value::Null, |item| &item["encrypted_content"]),
        Upstream::Gemini => sent["contents"][1]["parts"]
            .as_array()
            .and_then(|parts| parts.iter().find_map(|p| p.get("thoughtSignature")))
            .unwrap_or(&Value::Null),
    };
    assert_eq!(got, raw, "the signer gets its own signature back: {sent}");
}

/// An overloaded upstream (Anthropic 529, the others 503), retried once, and a rate limit reach a streaming client
/// before the stream starts: an HTTP error in its own shape, as the providers answer.
pub(super) fn check_upstream_error(world: &World, cell: &Cell, status: StatusCode, text: &str) {
    let body: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("an error body is JSON: {text}"));
    let want_status = if cell.upstream == Upstream::Anthropic { 529 } else { 503 };
    assert_eq!(status.as_u16(), want_status, "{text}");
    match cell.inbound {
        Inbound::Messages => {
            assert_eq!(body["type"], "error", "{text}");
            assert_eq!(body["error"]["type"], "overloaded_error", "{text}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
        }
        Inbound::Chat | Inbound::Responses => {
            assert!(
                body["error"]["message"].as_str().is_some_and(|m| m.starts_with(cell.upstream.provider())),
                "{text}"
            );
            assert!(body["error"]["code"].is_string(), "{text}");
        }
        Inbound::Gemini => {
            assert_eq!(
                (body["error"]["code"].as_u64(), body["error"]["status"].as_str()),
                (Some(want_status.into()), Some("UNAVAILABLE")),
                "{text}"
            );
            assert!(
                body["error"]["message"].as_str().is_some_and(|m| m.starts_with(cell.upstream.provider())),
                "{text}"
            );
        }
    }
    assert!(!text.contains(FAKE_KEY), "{text}");
    let calls = world.upstream_requests(cell.upstream, &cell.model());
    assert_eq!(calls.len(), 2, "an overloaded upstream is tried twice");
    check_ledger(world, cell, want_status);

    // A rate limit: 429 with Retry-After passed on, in the client's shape.
    let (path, mut body) = request(cell);
    let model = cell.model().replacen("overloaded", "rate-limit", 1);
    let path = path.replace(&cell.model(), &model);
    if cell.inbound != Inbound::Gemini {
        body["model"] = json!(format!("{}/{model}", cell.upstream.provider()));
    }
    let response = world.runtime.block_on(async {
        let mut request = world.client.post(format!("{}{path}", world.root)).json(&body);
        request = match cell.inbound {
            Inbound::Messages => request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01"),
            Inbound::Chat | Inbound::Responses => request.bearer_auth(FAKE_TOKEN),
            Inbound::Gemini => request.header("x-goog-api-key", FAKE_TOKEN),
        };
        request.send().await.expect("the gateway answers")
    });
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: Value = world.runtime.block_on(response.json()).expect("an error body is JSON");
    match cell.inbound {
        Inbound::Messages => {
            assert_eq!(
                (body["type"].as_str(), body["error"]["type"].as_str()),
                (Some("error"), Some("rate_limit_error"))
            )
        }
        Inbound::Chat | Inbound::Responses => assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}"),
        Inbound::Gemini => assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED", "{body}"),
    }
}

/// A Responses client passed through to OpenAI, or a Gemini client to Gemini, gets the upstream's bytes unchanged:
/// the same request sent straight to the fake (which answers deterministically) gives the same body, byte for byte.
pub(super) fn check_relayed_unchanged(world: &World, cell: &Cell, path: &str, text: &str) {
    let calls = world.upstream_requests(cell.upstream, &cell.model());
    let sent = calls[0].json.clone().expect("a JSON body upstream");
    let direct = world.runtime.block_on(async {
        let base = world.fake(cell.upstream).api_base();
        let request = match cell.inbound {
            Inbound::Gemini => {
                let method = path.rsplit_once(':').map_or("", |(_, method)| method);
                let url = format!("{base}/models/{}:{method}", cell.model());
                world.client.post(url).header("x-goog-api-key", FAKE_KEY)
            }
            _ => world.client.post(format!("{base}/responses")).bearer_auth(FAKE_KEY),
        };
        let response = request.json(&sent).send().await.expect("the fake answers");
        response.text().await.expect("a whole body")
    });
    assert_eq!(text, direct, "the upstream's answer is relayed byte for byte");
}

/// An Anthropic client served by translation learns the prompt's size only at the end (OpenAI and Gemini report
/// usage last, after `message_start` went out with zeros): the final `message_delta` must carry the input side
/// itself, which the Anthropic SDKs (and so Claude Code) take over into the message's usage.
pub(super) fn check_message_delta_usage(cell: &Cell, text: &str) {
    let (_, data) = sse_events(text)
        .into_iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap_or_else(|| panic!("a message_delta: {text}"));
    let usage = parse(&data, text)["usage"].clone();
    let want = expected_usage(cell);
    let input =
        u(&usage["input_tokens"]) + u(&usage["cache_read_input_tokens"]) + u(&usage["cache_creation_input_tokens"]);
    assert_eq!(
        (input, u(&usage["cache_read_input_tokens"]), u(&usage["output_tokens"])),
        (want.input, want.cached, want.output),
        "message_delta's own usage: {usage}"
    );
}
