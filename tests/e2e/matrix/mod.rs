//! The translation conformance matrix: every inbound protocol (OpenAI chat, Anthropic messages, Responses, Gemini) ×
//! every
//! upstream protocol (OpenAI chat, Anthropic, Gemini) × every case, one named test per cell
//! (`matrix::<inbound>::<upstream>::<case>`), so a failure names its cell.
//!
//! One gateway and the three fakes serve the whole grid (started on first use, stopped when the test process ends);
//! each cell asks for its own model name (`<scenario words>+cell-<inbound>-<upstream>-<case>`), so its upstream
//! request, its routing health and its ledger row are its own. Each cell checks, for the client's protocol:
//! well-formedness (event order, indices, ids, terminators), completeness (text and arguments reassembled equal what
//! the fake sent), the stop reason, the usage the fake reported (input, cached, output, reasoning) in the client's
//! usage and in the ledger row, and what the upstream received. The `client_shaped` case replays the requests of
//! Claude Code, Codex, Continue and Gemini CLI from `tests/fixtures/clients/`.
//!
//! Passthrough cells (OpenAI chat onto OpenAI, Anthropic onto Anthropic, Responses onto OpenAI's own Responses API,
//! Gemini onto Gemini) check instead that the upstream received the client's body with only `model` rewritten (a
//! Gemini body untouched: its model is in the URL); Responses and Gemini streams and bodies must also arrive byte
//! for byte. `responses_openai` holds what the grid cannot say about Responses onto
//! OpenAI: fallback to a translated target, `previous_response_id`, alias settings, compatible hosts.

mod checks;
mod clients;
mod gemini_client;
mod requests;
mod responses_openai;
mod world;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::fake::script::{SIGNATURE, STOP_SEQUENCE, THINKING};
use e2e::fake::{FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, FAKE_TOKEN, Guarded, free_port, http_get, wait_for, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::queries::{self, Page, RequestFilter, RequestRow};
use switchboard_gateway::store::Store;

use checks::*;
use clients::*;
use gemini_client::*;
use requests::*;
use world::*;

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
    OpenAi,
    Anthropic,
    Gemini,
}

impl Upstream {
    fn of(kind: FakeKind) -> Upstream {
        match kind {
            FakeKind::OpenAi => Upstream::OpenAi,
            FakeKind::Anthropic => Upstream::Anthropic,
            FakeKind::Gemini => Upstream::Gemini,
        }
    }

    fn kind(self) -> FakeKind {
        match self {
            Upstream::OpenAi => FakeKind::OpenAi,
            Upstream::Anthropic => FakeKind::Anthropic,
            Upstream::Gemini => FakeKind::Gemini,
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Upstream::OpenAi => "oa",
            Upstream::Anthropic => "an",
            Upstream::Gemini => "ge",
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
        format!("{}+cell-{:?}-{:?}-{:?}", self.case.words(), self.inbound, self.upstream, self.case).to_lowercase()
    }

    fn client_model(&self) -> String {
        format!("{}/{}", self.upstream.provider(), self.model())
    }

    /// Whether the client's body goes to this upstream as it is (same protocol, or Responses onto OpenAI).
    fn passthrough(&self) -> bool {
        matches!(
            (self.inbound, self.upstream),
            (Inbound::Chat, Upstream::OpenAi)
                | (Inbound::Messages, Upstream::Anthropic)
                | (Inbound::Responses, Upstream::OpenAi)
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
        check_ledger(world, &cell, 200);
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
                // and so must we. An
                // Anthropic client's blocks are sequential while an OpenAI upstream may interleave parallel calls,
                // so there the first call streams live and the next ones arrive whole when it ends.
                let live = if inbound == Inbound::Messages && upstream == Upstream::OpenAi { 1 } else { 2 };
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
    [openai => Upstream::OpenAi, anthropic => Upstream::Anthropic, gemini => Upstream::Gemini]
    [plain => Case::Plain, stream => Case::Stream, multi_turn => Case::MultiTurn,
     tools_streamed => Case::ToolsStreamed, parallel_tools => Case::ParallelTools, image_input => Case::Image,
     json_mode => Case::JsonMode, thinking => Case::Thinking, stop_sequence => Case::StopSequence,
     max_tokens => Case::MaxTokens, upstream_error => Case::UpstreamError, mid_stream_error => Case::MidStreamError,
     client_shaped => Case::Client]
}
