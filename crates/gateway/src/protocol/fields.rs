//! Reading JSON fields with errors that name them, shared by every format module.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ProtocolError;
use super::neutral::{CacheHint, Message, Part};

/// `path.key`, or `key` at the top level.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A field's value, treating JSON `null` as absent.
pub(super) fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn wrong_type(path: String, expected: &str, got: &Value) -> ProtocolError {
    let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
    ProtocolError::at(path, format!("`{name}` must be {expected}, not {}", kind_of(got)))
}

pub(super) fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ProtocolError> {
    value.as_object().ok_or_else(|| {
        if path.is_empty() {
            ProtocolError::new(format!("the body must be a JSON object, not {}", kind_of(value)))
        } else {
            ProtocolError::at(path, format!("`{path}` must be an object, not {}", kind_of(value)))
        }
    })
}

pub(super) fn get_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(join(path, key), "a string", other)),
    }
}

pub(super) fn get_f64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| wrong_type(join(path, key), "a number", v)),
    }
}

pub(super) fn get_i64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(join(path, key), "an integer", v)),
    }
}

pub(super) fn get_u32(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u32>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| wrong_type(join(path, key), "a non-negative integer", v)),
    }
}

pub(super) fn get_bool(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(join(path, key), "a boolean", other)),
    }
}

pub(super) fn get_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(wrong_type(join(path, key), "an array", other)),
    }
}

pub(super) fn get_object<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ProtocolError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(wrong_type(join(path, key), "an object", other)),
    }
}

pub(super) fn required<T>(value: Option<T>, path: &str, key: &str) -> Result<T, ProtocolError> {
    value.ok_or_else(|| ProtocolError::at(join(path, key), format!("`{key}` is required")))
}

/// A non-negative count from a usage object; anything else counts as 0 (usage is informational).
pub(super) fn count(obj: &Map<String, Value>, key: &str) -> u64 {
    field(obj, key).and_then(Value::as_u64).unwrap_or(0)
}

/// A string field read leniently (responses and stream events from upstreams): absent or not a string → "".
pub(super) fn text_of(obj: &Map<String, Value>, key: &str) -> String {
    field(obj, key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Anthropic-style `cache_control` (some OpenAI-compatible clients send it on content parts too).
pub(super) fn decode_cache(obj: &Map<String, Value>, path: &str) -> Result<Option<CacheHint>, ProtocolError> {
    let Some(cc) = get_object(obj, "cache_control", path)? else { return Ok(None) };
    let cc_path = join(path, "cache_control");
    Ok(Some(CacheHint {
        kind: get_str(cc, "type", &cc_path)?.unwrap_or("ephemeral").to_owned(),
        ttl: get_str(cc, "ttl", &cc_path)?.map(str::to_owned),
    }))
}

/// Fills `ToolResult.name` from the assistant call with the same id, for upstreams that need it (Gemini).
pub(super) fn fill_tool_result_names(messages: &mut [Message]) {
    let mut names: HashMap<String, String> = HashMap::new();
    for message in messages {
        for part in &mut message.content {
            match part {
                Part::ToolCall { id, name, .. } => {
                    names.insert(id.clone(), name.clone());
                }
                Part::ToolResult { call_id, name: name @ None, .. } => *name = names.get(call_id).cloned(),
                _ => {}
            }
        }
    }
}
