//! The neutral form: one superset of the chat wire formats, the hub every translation goes through.
//!
//! Each wire format (OpenAI chat, Anthropic messages, Gemini, OpenAI Responses) converts its requests, responses
//! and stream events to and from these types, so n formats need 2n converters rather than n². A field a format has
//! that these types cannot hold is a bug here, not in the converter. Same-protocol traffic never comes through
//! here at all (passthrough).
//!
//! These are plain Rust types, not wire types: they derive `Serialize` only so tests can print them.

use serde::Serialize;
use serde_json::{Map, Value};

/// A chat request, whatever protocol it arrived in.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatRequest {
    /// The upstream model id (already resolved from the alias).
    pub model: String,
    /// System prompt blocks, in order. OpenAI `system`/`developer` messages and Anthropic `system` land here.
    pub system: Vec<SystemBlock>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    /// The most output tokens the client allows (`max_tokens` / `max_completion_tokens` / `max_output_tokens`).
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    /// How many choices to generate (OpenAI `n`, Gemini `candidateCount`); Anthropic has only one.
    pub n: Option<u32>,
    pub response_format: Option<ResponseFormat>,
    pub reasoning: Option<Reasoning>,
    pub stream: bool,
    /// Whether the client asked for a usage chunk at the end of a stream (OpenAI `stream_options.include_usage`).
    pub stream_usage: bool,
    /// An end-user id for the provider's abuse tracking (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemBlock {
    pub text: String,
    pub cache: Option<CacheHint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    User,
    Assistant,
}

/// One turn. Tool results are user-side content (as in Anthropic's format); OpenAI `tool` messages become a user
/// message of `ToolResult` parts and back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

