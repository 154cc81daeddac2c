//! Google Gemini (`generateContent` / `streamGenerateContent?alt=sse`, v1beta) wire format, outbound only: neutral
//! requests become Gemini bodies, Gemini answers and stream chunks become neutral responses and events.
//!
//! Choices made here, each checked against the public Gemini API reference:
//! - **Schemas** go in the classic `parameters` / `responseSchema` fields (Gemini's OpenAPI-3.0 `Schema` subset),
//!   not `parametersJsonSchema` / `responseJsonSchema`: the JSON-Schema fields exist in v1beta but are not accepted
//!   by every endpoint and model, while the classic ones are. The price is [`sanitize_schema`]: a whitelist of the
//!   `Schema` message's fields (Gemini rejects the whole request on the first unknown key), with local `$ref`s
//!   inlined, `type: [.., "null"]` turned into `nullable`, `const` into `enum` and `oneOf` into `anyOf`.
//! - **Thought signatures** (`Part.thoughtSignature`) may sit on a thought part, a text part or a `functionCall`
//!   part, and must come back on the same part. A signed thought part becomes `Thinking { text, signature }`; a
//!   signature on any other part becomes an empty `Thinking { text: "", signature }` just before that part, and
//!   on the way back such an empty signed `Thinking` is put onto the part that follows it. Signatures are marked as
//!   Gemini's in the neutral form (`Signature::gemini`); thinking that is unsigned or signed by another provider is
//!   dropped from requests (Gemini reads nothing from the one and rejects the other). When the first `functionCall` of a model turn has no
//!   signature (history from a client that lost it, or from another model), the documented
//!   `skip_thought_signature_validator` sentinel is sent so Gemini 3 does not reject the request.
//! - **Call ids**: `functionCall.id` / `functionResponse.id` are sent; answers without one get `call_<n>`.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::neutral::{
    ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Signature,
    StopReason, StreamEvent, ToolChoice, Usage,
};
use super::{ProtocolError, SseEvent};

/// The signature value Gemini documents for function calls it did not sign (history from elsewhere).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The thinking budget when reasoning is on but the client named neither a budget nor a known effort.
const DEFAULT_THINKING_BUDGET: u32 = 8192;

/// The largest `thinkingBudget` Gemini Flash models accept.
const FLASH_MAX_THINKING_BUDGET: u32 = 24_576;

/// How deep local `$ref`s are inlined before giving up (recursive schemas).
const MAX_REF_DEPTH: usize = 8;

