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

/// A `usage` object → neutral usage, or `None` when it is not an object or says nothing of the prompt (a
/// `message_delta`'s usage that counts only output).
pub fn usage_of(usage: &Value) -> Option<Usage> {
    let usage = usage.as_object()?;
    let input_side = ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation"];
    input_side.iter().any(|key| field(usage, key).is_some()).then(|| decode_usage(usage))
}

/// Anthropic usage as neutral counts. `input_tokens` leaves out cache reads (`cache_read_input_tokens`) and writes
/// (`cache_creation_input_tokens`), so the neutral `input` is their sum. Writes are split by lifetime in
/// `cache_creation: {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}`; without the total, the split is summed.
/// Thinking is inside `output_tokens` and not counted apart, so `reasoning` stays 0.
pub(super) fn decode_usage(usage: &Map<String, Value>) -> Usage {
    let cached_input = count(usage, "cache_read_input_tokens");
    let split = field(usage, "cache_creation").and_then(Value::as_object);
    let five_minutes = split.map_or(0, |s| count(s, "ephemeral_5m_input_tokens"));
    let one_hour = split.map_or(0, |s| count(s, "ephemeral_1h_input_tokens"));
    let cache_write =
        field(usage, "cache_creation_input_tokens").and_then(Value::as_u64).unwrap_or(five_minutes + one_hour);
    Usage {
        input: count(usage, "input_tokens") + cached_input + cache_write,
        cached_input,
        cache_write,
        cache_write_1h: one_hour.min(cache_write),
        output: count(usage, "output_tokens"),
        reasoning: 0,
    }
}

/// The input side of a `message_delta`'s cumulative usage over what `message_start` said: newer API versions
/// repeat the prompt's counts there, and a count only grows.
pub fn merge_delta_usage(so_far: &mut Usage, delta: &Map<String, Value>) {
    so_far.output = field(delta, "output_tokens").and_then(Value::as_u64).unwrap_or(so_far.output);
    if let Some(input) = usage_of(&Value::Object(delta.clone())) {
        so_far.input = input.input.max(so_far.input);
        so_far.cached_input = input.cached_input.max(so_far.cached_input);
        so_far.cache_write = input.cache_write.max(so_far.cache_write);
        so_far.cache_write_1h = input.cache_write_1h.max(so_far.cache_write_1h);
    }
}

/// Neutral usage as Anthropic's: `input_tokens` without the cache reads and writes, the writes split by lifetime.
pub(super) fn encode_usage(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.fresh_input(),
        "output_tokens": usage.output,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached_input,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_5m(),
            "ephemeral_1h_input_tokens": usage.cache_write_1h,
        },
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

/// Like `encode_block`, but for a client: thinking is kept whoever signed it (unsigned, with an empty signature).
fn encode_response_block(part: &Part) -> Option<Value> {
    match part {
        // Another provider's signature (Gemini's, OpenAI's encrypted reasoning) goes to the client verbatim, as a
        // stream's `signature_delta` does: the client hands it back and the maker's encoder takes it from there.
        Part::Thinking { text, signature } => Some(json!({
            "type": "thinking",
            "thinking": text,
            "signature": signature.as_deref().unwrap_or_default(),
        })),
        Part::Text { text, .. } => Some(json!({"type": "text", "text": text})),
        Part::ToolResult { .. } | Part::Image { .. } => None,
        other => encode_block(other),
    }
}
