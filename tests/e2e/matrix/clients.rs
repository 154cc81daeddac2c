//! What the client saw, read into one shape for every protocol: OpenAI chat, Anthropic messages, Responses (and
//! Gemini, in `gemini_client.rs`), each checked for well-formedness as it is read.

use super::*;

#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) text: String,
    pub(super) thinking: String,
    pub(super) signature: Option<String>,
    pub(super) calls: Vec<Call>,
    /// The stop reason in the client's own words (`stop`, `end_turn`, `completed`, `incomplete:max_output_tokens`).
    pub(super) stop: String,
    /// Anthropic's `stop_sequence`.
    pub(super) stop_sequence: Option<String>,
    pub(super) usage: Option<Tokens>,
    /// An in-band error ended the stream: its type or code.
    pub(super) error: Option<String>,
    /// Gemini: the model's parts as they came, for a client that replays them.
    pub(super) parts: Vec<Value>,
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) arguments: String,
    /// How many deltas carried the arguments (1 for a whole answer).
    pub(super) deltas: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tokens {
    /// Every prompt token, cached ones included.
    pub(super) input: u64,
    pub(super) cached: u64,
    pub(super) output: u64,
    pub(super) reasoning: Option<u64>,
}

/// `(event name, data)` pairs of an SSE body, checking it ends on an event boundary.
pub(super) fn sse_events(body: &str) -> Vec<(String, String)> {
    assert!(body.ends_with("\n\n"), "the stream must end on an event boundary: {body:?}");
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_owned();
            let data = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            (name, data)
        })
        .collect()
}

pub(super) fn parse(data: &str, body: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|_| panic!("not JSON: {data:?} in {body}"))
}

pub(super) fn u(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

// OpenAI chat ----------------------------------------------------------------------------------------------------

pub(super) fn chat_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| Tokens {
        input: u(&usage["prompt_tokens"]),
        cached: u(&usage["prompt_tokens_details"]["cached_tokens"]),
        output: u(&usage["completion_tokens"]),
        reasoning: usage["completion_tokens_details"]["reasoning_tokens"].as_u64(),
    })
}

pub(super) fn chat_whole(body: &Value) -> Outcome {
    assert_eq!(body["object"], "chat.completion", "{body}");
    let choices = body["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 1, "{body}");
    let message = &choices[0]["message"];
    assert_eq!(message["role"], "assistant", "{body}");
    let calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|call| {
            assert_eq!(call["type"], "function", "{body}");
            Call {
                id: call["id"].as_str().expect("a call id").to_owned(),
                name: call["function"]["name"].as_str().expect("a name").to_owned(),
                arguments: call["function"]["arguments"].as_str().expect("arguments as text").to_owned(),
                deltas: 1,
            }
        })
        .collect();
    Outcome {
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        thinking: message["reasoning_content"].as_str().unwrap_or_default().to_owned(),
        calls,
        stop: choices[0]["finish_reason"].as_str().expect("a finish_reason").to_owned(),
        usage: chat_usage(&body["usage"]),
        ..Outcome::default()
    }
}

