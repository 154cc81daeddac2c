//! Streams: neutral stream events as Responses' named events, with their sequence numbers.

use serde_json::{Map, Value, json};

use super::response::{Item, ItemBody, output_text_part, response_id, response_object, status_of};
use super::{REDACTED_PREFIX, encrypted_content};
use crate::protocol::SseEvent;
use crate::protocol::fields::unix_now;
use crate::protocol::neutral::{StopReason, StreamEvent, Usage};

/// Neutral events → the client's named events (`response.created` … `response.completed`), each with `type` equal to
/// its name and a `sequence_number` counting from 0.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created_at: u64,
    next_sequence: u64,
    started: bool,
    /// Every output item so far, by output index.
    items: Vec<Item>,
    /// The message item text deltas go to, and the reasoning item thinking deltas go to, while open.
    open_message: Option<usize>,
    open_reasoning: Option<usize>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    /// A terminal event (`response.completed` / `incomplete` / `failed`) was sent.
    ended: bool,
}

impl StreamEncoder {
    /// `include_usage` is ignored: a Responses stream always reports usage in its final response.
    pub fn new(_include_usage: bool) -> Self {
        StreamEncoder {
            id: String::new(),
            model: String::new(),
            created_at: 0,
            next_sequence: 0,
            started: false,
            items: Vec::new(),
            open_message: None,
            open_reasoning: None,
            stop: None,
            usage: None,
            ended: false,
        }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if let StreamEvent::Start { id, model, created } = event
            && !self.started
        {
            self.id = response_id(id);
            self.model.clone_from(model);
            self.created_at = *created;
        }
        self.start(&mut out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { choice: 0, text } => self.text(text, &mut out),
            StreamEvent::ThinkingDelta { choice: 0, text } => self.thinking(text, &mut out),
            StreamEvent::ThinkingSignature { choice: 0, signature } => self.signature(signature, &mut out),
            StreamEvent::RedactedThinking { choice: 0, data } => {
                self.close_open(&mut out);
                let index = self.open(Item::reasoning(Some(format!("{REDACTED_PREFIX}{data}"))), &mut out);
                self.close(index, &mut out);
            }
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => {
                self.close_open(&mut out);
                if self.live_call(*index).is_some() {
                    tracing::warn!(index, "ignoring a second start of a streaming tool call");
                } else {
                    let call = ItemBody::Call {
                        index: *index,
                        call_id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                    };
                    self.open(call, &mut out);
                }
            }
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => self.arguments(*index, arguments, &mut out),
            StreamEvent::Stop { choice: 0, reason } => {
                self.close_all(&mut out);
                self.stop = Some(reason.clone());
                if self.usage.is_some() {
                    self.end(&mut out);
                }
            }
            StreamEvent::Usage { usage, .. } => {
                self.usage = Some(*usage);
                if self.stop.is_some() {
                    self.end(&mut out);
                }
            }
            StreamEvent::Error { message, kind } => self.fail(message, kind, &mut out),
            // Responses has a single output.
            _ => tracing::debug!("dropping a stream event for a choice other than 0"),
        }
        out
    }