/// The URL path suffix for a model: `models/{model}:generateContent` or `models/{model}:streamGenerateContent?alt=sse`.
/// A model id given as `models/x` is not doubled.
pub fn method_path(model: &str, stream: bool) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    if stream {
        format!("models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("models/{model}:generateContent")
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------------

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
fn parse_arguments(arguments: &str) -> Value {
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

// ---------------------------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------------------------

/// A JSON Schema reduced to what Gemini's `Schema` message accepts (an OpenAPI 3.0 subset), recursively:
/// - kept: `type` (upper-cased), `format` (only values Gemini acts on), `title`, `description`, `nullable`,
///   `enum` (as strings), `items`, `minItems`, `maxItems`, `properties`, `required`, `propertyOrdering`,
///   `minProperties`, `maxProperties`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `anyOf`,
///   `default`, `example`;
/// - translated: `type: [T, "null"]` → `type: T, nullable: true` (several types → `anyOf`), `anyOf` members of
///   type null → `nullable`, `oneOf` → `anyOf`, `const` → one-value `enum`, `allOf` → its members merged, a local
///   `$ref` (`#/$defs/..`, `#/definitions/..`) → the definition inlined (up to [`MAX_REF_DEPTH`] deep; deeper or
///   unresolvable refs become an untyped schema);
/// - dropped: everything else (`$schema`, `$id`, `additionalProperties`, `strict`, `exclusiveMinimum`,
///   `uniqueItems`, `patternProperties`, `not`, `if`/`then`/`else`, …). A nested `OBJECT` without properties
///   loses its `type` (Gemini rejects empty-property objects) and so accepts any value.
pub fn sanitize_schema(schema: &Value) -> Value {
    sanitize_node(schema, schema, 0)
}

fn sanitize_node(node: &Value, root: &Value, depth: usize) -> Value {
    let Some(object) = node.as_object() else {
        return json!({});
    };

    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let resolved = (depth < MAX_REF_DEPTH).then(|| resolve_ref(root, reference)).flatten();
        let mut out = match resolved {
            Some(target) => sanitize_node(target, root, depth + 1),
            None => json!({}),
        };
        // Siblings of `$ref` that describe it (2019-09+ allows them) are kept.
        if let (Some(description), Some(out)) = (object.get("description"), out.as_object_mut()) {
            out.insert("description".into(), description.clone());
        }
        return out;
    }

    // `allOf`: merge the members into this node, then sanitize the whole.
    if let Some(Value::Array(members)) = object.get("allOf") {
        let mut merged = object.clone();
        merged.remove("allOf");
        for member in members {
            let member = match member.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve_ref(root, reference).unwrap_or(member),
                None => member,
            };
            if let Some(member) = member.as_object() {
                merge_schema(&mut merged, member);
            }
        }
        return sanitize_node(&Value::Object(merged), root, depth + 1);
    }

    let mut out = Map::new();
    let mut nullable = object.get("nullable").and_then(Value::as_bool).unwrap_or(false);

    match object.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".into(), json!(t.to_ascii_uppercase()));
        }
        Some(Value::Array(types)) => {
            let non_null: Vec<&str> = types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            nullable |= non_null.len() < types.len();
            match non_null.as_slice() {
                [] => {}
                [single] => {
                    out.insert("type".into(), json!(single.to_ascii_uppercase()));
                }
                several => {
                    let variants: Vec<Value> =
                        several.iter().map(|t| json!({ "type": t.to_ascii_uppercase() })).collect();
                    out.insert("anyOf".into(), Value::Array(variants));
                }
            }
        }
        _ => {}
    }

    for key in ["title", "description", "pattern", "default", "example"] {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(format) = object.get("format").and_then(Value::as_str)
        && matches!(format, "enum" | "date-time" | "int32" | "int64" | "float" | "double")
    {
        out.insert("format".into(), json!(format));
    }
    for key in ["minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"] {
        if let Some(value) = object.get(key).filter(|v| v.is_u64()) {
            out.insert(key.into(), value.clone());
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(value) = object.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), value.clone());
        }
    }

    let enumeration = match (object.get("enum"), object.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (None, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    };
    if let Some(values) = enumeration {
        nullable |= values.iter().any(Value::is_null);
        let strings: Vec<Value> = values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => json!(s),
                other => json!(other.to_string()),
            })
            .collect();
        if !strings.is_empty() {
            out.insert("enum".into(), Value::Array(strings));
            // Gemini's enums are string-typed; a non-string enum would not validate against its own type.
            if out.get("type").and_then(Value::as_str).is_some_and(|t| t != "STRING") {
                out.insert("type".into(), json!("STRING"));
            }
            out.entry("type").or_insert_with(|| json!("STRING"));
        }
    }

    if let Some(items) = object.get("items") {
        let items = match items {
            // Tuple form (draft 4-2019): the first item's schema is the best single answer.
            Value::Array(list) => list.first().cloned().unwrap_or_else(|| json!({})),
            other => other.clone(),
        };
        out.insert("items".into(), sanitize_node(&items, root, depth));
    }

    if let Some(Value::Object(properties)) = object.get("properties") {
        let sanitized: Map<String, Value> =
            properties.iter().map(|(name, schema)| (name.clone(), sanitize_node(schema, root, depth))).collect();
        if let Some(Value::Array(required)) = object.get("required") {
            let required: Vec<Value> =
                required.iter().filter(|r| r.as_str().is_some_and(|r| sanitized.contains_key(r))).cloned().collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        if let Some(Value::Array(ordering)) = object.get("propertyOrdering") {
            out.insert("propertyOrdering".into(), Value::Array(ordering.clone()));
        }
        if !sanitized.is_empty() {
            out.insert("properties".into(), Value::Object(sanitized));
        }
    }

    let alternatives = match (object.get("anyOf"), object.get("oneOf")) {
        (Some(Value::Array(list)), _) | (None, Some(Value::Array(list))) => Some(list),
        _ => None,
    };
    if let Some(alternatives) = alternatives {
        let mut variants = Vec::new();
        for alternative in alternatives {
            if alternative.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else {
                variants.push(sanitize_node(alternative, root, depth));
            }
        }
        if variants.len() == 1 && out.get("type").is_none() {
            // `anyOf: [X, null]`, the usual Optional[X]: X itself, nullable.
            if let Some(Value::Object(single)) = variants.pop() {
                for (key, value) in single {
                    out.entry(key).or_insert(value);
                }
            }
        } else if !variants.is_empty() {
            out.insert("anyOf".into(), Value::Array(variants));
        }
    }

    if nullable {
        out.insert("nullable".into(), json!(true));
    }

    // An object without properties is rejected; below the root, leave it untyped (any value) instead.
    if depth > 0 || !std::ptr::eq(node, root) {
        let empty_object = out.get("type").and_then(Value::as_str) == Some("OBJECT") && !out.contains_key("properties");
        if empty_object {
            out.remove("type");
            out.remove("required");
        }
    }
    Value::Object(out)
}

