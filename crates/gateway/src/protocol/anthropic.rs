//! Anthropic Messages (`POST /v1/messages`): requests, responses and named stream events, to and from the neutral
//! form.
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - Usage: Anthropic's `input_tokens` excludes cache reads and writes; the neutral `input` includes them
//!   (`input_tokens + cache_read_input_tokens + cache_creation_input_tokens`). Encoding subtracts them again.
//! - Tool input is an object here but JSON text in the neutral form: decoding serializes it, encoding parses it
//!   (text that is empty, not JSON, or not an object becomes `{}`).
//! - Requests sent upstream (`encode_request`):
//!   - `max_tokens` is required: the client's, else [`DEFAULT_MAX_TOKENS`].
//!   - Thinking on → `thinking: {type: "enabled", budget_tokens}` (the client's budget, else one from its effort,
//!     else 4096; at least 1024), `max_tokens` raised to `budget + DEFAULT_MAX_TOKENS` when not above the budget,
//!     and `temperature` / `top_k` left out (Anthropic rejects them with thinking; `top_p` only from 0.95 up).
//!     A forced tool choice (`any` / `tool`) cannot be combined with thinking, so thinking is left off then.
//!   - Turns must alternate starting with `user`: consecutive same-role messages merge (tool results first in a user
//!     turn), empty messages are dropped, and a leading assistant turn gets a `(continue)` user turn before it.
//!   - Thinking without an Anthropic signature (none, or another provider's) is dropped: Anthropic rejects it.
//!     Empty text is dropped.
//!   - JSON mode: `json_object` / `json_schema` from other clients become an extra system block asking for a single
//!     JSON value (with the schema); the structured-outputs field is beta and not every model takes it. A client's
//!     own `output_format` / `output_config.format` is read as a JSON schema for the other upstreams. `n`, `seed` and the penalties have no form and
//!     are ignored; `temperature` is clamped to Anthropic's 0..=1.
//!   - Tool `strict` is not sent (not every model accepts it).
//! - A response's `created` is 0 (Anthropic does not say); the OpenAI encoder writes the current time for it.
//! - Unknown fields and unknown content-block types are ignored, as are server tools (`type` other than `custom`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::neutral::{
    CacheHint, ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    Signature, StopReason, StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
};
use super::openai_chat::{
    as_object, count, decode_cache, field, fill_tool_result_names, get_array, get_bool, get_f64, get_object, get_str,
    get_u32, join, kind_of, required, text_of,
};
use super::{ProtocolError, SseEvent};