impl Message {
    pub fn text(role: Role, text: impl Into<String>) -> Message {
        Message { role, content: vec![Part::Text { text: text.into(), cache: None }] }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Part {
    Text {
        text: String,
        cache: Option<CacheHint>,
    },
    Image {
        source: ImageSource,
        /// OpenAI's `detail` (`low`, `high`, `auto`).
        detail: Option<String>,
        cache: Option<CacheHint>,
    },
    /// An assistant's call of a tool. `arguments` is the JSON text of the arguments object, as OpenAI carries it.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// The result of a tool call, sent back by the client.
    ToolResult {
        call_id: String,
        /// The tool's name when the protocol carries it (Gemini needs it; OpenAI and Anthropic do not send it).
        name: Option<String>,
        content: Vec<Part>,
        is_error: bool,
        cache: Option<CacheHint>,
    },
    /// Visible reasoning, with the provider's signature when it has one (Anthropic requires it back verbatim).
    /// Only the provider that made a signature takes it back: see [`Signature`].
    Thinking {
        text: String,
        signature: Option<String>,
    },
    /// Reasoning the provider returned encrypted (Anthropic `redacted_thinking`).
    RedactedThinking {
        data: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ImageSource {
    Url(String),
    Base64 { media_type: String, data: String },
}

impl ImageSource {
    /// Reads an OpenAI `image_url.url`: a `data:` URL becomes `Base64`, anything else stays a URL.
    pub fn from_url(url: &str) -> ImageSource {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((meta, data)) = rest.split_once(',')
            && let Some(media_type) = meta.strip_suffix(";base64")
        {
            return ImageSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() };
        }
        ImageSource::Url(url.to_owned())
    }

    /// The OpenAI form: the URL itself, or a `data:` URL.
    pub fn to_url(&self) -> String {
        match self {
            ImageSource::Url(url) => url.clone(),
            ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

/// Where a thinking signature came from. Signatures are opaque and only their maker accepts them back, while a
/// client may replay history another provider wrote (an alias that changed targets, a fallback). So the neutral form
/// keeps Anthropic's signatures as they are, marks Gemini's thought signatures with [`Signature::GEMINI_PREFIX`] and
/// OpenAI's encrypted reasoning with [`Signature::OPENAI_PREFIX`] (their converters add and remove the marks); each
/// upstream encoder sends on only its own kind and drops the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature<'a> {
    Anthropic(&'a str),
    /// The raw `thoughtSignature`.
    Gemini(&'a str),
    /// The raw `encrypted_content` of a Responses reasoning item.
    OpenAi(&'a str),
}

impl<'a> Signature<'a> {
    pub const GEMINI_PREFIX: &'static str = "gemini:";
    pub const OPENAI_PREFIX: &'static str = "openai:";

    pub fn of(signature: &'a str) -> Signature<'a> {
        if let Some(raw) = signature.strip_prefix(Signature::GEMINI_PREFIX) {
            Signature::Gemini(raw)
        } else if let Some(raw) = signature.strip_prefix(Signature::OPENAI_PREFIX) {
            Signature::OpenAi(raw)
        } else {
            Signature::Anthropic(signature)
        }
    }

    /// A Gemini `thoughtSignature` in its neutral form.
    pub fn gemini(raw: &str) -> String {
        format!("{}{raw}", Signature::GEMINI_PREFIX)
    }

    /// OpenAI's encrypted reasoning in its neutral form.
    pub fn openai(raw: &str) -> String {
        format!("{}{raw}", Signature::OPENAI_PREFIX)
    }
}

/// Anthropic's prompt-caching breakpoint (`cache_control`); ignored by upstreams without explicit caching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheHint {
    /// `ephemeral` today; kept as text so new kinds pass through.
    pub kind: String,
    /// `5m` or `1h`, when given.
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
    pub strict: Option<bool>,
    pub cache: Option<CacheHint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool (OpenAI `required`, Anthropic `any`, Gemini `ANY`).
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Value, strict: Option<bool>, description: Option<String> },
}

/// How hard the model should think. Protocols say it differently; converters map between the two forms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reasoning {
    /// OpenAI's `reasoning_effort`: `minimal`, `low`, `medium`, `high`, …
    pub effort: Option<String>,
    /// Anthropic's `thinking.budget_tokens` / Gemini's `thinkingBudget`.
    pub budget_tokens: Option<u32>,
    /// Whether thinking is on at all (Anthropic `thinking.type`: `enabled`/`adaptive` vs `disabled`).
    pub enabled: bool,
}

impl Reasoning {
    /// A token budget for protocols that want one, from whichever form the client gave.
    pub fn budget_or(&self, default: u32) -> u32 {
        self.budget_tokens.unwrap_or(match self.effort.as_deref() {
            Some("minimal") => 1024,
            Some("low") => 2048,
            Some("high") => 16_384,
            Some("xhigh" | "max") => 32_768,
            _ => default,
        })
    }

    /// An effort level for protocols that want one, from whichever form the client gave.
    pub fn effort_or_default(&self) -> String {
        if let Some(effort) = &self.effort {
            return effort.clone();
        }
        match self.budget_tokens {
            Some(b) if b <= 1024 => "minimal",
            Some(b) if b <= 4096 => "low",
            Some(b) if b >= 16_384 => "high",
            _ => "medium",
        }
        .to_owned()
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StopReason {
    /// A natural end (OpenAI `stop`, Anthropic `end_turn`, Gemini `STOP`).
    EndTurn,
    /// One of the client's stop sequences matched.
    StopSequence(Option<String>),
    MaxTokens,
    ToolUse,
    /// Refused or filtered by the provider (OpenAI `content_filter`, Anthropic `refusal`, Gemini `SAFETY`, …).
    ContentFilter,
    /// Anthropic's `pause_turn`: the server-side loop paused; the client may continue.
    PauseTurn,
    /// A reason this version does not know, kept verbatim.
    Other(String),
}

/// Token counts, each meaning one thing whatever protocol reported them: the spokes convert on the way in and out
/// (docs/ACCOUNTING.md has the table), so the ledger's columns and the prices apply to every provider alike.
///
/// The prompt side nests: `input` ⊇ `cached_input` + `cache_write`, and `cache_write` ⊇ `cache_write_1h`. The
/// tokens billed at the plain input price are `input - cached_input - cache_write`. The answer side nests too:
/// `output` ⊇ `reasoning`. Nothing is counted twice and nothing is left out:
/// - OpenAI (chat and Responses), Gemini and DeepSeek count cached tokens inside their prompt count, as here;
/// - Anthropic's `input_tokens` leaves cache reads and writes out, so its spoke adds them in (and takes them out
///   again for Anthropic clients);
/// - Gemini's `candidatesTokenCount` leaves the thoughts out, so its spoke adds `thoughtsTokenCount` in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Every prompt token: fresh, read from the cache and written to it (Gemini's tool-use prompt tokens too).
    pub input: u64,
    /// Prompt tokens read from the provider's cache (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`,
    /// Gemini `cachedContentTokenCount`, DeepSeek `prompt_cache_hit_tokens`).
    pub cached_input: u64,
    /// Prompt tokens written to the provider's cache, for any lifetime (Anthropic `cache_creation_input_tokens`,
    /// OpenRouter `cache_write_tokens`).
    pub cache_write: u64,
    /// The part of `cache_write` kept for an hour rather than five minutes (Anthropic
    /// `cache_creation.ephemeral_1h_input_tokens`), priced apart.
    pub cache_write_1h: u64,
    /// Every generated token, reasoning included.
    pub output: u64,
    /// The part of `output` spent reasoning (OpenAI `reasoning_tokens`, Gemini `thoughtsTokenCount`); Anthropic
    /// does not say, so it is 0 there even when the model thought.
    pub reasoning: u64,
}

impl Usage {
    /// Prompt tokens neither read from nor written to a cache.
    pub fn fresh_input(&self) -> u64 {
        self.input.saturating_sub(self.cached_input).saturating_sub(self.cache_write)
    }

    /// The part of `cache_write` kept for five minutes.
    pub fn cache_write_5m(&self) -> u64 {
        self.cache_write.saturating_sub(self.cache_write_1h)
    }
}

/// A whole (non-streamed) answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    /// One per choice; Anthropic and most providers give one.
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// What the provider says the request cost, in USD, when it says (OpenRouter's `usage.cost`).
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub index: u32,
    /// Assistant content in order: `Thinking`, `Text` and `ToolCall` parts.
    pub content: Vec<Part>,
    pub stop: Option<StopReason>,
}

/// One step of a streamed answer. A well-formed stream is `Start`, then deltas, then `Stop` per choice, then at most
/// one `Usage`; `Error` may end it early.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StreamEvent {
    Start {
        id: String,
        model: String,
        created: u64,
    },
    TextDelta {
        choice: u32,
        text: String,
    },
    ThinkingDelta {
        choice: u32,
        text: String,
    },
    /// The signature of the thinking block just streamed (Anthropic `signature_delta`).
    ThinkingSignature {
        choice: u32,
        signature: String,
    },
    RedactedThinking {
        choice: u32,
        data: String,
    },
    /// A new tool call; `index` numbers the calls of one choice from 0, in order.
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
    },
    /// More of the arguments JSON of call `index`.
    ToolCallDelta {
        choice: u32,
        index: u32,
        arguments: String,
    },
    Stop {
        choice: u32,
        reason: StopReason,
    },
    Usage {
        usage: Usage,
        cost_usd: Option<f64>,
    },
    /// The upstream failed mid-stream (an in-band error event, or bytes that are not its protocol).
    Error {
        message: String,
        kind: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_round_trip() {
        let source = ImageSource::from_url("data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(source, ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() });
        assert_eq!(source.to_url(), "data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(ImageSource::from_url("https://x/y.png"), ImageSource::Url("https://x/y.png".into()));
        // Not base64: kept as a URL rather than misread.
        assert!(matches!(ImageSource::from_url("data:text/plain,hi"), ImageSource::Url(_)));
    }

    #[test]
    fn reasoning_forms_map_both_ways() {
        let effort = Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true };
        assert_eq!(effort.budget_or(4096), 16_384);
        let budget = Reasoning { effort: None, budget_tokens: Some(2000), enabled: true };
        assert_eq!(budget.effort_or_default(), "low");
        assert_eq!(budget.budget_or(4096), 2000);
    }
}
