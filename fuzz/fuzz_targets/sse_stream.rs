//! An upstream's stream bytes, cut at fuzzer-chosen points: the relay's splitter must give the same events however
//! the bytes arrive, and every event must go through the passthrough watch, each upstream protocol's stream decoder,
//! and each client's stream encoder without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_gateway::protocol::{Protocol, SseEvent, StreamDecoder};
use switchboard_gateway::server::fuzzing::{Client, Encoder, EventSplitter, Watch, event_fields};

const CLIENTS: [Client; 4] =
    [Client::OpenAiChat, Client::Anthropic, Client::Responses, Client::Gemini { stream: true }];
const PROTOCOLS: [Protocol; 3] = [Protocol::OpenAiChat, Protocol::Anthropic, Protocol::Gemini];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size the bytes arrive in.
    let Some((&step, bytes)) = data.split_first() else { return };
    let step = usize::from(step % 16) + 1;
    let whole = EventSplitter::default().push(bytes);
    let mut splitter = EventSplitter::default();
    let chunked: Vec<_> = bytes.chunks(step).flat_map(|chunk| splitter.push(chunk)).collect();
    assert_eq!(whole, chunked, "the events depend on how the bytes were cut");
    assert!(bytes.starts_with(&whole.concat()), "the splitter changed the bytes");

    for client in CLIENTS {
        let mut watch = Watch::new(client, true);
        for event in &whole {
            let _ = watch.inspect(event);
        }
        let _ = watch.broken("the upstream went away");
    }

    let events: Vec<SseEvent> = whole
        .iter()
        .filter_map(|raw| {
            let (event, data) = event_fields(raw);
            data.map(|data| SseEvent { event, data })
        })
        .collect();
    for protocol in PROTOCOLS {
        let mut decoder = StreamDecoder::new(protocol);
        let mut decoded = Vec::new();
        for event in &events {
            match decoder.decode(event) {
                Ok(found) => decoded.extend(found),
                Err(_) => break,
            }
        }
        decoded.extend(decoder.finish());
        let _ = decoder.usage_so_far();
        for client in CLIENTS {
            let mut encoder = Encoder::new(client, true);
            for event in &decoded {
                let _ = encoder.encode(event);
            }
            let _ = encoder.finish();
        }
    }
});
