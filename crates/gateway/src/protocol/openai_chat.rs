//! OpenAI Chat Completions (`POST /v1/chat/completions`): requests, responses and stream chunks, to and from the
//! neutral form.
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - `system` and `developer` messages become system blocks, in order, wherever they appear. Encoding joins all
//!   system blocks into one leading `system` message (blank line between), which every OpenAI-compatible server
//!   accepts; cache hints have no OpenAI form and are dropped.
//! - `tool` messages become a user message of `ToolResult` parts; consecutive ones merge into one message, a
//!   following `user` message stays separate. The tool's name is filled in from the assistant call with that id.
//!   Encoding splits a user message back into `tool` messages (first) and a `user` message with the rest; images
//!   inside a tool result move to that `user` message (OpenAI tool messages hold text only), and an error result
//!   is prefixed with `Error: ` (OpenAI has no `is_error`).
//! - Thinking parts are read from `reasoning_content` (DeepSeek) or `reasoning` (OpenRouter), but are not sent
//!   upstream again: several hosts reject `reasoning_content` in input messages. Signatures and redacted thinking
//!   have no OpenAI form.
//! - Upstream requests use `max_completion_tokens` (OpenAI's reasoning models reject `max_tokens`); a host that
//!   knows only `max_tokens` needs the key renamed by its provider. A stream always asks for
//!   `stream_options.include_usage` so the ledger gets usage; the client-side `StreamEncoder` drops the usage
//!   chunk when the client did not ask for it.
//! - `top_k` and `metadata` are read but not sent upstream (OpenAI rejects `top_k`, and `metadata` without `store`).
//! - A `created` of 0 (unknown, e.g. from Anthropic) is written as the current time.
//! - Unknown fields and unknown content-part types are ignored; known fields of the wrong type are errors naming
//!   the field. The legacy `functions` / `function_call` / `function` role are rejected.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::neutral::{
    CacheHint, ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, StreamEvent, SystemBlock, Tool, ToolChoice, Usage,
};
use super::{ProtocolError, SseEvent};

// ---------------------------------------------------------------------------------------------------------------
// Reading JSON fields with errors that name them. Shared with the other format modules.
// ---------------------------------------------------------------------------------------------------------------

/// `path.key`, or `key` at the top level.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A field's value, treating JSON `null` as absent.
pub(super) fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: String, expected: &str, got: &Value) -> ProtocolError {
    let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
    ProtocolError::at(path, format!("`{name}` must be {expected}, not {}", kind_of(got)))
}

pub(super) fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ProtocolError> {
    value.as_object().ok_or_else(|| {
        if path.is_empty() {
            ProtocolError::new(format!("the body must be a JSON object, not {}", kind_of(value)))
        } else {
            ProtocolError::at(path, format!("`{path}` must be an object, not {}", kind_of(value)))
        }
    })
}

pub(super) fn get_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(join(path, key), "a string", other)),
    }
}

pub(super) fn get_f64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| wrong_type(join(path, key), "a number", v)),
    }
}

pub(super) fn get_i64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(join(path, key), "an integer", v)),
    }
}

pub(super) fn get_u32(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u32>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| wrong_type(join(path, key), "a non-negative integer", v)),
    }
}

pub(super) fn get_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(join(path, key), "a boolean", other)),
    }
}

pub(super) fn get_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(wrong_type(join(path, key), "an array", other)),
    }
}

pub(super) fn get_object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(wrong_type(join(path, key), "an object", other)),
    }
}

pub(super) fn required<T>(value: Option<T>, path: &str, key: &str) -> Result<T, ProtocolError> {
    value.ok_or_else(|| ProtocolError::at(join(path, key), format!("`{key}` is required")))
}

/// A non-negative count from a usage object; anything else counts as 0 (usage is informational).
pub(super) fn count(obj: &Map<String, Value>, key: &str) -> u64 {
    field(obj, key).and_then(Value::as_u64).unwrap_or(0)
}

