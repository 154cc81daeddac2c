//! OpenAI Responses (`POST /v1/responses`): client requests, whole responses and named stream events, to and from
//! the neutral form. Only the client side lives here: OpenAI-compatible upstreams are reached through chat
//! completions, and Responses-to-OpenAI traffic is passed through untouched (never decoded past its `usage`).
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - Nothing is stored, so whatever needs a stored object is an error naming the field (the relay passes
//!   `previous_response_id`, `conversation` and `prompt` through to OpenAI, which stores them, and decodes the rest
//!   without them): `previous_response_id`,
//!   `conversation`, `prompt` (a stored template) and `background: true`. `store`, `include`, `prompt_cache_key`,
//!   `client_metadata`, `service_tier`, `truncation` and other unknown fields are ignored; known fields of the wrong
//!   type are errors naming the field.
//! - `instructions` and `system` / `developer` message items become system blocks, in order (`instructions` first;
//!   Codex sends its prompt as `developer` items).
//! - Input items become neutral messages in order; an item whose role matches the previous message's merges into
//!   it (reasoning + function calls + an assistant message → one assistant turn; function outputs + a user message →
//!   one user turn, results first as they came). Items and parts with no neutral form (`item_reference`, hosted,
//!   shell and custom tool calls, `input_file`, images given by `file_id`) are skipped with a debug log.
//! - Only `function` tools are kept. Hosted tools (`web_search`, `file_search`, …), `namespace`, `local_shell` and
//!   `custom` tools are dropped, not refused: no upstream behind this module can run them. A `tool_choice` that
//!   names such a tool becomes `auto`.
//! - `reasoning.effort` becomes the neutral effort; reasoning is on only when an effort other than `none` is given
//!   (a bare `reasoning: {summary}` does not switch thinking on at upstreams that bill for it). `reasoning.summary`
//!   has no neutral form.
//! - Reasoning items carry thinking both ways: the summary is the thinking text (parts joined by a blank line) and
//!   `encrypted_content` the provider's signature (Anthropic's, prefixed with [`ANTHROPIC_PREFIX`], or Gemini's
//!   thought signature in its neutral form, which may come with no text at all). Anthropic's redacted thinking
//!   travels as `encrypted_content` prefixed with [`REDACTED_PREFIX`]. The client hands these back verbatim on the
//!   next turn, as those providers require. `encrypted_content` this gateway did not write (OpenAI's own encrypted
//!   reasoning, from a conversation that began elsewhere) is dropped, keeping the summary as unsigned thinking. A
//!   reasoning item with neither text nor a signature is skipped.
//! - Output: each run of text is one `message` item with one `output_text` part, each thinking block one
//!   `reasoning` item, each tool call one `function_call` item. Only the first choice is written (Responses has
//!   one). Ids derive from the neutral id: `resp_<id>`, and `msg_`/`rs_`/`fc_<id>_<output index>` for items.
//! - Status: a `MaxTokens` stop is `incomplete` with reason `max_output_tokens`, a `ContentFilter` stop
//!   `incomplete` with reason `content_filter`; every other stop is `completed`.
//! - Usage: `input_tokens` includes cached tokens, as the neutral `input` does; unknown usage is `null`; the cost
//!   has no Responses form.
//! - Streams always report usage in the final response (`include_usage` exists only for symmetry). An upstream
//!   error becomes `response.failed` listing only the items finished so far: open items are not closed, so a
//!   half-streamed call never looks complete. `finish` ends a stream that had no `Stop` as `completed`.

use serde_json::{Map, Value, json};

use super::neutral::{
    ChatRequest, ChatResponse, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature, StopReason,
    StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
};
use super::openai_chat::{
    as_object, field, fill_tool_result_names, get_array, get_bool, get_f64, get_object, get_str, get_u32, join,
    kind_of, required, unix_now,
};
use super::{ProtocolError, SseEvent};

/// Marks an Anthropic signature inside a reasoning item's `encrypted_content`, so that encrypted reasoning this
/// gateway did not write (OpenAI's own) is told apart and never sent to a provider that would reject it.
pub const ANTHROPIC_PREFIX: &str = "anthropic:";

/// A neutral signature as a reasoning item's `encrypted_content`.
fn encrypted_content(signature: &str) -> String {
    match Signature::of(signature) {
        Signature::Anthropic(raw) => format!("{ANTHROPIC_PREFIX}{raw}"),
        Signature::Gemini(_) => signature.to_owned(),
    }
}

/// Marks Anthropic's redacted thinking inside a reasoning item's `encrypted_content`. No provider's signature
/// contains a colon (they are base64), so the prefix cannot be mistaken for one.
pub const REDACTED_PREFIX: &str = "switchboard-redacted:";

fn wrong_type(path: String, expected: &str, got: &Value) -> ProtocolError {
    let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
    ProtocolError::at(path, format!("`{name}` must be {expected}, not {}", kind_of(got)))
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

/// Reads a client's Responses body.
pub fn decode_request(body: &Value) -> Result<ChatRequest, ProtocolError> {
    let root = as_object(body, "")?;
    if field(root, "previous_response_id").is_some() {
        return Err(ProtocolError::at(
            "previous_response_id",
            "Switchboard does not store responses; resend the whole conversation (Codex does this by default)",
        ));
    }
    if field(root, "conversation").is_some() {
        return Err(ProtocolError::at(
            "conversation",
            "Switchboard does not store conversations; resend the whole conversation in `input`",
        ));
    }
    if field(root, "prompt").is_some() {
        return Err(ProtocolError::at(
            "prompt",
            "Switchboard does not support stored prompt templates; send `instructions` and `input` instead",
        ));
    }
    if get_bool(root, "background", "")? == Some(true) {
        return Err(ProtocolError::at(
            "background",
            "Switchboard does not run background responses; leave `background` unset and stream instead",
        ));
    }

    let mut request =
        ChatRequest { model: get_str(root, "model", "")?.unwrap_or_default().to_owned(), ..ChatRequest::default() };
    if let Some(instructions) = get_str(root, "instructions", "")?
        && !instructions.is_empty()
    {
        request.system.push(SystemBlock { text: instructions.to_owned(), cache: None });
    }
    match field(root, "input") {
        None => return Err(ProtocolError::at("input", "`input` is required")),
        Some(Value::String(text)) => push_parts(&mut request.messages, Role::User, text_parts(text)),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                decode_item(item, &format!("input[{i}]"), &mut request)?;
            }
        }
        Some(other) => return Err(wrong_type("input".into(), "a string or an array of input items", other)),
    }
    fill_tool_result_names(&mut request.messages);

    if let Some(tools) = get_array(root, "tools", "")? {
        for (i, tool) in tools.iter().enumerate() {
            if let Some(tool) = decode_tool(tool, &format!("tools[{i}]"))? {
                request.tools.push(tool);
            }
        }
    }
    request.tool_choice = decode_tool_choice(root)?;
    request.parallel_tool_calls = get_bool(root, "parallel_tool_calls", "")?;
    request.max_tokens = get_u32(root, "max_output_tokens", "")?;
    request.temperature = get_f64(root, "temperature", "")?;
    request.top_p = get_f64(root, "top_p", "")?;
    if let Some(reasoning) = get_object(root, "reasoning", "")? {
        let effort = get_str(reasoning, "effort", "reasoning")?.map(str::to_owned);
        // Validated, but it has no neutral form.
        get_str(reasoning, "summary", "reasoning")?;
        let enabled = effort.as_deref().is_some_and(|e| e != "none");
        request.reasoning = Some(Reasoning { effort, budget_tokens: None, enabled });
    }
    if let Some(text) = get_object(root, "text", "")? {
        request.response_format = decode_format(text)?;
    }
    request.stream = get_bool(root, "stream", "")?.unwrap_or(false);
    // Responses streams always end with usage.
    request.stream_usage = request.stream;
    request.metadata = get_object(root, "metadata", "")?.cloned();
    // `safety_identifier` is OpenAI's successor to `user`.
    let user = get_str(root, "user", "")?;
    request.user = user.or(get_str(root, "safety_identifier", "")?).map(str::to_owned);
    Ok(request)
}

