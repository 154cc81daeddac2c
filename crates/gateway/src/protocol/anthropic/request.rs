//! Requests: a client's messages body to the neutral [`ChatRequest`], and the neutral form to an upstream's body
//! (see the module docs of [`super`]).

use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX_TOKENS, DEFAULT_THINKING_BUDGET, MIN_THINKING_BUDGET};
use crate::protocol::ProtocolError;
use crate::protocol::fields::{
    as_object, decode_cache, field, fill_tool_result_names, get_array, get_bool, get_f64, get_object, get_str, get_u32,
    join, kind_of, required,
};
use crate::protocol::neutral::{
    CacheHint, ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature, SystemBlock, Tool,
    ToolChoice,
};

/// Reads a client's messages body.
pub fn decode_request(body: &Value) -> Result<ChatRequest, ProtocolError> {
    let root = as_object(body, "")?;
    let mut request =
        ChatRequest { model: get_str(root, "model", "")?.unwrap_or_default().to_owned(), ..ChatRequest::default() };

    request.system = decode_system(field(root, "system"), "system")?;
    let messages = required(get_array(root, "messages", "")?, "", "messages")?;
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let message = as_object(message, &path)?;
        let role = required(get_str(message, "role", &path)?, &path, "role")?;
        let content_path = join(&path, "content");
        let role = match role {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            // Claude Code sends this for model names it does not know.
            "system" => {
                request.system.extend(decode_system(field(message, "content"), &content_path)?);
                continue;
            }
            other => {
                return Err(ProtocolError::at(
                    join(&path, "role"),
                    format!("unknown role `{other}`; expected user or assistant"),
                ));
            }
        };
        let content = decode_blocks(field(message, "content"), &content_path)?;
        request.messages.push(Message { role, content });
    }
    fill_tool_result_names(&mut request.messages);

    if let Some(tools) = get_array(root, "tools", "")? {
        for (i, tool) in tools.iter().enumerate() {
            let path = format!("tools[{i}]");
            let tool = as_object(tool, &path)?;
            // Server tools (`web_search_20250305`, `bash_20250124`, …) run at Anthropic: skipped, not refused.
            if let Some(kind) = get_str(tool, "type", &path)?
                && kind != "custom"
            {
                tracing::debug!(param = %path, kind, "skipping a server tool");
                continue;
            }
            let parameters = match field(tool, "input_schema") {
                None => json!({"type": "object", "properties": {}}),
                Some(schema @ Value::Object(_)) => schema.clone(),
                Some(other) => {
                    return Err(ProtocolError::at(
                        join(&path, "input_schema"),
                        format!("`input_schema` must be an object, not {}", kind_of(other)),
                    ));
                }
            };
            request.tools.push(Tool {
                name: required(get_str(tool, "name", &path)?, &path, "name")?.to_owned(),
                description: get_str(tool, "description", &path)?.map(str::to_owned),
                parameters,
                strict: get_bool(tool, "strict", &path)?,
                cache: decode_cache(tool, &path)?,
            });
        }
    }
    if let Some(choice) = get_object(root, "tool_choice", "")? {
        request.tool_choice = Some(match required(get_str(choice, "type", "tool_choice")?, "tool_choice", "type")? {
            "auto" => ToolChoice::Auto,
            "any" => ToolChoice::Required,
            "none" => ToolChoice::None,
            "tool" => {
                ToolChoice::Named(required(get_str(choice, "name", "tool_choice")?, "tool_choice", "name")?.into())
            }
            other => {
                return Err(ProtocolError::at(
                    "tool_choice.type",
                    format!("unknown tool_choice type `{other}`; expected auto, any, tool or none"),
                ));
            }
        });
        if get_bool(choice, "disable_parallel_tool_use", "tool_choice")? == Some(true) {
            request.parallel_tool_calls = Some(false);
        }
    }
    request.max_tokens = get_u32(root, "max_tokens", "")?;
    request.temperature = get_f64(root, "temperature", "")?;
    request.top_p = get_f64(root, "top_p", "")?;
    request.top_k = get_u32(root, "top_k", "")?;
    if let Some(stops) = get_array(root, "stop_sequences", "")? {
        for (i, stop) in stops.iter().enumerate() {
            let Some(stop) = stop.as_str() else {
                return Err(ProtocolError::at(
                    format!("stop_sequences[{i}]"),
                    format!("each stop sequence must be a string, not {}", kind_of(stop)),
                ));
            };
            request.stop.push(stop.to_owned());
        }
    }
    if let Some(thinking) = get_object(root, "thinking", "")? {
        let enabled = match required(get_str(thinking, "type", "thinking")?, "thinking", "type")? {
            "enabled" | "adaptive" => true,
            "disabled" => false,
            other => {
                return Err(ProtocolError::at(
                    "thinking.type",
                    format!("unknown thinking type `{other}`; expected enabled, adaptive or disabled"),
                ));
            }
        };
        // Claude Code sends its effort level beside adaptive thinking.
        let effort = match get_object(root, "output_config", "")? {
            Some(config) => get_str(config, "effort", "output_config")?.map(str::to_owned),
            None => None,
        };
        request.reasoning =
            Some(Reasoning { effort, budget_tokens: get_u32(thinking, "budget_tokens", "thinking")?, enabled });
    }
    request.response_format = decode_output_format(root)?;
    request.stream = get_bool(root, "stream", "")?.unwrap_or(false);
    // Anthropic streams always carry usage.
    request.stream_usage = request.stream;
    if let Some(metadata) = get_object(root, "metadata", "")? {
        request.user = get_str(metadata, "user_id", "metadata")?.map(str::to_owned);
    }
    Ok(request)
}

