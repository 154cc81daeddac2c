//! Switchboard's gateway core.
//!
//! The local doorway between a person's applications and their LLM providers: an HTTP server on loopback with
//! OpenAI- and Anthropic-compatible routes, the guards in front of it, and (as the rooms fill in) routing, the usage
//! ledger and the keychain. The desktop app (`src-tauri`) and the headless binary (`switchboard-gateway`) are both
//! thin shells around this crate.
//!
//! Architecture invariant: this crate knows nothing of Tauri or any window toolkit.

pub mod apps;
pub mod catalog;
pub mod chat;
pub mod clients;
pub mod config;
pub mod error;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod paths;
pub mod postgres;
pub mod protocol;
pub mod providers;
pub mod routing;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use server::{RunningServer, StartError};
