//! Client requests: a Responses body to the neutral [`ChatRequest`] (see the module docs of [`super`]).

use serde_json::{Map, Value, json};

use super::{ANTHROPIC_PREFIX, REDACTED_PREFIX, wrong_type};
use crate::protocol::ProtocolError;
use crate::protocol::fields::{
    as_object, field, fill_tool_result_names, get_array, get_bool, get_f64, get_object, get_str, get_u32, join,
    required,
};
use crate::protocol::neutral::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature, SystemBlock, Tool, ToolChoice,
};
use crate::protocol::openai_chat::tool_choice_mode;

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
        Some(Value::String(mode)) => Some(tool_choice_mode(mode)?),
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
