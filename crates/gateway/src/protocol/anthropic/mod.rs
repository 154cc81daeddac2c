//! Anthropic Messages (`POST /v1/messages`): requests, responses and named stream events, to and from the neutral
//! form.
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - Usage: Anthropic's `input_tokens` excludes cache reads and writes; the neutral `input` includes them
//!   (`input_tokens + cache_read_input_tokens + cache_creation_input_tokens`). Encoding subtracts them again. Cache
//!   writes kept for an hour (`cache_creation.ephemeral_1h_input_tokens`) are the neutral `cache_write_1h`, priced
//!   apart; Anthropic clients always get the `cache_creation` split.
//! - Tool input is an object here but JSON text in the neutral form: decoding serializes it, encoding parses it
//!   (text that is empty, not JSON, or not an object becomes `{}`).
//! - Requests sent upstream (`encode_request`):
//!   - `max_tokens` is required: the client's, else [`DEFAULT_MAX_TOKENS`].
//!   - Thinking on → `thinking: {type: "enabled", budget_tokens}` (the client's budget, else one from its effort,
//!     else 4096; at least 1024), `max_tokens` raised to `budget + DEFAULT_MAX_TOKENS` when not above the budget,
//!     and `temperature` / `top_k` left out (Anthropic rejects them with thinking; `top_p` only from 0.95 up).
//!     A forced tool choice (`any` / `tool`) cannot be combined with thinking, so thinking is left off then.
//!   - Turns must alternate starting with `user`: consecutive same-role messages merge (tool results first in a user
//!     turn), empty messages are dropped, and a leading assistant turn gets a `(continue)` user turn before it.
//!   - Thinking without an Anthropic signature (none, or another provider's) is dropped: Anthropic rejects it.
//!     Empty text is dropped.
//!   - JSON mode: `json_object` / `json_schema` from other clients become an extra system block asking for a single
//!     JSON value (with the schema); the structured-outputs field is beta and not every model takes it. A client's
//!     own `output_format` / `output_config.format` is read as a JSON schema for the other upstreams. `n`, `seed` and the penalties have no form and
//!     are ignored; `temperature` is clamped to Anthropic's 0..=1.
//!   - Tool `strict` is not sent (not every model accepts it).
//! - A response's `created` is 0 (Anthropic does not say); the OpenAI encoder writes the current time for it.
//! - Unknown fields and unknown content-block types are ignored, as are server tools (`type` other than `custom`).
//!
//! `request.rs` reads client bodies and writes upstream ones, `response.rs` does the same for whole answers (and
//! holds the stop-reason and usage mappings the stream shares), `stream.rs` reads upstream events and writes client
//! ones.

mod request;
mod response;
mod stream;

pub use request::{decode_request, encode_request, lift_system_messages};
pub use response::{decode_response, encode_response, encode_stop, merge_delta_usage, stop_reason, usage_of};
pub use stream::{StreamDecoder, StreamEncoder};

/// `max_tokens` for an upstream request when the client gave none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// The thinking budget when the client asked for thinking without a budget or an effort.
const DEFAULT_THINKING_BUDGET: u32 = 4096;

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;

#[cfg(test)]
#[path = "../tests/anthropic.rs"]
mod tests;

#[cfg(test)]
#[path = "../tests/anthropic_stream.rs"]
mod stream_tests;
