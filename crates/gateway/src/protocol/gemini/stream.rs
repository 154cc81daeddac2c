//! Streams: `streamGenerateContent?alt=sse` chunks to neutral [`StreamEvent`]s (upstream streams), and neutral
//! events to a Gemini client's chunks.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::error_body;
use super::response::{
    CallIds, call_arguments, candidate_index, candidate_parts, decode_usage, encode_usage, error_fields, finish_reason,
    function_call, now, response_id, stop_reason,
};
use super::signatures::Pending;
use crate::protocol::neutral::{Signature, StopReason, StreamEvent, Usage};
use crate::protocol::{ProtocolError, SseEvent};

/// Reads `streamGenerateContent?alt=sse`: every `data:` is a whole `GenerateContentResponse` holding the next
/// parts. Gemini sends function calls whole, so each is a `ToolCallStart` and one `ToolCallDelta`. Usage comes on
/// many chunks (complete only on the last); the latest is kept and sent once, when every choice has stopped or
/// at [`StreamDecoder::finish`].
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    ids: CallIds,
    /// Per choice: calls so far (the next tool index) and whether it stopped.
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    usage_sent: bool,
}

#[derive(Debug, Default)]
struct ChoiceState {
    calls: u32,
    stopped: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("Gemini stream chunk is not JSON: {e}")))?;
        let mut out = Vec::new();

        if let Some(error) = chunk.get("error") {
            let (message, kind) = error_fields(error);
            out.push(StreamEvent::Error { message, kind });
            return Ok(out);
        }
        if !chunk.is_object() {
            return Err(ProtocolError::new("Gemini stream chunk is not a JSON object"));
        }

        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: response_id(&chunk),
                model: chunk.get("modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
                created: now(),
            });
        }

        if let Some(metadata) = chunk.get("usageMetadata") {
            self.usage = Some(decode_usage(metadata));
        }

        let candidates = chunk.get("candidates").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        for (position, candidate) in candidates.iter().enumerate() {
            let choice = candidate_index(candidate, position);
            for part in candidate_parts(candidate) {
                self.decode_part(choice, part, &mut out);
            }
            if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
                let state = self.choices.entry(choice).or_default();
                if !state.stopped {
                    state.stopped = true;
                    out.push(StreamEvent::Stop { choice, reason: stop_reason(reason, state.calls > 0) });
                }
            }
        }

        if candidates.is_empty() && chunk.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some() {
            let state = self.choices.entry(0).or_default();
            if !state.stopped {
                state.stopped = true;
                out.push(StreamEvent::Stop { choice: 0, reason: StopReason::ContentFilter });
            }
        }

        let all_stopped = !self.choices.is_empty() && self.choices.values().all(|c| c.stopped);
        if all_stopped && chunk.get("usageMetadata").is_some() {
            out.extend(self.take_usage());
        }
        Ok(out)
    }

    /// The usage reported so far (every chunk carries the prompt's), for a stream that broke before its end.
    pub fn usage_so_far(&self) -> Option<Usage> {
        self.usage
    }

    /// The end of the upstream stream: the usage, if it was not sent yet.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        self.take_usage().into_iter().collect()
    }

    fn take_usage(&mut self) -> Option<StreamEvent> {
        if self.usage_sent {
            return None;
        }
        let usage = self.usage?;
        self.usage_sent = true;
        Some(StreamEvent::Usage { usage, cost_usd: None })
    }

    fn decode_part(&mut self, choice: u32, part: &Value, out: &mut Vec<StreamEvent>) {
        let signature = part.get("thoughtSignature").and_then(Value::as_str).map(Signature::gemini);
        let thought = part.get("thought").and_then(Value::as_bool).unwrap_or(false);
        let signature_event = |signature: String| StreamEvent::ThinkingSignature { choice, signature };

        if let Some(call) = part.get("functionCall") {
            out.extend(signature.map(signature_event));
            let state = self.choices.entry(choice).or_default();
            let index = state.calls;
            state.calls += 1;
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            out.push(StreamEvent::ToolCallStart { choice, index, id: self.ids.id_for(call), name });
            out.push(StreamEvent::ToolCallDelta { choice, index, arguments: call_arguments(call) });
            return;
        }
        self.choices.entry(choice).or_default();
        match part.get("text").and_then(Value::as_str) {
            Some(text) if thought => {
                if !text.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { choice, text: text.to_owned() });
                }
                out.extend(signature.map(signature_event));
            }
            Some(text) => {
                out.extend(signature.map(signature_event));
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { choice, text: text.to_owned() });
                }
            }
            None => out.extend(signature.map(signature_event)),
        }
    }
}

