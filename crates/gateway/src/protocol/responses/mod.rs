//! OpenAI Responses (`POST /v1/responses`): requests, whole responses and named stream events, to and from the
//! neutral form, in both directions. A client may speak it (Codex), and so may an upstream (a provider of kind
//! `openai-responses`); a Responses client onto an upstream that offers the Responses API is passed through
//! untouched (never decoded past its `usage`), so the two directions never meet in one request.
//!
//! The client side: `request.rs` reads client bodies, `response.rs` writes whole responses (and the output items a
//! stream builds too), `stream.rs` writes the named stream events. The upstream side: `upstream_request.rs` writes
//! request bodies, `upstream_response.rs` reads whole responses, `upstream_stream.rs` reads the named events.
//!
//! Decisions a caller should know about client requests (each is also noted where it happens):
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
//!
//! Decisions about upstream requests and answers:
//! - System blocks join (blank line between) into `instructions`; cache hints have no Responses form. Messages
//!   become input items in order: text and images as `message` items (`input_text` / `input_image` for the user,
//!   `output_text` for the assistant), tool calls as `function_call`, tool results as `function_call_output` (text,
//!   or a list of parts when it holds images; an error result prefixed with `Error: `).
//! - Thinking goes back only when OpenAI made it: a `reasoning` item with its `encrypted_content` (the neutral
//!   signature marked with `Signature::OPENAI_PREFIX`) and its text as the summary, without an `id` (with `store:
//!   false` OpenAI would look the id up and fail). Other providers' thinking, unsigned and redacted thinking are
//!   dropped: OpenAI cannot read them.
//! - Function tools are sent with `strict: false` unless the client said otherwise: Responses makes them strict by
//!   default, which refuses most schemas written for other APIs. Hosted tools never reach this direction.
//! - `max_output_tokens` is at least [`MIN_OUTPUT_TOKENS`] (OpenAI refuses less); thinking on →
//!   `reasoning: {effort, summary: "auto"}` (so the thinking is visible), with Anthropic's `max` effort read as
//!   `high`; `include: ["reasoning.encrypted_content"]` only with thinking on or OpenAI's reasoning in the history
//!   (models that do not reason refuse it); `store: false` always. JSON mode and schemas go in `text.format`.
//!   `stop`, `seed`, `n`, `top_k`, the penalties and `metadata` have no Responses form and are not sent (`unsent`
//!   names those a request set that change the answer, and the relay logs them); the neutral user goes as
//!   `safety_identifier` when it fits OpenAI's 64 characters.
//! - Answers: reasoning items become thinking signed with their encrypted content (summary parts joined by a blank
//!   line, or the raw reasoning text), message text (and refusals) text, function calls tool calls. Responses has no
//!   stop reason: `completed` is a natural end, or tool use when the output calls a function; `incomplete` maps its
//!   reason (`max_output_tokens`, `content_filter`). A `failed` response is an error; in a stream,
//!   `response.failed` and `error` become an in-band error (a failed response's usage is kept for the ledger), and a
//!   stream that ends without its terminal event is one too.

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
        // OpenAI's own, as OpenAI wrote it: only OpenAI reads it back (a client passes it through to OpenAI).
        Signature::OpenAi(raw) => raw.to_owned(),
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
mod upstream_request;
mod upstream_response;
mod upstream_stream;

pub use request::decode_request;
pub use response::encode_response;
pub use stream::StreamEncoder;
pub use upstream_request::{MIN_OUTPUT_TOKENS, encode_request, unsent};
pub use upstream_response::{decode_response, usage_of};
pub use upstream_stream::StreamDecoder;

#[cfg(test)]
#[path = "../tests/responses.rs"]
mod tests;

#[cfg(test)]
#[path = "../tests/responses_upstream.rs"]
mod upstream_tests;
