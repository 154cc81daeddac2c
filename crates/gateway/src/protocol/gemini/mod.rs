//! Google Gemini (`generateContent` / `streamGenerateContent`, v1beta and v1) wire format, both ways: neutral
//! requests become Gemini bodies and Gemini answers and stream chunks become neutral responses and events (Gemini
//! upstreams); a Gemini client's request becomes a neutral request and neutral answers and events become Gemini's
//! (Gemini CLI and the google-genai SDKs through Switchboard, onto other upstreams).
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
//!
//! Gemini clients (`client_request.rs`, and the encoders in `response.rs` and `stream.rs`):
//! - **Field names**: Google's API takes a message's proto field names (`generation_config`) as well as their JSON
//!   names (`generationConfig`), and the Python SDK sends some of each (`parameters_json_schema`); [`camel`]
//!   reads both, the JSON name winning. Unknown fields are ignored; a known field of the wrong type is an error
//!   naming it (`contents[1].parts[0].functionCall.args`).
//! - **Decoded**: `systemInstruction` (text parts), `contents` (roles `user`/`model`; `text`, `thought` text,
//!   `inlineData` and `fileData` as images, `functionCall` and `functionResponse`, whose `{"output"}`, `{"result"}`
//!   or `{"error"}` is unwrapped), `tools[].functionDeclarations` (`parametersJsonSchema` as it is, the OpenAPI
//!   `parameters` converted to JSON Schema by `schema::to_json_schema`), `toolConfig`, and `generationConfig`
//!   (temperature, topP, topK, maxOutputTokens, candidateCount, seed, the penalties, stopSequences,
//!   responseMimeType with responseSchema or responseJsonSchema, thinkingConfig). Built-in tools (`googleSearch`,
//!   `codeExecution`, …) and their parts, `safetySettings`, speech and media settings have no neutral form and are
//!   dropped: only Gemini can run them, and a Gemini upstream gets the client's body untouched. `cachedContent`
//!   names a cache stored at Google, so only a Gemini upstream can serve it (the relay plans accordingly).
//! - **Call ids**: a `functionCall` without an `id` gets `call_<n>`; a `functionResponse` without one answers the
//!   earliest unanswered call of its name.
//! - **Thought signatures** go back only to their maker. Gemini's own stay what they are (neutral
//!   `Signature::gemini`). Thinking another provider signed (Anthropic's and its redacted thinking, OpenAI's
//!   encrypted reasoning) is shown as thought parts and also rides, text and signature together, in a
//!   `thoughtSignature` of this gateway's making on the next part the client keeps (a text or `functionCall`, or an
//!   empty text part at the end):
//!   `base64("switchboard-thinking:" + JSON blocks)`, see `signatures.rs`. Reading it back gives the neutral
//!   blocks, so the next turn reaches their maker even from a client that drops thought parts from its history.
//! - **Answers**: finish reasons as Gemini's (`STOP` for natural ends, stop sequences and tool calls,
//!   `MAX_TOKENS`, `SAFETY` for filtered content); `usageMetadata` with prompt (cached included), candidates
//!   (thoughts excluded), cached, thoughts and total tokens, on a stream's last chunk; function calls whole; only
//!   the first choice of a stream.
//!
//! `request.rs` writes upstream request bodies and `client_request.rs` reads clients' ones; `schema.rs` converts
//! between JSON Schema and Gemini's `Schema`; `response.rs` reads and writes whole answers (and holds the part,
//! stop-reason and usage mappings the stream shares); `stream.rs` reads upstream chunks and writes client ones;
//! `signatures.rs` carries other providers' thinking through a Gemini client.

mod client_request;
mod request;
mod response;
mod schema;
mod signatures;
mod stream;

use std::borrow::Cow;

use serde_json::{Map, Value, json};

pub use client_request::decode_request;
pub use request::encode_request;
pub use response::{decode_response, decode_usage, encode_response, finish_reason, stop_reason};
pub use schema::sanitize_schema;
pub use stream::{StreamDecoder, StreamEncoder};

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

/// A message object with its proto field names (`parameters_json_schema`) read as their JSON names
/// (`parametersJsonSchema`), the JSON name winning when a body has both. Borrowed unless a key has an underscore.
pub(super) fn camel(object: &Map<String, Value>) -> Cow<'_, Map<String, Value>> {
    if !object.keys().any(|key| key.contains('_')) {
        return Cow::Borrowed(object);
    }
    let mut out = Map::new();
    for (key, value) in object {
        if !key.contains('_') {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let mut name = String::with_capacity(key.len());
        let mut upper = false;
        for c in key.chars() {
            match c {
                '_' if !name.is_empty() => upper = true,
                c if upper => {
                    name.extend(c.to_uppercase());
                    upper = false;
                }
                c => name.push(c),
            }
        }
        if !object.contains_key(&name) {
            out.insert(name, value.clone());
        }
    }
    Cow::Owned(out)
}

/// Google's status name for an HTTP status, as its errors carry it.
pub fn status_name(code: u16) -> &'static str {
    match code {
        400 | 405 | 411 | 413 | 415 | 422 | 431 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        // 529: Anthropic's "overloaded", passed on from an upstream.
        502 | 503 | 529 => "UNAVAILABLE",
        400..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Google's error body: `{"error": {"code", "message", "status"}}`.
pub fn error_body(code: u16, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message, "status": status_name(code) } })
}

#[cfg(test)]
#[path = "../tests/gemini.rs"]
mod tests;

#[cfg(test)]
#[path = "../tests/gemini_client.rs"]
mod client_tests;
