//! Tauri commands, one file per domain; each mirrors `ui/src/api/<domain>.ts`. Commands are thin: parse, call the
//! core, map the error.

pub mod gateway;
