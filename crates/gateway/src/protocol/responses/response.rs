//! Whole responses: a neutral [`ChatResponse`] as a Responses object.

use serde_json::{Value, json};

use super::{REDACTED_PREFIX, encrypted_content};
use crate::protocol::fields::unix_now;
use crate::protocol::neutral::{ChatResponse, Part, StopReason, Usage};

/// One output item, as it is being built.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) id: String,
    pub(super) body: ItemBody,
    pub(super) done: bool,
}

#[derive(Debug)]
pub(super) enum ItemBody {
    Message {
        text: String,
    },
    Reasoning {
        text: String,
        /// The provider's signature, or redacted thinking with [`REDACTED_PREFIX`]: the item's `encrypted_content`.
        encrypted: Option<String>,
        /// Whether the stream opened the summary part (on the first text).
        part_open: bool,
    },
    Call {
        /// The neutral tool-call index, to route deltas.
        index: u32,
        call_id: String,
        name: String,
        arguments: String,
    },
}

impl Item {
    pub(super) fn new(response_id: &str, output_index: usize, body: ItemBody) -> Item {
        let prefix = match body {
            ItemBody::Message { .. } => "msg",
            ItemBody::Reasoning { .. } => "rs",
            ItemBody::Call { .. } => "fc",
        };
        let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
        Item { id: format!("{prefix}_{base}_{output_index}"), body, done: false }
    }

    pub(super) fn reasoning(encrypted: Option<String>) -> ItemBody {
        ItemBody::Reasoning { text: String::new(), encrypted, part_open: false }
    }

    /// The item as JSON: whole when `full`, else as first announced (no text, no arguments).
    pub(super) fn to_json(&self, full: bool) -> Value {
        let status = if full { "completed" } else { "in_progress" };
        match &self.body {
            ItemBody::Message { text } => {
                let content = if full { vec![output_text_part(text)] } else { Vec::new() };
                json!({"type": "message", "id": self.id, "status": status, "role": "assistant", "content": content})
            }
            ItemBody::Reasoning { text, encrypted, .. } => {
                let summary =
                    if full && !text.is_empty() { vec![json!({"type": "summary_text", "text": text})] } else { vec![] };
                let mut item = json!({"type": "reasoning", "id": self.id, "summary": summary});
                if full && let Some(encrypted) = encrypted {
                    item["encrypted_content"] = json!(encrypted);
                }
                item
            }
            ItemBody::Call { call_id, name, arguments, .. } => json!({
                "type": "function_call",
                "id": self.id,
                "call_id": call_id,
                "name": name,
                "arguments": if full { arguments.as_str() } else { "" },
                "status": status,
            }),
        }
    }
}

pub(super) fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// The client-facing response id: the neutral id with a `resp_` prefix (a fresh one when the upstream gave none).
pub(super) fn response_id(neutral: &str) -> String {
    if neutral.starts_with("resp_") {
        return neutral.to_owned();
    }
    if neutral.is_empty() {
        let mut bytes = [0u8; 12];
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
        }
        return format!("resp_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    format!("resp_{neutral}")
}

/// The response `status` and `incomplete_details` for a stop reason.
pub(super) fn status_of(stop: Option<&StopReason>) -> (&'static str, Value) {
    match stop {
        Some(StopReason::MaxTokens) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(StopReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

fn encode_usage(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cached_input},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.input + usage.output,
    })
}

/// A response object with the fields the SDKs require; request echoes this module does not know are defaults.
pub(super) fn response_object(
    id: &str,
    model: &str,
    created_at: u64,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "metadata": {},
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage.map(encode_usage),
        "user": null,
    })
}

/// Writes a whole response body for a client.
pub fn encode_response(response: &ChatResponse) -> Value {
    let id = response_id(&response.id);
    // Responses has a single output: the first choice.
    let choice = response.choices.iter().find(|c| c.index == 0).or(response.choices.first());
    let mut items: Vec<Item> = Vec::new();
    for part in choice.map(|c| c.content.as_slice()).unwrap_or_default() {
        let body = match part {
            Part::Text { text, .. } => {
                if let Some(Item { body: ItemBody::Message { text: run }, .. }) = items.last_mut() {
                    run.push_str(text);
                    continue;
                }
                if text.is_empty() {
                    continue;
                }
                ItemBody::Message { text: text.clone() }
            }
            Part::Thinking { text, signature } => {
                let encrypted = signature.as_deref().map(encrypted_content);
                ItemBody::Reasoning { text: text.clone(), encrypted, part_open: false }
            }
            Part::RedactedThinking { data } => Item::reasoning(Some(format!("{REDACTED_PREFIX}{data}"))),
            Part::ToolCall { id: call_id, name, arguments } => {
                ItemBody::Call { index: 0, call_id: call_id.clone(), name: name.clone(), arguments: arguments.clone() }
            }
            Part::Image { .. } | Part::ToolResult { .. } => continue,
        };
        items.push(Item::new(&id, items.len(), body));
    }
    let (status, incomplete) = status_of(choice.and_then(|c| c.stop.as_ref()));
    let created_at = if response.created == 0 { unix_now() } else { response.created };
    let output = items.iter().map(|item| item.to_json(true)).collect();
    let mut body = response_object(&id, &response.model, created_at, status, output, response.usage.as_ref());
    body["incomplete_details"] = incomplete;
    body
}
