//! OpenAI's Responses API on the fake OpenAI upstream, `POST /v1/responses`: a whole `response` object, or the
//! named event stream (`response.created`, `response.in_progress`, per output item `response.output_item.added`,
//! its content or summary part and deltas, `…done`, `response.output_item.done`, then `response.completed` or
//! `response.incomplete` carrying the final response with its usage), every event with its `sequence_number`.
//! Written from OpenAI's API reference; faults and delivery follow the model name like every other route.
//! Reasoning items carry [`ENCRYPTED_REASONING`] when the request asks for `reasoning.encrypted_content`, and
//! `fail-mid-stream` ends a stream with `response.failed` (its usage included) after two content events. An OpenAI
//! fake started without the Responses API has no such route: `/v1/responses` answers 404 like any unknown path.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::openai::{CREATED, SSE, bad_request, fault_response, parse};
use super::script::{self, Content, Delivery, Finish, ReadTurn, Reply, ToolCall};
use super::wire::{self, Frame, J, obj};
use super::{FakeKind, Incoming, Shared, joined_text};

/// Every response the fake makes has this id; its items are `msg_fake_<n>`, `rs_fake_<n>`, `fc_fake_<n>`.
pub const RESPONSE_ID: &str = "resp_fake";
/// The `encrypted_content` of every reasoning item, when asked for.
pub const ENCRYPTED_REASONING: &str = "gAAAAB-fake-encrypted-reasoning";

pub(super) async fn create(State(shared): State<Shared>, Extension(incoming): Extension<Arc<Incoming>>) -> Response {
    let (body, model) = match parse(&incoming) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(message),
    };
    if body.get("input").is_none_or(Value::is_null) {
        return bad_request("Missing required parameter: 'input'.");
    }
    let scenario = incoming.scenario(model);
    if let Some(fault) = scenario.fault {
        return fault_response(fault, model);
    }
    script::before_headers(scenario.delivery).await;
    let reply = match scenario.content {
        Content::ReadFile => script::read_file(FakeKind::OpenAi, model, &read_turn(body)),
        Content::Agent => script::agent(FakeKind::OpenAi, model, &ask(body)),
        content => script::reply(FakeKind::OpenAi, model, content, &last_user_text(body)),
    };
    if body["stream"] == true {
        let mut frames = frames(body, model, &reply);
        let mut delivery = scenario.delivery;
        if delivery == Delivery::FailMidStream {
            frames = failing(frames, body, model, &reply);
            delivery = Delivery::Normal;
        }
        wire::sse(&SSE, frames, delivery, shared.shutdown)
    } else {
        let response = response(body, model, &reply, status(&reply), items(body, &reply, true));
        wire::json(StatusCode::OK, &response, scenario.delivery, shared.shutdown).await
    }
}

/// Whether the request asks for reasoning items' encrypted content.
fn wants_encrypted(body: &Value) -> bool {
    body["include"].as_array().is_some_and(|include| include.iter().any(|i| i == "reasoning.encrypted_content"))
}

/// One output item of a reply, in output order: the reasoning, the message, the function calls.
enum Item<'a> {
    Reasoning(&'a str),
    Message(&'a str),
    Call(&'a ToolCall),
}

impl Item<'_> {
    fn id(&self, index: usize) -> String {
        let prefix = match self {
            Item::Reasoning(_) => "rs",
            Item::Message(_) => "msg",
            Item::Call(_) => "fc",
        };
        format!("{prefix}_fake_{index}")
    }

    /// The item as `response.output` lists it (done) or as `response.output_item.added` opens it.
    fn json(&self, index: usize, done: bool, encrypted: bool) -> J {
        let status = if done { "completed" } else { "in_progress" };
        match self {
            Item::Reasoning(text) => {
                let summary = if done { vec![obj! { "type": "summary_text", "text": *text }] } else { vec![] };
                let mut item = obj! { "id": self.id(index), "type": "reasoning", "summary": summary };
                if done && encrypted {
                    item.push("encrypted_content", ENCRYPTED_REASONING);
                }
                item
            }
            Item::Message(text) => {
                let content = if done { vec![output_text(text)] } else { vec![] };
                obj! { "id": self.id(index), "type": "message", "status": status, "content": content, "role": "assistant" }
            }
            Item::Call(call) => obj! {
                "id": self.id(index),
                "type": "function_call",
                "status": status,
                "arguments": if done { call.arguments.as_str() } else { "" },
                "call_id": call.id("call"),
                "name": &call.name,
            },
        }
    }
}

fn reply_items(reply: &Reply) -> Vec<Item<'_>> {
    let mut items = Vec::new();
    if let Some(reasoning) = reply.reasoning {
        items.push(Item::Reasoning(reasoning));
    }
    if let Some(text) = &reply.text {
        items.push(Item::Message(text));
    }
    items.extend(reply.tool_calls.iter().map(Item::Call));
    items
}