/// `#/$defs/Name`, `#/definitions/Name` or any other local JSON pointer.
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// `allOf` member into its parent: properties and required lists unioned, other keys kept from the parent first.
fn merge_schema(into: &mut Map<String, Value>, member: &Map<String, Value>) {
    for (key, value) in member {
        match (key.as_str(), into.get_mut(key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.entry(name.clone()).or_insert_with(|| schema.clone());
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(name) {
                        existing.push(name.clone());
                    }
                }
            }
            (_, None, _) => {
                into.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------------

/// A Gemini `GenerateContentResponse` → neutral. An `{"error": ..}` body is an `Err`; a prompt blocked before
/// any candidate (`promptFeedback.blockReason`) is one empty choice stopped by `ContentFilter`.
pub fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    let object = body.as_object().ok_or_else(|| ProtocolError::new("Gemini response is not a JSON object"))?;
    if let Some(error) = object.get("error") {
        let (message, _) = error_fields(error);
        return Err(ProtocolError::at("error", message));
    }

    let mut ids = CallIds::default();
    let mut choices = Vec::new();
    if let Some(candidates) = object.get("candidates") {
        let candidates =
            candidates.as_array().ok_or_else(|| ProtocolError::at("candidates", "`candidates` is not an array"))?;
        for (position, candidate) in candidates.iter().enumerate() {
            let index = candidate_index(candidate, position);
            let mut content = Vec::new();
            for part in candidate_parts(candidate) {
                decode_part(part, &mut ids, &mut content);
            }
            let has_call = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
            let stop = candidate.get("finishReason").and_then(Value::as_str).map(|r| stop_reason(r, has_call));
            choices.push(Choice { index, content, stop });
        }
    }
    if choices.is_empty() {
        let blocked = object.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some();
        choices.push(Choice { index: 0, content: Vec::new(), stop: blocked.then_some(StopReason::ContentFilter) });
    }

    Ok(ChatResponse {
        id: response_id(body),
        model: body.get("modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created: now(),
        choices,
        usage: body.get("usageMetadata").map(decode_usage),
        cost_usd: None,
    })
}

/// Ids for function calls Gemini sent without one: `call_0`, `call_1`, … unique within one response or stream.
#[derive(Debug, Default)]
struct CallIds {
    next: u32,
}

impl CallIds {
    fn id_for(&mut self, call: &Value) -> String {
        match call.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => {
                let id = format!("call_{}", self.next);
                self.next += 1;
                id
            }
        }
    }
}

fn decode_part(part: &Value, ids: &mut CallIds, out: &mut Vec<Part>) {
    let signature = part.get("thoughtSignature").and_then(Value::as_str).map(Signature::gemini);
    let thought = part.get("thought").and_then(Value::as_bool).unwrap_or(false);

    if let Some(call) = part.get("functionCall") {
        if let Some(signature) = signature {
            out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
        }
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(Part::ToolCall { id: ids.id_for(call), name, arguments: call_arguments(call) });
    } else if let Some(text) = part.get("text").and_then(Value::as_str) {
        if thought {
            out.push(Part::Thinking { text: text.to_owned(), signature });
        } else {
            if let Some(signature) = signature {
                out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
            }
            if !text.is_empty() {
                out.push(Part::Text { text: text.to_owned(), cache: None });
            }
        }
    } else if let Some(inline) = part.get("inlineData") {
        let media_type = inline.get("mimeType").and_then(Value::as_str).unwrap_or("application/octet-stream");
        let data = inline.get("data").and_then(Value::as_str).unwrap_or_default();
        out.push(Part::Image {
            source: ImageSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() },
            detail: None,
            cache: None,
        });
    } else if let Some(signature) = signature {
        // A part carrying only a signature (seen at the end of some streams).
        out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
    }
}

/// `args` as compact JSON text (`{}` when absent).
fn call_arguments(call: &Value) -> String {
    match call.get("args") {
        Some(args @ Value::Object(_)) => args.to_string(),
        _ => "{}".to_owned(),
    }
}

fn candidate_parts(candidate: &Value) -> &[Value] {
    candidate.get("content").and_then(|c| c.get("parts")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// `index` is omitted for the first candidate (proto3 default).
fn candidate_index(candidate: &Value, position: usize) -> u32 {
    candidate
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX))
}

/// Gemini's `finishReason` → neutral. `STOP` after a function call is `ToolUse`: Gemini has no reason of its own.
pub fn stop_reason(reason: &str, has_tool_call: bool) -> StopReason {
    match reason {
        "STOP" if has_tool_call => StopReason::ToolUse,
        "STOP" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            StopReason::ContentFilter
        }
        other => StopReason::Other(other.to_owned()),
    }
}

