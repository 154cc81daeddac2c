//! Upstream requests: a neutral [`ChatRequest`] as the body of `POST {base}/responses` (see the module docs of
//! [`super`] for what is sent and what has no Responses form).

use serde_json::{Map, Value, json};

use crate::protocol::neutral::{ChatRequest, ImageSource, Message, Part, ResponseFormat, Role, Signature, ToolChoice};

/// OpenAI refuses a `max_output_tokens` below this (`integer_below_min_value`); a smaller limit is raised to it.
pub const MIN_OUTPUT_TOKENS: u32 = 16;

/// The longest `safety_identifier` OpenAI accepts; a longer neutral user id is not sent.
const MAX_SAFETY_IDENTIFIER: usize = 64;

/// Writes a Responses body for an upstream that offers the Responses API.
pub fn encode_request(request: &ChatRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let instructions: Vec<&str> =
        request.system.iter().map(|b| b.text.as_str()).filter(|text| !text.is_empty()).collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), json!(instructions.join("\n\n")));
    }
    let mut input = Vec::new();
    for message in &request.messages {
        encode_message(message, &mut input);
    }
    body.insert("input".into(), Value::Array(input));

    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                let mut out = Map::new();
                out.insert("type".into(), json!("function"));
                out.insert("name".into(), json!(tool.name));
                if let Some(description) = &tool.description {
                    out.insert("description".into(), json!(description));
                }
                out.insert("parameters".into(), tool.parameters.clone());
                // Responses makes function tools strict unless told otherwise, and strict mode refuses most schemas
                // written for other APIs (optional properties, no `additionalProperties: false`).
                out.insert("strict".into(), json!(tool.strict.unwrap_or(false)));
                Value::Object(out)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &request.tool_choice {
            let choice = match choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Named(name) => json!({"type": "function", "name": name}),
            };
            body.insert("tool_choice".into(), choice);
        }
        if let Some(parallel) = request.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(parallel));
        }
    }
    if let Some(max) = request.max_tokens {
        body.insert("max_output_tokens".into(), json!(max.max(MIN_OUTPUT_TOKENS)));
    }
    for (key, value) in [("temperature", request.temperature), ("top_p", request.top_p)] {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    }
    if let Some(format) = &request.response_format {
        body.insert("text".into(), json!({"format": encode_format(format)}));
    }
    let thinking = request.reasoning.as_ref().filter(|r| r.enabled);
    if let Some(reasoning) = thinking {
        let effort = match reasoning.effort_or_default().as_str() {
            // Anthropic's top effort; OpenAI's `xhigh` exists on a few models only.
            "max" => "high".to_owned(),
            other => other.to_owned(),
        };
        body.insert("reasoning".into(), json!({"effort": effort, "summary": "auto"}));
    }
    // Models without reasoning refuse `include: ["reasoning.encrypted_content"]`: it is asked for only when thinking
    // is, or when the conversation already carries OpenAI's encrypted reasoning (so the model is one that reasons).
    if thinking.is_some() || carries_openai_reasoning(&request.messages) {
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    // Nothing is kept at OpenAI: every turn is sent whole, and reasoning travels as encrypted content.
    body.insert("store".into(), json!(false));
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    if let Some(user) = request.user.as_ref().filter(|u| !u.is_empty() && u.chars().count() <= MAX_SAFETY_IDENTIFIER) {
        body.insert("safety_identifier".into(), json!(user));
    }
    Value::Object(body)
}

/// What `request` asks for that has no Responses form and [`encode_request`] leaves out, by its OpenAI chat name:
/// stop sequences, `seed`, `n` above 1, `top_k` and the penalties. Each changes the answer, so whoever sends the body
/// should tell someone (the relay logs them); `metadata` changes nothing and is not named.
pub fn unsent(request: &ChatRequest) -> Vec<&'static str> {
    let asked = [
        ("stop", !request.stop.is_empty()),
        ("seed", request.seed.is_some()),
        ("n", request.n.is_some_and(|n| n > 1)),
        ("top_k", request.top_k.is_some()),
        ("presence_penalty", request.presence_penalty.is_some()),
        ("frequency_penalty", request.frequency_penalty.is_some()),
    ];
    asked.into_iter().filter(|(_, asked)| *asked).map(|(name, _)| name).collect()
}

