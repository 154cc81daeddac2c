//! Wire formats. Only this room knows what OpenAI chat, Anthropic, Gemini and OpenAI Responses bodies and stream
//! events look like; the server and the providers hand it JSON and SSE events and get the neutral form
//! (`neutral.rs`) back, or the reverse.
//!
//! Each format module offers the same six converters, as far as the format is used in that direction:
//! `decode_request` / `encode_request`, `decode_response` / `encode_response`, and the stateful `StreamDecoder`
//! (upstream SSE events → `StreamEvent`s) / `StreamEncoder` (`StreamEvent`s → the client's SSE events).

pub mod anthropic;
mod fields;
pub mod gemini;
pub mod neutral;
pub mod openai_chat;
pub mod responses;
pub mod sse;

/// The wire protocols Switchboard speaks, in and out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    OpenAiChat,
    Anthropic,
    Gemini,
    /// OpenAI's Responses API (`/responses`).
    Responses,
}

/// A body that does not fit its protocol. `param` names the offending field (`messages[2].content`) when known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProtocolError {
    pub message: String,
    pub param: Option<String>,
}

impl ProtocolError {
    pub fn new(message: impl Into<String>) -> ProtocolError {
        ProtocolError { message: message.into(), param: None }
    }

    pub fn at(param: impl Into<String>, message: impl Into<String>) -> ProtocolError {
        ProtocolError { message: message.into(), param: Some(param.into()) }
    }
}

/// One server-sent event as a protocol module sees it: the `event:` name (Anthropic names its events; OpenAI and
/// Gemini do not) and the `data:` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

use serde_json::Value;

use neutral::{ChatRequest, ChatResponse, StreamEvent};

/// The request body for an upstream of `protocol`.
pub fn encode_request(protocol: Protocol, request: &ChatRequest) -> Value {
    match protocol {
        Protocol::OpenAiChat => openai_chat::encode_request(request),
        Protocol::Anthropic => anthropic::encode_request(request),
        Protocol::Gemini => gemini::encode_request(request),
        Protocol::Responses => responses::encode_request(request),
    }
}

/// An upstream's whole answer, in the neutral form.
pub fn decode_response(protocol: Protocol, body: &Value) -> Result<ChatResponse, ProtocolError> {
    match protocol {
        Protocol::OpenAiChat => openai_chat::decode_response(body),
        Protocol::Anthropic => anthropic::decode_response(body),
        Protocol::Gemini => gemini::decode_response(body),
        Protocol::Responses => responses::decode_response(body),
    }
}

/// Reads an upstream's stream, whichever protocol it speaks.
pub enum StreamDecoder {
    OpenAiChat(openai_chat::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
    Gemini(gemini::StreamDecoder),
    Responses(responses::StreamDecoder),
}

impl StreamDecoder {
    pub fn new(protocol: Protocol) -> StreamDecoder {
        match protocol {
            Protocol::OpenAiChat => StreamDecoder::OpenAiChat(openai_chat::StreamDecoder::new()),
            Protocol::Anthropic => StreamDecoder::Anthropic(anthropic::StreamDecoder::new()),
            Protocol::Gemini => StreamDecoder::Gemini(gemini::StreamDecoder::new()),
            Protocol::Responses => StreamDecoder::Responses(responses::StreamDecoder::new()),
        }
    }

    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, ProtocolError> {
        match self {
            StreamDecoder::OpenAiChat(d) => d.decode(event),
            StreamDecoder::Anthropic(d) => d.decode(event),
            StreamDecoder::Gemini(d) => d.decode(event),
            StreamDecoder::Responses(d) => d.decode(event),
        }
    }

    /// The usage the upstream reported before its stream broke, for the ledger (OpenAI chat and Responses streams
    /// report it only at their end; a failed Responses response reports it as it fails).
    pub fn usage_so_far(&self) -> Option<neutral::Usage> {
        match self {
            StreamDecoder::OpenAiChat(d) => d.usage_so_far(),
            StreamDecoder::Anthropic(d) => d.usage_so_far(),
            StreamDecoder::Gemini(d) => d.usage_so_far(),
            StreamDecoder::Responses(d) => d.usage_so_far(),
        }
    }

    /// Events held back until the upstream's stream ended (Gemini reports usage on its last chunk), or the error a
    /// stream cut short before its terminal event is (Responses).
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        match self {
            StreamDecoder::Gemini(d) => d.finish(),
            StreamDecoder::Responses(d) => d.finish(),
            StreamDecoder::OpenAiChat(_) | StreamDecoder::Anthropic(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "tests/usage.rs"]
mod usage_tests;

/// What every spoke's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::SseEvent;

    /// Splits an SSE fixture into events (`event:` and `data:` lines, blank-line separated).
    pub(crate) fn sse(text: &str) -> Vec<SseEvent> {
        text.split("\n\n")
            .filter(|frame| !frame.trim().is_empty())
            .map(|frame| {
                let mut event = SseEvent { event: None, data: String::new() };
                for line in frame.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.event = Some(name.to_owned());
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        event.data = data.to_owned();
                    }
                }
                event
            })
            .collect()
    }
}
