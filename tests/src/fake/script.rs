//! What the fakes answer, by model name, the same for every protocol; the protocol files only choose the bytes.
//!
//! A model name is one or more `+`-separated scenario words (`tools`, `error-500`, `tools+drop-mid-stream`); unknown
//! words, like real model names, give the default text reply.

use std::time::Duration;

use serde_json::{Value, json};

use super::FakeKind;

/// The reasoning every `thinking` reply starts with.
pub const THINKING: &str = "Let me think.";
/// The signature of that reasoning (Anthropic's `signature`; Gemini's `thoughtSignature` is its base64).
pub const SIGNATURE: &str = "sig-fake-123";
/// The stop sequence a `stop-sequence` reply stops at.
pub const STOP_SEQUENCE: &str = "END";
/// What a `hostile` reply says: script, event handlers, `javascript:` links, SVG and raw HTML, each of which would
/// set `window.__pwned` (or call a Tauri command) if it ever ran in the window.
pub const HOSTILE: &str = "Hostile answer follows.\n\n\
<script>window.__pwned = 'script'</script>\n\n\
<img src=x onerror=\"window.__pwned = 'img'\">\n\n\
[click me](javascript:window.__pwned='link')\n\n\
<a href=\"javascript:window.__pwned='a'\">raw link</a>\n\n\
<svg onload=\"window.__pwned = 'svg'\"><script>window.__pwned = 'svg-script'</script></svg>\n\n\
<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>\n\n\
<div onmouseover=\"window.__TAURI_INTERNALS__.invoke('delete_conversation', {id: 1})\">raw html</div>\n\n\
![pixel](javascript:window.__pwned='image')\n\n\
End of hostile answer.";
/// What a `markdown` reply says.
pub const MARKDOWN: &str = r#"Wrap the file in a `BufReader` and walk its `lines()`:

```rust
use std::fs::File;
use std::io::{BufRead, BufReader};

fn main() -> std::io::Result<()> {
    let reader = BufReader::new(File::open("notes.txt")?);
    for line in reader.lines() {
        println!("{}", line?);
    }
    Ok(())
}
```

- Each item is an `io::Result<String>`, so one bad line does not hide the rest.
- The buffer keeps reads **large** even when the lines are short."#;
/// What a `title` reply says: a conversation's name, as a title model gives it.
pub const TITLE: &str = "Reading a file line by line in Rust";
/// The longest user text a reply echoes, in characters.
const ECHO_LIMIT: usize = 200;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Content {
    /// `"Hello from <kind> <model>: <last user text>"`.
    #[default]
    Text,
    /// Two parallel tool calls.
    Tools,
    /// A round trip through the client's own file-reading tool: one call of it for the last absolute path in the
    /// prompt, then, once the last turn carries the tool's result, `"Hello from <kind> <model>: <result text>"`.
    ReadFile,
    /// Reasoning, then `"Answer."`.
    Thinking,
    /// `{"ok":true}`.
    Json,
    /// A partial text, stopped for length.
    MaxTokens,
    /// A text stopped at [`STOP_SEQUENCE`].
    StopSequence,
    /// [`HOSTILE`]: markup that must never run where the answer is shown.
    Hostile,
    /// [`FLOOD_WORDS`] words (`w1 w2 …`, a paragraph every 50), streamed one chunk per word with no pause.
    Flood,
    /// [`MARKDOWN`]: an answer with code, a list and emphasis, whatever was asked (the README's screenshots).
    Markdown,
    /// [`TITLE`], whatever was asked: a title model naming a conversation.
    Title,
    /// A capable agent model (see [`agent`]): it calls the offered `get_weather` tool, answers from a tool's result,
    /// and thinks when asked to. Protocols that cannot tell (text completions) answer as [`Content::Text`].
    Agent,
}

/// How many words (and stream chunks) a `flood` reply has.
pub const FLOOD_WORDS: usize = 2000;

/// An error answer instead of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 500 in the provider's error shape.
    ServerError,
    /// 400, invalid request.
    BadRequest,
    /// Anthropic 529 `overloaded_error`; 503 elsewhere.
    Overloaded,
    /// 429 with `Retry-After: 1`.
    RateLimit,
    /// 200 `application/json` carrying HTML.
    Garbage,
    /// 400: the prompt is longer than the model's context window, in the provider's own words.
    ContextLength,
}