/// `max_tokens` for an upstream request when the client gave none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// The thinking budget when the client asked for thinking without a budget or an effort.
const DEFAULT_THINKING_BUDGET: u32 = 4096;

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

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
fn decode_blocks(value: Option<&Value>, path: &str) -> Result<Vec<Part>, ProtocolError> {
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
fn encode_block(part: &Part) -> Option<Value> {
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

// ---------------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------------

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
fn decode_usage(usage: &Map<String, Value>) -> Usage {
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

fn encode_usage(usage: &Usage) -> Value {
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

// ---------------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------------

/// Upstream events → neutral events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Block index → the neutral tool index, for `tool_use` blocks.
    tool_blocks: HashMap<u64, u32>,
    next_tool: u32,
    usage: Usage,
    usage_sent: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The usage reported so far (the prompt's, from `message_start`), for a stream that broke before its end.
    pub fn usage_so_far(&self) -> Option<Usage> {
        (self.usage != Usage::default()).then_some(self.usage)
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("the upstream sent a stream event that is not JSON: {e}")))?;
        let payload = as_object(&value, "")?;
        let kind = field(payload, "type").and_then(Value::as_str).or(event.event.as_deref()).unwrap_or_default();
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                let message = field(payload, "message").and_then(Value::as_object);
                if let Some(usage) = message.and_then(|m| field(m, "usage")).and_then(Value::as_object) {
                    self.usage = decode_usage(usage);
                }
                out.push(StreamEvent::Start {
                    id: message.map(|m| text_of(m, "id")).unwrap_or_default(),
                    model: message.map(|m| text_of(m, "model")).unwrap_or_default(),
                    created: 0,
                });
            }
            "content_block_start" => {
                let index = field(payload, "index").and_then(Value::as_u64).unwrap_or(0);
                let Some(block) = field(payload, "content_block").and_then(Value::as_object) else { return Ok(out) };
                match field(block, "type").and_then(Value::as_str).unwrap_or_default() {
                    "text" => {
                        let text = text_of(block, "text");
                        if !text.is_empty() {
                            out.push(StreamEvent::TextDelta { choice: 0, text });
                        }
                    }
                    "thinking" => {
                        let text = text_of(block, "thinking");
                        if !text.is_empty() {
                            out.push(StreamEvent::ThinkingDelta { choice: 0, text });
                        }
                    }
                    "redacted_thinking" => {
                        out.push(StreamEvent::RedactedThinking { choice: 0, data: text_of(block, "data") });
                    }
                    "tool_use" => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.tool_blocks.insert(index, tool);
                        out.push(StreamEvent::ToolCallStart {
                            choice: 0,
                            index: tool,
                            id: text_of(block, "id"),
                            name: text_of(block, "name"),
                        });
                        // The input normally streams as deltas after an empty `{}`.
                        if let Some(input) = field(block, "input").and_then(Value::as_object)
                            && !input.is_empty()
                        {
                            let arguments = Value::Object(input.clone()).to_string();
                            out.push(StreamEvent::ToolCallDelta { choice: 0, index: tool, arguments });
                        }
                    }
                    other => tracing::debug!(kind = other, "skipping an unsupported content block"),
                }
            }
            "content_block_delta" => {
                let index = field(payload, "index").and_then(Value::as_u64).unwrap_or(0);
                let Some(delta) = field(payload, "delta").and_then(Value::as_object) else { return Ok(out) };
                match field(delta, "type").and_then(Value::as_str).unwrap_or_default() {
                    "text_delta" => out.push(StreamEvent::TextDelta { choice: 0, text: text_of(delta, "text") }),
                    "thinking_delta" => {
                        out.push(StreamEvent::ThinkingDelta { choice: 0, text: text_of(delta, "thinking") })
                    }
                    "signature_delta" => {
                        out.push(StreamEvent::ThinkingSignature { choice: 0, signature: text_of(delta, "signature") })
                    }
                    "input_json_delta" => {
                        let arguments = text_of(delta, "partial_json");
                        if let Some(&tool) = self.tool_blocks.get(&index)
                            && !arguments.is_empty()
                        {
                            out.push(StreamEvent::ToolCallDelta { choice: 0, index: tool, arguments });
                        }
                    }
                    other => tracing::debug!(kind = other, "skipping an unsupported delta"),
                }
            }
            "message_delta" => {
                if let Some(delta) = field(payload, "delta").and_then(Value::as_object)
                    && let Some(reason) = field(delta, "stop_reason").and_then(Value::as_str)
                {
                    let sequence = field(delta, "stop_sequence").and_then(Value::as_str);
                    out.push(StreamEvent::Stop { choice: 0, reason: stop_reason(reason, sequence) });
                }
                if let Some(usage) = field(payload, "usage").and_then(Value::as_object) {
                    // Cumulative counts; the input side is repeated here by newer API versions.
                    self.usage.output = count(usage, "output_tokens");
                    if ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]
                        .iter()
                        .any(|k| field(usage, k).is_some())
                    {
                        let input = decode_usage(usage);
                        self.usage.input = input.input.max(self.usage.input);
                        self.usage.cached_input = input.cached_input.max(self.usage.cached_input);
                        self.usage.cache_write = input.cache_write.max(self.usage.cache_write);
                    }
                }
                self.usage_sent = true;
                out.push(StreamEvent::Usage { usage: self.usage, cost_usd: None });
            }
            "message_stop" if !self.usage_sent => {
                self.usage_sent = true;
                out.push(StreamEvent::Usage { usage: self.usage, cost_usd: None });
            }
            "error" => {
                let error = field(payload, "error").and_then(Value::as_object);
                out.push(StreamEvent::Error {
                    message: error.map(|e| text_of(e, "message")).unwrap_or_else(|| "upstream error".to_owned()),
                    kind: error.map(|e| text_of(e, "type")).filter(|k| !k.is_empty()).unwrap_or("api_error".into()),
                });
            }
            // `ping`, `content_block_stop` and anything newer.
            _ => {}
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// A `tool_use` block, with its neutral tool index.
    Tool(u32),
}

/// A tool call started while another tool block was still open; sent whole when the run of tool calls ends.
#[derive(Debug)]
struct HeldCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// Neutral events → client events.
///
/// Anthropic blocks are sequential, while an OpenAI-style upstream may interleave the argument fragments of
/// parallel calls. So the first call of a run streams live and calls that start while it is open are held and sent
/// whole (start, one `input_json_delta`, stop) when the run ends: at text, thinking, the stop or the end.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    started: bool,
    /// The open block: its index and kind.
    open: Option<(u64, BlockKind)>,
    next_block: u64,
    held: Vec<HeldCall>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    ended: bool,
}

