//! Tauri commands, one file per domain; each mirrors `ui/src/api/<domain>.ts`. Commands are thin: parse, call the
//! core (blocking work through `error::blocking`), map the error.

pub mod aliases;
pub mod apps;
pub mod chat;
pub mod gateway;
pub mod providers;
