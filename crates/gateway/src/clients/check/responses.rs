//! The client side of the OpenAI Responses API, as Codex uses it: a request written from the neutral form, and the
//! answer (whole or streamed) read back into it.
//!
//! FIXME: `protocol/responses/` reads Responses *requests* and writes *answers* (the gateway's side); the other
//! direction (Responses as an upstream) is being added there. Once it has `encode_request`, `decode_response` and a
//! `StreamDecoder`, this file goes and Check uses those.

use serde_json::{Value, json};

use crate::protocol::neutral::{
    ChatRequest, ChatResponse, Choice, Part, Role, StopReason, StreamEvent, ToolChoice, Usage,
};
use crate::protocol::{ProtocolError, SseEvent};

/// A Responses body like Codex's: system text as `developer` items, no `instructions`, function tools, `store:
/// false`, the whole history in `input`, and encrypted reasoning asked for when reasoning is on.
pub(super) fn encode_request(request: &ChatRequest) -> Value {
    let mut input = Vec::new();
    for block in &request.system {
        input.push(json!({ "type": "message", "role": "developer",
            "content": [{ "type": "input_text", "text": block.text }] }));
    }
    for message in &request.messages {
        for part in &message.content {
            match (message.role, part) {
                (Role::User, Part::Text { text, .. }) => input.push(json!({ "type": "message", "role": "user",
                    "content": [{ "type": "input_text", "text": text }] })),
                (Role::Assistant, Part::Text { text, .. }) => input.push(json!({ "type": "message",
                    "role": "assistant", "content": [{ "type": "output_text", "text": text }] })),
                (_, Part::ToolCall { id, name, arguments }) => input.push(json!({ "type": "function_call",
                    "call_id": id, "name": name, "arguments": arguments })),
                (_, Part::ToolResult { call_id, content, .. }) => {
                    let output: String = content
                        .iter()
                        .filter_map(|p| match p {
                            Part::Text { text, .. } => Some(text.as_str()),
                            _ => None,
                        })
                        .collect();
                    input.push(json!({ "type": "function_call_output", "call_id": call_id, "output": output }));
                }
                // Reasoning goes back only as the encrypted item it came as; Check keeps none.
                _ => {}
            }
        }
    }
    let mut body = json!({
        "model": request.model,
        "input": input,
        "store": false,
        "stream": request.stream,
        "parallel_tool_calls": request.parallel_tool_calls.unwrap_or(false),
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({ "type": "function", "name": t.name, "description": t.description,
                "strict": false, "parameters": t.parameters })
            })
            .collect();
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = match &request.tool_choice {
            Some(ToolChoice::Required) => json!("required"),
            Some(ToolChoice::None) => json!("none"),
            Some(ToolChoice::Named(name)) => json!({ "type": "function", "name": name }),
            Some(ToolChoice::Auto) | None => json!("auto"),
        };
    }
    if let Some(reasoning) = request.reasoning.as_ref().filter(|r| r.enabled) {
        body["reasoning"] = json!({ "effort": reasoning.effort_or_default(), "summary": "auto" });
        body["include"] = json!(["reasoning.encrypted_content"]);
    }
    body
}

/// A whole `response` object.
pub(super) fn decode_response(body: &Value) -> Result<ChatResponse, ProtocolError> {
    if let Some(message) = body["error"]["message"].as_str() {
        return Err(ProtocolError::at("error", message));
    }
    let output = body["output"].as_array().ok_or_else(|| ProtocolError::at("output", "the answer has no output"))?;
    let mut content = Vec::new();
    for item in output {
        match item["type"].as_str() {
            Some("message") => {
                for piece in item["content"].as_array().into_iter().flatten() {
                    if let Some(text) = piece["text"].as_str().filter(|_| piece["type"] == "output_text") {
                        content.push(Part::Text { text: text.to_owned(), cache: None });
                    }
                }
            }
            Some("function_call") => content.push(Part::ToolCall {
                id: text(&item["call_id"]),
                name: text(&item["name"]),
                arguments: text(&item["arguments"]),
            }),
            Some("reasoning") => {
                let summary: String =
                    item["summary"].as_array().into_iter().flatten().filter_map(|s| s["text"].as_str()).collect();
                let signature = item["encrypted_content"].as_str().map(str::to_owned);
                content.push(Part::Thinking { text: summary, signature });
            }
            _ => {}
        }
    }
    let calls = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    Ok(ChatResponse {
        id: text(&body["id"]),
        model: text(&body["model"]),
        created: body["created_at"].as_u64().unwrap_or(0),
        choices: vec![Choice { index: 0, content, stop: Some(stop(body, calls)) }],
        usage: usage(&body["usage"]),
        cost_usd: None,
    })
}

