//! Tauri commands, one file per domain; each mirrors `ui/src/api/<domain>.ts`. Commands are thin: parse, call the
//! core (blocking work through `error::blocking`), map the error.

pub mod aliases;
pub mod apps;
pub mod balances;
pub mod chat;
pub mod clients;
pub mod config;
pub mod gateway;
pub mod logs;
pub mod prices;
pub mod providers;
pub mod settings;
pub mod usage;

/// The generated TypeScript DTOs in `ui/src/api/generated/` must match the Rust types.
#[cfg(test)]
mod bindings;