/// Appends parts to the conversation, merging into the last message when it has the same role.
fn push_parts(messages: &mut Vec<Message>, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(parts),
        _ => messages.push(Message { role, content: parts }),
    }
}

fn text_parts(text: &str) -> Vec<Part> {
    if text.is_empty() { Vec::new() } else { vec![Part::Text { text: text.to_owned(), cache: None }] }
}

fn decode_item(value: &Value, path: &str, request: &mut ChatRequest) -> Result<(), ProtocolError> {
    let item = as_object(value, path)?;
    let kind = match get_str(item, "type", path)? {
        Some(kind) => kind,
        // The "easy" message form has a role and no type.
        None if field(item, "role").is_some() => "message",
        None => return Err(ProtocolError::at(join(path, "type"), "`type` is required (or `role`, for a message)")),
    };
    match kind {
        "message" => {
            let role = required(get_str(item, "role", path)?, path, "role")?;
            let parts = decode_content(field(item, "content"), &join(path, "content"))?;
            match role {
                "system" | "developer" => {
                    for part in parts {
                        match part {
                            Part::Text { text, cache } => request.system.push(SystemBlock { text, cache }),
                            _ => tracing::debug!(param = %path, "skipping a non-text part of a system message"),
                        }
                    }
                }
                "user" => push_parts(&mut request.messages, Role::User, parts),
                "assistant" => push_parts(&mut request.messages, Role::Assistant, parts),
                other => {
                    return Err(ProtocolError::at(
                        join(path, "role"),
                        format!("unknown role `{other}`; expected user, assistant, system or developer"),
                    ));
                }
            }
        }
        "function_call" => {
            let call_id = required(get_str(item, "call_id", path)?, path, "call_id")?;
            let name = required(get_str(item, "name", path)?, path, "name")?;
            let arguments = match field(item, "arguments") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                // Lenient: some clients send the object itself.
                Some(Value::Object(o)) => Value::Object(o.clone()).to_string(),
                Some(other) => return Err(wrong_type(join(path, "arguments"), "a string", other)),
            };
            let call = Part::ToolCall { id: call_id.to_owned(), name: name.to_owned(), arguments };
            push_parts(&mut request.messages, Role::Assistant, vec![call]);
        }
        "function_call_output" => {
            let call_id = required(get_str(item, "call_id", path)?, path, "call_id")?;
            let output_path = join(path, "output");
            let content = match field(item, "output") {
                None => return Err(ProtocolError::at(output_path, "`output` is required")),
                output @ Some(Value::String(_) | Value::Array(_)) => decode_content(output, &output_path)?,
                Some(other) => return Err(wrong_type(output_path, "a string or an array of content parts", other)),
            };
            let result =
                Part::ToolResult { call_id: call_id.to_owned(), name: None, content, is_error: false, cache: None };
            push_parts(&mut request.messages, Role::User, vec![result]);
        }
        "reasoning" => {
            if let Some(part) = decode_reasoning(item, path)? {
                push_parts(&mut request.messages, Role::Assistant, vec![part]);
            }
        }
        other => tracing::debug!(param = %path, kind = other, "skipping an input item with no neutral form"),
    }
    Ok(())
}