/// Streamed Responses events → neutral events.
#[derive(Debug, Default)]
pub(super) struct StreamDecoder {
    /// The neutral index of each function call, by its `output_index`.
    calls: Vec<u64>,
    saw_call: bool,
}

impl StreamDecoder {
    pub(super) fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value =
            serde_json::from_str(data).map_err(|e| ProtocolError::new(format!("a stream event is not JSON: {e}")))?;
        let kind = value["type"].as_str().or(event.event.as_deref()).unwrap_or_default();
        let mut out = Vec::new();
        let delta = || text(&value["delta"]);
        match kind {
            "response.created" => out.push(StreamEvent::Start {
                id: text(&value["response"]["id"]),
                model: text(&value["response"]["model"]),
                created: 0,
            }),
            "response.output_text.delta" => out.push(StreamEvent::TextDelta { choice: 0, text: delta() }),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                out.push(StreamEvent::ThinkingDelta { choice: 0, text: delta() })
            }
            "response.output_item.added" if value["item"]["type"] == "function_call" => {
                self.saw_call = true;
                let index = self.calls.len() as u32;
                self.calls.push(value["output_index"].as_u64().unwrap_or(0));
                out.push(StreamEvent::ToolCallStart {
                    choice: 0,
                    index,
                    id: text(&value["item"]["call_id"]),
                    name: text(&value["item"]["name"]),
                });
            }
            "response.function_call_arguments.delta" => {
                let at = value["output_index"].as_u64().unwrap_or(0);
                if let Some(index) = self.calls.iter().position(|i| *i == at) {
                    out.push(StreamEvent::ToolCallDelta { choice: 0, index: index as u32, arguments: delta() });
                }
            }
            "response.output_item.done" if value["item"]["type"] == "reasoning" => {
                if let Some(signature) = value["item"]["encrypted_content"].as_str() {
                    out.push(StreamEvent::ThinkingSignature { choice: 0, signature: signature.to_owned() });
                }
            }
            "response.completed" | "response.incomplete" => {
                let response = &value["response"];
                out.push(StreamEvent::Stop { choice: 0, reason: stop(response, self.saw_call) });
                if let Some(usage) = usage(&response["usage"]) {
                    out.push(StreamEvent::Usage { usage, cost_usd: None });
                }
            }
            "response.failed" => out.push(StreamEvent::Error {
                message: value["response"]["error"]["message"].as_str().unwrap_or("the response failed").to_owned(),
                kind: "response_failed".into(),
            }),
            "error" => out.push(StreamEvent::Error {
                message: value["message"].as_str().unwrap_or("the upstream failed").to_owned(),
                kind: text(&value["code"]),
            }),
            _ => {}
        }
        Ok(out)
    }
}

fn stop(response: &Value, calls: bool) -> StopReason {
    match (response["status"].as_str(), response["incomplete_details"]["reason"].as_str()) {
        (Some("incomplete"), Some("max_output_tokens")) => StopReason::MaxTokens,
        (Some("incomplete"), Some("content_filter")) => StopReason::ContentFilter,
        (Some("incomplete"), reason) => StopReason::Other(reason.unwrap_or("incomplete").to_owned()),
        _ if calls => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    }
}

fn usage(usage: &Value) -> Option<Usage> {
    let input = usage["input_tokens"].as_u64()?;
    Some(Usage {
        input,
        cached_input: usage["input_tokens_details"]["cached_tokens"].as_u64().unwrap_or(0),
        cache_write: 0,
        cache_write_1h: 0,
        output: usage["output_tokens"].as_u64().unwrap_or(0),
        reasoning: usage["output_tokens_details"]["reasoning_tokens"].as_u64().unwrap_or(0),
    })
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