/// Chunks, then `[DONE]` once and last; the role first; deltas, then one finish_reason, then (when asked) one usage
/// chunk with no choices; or an error chunk before `[DONE]`.
pub(super) fn chat_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"), "{body}");
    assert_eq!(events.iter().filter(|e| e.1 == "[DONE]").count(), 1, "{body}");
    let mut outcome = Outcome::default();
    let mut finished = false;
    let mut usage_seen = false;
    for (i, (name, data)) in events[..events.len() - 1].iter().enumerate() {
        assert!(name.is_empty(), "OpenAI chunks are unnamed: {body}");
        let chunk = parse(data, body);
        assert!(outcome.error.is_none(), "nothing follows an error but [DONE]: {body}");
        if chunk.get("error").is_some() {
            outcome.error = Some(chunk["error"]["type"].as_str().unwrap_or("?").to_owned());
            assert!(chunk["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            continue;
        }
        assert_eq!(chunk["object"], "chat.completion.chunk", "{body}");
        assert!(!usage_seen, "the usage chunk comes last: {body}");
        let choices = chunk["choices"].as_array().expect("choices");
        if choices.is_empty() {
            outcome.usage = chat_usage(&chunk["usage"]);
            assert!(outcome.usage.is_some(), "a chunk without choices carries usage: {body}");
            usage_seen = true;
            continue;
        }
        assert_eq!(choices.len(), 1, "{body}");
        let choice = &choices[0];
        assert_eq!(choice["index"], 0, "{body}");
        let delta = &choice["delta"];
        if i == 0 {
            assert_eq!(delta["role"], "assistant", "the first chunk names the role: {body}");
        }
        let has_content = delta["content"].as_str().is_some_and(|t| !t.is_empty())
            || delta["reasoning_content"].as_str().is_some()
            || delta["tool_calls"].is_array();
        assert!(!(finished && has_content), "content after the finish_reason: {body}");
        outcome.text.push_str(delta["content"].as_str().unwrap_or_default());
        outcome.thinking.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = usize::try_from(call["index"].as_u64().expect("a call index")).unwrap_or(usize::MAX);
            if let Some(id) = call["id"].as_str() {
                assert_eq!(index, outcome.calls.len(), "a new call takes the next index: {body}");
                assert_eq!(call["type"], "function", "{body}");
                outcome.calls.push(Call {
                    id: id.to_owned(),
                    name: call["function"]["name"].as_str().expect("a new call's name").to_owned(),
                    arguments: String::new(),
                    deltas: 0,
                });
            }
            let known = outcome.calls.get_mut(index).unwrap_or_else(|| panic!("arguments for an unknown call: {body}"));
            if let Some(arguments) = call["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                known.arguments.push_str(arguments);
                known.deltas += 1;
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            assert!(!finished, "one finish_reason per choice: {body}");
            finished = true;
            outcome.stop = reason.to_owned();
        }
    }
    assert!(finished || outcome.error.is_some(), "the stream finishes or reports an error: {body}");
    outcome
}

// Anthropic messages ---------------------------------------------------------------------------------------------

/// Anthropic counts cached input apart; `merged` is the message_start usage updated by message_delta's.
pub(super) fn messages_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| {
        let cached = u(&usage["cache_read_input_tokens"]);
        Tokens {
            input: u(&usage["input_tokens"]) + cached + u(&usage["cache_creation_input_tokens"]),
            cached,
            output: u(&usage["output_tokens"]),
            reasoning: None,
        }
    })
}

pub(super) fn messages_whole(body: &Value) -> Outcome {
    assert_eq!(body["type"], "message", "{body}");
    assert_eq!(body["role"], "assistant", "{body}");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
    let mut outcome = Outcome {
        stop: body["stop_reason"].as_str().expect("a stop_reason").to_owned(),
        stop_sequence: body["stop_sequence"].as_str().map(str::to_owned),
        usage: messages_usage(&body["usage"]),
        ..Outcome::default()
    };
    for block in body["content"].as_array().expect("content blocks") {
        match block["type"].as_str() {
            Some("text") => outcome.text.push_str(block["text"].as_str().expect("text")),
            Some("thinking") => {
                outcome.thinking.push_str(block["thinking"].as_str().expect("thinking"));
                outcome.signature = block["signature"].as_str().map(str::to_owned);
            }
            Some("tool_use") => {
                assert!(block["input"].is_object(), "tool input is an object: {body}");
                outcome.calls.push(Call {
                    id: block["id"].as_str().expect("an id").to_owned(),
                    name: block["name"].as_str().expect("a name").to_owned(),
                    arguments: block["input"].to_string(),
                    deltas: 1,
                });
            }
            other => panic!("unexpected block {other:?}: {body}"),
        }
    }
    outcome
}

