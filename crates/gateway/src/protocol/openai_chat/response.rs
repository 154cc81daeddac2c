//! Whole responses: an upstream's chat-completion body to the neutral [`ChatResponse`] and back, with the
//! stop-reason and usage mappings the stream shares.

use serde_json::{Map, Value, json};

use super::request::decode_parts;
use crate::protocol::ProtocolError;
use crate::protocol::fields::{
    as_object, count, field, get_array, get_object, get_str, get_u32, join, text_of, unix_now,
};
use crate::protocol::neutral::{ChatResponse, Choice, Part, StopReason, Usage};

/// The `finish_reason` for a stop. OpenAI cannot tell a stop sequence from a natural end, nor say "paused".
pub fn finish_reason(stop: &StopReason) -> &'static str {
    match stop {
        StopReason::EndTurn | StopReason::StopSequence(_) | StopReason::PauseTurn | StopReason::Other(_) => "stop",
        StopReason::MaxTokens => "length",
        StopReason::ToolUse => "tool_calls",
        StopReason::ContentFilter => "content_filter",
    }
}

/// The stop for a `finish_reason`.
pub fn stop_reason(finish_reason: &str) -> StopReason {
    match finish_reason {
        "stop" => StopReason::EndTurn,
        "length" => StopReason::MaxTokens,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "content_filter" => StopReason::ContentFilter,
        other => StopReason::Other(other.to_owned()),
    }
}

/// A `usage` object → neutral usage and OpenRouter's `cost`, or `None` when it is not an object (a `null` usage on
/// an early stream chunk) or counts no prompt tokens in any known form.
pub fn usage_of(usage: &Value) -> Option<(Usage, Option<f64>)> {
    let usage = usage.as_object()?;
    let counted = ["prompt_tokens", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens"];
    counted.iter().any(|key| field(usage, key).is_some()).then(|| decode_usage(usage))
}

/// `usage` → neutral usage and OpenRouter's `cost`. `prompt_tokens` includes cached tokens (and OpenRouter's cache
/// writes), as the neutral `input` does, and `completion_tokens` the reasoning ones. Cached tokens are read from
/// `prompt_tokens_details.cached_tokens` (OpenAI, OpenRouter), else DeepSeek's `prompt_cache_hit_tokens`, else a
/// top-level `cached_tokens` (Moonshot); a host that sends only DeepSeek's hit and miss counts has them summed for
/// the prompt. Cache writes are OpenRouter's `prompt_tokens_details.cache_write_tokens`.
pub(super) fn decode_usage(usage: &Map<String, Value>) -> (Usage, Option<f64>) {
    let prompt_details = field(usage, "prompt_tokens_details").and_then(Value::as_object);
    let completion_details = field(usage, "completion_tokens_details").and_then(Value::as_object);
    let number = |obj: Option<&Map<String, Value>>, key: &str| obj.and_then(|o| field(o, key)).and_then(Value::as_u64);
    let hit = number(Some(usage), "prompt_cache_hit_tokens");
    let cached = number(prompt_details, "cached_tokens").or(hit).or_else(|| number(Some(usage), "cached_tokens"));
    let input = number(Some(usage), "prompt_tokens")
        .unwrap_or_else(|| hit.unwrap_or(0) + number(Some(usage), "prompt_cache_miss_tokens").unwrap_or(0));
    let parsed = Usage {
        input,
        cached_input: cached.unwrap_or(0),
        cache_write: number(prompt_details, "cache_write_tokens").unwrap_or(0),
        cache_write_1h: 0,
        output: count(usage, "completion_tokens"),
        reasoning: number(completion_details, "reasoning_tokens").unwrap_or(0),
    };
    (parsed, field(usage, "cost").and_then(Value::as_f64))
}

/// Neutral usage as OpenAI's `usage`: cached tokens in `prompt_tokens_details.cached_tokens`, reasoning in
/// `completion_tokens_details.reasoning_tokens`, cache writes (when there were any) in OpenRouter's
/// `prompt_tokens_details.cache_write_tokens`, and a provider's cost as OpenRouter's `cost`. OpenAI has no word for
/// an hour-long cache write: it is only part of `cache_write_tokens`.
pub(super) fn encode_usage(usage: &Usage, cost_usd: Option<f64>) -> Value {
    let mut out = json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    });
    if usage.cache_write > 0 {
        out["prompt_tokens_details"]["cache_write_tokens"] = json!(usage.cache_write);
    }
    if let Some(cost) = cost_usd {
        out["cost"] = json!(cost);
    }
    out
}

