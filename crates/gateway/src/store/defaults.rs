//! First-run aliases: `general`, `fast`, `code` and `long-context`, pointing at whatever providers the user has
//! keys for (in the order the providers were added), until the user edits one — then it is theirs and never
//! touched again.

use super::{AliasRow, Result, Store, TargetRow};
use crate::providers::presets;

/// The aliases Switchboard makes on its own.
pub const DEFAULT_ALIASES: [&str; 4] = ["general", "fast", "code", "long-context"];

impl Store {
    /// Rewrites the default aliases the user has not edited from the usable providers (enabled, and with a key
    /// unless they need none). A default alias left without targets is removed.
    pub fn refresh_default_aliases(&self) -> Result<()> {
        let mut usable = Vec::new();
        for provider in self.list_providers()?.into_iter().filter(|p| p.enabled) {
            let Some(preset) = presets::find(&provider.kind) else { continue };
            if preset.needs_key && self.list_provider_keys(&provider.id)?.is_empty() {
                continue;
            }
            usable.push((provider.id, preset));
        }
        for name in DEFAULT_ALIASES {
            let existing = self.alias(name)?;
            if existing.as_ref().is_some_and(|a| !a.is_default) {
                continue;
            }
            let targets: Vec<TargetRow> = usable
                .iter()
                .filter_map(|(id, preset)| preset.suggested(name).map(|model| TargetRow::new(id.clone(), model)))
                .collect();
            if targets.is_empty() {
                if existing.is_some() {
                    self.delete_alias(name)?;
                }
                continue;
            }
            let alias = AliasRow {
                description: Some("made by Switchboard from your providers; edit it to make it yours".into()),
                is_default: true,
                ..AliasRow::new(name, targets)
            };
            if existing.as_ref() != Some(&alias) {
                self.put_alias(&alias)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ProviderRow;

    fn targets(store: &Store, name: &str) -> Vec<String> {
        store
            .alias(name)
            .unwrap()
            .map(|a| a.targets.iter().map(|t| format!("{}/{}", t.provider_id, t.model)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_follow_the_providers_with_keys_until_edited() {
        let store = Store::open_in_memory().unwrap();
        store.put_provider(&ProviderRow::new("anthropic", "anthropic")).unwrap();
        store.refresh_default_aliases().unwrap();
        assert!(store.list_aliases().unwrap().is_empty(), "no key, no default aliases");

        store.put_provider_key("anthropic", "default", Some("abcd")).unwrap();
        store.put_provider(&ProviderRow::new("groq", "groq")).unwrap();
        store.put_provider_key("groq", "default", None).unwrap();
        store.refresh_default_aliases().unwrap();
        assert_eq!(targets(&store, "general"), ["anthropic/claude-sonnet-4-5", "groq/llama-3.3-70b-versatile"]);
        assert_eq!(targets(&store, "fast"), ["anthropic/claude-haiku-4-5", "groq/llama-3.1-8b-instant"]);
        assert_eq!(targets(&store, "long-context"), ["anthropic/claude-sonnet-4-5"]);

        // The user edits `general`: from then on it is theirs.
        let mut general = store.alias("general").unwrap().unwrap();
        general.targets.truncate(1);
        general.is_default = false;
        store.put_alias(&general).unwrap();
        store.remove_provider_key("anthropic", "default").unwrap();
        store.refresh_default_aliases().unwrap();
        assert_eq!(targets(&store, "general"), ["anthropic/claude-sonnet-4-5"], "an edited alias is never touched");
        assert_eq!(targets(&store, "fast"), ["groq/llama-3.1-8b-instant"], "defaults follow the keys");
        assert!(store.alias("long-context").unwrap().is_none(), "a default with no target left is removed");
    }
}