/// A tool call held until it is whole: Gemini sends each `functionCall` in one piece.
#[derive(Debug)]
struct HeldCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Neutral events → a Gemini client's stream: each chunk a `GenerateContentResponse` holding the next parts (text,
/// thought text marked `thought`, whole `functionCall`s), the last one with `finishReason` and `usageMetadata`
/// (prompt, candidates, cached, thoughts and total tokens); an upstream error ends the stream with an
/// `{"error": {code, message, status}}` chunk. Only the first choice is written.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    /// The text of the thinking block being streamed, for the signature that ends it.
    thinking: String,
    pending: Pending,
    calls: Vec<HeldCall>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    ended: bool,
}

impl StreamEncoder {
    /// `include_usage` is ignored: the last chunk always carries `usageMetadata`.
    pub fn new(_include_usage: bool) -> Self {
        StreamEncoder::default()
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        match event {
            StreamEvent::Start { id, model, .. } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
            }
            StreamEvent::TextDelta { choice: 0, text } => {
                let mut parts = self.take_calls();
                let mut part = json!({ "text": text });
                self.pending.attach(&mut part);
                parts.push(part);
                out.push(self.chunk(parts, None));
            }
            StreamEvent::ThinkingDelta { choice: 0, text } => {
                let parts = self.take_calls();
                if !parts.is_empty() {
                    out.push(self.chunk(parts, None));
                }
                self.thinking.push_str(text);
                out.push(self.chunk(vec![json!({ "text": text, "thought": true })], None));
            }
            StreamEvent::ThinkingSignature { choice: 0, signature } => {
                let text = std::mem::take(&mut self.thinking);
                self.pending.signed(&text, signature);
            }
            StreamEvent::RedactedThinking { choice: 0, data } => self.pending.redacted(data),
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => self.calls.push(HeldCall {
                index: *index,
                id: id.clone(),
                name: name.clone(),
                arguments: String::new(),
            }),
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => {
                match self.calls.iter_mut().rev().find(|call| call.index == *index) {
                    Some(call) => call.arguments.push_str(arguments),
                    None => tracing::warn!(index, "dropping arguments for a tool call that was not started"),
                }
            }
            StreamEvent::Stop { choice: 0, reason } => {
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
            StreamEvent::Error { message, kind } => {
                // The error ends the stream, as Gemini's own in-stream errors do.
                self.ended = true;
                out.push(SseEvent { event: None, data: error_body(error_code(kind), message).to_string() });
            }
            _ => tracing::debug!("dropping a stream event for a choice other than 0"),
        }
        out
    }

    /// The last chunk, when it has not been sent: held calls and signatures, `finishReason`, the usage known.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.end(&mut out);
        out
    }

    /// The held calls as whole `functionCall` parts, in order, each taking the signature waiting for it.
    fn take_calls(&mut self) -> Vec<Value> {
        let calls = std::mem::take(&mut self.calls);
        calls
            .iter()
            .map(|call| {
                let mut part = function_call(&call.id, &call.name, &call.arguments);
                self.pending.attach(&mut part);
                part
            })
            .collect()
    }

    fn end(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let mut parts = self.take_calls();
        parts.extend(self.pending.leftover());
        if parts.is_empty() {
            parts.push(json!({ "text": "" }));
        }
        let reason = finish_reason(self.stop.as_ref().unwrap_or(&StopReason::EndTurn)).to_owned();
        out.push(self.chunk(parts, Some((&reason, self.usage.as_ref()))));
    }

    /// One `GenerateContentResponse`; the last also has its `finishReason` and (when known) the usage.
    fn chunk(&self, parts: Vec<Value>, last: Option<(&str, Option<&Usage>)>) -> SseEvent {
        let mut candidate = json!({ "content": { "parts": parts, "role": "model" } });
        if let Some((finish, _)) = last {
            candidate["finishReason"] = json!(finish);
        }
        candidate["index"] = json!(0);
        let mut body = json!({ "candidates": [candidate] });
        if let Some((_, Some(usage))) = last {
            body["usageMetadata"] = encode_usage(usage);
        }
        body["modelVersion"] = json!(self.model);
        body["responseId"] = json!(self.id);
        SseEvent { event: None, data: body.to_string() }
    }
}

/// The HTTP status Gemini would give an error of this neutral kind.
fn error_code(kind: &str) -> u16 {
    match kind {
        k if k.contains("rate_limit") || k == "RESOURCE_EXHAUSTED" => 429,
        k if k.contains("overloaded") || k == "UNAVAILABLE" => 503,
        "invalid_request_error" | "INVALID_ARGUMENT" => 400,
        "DEADLINE_EXCEEDED" => 504,
        // The relay's word for an upstream that broke off, as a passthrough stream's error chunk says it too.
        "upstream_error" => 502,
        _ => 500,
    }
}
