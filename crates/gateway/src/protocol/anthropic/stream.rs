//! Streams: an upstream's named events to neutral [`StreamEvent`]s, and neutral events to a client's named events.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::response::{decode_usage, encode_stop, encode_usage, merge_delta_usage, stop_reason};
use crate::protocol::fields::{as_object, field, text_of};
use crate::protocol::neutral::{StopReason, StreamEvent, Usage};
use crate::protocol::{ProtocolError, SseEvent};

/// Upstream events → neutral events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Block index → the neutral tool index, for `tool_use` blocks.
    tool_blocks: HashMap<u64, u32>,
    next_tool: u32,
    usage: Usage,
    usage_sent: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The usage reported so far (the prompt's, from `message_start`), for a stream that broke before its end.
    pub fn usage_so_far(&self) -> Option<Usage> {
        (self.usage != Usage::default()).then_some(self.usage)
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("the upstream sent a stream event that is not JSON: {e}")))?;
        let payload = as_object(&value, "")?;
        let kind = field(payload, "type").and_then(Value::as_str).or(event.event.as_deref()).unwrap_or_default();
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                let message = field(payload, "message").and_then(Value::as_object);
                if let Some(usage) = message.and_then(|m| field(m, "usage")).and_then(Value::as_object) {
                    self.usage = decode_usage(usage);
                }
                out.push(StreamEvent::Start {
                    id: message.map(|m| text_of(m, "id")).unwrap_or_default(),
                    model: message.map(|m| text_of(m, "model")).unwrap_or_default(),
                    created: 0,
                });
            }
            "content_block_start" => {
                let index = field(payload, "index").and_then(Value::as_u64).unwrap_or(0);
                let Some(block) = field(payload, "content_block").and_then(Value::as_object) else { return Ok(out) };
                match field(block, "type").and_then(Value::as_str).unwrap_or_default() {
                    "text" => {
                        let text = text_of(block, "text");
                        if !text.is_empty() {
                            out.push(StreamEvent::TextDelta { choice: 0, text });
                        }
                    }
                    "thinking" => {
                        let text = text_of(block, "thinking");
                        if !text.is_empty() {
                            out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                        }
                    }
                    "redacted_thinking" => {
                        out.push(StreamEvent::RedactedThinking { choice: 0, data: text_of(block, "data") });
                    }
                    "tool_use" => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.tool_blocks.insert(index, tool);
                        out.push(StreamEvent::ToolCallStart {
                            choice: 0,
                            index: tool,
                            id: text_of(block, "id"),
                            name: text_of(block, "name"),
                        });
                        // The input normally streams as deltas after an empty `{}`.
                        if let Some(input) = field(block, "input").and_then(Value::as_object)
                            && !input.is_empty()
                        {
                            let arguments = Value::Object(input.clone()).to_string();
                            out.push(StreamEvent::ToolCallDelta { choice: 0, index: tool, arguments });
                        }
                    }
                    other => tracing::debug!(kind = other, "skipping an unsupported content block"),
                }
            }
            "content_block_delta" => {
                let index = field(payload, "index").and_then(Value::as_u64).unwrap_or(0);
                let Some(delta) = field(payload, "delta").and_then(Value::as_object) else { return Ok(out) };
                match field(delta, "type").and_then(Value::as_str).unwrap_or_default() {
                    "text_delta" => out.push(StreamEvent::TextDelta { choice: 0, text: text_of(delta, "text") }),
                    "thinking_delta" => {
                        out.push(StreamEvent::ThinkingDelta { choice: 0, text: text_of(delta, "thinking") })
                    }
                    "signature_delta" => {
                        out.push(StreamEvent::ThinkingSignature { choice: 0, signature: text_of(delta, "signature") })
                    }
                    "input_json_delta" => {
                        let arguments = text_of(delta, "partial_json");
                        if let Some(&tool) = self.tool_blocks.get(&index)
                            && !arguments.is_empty()
                        {
                            out.push(StreamEvent::ToolCallDelta { choice: 0, index: tool, arguments });
                        }
                    }
                    other => tracing::debug!(kind = other, "skipping an unsupported delta"),
                }
            }
            "message_delta" => {
                if let Some(delta) = field(payload, "delta").and_then(Value::as_object)
                    && let Some(reason) = field(delta, "stop_reason").and_then(Value::as_str)
                {
                    let sequence = field(delta, "stop_sequence").and_then(Value::as_str);
                    out.push(StreamEvent::Stop { choice: 0, reason: stop_reason(reason, sequence) });
                }
                if let Some(usage) = field(payload, "usage").and_then(Value::as_object) {
                    merge_delta_usage(&mut self.usage, usage);
                }
                self.usage_sent = true;
                out.push(StreamEvent::Usage { usage: self.usage, cost_usd: None });
            }
            "message_stop" if !self.usage_sent => {
                self.usage_sent = true;
                out.push(StreamEvent::Usage { usage: self.usage, cost_usd: None });
            }
            "error" => {
                let error = field(payload, "error").and_then(Value::as_object);
                out.push(StreamEvent::Error {
                    message: error.map(|e| text_of(e, "message")).unwrap_or_else(|| "upstream error".to_owned()),
                    kind: error.map(|e| text_of(e, "type")).filter(|k| !k.is_empty()).unwrap_or("api_error".into()),
                });
            }
            // `ping`, `content_block_stop` and anything newer.
            _ => {}
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// A `tool_use` block, with its neutral tool index.
    Tool(u32),
}