/// message_start, then blocks opened, delta'd and closed one at a time in index order, then message_delta with the
/// stop reason and message_stop; or an error event last.
pub(super) fn messages_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    let mut outcome = Outcome::default();
    assert_eq!(events[0].0, "message_start", "{body}");
    let start = parse(&events[0].1, body);
    assert_eq!(start["message"]["role"], "assistant", "{body}");
    let mut usage = start["message"]["usage"].clone();
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0;
    let mut saw_delta = false;
    let mut stopped = false;
    for (name, data) in &events[1..] {
        let data = parse(data, body);
        assert_eq!(data["type"], name.as_str(), "data.type names the event: {body}");
        assert!(!stopped, "nothing after message_stop: {body}");
        assert!(outcome.error.is_none(), "nothing after an error: {body}");
        match name.as_str() {
            "ping" => {}
            "content_block_start" => {
                assert!(open.is_none(), "a block opened inside another: {body}");
                assert!(!saw_delta, "a block after message_delta: {body}");
                assert_eq!(data["index"], next_index, "blocks are numbered in order: {body}");
                let block = &data["content_block"];
                let kind = block["type"].as_str().expect("a block type").to_owned();
                match kind.as_str() {
                    "tool_use" => {
                        assert_eq!(block["input"], json!({}), "{body}");
                        outcome.calls.push(Call {
                            id: block["id"].as_str().expect("an id").to_owned(),
                            name: block["name"].as_str().expect("a name").to_owned(),
                            arguments: String::new(),
                            deltas: 0,
                        });
                    }
                    "text" => assert_eq!(block["text"], "", "{body}"),
                    "thinking" => assert_eq!(block["thinking"], "", "{body}"),
                    other => panic!("unexpected block {other}: {body}"),
                }
                open = Some((next_index, kind));
                next_index += 1;
            }
            "content_block_delta" => {
                let (index, kind) = open.clone().unwrap_or_else(|| panic!("a delta outside a block: {body}"));
                assert_eq!(data["index"], index, "{body}");
                let delta = &data["delta"];
                match (kind.as_str(), delta["type"].as_str().unwrap_or_default()) {
                    ("text", "text_delta") => outcome.text.push_str(delta["text"].as_str().expect("text")),
                    ("tool_use", "input_json_delta") => {
                        let call = outcome.calls.last_mut().expect("the open call");
                        call.arguments.push_str(delta["partial_json"].as_str().expect("partial_json"));
                        call.deltas += 1;
                    }
                    ("thinking", "thinking_delta") => {
                        assert!(outcome.signature.is_none(), "thinking after its signature: {body}");
                        outcome.thinking.push_str(delta["thinking"].as_str().expect("thinking"));
                    }
                    ("thinking", "signature_delta") => {
                        outcome.signature = Some(delta["signature"].as_str().expect("signature").to_owned());
                    }
                    other => panic!("delta {other:?} does not fit its block: {body}"),
                }
            }
            "content_block_stop" => {
                let (index, _) = open.take().unwrap_or_else(|| panic!("a stop without a block: {body}"));
                assert_eq!(data["index"], index, "{body}");
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block still open: {body}");
                assert!(!saw_delta, "one message_delta: {body}");
                saw_delta = true;
                outcome.stop = data["delta"]["stop_reason"].as_str().expect("a stop_reason").to_owned();
                outcome.stop_sequence = data["delta"]["stop_sequence"].as_str().map(str::to_owned);
                // The delta's counts replace message_start's, field by field.
                for (key, value) in data["usage"].as_object().into_iter().flatten() {
                    if !value.is_null() {
                        usage[key] = value.clone();
                    }
                }
            }
            "message_stop" => {
                assert!(saw_delta, "message_stop before message_delta: {body}");
                stopped = true;
            }
            "error" => {
                outcome.error = Some(data["error"]["type"].as_str().expect("an error type").to_owned());
                assert!(data["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
            other => panic!("unknown event {other}: {body}"),
        }
    }
    assert!(stopped || outcome.error.is_some(), "the stream ends with message_stop or an error: {body}");
    if saw_delta {
        outcome.usage = messages_usage(&usage);
    }
    outcome
}

// Responses ------------------------------------------------------------------------------------------------------

pub(super) fn responses_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| {
        assert_eq!(u(&usage["total_tokens"]), u(&usage["input_tokens"]) + u(&usage["output_tokens"]), "{usage}");
        Tokens {
            input: u(&usage["input_tokens"]),
            cached: u(&usage["input_tokens_details"]["cached_tokens"]),
            output: u(&usage["output_tokens"]),
            reasoning: usage["output_tokens_details"]["reasoning_tokens"].as_u64(),
        }
    })
}