fn items(body: &Value, reply: &Reply, done: bool) -> Vec<J> {
    let encrypted = wants_encrypted(body);
    reply_items(reply).iter().enumerate().map(|(index, item)| item.json(index, done, encrypted)).collect()
}

fn output_text(text: &str) -> J {
    obj! { "type": "output_text", "annotations": Vec::<J>::new(), "logprobs": Vec::<J>::new(), "text": text }
}

/// `completed`, or `incomplete` when the reply ran out of tokens.
fn status(reply: &Reply) -> &'static str {
    if reply.finish == Finish::Length { "incomplete" } else { "completed" }
}

/// The response object, echoing the request's settings as OpenAI does.
fn response(body: &Value, model: &str, reply: &Reply, status: &str, output: Vec<J>) -> J {
    let usage = if status == "in_progress" {
        J::Null
    } else {
        obj! {
            "input_tokens": reply.usage.input,
            "input_tokens_details": obj! { "cached_tokens": reply.usage.cached },
            "output_tokens": reply.usage.output,
            "output_tokens_details": obj! { "reasoning_tokens": reply.usage.reasoning },
            "total_tokens": reply.usage.total(),
        }
    };
    let incomplete = (status == "incomplete").then(|| obj! { "reason": "max_output_tokens" });
    let echo = |key: &str| J::Val(body.get(key).cloned().unwrap_or(Value::Null));
    obj! {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": false,
        "error": J::Null,
        "incomplete_details": incomplete,
        "instructions": echo("instructions"),
        "max_output_tokens": echo("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body["parallel_tool_calls"].as_bool().unwrap_or(true),
        "previous_response_id": echo("previous_response_id"),
        "reasoning": obj! { "effort": J::Val(body["reasoning"]["effort"].clone()), "summary": J::Val(body["reasoning"]["summary"].clone()) },
        "store": body["store"].as_bool().unwrap_or(true),
        "temperature": body["temperature"].as_f64().map_or(J::Float(1.0), |t| J::Val(t.into())),
        "text": obj! { "format": obj! { "type": "text" } },
        "tool_choice": J::Val(body.get("tool_choice").cloned().unwrap_or_else(|| "auto".into())),
        "tools": J::Val(body.get("tools").cloned().unwrap_or_else(|| Value::Array(vec![]))),
        "top_p": body["top_p"].as_f64().map_or(J::Float(1.0), |t| J::Val(t.into())),
        "truncation": "disabled",
        "usage": usage,
        "user": J::Null,
        "metadata": obj! {},
    }
}

/// The named events of a streamed response, numbered from 0.
struct Events {
    frames: Vec<Frame>,
}

impl Events {
    /// `event: <name>` with `data: {"type": <name>, "sequence_number": n, …fields}`.
    fn push(&mut self, name: &'static str, fields: Vec<(&'static str, J)>, content: bool) {
        let mut data = vec![("type", J::from(name)), ("sequence_number", J::from(self.frames.len()))];
        data.extend(fields);
        let mut bytes = format!("event: {name}\ndata: ").into_bytes();
        bytes.extend_from_slice(&J::Obj(data).to_bytes());
        bytes.extend_from_slice(b"\n\n");
        self.frames.push(Frame::new(bytes, content));
    }
}

