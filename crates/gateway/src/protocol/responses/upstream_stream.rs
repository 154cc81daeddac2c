//! Upstream streams: a Responses API's named events as neutral stream events.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::upstream_response::{decode_item, decode_usage, reasoning_text, stop_reason};
use crate::protocol::fields::{as_object, field, text_of};
use crate::protocol::neutral::{Part, Signature, StreamEvent, Usage};
use crate::protocol::{ProtocolError, SseEvent};

/// Upstream events → neutral events. Items are told apart by their `output_index`; a `…done` event repeats what
/// was streamed, so it is read only for what no delta carried (the encrypted reasoning, or a server that sent an
/// item whole).
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    items: HashMap<u64, Seen>,
    next_call: u32,
    /// Whether a function call was seen: a completed response that calls one stopped for tool use.
    calls: bool,
    /// The usage a failed or incomplete response reported (a completed one's is sent at once).
    usage: Option<Usage>,
    /// A terminal event (`response.completed` / `incomplete` / `failed`, or `error`) arrived.
    ended: bool,
}

/// What the decoder knows of one output item.
#[derive(Debug)]
struct Seen {
    kind: Kind,
    /// Whether a delta carried its text or arguments.
    streamed: bool,
    /// The summary (or reasoning content) part a reasoning item's last delta went to.
    part: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Reasoning,
    /// A function call, with its neutral index.
    Call(u32),
    /// A hosted tool call or anything newer: its events are skipped.
    Other,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Usage is reported only by the terminal event; a failed response's is kept for the ledger.
    pub fn usage_so_far(&self) -> Option<Usage> {
        self.usage
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("the upstream sent a stream event that is not JSON: {e}")))?;
        let payload = as_object(&value, "")?;
        let kind = field(payload, "type").and_then(Value::as_str).or(event.event.as_deref()).unwrap_or_default();
        let mut out = Vec::new();
        if self.ended {
            return Ok(out);
        }
        let response = field(payload, "response").and_then(Value::as_object);
        let index = field(payload, "output_index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "response.created" | "response.in_progress" => self.start(response, &mut out),
            "response.output_item.added" => {
                self.start(None, &mut out);
                if let Some(item) = field(payload, "item").and_then(Value::as_object) {
                    self.added(index, item, &mut out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                let text = text_of(payload, "delta");
                if self.streamed(index, Kind::Message) && !text.is_empty() {
                    out.push(StreamEvent::TextDelta { choice: 0, text });
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let part_key = if kind == "response.reasoning_text.delta" { "content_index" } else { "summary_index" };
                let part = field(payload, part_key).and_then(Value::as_u64).unwrap_or(0);
                let mut text = text_of(payload, "delta");
                if let Some(seen) = self.items.get_mut(&index).filter(|s| s.kind == Kind::Reasoning) {
                    // Parts of one summary are joined by a blank line, as in a whole response.
                    if seen.part.is_some_and(|p| p != part) {
                        text.insert_str(0, "\n\n");
                    }
                    seen.part = Some(part);
                    seen.streamed = true;
                    if !text.is_empty() {
                        out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                let arguments = text_of(payload, "delta");
                if let Some(Seen { kind: Kind::Call(call), streamed, .. }) = self.items.get_mut(&index) {
                    *streamed = true;
                    if !arguments.is_empty() {
                        out.push(StreamEvent::ToolCallDelta { choice: 0, index: *call, arguments });
                    }
                }
            }
            "response.output_item.done" => {
                self.start(None, &mut out);
                if let Some(item) = field(payload, "item").and_then(Value::as_object) {
                    self.done(index, item, &mut out);
                }
            }
            "response.completed" | "response.incomplete" => {
                self.start(response, &mut out);
                self.ended = true;
                let status = response.map(|r| text_of(r, "status")).unwrap_or_default();
                let status = if status.is_empty() { kind.trim_start_matches("response.").to_owned() } else { status };
                let incomplete = response.and_then(|r| field(r, "incomplete_details")).and_then(Value::as_object);
                if let Some(reason) = stop_reason(&status, incomplete, self.calls) {
                    out.push(StreamEvent::Stop { choice: 0, reason });
                }
                if let Some(usage) = response.and_then(|r| field(r, "usage")).and_then(Value::as_object) {
                    out.push(StreamEvent::Usage { usage: decode_usage(usage), cost_usd: None });
                }
            }
            "response.failed" => {
                self.ended = true;
                self.usage = response.and_then(|r| field(r, "usage")).and_then(Value::as_object).map(decode_usage);
                let error = response.and_then(|r| field(r, "error")).and_then(Value::as_object);
                out.push(error_event(error, "the upstream's response failed"));
            }
            "error" => {
                self.ended = true;
                out.push(error_event(Some(payload), "the upstream failed"));
            }
            // `content_part` and `…done` text events (what the deltas carried), annotations, hosted tools' progress.
            _ => {}
        }
        Ok(out)
    }

    /// A stream that ended without its terminal event was cut short: said so in-band.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        if std::mem::replace(&mut self.ended, true) {
            return Vec::new();
        }
        vec![StreamEvent::Error {
            message: "the upstream ended its stream before the response completed".to_owned(),
            kind: "upstream_error".to_owned(),
        }]
    }

    /// `Start`, once, from the response the event carries (when it carries one).
    fn start(&mut self, response: Option<&Map<String, Value>>, out: &mut Vec<StreamEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        out.push(StreamEvent::Start {
            id: response.map(|r| text_of(r, "id")).unwrap_or_default(),
            model: response.map(|r| text_of(r, "model")).unwrap_or_default(),
            created: response.and_then(|r| field(r, "created_at")).and_then(Value::as_u64).unwrap_or(0),
        });
    }

    fn added(&mut self, index: u64, item: &Map<String, Value>, out: &mut Vec<StreamEvent>) {
        let kind = match field(item, "type").and_then(Value::as_str).unwrap_or_default() {
            "message" => Kind::Message,
            "reasoning" => Kind::Reasoning,
            "function_call" => {
                let call = self.next_call;
                self.next_call += 1;
                self.calls = true;
                out.push(StreamEvent::ToolCallStart {
                    choice: 0,
                    index: call,
                    id: text_of(item, "call_id"),
                    name: text_of(item, "name"),
                });
                Kind::Call(call)
            }
            _ => Kind::Other,
        };
        let mut seen = Seen { kind, streamed: false, part: None };
        // Some servers announce a call with its arguments already in place.
        let arguments = text_of(item, "arguments");
        if let Kind::Call(call) = kind
            && !arguments.is_empty()
        {
            seen.streamed = true;
            out.push(StreamEvent::ToolCallDelta { choice: 0, index: call, arguments });
        }
        self.items.insert(index, seen);
    }

    /// Whether item `index` is of `kind`; notes that a delta went to it.
    fn streamed(&mut self, index: u64, kind: Kind) -> bool {
        match self.items.get_mut(&index) {
            Some(seen) if seen.kind == kind => {
                seen.streamed = true;
                true
            }
            _ => false,
        }
    }

    /// A finished item: what no delta carried (an item sent whole), then a reasoning item's encrypted content as the
    /// signature of the thinking just streamed.
    fn done(&mut self, index: u64, item: &Map<String, Value>, out: &mut Vec<StreamEvent>) {
        if !self.items.contains_key(&index) {
            self.added(index, item, out);
        }
        let Some(seen) = self.items.get(&index) else { return };
        match seen.kind {
            Kind::Message if !seen.streamed => {
                let mut parts = Vec::new();
                decode_item(item, &mut parts);
                for part in parts {
                    if let Part::Text { text, .. } = part {
                        out.push(StreamEvent::TextDelta { choice: 0, text });
                    }
                }
            }
            Kind::Reasoning => {
                let text = if seen.streamed { String::new() } else { reasoning_text(item) };
                if !text.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                }
                if let Some(encrypted) =
                    field(item, "encrypted_content").and_then(Value::as_str).filter(|e| !e.is_empty())
                {
                    out.push(StreamEvent::ThinkingSignature { choice: 0, signature: Signature::openai(encrypted) });
                }
            }
            Kind::Call(call) if !seen.streamed => {
                let arguments = text_of(item, "arguments");
                if !arguments.is_empty() {
                    out.push(StreamEvent::ToolCallDelta { choice: 0, index: call, arguments });
                }
            }
            Kind::Message | Kind::Call(_) | Kind::Other => {}
        }
        if let Some(seen) = self.items.get_mut(&index) {
            seen.streamed = true;
        }
    }
}

/// An `error` event, or a failed response's `error`: its message and code.
fn error_event(error: Option<&Map<String, Value>>, fallback: &str) -> StreamEvent {
    let message = error.map(|e| text_of(e, "message")).filter(|m| !m.is_empty()).unwrap_or_else(|| fallback.to_owned());
    let kind = error
        .and_then(|e| field(e, "code").or_else(|| field(e, "type")))
        .and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())))
        .unwrap_or_else(|| "server_error".to_owned());
    StreamEvent::Error { message, kind }
}