/// A message's `content` or a function output: a string, or an array of `input_text` / `output_text` /
/// `input_image` parts (`refusal` is kept as text; `input_file` and unknown parts are skipped).
fn decode_content(content: Option<&Value>, path: &str) -> Result<Vec<Part>, ProtocolError> {
    match content {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(text_parts(s)),
        Some(Value::Array(items)) => {
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let part_path = format!("{path}[{i}]");
                let item = as_object(item, &part_path)?;
                match required(get_str(item, "type", &part_path)?, &part_path, "type")? {
                    "input_text" | "output_text" | "text" => parts.push(Part::Text {
                        text: required(get_str(item, "text", &part_path)?, &part_path, "text")?.to_owned(),
                        cache: None,
                    }),
                    "refusal" => {
                        let refusal = get_str(item, "refusal", &part_path)?.unwrap_or_default();
                        parts.extend(text_parts(refusal));
                    }
                    "input_image" => match get_str(item, "image_url", &part_path)? {
                        Some(url) => parts.push(Part::Image {
                            source: ImageSource::from_url(url),
                            detail: get_str(item, "detail", &part_path)?.map(str::to_owned),
                            cache: None,
                        }),
                        None => tracing::debug!(param = %part_path, "skipping an image given by file_id"),
                    },
                    other => tracing::debug!(param = %part_path, kind = other, "skipping an unsupported content part"),
                }
            }
            Ok(parts)
        }
        Some(other) => Err(wrong_type(path.to_owned(), "a string or an array of content parts", other)),
    }
}

