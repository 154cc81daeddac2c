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

/// `tool_choice` given as a string, as both OpenAI chat and Responses accept it.
pub(super) fn tool_choice_mode(mode: &str) -> Result<ToolChoice, ProtocolError> {
    match mode {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" => Ok(ToolChoice::Required),
        other => Err(ProtocolError::at(
            "tool_choice",
            format!("unknown tool_choice `{other}`; expected auto, none, required or a function object"),
        )),
    }
}

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
        Some(Value::String(mode)) => Some(tool_choice_mode(mode)?),
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
#[path = "tests/openai_chat.rs"]
mod tests;
