//! What each model can do: the shipped facts in `data/models.toml`, overridden by the user's `[[models]]`.

use serde::Deserialize;

use crate::config::ModelConfig;

/// Known capabilities of one model. `None` means "not known", and routing never skips a target for that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Capabilities {
    pub context_window: Option<u64>,
    pub max_output: Option<u64>,
    pub tools: Option<bool>,
    pub vision: Option<bool>,
    pub json_schema: Option<bool>,
    pub reasoning: Option<bool>,
}

impl Capabilities {
    fn overlay(mut self, user: &ModelConfig) -> Capabilities {
        self.context_window = user.context_window.or(self.context_window);
        self.max_output = user.max_output.or(self.max_output);
        self.tools = user.tools.or(self.tools);
        self.vision = user.vision.or(self.vision);
        self.json_schema = user.json_schema.or(self.json_schema);
        self.reasoning = user.reasoning.or(self.reasoning);
        self
    }
}

#[derive(Debug, Deserialize)]
struct Shipped {
    model: Vec<ShippedModel>,
}

#[derive(Debug, Deserialize)]
struct ShippedModel {
    prefix: String,
    #[serde(flatten)]
    capabilities: Capabilities,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    shipped: Vec<(String, Capabilities)>,
    user: Vec<ModelConfig>,
}

impl Catalog {
    /// The shipped facts plus the user's overrides.
    pub fn new(user: &[ModelConfig]) -> Catalog {
        let shipped: Shipped = match toml::from_str(include_str!("../../data/models.toml")) {
            Ok(shipped) => shipped,
            Err(error) => {
                // A broken data file is a build mistake; the unit test below catches it before release.
                tracing::error!(%error, "the shipped model catalog does not parse; capabilities are unknown");
                Shipped { model: Vec::new() }
            }
        };
        Catalog {
            shipped: shipped.model.into_iter().map(|m| (m.prefix, m.capabilities)).collect(),
            user: user.to_vec(),
        }
    }

    /// Capabilities of `model` at `provider`.
    pub fn lookup(&self, provider: &str, model: &str) -> Capabilities {
        let name = normalize(model);
        let shipped = self
            .shipped
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, caps)| *caps)
            .unwrap_or_default();
        let id = format!("{provider}/{model}");
        match self.user.iter().find(|m| m.id == id) {
            Some(user) => shipped.overlay(user),
            None => shipped,
        }
    }
}

/// `anthropic/Claude-Sonnet-4.5` → `claude-sonnet-4-5`: the vendor part (OpenRouter style) dropped.
fn normalize(model: &str) -> String {
    model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase().replace('.', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalog_parses_and_matches_by_longest_prefix() {
        let catalog = Catalog::new(&[]);
        assert!(catalog.shipped.len() > 10, "the data file parsed");
        assert_eq!(catalog.lookup("openai", "gpt-4o-mini").context_window, Some(128_000));
        assert_eq!(catalog.lookup("openrouter", "anthropic/claude-sonnet-4.5").max_output, Some(64_000));
        assert_eq!(catalog.lookup("x", "gemini-2.5-flash-lite").context_window, Some(1_048_576));
        assert_eq!(catalog.lookup("x", "my-local-model"), Capabilities::default());
    }

    #[test]
    fn user_entries_override_shipped_facts() {
        let user = ModelConfig {
            id: "local/gpt-4o-mini".into(),
            context_window: Some(8000),
            max_output: None,
            tools: Some(false),
            vision: None,
            json_schema: None,
            reasoning: None,
        };
        let catalog = Catalog::new(&[user]);
        let caps = catalog.lookup("local", "gpt-4o-mini");
        assert_eq!((caps.context_window, caps.tools, caps.vision), (Some(8000), Some(false), Some(true)));
        assert_eq!(catalog.lookup("openai", "gpt-4o-mini").context_window, Some(128_000));
    }
}
