//! Streams: upstream chunks to neutral [`StreamEvent`]s, and neutral events to a client's chunks.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::response::{decode_usage, encode_usage, finish_reason, stop_reason, usage_of};
use crate::protocol::fields::{as_object, field, text_of, unix_now};
use crate::protocol::neutral::{StreamEvent, Usage};
use crate::protocol::{ProtocolError, SseEvent};

/// Upstream chunks → neutral events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// Per choice, the tool calls seen so far: (the upstream's `index`, the call id); the position is the neutral
    /// index.
    calls: HashMap<u32, Vec<(Option<u64>, String)>>,
    stopped: bool,
    last_usage: Option<(Usage, Option<f64>)>,
    /// The newest usage any chunk carried, mid-stream ones too (hosts with cumulative usage on every chunk).
    seen: Option<Usage>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The usage reported so far, for a stream that broke before its end: OpenAI itself reports it only on the
    /// last chunk, so usually nothing; hosts that count on every chunk give their count so far.
    pub fn usage_so_far(&self) -> Option<Usage> {
        self.last_usage.map(|u| u.0).or(self.seen)
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("the upstream sent a stream chunk that is not JSON: {e}")))?;
        let chunk = as_object(&value, "")?;
        let mut out = Vec::new();
        if let Some(error) = field(chunk, "error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("upstream error").to_owned();
            let kind = error
                .get("type")
                .or_else(|| error.get("code"))
                .and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())))
                .unwrap_or_else(|| "api_error".to_owned());
            out.push(StreamEvent::Error { message, kind });
            return Ok(out);
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: text_of(chunk, "id"),
                model: text_of(chunk, "model"),
                created: field(chunk, "created").and_then(Value::as_u64).unwrap_or(0),
            });
        }
        let choices = field(chunk, "choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (i, choice) in choices.iter().enumerate() {
            let Some(choice) = choice.as_object() else { continue };
            let index = field(choice, "index").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            let index = index.unwrap_or(i as u32);
            if let Some(delta) = field(choice, "delta").and_then(Value::as_object) {
                self.decode_delta(index, delta, &mut out);
            }
            if let Some(reason) = field(choice, "finish_reason").and_then(Value::as_str) {
                self.stopped = true;
                out.push(StreamEvent::Stop { choice: index, reason: stop_reason(reason) });
            }
        }
        // Usage comes on a last chunk with no choices, or (some hosts) with the finish, at the top or (Moonshot)
        // inside the finishing choice; cumulative usage on every chunk is read only from then on, and repeats are
        // dropped.
        let usage = chunk_usage(chunk);
        if let Some((usage, _)) = usage.and_then(usage_of) {
            self.seen = Some(usage);
        }
        if let Some(usage) = usage.and_then(Value::as_object)
            && (choices.is_empty() || self.stopped)
        {
            let decoded = decode_usage(usage);
            if self.last_usage != Some(decoded) {
                self.last_usage = Some(decoded);
                out.push(StreamEvent::Usage { usage: decoded.0, cost_usd: decoded.1 });
            }
        }
        Ok(out)
    }

    fn decode_delta(&mut self, choice: u32, delta: &Map<String, Value>, out: &mut Vec<StreamEvent>) {
        let thinking = field(delta, "reasoning_content").or_else(|| field(delta, "reasoning"));
        if let Some(text) = thinking.and_then(Value::as_str).filter(|t| !t.is_empty()) {
            out.push(StreamEvent::ThinkingDelta { choice, text: text.to_owned() });
        }
        if let Some(text) = field(delta, "content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta { choice, text: text.to_owned() });
        }
        let calls = field(delta, "tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for call in calls {
            let Some(call) = call.as_object() else { continue };
            let wire_index = field(call, "index").and_then(Value::as_u64);
            let id = field(call, "id").and_then(Value::as_str).filter(|s| !s.is_empty());
            let function = field(call, "function").and_then(Value::as_object);
            let name = function.map(|f| text_of(f, "name")).unwrap_or_default();
            let arguments = function.map(|f| text_of(f, "arguments")).unwrap_or_default();
            let known = self.calls.entry(choice).or_default();
            // The call a fragment belongs to: the latest with its upstream index (or simply the latest).
            let existing = known.iter().rposition(|(w, _)| wire_index.is_none() || *w == wire_index);
            let slot = match (id, existing) {
                // Some hosts repeat the id on every fragment.
                (Some(id), Some(slot)) if known[slot].1 == id => slot,
                (None, Some(slot)) => slot,
                (id, _) => {
                    let slot = known.len();
                    let id = id.map_or_else(|| format!("call_{}", wire_index.unwrap_or(slot as u64)), str::to_owned);
                    known.push((wire_index, id.clone()));
                    out.push(StreamEvent::ToolCallStart { choice, index: slot as u32, id, name });
                    slot
                }
            };
            if !arguments.is_empty() {
                out.push(StreamEvent::ToolCallDelta { choice, index: slot as u32, arguments });
            }
        }
    }
}