/// A string field read leniently (responses and stream events from upstreams): absent or not a string → "".
pub(super) fn text_of(obj: &Map<String, Value>, key: &str) -> String {
    field(obj, key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Anthropic-style `cache_control` (some OpenAI-compatible clients send it on content parts too).
pub(super) fn decode_cache(obj: &Map<String, Value>, path: &str) -> Result<Option<CacheHint>, ProtocolError> {
    let Some(cc) = get_object(obj, "cache_control", path)? else { return Ok(None) };
    let cc_path = join(path, "cache_control");
    Ok(Some(CacheHint {
        kind: get_str(cc, "type", &cc_path)?.unwrap_or("ephemeral").to_owned(),
        ttl: get_str(cc, "ttl", &cc_path)?.map(str::to_owned),
    }))
}

/// Fills `ToolResult.name` from the assistant call with the same id, for upstreams that need it (Gemini).
pub(super) fn fill_tool_result_names(messages: &mut [Message]) {
    let mut names: HashMap<String, String> = HashMap::new();
    for message in messages {
        for part in &mut message.content {
            match part {
                Part::ToolCall { id, name, .. } => {
                    names.insert(id.clone(), name.clone());
                }
                Part::ToolResult { call_id, name: name @ None, .. } => *name = names.get(call_id).cloned(),
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

/// Reads a client's chat-completions body.
pub fn decode_request(body: &Value) -> Result<ChatRequest, ProtocolError> {
    let root = as_object(body, "")?;
    let mut request =
        ChatRequest { model: get_str(root, "model", "")?.unwrap_or_default().to_owned(), ..ChatRequest::default() };

    if field(root, "functions").is_some() {
        return Err(ProtocolError::at("functions", "the legacy `functions` parameter is not supported; use `tools`"));
    }
    if field(root, "function_call").is_some() {
        return Err(ProtocolError::at(
            "function_call",
            "the legacy `function_call` parameter is not supported; use `tool_choice`",
        ));
    }

    let messages = required(get_array(root, "messages", "")?, "", "messages")?;
    for (i, message) in messages.iter().enumerate() {
        decode_message(message, &format!("messages[{i}]"), &mut request)?;
    }
    fill_tool_result_names(&mut request.messages);

    if let Some(tools) = get_array(root, "tools", "")? {
        for (i, tool) in tools.iter().enumerate() {
            if let Some(tool) = decode_tool(tool, &format!("tools[{i}]"))? {
                request.tools.push(tool);
            }
        }
    }
    request.tool_choice = match field(root, "tool_choice") {
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
            let function = required(get_object(choice, "function", "tool_choice")?, "tool_choice", "function")?;
            let name = required(get_str(function, "name", "tool_choice.function")?, "tool_choice.function", "name")?;
            Some(ToolChoice::Named(name.to_owned()))
        }
        Some(other) => return Err(wrong_type("tool_choice".into(), "a string or an object", other)),
    };
    request.parallel_tool_calls = get_bool(root, "parallel_tool_calls", "")?;
    let max_completion_tokens = get_u32(root, "max_completion_tokens", "")?;
    request.max_tokens = max_completion_tokens.or(get_u32(root, "max_tokens", "")?);
    request.temperature = get_f64(root, "temperature", "")?;
    request.top_p = get_f64(root, "top_p", "")?;
    request.top_k = get_u32(root, "top_k", "")?;
    request.stop = match field(root, "stop") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| v.as_str().map(str::to_owned).ok_or_else(|| wrong_type(format!("stop[{i}]"), "a string", v)))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(wrong_type("stop".into(), "a string or an array of strings", other)),
    };
    request.seed = get_i64(root, "seed", "")?;
    request.presence_penalty = get_f64(root, "presence_penalty", "")?;
    request.frequency_penalty = get_f64(root, "frequency_penalty", "")?;
    request.n = get_u32(root, "n", "")?;
    request.response_format = decode_response_format(root)?;
    request.reasoning = decode_reasoning(root)?;
    request.stream = get_bool(root, "stream", "")?.unwrap_or(false);
    if let Some(options) = get_object(root, "stream_options", "")? {
        request.stream_usage = get_bool(options, "include_usage", "stream_options")?.unwrap_or(false);
    }
    request.user = get_str(root, "user", "")?.map(str::to_owned);
    request.metadata = get_object(root, "metadata", "")?.cloned();
    Ok(request)
}

fn decode_message(value: &Value, path: &str, request: &mut ChatRequest) -> Result<(), ProtocolError> {
    let message = as_object(value, path)?;
    let role = required(get_str(message, "role", path)?, path, "role")?;
    let content_path = join(path, "content");
    match role {
        "system" | "developer" => {
            for part in decode_parts(field(message, "content"), &content_path)? {
                if let Part::Text { text, cache } = part {
                    request.system.push(SystemBlock { text, cache });
                }
            }
        }
        "user" => {
            let content = decode_parts(field(message, "content"), &content_path)?;
            request.messages.push(Message { role: Role::User, content });
        }
        "assistant" => {
            if field(message, "function_call").is_some() {
                return Err(ProtocolError::at(
                    join(path, "function_call"),
                    "the legacy `function_call` is not supported; use `tool_calls`",
                ));
            }
            let mut content = Vec::new();
            // DeepSeek sends `reasoning_content`, OpenRouter `reasoning`; only a string is thinking text.
            let thinking = field(message, "reasoning_content").or_else(|| field(message, "reasoning"));
            if let Some(text) = thinking.and_then(Value::as_str).filter(|t| !t.is_empty()) {
                content.push(Part::Thinking { text: text.to_owned(), signature: None });
            }
            content.extend(decode_parts(field(message, "content"), &content_path)?);
            if let Some(calls) = get_array(message, "tool_calls", path)? {
                for (i, call) in calls.iter().enumerate() {
                    let call_path = format!("{path}.tool_calls[{i}]");
                    let call = as_object(call, &call_path)?;
                    if get_str(call, "type", &call_path)?.is_some_and(|t| t != "function") {
                        tracing::debug!(param = %call_path, "skipping a non-function tool call");
                        continue;
                    }
                    let id = required(get_str(call, "id", &call_path)?, &call_path, "id")?;
                    let function = required(get_object(call, "function", &call_path)?, &call_path, "function")?;
                    let function_path = join(&call_path, "function");
                    let name = required(get_str(function, "name", &function_path)?, &function_path, "name")?;
                    let arguments = match field(function, "arguments") {
                        None => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        // Lenient: some clients send the object itself.
                        Some(Value::Object(o)) => Value::Object(o.clone()).to_string(),
                        Some(other) => return Err(wrong_type(join(&function_path, "arguments"), "a string", other)),
                    };
                    content.push(Part::ToolCall { id: id.to_owned(), name: name.to_owned(), arguments });
                }
            }
            request.messages.push(Message { role: Role::Assistant, content });
        }
        "tool" => {
            let call_id = required(get_str(message, "tool_call_id", path)?, path, "tool_call_id")?;
            let result = Part::ToolResult {
                call_id: call_id.to_owned(),
                name: get_str(message, "name", path)?.map(str::to_owned),
                content: decode_parts(field(message, "content"), &content_path)?,
                is_error: false,
                cache: None,
            };
            // Consecutive tool messages answer one assistant turn: one user message of results.
            match request.messages.last_mut() {
                Some(last)
                    if last.role == Role::User
                        && !last.content.is_empty()
                        && last.content.iter().all(|p| matches!(p, Part::ToolResult { .. })) =>
                {
                    last.content.push(result)
                }
                _ => request.messages.push(Message { role: Role::User, content: vec![result] }),
            }
        }
        "function" => {
            return Err(ProtocolError::at(
                join(path, "role"),
                "the legacy `function` role is not supported; send `tool` messages with a `tool_call_id`",
            ));
        }
        other => {
            return Err(ProtocolError::at(
                join(path, "role"),
                format!("unknown role `{other}`; expected system, developer, user, assistant or tool"),
            ));
        }
    }
    Ok(())
}

/// A message's `content`: a string, or an array of parts (`text`, `image_url`, `refusal`; others are skipped).
fn decode_parts(content: Option<&Value>, path: &str) -> Result<Vec<Part>, ProtocolError> {
    match content {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![Part::Text { text: s.clone(), cache: None }]),
        Some(Value::Array(items)) => {
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let part_path = format!("{path}[{i}]");
                let item = as_object(item, &part_path)?;
                match required(get_str(item, "type", &part_path)?, &part_path, "type")? {
                    "text" => parts.push(Part::Text {
                        text: required(get_str(item, "text", &part_path)?, &part_path, "text")?.to_owned(),
                        cache: decode_cache(item, &part_path)?,
                    }),
                    "refusal" => parts.push(Part::Text { text: text_of(item, "refusal"), cache: None }),
                    "image_url" => {
                        let image_path = join(&part_path, "image_url");
                        let (url, detail) = match field(item, "image_url") {
                            Some(Value::String(url)) => (url.as_str(), None),
                            Some(Value::Object(image)) => (
                                required(get_str(image, "url", &image_path)?, &image_path, "url")?,
                                get_str(image, "detail", &image_path)?.map(str::to_owned),
                            ),
                            Some(other) => return Err(wrong_type(image_path, "an object", other)),
                            None => return Err(ProtocolError::at(image_path, "`image_url` is required")),
                        };
                        parts.push(Part::Image {
                            source: ImageSource::from_url(url),
                            detail,
                            cache: decode_cache(item, &part_path)?,
                        });
                    }
                    other => tracing::debug!(param = %part_path, kind = other, "skipping an unsupported content part"),
                }
            }
            Ok(parts)
        }
        Some(other) => Err(wrong_type(path.to_owned(), "a string or an array of content parts", other)),
    }
}

fn decode_tool(value: &Value, path: &str) -> Result<Option<Tool>, ProtocolError> {
    let tool = as_object(value, path)?;
    let kind = get_str(tool, "type", path)?.unwrap_or("function");
    if kind != "function" {
        tracing::debug!(param = %path, kind, "skipping a non-function tool");
        return Ok(None);
    }
    let function = required(get_object(tool, "function", path)?, path, "function")?;
    let function_path = join(path, "function");
    let parameters = match field(function, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(other) => return Err(wrong_type(join(&function_path, "parameters"), "an object", other)),
    };
    Ok(Some(Tool {
        name: required(get_str(function, "name", &function_path)?, &function_path, "name")?.to_owned(),
        description: get_str(function, "description", &function_path)?.map(str::to_owned),
        parameters,
        strict: get_bool(function, "strict", &function_path)?,
        cache: None,
    }))
}

fn decode_response_format(root: &Map<String, Value>) -> Result<Option<ResponseFormat>, ProtocolError> {
    let Some(format) = get_object(root, "response_format", "")? else { return Ok(None) };
    Ok(Some(match required(get_str(format, "type", "response_format")?, "response_format", "type")? {
        "text" => ResponseFormat::Text,
        "json_object" => ResponseFormat::JsonObject,
        "json_schema" => {
            let path = "response_format.json_schema";
            let schema =
                required(get_object(format, "json_schema", "response_format")?, "response_format", "json_schema")?;
            ResponseFormat::JsonSchema {
                name: get_str(schema, "name", path)?.unwrap_or("response").to_owned(),
                schema: field(schema, "schema").cloned().unwrap_or_else(|| json!({})),
                strict: get_bool(schema, "strict", path)?,
                description: get_str(schema, "description", path)?.map(str::to_owned),
            }
        }
        other => {
            return Err(ProtocolError::at(
                "response_format.type",
                format!("unknown response_format type `{other}`; expected text, json_object or json_schema"),
            ));
        }
    }))
}

/// `reasoning_effort`, or OpenRouter's `reasoning` object (`effort`, `max_tokens`, `enabled`).
fn decode_reasoning(root: &Map<String, Value>) -> Result<Option<Reasoning>, ProtocolError> {
    if let Some(effort) = get_str(root, "reasoning_effort", "")? {
        return Ok(Some(Reasoning { effort: Some(effort.to_owned()), budget_tokens: None, enabled: effort != "none" }));
    }
    let Some(reasoning) = get_object(root, "reasoning", "")? else { return Ok(None) };
    let effort = get_str(reasoning, "effort", "reasoning")?.map(str::to_owned);
    let enabled = get_bool(reasoning, "enabled", "reasoning")?.unwrap_or(effort.as_deref() != Some("none"));
    Ok(Some(Reasoning { effort, budget_tokens: get_u32(reasoning, "max_tokens", "reasoning")?, enabled }))
}

/// Writes a chat-completions body for an OpenAI-compatible upstream.
pub fn encode_request(request: &ChatRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));

    let mut messages = Vec::new();
    if !request.system.is_empty() {
        let text = request.system.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n\n");
        messages.push(json!({"role": "system", "content": text}));
    }
    for message in &request.messages {
        encode_message(message, &mut messages);
    }
    body.insert("messages".into(), Value::Array(messages));

    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                let mut function = Map::new();
                function.insert("name".into(), json!(tool.name));
                if let Some(description) = &tool.description {
                    function.insert("description".into(), json!(description));
                }
                function.insert("parameters".into(), tool.parameters.clone());
                if let Some(strict) = tool.strict {
                    function.insert("strict".into(), json!(strict));
                }
                json!({"type": "function", "function": function})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        // OpenAI refuses these two without tools.
        if let Some(choice) = &request.tool_choice {
            let choice = match choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
            };
            body.insert("tool_choice".into(), choice);
        }
        if let Some(parallel) = request.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(parallel));
        }
    }
    if let Some(max) = request.max_tokens {
        body.insert("max_completion_tokens".into(), json!(max));
    }
    let numbers = [
        ("temperature", request.temperature),
        ("top_p", request.top_p),
        ("presence_penalty", request.presence_penalty),
        ("frequency_penalty", request.frequency_penalty),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    if let Some(seed) = request.seed {
        body.insert("seed".into(), json!(seed));
    }
    if let Some(n) = request.n {
        body.insert("n".into(), json!(n));
    }
    if let Some(format) = &request.response_format {
        let format = match format {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema { name, schema, strict, description } => {
                let mut spec = Map::new();
                spec.insert("name".into(), json!(name));
                if let Some(description) = description {
                    spec.insert("description".into(), json!(description));
                }
                spec.insert("schema".into(), schema.clone());
                if let Some(strict) = strict {
                    spec.insert("strict".into(), json!(strict));
                }
                json!({"type": "json_schema", "json_schema": spec})
            }
        };
        body.insert("response_format".into(), format);
    }
    if let Some(reasoning) = &request.reasoning
        && reasoning.enabled
    {
        body.insert("reasoning_effort".into(), json!(reasoning.effort_or_default()));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
        // Always: the ledger needs usage even when the client did not ask for it.
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(user) = &request.user {
        body.insert("user".into(), json!(user));
    }
    Value::Object(body)
}

fn encode_message(message: &Message, out: &mut Vec<Value>) {
    match message.role {
        Role::User => {
            let mut rest = Vec::new();
            for part in &message.content {
                match part {
                    Part::ToolResult { call_id, content, is_error, .. } => {
                        let mut text = content
                            .iter()
                            .filter_map(|p| match p {
                                Part::Text { text, .. } => Some(text.as_str()),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        if *is_error {
                            text = format!("Error: {text}");
                        }
                        // OpenAI tool messages hold text only: images follow in the user message.
                        rest.extend(content.iter().filter(|p| matches!(p, Part::Image { .. })).map(encode_user_part));
                        out.push(json!({"role": "tool", "tool_call_id": call_id, "content": text}));
                    }
                    Part::Text { .. } | Part::Image { .. } => rest.push(encode_user_part(part)),
                    Part::ToolCall { .. } | Part::Thinking { .. } | Part::RedactedThinking { .. } => {}
                }
            }
            match rest.as_slice() {
                [] => {}
                [single] if single["type"] == "text" => {
                    out.push(json!({"role": "user", "content": single["text"]}));
                }
                _ => out.push(json!({"role": "user", "content": rest})),
            }
        }
        Role::Assistant => {
            let mut text = None::<String>;
            let mut calls = Vec::new();
            for part in &message.content {
                match part {
                    Part::Text { text: t, .. } => text.get_or_insert_with(String::new).push_str(t),
                    Part::ToolCall { id, name, arguments } => calls.push(json!({
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    })),
                    // Not sent back upstream: see the module docs.
                    Part::Thinking { .. } | Part::RedactedThinking { .. } => {}
                    Part::Image { .. } | Part::ToolResult { .. } => {}
                }
            }
            if text.is_none() && calls.is_empty() {
                return;
            }
            let mut msg = json!({"role": "assistant", "content": text});
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            out.push(msg);
        }
    }
}

fn encode_user_part(part: &Part) -> Value {
    match part {
        Part::Image { source, detail, .. } => {
            let mut image = json!({"url": source.to_url()});
            if let Some(detail) = detail {
                image["detail"] = json!(detail);
            }
            json!({"type": "image_url", "image_url": image})
        }
        Part::Text { text, .. } => json!({"type": "text", "text": text}),
        _ => json!({"type": "text", "text": ""}),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------------

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

/// `usage` → neutral usage and OpenRouter's `cost`.
fn decode_usage(usage: &Map<String, Value>) -> (Usage, Option<f64>) {
    let prompt_details = field(usage, "prompt_tokens_details").and_then(Value::as_object);
    let completion_details = field(usage, "completion_tokens_details").and_then(Value::as_object);
    let cached = match prompt_details {
        Some(details) if field(details, "cached_tokens").is_some() => count(details, "cached_tokens"),
        // DeepSeek reports its cache hits at the top level.
        _ => count(usage, "prompt_cache_hit_tokens"),
    };
    let parsed = Usage {
        input: count(usage, "prompt_tokens"),
        cached_input: cached,
        cache_write: prompt_details.map_or(0, |d| count(d, "cache_write_tokens")),
        output: count(usage, "completion_tokens"),
        reasoning: completion_details.map_or(0, |d| count(d, "reasoning_tokens")),
    };
    (parsed, field(usage, "cost").and_then(Value::as_f64))
}

fn encode_usage(usage: &Usage, cost_usd: Option<f64>) -> Value {
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

// ---------------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------------

/// Upstream chunks → neutral events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// Per choice, the tool calls seen so far: (the upstream's `index`, the call id); the position is the neutral
    /// index.
    calls: HashMap<u32, Vec<(Option<u64>, String)>>,
    stopped: bool,
    last_usage: Option<(Usage, Option<f64>)>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("the upstream sent a stream chunk that is not JSON: {e}")))?;
        let chunk = as_object(&value, "")?;
        let mut out = Vec::new();
        if let Some(error) = field(chunk, "error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("upstream error").to_owned();
            let kind = error
                .get("type")
                .or_else(|| error.get("code"))
                .and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_u64().map(|n| n.to_string())))
                .unwrap_or_else(|| "api_error".to_owned());
            out.push(StreamEvent::Error { message, kind });
            return Ok(out);
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: text_of(chunk, "id"),
                model: text_of(chunk, "model"),
                created: field(chunk, "created").and_then(Value::as_u64).unwrap_or(0),
            });
        }
        let choices = field(chunk, "choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (i, choice) in choices.iter().enumerate() {
            let Some(choice) = choice.as_object() else { continue };
            let index = field(choice, "index").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            let index = index.unwrap_or(i as u32);
            if let Some(delta) = field(choice, "delta").and_then(Value::as_object) {
                self.decode_delta(index, delta, &mut out);
            }
            if let Some(reason) = field(choice, "finish_reason").and_then(Value::as_str) {
                self.stopped = true;
                out.push(StreamEvent::Stop { choice: index, reason: stop_reason(reason) });
            }
        }
        // Usage comes on a last chunk with no choices, or (some hosts) with the finish; cumulative usage on every
        // chunk is read only from then on, and repeats are dropped.
        if let Some(usage) = field(chunk, "usage").and_then(Value::as_object)
            && (choices.is_empty() || self.stopped)
        {
            let decoded = decode_usage(usage);
            if self.last_usage != Some(decoded) {
                self.last_usage = Some(decoded);
                out.push(StreamEvent::Usage { usage: decoded.0, cost_usd: decoded.1 });
            }
        }
        Ok(out)
    }

    fn decode_delta(&mut self, choice: u32, delta: &Map<String, Value>, out: &mut Vec<StreamEvent>) {
        let thinking = field(delta, "reasoning_content").or_else(|| field(delta, "reasoning"));
        if let Some(text) = thinking.and_then(Value::as_str).filter(|t| !t.is_empty()) {
            out.push(StreamEvent::ThinkingDelta { choice, text: text.to_owned() });
        }
        if let Some(text) = field(delta, "content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta { choice, text: text.to_owned() });
        }
        let calls = field(delta, "tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for call in calls {
            let Some(call) = call.as_object() else { continue };
            let wire_index = field(call, "index").and_then(Value::as_u64);
            let id = field(call, "id").and_then(Value::as_str).filter(|s| !s.is_empty());
            let function = field(call, "function").and_then(Value::as_object);
            let name = function.map(|f| text_of(f, "name")).unwrap_or_default();
            let arguments = function.map(|f| text_of(f, "arguments")).unwrap_or_default();
            let known = self.calls.entry(choice).or_default();
            // The call a fragment belongs to: the latest with its upstream index (or simply the latest).
            let existing = known.iter().rposition(|(w, _)| wire_index.is_none() || *w == wire_index);
            let slot = match (id, existing) {
                // Some hosts repeat the id on every fragment.
                (Some(id), Some(slot)) if known[slot].1 == id => slot,
                (None, Some(slot)) => slot,
                (id, _) => {
                    let slot = known.len();
                    let id = id.map_or_else(|| format!("call_{}", wire_index.unwrap_or(slot as u64)), str::to_owned);
                    known.push((wire_index, id.clone()));
                    out.push(StreamEvent::ToolCallStart { choice, index: slot as u32, id, name });
                    slot
                }
            };
            if !arguments.is_empty() {
                out.push(StreamEvent::ToolCallDelta { choice, index: slot as u32, arguments });
            }
        }
    }
}