/// How the (otherwise good) reply travels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    #[default]
    Normal,
    /// 2 s before the response headers.
    SlowFirstByte,
    /// Two content chunks, then silence until the client leaves or the fake stops.
    StallMidStream,
    /// Two content chunks, then a broken connection without the terminating event.
    DropMidStream,
    /// One content chunk, then `data: {not json`, then the rest.
    MalformedSse,
    /// Two content chunks, then the provider's own in-band error event (a Responses `response.failed`, an Anthropic
    /// `error` event, an OpenAI or Gemini error chunk) and the end of the stream. A whole body is sent as usual.
    FailMidStream,
    /// Every stream frame [`PACE`] after the one before, so a stream stays open for a while (a whole body is sent
    /// as usual).
    Paced,
}

/// The pause before each frame of a `paced` stream.
pub const PACE: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scenario {
    pub content: Content,
    pub fault: Option<Fault>,
    pub delivery: Delivery,
    pub host: Host,
}

/// Reads the scenario words out of a model name.
pub fn scenario(model: &str) -> Scenario {
    let mut scenario = Scenario::default();
    for word in model.split('+') {
        match word {
            "tools" => scenario.content = Content::Tools,
            "read-file" => scenario.content = Content::ReadFile,
            "thinking" => scenario.content = Content::Thinking,
            "json" => scenario.content = Content::Json,
            "max-tokens" => scenario.content = Content::MaxTokens,
            "stop-sequence" => scenario.content = Content::StopSequence,
            "hostile" => scenario.content = Content::Hostile,
            "flood" => scenario.content = Content::Flood,
            "agent" => scenario.content = Content::Agent,
            "markdown" => scenario.content = Content::Markdown,
            "title" => scenario.content = Content::Title,
            "error-500" => scenario.fault = Some(Fault::ServerError),
            "error-400" => scenario.fault = Some(Fault::BadRequest),
            "overloaded" => scenario.fault = Some(Fault::Overloaded),
            "rate-limit" => scenario.fault = Some(Fault::RateLimit),
            "garbage" => scenario.fault = Some(Fault::Garbage),
            "context-length" => scenario.fault = Some(Fault::ContextLength),
            "slow-first-byte" => scenario.delivery = Delivery::SlowFirstByte,
            "stall-mid-stream" => scenario.delivery = Delivery::StallMidStream,
            "drop-mid-stream" => scenario.delivery = Delivery::DropMidStream,
            "malformed-sse" => scenario.delivery = Delivery::MalformedSse,
            "fail-mid-stream" => scenario.delivery = Delivery::FailMidStream,
            "paced" => scenario.delivery = Delivery::Paced,
            "deepseek" => scenario.host = Host::DeepSeek,
            "openrouter" => scenario.host = Host::OpenRouter,
            _ => {}
        }
    }
    scenario
}

/// Waits before the response headers when the scenario asks for a slow first byte.
pub async fn before_headers(delivery: Delivery) {
    if delivery == Delivery::SlowFirstByte {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// OpenAI `stop`, Anthropic `end_turn`, Gemini `STOP`.
    Stop,
    /// `length`, `max_tokens`, `MAX_TOKENS`.
    Length,
    /// `stop`, `stop_sequence` (with [`STOP_SEQUENCE`]), `STOP`.
    StopSequence,
    /// `tool_calls`, `tool_use`, `STOP`.
    ToolCalls,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// 0-based; ids are `call_<index+1>` / `toolu_<index+1>`.
    pub index: usize,
    pub name: String,
    /// The arguments as JSON text.
    pub arguments: String,
}

impl ToolCall {
    pub fn id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.index + 1)
    }

    pub fn arguments_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.arguments).expect("the scripted arguments are JSON")
    }
}

/// The first scripted call's tool, which an `agent` model calls when the request offers it.
pub const AGENT_TOOL: &str = "get_weather";

