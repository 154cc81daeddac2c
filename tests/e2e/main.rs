//! Black-box tests, all in one binary. Each module starts the real processes it needs through the harness in
//! `src/lib.rs`; none reaches beyond loopback.
//!
//! - `crash`: SIGKILL under load; the database opens, passes its integrity check and lost at most one flush.
//! - `hostile`: the hostile input table on every inbound route; slow-drip bodies and dripped header floods.
//! - `headless`: the `switchboard-gateway` binary from a config file: health, models, guards, startup errors.
//! - `keychain`: provider keys in the real Secret Service (gnome-keyring on a private D-Bus session).
//! - `inprocess`: the chat window's in-process path: each request's ticket finds its own ledger row.
//! - `ledger`: `switchboard-gateway usage` over a database written through the library's ledger.
//! - `limits`: per-app and all-apps rate limits and the loop guard: bursts, 32 parallel streams, SIGHUP, 429 shapes.
//! - `matrix`: the translation conformance matrix: inbound protocol × upstream protocol × case, one test per cell.
//! - `window`: the real desktop app through tauri-driver + WebKitWebDriver under Xvfb.
//! - `window_chat`: the Chat page of the real app against a fake upstream, hostile output included.
//! - `window_aliases`: local Ollama detection offered on Providers, alias targets reordered by dragging, and "Try it"
//!   through the alias (the answering target, attempts, tokens and cost), against fake upstreams.
//! - `window_manage`: the issue-7 flow through the real window: provider, key, alias, app, a request, then Logs
//!   and Usage (and the screenshots in docs/screenshots/ with UPDATE_SCREENSHOTS=1).

// A test binary: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod anthropic_inbound;
mod conformance;
mod crash;
mod fakes;
mod guards;
mod headless;
mod hostile;
mod inbound;
mod inprocess;
mod keychain;
mod ledger;
mod limits;
mod matrix;
mod recording;
mod responses_inbound;
mod routing;
mod sdk;
mod window;
mod window_aliases;
mod window_chat;
mod window_manage;