/// Reads an upstream's chat-completion body.
pub fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    let root = as_object(body, "")?;
    if let Some(error) = field(root, "error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("the upstream returned an error");
        return Err(ProtocolError::at("error", message));
    }
    let mut choices = Vec::new();
    for (i, choice) in get_array(root, "choices", "")?.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
        let path = format!("choices[{i}]");
        let choice = as_object(choice, &path)?;
        let index = get_u32(choice, "index", &path)?.unwrap_or(i as u32);
        let mut content = Vec::new();
        if let Some(message) = get_object(choice, "message", &path)? {
            let message_path = join(&path, "message");
            let thinking = field(message, "reasoning_content").or_else(|| field(message, "reasoning"));
            if let Some(text) = thinking.and_then(Value::as_str).filter(|t| !t.is_empty()) {
                content.push(Part::Thinking { text: text.to_owned(), signature: None });
            }
            content.extend(decode_parts(field(message, "content"), &join(&message_path, "content"))?);
            if let Some(refusal) = field(message, "refusal").and_then(Value::as_str) {
                content.push(Part::Text { text: refusal.to_owned(), cache: None });
            }
            for call in get_array(message, "tool_calls", &message_path)?.map(Vec::as_slice).unwrap_or_default() {
                let Some(call) = call.as_object() else { continue };
                let function = field(call, "function").and_then(Value::as_object);
                content.push(Part::ToolCall {
                    id: text_of(call, "id"),
                    name: function.map(|f| text_of(f, "name")).unwrap_or_default(),
                    arguments: function.map(|f| text_of(f, "arguments")).unwrap_or_default(),
                });
            }
        }
        let stop = get_str(choice, "finish_reason", &path)?.map(stop_reason);
        choices.push(Choice { index, content, stop });
    }
    let (usage, cost_usd) = match get_object(root, "usage", "")? {
        Some(usage) => {
            let (usage, cost) = decode_usage(usage);
            (Some(usage), cost)
        }
        None => (None, None),
    };
    Ok(ChatResponse {
        id: text_of(root, "id"),
        model: text_of(root, "model"),
        created: field(root, "created").and_then(Value::as_u64).unwrap_or(0),
        choices,
        usage,
        cost_usd,
    })
}

/// Writes a chat-completion body for a client.
pub fn encode_response(response: &ChatResponse) -> Value {
    let choices: Vec<Value> = response
        .choices
        .iter()
        .map(|choice| {
            let mut text = None::<String>;
            let mut thinking = String::new();
            let mut calls = Vec::new();
            for part in &choice.content {
                match part {
                    Part::Text { text: t, .. } => text.get_or_insert_with(String::new).push_str(t),
                    Part::Thinking { text: t, .. } => thinking.push_str(t),
                    Part::ToolCall { id, name, arguments } => calls.push(json!({
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    })),
                    Part::RedactedThinking { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
                }
            }
            if text.is_none() && calls.is_empty() {
                text = Some(String::new());
            }
            let mut message = json!({"role": "assistant", "content": text});
            if !thinking.is_empty() {
                message["reasoning_content"] = json!(thinking);
            }
            if !calls.is_empty() {
                message["tool_calls"] = Value::Array(calls);
            }
            json!({
                "index": choice.index,
                "message": message,
                "finish_reason": choice.stop.as_ref().map(finish_reason),
                "logprobs": null,
            })
        })
        .collect();
    let mut body = json!({
        "id": response.id,
        "object": "chat.completion",
        "created": if response.created == 0 { unix_now() } else { response.created },
        "model": response.model,
        "choices": choices,
    });
    if let Some(usage) = &response.usage {
        body["usage"] = encode_usage(usage, response.cost_usd);
    }
    body
}
