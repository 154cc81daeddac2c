//! Requests: a client's chat-completions body to the neutral [`ChatRequest`], and the neutral form to an upstream's
//! body (see the module docs of [`super`]).

use serde_json::{Map, Value, json};

use crate::protocol::ProtocolError;
use crate::protocol::fields::{
    as_object, decode_cache, field, fill_tool_result_names, get_array, get_bool, get_f64, get_i64, get_object, get_str,
    get_u32, join, required, text_of, wrong_type,
};
use crate::protocol::neutral::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, SystemBlock, Tool, ToolChoice,
};

/// `tool_choice` given as a string, as both OpenAI chat and Responses accept it.
pub(crate) fn tool_choice_mode(mode: &str) -> Result<ToolChoice, ProtocolError> {
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
pub(super) fn decode_parts(content: Option<&Value>, path: &str) -> Result<Vec<Part>, ProtocolError> {
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