/// Moves `role: "system"` messages (Claude Code sends one for model names it does not know) into the top-level
/// `system` blocks, in order, so a passthrough body is one the Anthropic API accepts. Everything else is untouched.
pub fn lift_system_messages(body: &mut Value) {
    let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) else { return };
    if !messages.iter().any(|m| m["role"] == "system") {
        return;
    }
    let mut lifted = Vec::new();
    messages.retain(|message| {
        if message["role"] != "system" {
            return true;
        }
        match &message["content"] {
            Value::String(text) => lifted.push(json!({"type": "text", "text": text})),
            Value::Array(blocks) => lifted.extend(blocks.iter().filter(|b| b["type"] == "text").cloned()),
            _ => {}
        }
        false
    });
    let system = match body.get_mut("system").map(Value::take) {
        Some(Value::String(text)) if !text.is_empty() => vec![json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => blocks,
        _ => Vec::new(),
    };
    body["system"] = Value::Array(system.into_iter().chain(lifted).collect());
}

/// Structured outputs: `output_format` (the beta) or `output_config.format`, `{"type": "json_schema", "schema"}`.
fn decode_output_format(root: &Map<String, Value>) -> Result<Option<ResponseFormat>, ProtocolError> {
    let (format, path) = match get_object(root, "output_format", "")? {
        Some(format) => (format, "output_format"),
        None => match get_object(root, "output_config", "")? {
            Some(config) => match get_object(config, "format", "output_config")? {
                Some(format) => (format, "output_config.format"),
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    match required(get_str(format, "type", path)?, path, "type")? {
        "json_schema" => {
            let schema = match field(format, "schema") {
                Some(schema @ Value::Object(_)) => schema.clone(),
                Some(other) => {
                    return Err(ProtocolError::at(
                        join(path, "schema"),
                        format!("`schema` must be an object, not {}", kind_of(other)),
                    ));
                }
                None => return Err(ProtocolError::at(join(path, "schema"), "`schema` is required for json_schema")),
            };
            Ok(Some(ResponseFormat::JsonSchema {
                name: "output".to_owned(),
                schema,
                strict: Some(true),
                description: None,
            }))
        }
        other => {
            Err(ProtocolError::at(join(path, "type"), format!("unknown output format `{other}`; expected json_schema")))
        }
    }
}

/// `system` (or a system message's `content`): a string or an array of text blocks.
fn decode_system(value: Option<&Value>, path: &str) -> Result<Vec<SystemBlock>, ProtocolError> {
    Ok(decode_blocks(value, path)?
        .into_iter()
        .filter_map(|part| match part {
            Part::Text { text, cache } => Some(SystemBlock { text, cache }),
            _ => None,
        })
        .collect())
}

/// A message's `content`: a string or an array of content blocks (unknown block types are skipped).
pub(super) fn decode_blocks(value: Option<&Value>, path: &str) -> Result<Vec<Part>, ProtocolError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => return Ok(vec![Part::Text { text: s.clone(), cache: None }]),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ProtocolError::at(
                path,
                format!("`content` must be a string or an array of content blocks, not {}", kind_of(other)),
            ));
        }
    };
    let mut parts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let block_path = format!("{path}[{i}]");
        let block = as_object(item, &block_path)?;
        let part = match required(get_str(block, "type", &block_path)?, &block_path, "type")? {
            "text" => Part::Text {
                text: required(get_str(block, "text", &block_path)?, &block_path, "text")?.to_owned(),
                cache: decode_cache(block, &block_path)?,
            },
            "image" => Part::Image {
                source: decode_image_source(block, &block_path)?,
                detail: None,
                cache: decode_cache(block, &block_path)?,
            },
            "tool_use" => Part::ToolCall {
                id: required(get_str(block, "id", &block_path)?, &block_path, "id")?.to_owned(),
                name: required(get_str(block, "name", &block_path)?, &block_path, "name")?.to_owned(),
                arguments: match field(block, "input") {
                    None => "{}".to_owned(),
                    Some(input @ Value::Object(_)) => input.to_string(),
                    Some(other) => {
                        return Err(ProtocolError::at(
                            join(&block_path, "input"),
                            format!("`input` must be an object, not {}", kind_of(other)),
                        ));
                    }
                },
            },
            "tool_result" => {
                let content_path = join(&block_path, "content");
                Part::ToolResult {
                    call_id: required(get_str(block, "tool_use_id", &block_path)?, &block_path, "tool_use_id")?
                        .to_owned(),
                    name: None,
                    content: decode_blocks(field(block, "content"), &content_path)?
                        .into_iter()
                        .filter(|p| matches!(p, Part::Text { .. } | Part::Image { .. }))
                        .collect(),
                    is_error: get_bool(block, "is_error", &block_path)?.unwrap_or(false),
                    cache: decode_cache(block, &block_path)?,
                }
            }
            "thinking" => Part::Thinking {
                text: get_str(block, "thinking", &block_path)?.unwrap_or_default().to_owned(),
                signature: get_str(block, "signature", &block_path)?.map(str::to_owned),
            },
            "redacted_thinking" => Part::RedactedThinking {
                data: required(get_str(block, "data", &block_path)?, &block_path, "data")?.to_owned(),
            },
            other => {
                tracing::debug!(param = %block_path, kind = other, "skipping an unsupported content block");
                continue;
            }
        };
        parts.push(part);
    }
    Ok(parts)
}

