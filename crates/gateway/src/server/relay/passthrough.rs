//! The body that goes upstream on passthrough: the client's own, with only `model` rewritten (and usage asked for
//! on OpenAI-style streams, so it can be counted). Gemini's model is in the URL: its body is left as it came, but
//! for a `model` the client wrote there itself, which becomes `models/<target>`.

use bytes::Bytes;
use serde_json::Value;

use super::walk::{Mode, Prepared};
use crate::error::ApiError;
use crate::protocol::Protocol;
use crate::providers::Operation;
use crate::routing::Target;

pub(super) fn passthrough_body(
    target: &Target,
    body: &Value,
    op: Operation,
    stream: bool,
    wants_usage: bool,
) -> Result<Prepared, ApiError> {
    // Usage is always requested so it can be counted; clients that did not ask never see the usage chunk.
    let ask_usage = stream
        && matches!(op, Operation::Chat | Operation::Completions)
        && target.provider.protocol() == Protocol::OpenAiChat
        && target.provider.preset().stream_usage_option;
    let Value::Object(fields) = body else {
        return Err(ApiError::invalid("the request body must be a JSON object", None));
    };
    let gemini = target.provider.protocol() == Protocol::Gemini;
    let gemini_model;
    let model = if gemini {
        gemini_model = format!("models/{}", target.model);
        &gemini_model
    } else {
        &target.model
    };
    let rewritten = Rewritten { fields, model, include_usage: ask_usage, add_model: !gemini };
    let body = serde_json::to_vec(&rewritten).map(Bytes::from).map_err(|e| ApiError::invalid(e.to_string(), None))?;
    Ok(Prepared {
        mode: Mode::Passthrough,
        op,
        body,
        strip_usage: ask_usage && !wants_usage,
        forward_headers: Vec::new(),
    })
}

/// A client's body as it goes upstream on passthrough: every field in its place, `model` replaced by the target's
/// model (added last if missing), and with `include_usage` also `stream_options.include_usage: true` (merged into
/// the client's options, or added last). Written straight from the client's fields: a large body (a coding agent's
/// 70 KB of tool schemas) is not copied once per attempt.
struct Rewritten<'a> {
    fields: &'a serde_json::Map<String, Value>,
    model: &'a str,
    include_usage: bool,
    /// Whether a body without `model` gets one (not Gemini's, whose model is in the URL).
    add_model: bool,
}

impl serde::Serialize for Rewritten<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let (mut model_written, mut options_written) = (false, false);
        for (key, value) in self.fields {
            match (key.as_str(), value) {
                ("model", _) => {
                    map.serialize_entry(key, self.model)?;
                    model_written = true;
                }
                ("stream_options", Value::Object(options)) if self.include_usage => {
                    map.serialize_entry(key, &WithUsage(options))?;
                    options_written = true;
                }
                ("stream_options", _) if self.include_usage => {
                    map.serialize_entry(key, &WithUsage(&serde_json::Map::new()))?;
                    options_written = true;
                }
                _ => map.serialize_entry(key, value)?,
            }
        }
        if !model_written && self.add_model {
            map.serialize_entry("model", self.model)?;
        }
        if self.include_usage && !options_written {
            map.serialize_entry("stream_options", &WithUsage(&serde_json::Map::new()))?;
        }
        map.end()
    }
}

/// Stream options with `include_usage: true`, in its place or last.
struct WithUsage<'a>(&'a serde_json::Map<String, Value>);

impl serde::Serialize for WithUsage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let mut written = false;
        for (key, value) in self.0 {
            if key == "include_usage" {
                map.serialize_entry(key, &true)?;
                written = true;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        if !written {
            map.serialize_entry("include_usage", &true)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::Rewritten;

    /// What the rewrite must equal: the client's body copied, `model` set, usage asked for in place.
    fn copied(body: &Value, model: &str, include_usage: bool) -> String {
        let mut body = body.clone();
        body["model"] = Value::String(model.into());
        if include_usage {
            match body.get_mut("stream_options") {
                Some(Value::Object(options)) => {
                    options.insert("include_usage".into(), Value::Bool(true));
                }
                _ => body["stream_options"] = json!({ "include_usage": true }),
            }
        }
        serde_json::to_string(&body).unwrap()
    }

    #[test]
    fn the_rewrite_is_the_copy_byte_for_byte() {
        let bodies = [
            json!({ "model": "general", "messages": [{ "role": "user", "content": "hi" }], "stream": true }),
            json!({ "messages": [], "model": "general", "stream_options": { "include_usage": false, "x": 1 }, "z": null }),
            json!({ "stream_options": { "continuous_usage_stats": true }, "model": "m", "tools": [{ "a": [1, 2.5, "é\n"] }] }),
            json!({ "stream_options": null, "temperature": 0.2, "model": "m" }),
            json!({ "prompt": "def f(", "suffix": "\n" }),
        ];
        for body in &bodies {
            for include_usage in [false, true] {
                let Value::Object(fields) = body else { unreachable!() };
                let rewritten = Rewritten { fields, model: "gpt-4o-mini", include_usage, add_model: true };
                assert_eq!(
                    serde_json::to_string(&rewritten).unwrap(),
                    copied(body, "gpt-4o-mini", include_usage),
                    "{body} with include_usage={include_usage}"
                );
            }
        }
    }
}
