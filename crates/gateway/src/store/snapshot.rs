//! The database as the gateway's configuration: enabled providers with their key accounts, aliases with their
//! settings, and the apps' token digests. The desktop app builds its gateway from this, and rebuilds it after
//! every change the user makes.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Result, Store, StoreError};
use crate::apps::{App, AppRegistry};
use crate::config::{AliasConfig, Config, ProviderConfig, Strategy, Timeouts};
use crate::limits::Limits;

/// The setting that turns request-body logging on (`true`/`false`); `[logging] bodies` in the TOML.
pub const LOGGING_BODIES_SETTING: &str = "logging.bodies";
/// Days request bodies are kept (a number ≥ 1); `[logging] retention_days` in the TOML.
pub const LOGGING_RETENTION_SETTING: &str = "logging.retention_days";
/// The rate limits of all apps together (`crate::limits::Limits` as JSON); `[limits]` in the TOML.
pub const ALL_APPS_LIMITS_SETTING: &str = "limits";

/// What `aliases.settings` holds (JSON), in the config file's names.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AliasSettings {
    params: Map<String, Value>,
    forced_params: Map<String, Value>,
    system_prefix: Option<String>,
    timeouts: Timeouts,
}

impl Store {
    /// `base` (server settings) with the database's providers, aliases, logging settings and the limits of all apps
    /// together. Disabled providers are left out, and aliases keep only targets whose provider is present.
    pub fn gateway_config(&self, base: &Config) -> Result<Config> {
        let mut config = base.clone();
        config.providers.clear();
        config.aliases.clear();
        config.limits = self.all_apps_limits()?;
        if let Some(bodies) = self.get_setting::<bool>(LOGGING_BODIES_SETTING)? {
            config.logging.bodies = bodies;
        }
        if let Some(days) = self.get_setting::<u32>(LOGGING_RETENTION_SETTING)? {
            config.logging.retention_days = days.max(1);
        }
        for row in self.list_providers()?.into_iter().filter(|p| p.enabled) {
            let keys = self.list_provider_keys(&row.id)?;
            config.providers.push(ProviderConfig {
                key_accounts: keys.iter().map(|k| k.keychain_account()).collect(),
                id: row.id,
                kind: row.kind,
                name: row.name,
                enabled: true,
                base_url: row.base_url,
                key_env: row.key_env,
                api_version: row.api_version,
                proxy: row.proxy,
            });
        }
        for row in self.list_aliases()? {
            let settings: AliasSettings = serde_json::from_value(row.settings.clone())
                .map_err(|e| StoreError::Invalid(format!("alias {:?} has unreadable settings: {e}", row.name)))?;
            let strategy = if row.strategy == "weighted" { Strategy::Weighted } else { Strategy::Fallback };
            let targets: Vec<_> =
                row.targets.iter().filter(|t| config.providers.iter().any(|p| p.id == t.provider_id)).collect();
            config.aliases.push(AliasConfig {
                name: row.name.clone(),
                description: row.description.clone(),
                targets: targets.iter().map(|t| format!("{}/{}", t.provider_id, t.model)).collect(),
                strategy,
                weights: targets.iter().map(|t| t.weight).collect(),
                params: settings.params,
                forced_params: settings.forced_params,
                system_prefix: settings.system_prefix,
                timeouts: settings.timeouts,
            });
        }
        Ok(config)
    }

    /// Every enabled app that has a token, ready for constant-time checks without touching SQLite again, and the
    /// built-in chat window (no token) so its limits apply to it too.
    pub fn app_registry(&self) -> Result<AppRegistry> {
        let digests = self.app_token_digests()?;
        let mut registry = AppRegistry::default();
        for app in self.list_apps()?.into_iter().filter(|a| a.enabled) {
            let digest = digests.iter().find(|(id, _)| *id == app.id).map(|(_, digest)| *digest);
            let builtin = app.builtin;
            let entry = App {
                id: Some(app.id),
                name: app.name,
                allowed_aliases: app.allowed_aliases,
                limits: app.limits,
                ..App::default()
            };
            match digest {
                Some(digest) => registry.insert_digest(entry, digest),
                None if builtin => registry.insert_tokenless(entry),
                None => {}
            }
        }
        Ok(registry)
    }

    /// The limits of all apps together (none when unset). Limits that do not parse are logged and ignored rather
    /// than stopping the gateway, as a budget's are.
    pub fn all_apps_limits(&self) -> Result<Limits> {
        match self.get_setting::<Value>(ALL_APPS_LIMITS_SETTING)? {
            Some(value) if !value.is_null() => Ok(Limits::deserialize(&value)
                .map_err(|e| e.to_string())
                .and_then(|limits| limits.check(false).map(|()| limits))
                .inspect_err(|error| tracing::warn!("ignoring the limits of all apps: {error}"))
                .unwrap_or_default()),
            _ => Ok(Limits::default()),
        }
    }