/// Neutral events → client chunks.
#[derive(Debug)]
pub struct StreamEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    /// Choices whose first chunk (with `role`) has been sent.
    opened: Vec<u32>,
    done: bool,
}

impl StreamEncoder {
    pub fn new(include_usage: bool) -> Self {
        StreamEncoder {
            include_usage,
            id: String::new(),
            model: String::new(),
            created: 0,
            opened: Vec::new(),
            done: false,
        }
    }

    pub fn encode(&mut self, event: &StreamEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        match event {
            StreamEvent::Start { id, model, created } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.created = if *created == 0 { unix_now() } else { *created };
                self.open(0, &mut out);
            }
            StreamEvent::TextDelta { choice, text } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({"content": text}), None));
            }
            StreamEvent::ThinkingDelta { choice, text } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({"reasoning_content": text}), None));
            }
            // No OpenAI form.
            StreamEvent::ThinkingSignature { .. } | StreamEvent::RedactedThinking { .. } => {}
            StreamEvent::ToolCallStart { choice, index, id, name } => {
                self.open(*choice, &mut out);
                let call =
                    json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
                out.push(self.chunk(*choice, json!({"tool_calls": [call]}), None));
            }
            StreamEvent::ToolCallDelta { choice, index, arguments } => {
                self.open(*choice, &mut out);
                let call = json!({"index": index, "function": {"arguments": arguments}});
                out.push(self.chunk(*choice, json!({"tool_calls": [call]}), None));
            }
            StreamEvent::Stop { choice, reason } => {
                self.open(*choice, &mut out);
                out.push(self.chunk(*choice, json!({}), Some(finish_reason(reason))));
            }
            StreamEvent::Usage { usage, cost_usd } => {
                if self.include_usage {
                    let body = json!({
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created_or_now(),
                        "model": self.model,
                        "choices": [],
                        "usage": encode_usage(usage, *cost_usd),
                    });
                    out.push(SseEvent { event: None, data: body.to_string() });
                }
            }
            StreamEvent::Error { message, kind } => {
                let body = json!({"error": {"message": message, "type": kind, "code": null, "param": null}});
                out.push(SseEvent { event: None, data: body.to_string() });
            }
        }
        out
    }

    /// `data: [DONE]`, once.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if std::mem::replace(&mut self.done, true) {
            return Vec::new();
        }
        vec![SseEvent { event: None, data: "[DONE]".to_owned() }]
    }

    fn created_or_now(&mut self) -> u64 {
        if self.created == 0 {
            self.created = unix_now();
        }
        self.created
    }

    /// The first chunk of a choice: `role` (and an empty `content`), once.
    fn open(&mut self, choice: u32, out: &mut Vec<SseEvent>) {
        if !self.opened.contains(&choice) {
            self.opened.push(choice);
            out.push(self.chunk(choice, json!({"role": "assistant", "content": ""}), None));
        }
    }

    fn chunk(&mut self, choice: u32, delta: Value, finish: Option<&str>) -> SseEvent {
        let body = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created_or_now(),
            "model": self.model,
            "choices": [{"index": choice, "delta": delta, "finish_reason": finish}],
        });
        SseEvent { event: None, data: body.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an SSE fixture into events (`event:` and `data:` lines, blank-line separated).
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

    fn text(t: &str) -> Part {
        Part::Text { text: t.into(), cache: None }
    }

    fn parse(data: &str) -> Value {
        serde_json::from_str(data).unwrap()
    }

    #[test]
    fn continue_shaped_request() {
        let body = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are a helpful coding assistant."},
                {"role": "user", "content": [{"type": "text", "text": "Explain this file"}]}
            ],
            "tools": [
                {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                    "parameters": {"type": "object", "properties": {"filepath": {"type": "string"}}, "required": ["filepath"]}}},
                {"type": "function", "function": {"name": "ls", "parameters": {"type": "object", "properties": {}}}}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "some_future_field": {"x": 1}
        });
        let request = decode_request(&body).unwrap();
        assert_eq!(request.model, "gpt-4o");
        assert_eq!(
            request.system,
            vec![SystemBlock { text: "You are a helpful coding assistant.".into(), cache: None }]
        );
        assert_eq!(request.messages, vec![Message { role: Role::User, content: vec![text("Explain this file")] }]);
        assert_eq!(request.tools.len(), 2);
        assert_eq!(request.tools[0].name, "read_file");
        assert_eq!(request.tools[0].description.as_deref(), Some("Read a file"));
        assert_eq!(request.tools[1].parameters, json!({"type": "object", "properties": {}}));
        assert!(request.stream && request.stream_usage);
        assert_eq!(request.max_tokens, None);
    }

    #[test]
    fn every_request_field_decodes() {
        let body = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": true}},
                {"type": "web_search"},
                {"type": "custom", "custom": {"name": "x"}}
            ],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "parallel_tool_calls": false,
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "temperature": 0.5,
            "top_p": 0.9,
            "stop": "END",
            "seed": -7,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.2,
            "n": 2,
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "description": "d",
                "schema": {"type": "object"}, "strict": true}},
            "reasoning_effort": "high",
            "user": "u-1",
            "metadata": {"k": "v"}
        });
        let r = decode_request(&body).unwrap();
        assert_eq!(r.tools.len(), 1, "non-function tools are skipped");
        assert_eq!(r.tools[0].strict, Some(true));
        assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.max_tokens, Some(20), "max_completion_tokens wins");
        assert_eq!((r.temperature, r.top_p), (Some(0.5), Some(0.9)));
        assert_eq!(r.stop, vec!["END".to_owned()]);
        assert_eq!(r.seed, Some(-7));
        assert_eq!((r.presence_penalty, r.frequency_penalty, r.n), (Some(0.1), Some(0.2), Some(2)));
        assert_eq!(
            r.response_format,
            Some(ResponseFormat::JsonSchema {
                name: "out".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
                description: Some("d".into())
            })
        );
        assert_eq!(r.reasoning, Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }));
        assert_eq!(r.user.as_deref(), Some("u-1"));
        assert_eq!(r.metadata.unwrap()["k"], "v");
        assert!(!r.stream && !r.stream_usage);

        let table = [
            (json!("auto"), ToolChoice::Auto),
            (json!("none"), ToolChoice::None),
            (json!("required"), ToolChoice::Required),
        ];
        for (wire, neutral) in table {
            let r = decode_request(&json!({"messages": [], "tool_choice": wire, "stop": ["a", "b"]})).unwrap();
            assert_eq!(r.tool_choice, Some(neutral));
            assert_eq!(r.stop, vec!["a".to_owned(), "b".to_owned()]);
            assert_eq!(r.model, "", "a missing model is the server's business");
        }
        let r = decode_request(&json!({"messages": [], "max_tokens": 5, "response_format": {"type": "json_object"},
            "reasoning_effort": "none"}))
        .unwrap();
        assert_eq!(r.max_tokens, Some(5));
        assert_eq!(r.response_format, Some(ResponseFormat::JsonObject));
        assert!(!r.reasoning.unwrap().enabled);
    }

    #[test]
    fn messages_decode_with_tools_thinking_and_images() {
        let body = json!({"messages": [
            {"role": "system", "content": "A"},
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"}},
                {"type": "input_audio", "input_audio": {"data": "..", "format": "wav"}}
            ]},
            {"role": "assistant", "reasoning_content": "hmm", "content": "Checking.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get", "arguments": "{\"a\":1}"}},
                {"id": "c2", "type": "function", "function": {"name": "put", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
            {"role": "developer", "content": [{"type": "text", "text": "B"}]},
            {"role": "user", "content": "thanks"},
            {"role": "assistant", "content": null, "refusal": null}
        ]});
        let r = decode_request(&body).unwrap();
        assert_eq!(r.system.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        let expected = vec![
            Message {
                role: Role::User,
                content: vec![
                    text("look"),
                    Part::Image {
                        source: ImageSource::Base64 { media_type: "image/png".into(), data: "AAAA".into() },
                        detail: Some("high".into()),
                        cache: None,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking { text: "hmm".into(), signature: None },
                    text("Checking."),
                    Part::ToolCall { id: "c1".into(), name: "get".into(), arguments: "{\"a\":1}".into() },
                    Part::ToolCall { id: "c2".into(), name: "put".into(), arguments: "{}".into() },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult {
                        call_id: "c1".into(),
                        name: Some("get".into()),
                        content: vec![text("one")],
                        is_error: false,
                        cache: None,
                    },
                    Part::ToolResult {
                        call_id: "c2".into(),
                        name: Some("put".into()),
                        content: vec![text("two")],
                        is_error: false,
                        cache: None,
                    },
                ],
            },
            Message::text(Role::User, "thanks"),
            Message { role: Role::Assistant, content: vec![] },
        ];
        assert_eq!(r.messages, expected);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!([]), None),
            (json!({}), Some("messages")),
            (json!({"messages": {}}), Some("messages")),
            (json!({"messages": [], "temperature": "hot"}), Some("temperature")),
            (json!({"messages": [], "max_tokens": -1}), Some("max_tokens")),
            (json!({"messages": [], "stream": "yes"}), Some("stream")),
            (json!({"messages": [], "stop": 3}), Some("stop")),
            (json!({"messages": [], "stop": ["a", 1]}), Some("stop[1]")),
            (json!({"messages": [], "tool_choice": "sometimes"}), Some("tool_choice")),
            (json!({"messages": [], "tools": [{"type": "function"}]}), Some("tools[0].function")),
            (json!({"messages": [], "tools": [{"type": "function", "function": {}}]}), Some("tools[0].function.name")),
            (json!({"messages": [], "response_format": {"type": "xml"}}), Some("response_format.type")),
            (json!({"messages": [], "stream_options": {"include_usage": 1}}), Some("stream_options.include_usage")),
            (json!({"messages": [], "functions": []}), Some("functions")),
            (json!({"messages": ["hi"]}), Some("messages[0]")),
            (json!({"messages": [{"content": "x"}]}), Some("messages[0].role")),
            (json!({"messages": [{"role": "wizard", "content": "x"}]}), Some("messages[0].role")),
            (json!({"messages": [{"role": "function", "name": "f", "content": "x"}]}), Some("messages[0].role")),
            (json!({"messages": [{"role": "user", "content": 5}]}), Some("messages[0].content")),
            (
                json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text"}]}]}),
                Some("messages[1].content[0].text"),
            ),
            (json!({"messages": [{"role": "tool", "content": "x"}]}), Some("messages[0].tool_call_id")),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": 1}}]}]}),
                Some("messages[0].tool_calls[0].function.arguments"),
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
                Some("messages[0].content[0].image_url"),
            ),
        ];
        for (body, param) in cases {
            let error = decode_request(&body).expect_err(&body.to_string());
            assert_eq!(error.param.as_deref(), param, "{body}: {}", error.message);
            assert!(!error.message.is_empty());
        }
        let error = decode_request(&json!({"messages": [], "temperature": "hot"})).unwrap_err();
        assert_eq!(error.message, "`temperature` must be a number, not a string");
    }

    fn sample_request() -> ChatRequest {
        ChatRequest {
            model: "gpt-4o".into(),
            system: vec![SystemBlock { text: "Be brief.".into(), cache: None }],
            messages: vec![
                Message::text(Role::User, "weather?"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        text("Let me check."),
                        Part::ToolCall {
                            id: "c1".into(),
                            name: "weather".into(),
                            arguments: "{\"city\":\"Oslo\"}".into(),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![Part::ToolResult {
                        call_id: "c1".into(),
                        name: Some("weather".into()),
                        content: vec![text("-3C")],
                        is_error: false,
                        cache: None,
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        text("and this?"),
                        Part::Image { source: ImageSource::Url("https://x/y.png".into()), detail: None, cache: None },
                    ],
                },
            ],
            tools: vec![Tool {
                name: "weather".into(),
                description: Some("Weather by city".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: Some(false),
                cache: None,
            }],
            tool_choice: Some(ToolChoice::Auto),
            parallel_tool_calls: Some(true),
            max_tokens: Some(256),
            temperature: Some(0.2),
            top_p: Some(0.8),
            top_k: None,
            stop: vec!["STOP".into()],
            seed: Some(1),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(0.25),
            n: Some(1),
            response_format: Some(ResponseFormat::JsonObject),
            reasoning: Some(Reasoning { effort: Some("low".into()), budget_tokens: None, enabled: true }),
            stream: true,
            stream_usage: true,
            user: Some("me".into()),
            metadata: None,
        }
    }

    #[test]
    fn requests_round_trip() {
        let request = sample_request();
        assert_eq!(decode_request(&encode_request(&request)).unwrap(), request);
        let minimal = ChatRequest { messages: vec![Message::text(Role::User, "hi")], ..ChatRequest::default() };
        assert_eq!(decode_request(&encode_request(&minimal)).unwrap(), minimal);
    }

    #[test]
    fn encoded_requests_fit_openai() {
        let mut request = sample_request();
        request.system.push(SystemBlock { text: "Second.".into(), cache: None });
        request.messages[2].content = vec![
            Part::ToolResult {
                call_id: "c1".into(),
                name: None,
                content: vec![
                    text("see image"),
                    Part::Image { source: ImageSource::Url("https://i/1.png".into()), detail: None, cache: None },
                ],
                is_error: true,
                cache: None,
            },
            text("also"),
        ];
        request.messages[1].content.insert(0, Part::Thinking { text: "secret".into(), signature: Some("s".into()) });
        request.top_k = Some(40);
        let body = encode_request(&request);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages[0], json!({"role": "system", "content": "Be brief.\n\nSecond."}));
        assert_eq!(messages[2]["content"], "Let me check.");
        assert!(messages[2].get("reasoning_content").is_none(), "thinking is not sent upstream");
        assert_eq!(messages[3], json!({"role": "tool", "tool_call_id": "c1", "content": "Error: see image"}));
        assert_eq!(
            messages[4],
            json!({"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://i/1.png"}},
                {"type": "text", "text": "also"}
            ]})
        );
        assert_eq!(body["max_completion_tokens"], 256);
        assert!(body.get("max_tokens").is_none() && body.get("top_k").is_none());
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        assert_eq!(body["reasoning_effort"], "low");

        // Without tools, no tool_choice / parallel_tool_calls; no stream, no stream_options; usage is always asked.
        let plain = ChatRequest {
            tool_choice: Some(ToolChoice::Required),
            parallel_tool_calls: Some(false),
            reasoning: Some(Reasoning { effort: None, budget_tokens: Some(20_000), enabled: true }),
            ..ChatRequest::default()
        };
        let body = encode_request(&plain);
        for key in ["tool_choice", "parallel_tool_calls", "stream", "stream_options", "tools"] {
            assert!(body.get(key).is_none(), "{key}");
        }
        assert_eq!(body["reasoning_effort"], "high");
        let client_stream = ChatRequest { stream: true, ..ChatRequest::default() };
        assert_eq!(encode_request(&client_stream)["stream_options"]["include_usage"], true);
    }

    #[test]
    fn stop_reasons_map_both_ways() {
        let table = [
            (StopReason::EndTurn, "stop", StopReason::EndTurn),
            (StopReason::StopSequence(Some("X".into())), "stop", StopReason::EndTurn),
            (StopReason::MaxTokens, "length", StopReason::MaxTokens),
            (StopReason::ToolUse, "tool_calls", StopReason::ToolUse),
            (StopReason::ContentFilter, "content_filter", StopReason::ContentFilter),
            (StopReason::PauseTurn, "stop", StopReason::EndTurn),
            (StopReason::Other("weird".into()), "stop", StopReason::EndTurn),
        ];
        for (neutral, wire, back) in table {
            assert_eq!(finish_reason(&neutral), wire);
            assert_eq!(stop_reason(wire), back);
        }
        assert_eq!(stop_reason("function_call"), StopReason::ToolUse);
        assert_eq!(
            stop_reason("insufficient_system_resource"),
            StopReason::Other("insufficient_system_resource".into())
        );
    }

    fn sample_response() -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
            created: 1_700_000_000,
            choices: vec![Choice {
                index: 0,
                content: vec![
                    Part::Thinking { text: "think".into(), signature: None },
                    text("Calling."),
                    Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "{\"a\":1}".into() },
                ],
                stop: Some(StopReason::ToolUse),
            }],
            usage: Some(Usage { input: 100, cached_input: 40, cache_write: 0, output: 30, reasoning: 10 }),
            cost_usd: Some(0.0012),
        }
    }

    #[test]
    fn responses_encode_and_round_trip() {
        let response = sample_response();
        let body = encode_response(&response);
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Calling.",
                    "reasoning_content": "think",
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                    "finish_reason": "tool_calls", "logprobs": null}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130,
                    "prompt_tokens_details": {"cached_tokens": 40}, "completion_tokens_details": {"reasoning_tokens": 10},
                    "cost": 0.0012}
            })
        );
        assert_eq!(decode_response(&body).unwrap(), response);

        // Tool calls only: content null; nothing at all: "".
        let mut only_calls = response.clone();
        only_calls.choices[0].content.drain(..2);
        assert_eq!(encode_response(&only_calls)["choices"][0]["message"]["content"], Value::Null);
        let mut empty = response;
        empty.choices[0].content.clear();
        empty.usage = None;
        let body = encode_response(&empty);
        assert_eq!(body["choices"][0]["message"], json!({"role": "assistant", "content": ""}));
        assert!(body.get("usage").is_none());
        assert_eq!(decode_response(&body).unwrap().usage, None);
    }

    #[test]
    fn upstream_responses_decode() {
        // OpenAI's documented shape, plus DeepSeek and OpenRouter extras.
        let body = json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image shows a wooden boardwalk.",
                "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035"
        });
        let r = decode_response(&body).unwrap();
        assert_eq!(r.choices[0].content, vec![text("The image shows a wooden boardwalk.")]);
        assert_eq!(r.choices[0].stop, Some(StopReason::EndTurn));
        assert_eq!(r.usage, Some(Usage { input: 1117, cached_input: 0, cache_write: 0, output: 46, reasoning: 0 }));

        let deepseek = json!({"id": "x", "model": "deepseek-reasoner", "created": 1, "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_cache_hit_tokens": 8,
                "prompt_tokens_details": null, "cost": null}});
        let r = decode_response(&deepseek).unwrap();
        assert_eq!(r.choices[0].content[0], Part::Thinking { text: "2+2".into(), signature: None });
        assert_eq!(r.choices[0].stop, Some(StopReason::MaxTokens));
        assert_eq!(r.usage.unwrap().cached_input, 8);
        assert_eq!(r.cost_usd, None);

        let openrouter = json!({"id": "gen-1", "model": "a/b", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": "hi", "reasoning": "short"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.5,
                "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 3}}});
        let r = decode_response(&openrouter).unwrap();
        assert_eq!(r.usage, Some(Usage { input: 10, cached_input: 2, cache_write: 3, output: 5, reasoning: 0 }));
        assert_eq!(r.cost_usd, Some(0.5));
        assert_eq!(r.choices[0].content[0], Part::Thinking { text: "short".into(), signature: None });

        let error = decode_response(&json!({"error": {"message": "bad key", "type": "invalid_request_error"}}));
        assert_eq!(error.unwrap_err().message, "bad key");
    }

    #[test]
    fn text_stream_decodes() {
        let events = decode_all(&sse(include_str!("fixtures/openai_chat/stream_text.sse")));
        assert_eq!(
            events,
            vec![
                StreamEvent::Start { id: "chatcmpl-123".into(), model: "gpt-4o-mini".into(), created: 1694268190 },
                StreamEvent::TextDelta { choice: 0, text: "Hello".into() },
                StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
                StreamEvent::Usage {
                    usage: Usage { input: 9, cached_input: 0, cache_write: 0, output: 12, reasoning: 0 },
                    cost_usd: None
                },
            ]
        );
    }

    #[test]
    fn parallel_tool_call_stream_decodes_in_order() {
        let events = decode_all(&sse(include_str!("fixtures/openai_chat/stream_parallel_tools.sse")));
        assert_eq!(
            events[1..],
            [
                StreamEvent::ToolCallStart { choice: 0, index: 0, id: "call_a".into(), name: "get_weather".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"city\": ".into() },
                StreamEvent::ToolCallStart { choice: 0, index: 1, id: "call_b".into(), name: "get_time".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "{\"tz\": ".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "\"Paris\"}".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 1, arguments: "\"CET\"}".into() },
                StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
                StreamEvent::Usage {
                    usage: Usage { input: 120, cached_input: 64, cache_write: 0, output: 40, reasoning: 0 },
                    cost_usd: None
                },
            ]
        );
    }

    #[test]
    fn reasoning_stream_and_odd_chunks_decode() {
        let events = decode_all(&sse(include_str!("fixtures/openai_chat/stream_deepseek_reasoning.sse")));
        assert_eq!(
            events[1..],
            [
                StreamEvent::ThinkingDelta { choice: 0, text: "Let me think.".into() },
                StreamEvent::TextDelta { choice: 0, text: "42".into() },
                StreamEvent::Stop { choice: 0, reason: StopReason::EndTurn },
                StreamEvent::Usage {
                    usage: Usage { input: 10, cached_input: 0, cache_write: 0, output: 20, reasoning: 15 },
                    cost_usd: None
                },
            ]
        );

        let mut decoder = StreamDecoder::new();
        let error = SseEvent {
            event: None,
            data: r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":429}}"#.into(),
        };
        assert_eq!(
            decoder.decode(&error).unwrap(),
            vec![StreamEvent::Error { message: "Rate limit reached".into(), kind: "rate_limit_error".into() }]
        );
        assert!(decoder.decode(&SseEvent { event: None, data: "{not json".into() }).is_err());
        assert!(decoder.decode(&SseEvent { event: None, data: "[DONE]".into() }).unwrap().is_empty());

        // A whole call in one chunk, with the id repeated on a later fragment (seen from some hosts).
        let mut decoder = StreamDecoder::new();
        let whole = r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}"#;
        let again = r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"arguments":" "}}]}}]}"#;
        let events: Vec<_> = [whole, again]
            .iter()
            .flat_map(|d| decoder.decode(&SseEvent { event: None, data: (*d).into() }).unwrap())
            .collect();
        assert_eq!(
            events[1..],
            [
                StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c".into(), name: "f".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{}".into() },
                StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: " ".into() },
            ]
        );
    }

    fn neutral_stream() -> Vec<StreamEvent> {
        vec![
            StreamEvent::Start { id: "chatcmpl-x".into(), model: "m".into(), created: 1_700_000_000 },
            StreamEvent::ThinkingDelta { choice: 0, text: "hm".into() },
            StreamEvent::ThinkingSignature { choice: 0, signature: "sig".into() },
            StreamEvent::TextDelta { choice: 0, text: "Hi".into() },
            StreamEvent::ToolCallStart { choice: 0, index: 0, id: "c1".into(), name: "f".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "{\"a\":".into() },
            StreamEvent::ToolCallDelta { choice: 0, index: 0, arguments: "1}".into() },
            StreamEvent::Stop { choice: 0, reason: StopReason::ToolUse },
            StreamEvent::Usage {
                usage: Usage { input: 5, cached_input: 1, cache_write: 0, output: 7, reasoning: 2 },
                cost_usd: Some(0.25),
            },
        ]
    }

    fn encode_all(include_usage: bool, events: &[StreamEvent]) -> Vec<SseEvent> {
        let mut encoder = StreamEncoder::new(include_usage);
        let mut out: Vec<SseEvent> = events.iter().flat_map(|e| encoder.encode(e)).collect();
        out.extend(encoder.finish());
        assert!(encoder.finish().is_empty(), "[DONE] once");
        out
    }

    #[test]
    fn encoded_stream_is_well_formed() {
        let events = neutral_stream();
        let out = encode_all(true, &events);
        assert!(out.iter().all(|e| e.event.is_none()));
        assert_eq!(out.last().unwrap().data, "[DONE]");
        let chunks: Vec<Value> = out[..out.len() - 1].iter().map(|e| parse(&e.data)).collect();
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!((chunk["id"].as_str(), chunk["created"].as_u64()), (Some("chatcmpl-x"), Some(1_700_000_000)));
        }
        let deltas: Vec<&Value> = chunks[..chunks.len() - 1].iter().map(|c| &c["choices"][0]["delta"]).collect();
        assert_eq!(*deltas[0], json!({"role": "assistant", "content": ""}));
        assert_eq!(*deltas[1], json!({"reasoning_content": "hm"}));
        assert_eq!(*deltas[2], json!({"content": "Hi"}));
        assert_eq!(
            *deltas[3],
            json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]})
        );
        assert_eq!(*deltas[4], json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}));
        assert_eq!(*deltas[6], json!({}));
        assert_eq!(chunks[6]["choices"][0]["finish_reason"], "tool_calls");
        assert!(chunks[..6].iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
        let usage = chunks.last().unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 12);
        assert_eq!(usage["usage"]["cost"], 0.25);

        // Without include_usage: no usage chunk.
        let out = encode_all(false, &events);
        assert_eq!(out.len(), 7 + 1);
        assert!(out.iter().all(|e| !e.data.contains("\"usage\"")));

        // And back: the same events, less what OpenAI cannot say (the signature).
        let decoded = decode_all(&encode_all(true, &events));
        let expected: Vec<_> =
            events.into_iter().filter(|e| !matches!(e, StreamEvent::ThinkingSignature { .. })).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn encoded_stream_errors_and_late_starts() {
        let out = encode_all(
            false,
            &[
                StreamEvent::TextDelta { choice: 1, text: "x".into() },
                StreamEvent::Error { message: "upstream died".into(), kind: "upstream_error".into() },
            ],
        );
        assert_eq!(parse(&out[0].data)["choices"][0]["delta"]["role"], "assistant", "role first, even without Start");
        assert_eq!(parse(&out[0].data)["choices"][0]["index"], 1);
        assert_eq!(
            parse(&out[2].data),
            json!({"error": {"message": "upstream died", "type": "upstream_error", "code": null, "param": null}})
        );
        assert_eq!(out[3].data, "[DONE]");
    }
}
