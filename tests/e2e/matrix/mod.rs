//! The translation conformance matrix: every inbound protocol (OpenAI chat, Anthropic messages, Responses, Gemini) ×
//! every upstream kind (OpenAI chat completions, Anthropic, Gemini, and OpenAI through its Responses API: kind
//! `openai-responses`) × every case, one named test per cell (`matrix::<inbound>::<upstream>::<case>`), so a failure
//! names its cell.
//!
//! One gateway and the three fakes serve the whole grid (started on first use, stopped when the test process ends;
//! the OpenAI fake serves both OpenAI kinds, chat completions and `/v1/responses`); each cell asks for its own model
//! name (`<scenario words>+cell-<inbound>-<upstream>-<case>`), so its upstream request, its routing health and its
//! ledger row are its own. Each cell checks, for the client's protocol: well-formedness (event order, indices, ids,
//! terminators), completeness (text and arguments reassembled equal what the fake sent), the stop reason, the usage
//! the fake reported (input, cached, output, reasoning) in the client's usage and in the ledger row, and what the
//! upstream received, in its own form (`upstream.rs`). The `client_shaped` case replays the requests of Claude Code,
//! Codex, Continue and Gemini CLI from `tests/fixtures/clients/`.
//!
//! Passthrough cells (OpenAI chat onto OpenAI, Anthropic onto Anthropic, Responses onto either OpenAI kind, Gemini
//! onto Gemini) check instead that the upstream received the client's body with only `model` rewritten (a Gemini
//! body untouched: its model is in the URL); Responses and Gemini streams and bodies must also arrive byte for byte.
//!
//! What a Responses upstream cannot do is asserted as the gateway does it: stop sequences have no Responses form and
//! are not sent, which the gateway logs (the text still arrives, with a plain stop); `max_output_tokens` is at least 16; it breaks
//! mid-stream with its own `response.failed` (error and usage in the ledger row), and its dropped connection is
//! checked in the same cell.
//! `responses_openai` holds what the grid cannot say about Responses onto OpenAI: fallback to a translated target,
//! `previous_response_id`, alias settings, compatible hosts.

mod checks;
mod clients;
mod gemini_client;
mod requests;
mod responses_openai;
mod upstream;
mod world;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::fake::script::{SIGNATURE, STOP_SEQUENCE, THINKING};
use e2e::fake::{ENCRYPTED_REASONING, FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, FAKE_TOKEN, Guarded, free_port, http_get, wait_for, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter, RequestRow};
use switchboard_gateway::store::Store;

use checks::*;
use clients::*;
use gemini_client::*;
use requests::*;
use upstream::*;
use world::*;

/// What the OpenAI fake's `response.failed` says (its `fail-mid-stream` delivery).
const FAILED_MESSAGE: &str = "The model had an error while generating.";

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

// ---------------------------------------------------------------------------------------------------------------
// The axes
// ---------------------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inbound {
    Chat,
    Messages,
    Responses,
    Gemini,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upstream {
    /// OpenAI's chat completions (kind `openai`, which reaches OpenAI's Responses API only for Responses clients).
    OpenAi,
    Anthropic,
    Gemini,
    /// OpenAI through its Responses API only (kind `openai-responses`): every client's request goes to
    /// `/v1/responses`, on the OpenAI fake.
    Responses,
}

impl Upstream {
    const ALL: [Upstream; 4] = [Upstream::OpenAi, Upstream::Anthropic, Upstream::Gemini, Upstream::Responses];

    /// The fake that serves it.
    fn kind(self) -> FakeKind {
        match self {
            Upstream::OpenAi | Upstream::Responses => FakeKind::OpenAi,
            Upstream::Anthropic => FakeKind::Anthropic,
            Upstream::Gemini => FakeKind::Gemini,
        }
    }

