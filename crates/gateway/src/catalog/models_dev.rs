//! The public catalog's wire shape, models.dev's `api.json`: providers by id, each with its models by id, each with
//! `cost` (USD per million tokens: `input`, `output`, `cache_read`, `cache_write`, and a long-context tier as
//! `context_over_200k` or `tiers`), `limit` (`context`, `output`), `modalities` (`input`, `output`), `tool_call`,
//! `reasoning` and `attachment`. Unknown fields are ignored; a model with a malformed field is skipped and counted;
//! a document that is not that shape at all is an error.
//!
//! Its provider ids are mapped onto Switchboard's preset ids in one table, [`PROVIDERS`]; providers it lists that
//! Switchboard has no preset for are left out.

use serde::Deserialize;
use serde_json::Value;

use super::{CatalogError, Listed, Listing};
use crate::ledger::prices::{Price, Tier};
use crate::routing::Capabilities;

/// models.dev provider id → Switchboard preset id. Local presets (Ollama, LM Studio) are free and never priced;
/// Azure's prices depend on the user's deployment and region, so they are not taken from a catalog either.
pub const PROVIDERS: &[(&str, &str)] = &[
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("google", "gemini"),
    ("openrouter", "openrouter"),
    ("groq", "groq"),
    ("deepseek", "deepseek"),
    ("mistral", "mistral"),
    ("xai", "xai"),
    ("togetherai", "together"),
    ("fireworks-ai", "fireworks"),
    ("cerebras", "cerebras"),
    ("perplexity", "perplexity"),
    ("moonshotai", "moonshot"),
];

/// The preset a catalog provider id stands for, if Switchboard has one.
pub fn preset_for(catalog_id: &str) -> Option<&'static str> {
    PROVIDERS.iter().find(|(id, _)| *id == catalog_id).map(|(_, preset)| *preset)
}

/// The prompt size above which `context_over_200k` applies.
const OVER_200K: u64 = 200_000;

/// Reads an `api.json` document.
pub fn parse(bytes: &[u8]) -> Result<Listing, CatalogError> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| CatalogError::Malformed(format!("{e}")))?;
    let Value::Object(providers) = document else {
        return Err(CatalogError::Malformed("the document is not a JSON object of providers".into()));
    };
    let mut listing = Listing::default();
    let mut seen_providers = 0;
    for (catalog_id, provider) in &providers {
        let Some(models) = provider.get("models").and_then(Value::as_object) else { continue };
        seen_providers += 1;
        let Some(preset) = preset_for(catalog_id) else { continue };
        for (model_id, model) in models {
            match serde_json::from_value::<Model>(model.clone()) {
                Ok(model) => listing.models.push(model.listed(preset, model_id)),
                Err(_) => listing.skipped += 1,
            }
        }
    }
    if seen_providers == 0 {
        return Err(CatalogError::Malformed(
            "no provider in it has a \"models\" object; expected models.dev's api.json shape".into(),
        ));
    }
    Ok(listing)
}

#[derive(Debug, Deserialize)]
struct Model {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    cost: Option<Cost>,
    #[serde(default)]
    limit: Option<Limit>,
    #[serde(default)]
    modalities: Option<Modalities>,
    #[serde(default)]
    tool_call: Option<Support>,
    #[serde(default)]
    reasoning: Option<Support>,
}

/// A boolean, or (newer documents) an object with `supported`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Support {
    Flag(bool),
    Detailed { supported: bool },
}

