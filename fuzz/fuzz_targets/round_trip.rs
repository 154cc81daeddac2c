//! The translation round trip: a client's request, decoded, then written for each upstream protocol, must give JSON
//! that reads back; what was written for each upstream is then decoded again as that protocol's client request (the
//! path a passthrough-shaped body takes), which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_gateway::protocol::{Protocol, encode_request};
use switchboard_gateway::server::fuzzing::Client;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for client in [Client::OpenAiChat, Client::Anthropic, Client::Responses, Client::Gemini { stream: true }] {
        let Ok(request) = client.decode_request(&body) else { continue };
        for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Gemini] {
            let text = encode_request(protocol, &request).to_string();
            let again: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{client:?} → {protocol:?} is not JSON ({e}): {text}"));
            match protocol {
                Protocol::OpenAiChat => drop(Client::OpenAiChat.decode_request(&again)),
                Protocol::Anthropic => drop(Client::Anthropic.decode_request(&again)),
                Protocol::Gemini => drop(Client::Gemini { stream: false }.decode_request(&again)),
            }
        }
    }
});