/// A tool call started while another tool block was still open; sent whole when the run of tool calls ends.
#[derive(Debug)]
struct HeldCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Neutral events → client events.
///
/// Anthropic blocks are sequential, while an OpenAI-style upstream may interleave the argument fragments of
/// parallel calls. So the first call of a run streams live and calls that start while it is open are held and sent
/// whole (start, one `input_json_delta`, stop) when the run ends: at text, thinking, the stop or the end.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    started: bool,
    /// The open block: its index and kind.
    open: Option<(u64, BlockKind)>,
    next_block: u64,
    held: Vec<HeldCall>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    ended: bool,
}

impl StreamEncoder {
    /// `include_usage` is ignored: Anthropic streams always report usage.
    pub fn new(_include_usage: bool) -> Self {
        StreamEncoder {
            id: String::new(),
            model: String::new(),
            started: false,
            open: None,
            next_block: 0,
            held: Vec::new(),
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
        if let StreamEvent::Start { id, model, .. } = event {
            self.id.clone_from(id);
            self.model.clone_from(model);
        }
        self.start(&mut out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { choice: 0, text } => {
                self.ensure_open(BlockKind::Text, &mut out);
                self.delta(json!({"type": "text_delta", "text": text}), &mut out);
            }
            StreamEvent::ThinkingDelta { choice: 0, text } => {
                self.ensure_open(BlockKind::Thinking, &mut out);
                self.delta(json!({"type": "thinking_delta", "thinking": text}), &mut out);
            }
            StreamEvent::ThinkingSignature { choice: 0, signature } => {
                self.ensure_open(BlockKind::Thinking, &mut out);
                self.delta(json!({"type": "signature_delta", "signature": signature}), &mut out);
            }
            StreamEvent::RedactedThinking { choice: 0, data } => {
                self.close(&mut out);
                let index = self.next_block;
                self.next_block += 1;
                let block = json!({"type": "redacted_thinking", "data": data});
                out.push(named(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": block}),
                ));
                out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
            }
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => match self.open {
                Some((_, BlockKind::Tool(_))) => self.held.push(HeldCall {
                    index: *index,
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                }),
                _ => {
                    self.close(&mut out);
                    self.open_tool(*index, id, name, &mut out);
                }
            },
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => {
                if matches!(self.open, Some((_, BlockKind::Tool(open))) if open == *index) {
                    self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), &mut out);
                } else if let Some(held) = self.held.iter_mut().find(|c| c.index == *index) {
                    held.arguments.push_str(arguments);
                } else {
                    tracing::warn!(index, "dropping arguments for a tool call whose block was already closed");
                }
            }
            StreamEvent::Stop { choice: 0, reason } => {
                self.close(&mut out);
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
            StreamEvent::Error { message, .. } => {
                // The error ends the stream, as Anthropic's own in-band errors do.
                self.ended = true;
                let body = json!({"type": "error", "error": {"type": "api_error", "message": message}});
                out.push(named("error", body));
            }
            // Anthropic has a single choice.
            _ => {}
        }
        out
    }

    /// Whatever closing events have not been sent: the open block, `message_delta` and `message_stop`.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.ended {
            self.start(&mut out);
            self.close(&mut out);
            self.end(&mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let message = json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        out.push(named("message_start", json!({"type": "message_start", "message": message})));
    }

    fn ensure_open(&mut self, kind: BlockKind, out: &mut Vec<SseEvent>) {
        if self.open.is_some_and(|(_, open)| open == kind) {
            return;
        }
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        let block = match kind {
            BlockKind::Thinking => json!({"type": "thinking", "thinking": ""}),
            _ => json!({"type": "text", "text": ""}),
        };
        out.push(named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
    }

    fn open_tool(&mut self, tool: u32, id: &str, name: &str, out: &mut Vec<SseEvent>) {
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, BlockKind::Tool(tool)));
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        out.push(named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
    }

    fn delta(&self, delta: Value, out: &mut Vec<SseEvent>) {
        if let Some((index, _)) = self.open {
            out.push(named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
    }

    /// Closes the open block, then sends any held tool calls whole.
    fn close(&mut self, out: &mut Vec<SseEvent>) {
        if let Some((index, _)) = self.open.take() {
            out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        }
        for call in std::mem::take(&mut self.held) {
            self.open_tool(call.index, &call.id, &call.name, out);
            if !call.arguments.is_empty() {
                self.delta(json!({"type": "input_json_delta", "partial_json": call.arguments}), out);
            }
            if let Some((index, _)) = self.open.take() {
                out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
            }
        }
    }

    /// `message_delta` (stop and usage) and `message_stop`, once.
    fn end(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let (reason, sequence) = encode_stop(self.stop.as_ref().unwrap_or(&StopReason::EndTurn));
        let body = json!({
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": encode_usage(&self.usage.unwrap_or_default()),
        });
        out.push(named("message_delta", body));
        out.push(named("message_stop", json!({"type": "message_stop"})));
    }
}

fn named(event: &str, data: Value) -> SseEvent {
    SseEvent { event: Some(event.to_owned()), data: data.to_string() }
}
