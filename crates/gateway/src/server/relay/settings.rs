//! An alias's settings on a request, in each shape a request takes: default parameters fill what the client left
//! out, forced ones replace what it sent, and the system prefix goes first. OpenAI, Anthropic, Responses and Gemini
//! bodies take them as JSON (so passthrough carries them); translated requests take them on the neutral form.

use serde_json::{Value, json};

use crate::protocol;
use crate::protocol::neutral::{ChatRequest, SystemBlock};
use crate::routing::Alias;

/// Defaults fill what the client left out; forced parameters replace what it sent; the prefix goes first.
pub(super) fn openai(body: &mut Value, alias: &Alias) {
    let Some(object) = body.as_object_mut() else { return };
    for (key, value) in &alias.params {
        let present = object.get(key).is_some_and(|v| !v.is_null())
            || (key == "max_tokens" && object.contains_key("max_completion_tokens"))
            || (key == "max_completion_tokens" && object.contains_key("max_tokens"));
        if !present {
            object.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &alias.forced_params {
        object.insert(key.clone(), value.clone());
        if key == "max_tokens" {
            object.remove("max_completion_tokens");
        }
    }
    if let Some(prefix) = &alias.system_prefix
        && let Some(Value::Array(messages)) = object.get_mut("messages")
    {
        messages.insert(0, json!({ "role": "system", "content": prefix }));
    }
}

/// The same settings for requests that arrived in another protocol, on the neutral form (the OpenAI names of the
/// common parameters: temperature, top_p, max_tokens / max_completion_tokens, reasoning_effort, seed).
pub(super) fn neutral(request: &mut ChatRequest, alias: &Alias) {
    let apply = |request: &mut ChatRequest, key: &str, value: &Value, force: bool| match key {
        "temperature" if force || request.temperature.is_none() => request.temperature = value.as_f64(),
        "top_p" if force || request.top_p.is_none() => request.top_p = value.as_f64(),
        "max_tokens" | "max_completion_tokens" | "max_output_tokens" if force || request.max_tokens.is_none() => {
            request.max_tokens = value.as_u64().map(|n| n.min(u64::from(u32::MAX)) as u32);
        }
        "seed" if force || request.seed.is_none() => request.seed = value.as_i64(),
        "reasoning_effort" if force || request.reasoning.is_none() => {
            request.reasoning = value.as_str().map(|effort| protocol::neutral::Reasoning {
                effort: Some(effort.to_owned()),
                budget_tokens: None,
                enabled: effort != "none",
            });
        }
        _ => {}
    };
    for (key, value) in &alias.params {
        apply(request, key, value, false);
    }
    for (key, value) in &alias.forced_params {
        apply(request, key, value, true);
    }
    if let Some(prefix) = &alias.system_prefix {
        request.system.insert(0, SystemBlock { text: prefix.clone(), cache: None });
    }
}

/// The alias's settings on an Anthropic Messages body, in Anthropic's names: the OpenAI names of the common
/// parameters map onto `temperature`, `top_p` and `max_tokens`; the prefix becomes the first system block (the
/// client's blocks keep their `cache_control`). `reasoning_effort` and `seed` have no Messages equivalent here and
/// apply only when the request is translated.
pub(super) fn anthropic(body: &mut Value, alias: &Alias) {
    let Some(object) = body.as_object_mut() else { return };
    let mut apply = |key: &str, value: &Value, force: bool| {
        let name = match key {
            "temperature" | "top_p" | "top_k" => key,
            "max_tokens" | "max_completion_tokens" | "max_output_tokens" => "max_tokens",
            _ => return,
        };
        if force || object.get(name).is_none_or(Value::is_null) {
            object.insert(name.to_owned(), value.clone());
        }
    };
    for (key, value) in &alias.params {
        apply(key, value, false);
    }
    for (key, value) in &alias.forced_params {
        apply(key, value, true);
    }
    if let Some(prefix) = &alias.system_prefix {
        let first = json!({ "type": "text", "text": prefix });
        let system = match object.remove("system") {
            Some(Value::String(text)) if !text.is_empty() => vec![first, json!({ "type": "text", "text": text })],
            Some(Value::Array(mut blocks)) => {
                blocks.insert(0, first);
                blocks
            }
            _ => vec![first],
        };
        object.insert("system".into(), Value::Array(system));
    }
}

/// The client's body for a same-protocol upstream: only `model` rewritten, and (OpenAI chat and completions
/// streams) usage requested. A Responses stream always ends with its usage, so it is sent as it is.
/// The alias's settings on a Responses body passed through to OpenAI, in the Responses names: `temperature`,
/// `top_p`, `max_output_tokens` (from any of the max-token names) and `reasoning.effort` (from
/// `reasoning_effort`); the prefix goes before the client's `instructions`. `seed` has no Responses equivalent and
/// applies only when the request is translated.
pub(super) fn responses(body: &mut Value, alias: &Alias) {
    let Some(object) = body.as_object_mut() else { return };
    let mut apply = |key: &str, value: &Value, force: bool| {
        let (slot, name) = match key {
            "temperature" | "top_p" => (&mut *object, key),
            "max_tokens" | "max_completion_tokens" | "max_output_tokens" => (&mut *object, "max_output_tokens"),
            "reasoning_effort" => {
                let reasoning = object.entry("reasoning").or_insert_with(|| json!({}));
                if !reasoning.is_object() {
                    *reasoning = json!({});
                }
                let Some(reasoning) = reasoning.as_object_mut() else { return };
                (reasoning, "effort")
            }
            _ => return,
        };
        if force || slot.get(name).is_none_or(Value::is_null) {
            slot.insert(name.to_owned(), value.clone());
        }
    };
    for (key, value) in &alias.params {
        apply(key, value, false);
    }
    for (key, value) in &alias.forced_params {
        apply(key, value, true);
    }
    if let Some(prefix) = &alias.system_prefix {
        let instructions = match object.get("instructions").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{prefix}\n\n{text}"),
            _ => prefix.clone(),
        };
        object.insert("instructions".into(), Value::String(instructions));
    }
}

/// The alias's settings on a Gemini body passed through to Gemini, in `generationConfig`'s names: `temperature`,
/// `topP`, `topK`, `maxOutputTokens` (from any of the max-token names) and `seed`; the prefix becomes the first
/// part of `systemInstruction`. A body that spells a message in proto names (`generation_config`) gets it there.
/// `reasoning_effort` has no single Gemini form across models and applies only when the request is translated.
pub(super) fn gemini(body: &mut Value, alias: &Alias) {
    let Some(object) = body.as_object_mut() else { return };
    let spelled = |object: &serde_json::Map<String, Value>, json: &'static str, proto: &'static str| {
        if !object.contains_key(json) && object.contains_key(proto) { proto } else { json }
    };
    let config_key = spelled(object, "generationConfig", "generation_config");
    let config = object.entry(config_key).or_insert_with(|| json!({}));
    if !config.is_object() {
        *config = json!({});
    }
    if let Some(config) = config.as_object_mut() {
        let mut apply = |key: &str, value: &Value, force: bool| {
            let name = match key {
                "temperature" => "temperature",
                "top_p" => "topP",
                "top_k" => "topK",
                "max_tokens" | "max_completion_tokens" | "max_output_tokens" => "maxOutputTokens",
                "seed" => "seed",
                _ => return,
            };
            if force || config.get(name).is_none_or(Value::is_null) {
                config.insert(name.to_owned(), value.clone());
            }
        };
        for (key, value) in &alias.params {
            apply(key, value, false);
        }
        for (key, value) in &alias.forced_params {
            apply(key, value, true);
        }
    }
    if object.get(config_key).is_some_and(|c| c.as_object().is_some_and(serde_json::Map::is_empty)) {
        object.remove(config_key);
    }
    if let Some(prefix) = &alias.system_prefix {
        let system_key = spelled(object, "systemInstruction", "system_instruction");
        let first = json!({ "text": prefix });
        match object.get_mut(system_key) {
            Some(Value::Object(system)) => match system.get_mut("parts") {
                Some(Value::Array(parts)) => parts.insert(0, first),
                _ => {
                    system.insert("parts".into(), json!([first]));
                }
            },
            Some(system @ Value::String(_)) => {
                let text = system.take();
                *system = json!({ "parts": [first, { "text": text }] });
            }
            _ => {
                object.insert(system_key.into(), json!({ "parts": [first] }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_settings_apply_to_neutral_requests() {
        let alias = Alias {
            name: "code".into(),
            strategy: crate::config::Strategy::Fallback,
            params: serde_json::from_value(json!({ "temperature": 0.2, "max_tokens": 512 })).unwrap(),
            forced_params: serde_json::from_value(json!({ "reasoning_effort": "low" })).unwrap(),
            system_prefix: Some("Be brief.".into()),
            timeouts: crate::config::Timeouts::default(),
        };
        let mut request = ChatRequest { max_tokens: Some(100), ..ChatRequest::default() };
        neutral(&mut request, &alias);
        assert_eq!(request.temperature, Some(0.2));
        assert_eq!(request.max_tokens, Some(100), "the client's own value wins over a default");
        assert_eq!(request.reasoning.unwrap().effort.as_deref(), Some("low"));
        assert_eq!(request.system[0].text, "Be brief.");
    }

    fn alias(params: Value, forced: Value, prefix: Option<&str>) -> Alias {
        Alias {
            name: "code".into(),
            strategy: crate::config::Strategy::Fallback,
            params: serde_json::from_value(params).unwrap(),
            forced_params: serde_json::from_value(forced).unwrap(),
            system_prefix: prefix.map(str::to_owned),
            timeouts: crate::config::Timeouts::default(),
        }
    }

    #[test]
    fn alias_settings_apply_to_responses_bodies_in_their_names() {
        let settings = alias(
            json!({ "temperature": 0.2, "max_tokens": 512, "top_p": 0.9 }),
            json!({ "reasoning_effort": "low" }),
            Some("Be brief."),
        );
        let mut body = json!({ "model": "code", "input": "hi", "top_p": 0.5, "instructions": "You are Codex.",
            "reasoning": { "summary": "auto" }, "store": false });
        responses(&mut body, &settings);
        assert_eq!(
            body,
            json!({ "model": "code", "input": "hi", "top_p": 0.5, "temperature": 0.2, "max_output_tokens": 512,
                "instructions": "Be brief.\n\nYou are Codex.", "reasoning": { "summary": "auto", "effort": "low" },
                "store": false }),
            "defaults fill gaps, the client's own values win, forced ones replace, the prefix leads"
        );

        // Codex sends no instructions and no reasoning: the prefix becomes the instructions.
        let mut body = json!({ "model": "code", "input": [] });
        responses(&mut body, &settings);
        assert_eq!(body["instructions"], "Be brief.");
        assert_eq!(body["reasoning"], json!({ "effort": "low" }));
    }

    #[test]
    fn alias_settings_apply_to_gemini_bodies_in_their_names() {
        let settings = alias(
            json!({ "temperature": 0.2, "max_tokens": 512, "top_p": 0.9 }),
            json!({ "seed": 7 }),
            Some("Be brief."),
        );
        let mut body = json!({ "contents": [], "generationConfig": { "topP": 0.5 },
            "systemInstruction": { "parts": [{ "text": "You are a CLI." }] } });
        gemini(&mut body, &settings);
        assert_eq!(
            body,
            json!({ "contents": [], "generationConfig": { "topP": 0.5, "temperature": 0.2, "maxOutputTokens": 512,
                "seed": 7 }, "systemInstruction": { "parts": [{ "text": "Be brief." }, { "text": "You are a CLI." }] } }),
            "defaults fill gaps, the client's own values win, forced ones replace, the prefix leads"
        );

        // Proto spellings are kept; nothing to set leaves no empty config behind.
        let plain = alias(json!({ "reasoning_effort": "low" }), json!({}), None);
        let mut body = json!({ "contents": [], "system_instruction": { "parts": [] } });
        gemini(&mut body, &plain);
        assert_eq!(body, json!({ "contents": [], "system_instruction": { "parts": [] } }));
        let mut body = json!({ "contents": [], "generation_config": { "top_k": 3 } });
        gemini(&mut body, &settings);
        assert_eq!(body["generation_config"]["temperature"], 0.2);
        assert!(body.get("generationConfig").is_none());
        assert_eq!(body["systemInstruction"], json!({ "parts": [{ "text": "Be brief." }] }));
    }
}