    /// The provider's `kind` in the gateway's configuration.
    fn provider_kind(self) -> &'static str {
        match self {
            Upstream::Responses => "openai-responses",
            other => other.kind().name(),
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Upstream::OpenAi => "oa",
            Upstream::Anthropic => "an",
            Upstream::Gemini => "ge",
            Upstream::Responses => "rs",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Plain,
    Stream,
    MultiTurn,
    ToolsStreamed,
    ParallelTools,
    Image,
    JsonMode,
    Thinking,
    StopSequence,
    MaxTokens,
    UpstreamError,
    MidStreamError,
    /// The request shape of the inbound protocol's typical client, from `tests/fixtures/clients/`.
    Client,
}

impl Case {
    /// The fake's scenario words.
    fn words(self) -> &'static str {
        match self {
            Case::Plain | Case::Stream | Case::MultiTurn | Case::Image => "text",
            Case::ToolsStreamed | Case::ParallelTools | Case::Client => "tools",
            Case::JsonMode => "json",
            Case::Thinking => "thinking",
            Case::StopSequence => "stop-sequence",
            Case::MaxTokens => "max-tokens",
            Case::UpstreamError => "overloaded",
            Case::MidStreamError => "drop-mid-stream",
        }
    }

    fn streams(self) -> bool {
        matches!(
            self,
            Case::Stream
                | Case::ToolsStreamed
                | Case::Thinking
                | Case::StopSequence
                | Case::MaxTokens
                | Case::MidStreamError
                | Case::UpstreamError
                | Case::Client
        )
    }
}

/// One cell of the grid.
#[derive(Clone, Copy, Debug)]
struct Cell {
    inbound: Inbound,
    upstream: Upstream,
    case: Case,
}

impl Cell {
    /// The upstream model this cell asks for: the fake's scenario, and a tag that makes it the cell's own.
    fn model(&self) -> String {
        format!("{}+cell-{:?}-{:?}-{:?}", self.words(), self.inbound, self.upstream, self.case).to_lowercase()
    }

    /// The fake's scenario words: the case's, but a Responses upstream breaks mid-stream its own way, with a
    /// `response.failed` event (the connection breaking is the other upstreams' case).
    fn words(&self) -> &'static str {
        match (self.case, self.upstream) {
            (Case::MidStreamError, Upstream::Responses) => "fail-mid-stream",
            (case, _) => case.words(),
        }
    }

    fn client_model(&self) -> String {
        format!("{}/{}", self.upstream.provider(), self.model())
    }

    /// Whether the client's body goes to this upstream as it is (same protocol, or Responses onto either OpenAI kind).
    fn passthrough(&self) -> bool {
        matches!(
            (self.inbound, self.upstream),
            (Inbound::Chat, Upstream::OpenAi)
                | (Inbound::Messages, Upstream::Anthropic)
                | (Inbound::Responses, Upstream::OpenAi | Upstream::Responses)
                | (Inbound::Gemini, Upstream::Gemini)
        )
    }

    /// The reply text the fake sends for this cell when the last user text is `user`.
    fn hello(&self, user: &str) -> String {
        format!("Hello from {} {}: {user}", self.upstream.kind().name(), self.model())
    }
}

