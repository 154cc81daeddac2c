//! Client requests: a Gemini `GenerateContentRequest` (Gemini CLI, the google-genai SDKs) to the neutral
//! [`ChatRequest`] (see the module docs of [`super`]).

use serde_json::{Map, Value, json};

use super::camel;
use super::schema::to_json_schema;
use super::signatures::{self, Carried};
use crate::protocol::ProtocolError;
use crate::protocol::fields::{
    as_object, field, get_array, get_bool, get_f64, get_i64, get_object, get_str, get_u32, join, required, wrong_type,
};
use crate::protocol::neutral::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, SystemBlock, Tool, ToolChoice,
};

/// Reads a client's `generateContent` / `streamGenerateContent` body. The model is in the URL, not here, and so is
/// whether to stream (the method): `stream`.
pub fn decode_request(body: &Value, stream: bool) -> Result<ChatRequest, ProtocolError> {
    let root = camel(as_object(body, "")?);
    if field(&root, "cachedContent").is_some() {
        return Err(ProtocolError::at(
            "cachedContent",
            "`cachedContent` names a cache stored at Google, and Switchboard stores nothing: send the whole \
             conversation in `contents`, or route this model to Gemini providers only",
        ));
    }
    // The model is the path's; one the body names too (`models/…`, as the proto has it) is only checked.
    get_str(&root, "model", "")?;
    let mut request = ChatRequest { stream, stream_usage: stream, ..ChatRequest::default() };
    if let Some(system) = field(&root, "systemInstruction") {
        request.system = decode_system(system, "systemInstruction")?;
    }
    let contents = required(get_array(&root, "contents", "")?, "", "contents")?;
    if contents.is_empty() {
        return Err(ProtocolError::at("contents", "`contents` must hold at least one turn"));
    }
    let mut calls = Calls::default();
    for (i, content) in contents.iter().enumerate() {
        let path = format!("contents[{i}]");
        let content = camel(as_object(content, &path)?);
        let role = match get_str(&content, "role", &path)? {
            // `function` is what older clients call the turn of function responses.
            None | Some("user" | "function") => Role::User,
            Some("model") => Role::Assistant,
            Some(other) => {
                return Err(ProtocolError::at(
                    join(&path, "role"),
                    format!("unknown role `{other}`; expected user or model"),
                ));
            }
        };
        let parts_path = join(&path, "parts");
        let mut parts = Vec::new();
        for (j, part) in required(get_array(&content, "parts", &path)?, &path, "parts")?.iter().enumerate() {
            decode_part(part, &format!("{parts_path}[{j}]"), &mut calls, &mut parts)?;
        }
        if !parts.is_empty() {
            request.messages.push(Message { role, content: parts });
        }
    }
    if let Some(tools) = get_array(&root, "tools", "")? {
        for (i, tool) in tools.iter().enumerate() {
            decode_tool(tool, &format!("tools[{i}]"), &mut request.tools)?;
        }
    }
    if let Some(config) = get_object(&root, "toolConfig", "")? {
        request.tool_choice = decode_tool_config(&camel(config))?;
    }
    if let Some(config) = get_object(&root, "generationConfig", "")? {
        decode_generation_config(&camel(config), &mut request)?;
    }
    Ok(request)
}

/// `systemInstruction`: a `Content` whose text parts are the system prompt (a bare string is taken too).
fn decode_system(value: &Value, path: &str) -> Result<Vec<SystemBlock>, ProtocolError> {
    let text_block = |text: &str| SystemBlock { text: text.to_owned(), cache: None };
    let content = match value {
        Value::String(text) => return Ok(vec![text_block(text)]),
        other => camel(as_object(other, path)?),
    };
    let mut blocks = Vec::new();
    let parts_path = join(path, "parts");
    for (i, part) in get_array(&content, "parts", path)?.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
        let part_path = format!("{parts_path}[{i}]");
        if let Some(text) = get_str(&camel(as_object(part, &part_path)?), "text", &part_path)?
            && !text.is_empty()
        {
            blocks.push(text_block(text));
        }
    }
    Ok(blocks)
}

/// Call ids through one request: a `functionCall` without an id gets `call_<n>`, and a `functionResponse` without
/// one answers the earliest unanswered call of its name (Gemini 2.5 sends no ids; Gemini CLI sends its own).
#[derive(Debug, Default)]
struct Calls {
    next: u32,
    unanswered: Vec<(String, String)>,
}