fn frames(body: &Value, model: &str, reply: &Reply) -> Vec<Frame> {
    let encrypted = wants_encrypted(body);
    let mut events = Events { frames: Vec::new() };
    let begun = || response(body, model, reply, "in_progress", vec![]);
    events.push("response.created", vec![("response", begun())], false);
    events.push("response.in_progress", vec![("response", begun())], false);
    for (index, item) in reply_items(reply).iter().enumerate() {
        let id = || J::from(item.id(index));
        events.push(
            "response.output_item.added",
            vec![("output_index", index.into()), ("item", item.json(index, false, encrypted))],
            false,
        );
        match item {
            Item::Reasoning(text) => {
                let at = || vec![("item_id", id()), ("output_index", J::from(index)), ("summary_index", J::from(0u32))];
                let part = |text: &str| obj! { "type": "summary_text", "text": text };
                events.push("response.reasoning_summary_part.added", [at(), vec![("part", part(""))]].concat(), false);
                for piece in script::pieces(text) {
                    events.push(
                        "response.reasoning_summary_text.delta",
                        [at(), vec![("delta", piece.into())]].concat(),
                        true,
                    );
                }
                events.push(
                    "response.reasoning_summary_text.done",
                    [at(), vec![("text", (*text).into())]].concat(),
                    false,
                );
                events.push("response.reasoning_summary_part.done", [at(), vec![("part", part(text))]].concat(), false);
            }
            Item::Message(text) => {
                let at = || vec![("item_id", id()), ("output_index", J::from(index)), ("content_index", J::from(0u32))];
                events.push("response.content_part.added", [at(), vec![("part", output_text(""))]].concat(), false);
                for piece in script::pieces(text) {
                    let fields = vec![("delta", piece.into()), ("logprobs", J::Arr(vec![]))];
                    events.push("response.output_text.delta", [at(), fields].concat(), true);
                }
                let fields = vec![("text", (*text).into()), ("logprobs", J::Arr(vec![]))];
                events.push("response.output_text.done", [at(), fields].concat(), false);
                events.push("response.content_part.done", [at(), vec![("part", output_text(text))]].concat(), false);
            }
            Item::Call(call) => {
                let at = || vec![("item_id", id()), ("output_index", J::from(index))];
                for fragment in script::fragments(&call.arguments, 3) {
                    events.push(
                        "response.function_call_arguments.delta",
                        [at(), vec![("delta", fragment.into())]].concat(),
                        true,
                    );
                }
                events.push(
                    "response.function_call_arguments.done",
                    [at(), vec![("arguments", call.arguments.as_str().into())]].concat(),
                    false,
                );
            }
        }
        events.push(
            "response.output_item.done",
            vec![("output_index", index.into()), ("item", item.json(index, true, encrypted))],
            false,
        );
    }
    let status = status(reply);
    let end = if status == "incomplete" { "response.incomplete" } else { "response.completed" };
    events.push(end, vec![("response", response(body, model, reply, status, items(body, reply, true)))], false);
    events.frames
}

/// The stream cut after its second content event, ended by `response.failed`: the response with status `failed`,
/// an error, no output, and the usage so far.
fn failing(mut frames: Vec<Frame>, body: &Value, model: &str, reply: &Reply) -> Vec<Frame> {
    frames.truncate(wire::after_content_frames(&frames, 2));
    let mut failed = response(body, model, reply, "failed", vec![]);
    if let J::Obj(fields) = &mut failed {
        for (key, value) in fields.iter_mut() {
            if *key == "error" {
                *value = obj! { "code": "server_error", "message": "The model had an error while generating." };
            }
        }
    }
    let mut events = Events { frames };
    events.push("response.failed", vec![("response", failed)], false);
    events.frames
}

/// What an `agent` model reads from a Responses body.
fn ask(body: &Value) -> script::Ask {
    let last = body["input"].as_array().and_then(|items| items.last());
    let tool_result = last.filter(|item| item["type"] == "function_call_output").map(|item| match &item["output"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    script::Ask {
        user_text: last_user_text(body),
        offers_tool: body["tools"].as_array().is_some_and(|tools| {
            tools.iter().any(|t| t["name"].as_str() == Some(script::tool_calls()[0].name.as_str()))
        }),
        tool_result,
        thinking: body["reasoning"]["effort"].is_string(),
    }
}

/// The text of the last user input: a string `input`, or the last user message item's text (a string, or its
/// `input_text` parts joined).
fn last_user_text(body: &Value) -> String {
    match &body["input"] {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let Some(item) = items.iter().rev().find(|item| item["role"] == "user") else { return String::new() };
            match &item["content"] {
                Value::String(text) => text.clone(),
                Value::Array(parts) => {
                    joined_text(parts, |part| (part["type"] == "input_text").then(|| part["text"].as_str()).flatten())
                }
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

/// The function tools offered and, when the input ends with `function_call_output` items, their output.
fn read_turn(body: &Value) -> ReadTurn {
    let tools = body["tools"].as_array().into_iter().flatten().filter(|tool| tool["type"] == "function");
    let tools = tools.filter_map(|tool| Some((tool["name"].as_str()?.to_owned(), tool["parameters"].clone())));
    let items = body["input"].as_array().map(Vec::as_slice).unwrap_or_default();
    let trailing = items.iter().rev().take_while(|item| item["type"] == "function_call_output");
    let mut results: Vec<String> = trailing
        .map(|item| match &item["output"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => joined_text(parts, |part| part["text"].as_str()),
            _ => String::new(),
        })
        .collect();
    results.reverse();
    ReadTurn {
        user_text: last_user_text(body),
        tools: tools.collect(),
        tool_result: (!results.is_empty()).then(|| results.join(" ")),
    }
}