/// A chunk's usage: at its top level, else inside its first choice (Moonshot puts it beside the finish there).
pub(crate) fn chunk_usage(chunk: &Map<String, Value>) -> Option<&Value> {
    field(chunk, "usage").or_else(|| {
        let choice = field(chunk, "choices")?.as_array()?.first()?.as_object()?;
        field(choice, "usage")
    })
}

/// Neutral events → client chunks.
#[derive(Debug)]
pub struct StreamEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    /// Choices whose first chunk (with `role`) has been sent.
    opened: Vec<u32>,
    done: bool,
}

impl StreamEncoder {
    pub fn new(include_usage: bool) -> Self {
        StreamEncoder {
            include_usage,
            id: String::new(),
            model: String::new(),
            created: 0,
            opened: Vec::new(),
            done: false,
        }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        match event {
            StreamEvent::Start { id, model, created } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.created = if *created == 0 { unix_now() } else { *created };
                self.open(0, &mut out);
            }
            StreamEvent::TextDelta { choice, text } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({"content": text}), None));
            }
            StreamEvent::ThinkingDelta { choice, text } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({"reasoning_content": text}), None));
            }
            // No OpenAI form.
            StreamEvent::ThinkingSignature { .. } | StreamEvent::RedactedThinking { .. } => {}
            StreamEvent::ToolCallStart { choice, index, id, name } => {
                self.open(*choice, &mut out);
                let call =
                    json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
                out.push(self.chunk(*choice, json!({"tool_calls": [call]}), None));
            }
            StreamEvent::ToolCallDelta { choice, index, arguments } => {
                self.open(*choice, &mut out);
                let call = json!({"index": index, "function": {"arguments": arguments}});
                out.push(self.chunk(*choice, json!({"tool_calls": [call]}), None));
            }
            StreamEvent::Stop { choice, reason } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({}), Some(finish_reason(reason))));
            }
            StreamEvent::Usage { usage, cost_usd } => {
                if self.include_usage {
                    let body = json!({
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created_or_now(),
                        "model": self.model,
                        "choices": [],
                        "usage": encode_usage(usage, *cost_usd),
                    });
                    out.push(SseEvent { event: None, data: body.to_string() });
                }
            }
            StreamEvent::Error { message, kind } => {
                let body = json!({"error": {"message": message, "type": kind, "code": null, "param": null}});
                out.push(SseEvent { event: None, data: body.to_string() });
            }
        }
        out
    }

    /// `data: [DONE]`, once.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        vec![SseEvent { event: None, data: "[DONE]".to_owned() }]
    }

    fn created_or_now(&mut self) -> u64 {
        if self.created == 0 {
            self.created = unix_now();
        }
        self.created
    }

    /// The first chunk of a choice: `role` (and an empty `content`), once.
    fn open(&mut self, choice: u32, out: &mut Vec<SseEvent>) {
        if !self.opened.contains(&choice) {
            self.opened.push(choice);
            out.push(self.chunk(choice, json!({"role": "assistant", "content": ""}), None));
        }
    }

    fn chunk(&mut self, choice: u32, delta: Value, finish: Option<&str>) -> SseEvent {
        let body = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created_or_now(),
            "model": self.model,
            "choices": [{"index": choice, "delta": delta, "finish_reason": finish}],
        });
        SseEvent { event: None, data: body.to_string() }
    }
}