impl Calls {
    fn called(&mut self, name: &str, id: Option<&str>) -> String {
        let id = match id.filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => {
                self.next += 1;
                format!("call_{}", self.next)
            }
        };
        self.unanswered.push((name.to_owned(), id.clone()));
        id
    }

    fn answered(&mut self, name: &str, id: Option<&str>) -> String {
        let id = id.filter(|id| !id.is_empty());
        let position = self.unanswered.iter().position(|(n, i)| id.map_or(n == name, |id| i == id));
        match (position.map(|p| self.unanswered.remove(p)), id) {
            (_, Some(id)) => id.to_owned(),
            (Some((_, id)), None) => id,
            // A response to no call: its name is the best id there is.
            (None, None) => name.to_owned(),
        }
    }
}

/// One part, with the thinking its signature carries (see [`signatures`]) before it.
fn decode_part(value: &Value, path: &str, calls: &mut Calls, out: &mut Vec<Part>) -> Result<(), ProtocolError> {
    let part = camel(as_object(value, path)?);
    let thought = get_bool(&part, "thought", path)?.unwrap_or(false);
    let mut signature = None;
    match get_str(&part, "thoughtSignature", path)?.map(signatures::read) {
        Some(Carried::Blocks(blocks)) => out.extend(blocks),
        Some(Carried::Gemini(neutral)) => signature = Some(neutral),
        None => {}
    }
    if let Some(text) = get_str(&part, "text", path)? {
        if thought {
            out.push(Part::Thinking { text: text.to_owned(), signature: signature.take() });
        } else {
            sign(&mut signature, out);
            if !text.is_empty() {
                out.push(Part::Text { text: text.to_owned(), cache: None });
            }
        }
    } else if let Some(call) = get_object(&part, "functionCall", path)? {
        sign(&mut signature, out);
        out.push(decode_call(&camel(call), &join(path, "functionCall"), calls)?);
    } else if let Some(response) = get_object(&part, "functionResponse", path)? {
        sign(&mut signature, out);
        out.push(decode_function_response(&camel(response), &join(path, "functionResponse"), calls)?);
    } else if let Some(image) = decode_media(&part, path)? {
        sign(&mut signature, out);
        out.push(image);
    } else {
        // `executableCode` and `codeExecutionResult` come from Gemini's own code execution: no other upstream has
        // them. A part with nothing but a signature keeps its signature.
        if field(&part, "executableCode").is_some() || field(&part, "codeExecutionResult").is_some() {
            tracing::debug!(param = %path, "skipping a code-execution part");
        }
        sign(&mut signature, out);
    }
    Ok(())
}

/// Gemini's signature on a part other than a thought: an empty signed thinking part before it, which the upstream
/// encoder puts back onto the part that follows.
fn sign(signature: &mut Option<String>, out: &mut Vec<Part>) {
    if let Some(signature) = signature.take() {
        out.push(Part::Thinking { text: String::new(), signature: Some(signature) });
    }
}

fn decode_call(call: &Map<String, Value>, path: &str, calls: &mut Calls) -> Result<Part, ProtocolError> {
    let name = required(get_str(call, "name", path)?, path, "name")?;
    let arguments = match field(call, "args") {
        None => "{}".to_owned(),
        Some(args @ Value::Object(_)) => args.to_string(),
        Some(other) => return Err(wrong_type(join(path, "args"), "an object", other)),
    };
    let id = calls.called(name, get_str(call, "id", path)?);
    Ok(Part::ToolCall { id, name: name.to_owned(), arguments })
}

/// A `functionResponse` as a tool result: `{"output": x}` / `{"result": x}` is the result `x` (Gemini CLI and the
/// documented examples), `{"error": x}` an error result, any other object the result as JSON text; the images of
/// a multimodal response (`parts` of `inlineData`) follow it.
fn decode_function_response(
    response: &Map<String, Value>,
    path: &str,
    calls: &mut Calls,
) -> Result<Part, ProtocolError> {
    let name = required(get_str(response, "name", path)?, path, "name")?;
    let body = match field(response, "response") {
        None => Map::new(),
        Some(Value::Object(body)) => body.clone(),
        Some(other) => return Err(wrong_type(join(path, "response"), "an object", other)),
    };
    let as_text = |value: &Value| value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    let (text, is_error) = match body.iter().next() {
        Some((key, value)) if body.len() == 1 && (key == "output" || key == "result") => (as_text(value), false),
        Some((key, value)) if body.len() == 1 && key == "error" => (as_text(value), true),
        _ => (Value::Object(body).to_string(), false),
    };
    let mut content = vec![Part::Text { text, cache: None }];
    let parts_path = join(path, "parts");
    for (i, part) in get_array(response, "parts", path)?.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
        let part_path = format!("{parts_path}[{i}]");
        content.extend(decode_media(&camel(as_object(part, &part_path)?), &part_path)?);
    }
    let call_id = calls.answered(name, get_str(response, "id", path)?);
    Ok(Part::ToolResult { call_id, name: Some(name.to_owned()), content, is_error, cache: None })
}

