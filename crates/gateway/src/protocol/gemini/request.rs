//! Requests: the neutral [`ChatRequest`] as a Gemini `generateContent` body (see the module docs of [`super`]).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::schema::sanitize_schema;
use super::{DEFAULT_THINKING_BUDGET, FLASH_MAX_THINKING_BUDGET, SKIP_SIGNATURE};
use crate::protocol::neutral::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature, ToolChoice,
};

/// Neutral request → Gemini `generateContent` body. The model goes in the URL ([`method_path`]), not here.
/// Not representable in Gemini and dropped: `parallel_tool_calls`, `user`, `metadata`, cache hints, redacted
/// thinking and unsigned thinking.
pub fn encode_request(request: &ChatRequest) -> Value {
    let mut body = Map::new();

    let system: Vec<Value> =
        request.system.iter().filter(|b| !b.text.is_empty()).map(|b| json!({ "text": b.text })).collect();
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }

    // Names of earlier calls, for tool results that do not carry one (OpenAI `tool` messages).
    let call_names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();

    let mut contents: Vec<(Role, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        let parts = encode_parts(message, &call_names);
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some((role, existing)) if *role == message.role => existing.extend(parts),
            _ => contents.push((message.role, parts)),
        }
    }
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, mut parts)| {
            if role == Role::Assistant {
                sign_first_call(&mut parts);
            }
            json!({ "role": role_name(role), "parts": parts })
        })
        .collect();
    body.insert("contents".into(), Value::Array(contents));

    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut decl = Map::new();
                decl.insert("name".into(), json!(tool.name));
                if let Some(description) = &tool.description {
                    decl.insert("description".into(), json!(description));
                }
                if let Some(parameters) = function_parameters(&tool.parameters) {
                    decl.insert("parameters".into(), parameters);
                }
                Value::Object(decl)
            })
            .collect();
        body.insert("tools".into(), json!([{ "functionDeclarations": declarations }]));
    }

    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({ "mode": "AUTO" }),
            ToolChoice::None => json!({ "mode": "NONE" }),
            ToolChoice::Required => json!({ "mode": "ANY" }),
            ToolChoice::Named(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
        };
        body.insert("toolConfig".into(), json!({ "functionCallingConfig": config }));
    }

    let config = generation_config(request);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(body)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "model",
    }
}

/// One neutral message's parts as Gemini parts. An empty signed `Thinking` hands its signature to the next part.
fn encode_parts(message: &Message, call_names: &HashMap<&str, &str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pending_signature: Option<&str> = None;
    for part in &message.content {
        let mut encoded = match part {
            Part::Text { text, .. } => {
                if text.is_empty() && pending_signature.is_none() {
                    continue;
                }
                json!({ "text": text })
            }
            Part::Image { source, .. } => encode_image(source),
            Part::ToolCall { id, name, arguments } => {
                let mut call = Map::new();
                if !id.is_empty() {
                    call.insert("id".into(), json!(id));
                }
                call.insert("name".into(), json!(name));
                call.insert("args".into(), parse_arguments(arguments));
                json!({ "functionCall": call })
            }
            Part::ToolResult { call_id, name, content, is_error, .. } => {
                let name = name.as_deref().or_else(|| call_names.get(call_id.as_str()).copied()).unwrap_or(call_id);
                let text = content
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text { text, .. } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let response = if *is_error {
                    json!({ "error": text })
                } else {
                    match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Object(object)) => Value::Object(object),
                        _ => json!({ "result": text }),
                    }
                };
                let mut function_response = Map::new();
                if !call_id.is_empty() {
                    function_response.insert("id".into(), json!(call_id));
                }
                function_response.insert("name".into(), json!(name));
                function_response.insert("response".into(), response);
                out.push(json!({ "functionResponse": function_response }));
                // Images a tool returned follow its response as ordinary parts of the same turn.
                for inner in content {
                    if let Part::Image { source, .. } = inner {
                        out.push(encode_image(source));
                    }
                }
                continue;
            }
            // Only Gemini's own signatures go back to Gemini; another provider's thinking is dropped.
            Part::Thinking { text, signature } => match signature.as_deref().map(Signature::of) {
                Some(Signature::Gemini(signature)) if text.is_empty() => {
                    pending_signature = Some(signature);
                    continue;
                }
                Some(Signature::Gemini(signature)) => {
                    json!({ "text": text, "thought": true, "thoughtSignature": signature })
                }
                Some(Signature::Anthropic(_)) | None => continue,
            },
            Part::RedactedThinking { .. } => continue,
        };
        if let (Some(signature), Some(object)) = (pending_signature.take(), encoded.as_object_mut()) {
            object.insert("thoughtSignature".into(), json!(signature));
        }
        out.push(encoded);
    }
    out
}

