//! Black-box tests, all in one binary. Each module starts the real processes it needs through the harness in
//! `src/lib.rs`; none reaches beyond loopback.
//!
//! - `accounting`: every token class from every path: each upstream kind × client protocol × whole or streamed,
//!   the ledger row's token columns and cost against hand-worked figures and the client's own usage fields; a
//!   stream cut mid-way and a fallback.
//! - `agents`: the real coding agents (Claude Code, Codex, Gemini CLI, opencode, Qwen Code; pinned npm packages)
//!   connected by `switchboard-gateway connect`, run in their print/exec modes, then disconnected.
//! - `client_check`: the window's Test and Check of a client without the window: each client protocol's cases over
//!   HTTP against capable and failing fake targets, and each request's ledger row found by its `x-request-id`.
//! - `clients`: `switchboard-gateway clients | connect | disconnect` on tools' config files in a temporary HOME.
//! - `crash`: SIGKILL under load; the database opens, passes its integrity check and lost at most one flush.
//! - `gemini_inbound`: Gemini clients through `/v1beta/models/…` and its `/v1` twins, onto every upstream kind.
//! - `hostile`: the hostile input table on every inbound route; slow-drip bodies and dripped header floods.
//! - `headless`: the `switchboard-gateway` binary from a config file: health, models, guards, startup errors.
//! - `keychain`: provider keys in the real Secret Service (gnome-keyring on a private D-Bus session).
//! - `inprocess`: the chat window's in-process path: each request's ticket finds its own ledger row.
//! - `ledger`: `switchboard-gateway usage` over a database written through the library's ledger.
//! - `limits`: per-app and all-apps rate limits and the loop guard: bursts, 32 parallel streams, SIGHUP, 429 shapes.
//! - `matrix`: the translation conformance matrix: inbound protocol × upstream kind × case, one test per cell.
//! - `metrics`: Prometheus `/metrics` on its own port: the scrape (read by a strict parser) equals the ledger's rows
//!   after an answer, a fallback from a 500, a stream and a made-up model; the scrape token; off by default.
//! - `otel`: OpenTelemetry export: a collector in the test receives a span per request and per attempt (an answer,
//!   a fallback after a 500, a stream) with their GenAI attributes, and no key, token or prompt; a dead collector.
//! - `postgres`: two headless replicas sharing a real PostgreSQL (Debian's package, started by the harness): one
//!   ledger and one `usage` report, one budget stopping both, a database away for a while and a replica restart
//!   losing no row, an unreachable database and a wrong password named at start.
//! - `prices`: `prices update` from a local catalog server (each request priced at its own time, a broken catalog
//!   changing nothing) and provider balances read from fakes of their endpoints.
//! - `responses_upstream`: every client onto a provider of kind `openai-responses`, and Responses clients onto an
//!   `openai` host without `/responses` (translated onto its chat completions, and remembered).
//! - `window`: the real desktop app through tauri-driver + WebKitWebDriver under Xvfb.
//! - `window_chat`: the Chat page of the real app against a fake upstream, hostile output included.
//! - `window_aliases`: local Ollama detection offered on Providers, alias targets reordered by dragging, and "Try it"
//!   through the alias (the answering target, attempts, tokens and cost), against fake upstreams.
//! - `window_clients`: the Clients page: Connect Claude Code, Test, Check and Disconnect, its file checked at each
//!   step.
//! - `window_manage`: the issue-7 flow through the real window: provider, key, alias, app, a request, then Logs
//!   and Usage (and the screenshots in docs/screenshots/ with UPDATE_SCREENSHOTS=1).

// A test binary: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod accounting;
mod agents;
mod anthropic_inbound;
mod client_check;
mod clients;
mod conformance;
mod crash;
mod fakes;
mod gemini_inbound;
mod guards;
mod headless;
mod hostile;
mod inbound;
mod inprocess;
mod keychain;
mod ledger;
mod limits;
mod matrix;
mod metrics;
mod otel;
mod postgres;
mod prices;
mod recording;
mod responses_inbound;
mod responses_upstream;
mod routing;
mod sdk;
mod window;
mod window_aliases;
mod window_chat;
mod window_clients;
mod window_manage;
