//! Upstream responses: a whole Responses object from an upstream, in the neutral form.

use serde_json::{Map, Value};

use crate::protocol::ProtocolError;
use crate::protocol::fields::{as_object, count, field, get_array, get_object, text_of};
use crate::protocol::neutral::{ChatResponse, Choice, Part, Signature, StopReason, Usage};

/// Reads an upstream's whole response. A `failed` response (or one carrying an `error`) is an error.
pub fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    let root = as_object(body, "")?;
    if let Some(error) = field(root, "error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("the upstream's response failed");
        return Err(ProtocolError::at("error", message));
    }
    let status = text_of(root, "status");
    if status == "failed" {
        return Err(ProtocolError::at("status", "the upstream's response failed"));
    }
    let mut content = Vec::new();
    for item in get_array(root, "output", "")?.map(Vec::as_slice).unwrap_or_default() {
        let Some(item) = item.as_object() else { continue };
        decode_item(item, &mut content);
    }
    let calls = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let stop = stop_reason(&status, get_object(root, "incomplete_details", "")?, calls);
    Ok(ChatResponse {
        id: text_of(root, "id"),
        model: text_of(root, "model"),
        created: field(root, "created_at").and_then(Value::as_u64).unwrap_or(0),
        choices: vec![Choice { index: 0, content, stop }],
        usage: get_object(root, "usage", "")?.map(decode_usage),
        cost_usd: None,
    })
}

/// One output item as neutral parts: a message's text (a refusal read as text), a reasoning item as thinking
/// signed with its encrypted content, a function call. Hosted tool calls and other items have no neutral form.
pub(super) fn decode_item(item: &Map<String, Value>, out: &mut Vec<Part>) {
    match field(item, "type").and_then(Value::as_str).unwrap_or_default() {
        "message" => {
            let parts = field(item, "content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for part in parts.iter().filter_map(Value::as_object) {
                let text = match field(part, "type").and_then(Value::as_str) {
                    Some("output_text") => text_of(part, "text"),
                    Some("refusal") => text_of(part, "refusal"),
                    _ => continue,
                };
                if !text.is_empty() {
                    out.push(Part::Text { text, cache: None });
                }
            }
        }
        "reasoning" => {
            let text = reasoning_text(item);
            let signature = field(item, "encrypted_content").and_then(Value::as_str).filter(|e| !e.is_empty());
            if !text.is_empty() || signature.is_some() {
                out.push(Part::Thinking { text, signature: signature.map(Signature::openai) });
            }
        }
        "function_call" => out.push(Part::ToolCall {
            id: text_of(item, "call_id"),
            name: text_of(item, "name"),
            arguments: text_of(item, "arguments"),
        }),
        other => tracing::debug!(kind = other, "skipping an output item with no neutral form"),
    }
}

/// A reasoning item's visible text: its summary parts joined by a blank line, else its raw reasoning text (which
/// some servers send instead of a summary).
pub(super) fn reasoning_text(item: &Map<String, Value>) -> String {
    let texts = |key: &str| -> Vec<String> {
        let parts = field(item, key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        parts.iter().filter_map(Value::as_object).map(|p| text_of(p, "text")).filter(|t| !t.is_empty()).collect()
    };
    let summary = texts("summary");
    if summary.is_empty() { texts("content").join("\n\n") } else { summary.join("\n\n") }
}

/// The stop for a response's `status` and `incomplete_details`: Responses has no stop reason of its own, so a
/// completed response that calls a function stopped for tool use.
pub(super) fn stop_reason(status: &str, incomplete: Option<&Map<String, Value>>, calls: bool) -> Option<StopReason> {
    match status {
        "completed" if calls => Some(StopReason::ToolUse),
        "completed" => Some(StopReason::EndTurn),
        "incomplete" => Some(match incomplete.map(|d| text_of(d, "reason")).as_deref() {
            Some("max_output_tokens") => StopReason::MaxTokens,
            Some("content_filter") => StopReason::ContentFilter,
            Some(other) if !other.is_empty() => StopReason::Other(other.to_owned()),
            _ => StopReason::Other("incomplete".to_owned()),
        }),
        "" => None,
        other => Some(StopReason::Other(other.to_owned())),
    }
}

/// A Responses `usage` object (a whole response's, or the final one a stream's terminal event carries) → neutral
/// usage, or `None` when it is not an object with `input_tokens`.
pub fn usage_of(usage: &Value) -> Option<Usage> {
    let usage = usage.as_object()?;
    field(usage, "input_tokens").is_some().then(|| decode_usage(usage))
}

/// `usage`: `input_tokens` includes the cached ones and `output_tokens` the reasoning ones, as in the neutral form.
/// OpenAI reports no cache writes.
pub(super) fn decode_usage(usage: &Map<String, Value>) -> Usage {
    let details = |key: &str| field(usage, key).and_then(Value::as_object);
    Usage {
        input: count(usage, "input_tokens"),
        cached_input: details("input_tokens_details").map_or(0, |d| count(d, "cached_tokens")),
        cache_write: 0,
        cache_write_1h: 0,
        output: count(usage, "output_tokens"),
        reasoning: details("output_tokens_details").map_or(0, |d| count(d, "reasoning_tokens")),
    }
}
