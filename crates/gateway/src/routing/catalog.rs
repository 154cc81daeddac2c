//! What each model can do, field by field: the user's `[[models]]` first, then the shipped facts in
//! `data/models.toml`, then what the newest price catalog import said (`Imported`).
//!
//! Where the shipped facts and an import disagree, the shipped facts win: they were checked by the maintainers
//! against each provider's documentation for exactly these ids, and routing skips targets on these facts, so a
//! target should stop being skipped or start being skipped only because a person changed something (a release, or
//! the user's `[[models]]`), not because a community catalog was refreshed. The import fills what the shipped facts
//! leave unknown and covers the many models they do not list, which is most of its value: new models are where the
//! shipped catalog is silent.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::ModelConfig;
use crate::ledger::prices;

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
    /// These facts, with `other`'s where these are unknown.
    fn or(self, other: Capabilities) -> Capabilities {
        Capabilities {
            context_window: self.context_window.or(other.context_window),
            max_output: self.max_output.or(other.max_output),
            tools: self.tools.or(other.tools),
            vision: self.vision.or(other.vision),
            json_schema: self.json_schema.or(other.json_schema),
            reasoning: self.reasoning.or(other.reasoning),
        }
    }

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
    imported: Arc<Imported>,
}

/// What the newest price catalog import said models can do: by provider preset and model id, and by the model's
/// own name (the part after any `vendor/`) for providers the catalog does not list (a custom URL, a proxy).
#[derive(Debug, Clone, Default)]
pub struct Imported {
    by_provider: HashMap<String, HashMap<String, Capabilities>>,
    by_name: HashMap<String, Capabilities>,
}

/// The providers whose facts about a model name come first when another host serves the same name.
const FIRST_PARTY: &[&str] = &["openai", "anthropic", "gemini", "deepseek", "mistral", "xai", "moonshot"];

impl Imported {
    /// From the stored rows: (provider preset id, normalized model id, capabilities).
    pub fn from_rows(mut rows: Vec<(String, String, Capabilities)>) -> Imported {
        let rank = |p: &str| FIRST_PARTY.iter().position(|f| *f == p).unwrap_or(FIRST_PARTY.len());
        rows.sort_by(|a, b| (rank(&a.0), &a.0, &a.1).cmp(&(rank(&b.0), &b.0, &b.1)));
        let mut imported = Imported::default();
        for (provider, model, caps) in rows {
            let name = model.rsplit('/').next().unwrap_or(&model).to_owned();
            imported.by_name.entry(name).or_insert(caps);
            imported.by_provider.entry(provider).or_default().insert(model, caps);
        }
        imported
    }

    pub fn is_empty(&self) -> bool {
        self.by_provider.is_empty()
    }

    /// `model` at the provider preset `kind`, or by its own name anywhere.
    fn find(&self, kind: &str, model: &str) -> Option<Capabilities> {
        let model = prices::normalize(model);
        if let Some(found) = self.by_provider.get(kind).and_then(|t| same_model(t, &model)) {
            return Some(found);
        }
        same_model(&self.by_name, model.rsplit('/').next().unwrap_or(&model))
    }
}

/// `model`'s entry in `table`: its own, or the one of the id it is a dated snapshot of.
fn same_model(table: &HashMap<String, Capabilities>, model: &str) -> Option<Capabilities> {
    if let Some(found) = table.get(model) {
        return Some(*found);
    }
    model
        .match_indices('-')
        .map(|(at, _)| &model[..at])
        .filter(|id| crate::ledger::prices::is_same_model(model, id))
        .find_map(|id| table.get(id).copied())
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
            imported: Arc::default(),
        }
    }

    /// This catalog with `imported` below the shipped facts.
    pub fn with_imported(mut self, imported: Arc<Imported>) -> Catalog {
        self.imported = imported;
        self
    }

    /// Capabilities of `model` at `provider` (its id), whose preset is `kind`.
    pub fn lookup(&self, provider: &str, kind: &str, model: &str) -> Capabilities {
        let name = normalize(model);
        let shipped = self
            .shipped
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, caps)| *caps)
            .unwrap_or_default();
        let shipped = match self.imported.find(kind, model) {
            Some(imported) => shipped.or(imported),
            None => shipped,
        };
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
        assert_eq!(catalog.lookup("openai", "openai", "gpt-4o-mini").context_window, Some(128_000));
        assert_eq!(catalog.lookup("openrouter", "openrouter", "anthropic/claude-sonnet-4.5").max_output, Some(64_000));
        assert_eq!(catalog.lookup("x", "custom", "gemini-2.5-flash-lite").context_window, Some(1_048_576));
        assert_eq!(catalog.lookup("x", "custom", "my-local-model"), Capabilities::default());
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
        let caps = catalog.lookup("local", "ollama", "gpt-4o-mini");
        assert_eq!((caps.context_window, caps.tools, caps.vision), (Some(8000), Some(false), Some(true)));
        assert_eq!(catalog.lookup("openai", "openai", "gpt-4o-mini").context_window, Some(128_000));
    }

    #[test]
    fn an_import_fills_what_the_shipped_facts_leave_unknown_below_the_user() {
        let caps =
            |window, tools| Capabilities { context_window: Some(window), tools: Some(tools), ..Default::default() };
        let imported = Imported::from_rows(vec![
            // Disagrees with the shipped 128k: the shipped fact stays.
            ("openai".into(), "gpt-4o-mini".into(), Capabilities { max_output: Some(9), ..caps(1_000, false) }),
            ("openrouter".into(), "qwen/qwen3-coder".into(), caps(262_144, true)),
            ("deepseek".into(), "deepseek-v9".into(), caps(64_000, true)),
            ("together".into(), "deepseek-v9".into(), caps(32_000, false)),
        ]);
        let user = ModelConfig {
            id: "mine/qwen3-coder".into(),
            context_window: Some(8000),
            max_output: None,
            tools: None,
            vision: None,
            json_schema: None,
            reasoning: None,
        };
        let catalog = Catalog::new(&[user]).with_imported(Arc::new(imported));
        let mini = catalog.lookup("oa", "openai", "gpt-4o-mini");
        assert_eq!((mini.context_window, mini.tools, mini.max_output), (Some(128_000), Some(true), Some(16_384)));
        // A model the shipped catalog does not know, by preset and id, and by a dated snapshot of that id.
        assert_eq!(catalog.lookup("or", "openrouter", "qwen/qwen3-coder").context_window, Some(262_144));
        assert_eq!(catalog.lookup("ds", "deepseek", "deepseek-v9-20261201").context_window, Some(64_000));
        // Another host serving the same name gets the first party's facts; the user's entry still wins.
        assert_eq!(catalog.lookup("box", "custom", "deepseek-v9").context_window, Some(64_000));
        let mine = catalog.lookup("mine", "custom", "qwen3-coder");
        assert_eq!((mine.context_window, mine.tools), (Some(8000), Some(true)));
        assert_eq!(catalog.lookup("box", "custom", "unheard-of"), Capabilities::default());
    }
}