/// The two parallel calls of a `tools` reply: `get_weather` `{"city":"Paris"}` and `get_time` `{"tz":"CET"}`.
pub fn tool_calls() -> Vec<ToolCall> {
    let call =
        |index, name: &str, arguments: &str| ToolCall { index, name: name.to_owned(), arguments: arguments.to_owned() };
    vec![call(0, AGENT_TOOL, r#"{"city":"Paris"}"#), call(1, "get_time", r#"{"tz":"CET"}"#)]
}

/// Token counts, the same for every reply unless the model name has the word `metered` ([`METERED`]). `input`
/// includes `cached` and `cache_write`, `cache_write` includes `cache_write_1h`; `output` includes `reasoning`.
/// Each protocol file reports what its provider can say of them, in its provider's fields: only Anthropic (and
/// OpenRouter) report cache writes, only Anthropic splits them by lifetime, and Anthropic does not count reasoning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub input: u32,
    pub cached: u32,
    pub cache_write: u32,
    pub cache_write_1h: u32,
    pub output: u32,
    pub reasoning: u32,
}

impl Usage {
    pub fn total(&self) -> u32 {
        self.input + self.output
    }
}

/// What every reply reports by default: 12 prompt tokens of which 4 cached, 7 output.
pub const DEFAULT_USAGE: Usage =
    Usage { input: 12, cached: 4, cache_write: 0, cache_write_1h: 0, output: 7, reasoning: 0 };

/// What a `metered` reply reports: counts large enough that each class of token moves the cost by cents: 2M prompt
/// tokens (0.5M read from the cache, 0.3M written to it, 0.1M of those for an hour), 0.4M output of which 0.15M
/// reasoning.
pub const METERED: Usage = Usage {
    input: 2_000_000,
    cached: 500_000,
    cache_write: 300_000,
    cache_write_1h: 100_000,
    output: 400_000,
    reasoning: 150_000,
};

/// What OpenRouter says a request cost (its `usage.cost`), on every reply of a model named with `openrouter`.
pub const OPENROUTER_COST: f64 = 1.2345;

/// Which OpenAI-compatible host's usage fields the OpenAI fake's chat completions use, by a word in the model name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Host {
    /// OpenAI's own: `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`.
    #[default]
    OpenAi,
    /// `deepseek`: `prompt_cache_hit_tokens` and `prompt_cache_miss_tokens` at the top level, no prompt details.
    DeepSeek,
    /// `openrouter`: OpenAI's fields plus `prompt_tokens_details.cache_write_tokens`, `cost` and `cost_details`.
    OpenRouter,
}

/// The usage a reply to `model` reports.
pub fn usage_for(model: &str) -> Usage {
    if model.split('+').any(|word| word == "metered") { METERED } else { DEFAULT_USAGE }
}

/// A complete reply, before any protocol shapes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub reasoning: Option<&'static str>,
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Finish,
    pub usage: Usage,
}