/// Runs one cell and checks everything it can.
fn run(inbound: Inbound, upstream: Upstream, case: Case) {
    let world = world();
    let cell = Cell { inbound, upstream, case };
    let (path, body) = request(&cell);
    let (status, text) = send(world, &cell, &path, &body);

    if case == Case::UpstreamError {
        check_upstream_error(world, &cell, status, &text);
        return;
    }
    assert_eq!(status, StatusCode::OK, "{text}");
    let outcome = outcome(&cell, &text);
    check_upstream(world, &cell, &body);

    if case == Case::MidStreamError {
        assert!(outcome.error.is_some(), "an in-band error ends the broken stream: {text}");
        assert!(!outcome.text.is_empty(), "what arrived before the drop is kept: {text}");
        assert!(cell.hello(user_text(case)).starts_with(&outcome.text), "{text}");
        if cell.passthrough() && upstream == Upstream::Responses {
            // The upstream's own `response.failed`, relayed as it came.
            check_relayed_unchanged(world, &cell, &path, &text);
        }
        check_ledger(world, &cell, 200);
        if upstream == Upstream::Responses {
            check_dropped_responses_stream(world, &cell);
        }
        return;
    }
    assert_eq!(outcome.error, None, "{text}");
    if cell.passthrough() && matches!(inbound, Inbound::Responses | Inbound::Gemini) {
        check_relayed_unchanged(world, &cell, &path, &text);
    }
    if inbound == Inbound::Messages && upstream != Upstream::Anthropic && case.streams() {
        check_message_delta_usage(&cell, &text);
    }
    assert_eq!(outcome.stop, expected_stop(&cell), "the stop reason: {text}");
    check_usage(&cell, outcome.usage, &text);
    match case {
        Case::ToolsStreamed | Case::ParallelTools | Case::Client => {
            check_two_calls(&cell, &outcome, &text);
            if case.streams() && upstream != Upstream::Gemini && inbound != Inbound::Gemini {
                // Gemini sends (and Gemini clients get) each call whole; the others stream the arguments in pieces,
                // and so must we. An Anthropic client's blocks are sequential while OpenAI's chat completions may
                // interleave parallel calls, so from an OpenAI upstream the first call streams live and the next
                // ones arrive whole when the run of calls ends. The Responses API streams its calls one item after
                // another, but the neutral stream does not say when a call is done, so it is treated the same.
                let openai = matches!(upstream, Upstream::OpenAi | Upstream::Responses);
                let live = if inbound == Inbound::Messages && openai { 1 } else { 2 };
                assert!(outcome.calls.iter().take(live).all(|c| c.deltas >= 2), "arguments stream: {text}");
            }
        }
        Case::JsonMode => {
            let answer: Value = serde_json::from_str(&outcome.text).unwrap_or_else(|_| panic!("JSON: {text}"));
            assert_eq!(answer, json!({ "ok": true }));
        }
        Case::Thinking => {
            assert_eq!(outcome.thinking, THINKING, "the reasoning reaches the client: {text}");
            assert_eq!(outcome.text, "Answer.", "{text}");
            check_signature_round_trip(world, &cell, &outcome, &text);
        }
        Case::StopSequence => {
            assert_eq!(outcome.text, "Counting: one two three ", "{text}");
            if inbound == Inbound::Messages && upstream == Upstream::Anthropic {
                assert_eq!(outcome.stop_sequence.as_deref(), Some(STOP_SEQUENCE), "{text}");
            }
            if upstream == Upstream::Responses && inbound != Inbound::Responses {
                // Not sent (the Responses API has none), and the gateway's log says so.
                world.log_line(&cell.client_model(), "the Responses API has no such parameters: stop");
            }
        }
        Case::MaxTokens => assert_eq!(outcome.text, "Once upon a time there", "{text}"),
        Case::Plain | Case::Stream | Case::MultiTurn | Case::Image => {
            assert_eq!(outcome.text, cell.hello(user_text(case)), "the whole text, in order: {text}");
            assert!(outcome.calls.is_empty() && outcome.thinking.is_empty(), "{text}");
        }
        Case::UpstreamError | Case::MidStreamError => unreachable!("handled above"),
    }
    check_ledger(world, &cell, 200);
}

macro_rules! matrix {
    ([$($inbound:ident => $in:expr),*] $upstreams:tt $cases:tt) => {
        $( matrix!(@inbound $inbound => $in; $upstreams $cases); )*
    };
    (@inbound $inbound:ident => $in:expr; [$($upstream:ident => $up:expr),*] $cases:tt) => {
        mod $inbound {
            $( matrix!(@upstream $in; $upstream => $up; $cases); )*
        }
    };
    (@upstream $in:expr; $upstream:ident => $up:expr; [$($case:ident => $c:expr),*]) => {
        mod $upstream {
            use super::super::{Case, Inbound, Upstream, run};
            $(
                #[test]
                fn $case() {
                    run($in, $up, $c);
                }
            )*
        }
    };
}

matrix! {
    [chat => Inbound::Chat, messages => Inbound::Messages, responses => Inbound::Responses, gemini => Inbound::Gemini]
    [openai => Upstream::OpenAi, anthropic => Upstream::Anthropic, gemini => Upstream::Gemini,
     responses => Upstream::Responses]
    [plain => Case::Plain, stream => Case::Stream, multi_turn => Case::MultiTurn,
     tools_streamed => Case::ToolsStreamed, parallel_tools => Case::ParallelTools, image_input => Case::Image,
     json_mode => Case::JsonMode, thinking => Case::Thinking, stop_sequence => Case::StopSequence,
     max_tokens => Case::MaxTokens, upstream_error => Case::UpstreamError, mid_stream_error => Case::MidStreamError,
     client_shaped => Case::Client]
}
