//! Streams: `streamGenerateContent?alt=sse` chunks to neutral [`StreamEvent`]s.

use std::collections::BTreeMap;

use serde_json::Value;

use super::response::{
    CallIds, call_arguments, candidate_index, candidate_parts, decode_usage, error_fields, now, response_id,
    stop_reason,
};
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
