//! OpenAI Responses (`POST /v1/responses`): client requests, whole responses and named stream events, to and from
//! the neutral form. Only the client side lives here: OpenAI-compatible upstreams are reached through chat
//! completions, and Responses-to-OpenAI traffic is passed through untouched (never decoded past its `usage`).
//! `request.rs` reads client bodies, `response.rs` writes whole responses (and the output items a stream builds
//! too), `stream.rs` writes the named stream events.
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - Nothing is stored, so whatever needs a stored object is an error naming the field (the relay passes
//!   `previous_response_id`, `conversation` and `prompt` through to OpenAI, which stores them, and decodes the rest
//!   without them): `previous_response_id`,
//!   `conversation`, `prompt` (a stored template) and `background: true`. `store`, `include`, `prompt_cache_key`,
//!   `client_metadata`, `service_tier`, `truncation` and other unknown fields are ignored; known fields of the wrong
//!   type are errors naming the field.
//! - `instructions` and `system` / `developer` message items become system blocks, in order (`instructions` first;
//!   Codex sends its prompt as `developer` items).
//! - Input items become neutral messages in order; an item whose role matches the previous message's merges into
//!   it (reasoning + function calls + an assistant message → one assistant turn; function outputs + a user message →
//!   one user turn, results first as they came). Items and parts with no neutral form (`item_reference`, hosted,
//!   shell and custom tool calls, `input_file`, images given by `file_id`) are skipped with a debug log.
//! - Only `function` tools are kept. Hosted tools (`web_search`, `file_search`, …), `namespace`, `local_shell` and
//!   `custom` tools are dropped, not refused: no upstream behind this module can run them. A `tool_choice` that
//!   names such a tool becomes `auto`.
//! - `reasoning.effort` becomes the neutral effort; reasoning is on only when an effort other than `none` is given
//!   (a bare `reasoning: {summary}` does not switch thinking on at upstreams that bill for it). `reasoning.summary`
//!   has no neutral form.
//! - Reasoning items carry thinking both ways: the summary is the thinking text (parts joined by a blank line) and
//!   `encrypted_content` the provider's signature (Anthropic's, prefixed with [`ANTHROPIC_PREFIX`], or Gemini's
//!   thought signature in its neutral form, which may come with no text at all). Anthropic's redacted thinking
//!   travels as `encrypted_content` prefixed with [`REDACTED_PREFIX`]. The client hands these back verbatim on the
//!   next turn, as those providers require. `encrypted_content` this gateway did not write (OpenAI's own encrypted
//!   reasoning, from a conversation that began elsewhere) is dropped, keeping the summary as unsigned thinking. A
//!   reasoning item with neither text nor a signature is skipped.
//! - Output: each run of text is one `message` item with one `output_text` part, each thinking block one
//!   `reasoning` item, each tool call one `function_call` item. Only the first choice is written (Responses has
//!   one). Ids derive from the neutral id: `resp_<id>`, and `msg_`/`rs_`/`fc_<id>_<output index>` for items.
//! - Status: a `MaxTokens` stop is `incomplete` with reason `max_output_tokens`, a `ContentFilter` stop
//!   `incomplete` with reason `content_filter`; every other stop is `completed`.
//! - Usage: `input_tokens` includes cached tokens, as the neutral `input` does; unknown usage is `null`; the cost
//!   has no Responses form.
//! - Streams always report usage in the final response (`include_usage` exists only for symmetry). An upstream
//!   error becomes `response.failed` listing only the items finished so far: open items are not closed, so a
//!   half-streamed call never looks complete. `finish` ends a stream that had no `Stop` as `completed`.

use serde_json::Value;

use super::ProtocolError;
use super::fields::kind_of;
use super::neutral::Signature;

/// Marks an Anthropic signature inside a reasoning item's `encrypted_content`, so that encrypted reasoning this
/// gateway did not write (OpenAI's own) is told apart and never sent to a provider that would reject it.
pub const ANTHROPIC_PREFIX: &str = "anthropic:";

/// A neutral signature as a reasoning item's `encrypted_content`.
fn encrypted_content(signature: &str) -> String {
    match Signature::of(signature) {
        Signature::Anthropic(raw) => format!("{ANTHROPIC_PREFIX}{raw}"),
        Signature::Gemini(_) => signature.to_owned(),
    }
}

/// Marks Anthropic's redacted thinking inside a reasoning item's `encrypted_content`. No provider's signature
/// contains a colon (they are base64), so the prefix cannot be mistaken for one.
pub const REDACTED_PREFIX: &str = "switchboard-redacted:";

fn wrong_type(path: String, expected: &str, got: &Value) -> ProtocolError {
    let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
    ProtocolError::at(path, format!("`{name}` must be {expected}, not {}", kind_of(got)))
}

mod request;
mod response;
mod stream;

pub use request::decode_request;
pub use response::encode_response;
pub use stream::StreamEncoder;

#[cfg(test)]
#[path = "../tests/responses.rs"]
mod tests;