impl StreamEncoder {
    /// `include_usage` is ignored: Anthropic streams always report usage.
    pub fn new(_include_usage: bool) -> Self {
        StreamEncoder {
            id: String::new(),
            model: String::new(),
            started: false,
            open: None,
            next_block: 0,
            held: Vec::new(),
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
        if let StreamEvent::Start { id, model, .. } = event {
            self.id.clone_from(id);
            self.model.clone_from(model);
        }
        self.start(&mut out);
        match event {
            StreamEvent::Start { .. } => {}
            StreamEvent::TextDelta { choice: 0, text } => {
                self.ensure_open(BlockKind::Text, &mut out);
                self.delta(json!({"type": "text_delta", "text": text}), &mut out);
            }
            StreamEvent::ThinkingDelta { choice: 0, text } => {
                self.ensure_open(BlockKind::Thinking, &mut out);
                self.delta(json!({"type": "thinking_delta", "thinking": text}), &mut out);
            }
            StreamEvent::ThinkingSignature { choice: 0, signature } => {
                self.ensure_open(BlockKind::Thinking, &mut out);
                self.delta(json!({"type": "signature_delta", "signature": signature}), &mut out);
            }
            StreamEvent::RedactedThinking { choice: 0, data } => {
                self.close(&mut out);
                let index = self.next_block;
                self.next_block += 1;
                let block = json!({"type": "redacted_thinking", "data": data});
                out.push(named(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": block}),
                ));
                out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
            }
            StreamEvent::ToolCallStart { choice: 0, index, id, name } => match self.open {
                Some((_, BlockKind::Tool(_))) => self.held.push(HeldCall {
                    index: *index,
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                }),
                _ => {
                    self.close(&mut out);
                    self.open_tool(*index, id, name, &mut out);
                }
            },
            StreamEvent::ToolCallDelta { choice: 0, index, arguments } => {
                if matches!(self.open, Some((_, BlockKind::Tool(open))) if open == *index) {
                    self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), &mut out);
                } else if let Some(held) = self.held.iter_mut().find(|c| c.index == *index) {
                    held.arguments.push_str(arguments);
                } else {
                    tracing::warn!(index, "dropping arguments for a tool call whose block was already closed");
                }
            }
            StreamEvent::Stop { choice: 0, reason } => {
                self.close(&mut out);
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
            StreamEvent::Error { message, .. } => {
                // The error ends the stream, as Anthropic's own in-band errors do.
                self.ended = true;
                let body = json!({"type": "error", "error": {"type": "api_error", "message": message}});
                out.push(named("error", body));
            }
            // Anthropic has a single choice.
            _ => {}
        }
        out
    }

    /// Whatever closing events have not been sent: the open block, `message_delta` and `message_stop`.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.ended {
            self.start(&mut out);
            self.close(&mut out);
            self.end(&mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let message = json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        out.push(named("message_start", json!({"type": "message_start", "message": message})));
    }

    fn ensure_open(&mut self, kind: BlockKind, out: &mut Vec<SseEvent>) {
        if self.open.is_some_and(|(_, open)| open == kind) {
            return;
        }
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        let block = match kind {
            BlockKind::Thinking => json!({"type": "thinking", "thinking": ""}),
            _ => json!({"type": "text", "text": ""}),
        };
        out.push(named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
    }

    fn open_tool(&mut self, tool: u32, id: &str, name: &str, out: &mut Vec<SseEvent>) {
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, BlockKind::Tool(tool)));
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        out.push(named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
    }

    fn delta(&self, delta: Value, out: &mut Vec<SseEvent>) {
        if let Some((index, _)) = self.open {
            out.push(named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
    }

    /// Closes the open block, then sends any held tool calls whole.
    fn close(&mut self, out: &mut Vec<SseEvent>) {
        if let Some((index, _)) = self.open.take() {
            out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        }
        for call in std::mem::take(&mut self.held) {
            self.open_tool(call.index, &call.id, &call.name, out);
            if !call.arguments.is_empty() {
                self.delta(json!({"type": "input_json_delta", "partial_json": call.arguments}), out);
            }
            if let Some((index, _)) = self.open.take() {
                out.push(named("content_block_stop", json!({"type": "content_block_stop", "index": index})));
            }
        }
    }

    /// `message_delta` (stop and usage) and `message_stop`, once.
    fn end(&mut self, out: &mut Vec<SseEvent>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let (reason, sequence) = encode_stop(self.stop.as_ref().unwrap_or(&StopReason::EndTurn));
        let body = json!({
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": encode_usage(&self.usage.unwrap_or_default()),
        });
        out.push(named("message_delta", body));
        out.push(named("message_stop", json!({"type": "message_stop"})));
    }
}

fn named(event: &str, data: Value) -> SseEvent {
    SseEvent { event: Some(event.to_owned()), data: data.to_string() }
}

#[cfg(test)]
#[path = "tests/anthropic.rs"]
mod tests;