    /// Whatever closing events have not been sent: open items, then `response.completed` (or `incomplete`).
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.ended {
            self.start(&mut out);
            self.end(&mut out);
        }
        out
    }

    fn emit(&mut self, name: &str, data: Value, out: &mut Vec<SseEvent>) {
        let mut body = Map::new();
        body.insert("type".into(), json!(name));
        body.insert("sequence_number".into(), json!(self.next_sequence));
        if let Value::Object(fields) = data {
            body.extend(fields);
        }
        self.next_sequence += 1;
        out.push(SseEvent { event: Some(name.to_owned()), data: Value::Object(body).to_string() });
    }

    /// The response object as it stands: finished items only.
    fn response(&self, status: &str) -> Value {
        let output = self.items.iter().filter(|item| item.done).map(|item| item.to_json(true)).collect();
        response_object(&self.id, &self.model, self.created_at, status, output, self.usage.as_ref())
    }

    /// `response.created` and `response.in_progress`, once.
    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        if self.id.is_empty() {
            self.id = response_id("");
        }
        if self.created_at == 0 {
            self.created_at = unix_now();
        }
        let response = self.response("in_progress");
        self.emit("response.created", json!({"response": response}), out);
        self.emit("response.in_progress", json!({"response": response}), out);
    }

    /// Announces a new output item; a message also gets its (single) text part.
    fn open(&mut self, body: ItemBody, out: &mut Vec<SseEvent>) -> usize {
        let index = self.items.len();
        let item = Item::new(&self.id, index, body);
        let (id, added, is_message) =
            (item.id.clone(), item.to_json(false), matches!(item.body, ItemBody::Message { .. }));
        self.items.push(item);
        self.emit("response.output_item.added", json!({"output_index": index, "item": added}), out);
        if is_message {
            let part = output_text_part("");
            let data = json!({"item_id": id, "output_index": index, "content_index": 0, "part": part});
            self.emit("response.content_part.added", data, out);
        }
        index
    }

    /// Finishes an item: its `…done` events, then `response.output_item.done` with the whole item.
    fn close(&mut self, index: usize, out: &mut Vec<SseEvent>) {
        let Some(item) = self.items.get_mut(index) else { return };
        if std::mem::replace(&mut item.done, true) {
            return;
        }
        let id = item.id.clone();
        let mut events = Vec::new();
        match &item.body {
            ItemBody::Message { text } => {
                events.push((
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                ));
                events.push((
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text_part(text)}),
                ));
            }
            ItemBody::Reasoning { text, part_open: true, .. } => {
                let part = json!({"type": "summary_text", "text": text});
                events.push((
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                ));
                events.push((
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part}),
                ));
            }
            ItemBody::Reasoning { .. } => {}
            ItemBody::Call { name, arguments, .. } => events.push((
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
            )),
        }
        let done = item.to_json(true);
        for (name, data) in events {
            self.emit(name, data, out);
        }
        self.emit("response.output_item.done", json!({"output_index": index, "item": done}), out);
        if self.open_message == Some(index) {
            self.open_message = None;
        }
        if self.open_reasoning == Some(index) {
            self.open_reasoning = None;
        }
    }

    /// Closes the open message and reasoning items (not tool calls, whose deltas may still interleave).
    fn close_open(&mut self, out: &mut Vec<SseEvent>) {
        for index in [self.open_message, self.open_reasoning].into_iter().flatten() {
            self.close(index, out);
        }
    }

    fn close_all(&mut self, out: &mut Vec<SseEvent>) {
        for index in 0..self.items.len() {
            self.close(index, out);
        }
    }

    fn text(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        if text.is_empty() {
            return;
        }
        if let Some(index) = self.open_reasoning {
            self.close(index, out);
        }
        let index = match self.open_message {
            Some(index) => index,
            None => {
                let index = self.open(ItemBody::Message { text: String::new() }, out);
                self.open_message = Some(index);
                index
            }
        };
        let Some(item) = self.items.get_mut(index) else { return };
        if let ItemBody::Message { text: all } = &mut item.body {
            all.push_str(text);
        }
        let data =
            json!({"item_id": item.id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []});
        self.emit("response.output_text.delta", data, out);
    }

    fn thinking(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        if text.is_empty() {
            return;
        }
        if let Some(index) = self.open_message {
            self.close(index, out);
        }
        // A signature ends a thinking block (Anthropic signs at its end): more text is a new block.
        if let Some(index) = self.open_reasoning
            && matches!(self.items.get(index), Some(Item { body: ItemBody::Reasoning { encrypted: Some(_), .. }, .. }))
        {
            self.close(index, out);
        }
        let index = match self.open_reasoning {
            Some(index) => index,
            None => {
                let index = self.open(Item::reasoning(None), out);
                self.open_reasoning = Some(index);
                index
            }
        };
        let Some(item) = self.items.get_mut(index) else { return };
        let id = item.id.clone();
        let ItemBody::Reasoning { text: all, part_open, .. } = &mut item.body else { return };
        all.push_str(text);
        let first = !std::mem::replace(part_open, true);
        if first {
            let part = json!({"type": "summary_text", "text": ""});
            let data = json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part});
            self.emit("response.reasoning_summary_part.added", data, out);
        }
        let data = json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text});
        self.emit("response.reasoning_summary_text.delta", data, out);
    }

    /// A signature: on the open reasoning item, or (Gemini's signature before a text or call part) on a new one.
    fn signature(&mut self, signature: &str, out: &mut Vec<SseEvent>) {
        if let Some(index) = self.open_message {
            self.close(index, out);
        }
        if let Some(index) = self.open_reasoning
            && let Some(Item { body: ItemBody::Reasoning { encrypted: slot @ None, .. }, .. }) =
                self.items.get_mut(index)
        {
            *slot = Some(encrypted_content(signature));
            return;
        }
        if let Some(index) = self.open_reasoning {
            self.close(index, out);
        }
        let index = self.open(Item::reasoning(Some(encrypted_content(signature))), out);
        self.open_reasoning = Some(index);
    }

    /// The output index of the unfinished call with this neutral index.
    fn live_call(&self, call: u32) -> Option<usize> {
        self.items
            .iter()
            .rposition(|item| !item.done && matches!(item.body, ItemBody::Call { index, .. } if index == call))
    }

    fn arguments(&mut self, call: u32, arguments: &str, out: &mut Vec<SseEvent>) {
        let Some(index) = self.live_call(call) else {
            tracing::warn!(index = call, "dropping arguments for a tool call that was not started or is finished");
            return;
        };
        if arguments.is_empty() {
            return;
        }
        let Some(item) = self.items.get_mut(index) else { return };
        if let ItemBody::Call { arguments: all, .. } = &mut item.body {
            all.push_str(arguments);
        }
        let data = json!({"item_id": item.id, "output_index": index, "delta": arguments});
        self.emit("response.function_call_arguments.delta", data, out);
    }

    /// Closes every item and sends `response.completed` (or `response.incomplete`), once.
    fn end(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.close_all(out);
        let (status, incomplete) = status_of(self.stop.as_ref());
        let mut response = self.response(status);
        response["incomplete_details"] = incomplete;
        let name = if status == "completed" { "response.completed" } else { "response.incomplete" };
        self.emit(name, json!({"response": response}), out);
    }

    /// `response.failed`, with the items finished so far; open items stay unfinished (see the module docs).
    fn fail(&mut self, message: &str, kind: &str, out: &mut Vec<SseEvent>) {
        self.ended = true;
        let mut response = self.response("failed");
        response["error"] = json!({"code": error_code(kind), "message": message});
        self.emit("response.failed", json!({"response": response}), out);
    }
}

/// A Responses error code for a neutral error kind; clients (Codex) act on the first three.
fn error_code(kind: &str) -> &'static str {
    match kind {
        k if k.contains("rate_limit") => "rate_limit_exceeded",
        "context_length_exceeded" => "context_length_exceeded",
        "insufficient_quota" => "insufficient_quota",
        _ => "server_error",
    }
}
