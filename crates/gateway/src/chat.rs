//! The chat window's logic apart from any window: the OpenAI request a stored conversation makes, an answer built
//! up from streamed pieces into stored content blocks, and conversation titles.
//!
//! Blocks are those of `store::conversations` (`text`, `thinking`, `image`, `file`, `tool_call`), plus two an
//! answer may end with: `{"type":"stopped"}` (the user stopped it) and `{"type":"error","message":…}`.

use serde_json::{Map, Value, json};

use crate::server::inprocess::ChatDelta;
use crate::store::{ConversationRow, MessageRow};

/// Request parameters a conversation may set; anything else in its `params` is left out of the request.
pub const PARAMS: [&str; 7] =
    ["temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty", "seed", "reasoning_effort"];
/// The most characters of each message a title request shows the model.
const TITLE_SAMPLE: usize = 1_000;
/// The longest title kept, in characters.
const TITLE_LIMIT: usize = 60;

/// The OpenAI chat request for `conversation` as it stands: its system prompt, then every message (answers as
/// their text only: reasoning, stop marks and errors stay in the window).
pub fn request_body(conversation: &ConversationRow, messages: &[MessageRow]) -> Value {
    let mut turns = Vec::new();
    if let Some(prompt) = conversation.system_prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        turns.push(json!({ "role": "system", "content": prompt }));
    }
    for message in messages {
        match message.role.as_str() {
            "user" => turns.push(json!({ "role": "user", "content": user_content(&message.content) })),
            _ => {
                let text = answer_text(&message.content);
                if !text.is_empty() {
                    turns.push(json!({ "role": "assistant", "content": text }));
                }
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(conversation.model.clone().unwrap_or_default()));
    body.insert("messages".into(), Value::Array(turns));
    for key in PARAMS {
        if let Some(value) = conversation.params.get(key).filter(|v| !v.is_null()) {
            body.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(body)
}

/// A user message's blocks as OpenAI content: plain text when it is only text, else parts (images as data URLs,
/// text files as fenced text with their name).
fn user_content(content: &Value) -> Value {
    let Value::Array(blocks) = content else { return content.clone() };
    let parts: Vec<Value> = blocks
        .iter()
        .filter_map(|block| {
            let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or_default();
            match field("type") {
                "text" => Some(json!({ "type": "text", "text": field("text") })),
                "file" => Some(json!({ "type": "text",
                    "text": format!("File {}:\n```\n{}\n```", field("name"), field("text")) })),
                "image" => Some(json!({ "type": "image_url",
                    "image_url": { "url": format!("data:{};base64,{}", field("mediaType"), field("data")) } })),
                _ => None,
            }
        })
        .collect();
    if parts.iter().all(|p| p["type"] == "text") {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        return json!(texts.join("\n\n"));
    }
    Value::Array(parts)
}

/// The text of an answer's blocks (or of a plain string content).
pub fn answer_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// An answer as it streams in.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Answer {
    pub reasoning: String,
    pub text: String,
    /// `(id, name, arguments)` by index.
    pub tool_calls: Vec<(String, String, String)>,
    pub usage: Option<(u64, u64)>,
    pub error: Option<String>,
}

impl Answer {
    pub fn push(&mut self, delta: &ChatDelta) {
        match delta {
            ChatDelta::Text(text) => self.text.push_str(text),
            ChatDelta::Reasoning(text) => self.reasoning.push_str(text),
            ChatDelta::ToolCall { index, id, name, arguments } => {
                let index = usize::try_from(*index).unwrap_or(usize::MAX).min(self.tool_calls.len());
                if index == self.tool_calls.len() {
                    self.tool_calls.push(Default::default());
                }
                let call = &mut self.tool_calls[index];
                if let Some(id) = id {
                    call.0.clone_from(id);
                }
                if let Some(name) = name {
                    call.1.push_str(name);
                }
                call.2.push_str(arguments);
            }
            ChatDelta::Usage { input, output } => self.usage = Some((*input, *output)),
            ChatDelta::Error(message) => self.error = Some(message.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.reasoning.is_empty() && self.text.is_empty() && self.tool_calls.is_empty() && self.error.is_none()
    }

    /// The blocks to store: reasoning, text, tool calls, then a stop mark or the error.
    pub fn content(&self, stopped: bool) -> Value {
        let mut blocks = Vec::new();
        if !self.reasoning.is_empty() {
            blocks.push(json!({ "type": "thinking", "thinking": self.reasoning }));
        }
        if !self.text.is_empty() {
            blocks.push(json!({ "type": "text", "text": self.text }));
        }
        for (id, name, arguments) in &self.tool_calls {
            blocks.push(json!({ "type": "tool_call", "id": id, "name": name, "arguments": arguments }));
        }
        if stopped {
            blocks.push(json!({ "type": "stopped" }));
        }
        if let Some(message) = &self.error {
            blocks.push(json!({ "type": "error", "message": message }));
        }
        Value::Array(blocks)
    }
}

/// A title from the first words of the user's first message, for when no model gives one.
pub fn fallback_title(user_text: &str) -> String {
    let words: Vec<&str> = user_text.split_whitespace().take(6).collect();
    let title = clip(&words.join(" "));
    if title.is_empty() { "New conversation".to_owned() } else { title }
}

/// The request asking `model` to name a conversation from its first exchange.
pub fn title_request(model: &str, user_text: &str, answer: &str) -> Value {
    let sample = |text: &str| text.chars().take(TITLE_SAMPLE).collect::<String>();
    json!({
        "model": model,
        "max_tokens": 24,
        "messages": [
            { "role": "system", "content": "Name this conversation in at most six words. Reply with the title only: \
                no quotes, no punctuation at the end." },
            { "role": "user", "content": format!("User: {}\n\nAssistant: {}", sample(user_text), sample(answer)) },
        ],
    })
}

/// A model's title answer made fit to show: its first line, without quotes or markup around it, clipped.
pub fn clean_title(answer: &str) -> Option<String> {
    let line = answer.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_start_matches('#').trim();
    let line = line.strip_prefix("Title:").unwrap_or(line).trim();
    let line = line.trim_matches(|c: char| matches!(c, '"' | '\'' | '*' | '`' | '.' | '“' | '”')).trim();
    let title = clip(line);
    (!title.is_empty()).then_some(title)
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(TITLE_LIMIT) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(params: Value) -> ConversationRow {
        ConversationRow {
            id: 1,
            title: String::new(),
            model: Some("general".into()),
            system_prompt: Some("Be brief.".into()),
            params,
            pinned: false,
            created_at: 0,
            updated_at: 0,
            message_count: 0,
            cost_usd: 0.0,
        }
    }

    fn message(role: &str, content: Value) -> MessageRow {
        MessageRow {
            id: 0,
            conversation_id: 1,
            position: 0,
            role: role.into(),
            content,
            model: None,
            input_tokens: None,
            output_tokens: None,
            cost_usd: None,
            latency_ms: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_conversation_becomes_an_openai_request() {
        let messages = [
            message("user", json!("hi")),
            message(
                "assistant",
                json!([{ "type": "thinking", "thinking": "x" }, { "type": "text", "text": "Hello" }, { "type": "stopped" }]),
            ),
            message("assistant", json!([{ "type": "error", "message": "broke" }])),
            message(
                "user",
                json!([{ "type": "text", "text": "what is this?" },
                    { "type": "image", "mediaType": "image/png", "data": "AAAA", "name": "a.png" },
                    { "type": "file", "name": "n.txt", "text": "notes" }]),
            ),
            message(
                "user",
                json!([{ "type": "text", "text": "and" }, { "type": "file", "name": "b.md", "text": "# b" }]),
            ),
        ];
        let body =
            request_body(&conversation(json!({ "temperature": 0.2, "model": "evil", "stream": false })), &messages);
        assert_eq!(
            body,
            json!({
                "model": "general",
                "temperature": 0.2,
                "messages": [
                    { "role": "system", "content": "Be brief." },
                    { "role": "user", "content": "hi" },
                    { "role": "assistant", "content": "Hello" },
                    { "role": "user", "content": [
                        { "type": "text", "text": "what is this?" },
                        { "type": "image_url", "image_url": { "url": "data:image/png;base64,AAAA" } },
                        { "type": "text", "text": "File n.txt:\n```\nnotes\n```" },
                    ] },
                    { "role": "user", "content": "and\n\nFile b.md:\n```\n# b\n```" },
                ],
            })
        );
    }

    #[test]
    fn an_answer_collects_its_pieces_into_blocks() {
        let mut answer = Answer::default();
        assert!(answer.is_empty());
        for delta in [
            ChatDelta::Reasoning("Let me ".into()),
            ChatDelta::Reasoning("think.".into()),
            ChatDelta::Text("Hel".into()),
            ChatDelta::Text("lo".into()),
            ChatDelta::ToolCall {
                index: 0,
                id: Some("call_1".into()),
                name: Some("get".into()),
                arguments: "{\"a\"".into(),
            },
            ChatDelta::ToolCall { index: 0, id: None, name: None, arguments: ":1}".into() },
            ChatDelta::Usage { input: 12, output: 7 },
        ] {
            answer.push(&delta);
        }
        assert_eq!(answer.usage, Some((12, 7)));
        assert_eq!(
            answer.content(true),
            json!([
                { "type": "thinking", "thinking": "Let me think." },
                { "type": "text", "text": "Hello" },
                { "type": "tool_call", "id": "call_1", "name": "get", "arguments": "{\"a\":1}" },
                { "type": "stopped" },
            ])
        );
        answer.push(&ChatDelta::Error("cut".into()));
        assert_eq!(answer.content(false)[3], json!({ "type": "error", "message": "cut" }));
        assert_eq!(answer_text(&answer.content(false)), "Hello");
    }

    #[test]
    fn titles_are_short_and_clean() {
        assert_eq!(fallback_title("  Plan a trip to Zürich in   spring with kids please "), "Plan a trip to Zürich in");
        assert_eq!(fallback_title(" "), "New conversation");
        assert_eq!(clean_title("\"Trip to Zürich.\"\nmore"), Some("Trip to Zürich".into()));
        assert_eq!(clean_title("## Title: **Soup**"), Some("Soup".into()));
        assert_eq!(clean_title("  \n "), None);
        let long = clean_title(&"word ".repeat(40)).unwrap();
        assert!(long.ends_with('…') && long.chars().count() <= TITLE_LIMIT + 1, "{long}");
        let request = title_request("fast", "hi", "hello");
        assert_eq!(request["model"], "fast");
        assert!(request["messages"][1]["content"].as_str().unwrap().contains("User: hi"));
    }
}