fn decode_image_source(block: &Map<String, Value>, path: &str) -> Result<ImageSource, ProtocolError> {
    let source = required(get_object(block, "source", path)?, path, "source")?;
    let source_path = join(path, "source");
    match required(get_str(source, "type", &source_path)?, &source_path, "type")? {
        "base64" => Ok(ImageSource::Base64 {
            media_type: required(get_str(source, "media_type", &source_path)?, &source_path, "media_type")?.to_owned(),
            data: required(get_str(source, "data", &source_path)?, &source_path, "data")?.to_owned(),
        }),
        "url" => Ok(ImageSource::Url(required(get_str(source, "url", &source_path)?, &source_path, "url")?.to_owned())),
        other => Err(ProtocolError::at(
            join(&source_path, "type"),
            format!("unsupported image source type `{other}`; expected base64 or url"),
        )),
    }
}

fn encode_cache(cache: &Option<CacheHint>, block: &mut Value) {
    if let Some(cache) = cache {
        let mut control = json!({"type": cache.kind});
        if let Some(ttl) = &cache.ttl {
            control["ttl"] = json!(ttl);
        }
        block["cache_control"] = control;
    }
}

/// The `input` object for a neutral call's arguments text.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => json!({}),
    }
}

fn encode_image_source(source: &ImageSource) -> Value {
    match source {
        ImageSource::Base64 { media_type, data } => json!({"type": "base64", "media_type": media_type, "data": data}),
        ImageSource::Url(url) => json!({"type": "url", "url": url}),
    }
}

/// One neutral part as an Anthropic content block; `None` for parts Anthropic would reject.
pub(super) fn encode_block(part: &Part) -> Option<Value> {
    Some(match part {
        Part::Text { text, .. } if text.is_empty() => return None,
        Part::Text { text, cache } => {
            let mut block = json!({"type": "text", "text": text});
            encode_cache(cache, &mut block);
            block
        }
        Part::Image { source, cache, .. } => {
            let mut block = json!({"type": "image", "source": encode_image_source(source)});
            encode_cache(cache, &mut block);
            block
        }
        Part::ToolCall { id, name, arguments } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": tool_input(arguments)})
        }
        Part::ToolResult { call_id, content, is_error, cache, .. } => {
            let mut block = json!({"type": "tool_result", "tool_use_id": call_id});
            let content: Vec<Value> = content.iter().filter_map(encode_block).collect();
            if !content.is_empty() {
                block["content"] = Value::Array(content);
            }
            if *is_error {
                block["is_error"] = json!(true);
            }
            encode_cache(cache, &mut block);
            block
        }
        // Anthropic checks signatures: thinking from another provider cannot be sent.
        Part::Thinking { signature: None, .. } => return None,
        Part::Thinking { signature: Some(signature), .. }
            if Signature::of(signature) != Signature::Anthropic(signature) =>
        {
            return None;
        }
        Part::Thinking { text, signature: Some(signature) } => {
            json!({"type": "thinking", "thinking": text, "signature": signature})
        }
        Part::RedactedThinking { data } => json!({"type": "redacted_thinking", "data": data}),
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The instruction that stands in for JSON mode (see the module docs).
fn json_mode_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(
            "Respond with a single valid JSON object and nothing else: no prose, no Markdown code fences.".to_owned(),
        ),
        ResponseFormat::JsonSchema { name, schema, description, .. } => {
            let mut text = format!(
                "Respond with a single valid JSON value and nothing else (no prose, no Markdown code fences). It must \
                 conform to this JSON Schema, named \"{name}\""
            );
            if let Some(description) = description {
                text.push_str(&format!(" ({description})"));
            }
            text.push_str(&format!(":\n{schema}"));
            Some(text)
        }
    }
}

