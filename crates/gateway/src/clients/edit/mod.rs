//! The file-format editors: each parses a client's config into a document that changes only what it is told to
//! and prints everything else back as it was.
//!
//! - TOML (Codex): `toml_edit`, the format-preserving editor behind Cargo's own `cargo add`; comments, order and
//!   formatting are kept and a replaced value keeps the comments around it.
//! - JSON and JSON with comments (Claude Code, Gemini CLI, opencode, Zed, Qwen Code): the CST of dprint's
//!   `jsonc-parser`, maintained for dprint and Deno's config editing. It keeps comments and trailing commas, and
//!   indents a new property like its siblings. Two dialects: strict JSON where the client reads only that
//!   (Claude Code), and JSON with comments and trailing commas where it reads those; the JSON5 extras are refused
//!   in both.
//! - YAML (Continue): no well-kept format-preserving YAML editor exists for Rust (`yaml-edit` is young and has one
//!   maintainer), so `yaml.rs` makes a narrow textual edit — one item of the top-level `models` list, or a
//!   top-level scalar — and reads the result back with `saphyr` (the maintained YAML 1.2 parser): it must equal
//!   the original document plus exactly Switchboard's change, or nothing is written.
//! - dotenv (Gemini CLI's `.env`): line by line in `dotenv.rs`; comments, order and other lines kept as they are.
//!
//! Every parser reports the line and column of what it could not read. Values cross the editors as
//! `serde_json::Value`.

mod dotenv;
mod json;
mod toml;
mod yaml;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seg {
    /// An object key (a table key in TOML, a variable in dotenv).
    Key(String),
    /// The element of a list whose `field` equals `value` (Continue's `models: - name: Switchboard`).
    Item { field: String, value: String },
}

impl Seg {
    pub fn key(name: &str) -> Seg {
        Seg::Key(name.to_owned())
    }
}

/// A path as people read it: `env.ANTHROPIC_MODEL`, `models[name=Switchboard]`.
pub fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Item { field, value } => out.push_str(&format!("[{field}={value}]")),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Strict JSON (Claude Code refuses a settings file with comments, so Switchboard does too).
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    Toml,
    Yaml,
    Dotenv,
}

/// What a parser could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// An edit the document cannot make without touching what is not Switchboard's (e.g. `env` is a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

pub trait Document {
    /// The value at `path`, if there is one.
    fn get(&self, path: &[Seg]) -> Option<Value>;
    /// Sets `path` to `value`, creating the objects on the way. An object value is merged key by key, so what
    /// was around and inside it (comments, order) stays. Returns the containers it had to create.
    fn set(&mut self, path: &[Seg], value: &Value) -> Result<Vec<Vec<Seg>>, EditError>;
    /// Removes `path`; nothing happens when it is not there.
    fn remove(&mut self, path: &[Seg]) -> Result<(), EditError>;
    /// Whether the document holds nothing at all (no keys, no items).
    fn is_empty(&self) -> bool;
    fn render(&self) -> String;
}

/// Parses `text` (empty for a file that does not exist yet).
pub fn parse(format: Format, text: &str) -> Result<Box<dyn Document>, ParseError> {
    Ok(match format {
        Format::Json => Box::new(json::JsonDoc::parse(text, false)?),
        Format::Jsonc => Box::new(json::JsonDoc::parse(text, true)?),
        Format::Toml => Box::new(toml::TomlDoc::parse(text)?),
        Format::Yaml => Box::new(yaml::YamlDoc::parse(text)?),
        Format::Dotenv => Box::new(dotenv::DotenvDoc::parse(text)?),
    })
}

/// Line and column (both from 1) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The line ending a file already uses (CRLF when its first line ends so), for the lines Switchboard adds.
pub fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The value `path` points at inside a plain value (what the YAML editor checks its edits against).
fn value_at<'a>(mut value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    for seg in path {
        value = match seg {
            Seg::Key(key) => value.as_object()?.get(key)?,
            Seg::Item { field, value: wanted } => value
                .as_array()?
                .iter()
                .find(|item| item.get(field).and_then(Value::as_str) == Some(wanted.as_str()))?,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests;