/// `inlineData` (base64 bytes) or `fileData` (a URI) as an image part.
fn decode_media(part: &Map<String, Value>, path: &str) -> Result<Option<Part>, ProtocolError> {
    let image = |source| Part::Image { source, detail: None, cache: None };
    if let Some(inline) = get_object(part, "inlineData", path)? {
        let (inline, inline_path) = (camel(inline), join(path, "inlineData"));
        let media_type = required(get_str(&inline, "mimeType", &inline_path)?, &inline_path, "mimeType")?;
        let data = required(get_str(&inline, "data", &inline_path)?, &inline_path, "data")?;
        return Ok(Some(image(ImageSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() })));
    }
    if let Some(file) = get_object(part, "fileData", path)? {
        let (file, file_path) = (camel(file), join(path, "fileData"));
        let uri = required(get_str(&file, "fileUri", &file_path)?, &file_path, "fileUri")?;
        return Ok(Some(image(ImageSource::Url(uri.to_owned()))));
    }
    Ok(None)
}

/// One `tools` entry: its `functionDeclarations` become neutral tools; Gemini's built-in tools (`googleSearch`,
/// `codeExecution`, `urlContext`, …) run only at Gemini, so a translated request drops them.
fn decode_tool(value: &Value, path: &str, tools: &mut Vec<Tool>) -> Result<(), ProtocolError> {
    let tool = camel(as_object(value, path)?);
    for key in tool.keys().filter(|key| *key != "functionDeclarations") {
        tracing::debug!(param = %path, tool = %key, "dropping a built-in Gemini tool");
    }
    let declarations_path = join(path, "functionDeclarations");
    for (i, declaration) in get_array(&tool, "functionDeclarations", path)?.into_iter().flatten().enumerate() {
        let path = format!("{declarations_path}[{i}]");
        let declaration = camel(as_object(declaration, &path)?);
        // The Python SDK sends the JSON Schema under both spellings, which `camel` reads as one.
        let parameters = match (field(&declaration, "parametersJsonSchema"), field(&declaration, "parameters")) {
            (Some(schema @ Value::Object(_)), _) => schema.clone(),
            (Some(other), _) => return Err(wrong_type(join(&path, "parametersJsonSchema"), "an object", other)),
            (None, Some(Value::Object(schema))) => to_json_schema(schema, &join(&path, "parameters"))?,
            (None, Some(other)) => return Err(wrong_type(join(&path, "parameters"), "an object", other)),
            (None, None) => json!({ "type": "object", "properties": {} }),
        };
        tools.push(Tool {
            name: required(get_str(&declaration, "name", &path)?, &path, "name")?.to_owned(),
            description: get_str(&declaration, "description", &path)?.map(str::to_owned),
            parameters,
            strict: None,
            cache: None,
        });
    }
    Ok(())
}

/// `toolConfig.functionCallingConfig`: `AUTO` and `VALIDATED` → auto, `NONE` → none, `ANY` → required (or that
/// function, when `allowedFunctionNames` names one; a longer list has no neutral form and reads as required).
fn decode_tool_config(config: &Map<String, Value>) -> Result<Option<ToolChoice>, ProtocolError> {
    let Some(calling) = get_object(config, "functionCallingConfig", "toolConfig")? else { return Ok(None) };
    let (calling, path) = (camel(calling), "toolConfig.functionCallingConfig");
    let names = strings(&calling, "allowedFunctionNames", path)?;
    let Some(mode) = get_str(&calling, "mode", path)? else { return Ok(None) };
    Ok(match mode.to_ascii_uppercase().as_str() {
        "MODE_UNSPECIFIED" => None,
        "AUTO" | "VALIDATED" => Some(ToolChoice::Auto),
        "NONE" => Some(ToolChoice::None),
        "ANY" => Some(match names.as_slice() {
            [only] => ToolChoice::Named(only.clone()),
            _ => ToolChoice::Required,
        }),
        _ => {
            return Err(ProtocolError::at(
                join(path, "mode"),
                format!("unknown function calling mode `{mode}`; expected AUTO, ANY, NONE or VALIDATED"),
            ));
        }
    })
}