/// Writes a messages body for an Anthropic upstream.
pub fn encode_request(request: &ChatRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));

    // Thinking, unless the client forces a tool (Anthropic refuses the two together).
    let forced_tool =
        !request.tools.is_empty() && matches!(request.tool_choice, Some(ToolChoice::Required | ToolChoice::Named(_)));
    let thinking_budget = match &request.reasoning {
        Some(reasoning) if reasoning.enabled && !forced_tool => {
            Some(reasoning.budget_or(DEFAULT_THINKING_BUDGET).max(MIN_THINKING_BUDGET))
        }
        _ => None,
    };
    let mut max_tokens = request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if let Some(budget) = thinking_budget
        && max_tokens <= budget
    {
        max_tokens = budget.saturating_add(DEFAULT_MAX_TOKENS);
    }
    body.insert("max_tokens".into(), json!(max_tokens));

    let mut system: Vec<Value> = request
        .system
        .iter()
        .filter(|b| !b.text.is_empty())
        .map(|b| {
            let mut block = json!({"type": "text", "text": b.text});
            encode_cache(&b.cache, &mut block);
            block
        })
        .collect();
    if let Some(instruction) = request.response_format.as_ref().and_then(json_mode_instruction) {
        system.push(json!({"type": "text", "text": instruction}));
    }
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    body.insert("messages".into(), Value::Array(encode_messages(&request.messages)));

    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                let mut out = json!({"name": tool.name, "input_schema": tool.parameters});
                if let Some(description) = &tool.description {
                    out["description"] = json!(description);
                }
                encode_cache(&tool.cache, &mut out);
                out
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        let mut choice = match &request.tool_choice {
            Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
            Some(ToolChoice::None) => Some(json!({"type": "none"})),
            Some(ToolChoice::Required) => Some(json!({"type": "any"})),
            Some(ToolChoice::Named(name)) => Some(json!({"type": "tool", "name": name})),
            None => None,
        };
        if request.parallel_tool_calls == Some(false) && request.tool_choice != Some(ToolChoice::None) {
            choice.get_or_insert_with(|| json!({"type": "auto"}))["disable_parallel_tool_use"] = json!(true);
        }
        if let Some(choice) = choice {
            body.insert("tool_choice".into(), choice);
        }
    }
    match (thinking_budget, &request.reasoning) {
        (Some(budget), _) => {
            body.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": budget}));
            if let Some(top_p) = request.top_p.filter(|p| *p >= 0.95) {
                body.insert("top_p".into(), json!(top_p));
            }
        }
        (None, reasoning) => {
            if reasoning.as_ref().is_some_and(|r| !r.enabled) {
                body.insert("thinking".into(), json!({"type": "disabled"}));
            }
            if let Some(temperature) = request.temperature {
                body.insert("temperature".into(), json!(temperature.clamp(0.0, 1.0)));
            }
            if let Some(top_p) = request.top_p {
                body.insert("top_p".into(), json!(top_p));
            }
            if let Some(top_k) = request.top_k {
                body.insert("top_k".into(), json!(top_k));
            }
        }
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    Value::Object(body)
}

/// Alternating turns starting with `user` (see the module docs).
fn encode_messages(messages: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::new();
    for message in messages {
        let blocks: Vec<Value> = message.content.iter().filter_map(encode_block).collect();
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((role, content)) if *role == message.role => content.extend(blocks),
            _ => turns.push((message.role, blocks)),
        }
    }
    if turns.first().is_some_and(|(role, _)| *role == Role::Assistant) {
        turns.insert(0, (Role::User, vec![json!({"type": "text", "text": "(continue)"})]));
    }
    turns
        .into_iter()
        .map(|(role, mut content)| {
            // Tool results lead a user turn.
            content.sort_by_key(|block| block["type"] != "tool_result");
            json!({"role": role_name(role), "content": content})
        })
        .collect()
}
