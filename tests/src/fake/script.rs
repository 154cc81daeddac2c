//! What the fakes answer, by model name, the same for every protocol; the protocol files only choose the bytes.
//!
//! A model name is one or more `+`-separated scenario words (`tools`, `error-500`, `tools+drop-mid-stream`); unknown
//! words, like real model names, give the default text reply.

use std::time::Duration;

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
/// The longest user text a reply echoes, in characters.
const ECHO_LIMIT: usize = 200;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Content {
    /// `"Hello from <kind> <model>: <last user text>"`.
    #[default]
    Text,
    /// Two parallel tool calls.
    Tools,
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
}

/// Reads the scenario words out of a model name.
pub fn scenario(model: &str) -> Scenario {
    let mut scenario = Scenario::default();
    for word in model.split('+') {
        match word {
            "tools" => scenario.content = Content::Tools,
            "thinking" => scenario.content = Content::Thinking,
            "json" => scenario.content = Content::Json,
            "max-tokens" => scenario.content = Content::MaxTokens,
            "stop-sequence" => scenario.content = Content::StopSequence,
            "hostile" => scenario.content = Content::Hostile,
            "flood" => scenario.content = Content::Flood,
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
            "paced" => scenario.delivery = Delivery::Paced,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// 0-based; ids are `call_<index+1>` / `toolu_<index+1>`.
    pub index: usize,
    pub name: &'static str,
    /// The arguments as JSON text.
    pub arguments: &'static str,
}

impl ToolCall {
    pub fn id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.index + 1)
    }

    pub fn arguments_json(&self) -> serde_json::Value {
        serde_json::from_str(self.arguments).expect("the scripted arguments are JSON")
    }
}

pub const TOOL_CALLS: [ToolCall; 2] = [
    ToolCall { index: 0, name: "get_weather", arguments: r#"{"city":"Paris"}"# },
    ToolCall { index: 1, name: "get_time", arguments: r#"{"tz":"CET"}"# },
];

/// Token counts, the same for every reply. `input` includes `cached`; `output` includes `reasoning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub input: u32,
    pub cached: u32,
    pub output: u32,
    pub reasoning: u32,
}

impl Usage {
    pub fn total(&self) -> u32 {
        self.input + self.output
    }
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
    let usage = Usage { input: 12, cached: 4, output: 7, reasoning: 0 };
    let text = |text: String, finish| Reply { reasoning: None, text: Some(text), tool_calls: vec![], finish, usage };
    match content {
        Content::Text => text(format!("Hello from {} {model}: {}", kind.name(), truncate(user_text)), Finish::Stop),
        Content::Json => text(r#"{"ok":true}"#.to_owned(), Finish::Stop),
        Content::MaxTokens => text("Once upon a time there".to_owned(), Finish::Length),
        Content::StopSequence => text("Counting: one two three ".to_owned(), Finish::StopSequence),
        Content::Hostile => text(HOSTILE.to_owned(), Finish::Stop),
        Content::Flood => {
            let words = (1..=FLOOD_WORDS).map(|i| if i % 50 == 0 { format!("w{i}\n\n") } else { format!("w{i} ") });
            text(words.collect::<String>().trim_end().to_owned(), Finish::Stop)
        }
        Content::Thinking => Reply {
            reasoning: Some(THINKING),
            text: Some("Answer.".to_owned()),
            tool_calls: vec![],
            finish: Finish::Stop,
            usage: Usage { reasoning: 3, ..usage },
        },
        Content::Tools => {
            Reply { reasoning: None, text: None, tool_calls: TOOL_CALLS.to_vec(), finish: Finish::ToolCalls, usage }
        }
    }
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
}
