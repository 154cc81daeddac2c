//! Whole responses: an upstream's message body to the neutral [`ChatResponse`] and back, with the stop-reason and
//! usage mappings the stream shares.

use serde_json::{Map, Value, json};

use super::request::{decode_blocks, encode_block};
use crate::protocol::ProtocolError;
use crate::protocol::fields::{as_object, count, field, get_object, get_str, text_of};
use crate::protocol::neutral::{ChatResponse, Choice, Part, StopReason, Usage};

/// The stop for a `stop_reason` (and its `stop_sequence`).
pub fn stop_reason(reason: &str, stop_sequence: Option<&str>) -> StopReason {
    match reason {
        "end_turn" => StopReason::EndTurn,
        "stop_sequence" => StopReason::StopSequence(stop_sequence.map(str::to_owned)),
        "max_tokens" => StopReason::MaxTokens,
        "tool_use" => StopReason::ToolUse,
        "pause_turn" => StopReason::PauseTurn,
        "refusal" => StopReason::ContentFilter,
        other => StopReason::Other(other.to_owned()),
    }
}

/// The `stop_reason` and `stop_sequence` for a stop. A reason Anthropic does not have reads as `end_turn`.
pub fn encode_stop(stop: &StopReason) -> (&'static str, Option<&str>) {
    match stop {
        StopReason::EndTurn | StopReason::Other(_) => ("end_turn", None),
        StopReason::StopSequence(sequence) => ("stop_sequence", sequence.as_deref()),
        StopReason::MaxTokens => ("max_tokens", None),
        StopReason::ToolUse => ("tool_use", None),
        StopReason::PauseTurn => ("pause_turn", None),
        StopReason::ContentFilter => ("refusal", None),
    }
}

/// The input side of Anthropic usage, as neutral counts (`input` includes the cache reads and writes).
pub(super) fn decode_usage(usage: &Map<String, Value>) -> Usage {
    let cached_input = count(usage, "cache_read_input_tokens");
    let cache_write = count(usage, "cache_creation_input_tokens");
    Usage {
        input: count(usage, "input_tokens") + cached_input + cache_write,
        cached_input,
        cache_write,
        output: count(usage, "output_tokens"),
        reasoning: 0,
    }
}

pub(super) fn encode_usage(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input.saturating_sub(usage.cached_input + usage.cache_write),
        "output_tokens": usage.output,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached_input,
    })
}

/// Reads an upstream's message body.
pub fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    let root = as_object(body, "")?;
    if get_str(root, "type", "")? == Some("error") || field(root, "error").is_some() {
        let message =
            root.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("upstream error");
        return Err(ProtocolError::at("error", message));
    }
    let content = decode_blocks(field(root, "content"), "content")?;
    let stop_sequence = get_str(root, "stop_sequence", "")?;
    let stop = get_str(root, "stop_reason", "")?.map(|reason| stop_reason(reason, stop_sequence));
    Ok(ChatResponse {
        id: text_of(root, "id"),
        model: text_of(root, "model"),
        created: 0,
        choices: vec![Choice { index: 0, content, stop }],
        usage: get_object(root, "usage", "")?.map(decode_usage),
        cost_usd: None,
    })
}

/// Writes a message body for a client (the first choice; Anthropic has one).
pub fn encode_response(response: &ChatResponse) -> Value {
    let choice = response.choices.iter().find(|c| c.index == 0).or(response.choices.first());
    let content: Vec<Value> =
        choice.map(|c| c.content.iter().filter_map(encode_response_block).collect()).unwrap_or_default();
    let (stop_reason, stop_sequence) = match choice.and_then(|c| c.stop.as_ref()) {
        Some(stop) => {
            let (reason, sequence) = encode_stop(stop);
            (json!(reason), json!(sequence))
        }
        None => (Value::Null, Value::Null),
    };
    json!({
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": encode_usage(&response.usage.unwrap_or_default()),
    })
}

/// Like `encode_block`, but for a client: thinking without a signature is kept (with an empty one).
fn encode_response_block(part: &Part) -> Option<Value> {
    match part {
        Part::Thinking { text, signature: None } => {
            Some(json!({"type": "thinking", "thinking": text, "signature": ""}))
        }
        Part::Text { text, .. } => Some(json!({"type": "text", "text": text})),
        Part::ToolResult { .. } | Part::Image { .. } => None,
        other => encode_block(other),
    }
}