/// `usageMetadata` → neutral. Gemini's `promptTokenCount` already includes cached tokens; tool-use prompt tokens
/// (grounding and other built-in tools) are prompt tokens too. `candidatesTokenCount` excludes thoughts.
fn decode_usage(metadata: &Value) -> Usage {
    let count = |key: &str| metadata.get(key).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Usage {
        input: count("promptTokenCount") + count("toolUsePromptTokenCount"),
        cached_input: count("cachedContentTokenCount"),
        cache_write: 0,
        output: count("candidatesTokenCount") + thoughts,
        reasoning: thoughts,
    }
}

fn response_id(body: &Value) -> String {
    match body.get("responseId").and_then(Value::as_str).filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            format!("gemini-{nanos:x}")
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `{"code", "message", "status"}` → (message, kind).
fn error_fields(error: &Value) -> (String, String) {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Gemini error: {error}"));
    let kind = error.get("status").and_then(Value::as_str).unwrap_or("upstream_error").to_owned();
    (message, kind)
}

// ---------------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------------

/// Reads `streamGenerateContent?alt=sse`: every `data:` is a whole `GenerateContentResponse` holding the next
/// parts. Gemini sends function calls whole, so each is a `ToolCallStart` and one `ToolCallDelta`. Usage comes on
/// many chunks (complete only on the last); the latest is kept and sent once, when every choice has stopped or
/// at [`StreamDecoder::finish`].
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    ids: CallIds,
    /// Per choice: calls so far (the next tool index) and whether it stopped.
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    usage_sent: bool,
}