/// A response object's output items, read into an outcome.
pub(super) fn responses_items(response: &Value, outcome: &mut Outcome) {
    for item in response["output"].as_array().expect("output items") {
        assert!(item["id"].as_str().is_some_and(|id| !id.is_empty()), "every item has an id: {response}");
        match item["type"].as_str() {
            Some("message") => {
                assert_eq!(item["role"], "assistant", "{response}");
                for part in item["content"].as_array().expect("content parts") {
                    assert_eq!(part["type"], "output_text", "{response}");
                    outcome.text.push_str(part["text"].as_str().expect("text"));
                }
            }
            Some("reasoning") => {
                for part in item["summary"].as_array().expect("a summary list") {
                    outcome.thinking.push_str(part["text"].as_str().expect("summary text"));
                }
                if let Some(encrypted) = item["encrypted_content"].as_str() {
                    outcome.signature = Some(encrypted.to_owned());
                }
            }
            Some("function_call") => outcome.calls.push(Call {
                id: item["call_id"].as_str().expect("a call_id").to_owned(),
                name: item["name"].as_str().expect("a name").to_owned(),
                arguments: item["arguments"].as_str().expect("arguments as text").to_owned(),
                deltas: 1,
            }),
            other => panic!("unexpected item {other:?}: {response}"),
        }
    }
}

pub(super) fn responses_stop(response: &Value) -> String {
    let status = response["status"].as_str().expect("a status");
    match response["incomplete_details"]["reason"].as_str() {
        Some(reason) => format!("{status}:{reason}"),
        None => status.to_owned(),
    }
}

pub(super) fn responses_whole(body: &Value) -> Outcome {
    assert_eq!(body["object"], "response", "{body}");
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("resp_")), "{body}");
    let mut outcome =
        Outcome { stop: responses_stop(body), usage: responses_usage(&body["usage"]), ..Outcome::default() };
    responses_items(body, &mut outcome);
    outcome
}

