//! Thought signatures across a Gemini client: Gemini's own go back and forth as they are, and thinking another
//! provider signed rides inside a `thoughtSignature` value of this gateway's making (see the module docs of
//! [`super`]).
//!
//! That value is `base64("switchboard-thinking:" + a JSON array of blocks)`, each block `{"thinking", "signature"}`
//! (Anthropic's signed thinking, its text included, since Anthropic checks the signature against it) or
//! `{"redacted"}` (Anthropic's redacted thinking). It is valid base64, as the field requires: the Python SDK holds
//! signatures as bytes and writes them back re-encoded, so reading accepts either base64 alphabet, padded or not.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Value, json};

use crate::protocol::neutral::{Part, Signature};

/// What the carried blocks start with once decoded. 21 bytes, so its base64 is a fixed 28-character prefix.
const MAGIC: &[u8] = b"switchboard-thinking:";

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_encode_padding(true).with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// What a client's `thoughtSignature` holds.
#[derive(Debug, PartialEq)]
pub(super) enum Carried {
    /// Gemini's own signature, in its neutral form (`Signature::gemini`).
    Gemini(String),
    /// Thinking another provider made, which rode on this part: `Thinking` with its signature, `RedactedThinking`.
    Blocks(Vec<Part>),
}

/// Reads a client's `thoughtSignature`.
pub(super) fn read(value: &str) -> Carried {
    let magic = STANDARD.encode(MAGIC);
    let engine = if value.starts_with(&magic) {
        &STANDARD
    } else if value.starts_with(&URL_SAFE.encode(MAGIC)) {
        &URL_SAFE
    } else {
        return Carried::Gemini(Signature::gemini(value));
    };
    let blocks = engine
        .decode(value)
        .ok()
        .and_then(|bytes| bytes.strip_prefix(MAGIC).and_then(|json| serde_json::from_slice::<Vec<Value>>(json).ok()));
    let Some(blocks) = blocks else {
        // Looked like ours but is not: Gemini judges it, as it would any signature.
        return Carried::Gemini(Signature::gemini(value));
    };
    Carried::Blocks(
        blocks
            .iter()
            .filter_map(|block| match (block["thinking"].as_str(), block["signature"].as_str(), &block["redacted"]) {
                (Some(text), Some(signature), _) => {
                    Some(Part::Thinking { text: text.to_owned(), signature: Some(signature.to_owned()) })
                }
                (_, _, Value::String(data)) => Some(Part::RedactedThinking { data: data.clone() }),
                _ => None,
            })
            .collect(),
    )
}

/// The `thoughtSignature` value that carries `blocks` (Anthropic's signed and redacted thinking).
pub(super) fn carry(blocks: &[Part]) -> String {
    let blocks: Vec<Value> = blocks
        .iter()
        .filter_map(|part| match part {
            Part::Thinking { text, signature: Some(signature) } => {
                Some(json!({ "thinking": text, "signature": signature }))
            }
            Part::RedactedThinking { data } => Some(json!({ "redacted": data })),
            _ => None,
        })
        .collect();
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(Value::Array(blocks).to_string().as_bytes());
    STANDARD.encode(bytes)
}

/// Signatures waiting for the next part a Gemini client will keep: Gemini puts a thought signature on the part
/// after the thinking (a text or a `functionCall`), and clients such as Gemini CLI keep those parts in their
/// history while they may drop the thought parts themselves.
#[derive(Debug, Default)]
pub(super) struct Pending {
    gemini: Option<String>,
    blocks: Vec<Part>,
}

impl Pending {
    /// A neutral signature that ended a thinking block with `text`.
    pub(super) fn signed(&mut self, text: &str, signature: &str) {
        match Signature::of(signature) {
            Signature::Gemini(raw) => self.gemini = Some(raw.to_owned()),
            // Another maker's: carried inside the gateway's own signature, so the client hands it back whole.
            Signature::Anthropic(_) | Signature::OpenAi(_) => {
                self.blocks.push(Part::Thinking { text: text.to_owned(), signature: Some(signature.to_owned()) })
            }
        }
    }

    pub(super) fn redacted(&mut self, data: &str) {
        self.blocks.push(Part::RedactedThinking { data: data.to_owned() });
    }

    /// Puts what is waiting onto `part` (a part holds one signature: another provider's blocks first, then
    /// Gemini's on the part after).
    pub(super) fn attach(&mut self, part: &mut Value) {
        let signature =
            if self.blocks.is_empty() { self.gemini.take() } else { Some(carry(&std::mem::take(&mut self.blocks))) };
        if let (Some(signature), Some(object)) = (signature, part.as_object_mut()) {
            object.insert("thoughtSignature".into(), json!(signature));
        }
    }

    /// What is still waiting at the end of an answer, as a part of its own (empty text, a signature).
    pub(super) fn leftover(&mut self) -> Vec<Value> {
        let mut parts = Vec::new();
        while !self.blocks.is_empty() || self.gemini.is_some() {
            let mut part = json!({ "text": "" });
            self.attach(&mut part);
            parts.push(part);
        }
        parts
    }
}