/// A reasoning item as the thinking part it was written from (see the module docs).
fn decode_reasoning(item: &Map<String, Value>, path: &str) -> Result<Option<Part>, ProtocolError> {
    let mut texts = reasoning_texts(item, "summary", path)?;
    if texts.is_empty() {
        // Raw reasoning text, which some servers return instead of a summary.
        texts = reasoning_texts(item, "content", path)?;
    }
    let text = texts.join("\n\n");
    let encrypted = get_str(item, "encrypted_content", path)?.filter(|e| !e.is_empty());
    Ok(match encrypted {
        Some(encrypted) => {
            if let Some(data) = encrypted.strip_prefix(REDACTED_PREFIX) {
                Some(Part::RedactedThinking { data: data.to_owned() })
            } else if let Some(signature) = encrypted.strip_prefix(ANTHROPIC_PREFIX) {
                Some(Part::Thinking { text, signature: Some(signature.to_owned()) })
            } else if matches!(Signature::of(encrypted), Signature::Gemini(_)) {
                Some(Part::Thinking { text, signature: Some(encrypted.to_owned()) })
            } else {
                // Not written by this gateway (OpenAI's own encrypted reasoning): no upstream here can read it.
                tracing::debug!(param = %path, "dropping encrypted reasoning this gateway did not write");
                (!text.is_empty()).then_some(Part::Thinking { text, signature: None })
            }
        }
        None if text.is_empty() => {
            tracing::debug!(param = %path, "skipping an empty reasoning item");
            None
        }
        None => Some(Part::Thinking { text, signature: None }),
    })
}

/// The non-empty `text`s of a reasoning item's `summary` or `content` parts.
fn reasoning_texts(item: &Map<String, Value>, key: &str, path: &str) -> Result<Vec<String>, ProtocolError> {
    let mut texts = Vec::new();
    for (i, part) in get_array(item, key, path)?.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
        let part_path = format!("{path}.{key}[{i}]");
        let part = as_object(part, &part_path)?;
        if let Some(text) = get_str(part, "text", &part_path)?.filter(|t| !t.is_empty()) {
            texts.push(text.to_owned());
        }
    }
    Ok(texts)
}

fn decode_tool(value: &Value, path: &str) -> Result<Option<Tool>, ProtocolError> {
    let tool = as_object(value, path)?;
    let kind = get_str(tool, "type", path)?.unwrap_or("function");
    if kind != "function" {
        tracing::debug!(param = %path, kind, "dropping a tool that is not a function tool");
        return Ok(None);
    }
    let parameters = match field(tool, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(other) => return Err(wrong_type(join(path, "parameters"), "an object", other)),
    };
    Ok(Some(Tool {
        name: required(get_str(tool, "name", path)?, path, "name")?.to_owned(),
        description: get_str(tool, "description", path)?.map(str::to_owned),
        parameters,
        strict: get_bool(tool, "strict", path)?,
        cache: None,
    }))
}

fn decode_tool_choice(root: &Map<String, Value>) -> Result<Option<ToolChoice>, ProtocolError> {
    Ok(match field(root, "tool_choice") {
        None => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(ProtocolError::at(
                    "tool_choice",
                    format!("unknown tool_choice `{other}`; expected auto, none, required or a function object"),
                ));
            }
        }),
        Some(Value::Object(choice)) => {
            match required(get_str(choice, "type", "tool_choice")?, "tool_choice", "type")? {
                "function" => Some(ToolChoice::Named(
                    required(get_str(choice, "name", "tool_choice")?, "tool_choice", "name")?.into(),
                )),
                "allowed_tools" => match get_str(choice, "mode", "tool_choice")? {
                    Some("required") => Some(ToolChoice::Required),
                    _ => Some(ToolChoice::Auto),
                },
                other => {
                    // A hosted or custom tool, dropped with the tools (see the module docs).
                    tracing::debug!(kind = other, "tool_choice names a dropped tool; using auto");
                    Some(ToolChoice::Auto)
                }
            }
        }
        Some(other) => return Err(wrong_type("tool_choice".into(), "a string or an object", other)),
    })
}