/// The reply `content` calls for, from a `kind` upstream asked for `model` with `user_text` last.
pub fn reply(kind: FakeKind, model: &str, content: Content, user_text: &str) -> Reply {
    let usage = usage_for(model);
    let text = |text: String, finish| Reply { reasoning: None, text: Some(text), tool_calls: vec![], finish, usage };
    match content {
        Content::Text | Content::Agent => {
            text(format!("Hello from {} {model}: {}", kind.name(), truncate(user_text)), Finish::Stop)
        }
        Content::Json => text(r#"{"ok":true}"#.to_owned(), Finish::Stop),
        Content::MaxTokens => text("Once upon a time there".to_owned(), Finish::Length),
        Content::StopSequence => text("Counting: one two three ".to_owned(), Finish::StopSequence),
        Content::Hostile => text(HOSTILE.to_owned(), Finish::Stop),
        Content::Markdown => text(MARKDOWN.to_owned(), Finish::Stop),
        Content::Title => text(TITLE.to_owned(), Finish::Stop),
        Content::Flood => {
            let words = (1..=FLOOD_WORDS).map(|i| if i % 50 == 0 { format!("w{i}\n\n") } else { format!("w{i} ") });
            text(words.collect::<String>().trim_end().to_owned(), Finish::Stop)
        }
        Content::Thinking => Reply {
            reasoning: Some(THINKING),
            text: Some("Answer.".to_owned()),
            tool_calls: vec![],
            finish: Finish::Stop,
            usage: Usage { reasoning: usage.reasoning.max(3), ..usage },
        },
        Content::Tools => {
            Reply { reasoning: None, text: None, tool_calls: tool_calls(), finish: Finish::ToolCalls, usage }
        }
        // Without the request's tools there is nothing to call: the protocol files use `read_file` instead.
        Content::ReadFile => text("read-file needs the request's tools".to_owned(), Finish::Stop),
    }
}

/// What a `read-file` reply needs from the request, as each protocol file reads it.
#[derive(Clone, Debug, Default)]
pub struct ReadTurn {
    /// The last user text, where the path to read is.
    pub user_text: String,
    /// The tools the client offers: each one's name and the JSON schema of its arguments.
    pub tools: Vec<(String, Value)>,
    /// The text of the tool results the last turn carries, when it carries any.
    pub tool_result: Option<String>,
}

/// Tools that read a file, by lowercase name: the argument holding the path is the schema's property whose name
/// has `path` in it (`file_path`, `filePath`, `absolute_path`, …).
const READ_TOOLS: [&str; 3] = ["read", "read_file", "readfile"];
/// Tools that run a command, by lowercase name, for clients with no reading tool of their own (Codex): `cat <path>`.
const SHELL_TOOLS: [&str; 4] = ["exec_command", "shell", "run_shell_command", "bash"];

/// The `read-file` reply: the tool call, or the echo of its result once the client sent one back. When the request
/// offers no tool that reads or no path, the text says so, so the test's assertion shows why.
pub fn read_file(kind: FakeKind, model: &str, turn: &ReadTurn) -> Reply {
    let usage = usage_for(model);
    let text =
        |text: String| Reply { reasoning: None, text: Some(text), tool_calls: vec![], finish: Finish::Stop, usage };
    if let Some(result) = &turn.tool_result {
        return text(format!("Hello from {} {model}: {}", kind.name(), truncate(result.trim())));
    }
    // The last one: clients put their own reminders (which name slash commands and folders) before the prompt.
    let Some(path) = turn.user_text.split_whitespace().rev().find(|word| word.starts_with('/')) else {
        return text("read-file found no absolute path in the prompt".to_owned());
    };
    let path = path.trim_end_matches(['.', ',', ';', ':', '?', '!', '"', '\'', ')', '`']);
    let Some((name, arguments)) = read_call(&turn.tools, path) else {
        let names: Vec<&str> = turn.tools.iter().map(|(name, _)| name.as_str()).collect();
        return text(format!("read-file found no tool to read with among: {}", names.join(", ")));
    };
    let call = ToolCall { index: 0, name, arguments: arguments.to_string() };
    Reply { reasoning: None, text: None, tool_calls: vec![call], finish: Finish::ToolCalls, usage }
}

/// The call that reads `path` with one of `tools`: a reading tool if there is one, else a shell tool.
fn read_call(tools: &[(String, Value)], path: &str) -> Option<(String, Value)> {
    let named = |names: &[&str]| tools.iter().find(|(name, _)| names.contains(&name.to_ascii_lowercase().as_str()));
    if let Some((name, schema)) = named(&READ_TOOLS) {
        let properties = schema["properties"].as_object()?;
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let is_path = |key: &&String| key.to_ascii_lowercase().contains("path");
        let key = properties
            .keys()
            .filter(is_path)
            .find(|key| required.contains(&key.as_str()))
            .or_else(|| properties.keys().find(is_path))?;
        return Some((name.clone(), json!({ key.as_str(): path })));
    }
    let (name, schema) = named(&SHELL_TOOLS)?;
    let properties = &schema["properties"];
    let command = format!("cat {path}");
    let arguments = if properties.get("cmd").is_some() {
        json!({ "cmd": command })
    } else if properties["command"]["type"] == "array" {
        json!({ "command": ["cat", path] })
    } else {
        json!({ "command": command })
    };
    Some((name.clone(), arguments))
}

/// What a request asks of an `agent` model, read by each protocol from its own body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ask {
    /// The last user text (not a tool result).
    pub user_text: String,
    /// The request offers a tool named like the first scripted call ([`AGENT_TOOL`]).
    pub offers_tool: bool,
    /// The last turn is a tool's result: its text.
    pub tool_result: Option<String>,
    /// The request turns reasoning on.
    pub thinking: bool,
}

/// An agent's reply: after a tool result, an answer that quotes it; offered `get_weather`, one call of it (the
/// first scripted call); otherwise the default text. Reasoning first when the request asks for it.
pub fn agent(kind: FakeKind, model: &str, ask: &Ask) -> Reply {
    let mut reply = match (&ask.tool_result, ask.offers_tool) {
        (Some(result), _) => Reply {
            text: Some(format!("The tool says: {}", truncate(result))),
            ..reply(kind, model, Content::Text, "")
        },
        (None, true) => Reply {
            text: None,
            tool_calls: tool_calls()[..1].to_vec(),
            finish: Finish::ToolCalls,
            ..reply(kind, model, Content::Text, "")
        },
        (None, false) => reply(kind, model, Content::Text, &ask.user_text),
    };
    if ask.thinking {
        reply.reasoning = Some(THINKING);
        reply.usage.reasoning = reply.usage.reasoning.max(3);
    }
    reply
}

