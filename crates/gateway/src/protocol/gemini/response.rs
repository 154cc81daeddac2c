//! Whole responses: a Gemini `GenerateContentResponse` to the neutral [`ChatResponse`] (upstream answers) and back
//! (answers for Gemini clients), with the part, stop-reason and usage mappings the stream shares.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::request::parse_arguments;
use super::signatures::Pending;
use crate::protocol::ProtocolError;
use crate::protocol::neutral::{ChatResponse, Choice, ImageSource, Part, Signature, StopReason, Usage};

/// A Gemini `GenerateContentResponse` → neutral. An `{"error": ..}` body is an `Err`; a prompt blocked before
/// any candidate (`promptFeedback.blockReason`) is one empty choice stopped by `ContentFilter`.
pub fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    let object = body.as_object().ok_or_else(|| ProtocolError::new("Gemini response is not a JSON object"))?;
    if let Some(error) = object.get("error") {
        let (message, _) = error_fields(error);
        return Err(ProtocolError::at("error", message));
    }

    let mut ids = CallIds::default();
    let mut choices = Vec::new();
    if let Some(candidates) = object.get("candidates") {
        let candidates =
            candidates.as_array().ok_or_else(|| ProtocolError::at("candidates", "`candidates` is not an array"))?;
        for (position, candidate) in candidates.iter().enumerate() {
            let index = candidate_index(candidate, position);
            let mut content = Vec::new();
            for part in candidate_parts(candidate) {
                decode_part(part, &mut ids, &mut content);
            }
            let has_call = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
            let stop = candidate.get("finishReason").and_then(Value::as_str).map(|r| stop_reason(r, has_call));
            choices.push(Choice { index, content, stop });
        }
    }
    if choices.is_empty() {
        let blocked = object.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some();
        choices.push(Choice { index: 0, content: Vec::new(), stop: blocked.then_some(StopReason::ContentFilter) });
    }

    Ok(ChatResponse {
        id: response_id(body),
        model: body.get("modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created: now(),
        choices,
        usage: body.get("usageMetadata").map(decode_usage),
        cost_usd: None,
    })
}

/// Ids for function calls Gemini sent without one: `call_0`, `call_1`, … unique within one response or stream.
#[derive(Debug, Default)]
pub(super) struct CallIds {
    next: u32,
}

impl CallIds {
    pub(super) fn id_for(&mut self, call: &Value) -> String {
        match call.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => {
                let id = format!("call_{}", self.next);
                self.next += 1;
                id
            }
        }
    }
}

fn decode_part(part: &Value, ids: &mut CallIds, out: &mut Vec<Part>) {
    let signature = part.get("thoughtSignature").and_then(Value::as_str).map(Signature::gemini);
    let thought = part.get("thought").and_then(Value::as_bool).unwrap_or(false);

    if let Some(call) = part.get("functionCall") {
        if let Some(signature) = signature {
            out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
        }
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(Part::ToolCall { id: ids.id_for(call), name, arguments: call_arguments(call) });
    } else if let Some(text) = part.get("text").and_then(Value::as_str) {
        if thought {
            out.push(Part::Thinking { text: text.to_owned(), signature });
        } else {
            if let Some(signature) = signature {
                out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
            }
            if !text.is_empty() {
                out.push(Part::Text { text: text.to_owned(), cache: None });
            }
        }
    } else if let Some(inline) = part.get("inlineData") {
        let media_type = inline.get("mimeType").and_then(Value::as_str).unwrap_or("application/octet-stream");
        let data = inline.get("data").and_then(Value::as_str).unwrap_or_default();
        out.push(Part::Image {
            source: ImageSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() },
            detail: None,
            cache: None,
        });
    } else if let Some(signature) = signature {
        // A part carrying only a signature (seen at the end of some streams).
        out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
    }
}

/// `args` as compact JSON text (`{}` when absent).
pub(super) fn call_arguments(call: &Value) -> String {
    match call.get("args") {
        Some(args @ Value::Object(_)) => args.to_string(),
        _ => "{}".to_owned(),
    }
}

pub(super) fn candidate_parts(candidate: &Value) -> &[Value] {
    candidate.get("content").and_then(|c| c.get("parts")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// `index` is omitted for the first candidate (proto3 default).
pub(super) fn candidate_index(candidate: &Value, position: usize) -> u32 {
    candidate
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX))
}

/// Gemini's `finishReason` → neutral. `STOP` after a function call is `ToolUse`: Gemini has no reason of its own.
pub fn stop_reason(reason: &str, has_tool_call: bool) -> StopReason {
    match reason {
        "STOP" if has_tool_call => StopReason::ToolUse,
        "STOP" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            StopReason::ContentFilter
        }
        other => StopReason::Other(other.to_owned()),
    }
}

