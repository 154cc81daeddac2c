//! An upstream's whole answer, as each upstream protocol decodes it; a decoded answer is then written for each
//! client protocol, which must give JSON that reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_gateway::protocol::{Protocol, decode_response};
use switchboard_gateway::server::fuzzing::Client;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for protocol in [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Gemini] {
        let Ok(response) = decode_response(protocol, &body) else { continue };
        for client in [Client::OpenAiChat, Client::Anthropic, Client::Responses, Client::Gemini { stream: true }] {
            let text = client.encode_response(&response).to_string();
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{client:?} answer is not JSON: {text}");
        }
    }
});