impl Support {
    fn get(&self) -> bool {
        match self {
            Support::Flag(b) | Support::Detailed { supported: b } => *b,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Cost {
    input: f64,
    output: f64,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
    #[serde(default)]
    context_over_200k: Option<Rates>,
    #[serde(default)]
    tiers: Option<Vec<CostTier>>,
}

#[derive(Debug, Deserialize)]
struct Rates {
    #[serde(default)]
    input: Option<f64>,
    #[serde(default)]
    output: Option<f64>,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct CostTier {
    #[serde(flatten)]
    rates: Rates,
    tier: TierSize,
}

#[derive(Debug, Deserialize)]
struct TierSize {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    size: u64,
}

#[derive(Debug, Deserialize)]
struct Limit {
    #[serde(default)]
    context: Option<f64>,
    #[serde(default)]
    output: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Modalities {
    #[serde(default)]
    input: Vec<String>,
}

impl Model {
    fn listed(self, preset: &'static str, key: &str) -> Listed {
        let id = self.id.filter(|id| !id.trim().is_empty()).unwrap_or_else(|| key.to_owned());
        let price = self.cost.and_then(Cost::price);
        let tokens = |n: Option<f64>| n.filter(|n| n.is_finite() && *n >= 1.0).map(|n| n as u64);
        let capabilities = Capabilities {
            context_window: tokens(self.limit.as_ref().and_then(|l| l.context)),
            max_output: tokens(self.limit.as_ref().and_then(|l| l.output)),
            tools: self.tool_call.as_ref().map(Support::get),
            vision: self.modalities.as_ref().map(|m| m.input.iter().any(|i| i == "image" || i.starts_with("image/"))),
            json_schema: None,
            reasoning: self.reasoning.as_ref().map(Support::get),
        };
        Listed { provider: preset, model: id, price, capabilities }
    }
}

impl Cost {
    /// The price, or `None` when an amount is negative or not a number (the model is then listed unpriced).
    fn price(self) -> Option<Price> {
        let ok = |n: f64| n.is_finite() && n >= 0.0;
        let opt = |n: Option<f64>| -> Option<Option<f64>> {
            match n {
                Some(n) if !ok(n) => None,
                n => Some(n),
            }
        };
        if !ok(self.input) || !ok(self.output) {
            return None;
        }
        // The lowest context tier: Switchboard prices one tier above the base (see `Tier`).
        let tier = match (self.tiers, self.context_over_200k) {
            (Some(tiers), _) if !tiers.is_empty() => tiers
                .into_iter()
                .filter(|t| t.tier.kind.as_deref().is_none_or(|k| k == "context"))
                .min_by_key(|t| t.tier.size)
                .map(|t| (t.tier.size, t.rates)),
            (_, Some(rates)) => Some((OVER_200K, rates)),
            _ => None,
        };
        let long_context = match tier {
            Some((above_tokens, r)) => Some(Tier {
                above_tokens,
                input: opt(r.input)?,
                output: opt(r.output)?,
                cached_input: opt(r.cache_read)?,
                cache_write: opt(r.cache_write)?,
                // models.dev has no hour-long write price: Anthropic's rule (twice input) applies.
                cache_write_1h: None,
            }),
            None => None,
        };
        Some(Price {
            input: self.input,
            output: self.output,
            cached_input: opt(self.cache_read)?,
            cache_write: opt(self.cache_write)?,
            cache_write_1h: None,
            long_context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small document in the real shape, with fields Switchboard does not read and a provider it has no preset for.
    const DOCUMENT: &str = r#"{
      "openai": {
        "id": "openai", "name": "OpenAI", "env": ["OPENAI_API_KEY"], "npm": "@ai-sdk/openai", "doc": "https://example.invalid",
        "models": {
          "gpt-4o-mini": {
            "id": "gpt-4o-mini", "name": "GPT-4o mini", "family": "gpt-mini", "attachment": true, "reasoning": false,
            "tool_call": true, "temperature": true, "knowledge": "2023-09", "release_date": "2024-07-18",
            "last_updated": "2024-07-18", "modalities": { "input": ["text", "image"], "output": ["text"] },
            "open_weights": false, "cost": { "input": 0.15, "output": 0.6, "cache_read": 0.08 },
            "limit": { "context": 128000, "output": 16384 }, "some_future_field": { "x": 1 }
          },
          "o9": {
            "id": "o9", "name": "o9", "reasoning": { "supported": true, "effort": ["low", "high"] },
            "tool_call": { "supported": false }, "modalities": { "input": ["text"], "output": ["text"] },
            "limit": { "context": 200000, "output": 100000 }
          },
          "broken": { "id": "broken", "cost": { "input": "free", "output": 1 } }
        }
      },
      "google": {
        "id": "google", "name": "Google",
        "models": {
          "gemini-9-pro": {
            "id": "gemini-9-pro", "name": "Gemini 9 Pro", "tool_call": true,
            "modalities": { "input": ["text", "image/png", "audio"], "output": ["text"] },
            "cost": { "input": 1.25, "output": 10, "cache_read": 0.31, "context_over_200k": { "input": 2.5, "output": 15 } },
            "limit": { "context": 1048576, "output": 65536 }
          },
          "gemini-9-tiered": {
            "id": "gemini-9-tiered", "name": "tiered",
            "cost": { "input": 2, "output": 12, "tiers": [
              { "input": 8, "output": 30, "tier": { "type": "context", "size": 500000 } },
              { "input": 4, "output": 18, "tier": { "type": "context", "size": 272000 } } ] },
            "limit": { "context": 1000000, "output": 64000 }
          }
        }
      },
      "someone-else": { "id": "someone-else", "models": { "x": { "id": "x", "cost": { "input": 1, "output": 1 } } } }
    }"#;

    fn find<'a>(listing: &'a Listing, provider: &str, model: &str) -> &'a Listed {
        listing.models.iter().find(|m| m.provider == provider && m.model == model).expect(model)
    }

    #[test]
    fn the_real_shape_parses_with_unknown_fields_and_providers_mapped() {
        let listing = parse(DOCUMENT.as_bytes()).unwrap();
        assert_eq!(listing.models.len(), 4, "{listing:?}");
        assert_eq!(listing.skipped, 1, "the model with a malformed cost");
        let mini = find(&listing, "openai", "gpt-4o-mini");
        let price = mini.price.unwrap();
        assert_eq!((price.input, price.output, price.cached_input, price.cache_write), (0.15, 0.6, Some(0.08), None));
        assert_eq!(
            mini.capabilities,
            Capabilities {
                context_window: Some(128_000),
                max_output: Some(16_384),
                tools: Some(true),
                vision: Some(true),
                json_schema: None,
                reasoning: Some(false),
            }
        );
        let o9 = find(&listing, "openai", "o9");
        assert_eq!((o9.price, o9.capabilities.tools, o9.capabilities.reasoning), (None, Some(false), Some(true)));
        // `google` is Switchboard's `gemini`; both long-context forms become one tier.
        let pro = find(&listing, "gemini", "gemini-9-pro").price.unwrap().long_context.unwrap();
        assert_eq!((pro.above_tokens, pro.input, pro.output, pro.cached_input), (200_000, Some(2.5), Some(15.0), None));
        assert_eq!(find(&listing, "gemini", "gemini-9-pro").capabilities.vision, Some(true));
        let tiered = find(&listing, "gemini", "gemini-9-tiered").price.unwrap().long_context.unwrap();
        assert_eq!((tiered.above_tokens, tiered.input), (272_000, Some(4.0)));
        assert!(listing.models.iter().all(|m| m.provider != "someone-else"));
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        for (text, expect) in [
            ("", "EOF"),
            ("{\"openai\": {\"models\": {", "EOF"),
            ("[1, 2]", "not a JSON object of providers"),
            ("{\"data\": [{\"id\": \"gpt-4o\"}]}", "api.json shape"),
            ("<html>rate limited</html>", "expected value"),
        ] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(expect), "{text:?}: {error}");
        }
    }

    #[test]
    fn every_mapped_preset_exists_and_the_table_has_no_repeats() {
        for (i, (catalog, preset)) in PROVIDERS.iter().enumerate() {
            assert!(crate::providers::presets::find(preset).is_some(), "{catalog} maps to a missing preset {preset}");
            assert!(PROVIDERS[i + 1..].iter().all(|(c, p)| c != catalog && p != preset), "{catalog} twice");
        }
        assert_eq!(preset_for("google"), Some("gemini"));
        assert_eq!(preset_for("togetherai"), Some("together"));
        assert_eq!(preset_for("ollama"), None, "local models are free");
    }
}
