//! OpenAI Chat Completions (`POST /v1/chat/completions`): requests, responses and stream chunks, to and from the
//! neutral form.
//!
//! Decisions a caller should know (each is also noted where it happens):
//! - `system` and `developer` messages become system blocks, in order, wherever they appear. Encoding joins all
//!   system blocks into one leading `system` message (blank line between), which every OpenAI-compatible server
//!   accepts; cache hints have no OpenAI form and are dropped.
//! - `tool` messages become a user message of `ToolResult` parts; consecutive ones merge into one message, a
//!   following `user` message stays separate. The tool's name is filled in from the assistant call with that id.
//!   Encoding splits a user message back into `tool` messages (first) and a `user` message with the rest; images
//!   inside a tool result move to that `user` message (OpenAI tool messages hold text only), and an error result
//!   is prefixed with `Error: ` (OpenAI has no `is_error`).
//! - Thinking parts are read from `reasoning_content` (DeepSeek) or `reasoning` (OpenRouter), but are not sent
//!   upstream again: several hosts reject `reasoning_content` in input messages. Signatures and redacted thinking
//!   have no OpenAI form.
//! - Upstream requests use `max_completion_tokens` (OpenAI's reasoning models reject `max_tokens`); a host that
//!   knows only `max_tokens` needs the key renamed by its provider. A stream always asks for
//!   `stream_options.include_usage` so the ledger gets usage; the client-side `StreamEncoder` drops the usage
//!   chunk when the client did not ask for it.
//! - `top_k` and `metadata` are read but not sent upstream (OpenAI rejects `top_k`, and `metadata` without `store`).
//! - A `created` of 0 (unknown, e.g. from Anthropic) is written as the current time.
//! - Unknown fields and unknown content-part types are ignored; known fields of the wrong type are errors naming
//!   the field. The legacy `functions` / `function_call` / `function` role are rejected.
//!
//! `request.rs` reads client bodies and writes upstream ones, `response.rs` does the same for whole answers (and
//! holds the stop-reason and usage mappings the stream shares), `stream.rs` reads upstream chunks and writes client
//! ones.

mod request;
mod response;
mod stream;

pub(crate) use request::tool_choice_mode;
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response, finish_reason, stop_reason, usage_of};
pub(crate) use stream::chunk_usage;
pub use stream::{StreamDecoder, StreamEncoder};

#[cfg(test)]
#[path = "../tests/openai_chat.rs"]
mod tests;