#[derive(Debug, Default)]
struct ChoiceState {
    calls: u32,
    stopped: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| ProtocolError::new(format!("Gemini stream chunk is not JSON: {e}")))?;
        let mut out = Vec::new();

        if let Some(error) = chunk.get("error") {
            let (message, kind) = error_fields(error);
            out.push(StreamEvent::Error { message, kind });
            return Ok(out);
        }
        if !chunk.is_object() {
            return Err(ProtocolError::new("Gemini stream chunk is not a JSON object"));
        }

        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: response_id(&chunk),
                model: chunk.get("modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
                created: now(),
            });
        }

        if let Some(metadata) = chunk.get("usageMetadata") {
            self.usage = Some(decode_usage(metadata));
        }

        let candidates = chunk.get("candidates").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        for (position, candidate) in candidates.iter().enumerate() {
            let choice = candidate_index(candidate, position);
            for part in candidate_parts(candidate) {
                self.decode_part(choice, part, &mut out);
            }
            if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
                let state = self.choices.entry(choice).or_default();
                if !state.stopped {
                    state.stopped = true;
                    out.push(StreamEvent::Stop { choice, reason: stop_reason(reason, state.calls > 0) });
                }
            }
        }

        if candidates.is_empty() && chunk.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some() {
            let state = self.choices.entry(0).or_default();
            if !state.stopped {
                state.stopped = true;
                out.push(StreamEvent::Stop { choice: 0, reason: StopReason::ContentFilter });
            }
        }

        let all_stopped = !self.choices.is_empty() && self.choices.values().all(|c| c.stopped);
        if all_stopped && chunk.get("usageMetadata").is_some() {
            out.extend(self.take_usage());
        }
        Ok(out)
    }

    /// The usage reported so far (every chunk carries the prompt's), for a stream that broke before its end.
    pub fn usage_so_far(&self) -> Option<Usage> {
        self.usage
    }

    /// The end of the upstream stream: the usage, if it was not sent yet.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        self.take_usage().into_iter().collect()
    }

    fn take_usage(&mut self) -> Option<StreamEvent> {
        if self.usage_sent {
            return None;
        }
        let usage = self.usage?;
        self.usage_sent = true;
        Some(StreamEvent::Usage { usage, cost_usd: None })
    }

    fn decode_part(&mut self, choice: u32, part: &Value, out: &mut Vec<StreamEvent>) {
        let signature = part.get("thoughtSignature").and_then(Value::as_str).map(Signature::gemini);
        let thought = part.get("thought").and_then(Value::as_bool).unwrap_or(false);
        let signature_event = |signature: String| StreamEvent::ThinkingSignature { choice, signature };

        if let Some(call) = part.get("functionCall") {
            out.extend(signature.map(signature_event));
            let state = self.choices.entry(choice).or_default();
            let index = state.calls;
            state.calls += 1;
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            out.push(StreamEvent::ToolCallStart { choice, index, id: self.ids.id_for(call), name });
            out.push(StreamEvent::ToolCallDelta { choice, index, arguments: call_arguments(call) });
            return;
        }
        self.choices.entry(choice).or_default();
        match part.get("text").and_then(Value::as_str) {
            Some(text) if thought => {
                if !text.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { choice, text: text.to_owned() });
                }
                out.extend(signature.map(signature_event));
            }
            Some(text) => {
                out.extend(signature.map(signature_event));
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { choice, text: text.to_owned() });
                }
            }
            None => out.extend(signature.map(signature_event)),
        }
    }
}

#[cfg(test)]
#[path = "tests/gemini.rs"]
mod tests;