fn carries_openai_reasoning(messages: &[Message]) -> bool {
    messages.iter().flat_map(|m| &m.content).any(|part| {
        matches!(part, Part::Thinking { signature: Some(s), .. } if matches!(Signature::of(s), Signature::OpenAi(_)))
    })
}

fn encode_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema { name, schema, strict, description } => {
            let mut out = Map::new();
            out.insert("type".into(), json!("json_schema"));
            out.insert("name".into(), json!(name));
            if let Some(description) = description {
                out.insert("description".into(), json!(description));
            }
            out.insert("schema".into(), schema.clone());
            if let Some(strict) = strict {
                out.insert("strict".into(), json!(strict));
            }
            Value::Object(out)
        }
    }
}

/// One neutral message as input items, in order: runs of text and images become one `message` item, each tool call
/// a `function_call`, each tool result a `function_call_output`, and OpenAI's own reasoning a `reasoning` item.
fn encode_message(message: &Message, out: &mut Vec<Value>) {
    let mut run: Vec<Value> = Vec::new();
    for part in &message.content {
        let item = match (message.role, part) {
            (_, Part::Text { text, .. }) if text.is_empty() => continue,
            (Role::User, Part::Text { text, .. }) => {
                run.push(json!({"type": "input_text", "text": text}));
                continue;
            }
            (Role::User, Part::Image { source, detail, .. }) => {
                run.push(input_image(source, detail.as_deref()));
                continue;
            }
            (Role::Assistant, Part::Text { text, .. }) => {
                run.push(json!({"type": "output_text", "text": text}));
                continue;
            }
            (Role::User, Part::ToolResult { call_id, content, is_error, .. }) => {
                json!({"type": "function_call_output", "call_id": call_id, "output": tool_output(content, *is_error)})
            }
            (Role::Assistant, Part::ToolCall { id, name, arguments }) => {
                let arguments = if arguments.is_empty() { "{}" } else { arguments.as_str() };
                json!({"type": "function_call", "call_id": id, "name": name, "arguments": arguments})
            }
            // Only OpenAI's own encrypted reasoning goes back; no `id`: with `store: false` OpenAI would look it up
            // and fail, while the encrypted content stands on its own.
            (Role::Assistant, Part::Thinking { text, signature: Some(signature) }) => match Signature::of(signature) {
                Signature::OpenAi(encrypted) => {
                    let summary =
                        if text.is_empty() { vec![] } else { vec![json!({"type": "summary_text", "text": text})] };
                    json!({"type": "reasoning", "summary": summary, "encrypted_content": encrypted})
                }
                Signature::Anthropic(_) | Signature::Gemini(_) => continue,
            },
            // Unsigned or redacted thinking, images from the assistant, empty text: no Responses form.
            _ => continue,
        };
        flush(message.role, &mut run, out);
        out.push(item);
    }
    flush(message.role, &mut run, out);
}

/// The pending run of text and image parts as one `message` item.
fn flush(role: Role, run: &mut Vec<Value>, out: &mut Vec<Value>) {
    if run.is_empty() {
        return;
    }
    let role = match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    out.push(json!({"type": "message", "role": role, "content": std::mem::take(run)}));
}

fn input_image(source: &ImageSource, detail: Option<&str>) -> Value {
    json!({"type": "input_image", "image_url": source.to_url(), "detail": detail.unwrap_or("auto")})
}

/// A tool result's `output`: its text (an error's prefixed with `Error: `, as Responses has no error flag), or a list
/// of `input_text` and `input_image` parts when it holds images.
fn tool_output(content: &[Part], is_error: bool) -> Value {
    let prefix = if is_error { "Error: " } else { "" };
    if !content.iter().any(|p| matches!(p, Part::Image { .. })) {
        let text: Vec<&str> = content
            .iter()
            .filter_map(|p| match p {
                Part::Text { text, .. } if !text.is_empty() => Some(text.as_str()),
                _ => None,
            })
            .collect();
        return json!(format!("{prefix}{}", text.join("\n")));
    }
    let mut parts = Vec::new();
    if is_error {
        parts.push(json!({"type": "input_text", "text": "Error:"}));
    }
    for part in content {
        match part {
            Part::Text { text, .. } if !text.is_empty() => parts.push(json!({"type": "input_text", "text": text})),
            Part::Image { source, detail, .. } => parts.push(input_image(source, detail.as_deref())),
            _ => {}
        }
    }
    Value::Array(parts)
}