/// Splits a text into word-ish pieces (each word with its trailing space), at least 3 of them when the text has 3
/// characters; concatenated they give the text back.
pub fn pieces(text: &str) -> Vec<String> {
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    if words.len() >= 3 { words } else { fragments(text, 3) }
}

/// Splits a text into `n` pieces of about the same number of characters (fewer when it is shorter than `n`).
pub fn fragments(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1)).max(1);
    chars.chunks(size).map(|chunk| chunk.iter().collect()).collect()
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_combine_and_unknown_words_are_plain_models() {
        let s = scenario("tools+drop-mid-stream");
        assert_eq!((s.content, s.fault, s.delivery), (Content::Tools, None, Delivery::DropMidStream));
        assert_eq!(scenario("gpt-4o-mini"), Scenario::default());
        assert_eq!(scenario("rate-limit").fault, Some(Fault::RateLimit));
    }

    #[test]
    fn an_agent_calls_the_offered_tool_then_answers_from_its_result() {
        let ask = Ask { user_text: "weather?".into(), offers_tool: true, ..Ask::default() };
        let called = agent(FakeKind::Anthropic, "m+agent", &ask);
        assert_eq!((called.tool_calls.as_slice(), called.finish), (&tool_calls()[..1], Finish::ToolCalls));
        let answered = agent(FakeKind::Anthropic, "m", &Ask { tool_result: Some("Sunny".into()), ..ask.clone() });
        assert_eq!(answered.text.as_deref(), Some("The tool says: Sunny"));
        assert!(answered.tool_calls.is_empty() && answered.reasoning.is_none());
        let thought = agent(FakeKind::OpenAi, "m", &Ask { thinking: true, offers_tool: false, ..ask });
        assert_eq!(
            (thought.reasoning, thought.text.as_deref()),
            (Some(THINKING), Some("Hello from openai m: weather?"))
        );
    }

    #[test]
    fn pieces_rebuild_the_text() {
        for text in ["Hello from openai m: hi there", "Answer.", r#"{"ok":true}"#, "ab"] {
            let parts = pieces(text);
            assert_eq!(parts.concat(), text);
            assert!(parts.len() >= 3 || text.chars().count() < 3, "{parts:?}");
        }
    }

    #[test]
    fn echo_is_truncated_on_a_char_boundary() {
        let long = "é".repeat(300);
        let reply = reply(FakeKind::Gemini, "m", Content::Text, &long);
        assert_eq!(reply.text.unwrap(), format!("Hello from gemini m: {}", "é".repeat(200)));
    }

    #[test]
    fn read_file_calls_the_clients_own_tool_then_echoes_its_result() {
        let schema =
            |key: &str| json!({ "type": "object", "properties": { key: { "type": "string" } }, "required": [key] });
        let turn = |tools: Vec<(&str, Value)>| ReadTurn {
            user_text: "Skills: /goal /loop. What is in /work/notes.txt?".to_owned(),
            tools: tools.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect(),
            tool_result: None,
        };
        let call = |turn: &ReadTurn| {
            let reply = read_file(FakeKind::Anthropic, "read-file", turn);
            assert_eq!(reply.finish, Finish::ToolCalls, "{reply:?}");
            (reply.tool_calls[0].name.clone(), reply.tool_calls[0].arguments_json())
        };
        let both = turn(vec![("Bash", schema("command")), ("Read", schema("file_path"))]);
        assert_eq!(call(&both), ("Read".to_owned(), json!({ "file_path": "/work/notes.txt" })));
        let shell = turn(vec![("exec_command", schema("cmd"))]);
        assert_eq!(call(&shell), ("exec_command".to_owned(), json!({ "cmd": "cat /work/notes.txt" })));

        let done = ReadTurn { tool_result: Some("  The marker is m-1.\n".to_owned()), ..both };
        let reply = read_file(FakeKind::OpenAi, "read-file", &done);
        assert_eq!(reply.text.as_deref(), Some("Hello from openai read-file: The marker is m-1."));
        let none = read_file(FakeKind::OpenAi, "read-file", &turn(vec![("get_time", schema("tz"))]));
        assert_eq!(none.text.as_deref(), Some("read-file found no tool to read with among: get_time"));
    }
}
