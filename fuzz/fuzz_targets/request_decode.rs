//! A client's request body, as each inbound protocol decodes it: any JSON gets the neutral request or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_gateway::server::fuzzing::Client;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for client in [Client::OpenAiChat, Client::Anthropic, Client::Responses, Client::Gemini { stream: true }] {
        let _ = client.decode_request(&body);
    }
});