    /// Sets (or, when empty, removes) the limits of all apps together. Blocking.
    pub fn set_all_apps_limits(&self, limits: &Limits) -> Result<()> {
        limits.check(false).map_err(|e| StoreError::Invalid(format!("limits.{e}")))?;
        if limits.is_empty() {
            return self.delete_setting(ALL_APPS_LIMITS_SETTING).map(|_| ());
        }
        self.set_setting(ALL_APPS_LIMITS_SETTING, limits)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{AliasRow, AppSpec, ProviderRow, TargetRow};

    #[test]
    fn the_database_becomes_a_gateway_config() {
        let store = Store::open_in_memory().unwrap();
        store.put_provider(&ProviderRow::new("oa", "openai")).unwrap();
        store.put_provider_key("oa", "default", Some("abcd")).unwrap();
        store.put_provider_key("oa", "backup", Some("wxyz")).unwrap();
        let mut off = ProviderRow::new("off", "groq");
        off.enabled = false;
        store.put_provider(&off).unwrap();
        let mut alias = AliasRow::new("general", vec![TargetRow::new("oa", "gpt-4o-mini"), TargetRow::new("off", "m")]);
        alias.settings = json!({ "params": { "temperature": 0.3 }, "timeouts": { "first_token": 5.0 } });
        store.put_alias(&alias).unwrap();

        let config = store.gateway_config(&Config::default()).unwrap();
        assert_eq!(config.providers.len(), 1, "disabled providers are left out");
        assert_eq!(config.providers[0].key_accounts, ["oa", "oa:backup"]);
        assert_eq!(config.aliases[0].targets, ["oa/gpt-4o-mini"]);
        assert_eq!(config.aliases[0].params["temperature"], 0.3);
        assert_eq!(config.aliases[0].timeouts.first_token, 5.0);
        assert_eq!(config.aliases[0].timeouts.total, Timeouts::default().total);
    }

    #[test]
    fn limits_reach_the_registry_and_the_config() {
        let store = Store::open_in_memory().unwrap();
        let limits = Limits { rpm: Some(5), ..Limits::default() };
        let (app, token) = store.create_app(&AppSpec { limits, ..AppSpec::new("agent") }).unwrap();
        let chat = store.chat_window_app().unwrap();
        let chat_limits = Limits { concurrent: Some(1), ..Limits::default() };
        store.update_app(chat.id, &AppSpec { limits: chat_limits, ..AppSpec::new(&chat.name) }).unwrap();
        store.set_all_apps_limits(&Limits { tpm: Some(1000), ..Limits::default() }).unwrap();

        let registry = store.app_registry().unwrap();
        assert_eq!(registry.authenticate(&token).map(|a| (a.id, a.limits)), Some((Some(app.id), limits)));
        let config = store.gateway_config(&Config::default()).unwrap();
        assert_eq!(config.limits.tpm, Some(1000));
        // The chat window has no token, but its limits are there for its in-process requests.
        let mut registry = registry;
        registry.open_windows(&config.limits, None);
        let asked = registry.with_gate(App { id: Some(chat.id), ..App::named(&chat.name) });
        let _running = asked.gate.admit(&json!({}), crate::limits::Now::current()).unwrap();
        assert!(asked.gate.admit(&json!({}), crate::limits::Now::current()).is_err());

        store.set_all_apps_limits(&Limits::default()).unwrap();
        assert!(store.gateway_config(&Config::default()).unwrap().limits.is_empty());
        let err = store.set_all_apps_limits(&Limits { loop_guard: Some(3), ..Limits::default() }).unwrap_err();
        assert!(err.to_string().contains("limits.loop_guard applies to one app"), "{err}");
    }

    #[test]
    fn only_enabled_apps_with_tokens_are_admitted() {
        let store = Store::open_in_memory().unwrap();
        let (kept, token) = store.create_app(&AppSpec::new("editor")).unwrap();
        let (off, off_token) = store.create_app(&AppSpec::new("old script")).unwrap();
        store.set_app_enabled(off.id, false).unwrap();
        let registry = store.app_registry().unwrap();
        assert_eq!(registry.authenticate(&token).and_then(|a| a.id), Some(kept.id));
        assert!(registry.authenticate(&off_token).is_none(), "a disabled app's token is refused");
    }
}