/// `usageMetadata` → neutral. Gemini's `promptTokenCount` already includes cached tokens; tool-use prompt tokens
/// (grounding and other built-in tools) are prompt tokens too. `candidatesTokenCount` excludes thoughts, so the
/// neutral `output` adds `thoughtsTokenCount` in. Gemini reports no cache writes (a cache is made by its own call).
pub fn decode_usage(metadata: &Value) -> Usage {
    let count = |key: &str| metadata.get(key).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Usage {
        input: count("promptTokenCount") + count("toolUsePromptTokenCount"),
        cached_input: count("cachedContentTokenCount"),
        cache_write: 0,
        cache_write_1h: 0,
        output: count("candidatesTokenCount") + thoughts,
        reasoning: thoughts,
    }
}

pub(super) fn response_id(body: &Value) -> String {
    match body.get("responseId").and_then(Value::as_str).filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            format!("gemini-{nanos:x}")
        }
    }
}

pub(super) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `{"code", "message", "status"}` → (message, kind).
pub(super) fn error_fields(error: &Value) -> (String, String) {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Gemini error: {error}"));
    let kind = error.get("status").and_then(Value::as_str).unwrap_or("upstream_error").to_owned();
    (message, kind)
}

/// Writes a whole `GenerateContentResponse` for a Gemini client: one candidate per choice, thought parts marked
/// `thought`, signatures on the part after the thinking (see [`Pending`]), usage in `usageMetadata`.
pub fn encode_response(response: &ChatResponse) -> Value {
    let candidates: Vec<Value> = response
        .choices
        .iter()
        .map(|choice| {
            let mut candidate = json!({ "content": { "parts": encode_parts(&choice.content), "role": "model" } });
            if let Some(stop) = &choice.stop {
                candidate["finishReason"] = json!(finish_reason(stop));
            }
            candidate["index"] = json!(choice.index);
            candidate
        })
        .collect();
    let mut body = json!({ "candidates": candidates });
    if let Some(usage) = &response.usage {
        body["usageMetadata"] = encode_usage(usage);
    }
    body["modelVersion"] = json!(response.model);
    body["responseId"] = json!(response.id);
    body
}

/// An answer's parts as Gemini parts.
fn encode_parts(content: &[Part]) -> Vec<Value> {
    let mut pending = Pending::default();
    let mut out = Vec::new();
    for part in content {
        let mut encoded = match part {
            Part::Text { text, .. } => json!({ "text": text }),
            Part::ToolCall { id, name, arguments } => function_call(id, name, arguments),
            Part::Thinking { text, signature } => {
                let gemini = signature.as_deref().map(Signature::of).and_then(|signature| match signature {
                    Signature::Gemini(raw) => Some(raw),
                    Signature::Anthropic(_) | Signature::OpenAi(_) => None,
                });
                match (gemini, signature) {
                    // Gemini's own signature stays on its thought part, as Gemini sent it.
                    (Some(raw), _) if !text.is_empty() => {
                        out.push(json!({ "text": text, "thought": true, "thoughtSignature": raw }));
                        continue;
                    }
                    (_, Some(signature)) => pending.signed(text, signature),
                    (_, None) => {}
                }
                if text.is_empty() {
                    continue;
                }
                json!({ "text": text, "thought": true })
            }
            Part::RedactedThinking { data } => {
                pending.redacted(data);
                continue;
            }
            Part::Image { .. } | Part::ToolResult { .. } => continue,
        };
        if encoded.get("thought").is_none() {
            pending.attach(&mut encoded);
        }
        out.push(encoded);
    }
    out.extend(pending.leftover());
    out
}

/// A `functionCall` part; the arguments text as the `args` object.
pub(super) fn function_call(id: &str, name: &str, arguments: &str) -> Value {
    let mut call = Map::new();
    if !id.is_empty() {
        call.insert("id".into(), json!(id));
    }
    call.insert("name".into(), json!(name));
    call.insert("args".into(), parse_arguments(arguments));
    json!({ "functionCall": call })
}

/// The `finishReason` for a stop. Gemini ends function calls and stop sequences with `STOP` too; a reason kept
/// from Gemini itself (`MALFORMED_FUNCTION_CALL`, …) goes back as it came.
pub fn finish_reason(stop: &StopReason) -> &str {
    match stop {
        StopReason::EndTurn | StopReason::StopSequence(_) | StopReason::ToolUse | StopReason::PauseTurn => "STOP",
        StopReason::MaxTokens => "MAX_TOKENS",
        StopReason::ContentFilter => "SAFETY",
        StopReason::Other(reason) if reason.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => reason,
        StopReason::Other(_) => "OTHER",
    }
}

/// Neutral usage as `usageMetadata`: `candidatesTokenCount` leaves the thoughts out, as Gemini counts them.
pub(super) fn encode_usage(usage: &Usage) -> Value {
    json!({
        "promptTokenCount": usage.input,
        "candidatesTokenCount": usage.output.saturating_sub(usage.reasoning),
        "totalTokenCount": usage.input + usage.output,
        "cachedContentTokenCount": usage.cached_input,
        "thoughtsTokenCount": usage.reasoning,
    })
}
