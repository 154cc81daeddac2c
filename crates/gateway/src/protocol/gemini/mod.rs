//! Google Gemini (`generateContent` / `streamGenerateContent?alt=sse`, v1beta) wire format, outbound only: neutral
//! requests become Gemini bodies, Gemini answers and stream chunks become neutral responses and events.
//!
//! Choices made here, each checked against the public Gemini API reference:
//! - **Schemas** go in the classic `parameters` / `responseSchema` fields (Gemini's OpenAPI-3.0 `Schema` subset),
//!   not `parametersJsonSchema` / `responseJsonSchema`: the JSON-Schema fields exist in v1beta but are not accepted
//!   by every endpoint and model, while the classic ones are. The price is [`sanitize_schema`]: a whitelist of the
//!   `Schema` message's fields (Gemini rejects the whole request on the first unknown key), with local `$ref`s
//!   inlined, `type: [.., "null"]` turned into `nullable`, `const` into `enum` and `oneOf` into `anyOf`.
//! - **Thought signatures** (`Part.thoughtSignature`) may sit on a thought part, a text part or a `functionCall`
//!   part, and must come back on the same part. A signed thought part becomes `Thinking { text, signature }`; a
//!   signature on any other part becomes an empty `Thinking { text: "", signature }` just before that part, and
//!   on the way back such an empty signed `Thinking` is put onto the part that follows it. Signatures are marked as
//!   Gemini's in the neutral form (`Signature::gemini`); thinking that is unsigned or signed by another provider is
//!   dropped from requests (Gemini reads nothing from the one and rejects the other). When the first `functionCall` of a model turn has no
//!   signature (history from a client that lost it, or from another model), the documented
//!   `skip_thought_signature_validator` sentinel is sent so Gemini 3 does not reject the request.
//! - **Call ids**: `functionCall.id` / `functionResponse.id` are sent; answers without one get `call_<n>`.
//!
//! `request.rs` writes upstream request bodies, `schema.rs` turns JSON Schema into Gemini's `Schema`,
//! `response.rs` reads whole answers (and holds the part, stop-reason and usage readers the stream shares),
//! `stream.rs` reads stream chunks.

mod request;
mod response;
mod schema;
mod stream;

pub use request::encode_request;
pub use response::{decode_response, stop_reason};
pub use schema::sanitize_schema;
pub use stream::StreamDecoder;

/// The signature value Gemini documents for function calls it did not sign (history from elsewhere).
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The thinking budget when reasoning is on but the client named neither a budget nor a known effort.
const DEFAULT_THINKING_BUDGET: u32 = 8192;

/// The largest `thinkingBudget` Gemini Flash models accept.
const FLASH_MAX_THINKING_BUDGET: u32 = 24_576;

/// How deep local `$ref`s are inlined before giving up (recursive schemas).
const MAX_REF_DEPTH: usize = 8;

/// The URL path suffix for a model: `models/{model}:generateContent` or `models/{model}:streamGenerateContent?alt=sse`.
/// A model id given as `models/x` is not doubled.
pub fn method_path(model: &str, stream: bool) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    if stream {
        format!("models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("models/{model}:generateContent")
    }
}

#[cfg(test)]
#[path = "../tests/gemini.rs"]
mod tests;