/// Named events, `type` equal to the name, sequence numbers from 0; `response.created`, `response.in_progress`,
/// items added in output order with their deltas before their `done`, then `response.completed` (or `incomplete` /
/// `failed`) last, whose output equals what the deltas built.
pub(super) fn responses_stream(body: &str) -> Outcome {
    let events = sse_events(body);
    let events: Vec<(String, Value)> = events.into_iter().map(|(n, d)| (n, parse(&d, body))).collect();
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "data.type names the event: {body}");
        assert_eq!(data["sequence_number"], i as u64, "sequence numbers count up from 0: {body}");
    }
    assert_eq!(events[0].0, "response.created", "{body}");
    assert_eq!(events[1].0, "response.in_progress", "{body}");
    let id = events[0].1["response"]["id"].as_str().expect("a response id").to_owned();
    // (item id, type, done, text or arguments, deltas)
    let mut items: Vec<(String, String, bool, String, usize)> = Vec::new();
    let mut thinking = String::new();
    let mut last: Option<&Value> = None;
    for (name, data) in &events[2..] {
        assert!(last.is_none(), "nothing follows the terminal event: {body}");
        let index = data["output_index"].as_u64().map(|i| usize::try_from(i).unwrap_or(usize::MAX));
        let live = |items: &Vec<(String, String, bool, String, usize)>| {
            let index = index.unwrap_or_else(|| panic!("{name} without an output_index: {body}"));
            let item = items.get(index).unwrap_or_else(|| panic!("{name} for an item not added: {body}"));
            assert!(!item.2, "{name} after the item was done: {body}");
            if name != "response.output_item.done" {
                assert_eq!(data["item_id"], item.0.as_str(), "{name} names its item: {body}");
            }
            index
        };
        match name.as_str() {
            "response.output_item.added" => {
                assert_eq!(index, Some(items.len()), "items are added in output order: {body}");
                let item = &data["item"];
                items.push((
                    item["id"].as_str().expect("an item id").to_owned(),
                    item["type"].as_str().expect("an item type").to_owned(),
                    false,
                    String::new(),
                    0,
                ));
            }
            "response.content_part.added" | "response.content_part.done" => {
                live(&items);
            }
            "response.output_text.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "message", "{body}");
                items[i].3.push_str(data["delta"].as_str().expect("a delta"));
                items[i].4 += 1;
            }
            "response.output_text.done" => {
                let i = live(&items);
                assert_eq!(data["text"], items[i].3.as_str(), "done repeats the whole text: {body}");
            }
            "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done" => {
                let i = live(&items);
                assert_eq!(items[i].1, "reasoning", "{body}");
            }
            "response.reasoning_summary_text.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "reasoning", "{body}");
                thinking.push_str(data["delta"].as_str().expect("a delta"));
            }
            "response.reasoning_summary_text.done" => {
                live(&items);
            }
            "response.function_call_arguments.delta" => {
                let i = live(&items);
                assert_eq!(items[i].1, "function_call", "{body}");
                items[i].3.push_str(data["delta"].as_str().expect("a delta"));
                items[i].4 += 1;
            }
            "response.function_call_arguments.done" => {
                let i = live(&items);
                assert_eq!(data["arguments"], items[i].3.as_str(), "done repeats the arguments: {body}");
            }
            "response.output_item.done" => {
                let i = live(&items);
                assert_eq!(data["item"]["id"], items[i].0.as_str(), "{body}");
                items[i].2 = true;
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                assert_eq!(data["response"]["id"], id.as_str(), "one response id throughout: {body}");
                if name != "response.failed" {
                    assert!(items.iter().all(|item| item.2), "every item is done before the end: {body}");
                }
                last = Some(&data["response"]);
            }
            other => panic!("unexpected event {other}: {body}"),
        }
    }
    let response = last.unwrap_or_else(|| panic!("no terminal event: {body}"));
    let mut outcome = Outcome { stop: responses_stop(response), ..Outcome::default() };
    if response["status"] == "failed" {
        outcome.error = Some(response["error"]["code"].as_str().expect("an error code").to_owned());
        // What streamed before the failure.
        outcome.text = items.iter().filter(|i| i.1 == "message").map(|i| i.3.as_str()).collect();
        return outcome;
    }
    outcome.usage = responses_usage(&response["usage"]);
    responses_items(response, &mut outcome);
    // The final output is what the deltas built.
    let streamed_text: String = items.iter().filter(|i| i.1 == "message").map(|i| i.3.as_str()).collect();
    assert_eq!(outcome.text, streamed_text, "{body}");
    assert_eq!(outcome.thinking, thinking, "{body}");
    let streamed_calls: Vec<&(String, String, bool, String, usize)> =
        items.iter().filter(|i| i.1 == "function_call").collect();
    assert_eq!(outcome.calls.len(), streamed_calls.len(), "{body}");
    for (call, streamed) in outcome.calls.iter_mut().zip(streamed_calls) {
        assert_eq!(call.arguments, streamed.3, "{body}");
        call.deltas = streamed.4;
    }
    outcome
}

pub(super) fn outcome(cell: &Cell, body: &str) -> Outcome {
    match (cell.inbound, cell.case.streams()) {
        (Inbound::Chat, true) => chat_stream(body),
        (Inbound::Messages, true) => messages_stream(body),
        (Inbound::Responses, true) => responses_stream(body),
        (Inbound::Gemini, true) => gemini_stream(body),
        (inbound, false) => {
            let json: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
            match inbound {
                Inbound::Chat => chat_whole(&json),
                Inbound::Messages => messages_whole(&json),
                Inbound::Responses => responses_whole(&json),
                Inbound::Gemini => gemini_whole(&json),
            }
        }
    }
}