/// `text.format`: `text`, `json_object`, or `json_schema` with its fields inline.
fn decode_format(text: &Map<String, Value>) -> Result<Option<ResponseFormat>, ProtocolError> {
    let Some(format) = get_object(text, "format", "text")? else { return Ok(None) };
    let path = "text.format";
    Ok(Some(match required(get_str(format, "type", path)?, path, "type")? {
        "text" => ResponseFormat::Text,
        "json_object" => ResponseFormat::JsonObject,
        "json_schema" => ResponseFormat::JsonSchema {
            name: get_str(format, "name", path)?.unwrap_or("response").to_owned(),
            schema: match field(format, "schema") {
                None => json!({}),
                Some(schema @ Value::Object(_)) => schema.clone(),
                Some(other) => return Err(wrong_type(join(path, "schema"), "an object", other)),
            },
            strict: get_bool(format, "strict", path)?,
            description: get_str(format, "description", path)?.map(str::to_owned),
        },
        other => {
            return Err(ProtocolError::at(
                "text.format.type",
                format!("unknown text.format type `{other}`; expected text, json_object or json_schema"),
            ));
        }
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------------

/// One output item, as it is being built.
#[derive(Debug)]
struct Item {
    id: String,
    body: ItemBody,
    done: bool,
}

#[derive(Debug)]
enum ItemBody {
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
    fn new(response_id: &str, output_index: usize, body: ItemBody) -> Item {
        let prefix = match body {
            ItemBody::Message { .. } => "msg",
            ItemBody::Reasoning { .. } => "rs",
            ItemBody::Call { .. } => "fc",
        };
        let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
        Item { id: format!("{prefix}_{base}_{output_index}"), body, done: false }
    }

    fn reasoning(encrypted: Option<String>) -> ItemBody {
        ItemBody::Reasoning { text: String::new(), encrypted, part_open: false }
    }

    /// The item as JSON: whole when `full`, else as first announced (no text, no arguments).
    fn to_json(&self, full: bool) -> Value {
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

fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// The client-facing response id: the neutral id with a `resp_` prefix (a fresh one when the upstream gave none).
fn response_id(neutral: &str) -> String {
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
fn status_of(stop: Option<&StopReason>) -> (&'static str, Value) {
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
fn response_object(
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

// ---------------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------------

/// Neutral events → the client's named events (`response.created` … `response.completed`), each with `type` equal to
/// its name and a `sequence_number` counting from 0.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created_at: u64,
    next_sequence: u64,
    started: bool,
    /// Every output item so far, by output index.
    items: Vec<Item>,
    /// The message item text deltas go to, and the reasoning item thinking deltas go to, while open.
    open_message: Option<usize>,
    open_reasoning: Option<usize>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    /// A terminal event (`response.completed` / `incomplete` / `failed`) was sent.
    ended: bool,
}

impl StreamEncoder {
    /// `include_usage` is ignored: a Responses stream always reports usage in its final response.
    pub fn new(_include_usage: bool) -> Self {
        StreamEncoder {
            id: String::new(),
            model: String::new(),
            created_at: 0,
            next_sequence: 0,
            started: false,
            items: Vec::new(),
            open_message: None,
            open_reasoning: None,
            stop: None,
            usage: None,
            ended: false,
        }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if let StreamEvent::Start { id, model, created } = event
            && !self.started
        {
            self.id = response_id(id);
            self.model.clone_from(model);
            self.created_at = *created;
        }
        self.start(&mut out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { choice: 0, text } => self.text(text, &mut out),
            StreamEvent::ThinkingDelta { choice: 0, text } => self.thinking(text, &mut out),
            StreamEvent::ThinkingSignature { choice: 0, signature } => self.signature(signature, &mut out),
            StreamEvent::RedactedThinking { choice: 0, data } => {
                self.close_open(&mut out);
                let index = self.open(Item::reasoning(Some(format!("{REDACTED_PREFIX}{data}"))), &mut out);
                self.close(index, &mut out);
            }
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => {
                self.close_open(&mut out);
                if self.live_call(*index).is_some() {
                    tracing::warn!(index, "ignoring a second start of a streaming tool call");
                } else {
                    let call = ItemBody::Call {
                        index: *index,
                        call_id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                    };
                    self.open(call, &mut out);
                }
            }
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => self.arguments(*index, arguments, &mut out),
            StreamEvent::Stop { choice: 0, reason } => {
                self.close_all(&mut out);
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
            StreamEvent::Error { message, kind } => self.fail(message, kind, &mut out),
            // Responses has a single output.
            _ => tracing::debug!("dropping a stream event for a choice other than 0"),
        }
        out
    }

    /// Whatever closing events have not been sent: open items, then `response.completed` (or `incomplete`).
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.ended {
            self.start(&mut out);
            self.end(&mut out);
        }
        out
    }

    fn emit(&mut self, name: &str, data: Value, out: &mut Vec<SseEvent>) {
        let mut body = Map::new();
        body.insert("type".into(), json!(name));
        body.insert("sequence_number".into(), json!(self.next_sequence));
        if let Value::Object(fields) = data {
            body.extend(fields);
        }
        self.next_sequence += 1;
        out.push(SseEvent { event: Some(name.to_owned()), data: Value::Object(body).to_string() });
    }

    /// The response object as it stands: finished items only.
    fn response(&self, status: &str) -> Value {
        let output = self.items.iter().filter(|item| item.done).map(|item| item.to_json(true)).collect();
        response_object(&self.id, &self.model, self.created_at, status, output, self.usage.as_ref())
    }

    /// `response.created` and `response.in_progress`, once.
    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        if self.id.is_empty() {
            self.id = response_id("");
        }
        if self.created_at == 0 {
            self.created_at = unix_now();
        }
        let response = self.response("in_progress");
        self.emit("response.created", json!({"response": response}), out);
        self.emit("response.in_progress", json!({"response": response}), out);
    }

    /// Announces a new output item; a message also gets its (single) text part.
    fn open(&mut self, body: ItemBody, out: &mut Vec<SseEvent>) -> usize {
        let index = self.items.len();
        let item = Item::new(&self.id, index, body);
        let (id, added, is_message) =
            (item.id.clone(), item.to_json(false), matches!(item.body, ItemBody::Message { .. }));
        self.items.push(item);
        self.emit("response.output_item.added", json!({"output_index": index, "item": added}), out);
        if is_message {
            let part = output_text_part("");
            let data = json!({"item_id": id, "output_index": index, "content_index": 0, "part": part});
            self.emit("response.content_part.added", data, out);
        }
        index
    }

    /// Finishes an item: its `…done` events, then `response.output_item.done` with the whole item.
    fn close(&mut self, index: usize, out: &mut Vec<SseEvent>) {
        let Some(item) = self.items.get_mut(index) else { return };
        if std::mem::replace(&mut item.done, true) {
            return;
        }
        let id = item.id.clone();
        let mut events = Vec::new();
        match &item.body {
            ItemBody::Message { text } => {
                events.push((
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                ));
                events.push((
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text_part(text)}),
                ));
            }
            ItemBody::Reasoning { text, part_open: true, .. } => {
                let part = json!({"type": "summary_text", "text": text});
                events.push((
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                ));
                events.push((
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part}),
                ));
            }
            ItemBody::Reasoning { .. } => {}
            ItemBody::Call { name, arguments, .. } => events.push((
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
            )),
        }
        let done = item.to_json(true);
        for (name, data) in events {
            self.emit(name, data, out);
        }
        self.emit("response.output_item.done", json!({"output_index": index, "item": done}), out);
        if self.open_message == Some(index) {
            self.open_message = None;
        }
        if self.open_reasoning == Some(index) {
            self.open_reasoning = None;
        }
    }

    /// Closes the open message and reasoning items (not tool calls, whose deltas may still interleave).
    fn close_open(&mut self, out: &mut Vec<SseEvent>) {
        for index in [self.open_message, self.open_reasoning].into_iter().flatten() {
            self.close(index, out);
        }
    }

    fn close_all(&mut self, out: &mut Vec<SseEvent>) {
        for index in 0..self.items.len() {
            self.close(index, out);
        }
    }

    fn text(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        if text.is_empty() {
            return;
        }
        if let Some(index) = self.open_reasoning {
            self.close(index, out);
        }
        let index = match self.open_message {
            Some(index) => index,
            None => {
                let index = self.open(ItemBody::Message { text: String::new() }, out);
                self.open_message = Some(index);
                index
            }
        };
        let Some(item) = self.items.get_mut(index) else { return };
        if let ItemBody::Message { text: all } = &mut item.body {
            all.push_str(text);
        }
        let data =
            json!({"item_id": item.id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []});
        self.emit("response.output_text.delta", data, out);
    }

    fn thinking(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        if text.is_empty() {
            return;
        }
        if let Some(index) = self.open_message {
            self.close(index, out);
        }
        // A signature ends a thinking block (Anthropic signs at its end): more text is a new block.
        if let Some(index) = self.open_reasoning
            && matches!(self.items.get(index), Some(Item { body: ItemBody::Reasoning { encrypted: Some(_), .. }, .. }))
        {
            self.close(index, out);
        }
        let index = match self.open_reasoning {
            Some(index) => index,
            None => {
                let index = self.open(Item::reasoning(None), out);
                self.open_reasoning = Some(index);
                index
            }
        };
        let Some(item) = self.items.get_mut(index) else { return };
        let id = item.id.clone();
        let ItemBody::Reasoning { text: all, part_open, .. } = &mut item.body else { return };
        all.push_str(text);
        let first = !std::mem::replace(part_open, true);
        if first {
            let part = json!({"type": "summary_text", "text": ""});
            let data = json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part});
            self.emit("response.reasoning_summary_part.added", data, out);
        }
        let data = json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text});
        self.emit("response.reasoning_summary_text.delta", data, out);
    }

    /// A signature: on the open reasoning item, or (Gemini's signature before a text or call part) on a new one.
    fn signature(&mut self, signature: &str, out: &mut Vec<SseEvent>) {
        if let Some(index) = self.open_message {
            self.close(index, out);
        }
        if let Some(index) = self.open_reasoning
            && let Some(Item { body: ItemBody::Reasoning { encrypted: slot @ None, .. }, .. }) =
                self.items.get_mut(index)
        {
            *slot = Some(encrypted_content(signature));
            return;
        }
        if let Some(index) = self.open_reasoning {
            self.close(index, out);
        }
        let index = self.open(Item::reasoning(Some(encrypted_content(signature))), out);
        self.open_reasoning = Some(index);
    }

    /// The output index of the unfinished call with this neutral index.
    fn live_call(&self, call: u32) -> Option<usize> {
        self.items
            .iter()
            .rposition(|item| !item.done && matches!(item.body, ItemBody::Call { index, .. } if index == call))
    }

    fn arguments(&mut self, call: u32, arguments: &str, out: &mut Vec<SseEvent>) {
        let Some(index) = self.live_call(call) else {
            tracing::warn!(index = call, "dropping arguments for a tool call that was not started or is finished");
            return;
        };
        if arguments.is_empty() {
            return;
        }
        let Some(item) = self.items.get_mut(index) else { return };
        if let ItemBody::Call { arguments: all, .. } = &mut item.body {
            all.push_str(arguments);
        }
        let data = json!({"item_id": item.id, "output_index": index, "delta": arguments});
        self.emit("response.function_call_arguments.delta", data, out);
    }

    /// Closes every item and sends `response.completed` (or `response.incomplete`), once.
    fn end(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.close_all(out);
        let (status, incomplete) = status_of(self.stop.as_ref());
        let mut response = self.response(status);
        response["incomplete_details"] = incomplete;
        let name = if status == "completed" { "response.completed" } else { "response.incomplete" };
        self.emit(name, json!({"response": response}), out);
    }

    /// `response.failed`, with the items finished so far; open items stay unfinished (see the module docs).
    fn fail(&mut self, message: &str, kind: &str, out: &mut Vec<SseEvent>) {
        self.ended = true;
        let mut response = self.response("failed");
        response["error"] = json!({"code": error_code(kind), "message": message});
        self.emit("response.failed", json!({"response": response}), out);
    }
}

/// A Responses error code for a neutral error kind; clients (Codex) act on the first three.
fn error_code(kind: &str) -> &'static str {
    match kind {
        k if k.contains("rate_limit") => "rate_limit_exceeded",
        "context_length_exceeded" => "context_length_exceeded",
        "insufficient_quota" => "insufficient_quota",
        _ => "server_error",
    }
}

#[cfg(test)]
#[path = "tests/responses.rs"]
mod tests;
