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
//!   - Thinking without a signature (from other providers) is dropped: Anthropic rejects it. Empty text is dropped.
//!   - JSON mode: this API version has no response-format field, so `json_object` / `json_schema` become an extra
//!     system block asking for a single JSON value (with the schema). `n`, `seed` and the penalties have no form and
//!     are ignored; `temperature` is clamped to Anthropic's 0..=1.
//!   - Tool `strict` is not sent (not every model accepts it).
//! - A response's `created` is 0 (Anthropic does not say); the OpenAI encoder writes the current time for it.
//! - Unknown fields and unknown content-block types are ignored, as are server tools (`type` other than `custom`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::neutral::{
    CacheHint, ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
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
    request.stream = get_bool(root, "stream", "")?.unwrap_or(false);
    // Anthropic streams always carry usage.
    request.stream_usage = request.stream;
    if let Some(metadata) = get_object(root, "metadata", "")? {
        request.user = get_str(metadata, "user_id", "metadata")?.map(str::to_owned);
    }
    Ok(request)
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
mod tests {
    use super::*;
    use crate::protocol::openai_chat;

    fn sse(text: &str) -> Vec<SseEvent> {
        text.split("\n\n")
            .filter(|frame| !frame.trim().is_empty())
            .map(|frame| {
                let mut event = SseEvent { event: None, data: String::new() };
                for line in frame.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.event = Some(name.to_owned());
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        event.data = data.to_owned();
                    }
                }
                event
            })
            .collect()
    }

    fn decode_all(events: &[SseEvent]) -> Vec<StreamEvent> {
        let mut decoder = StreamDecoder::new();
        events.iter().flat_map(|e| decoder.decode(e).unwrap()).collect()
    }

    fn encode_all(events: &[StreamEvent]) -> Vec<SseEvent> {
        let mut encoder = StreamEncoder::new(true);
        let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
        out.extend(encoder.finish());
        assert!(encoder.finish().is_empty(), "closing events once");
        out
    }

    fn text(t: &str) -> Part {
        Part::Text { text: t.into(), cache: None }
    }

    fn ephemeral() -> Option<CacheHint> {
        Some(CacheHint { kind: "ephemeral".into(), ttl: None })
    }

    /// Checks the event grammar: message_start, then well-nested blocks with sequential indexes, then
    /// message_delta and message_stop (or an error). Returns the event names.
    fn assert_well_formed(events: &[SseEvent]) -> Vec<String> {
        let names: Vec<String> = events.iter().map(|e| e.event.clone().unwrap()).collect();
        assert_eq!(names[0], "message_start");
        let mut open: Option<u64> = None;
        let mut next = 0;
        for (name, event) in names.iter().zip(events) {
            let data: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(data["type"], name.as_str(), "the data's type matches the event name");
            match name.as_str() {
                "content_block_start" => {
                    assert_eq!(open, None, "a block starts only when the previous one stopped");
                    assert_eq!(data["index"], next);
                    open = Some(next);
                    next += 1;
                }
                "content_block_delta" => assert_eq!(data["index"].as_u64(), open),
                "content_block_stop" => {
                    assert_eq!(data["index"].as_u64(), open);
                    open = None;
                }
                "message_delta" | "message_stop" | "error" => assert_eq!(open, None),
                _ => {}
            }
        }
        let tail = &names[names.len().saturating_sub(2)..];
        assert!(tail == ["message_delta", "message_stop"] || names.last().unwrap() == "error", "{names:?}");
        names
    }

    #[test]
    fn claude_code_shaped_request() {
        let body = json!({
            "model": "my-local-model",
            "max_tokens": 32000,
            "stream": true,
            "system": [
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                    "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Tool policy…", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ],
            "messages": [
                {"role": "system", "content": "Extra system note"},
                {"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                    {"type": "text", "text": "what's in the screenshot?", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Look at it.", "signature": "EqQBsig"},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy"},
                    {"type": "text", "text": "Reading it."},
                    {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/tmp/s.png"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                        {"type": "text", "text": "Image read"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                    ], "cache_control": {"type": "ephemeral"}},
                    {"type": "tool_result", "tool_use_id": "toolu_02", "content": "<tool_use_error>nope</tool_use_error>",
                        "is_error": true}
                ]}
            ],
            "tools": [
                {"name": "Read", "description": "Reads a file", "input_schema": {"type": "object",
                    "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}},
                {"name": "Bash", "description": "Runs a command", "input_schema": {"type": "object",
                    "properties": {"command": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
                {"type": "custom", "name": "Edit", "input_schema": {"type": "object"}}
            ],
            "tool_choice": {"type": "auto"},
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "metadata": {"user_id": "user_abc_account__session_123"}
        });
        let r = decode_request(&body).unwrap();
        assert_eq!(r.model, "my-local-model");
        assert_eq!(r.max_tokens, Some(32000));
        assert!(r.stream && r.stream_usage);
        assert_eq!(
            r.system,
            vec![
                SystemBlock { text: "x-anthropic-billing-header: cc_version=2.1".into(), cache: None },
                SystemBlock {
                    text: "You are Claude Code, Anthropic's official CLI for Claude.".into(),
                    cache: ephemeral()
                },
                SystemBlock {
                    text: "Tool policy…".into(),
                    cache: Some(CacheHint { kind: "ephemeral".into(), ttl: Some("1h".into()) })
                },
                SystemBlock { text: "Extra system note".into(), cache: None },
            ]
        );
        assert_eq!(r.messages.len(), 3);
        assert_eq!(
            r.messages[0].content[1],
            Part::Text { text: "what's in the screenshot?".into(), cache: ephemeral() }
        );
        assert_eq!(
            r.messages[1].content,
            vec![
                Part::Thinking { text: "Look at it.".into(), signature: Some("EqQBsig".into()) },
                Part::RedactedThinking { data: "EmwKAhgBEgy".into() },
                text("Reading it."),
                Part::ToolCall {
                    id: "toolu_01".into(),
                    name: "Read".into(),
                    arguments: r#"{"file_path":"/tmp/s.png"}"#.into()
                },
            ]
        );
        assert_eq!(
            r.messages[2].content,
            vec![
                Part::ToolResult {
                    call_id: "toolu_01".into(),
                    name: Some("Read".into()),
                    content: vec![
                        text("Image read"),
                        Part::Image {
                            source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
                            detail: None,
                            cache: None
                        },
                    ],
                    is_error: false,
                    cache: ephemeral(),
                },
                Part::ToolResult {
                    call_id: "toolu_02".into(),
                    name: None,
                    content: vec![text("<tool_use_error>nope</tool_use_error>")],
                    is_error: true,
                    cache: None,
                },
            ]
        );
        assert_eq!(r.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Read", "Bash", "Edit"]);
        assert_eq!(r.tools[1].cache, ephemeral());
        assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(r.reasoning, Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }));
        assert_eq!(r.user.as_deref(), Some("user_abc_account__session_123"));

        // The same request, sent on to an OpenAI-compatible upstream.
        let upstream = openai_chat::encode_request(&r);
        let messages = upstream["messages"].as_array().unwrap();
        assert!(messages[0]["content"].as_str().unwrap().ends_with("Extra system note"));
        assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], r#"{"file_path":"/tmp/s.png"}"#);
        assert_eq!(messages[3], json!({"role": "tool", "tool_call_id": "toolu_01", "content": "Image read"}));
        assert_eq!(messages[4]["content"], "Error: <tool_use_error>nope</tool_use_error>");
        assert_eq!(messages[5]["content"][0]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(upstream["reasoning_effort"], "high");
        assert_eq!(upstream["max_completion_tokens"], 32000);
    }

    #[test]
    fn request_fields_decode() {
        let body = json!({
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.3, "top_p": 0.9, "top_k": 40, "stop_sequences": ["\n\nHuman:", "END"],
            "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true},
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "image_url_test": {"ignored": true}
        });
        let r = decode_request(&body).unwrap();
        assert_eq!((r.temperature, r.top_p, r.top_k), (Some(0.3), Some(0.9), Some(40)));
        assert_eq!(r.stop, vec!["\n\nHuman:".to_owned(), "END".to_owned()]);
        assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.reasoning, Some(Reasoning { effort: None, budget_tokens: Some(2048), enabled: true }));
        assert_eq!(r.max_tokens, None);
        assert!(!r.stream);

        let table = [
            (json!({"type": "auto"}), ToolChoice::Auto),
            (json!({"type": "any"}), ToolChoice::Required),
            (json!({"type": "none"}), ToolChoice::None),
        ];
        for (wire, neutral) in table {
            let r = decode_request(&json!({"messages": [], "tool_choice": wire, "thinking": {"type": "disabled"}}))
                .unwrap();
            assert_eq!(r.tool_choice, Some(neutral));
            assert_eq!(r.parallel_tool_calls, None);
            assert!(!r.reasoning.unwrap().enabled);
        }
        let image = json!({"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "skipped"}}
        ]}]});
        assert_eq!(
            decode_request(&image).unwrap().messages[0].content,
            vec![Part::Image { source: ImageSource::Url("https://x/y.jpg".into()), detail: None, cache: None }]
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!("hi"), None),
            (json!({"model": "m"}), Some("messages")),
            (json!({"messages": "hi"}), Some("messages")),
            (json!({"messages": [], "max_tokens": "lots"}), Some("max_tokens")),
            (json!({"messages": [], "temperature": "warm"}), Some("temperature")),
            (json!({"messages": [], "system": 5}), Some("system")),
            (json!({"messages": [], "system": [{"type": "text"}]}), Some("system[0].text")),
            (json!({"messages": [], "stop_sequences": "END"}), Some("stop_sequences")),
            (json!({"messages": [], "stop_sequences": ["a", 2]}), Some("stop_sequences[1]")),
            (json!({"messages": [], "tools": [{"description": "no name"}]}), Some("tools[0].name")),
            (json!({"messages": [], "tools": [{"name": "f", "input_schema": "{}"}]}), Some("tools[0].input_schema")),
            (json!({"messages": [], "tool_choice": {"type": "maybe"}}), Some("tool_choice.type")),
            (json!({"messages": [], "tool_choice": {"type": "tool"}}), Some("tool_choice.name")),
            (json!({"messages": [], "thinking": {"type": "deep"}}), Some("thinking.type")),
            (
                json!({"messages": [], "thinking": {"type": "enabled", "budget_tokens": "big"}}),
                Some("thinking.budget_tokens"),
            ),
            (json!({"messages": [], "metadata": {"user_id": 7}}), Some("metadata.user_id")),
            (json!({"messages": [{"role": "bot", "content": "x"}]}), Some("messages[0].role")),
            (json!({"messages": [{"role": "user", "content": {"text": "x"}}]}), Some("messages[0].content")),
            (json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}), Some("messages[0].content[0].type")),
            (
                json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "{}"}]}]}),
                Some("messages[0].content[0].input"),
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}),
                Some("messages[0].content[0].tool_use_id"),
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": 1}]}]}]}),
                Some("messages[0].content[0].content[0].text"),
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]}),
                Some("messages[0].content[0].source.type"),
            ),
        ];
        for (body, param) in cases {
            let error = decode_request(&body).expect_err(&body.to_string());
            assert_eq!(error.param.as_deref(), param, "{body}: {}", error.message);
        }
    }

    fn sample_request() -> ChatRequest {
        ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: vec![
                SystemBlock { text: "Be brief.".into(), cache: None },
                SystemBlock { text: "Cached part.".into(), cache: ephemeral() },
            ],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        Part::Text { text: "weather?".into(), cache: ephemeral() },
                        Part::Image { source: ImageSource::Url("https://x/y.png".into()), detail: None, cache: None },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Part::Thinking { text: "Use the tool.".into(), signature: Some("sig".into()) },
                        Part::RedactedThinking { data: "opaque".into() },
                        text("Let me check."),
                        Part::ToolCall {
                            id: "t1".into(),
                            name: "weather".into(),
                            arguments: r#"{"city":"Oslo"}"#.into(),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        Part::ToolResult {
                            call_id: "t1".into(),
                            name: Some("weather".into()),
                            content: vec![text("-3C")],
                            is_error: true,
                            cache: ephemeral(),
                        },
                        text("thanks"),
                    ],
                },
            ],
            tools: vec![Tool {
                name: "weather".into(),
                description: Some("Weather by city".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: None,
                cache: ephemeral(),
            }],
            tool_choice: Some(ToolChoice::Auto),
            parallel_tool_calls: Some(false),
            max_tokens: Some(1000),
            temperature: Some(0.5),
            top_p: Some(0.9),
            top_k: Some(20),
            stop: vec!["END".into()],
            stream: true,
            stream_usage: true,
            user: Some("u1".into()),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn requests_round_trip() {
        let request = sample_request();
        assert_eq!(decode_request(&encode_request(&request)).unwrap(), request);
        let mut thinking = sample_request();
        thinking.temperature = None;
        thinking.top_k = None;
        thinking.top_p = Some(0.95);
        thinking.max_tokens = Some(10_000);
        thinking.reasoning = Some(Reasoning { effort: None, budget_tokens: Some(2000), enabled: true });
        assert_eq!(decode_request(&encode_request(&thinking)).unwrap(), thinking);
    }

    #[test]
    fn encoded_requests_fit_anthropic() {
        // Defaults: max_tokens, no optional fields.
        let body = encode_request(&ChatRequest { model: "m".into(), ..ChatRequest::default() });
        assert_eq!(body, json!({"model": "m", "max_tokens": DEFAULT_MAX_TOKENS, "messages": []}));

        // Thinking: budget from effort, max_tokens raised above it, temperature and top_k left out.
        let mut request = sample_request();
        request.max_tokens = Some(4000);
        request.reasoning = Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true });
        let body = encode_request(&request);
        assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 16_384}));
        assert_eq!(body["max_tokens"], 16_384 + DEFAULT_MAX_TOKENS);
        for key in ["temperature", "top_k", "top_p"] {
            assert!(body.get(key).is_none(), "{key}");
        }
        // Adaptive thinking with no budget or effort → 4096; a forced tool turns thinking off.
        request.reasoning = Some(Reasoning { effort: None, budget_tokens: None, enabled: true });
        request.max_tokens = None;
        let body = encode_request(&request);
        assert_eq!(body["thinking"]["budget_tokens"], 4096);
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        request.tool_choice = Some(ToolChoice::Required);
        let body = encode_request(&request);
        assert!(body.get("thinking").is_none());
        assert_eq!(body["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
        assert_eq!(body["temperature"], 0.5);
        request.reasoning = Some(Reasoning { effort: None, budget_tokens: None, enabled: false });
        assert_eq!(encode_request(&request)["thinking"], json!({"type": "disabled"}));

        // Turns: merged, alternating, starting with user; tool results first; unsigned thinking and empty text gone.
        let messages = vec![
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking { text: "from DeepSeek".into(), signature: None },
                    text(""),
                    Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "not json".into() },
                ],
            },
            Message::text(Role::User, "first"),
            Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "c1".into(),
                    name: None,
                    content: vec![],
                    is_error: false,
                    cache: None,
                }],
            },
            Message { role: Role::Assistant, content: vec![Part::Thinking { text: "x".into(), signature: None }] },
            Message::text(Role::User, "second"),
        ];
        let request = ChatRequest {
            messages,
            temperature: Some(1.7),
            n: Some(3),
            seed: Some(1),
            response_format: Some(ResponseFormat::JsonSchema {
                name: "answer".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
                description: None,
            }),
            ..ChatRequest::default()
        };
        let body = encode_request(&request);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "(continue)"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "c1"},
                    {"type": "text", "text": "first"},
                    {"type": "text", "text": "second"}
                ]}
            ])
        );
        assert_eq!(body["temperature"], 1.0, "clamped to Anthropic's range");
        for key in ["n", "seed", "tool_choice", "tools"] {
            assert!(body.get(key).is_none(), "{key}");
        }
        let instruction = body["system"][0]["text"].as_str().unwrap();
        assert!(
            instruction.contains("JSON")
                && instruction.contains("\"answer\"")
                && instruction.contains(r#"{"type":"object"}"#)
        );
        let json_object = ChatRequest { response_format: Some(ResponseFormat::JsonObject), ..ChatRequest::default() };
        assert!(encode_request(&json_object)["system"][0]["text"].as_str().unwrap().contains("JSON object"));
        let text_format = ChatRequest { response_format: Some(ResponseFormat::Text), ..ChatRequest::default() };
        assert!(encode_request(&text_format).get("system").is_none());
    }

    #[test]
    fn stop_reasons_map_both_ways() {
        let table = [
            ("end_turn", None, StopReason::EndTurn),
            ("max_tokens", None, StopReason::MaxTokens),
            ("stop_sequence", Some("END"), StopReason::StopSequence(Some("END".into()))),
            ("tool_use", None, StopReason::ToolUse),
            ("pause_turn", None, StopReason::PauseTurn),
            ("refusal", None, StopReason::ContentFilter),
        ];
        for (wire, sequence, neutral) in table {
            assert_eq!(stop_reason(wire, sequence), neutral);
            assert_eq!(encode_stop(&neutral), (wire, sequence));
        }
        let other = stop_reason("model_context_window_exceeded", None);
        assert_eq!(other, StopReason::Other("model_context_window_exceeded".into()));
        assert_eq!(encode_stop(&other), ("end_turn", None));
    }

    #[test]
    fn usage_counts_cache_tokens_as_input() {
        let wire = json!({"input_tokens": 50, "output_tokens": 300, "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 10000});
        let usage = decode_usage(wire.as_object().unwrap());
        assert_eq!(usage, Usage { input: 12_050, cached_input: 10_000, cache_write: 2000, output: 300, reasoning: 0 });
        assert_eq!(encode_usage(&usage), wire);
        // Counts from another protocol that do not add up never go negative.
        let odd = Usage { input: 10, cached_input: 20, cache_write: 0, output: 1, reasoning: 0 };
        assert_eq!(encode_usage(&odd)["input_tokens"], 0);
    }

    #[test]
    fn responses_decode_encode_and_round_trip() {
        // The documented shape.
        let body = json!({
            "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Hi! My name is Claude."}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0}
        });
        let r = decode_response(&body).unwrap();
        assert_eq!(r.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
        assert_eq!(r.created, 0);
        assert_eq!(
            r.choices,
            vec![Choice { index: 0, content: vec![text("Hi! My name is Claude.")], stop: Some(StopReason::EndTurn) }]
        );
        assert_eq!(r.usage, Some(Usage { input: 2095, cached_input: 0, cache_write: 0, output: 503, reasoning: 0 }));
        assert_eq!(encode_response(&r), body);

        let response = ChatResponse {
            id: "msg_1".into(),
            model: "claude".into(),
            created: 0,
            choices: vec![Choice {
                index: 0,
                content: vec![
                    Part::Thinking { text: "hmm".into(), signature: Some("sig".into()) },
                    Part::RedactedThinking { data: "opaque".into() },
                    text("Calling."),
                    Part::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: r#"{"a":[1,2]}"#.into() },
                ],
                stop: Some(StopReason::StopSequence(Some("END".into()))),
            }],
            usage: Some(Usage { input: 100, cached_input: 60, cache_write: 30, output: 5, reasoning: 0 }),
            cost_usd: None,
        };
        let body = encode_response(&response);
        assert_eq!(
            body["content"][3],
            json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}})
        );
        assert_eq!(
            (body["stop_reason"].as_str(), body["stop_sequence"].as_str()),
            (Some("stop_sequence"), Some("END"))
        );
        assert_eq!(body["usage"]["input_tokens"], 10);
        assert_eq!(decode_response(&body).unwrap(), response);

        // From an OpenAI upstream: unsigned thinking keeps an empty signature; no usage reads as zeros.
        let from_openai =
            openai_chat::decode_response(&json!({"id": "c", "model": "deepseek", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2"}, "finish_reason": "stop"}]}))
            .unwrap();
        let body = encode_response(&from_openai);
        assert_eq!(body["content"][0], json!({"type": "thinking", "thinking": "2+2", "signature": ""}));
        assert_eq!(body["usage"]["output_tokens"], 0);

        let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        assert_eq!(decode_response(&error).unwrap_err().message, "Overloaded");
    }

    #[test]
    fn documented_streams_decode() {
        let usage = |input, output| StreamEvent::Usage {
            usage: Usage { input, cached_input: 0, cache_write: 0, output, reasoning: 0 },
            cost_usd: None,
        };
        let events = decode_all(&sse(include_str!("fixtures/anthropic/stream_text.sse")));
        assert_eq!(
            events,
            vec![
                StreamEvent::Start {
                    id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
                    model: "claude-opus-4-6".into(),
                    created: 0
                },
                StreamEvent::TextDelta { choice: 0, text: "Hello".into() },
                StreamEvent::TextDelta { choice: 0, text: "!".into() },
                StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
                usage(25, 15),
            ]
        );

        let events = decode_all(&sse(include_str!("fixtures/anthropic/stream_tool_use.sse")));
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "Okay, let's check the weather for San Francisco, CA:");
        let arguments: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallDelta { index: 0, arguments, .. } => Some(arguments.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap(),
            json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
        );
        assert!(events.contains(&StreamEvent::ToolCallStart {
            choice: 0,
            index: 0,
            id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
            name: "get_weather".into()
        }));
        assert_eq!(
            events[events.len() - 2..],
            [StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse }, usage(472, 89)]
        );

        let events = decode_all(&sse(include_str!("fixtures/anthropic/stream_thinking.sse")));
        assert!(
            matches!(&events[1], StreamEvent::ThinkingDelta { text, .. } if text.starts_with("I need to find the GCD"))
        );
        assert_eq!(
            events[3],
            StreamEvent::ThinkingSignature {
                choice: 0,
                signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into()
            }
        );
        assert_eq!(events.last(), Some(&usage(0, 0)));

        let events = decode_all(&sse(include_str!("fixtures/anthropic/stream_error.sse")));
        assert_eq!(events, vec![StreamEvent::Error { message: "Overloaded".into(), kind: "overloaded_error".into() }]);
        assert!(StreamDecoder::new().decode(&SseEvent { event: Some("ping".into()), data: "{oops".into() }).is_err());
    }

    #[test]
    fn parallel_tool_blocks_get_tool_indexes_and_cache_usage_adds_up() {
        let frames = [
            r#"{"type":"message_start","message":{"id":"msg_p","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Both."}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"a","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"x\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"b","input":{}}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"y\":2}"}}"#,
            r#"{"type":"content_block_stop","index":2}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":60}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let events: Vec<SseEvent> = frames.iter().map(|d| SseEvent { event: None, data: (*d).into() }).collect();
        let decoded = decode_all(&events);
        assert_eq!(
            decoded[2..],
            [
                StreamEvent::ToolCallStart { choice: 0, index: 0, id: "toolu_a".into(), name: "a".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"x\":".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "1}".into() },
                StreamEvent::ToolCallStart { choice: 0, index: 1, id: "toolu_b".into(), name: "b".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"y\":2}".into() },
                StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
                StreamEvent::Usage {
                    usage: Usage { input: 3210, cached_input: 3000, cache_write: 200, output: 60, reasoning: 0 },
                    cost_usd: None
                },
            ]
        );
        // Re-encoding gives the same usage numbers back on the wire.
        let out = encode_all(&decoded);
        let delta: Value = serde_json::from_str(&out[out.len() - 2].data).unwrap();
        assert_eq!(
            delta["usage"],
            json!({"input_tokens": 10, "output_tokens": 60, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 3000})
        );
        assert_eq!(decode_all(&out), decoded);
    }

    #[test]
    fn encoded_stream_is_well_formed() {
        let events = vec![
            StreamEvent::Start { id: "msg_x".into(), model: "m".into(), created: 5 },
            StreamEvent::ThinkingDelta { choice: 0, text: "hm".into() },
            StreamEvent::ThinkingSignature { choice: 0, signature: "sig".into() },
            StreamEvent::RedactedThinking { choice: 0, data: "opaque".into() },
            StreamEvent::TextDelta { choice: 0, text: "Hi".into() },
            StreamEvent::TextDelta { choice: 0, text: " there".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":1}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage { input: 50, cached_input: 20, cache_write: 10, output: 7, reasoning: 0 },
                cost_usd: None,
            },
        ];
        let out = encode_all(&events);
        let names = assert_well_formed(&out);
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        let start: Value = serde_json::from_str(&out[0].data).unwrap();
        assert_eq!(start["message"]["id"], "msg_x");
        assert_eq!(start["message"]["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
        let delta: Value = serde_json::from_str(&out[14].data).unwrap();
        assert_eq!(delta["delta"], json!({"stop_reason": "tool_use", "stop_sequence": null}));
        assert_eq!(delta["usage"]["input_tokens"], 20);
        // The round trip gives the same events (created is not carried by Anthropic).
        let mut expected = events;
        expected[0] = StreamEvent::Start { id: "msg_x".into(), model: "m".into(), created: 0 };
        assert_eq!(decode_all(&out), expected);
    }

    #[test]
    fn interleaved_openai_tool_calls_stream_as_sequential_blocks() {
        let mut decoder = openai_chat::StreamDecoder::new();
        let neutral: Vec<StreamEvent> = sse(include_str!("fixtures/openai_chat/stream_parallel_tools.sse"))
            .iter()
            .flat_map(|e| decoder.decode(e).unwrap())
            .collect();
        let out = encode_all(&neutral);
        assert_well_formed(&out);
        let back = decode_all(&out);
        let calls: Vec<(u32, String)> = back
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallStart { index, id, .. } => Some((*index, id.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(calls, [(0, "call_a".to_owned()), (1, "call_b".to_owned())]);
        for (index, expected) in [(0, json!({"city": "Paris"})), (1, json!({"tz": "CET"}))] {
            let arguments: String = back
                .iter()
                .filter_map(|e| match e {
                    StreamEvent::ToolCallDelta { index: i, arguments, .. } if *i == index => Some(arguments.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(serde_json::from_str::<Value>(&arguments).unwrap(), expected);
        }
        assert_eq!(back[back.len() - 2], StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse });
    }

    #[test]
    fn encoder_closes_cleanly_without_stop_and_ends_on_error() {
        // Nothing but text: finish still closes the block and the message.
        let out = encode_all(&[
            StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 },
            StreamEvent::TextDelta { choice: 0, text: "partial".into() },
        ]);
        let names = assert_well_formed(&out);
        assert_eq!(names.len(), 6);
        let delta: Value = serde_json::from_str(&out[4].data).unwrap();
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");

        // Stop without usage: message_delta waits for finish, with zero usage.
        let mut encoder = StreamEncoder::new(false);
        encoder.encode(&StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 });
        let at_stop = encoder.encode(&StreamEvent::Stop { choice: 0, reason: StopReason::MaxTokens });
        assert!(at_stop.is_empty());
        let closing = encoder.finish();
        assert_eq!(closing.len(), 2);
        assert!(closing[0].data.contains("\"max_tokens\""));

        // An error ends the stream: nothing after it.
        let out = encode_all(&[
            StreamEvent::Start { id: "m".into(), model: "x".into(), created: 0 },
            StreamEvent::TextDelta { choice: 0, text: "par".into() },
            StreamEvent::Error { message: "upstream died".into(), kind: "upstream_error".into() },
            StreamEvent::TextDelta { choice: 0, text: "ignored".into() },
        ]);
        let last: Value = serde_json::from_str(&out.last().unwrap().data).unwrap();
        assert_eq!(out.last().unwrap().event.as_deref(), Some("error"));
        assert_eq!(last, json!({"type": "error", "error": {"type": "api_error", "message": "upstream died"}}));
        assert_eq!(out.len(), 4);

        // Even an empty upstream yields a whole message.
        assert_well_formed(&StreamEncoder::new(true).finish());
    }
}