/// Gemini 3 rejects a model turn whose first `functionCall` part is unsigned; give it the documented sentinel.
fn sign_first_call(parts: &mut [Value]) {
    if let Some(first_call) = parts.iter_mut().find(|p| p.get("functionCall").is_some())
        && first_call.get("thoughtSignature").is_none()
        && let Some(object) = first_call.as_object_mut()
    {
        object.insert("thoughtSignature".into(), json!(SKIP_SIGNATURE));
    }
}

fn encode_image(source: &ImageSource) -> Value {
    match source {
        ImageSource::Base64 { media_type, data } => json!({ "inlineData": { "mimeType": media_type, "data": data } }),
        ImageSource::Url(url) => json!({ "fileData": { "mimeType": guess_mime(url), "fileUri": url } }),
    }
}

/// A MIME type from a URL's file extension; `image/jpeg` when it says nothing known.
fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

/// Tool-call arguments (JSON text) as the `args` object; `{}` when empty, invalid or not an object.
pub(super) fn parse_arguments(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ => json!({}),
    }
}

/// A tool's parameters for `functionDeclarations[].parameters`, or `None` for a function without parameters
/// (Gemini rejects an `OBJECT` whose `properties` are empty).
fn function_parameters(schema: &Value) -> Option<Value> {
    let sanitized = sanitize_schema(schema);
    let has_properties = sanitized.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
    let is_object = sanitized.get("type").and_then(Value::as_str) == Some("OBJECT");
    if is_object && !has_properties { None } else { Some(sanitized) }
}

fn generation_config(request: &ChatRequest) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(v) = request.max_tokens {
        config.insert("maxOutputTokens".into(), json!(v));
    }
    if let Some(v) = request.temperature {
        config.insert("temperature".into(), json!(v));
    }
    if let Some(v) = request.top_p {
        config.insert("topP".into(), json!(v));
    }
    if let Some(v) = request.top_k {
        config.insert("topK".into(), json!(v));
    }
    if !request.stop.is_empty() {
        config.insert("stopSequences".into(), json!(request.stop));
    }
    if let Some(v) = request.seed {
        config.insert("seed".into(), json!(v));
    }
    if let Some(v) = request.presence_penalty {
        config.insert("presencePenalty".into(), json!(v));
    }
    if let Some(v) = request.frequency_penalty {
        config.insert("frequencyPenalty".into(), json!(v));
    }
    if let Some(v) = request.n {
        config.insert("candidateCount".into(), json!(v));
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseSchema".into(), sanitize_schema(schema));
        }
    }
    if let Some(reasoning) = &request.reasoning
        && let Some(thinking) = thinking_config(&request.model, reasoning)
    {
        config.insert("thinkingConfig".into(), thinking);
    }
    config
}

/// `thinkingConfig` for a reasoning setting. Flash models take at most [`FLASH_MAX_THINKING_BUDGET`]; Pro models
/// cannot stop thinking (a budget of 0 is an error), so "disabled" sends nothing to them.
fn thinking_config(model: &str, reasoning: &Reasoning) -> Option<Value> {
    let model = model.to_ascii_lowercase();
    if !reasoning.enabled {
        return (!model.contains("-pro")).then(|| json!({ "thinkingBudget": 0 }));
    }
    let mut budget = reasoning.budget_or(DEFAULT_THINKING_BUDGET);
    if model.contains("flash") {
        budget = budget.min(FLASH_MAX_THINKING_BUDGET);
    }
    Some(json!({ "thinkingBudget": budget, "includeThoughts": true }))
}