/// An array of strings, each checked.
fn strings(object: &Map<String, Value>, key: &str, path: &str) -> Result<Vec<String>, ProtocolError> {
    let mut out = Vec::new();
    for (i, item) in get_array(object, key, path)?.into_iter().flatten().enumerate() {
        let item = item.as_str().ok_or_else(|| wrong_type(format!("{}[{i}]", join(path, key)), "a string", item))?;
        out.push(item.to_owned());
    }
    Ok(out)
}

/// A whole-number field the Python SDK may write as a float (`topK: 64.0`).
fn whole_number(object: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ProtocolError> {
    match get_f64(object, key, path)? {
        Some(n) if n.fract() != 0.0 || n < 0.0 => {
            Err(ProtocolError::at(join(path, key), format!("`{key}` must be a non-negative integer, not {n}")))
        }
        other => Ok(other),
    }
}

fn decode_generation_config(config: &Map<String, Value>, request: &mut ChatRequest) -> Result<(), ProtocolError> {
    let path = "generationConfig";
    request.temperature = get_f64(config, "temperature", path)?;
    request.top_p = get_f64(config, "topP", path)?;
    request.top_k = whole_number(config, "topK", path)?.map(|n| n.min(f64::from(u32::MAX)) as u32);
    request.max_tokens = get_u32(config, "maxOutputTokens", path)?;
    request.n = get_u32(config, "candidateCount", path)?;
    request.seed = get_i64(config, "seed", path)?;
    request.presence_penalty = get_f64(config, "presencePenalty", path)?;
    request.frequency_penalty = get_f64(config, "frequencyPenalty", path)?;
    request.stop = strings(config, "stopSequences", path)?;

    let mime = get_str(config, "responseMimeType", path)?;
    let schema = match (field(config, "responseJsonSchema"), get_object(config, "responseSchema", path)?) {
        (Some(schema @ Value::Object(_)), _) => Some(schema.clone()),
        (Some(other), _) => return Err(wrong_type(join(path, "responseJsonSchema"), "an object", other)),
        (None, Some(schema)) => Some(to_json_schema(schema, &join(path, "responseSchema"))?),
        (None, None) => None,
    };
    request.response_format = match (mime, schema) {
        // An enum answered as bare text has no neutral form: the upstream answers in its own words.
        (Some("text/x.enum"), _) => None,
        (_, Some(schema)) => {
            Some(ResponseFormat::JsonSchema { name: "response".to_owned(), schema, strict: None, description: None })
        }
        (Some("application/json"), None) => Some(ResponseFormat::JsonObject),
        _ => None,
    };

    if let Some(thinking) = get_object(config, "thinkingConfig", path)? {
        request.reasoning = decode_thinking(&camel(thinking))?;
    }
    Ok(())
}

/// `thinkingConfig` → neutral reasoning: a budget of 0 turns thinking off, a positive one is the budget, -1
/// (dynamic) or a `thinkingLevel` turns it on (the level is the effort). `includeThoughts` alone says only that
/// the client wants to see thoughts, not that it wants more of them, so it asks nothing of the upstream.
fn decode_thinking(thinking: &Map<String, Value>) -> Result<Option<Reasoning>, ProtocolError> {
    let path = "generationConfig.thinkingConfig";
    get_bool(thinking, "includeThoughts", path)?;
    let effort = match get_str(thinking, "thinkingLevel", path)? {
        None => None,
        Some(level) => match level.to_ascii_uppercase().as_str() {
            "THINKING_LEVEL_UNSPECIFIED" => None,
            known @ ("MINIMAL" | "LOW" | "MEDIUM" | "HIGH") => Some(known.to_ascii_lowercase()),
            _ => {
                return Err(ProtocolError::at(
                    join(path, "thinkingLevel"),
                    format!("unknown thinkingLevel `{level}`; expected MINIMAL, LOW, MEDIUM or HIGH"),
                ));
            }
        },
    };
    Ok(match get_i64(thinking, "thinkingBudget", path)? {
        Some(0) => Some(Reasoning { effort: None, budget_tokens: None, enabled: false }),
        Some(budget) if budget > 0 => {
            Some(Reasoning { effort, budget_tokens: Some(u32::try_from(budget).unwrap_or(u32::MAX)), enabled: true })
        }
        Some(_) => Some(Reasoning { effort, budget_tokens: None, enabled: true }),
        None if effort.is_some() => Some(Reasoning { effort, budget_tokens: None, enabled: true }),
        None => None,
    })
}
