//! The configuration as a file: [`Store::export_config`] writes the database's providers, aliases, apps (with their
//! budgets and limits), the overall budget, the limits of all apps together and server and logging settings as the TOML document of `config.rs` (the headless gateway's `--config`),
//! and [`Store::plan_import`] / [`Store::apply_import`] read one back.
//!
//! Secrets stay where they are. A provider's keys appear as keychain references (`keychain = ["openai",
//! "openai:backup"]`), never values; an import keeps the references whose key this computer's keychain holds and
//! lists the others. App tokens appear in no form, not even as digests: a digest would let whoever holds the old
//! token into the new machine without anyone choosing that, so an imported new app gets a fresh token that must be
//! shown by rotating it on the Apps page.
//!
//! An import makes the database match the file: items missing from the file are removed (the built-in chat app
//! stays), all in one transaction.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Transaction, params};
use serde::Serialize;
use serde_json::json;

use super::apps::new_token;
use super::{
    ALL_APPS_LIMITS_SETTING, AliasRow, LOGGING_BODIES_SETTING, LOGGING_RETENTION_SETTING, Result, Store, StoreError,
    TargetRow, now_ms, to_json, token_digest,
};
use crate::config::{AliasConfig, AppConfig, Config, ProviderConfig, Strategy};
use crate::ledger::budgets::{Budget, OVERALL_BUDGET_SETTING};
use crate::secrets::{ExposeSecret, SecretStore};

/// The desktop's server settings (JSON values under these keys).
pub const PORT_SETTING: &str = "server.port";
pub const BIND_SETTING: &str = "server.bind";
pub const ALLOWED_HOSTS_SETTING: &str = "server.allowed_hosts";
pub const ALLOWED_ORIGINS_SETTING: &str = "server.allowed_origins";

/// The first lines of every exported file.
const HEADER: &str = "# Switchboard configuration. Keys are keychain references (service \"switchboard\"), never keys; \
app tokens are not included.\n# Import it on the Settings page, or run it headless: switchboard-gateway --config FILE \
(keys from SWITCHBOARD_KEY_<ACCOUNT>, tokens from each app's token_env).\n\n";

/// What an import would do, counted per kind of item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    pub added: u32,
    pub changed: u32,
    pub removed: u32,
    pub unchanged: u32,
}

/// A key the file refers to that this computer's keychain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingKey {
    pub provider: String,
    /// The key's label (`default` for the provider's only key).
    pub label: String,
}

/// The preview shown before an import, and the report after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub providers: Changes,
    pub aliases: Changes,
    pub apps: Changes,
    /// Whether the server, logging, overall budget or all apps' limits differ.
    pub settings_changed: bool,
    /// Add these on the Providers page; until then the provider has no key.
    pub missing_keys: Vec<MissingKey>,
    /// New apps: their token exists only once rotated on the Apps page.
    pub apps_needing_token: Vec<String>,
}

/// A checked file and what applying it changes. Build it with [`Store::plan_import`].
#[derive(Debug, Clone)]
pub struct ImportPlan {
    config: Config,
    /// Per provider id: (label, last four characters) of each key the keychain holds, in the file's order.
    keys: BTreeMap<String, Vec<(String, Option<String>)>>,
    pub summary: ImportSummary,
}

/// `config` as the file the user keeps: a header comment, then the TOML.
pub fn to_toml(config: &Config) -> Result<String> {
    let body = toml::to_string(config)
        .map_err(|e| StoreError::Invalid(format!("the configuration cannot be written as TOML: {e}")))?;
    Ok(format!("{HEADER}{body}"))
}

impl Store {
    /// The database as a configuration document: every provider (disabled ones too) with its keys as keychain
    /// references, every alias (targets naming a provider that no longer exists are left out, and an alias left
    /// with none is skipped), every app with its allowed aliases and budget, the overall budget, and the server and
    /// logging settings. Blocking.
    pub fn export_config(&self) -> Result<Config> {
        let mut config = Config::default();
        let server = &mut config.server;
        if let Some(port) = self.get_setting(PORT_SETTING)? {
            server.port = port;
        }
        if let Some(bind) = self.get_setting::<String>(BIND_SETTING)? {
            server.bind = bind
                .parse()
                .map_err(|_| StoreError::Invalid(format!("the stored bind address {bind:?} is not an IP address")))?;
        }
        server.allowed_hosts = self.get_setting(ALLOWED_HOSTS_SETTING)?.unwrap_or_default();
        server.allowed_origins = self.get_setting(ALLOWED_ORIGINS_SETTING)?.unwrap_or_default();
        if let Some(bodies) = self.get_setting(LOGGING_BODIES_SETTING)? {
            config.logging.bodies = bodies;
        }
        if let Some(days) = self.get_setting(LOGGING_RETENTION_SETTING)? {
            config.logging.retention_days = days;
        }
        config.budget = match self.get_setting::<serde_json::Value>(OVERALL_BUDGET_SETTING)? {
            Some(value) if !value.is_null() => Some(budget_from(&value, "the overall budget")?),
            _ => None,
        };
        config.limits = self.all_apps_limits()?;
        for row in self.list_providers()? {
            let keys = self.list_provider_keys(&row.id)?;
            config.providers.push(ProviderConfig {
                key_accounts: keys.iter().map(|k| k.keychain_account()).collect(),
                id: row.id,
                kind: row.kind,
                name: row.name,
                base_url: row.base_url,
                key_env: row.key_env,
                api_version: row.api_version,
                proxy: row.proxy,
                enabled: row.enabled,
            });
        }
        let provider_ids: HashSet<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
        let mut aliases = Vec::new();
        for row in self.list_aliases()? {
            let mut alias = alias_config(&row)?;
            let kept: Vec<bool> = row.targets.iter().map(|t| provider_ids.contains(t.provider_id.as_str())).collect();
            let mut keep = kept.iter();
            alias.targets.retain(|_| *keep.next().unwrap_or(&false));
            if !alias.weights.is_empty() {
                let mut keep = kept.iter();
                alias.weights.retain(|_| *keep.next().unwrap_or(&false));
            }
            if !alias.targets.is_empty() {
                aliases.push(alias);
            }
        }
        config.aliases = aliases;
        for app in self.list_apps()? {
            let budget = match app.budget.as_ref().filter(|v| !v.is_null()) {
                Some(value) => Some(budget_from(value, &format!("app {:?}'s budget", app.name))?),
                None => None,
            };
            config.apps.push(AppConfig {
                name: app.name,
                token_env: None,
                enabled: app.enabled,
                allowed_aliases: app.allowed_aliases,
                budget,
                limits: app.limits,
            });
        }
        Ok(config)
    }

    /// Reads and checks `text` (errors name the line or the field, and `origin`), compares it with the database and
    /// asks `secrets` which referenced keys this computer holds. Changes nothing. Blocking.
    pub fn plan_import(&self, text: &str, origin: &str, secrets: &dyn SecretStore) -> Result<ImportPlan> {
        let config = Config::from_toml(text, origin).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let current = self.export_config()?;
        let mut summary = ImportSummary {
            providers: compare(&current.providers, &config.providers, |p| &p.id, |p| p.clone()),
            aliases: compare(&current.aliases, &config.aliases, |a| &a.name, |a| a.clone()),
            apps: compare(&current.apps, &config.apps, |a| &a.name, |a| AppConfig { token_env: None, ..a.clone() }),
            settings_changed: (current.server != config.server)
                || current.logging != config.logging
                || current.budget != config.budget
                || current.limits != config.limits,
            ..ImportSummary::default()
        };
        let mut keys = BTreeMap::new();
        for provider in &config.providers {
            let mut held = Vec::new();
            for account in &provider.key_accounts {
                let label = label_of(&provider.id, account);
                match secrets.get(account) {
                    Ok(Some(secret)) => held.push((label, last4(secret.expose_secret()))),
                    Ok(None) => summary.missing_keys.push(MissingKey { provider: provider.id.clone(), label }),
                    Err(error) => {
                        tracing::warn!(%error, account, "could not read a key during an import");
                        summary.missing_keys.push(MissingKey { provider: provider.id.clone(), label });
                    }
                }
            }
            keys.insert(provider.id.clone(), held);
        }
        let existing: HashSet<&str> = current.apps.iter().map(|a| a.name.as_str()).collect();
        summary.apps_needing_token =
            config.apps.iter().filter(|a| !existing.contains(a.name.as_str())).map(|a| a.name.clone()).collect();
        Ok(ImportPlan { config, keys, summary })
    }

    /// Makes the database match `plan`'s file, in one transaction: everything or nothing. Keys in the keychain are
    /// not touched (a removed provider's keys stay there). Blocking.
    pub fn apply_import(&self, plan: &ImportPlan) -> Result<ImportSummary> {
        let config = &plan.config;
        let now = now_ms();
        // Aliases the file leaves as they are stay first-run defaults (still kept in step with the providers).
        let unchanged: HashSet<String> = self
            .list_aliases()?
            .into_iter()
            .filter(|row| alias_config(row).is_ok_and(|alias| config.aliases.contains(&alias)))
            .map(|row| row.name)
            .collect();
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            set(&tx, PORT_SETTING, &json!(config.server.port))?;
            set(&tx, BIND_SETTING, &json!(config.server.bind.to_string()))?;
            set(&tx, ALLOWED_HOSTS_SETTING, &json!(config.server.allowed_hosts))?;
            set(&tx, ALLOWED_ORIGINS_SETTING, &json!(config.server.allowed_origins))?;
            set(&tx, LOGGING_BODIES_SETTING, &json!(config.logging.bodies))?;
            set(&tx, LOGGING_RETENTION_SETTING, &json!(config.logging.retention_days))?;
            match &config.budget {
                Some(budget) => set(&tx, OVERALL_BUDGET_SETTING, &json!(budget))?,
                None => {
                    tx.execute("DELETE FROM settings WHERE key = ?1", [OVERALL_BUDGET_SETTING])?;
                }
            }
            if config.limits.is_empty() {
                tx.execute("DELETE FROM settings WHERE key = ?1", [ALL_APPS_LIMITS_SETTING])?;
            } else {
                set(&tx, ALL_APPS_LIMITS_SETTING, &json!(config.limits))?;
            }
            import_providers(&tx, config, &plan.keys, now)?;
            import_aliases(&tx, config, &unchanged, now)?;
            import_apps(&tx, config, now)?;
            tx.commit()?;
            Ok(())
        })?;
        Ok(plan.summary.clone())
    }
}

fn set(tx: &Transaction<'_>, key: &str, value: &serde_json::Value) -> Result<()> {
    let text = to_json(value, || format!("setting {key:?}"))?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, text],
    )?;
    Ok(())
}

fn import_providers(
    tx: &Transaction<'_>,
    config: &Config,
    keys: &BTreeMap<String, Vec<(String, Option<String>)>>,
    now: i64,
) -> Result<()> {
    let ids: HashSet<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
    let stored: Vec<String> =
        tx.prepare("SELECT id FROM providers")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for id in stored.iter().filter(|id| !ids.contains(id.as_str())) {
        tx.execute("DELETE FROM providers WHERE id = ?1", [id])?;
    }
    for p in &config.providers {
        tx.execute(
            "INSERT INTO providers (id, kind, name, base_url, api_version, proxy, key_env, enabled, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, base_url = excluded.base_url, \
             api_version = excluded.api_version, proxy = excluded.proxy, key_env = excluded.key_env, \
             enabled = excluded.enabled, updated_at = excluded.updated_at",
            params![p.id, p.kind, p.name, p.base_url, p.api_version, p.proxy, p.key_env, p.enabled, now],
        )?;
        let held = keys.get(&p.id).map(Vec::as_slice).unwrap_or_default();
        let labels: HashSet<&str> = held.iter().map(|(l, _)| l.as_str()).collect();
        let old: Vec<(String, Option<String>)> = tx
            .prepare("SELECT label, last4 FROM provider_keys WHERE provider_id = ?1")?
            .query_map([&p.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (label, _) in old.iter().filter(|(l, _)| !labels.contains(l.as_str())) {
            tx.execute("DELETE FROM provider_keys WHERE provider_id = ?1 AND label = ?2", [&p.id, label])?;
        }
        for (position, (label, last4)) in (0_i64..).zip(held) {
            tx.execute(
                "INSERT INTO provider_keys (provider_id, label, position, last4, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (provider_id, label) DO UPDATE SET position = excluded.position, \
                 last4 = coalesce(excluded.last4, provider_keys.last4)",
                params![p.id, label, position, last4, now],
            )?;
        }
    }
    Ok(())
}

fn import_aliases(tx: &Transaction<'_>, config: &Config, unchanged: &HashSet<String>, now: i64) -> Result<()> {
    let names: HashSet<&str> = config.aliases.iter().map(|a| a.name.as_str()).collect();
    let stored: Vec<String> =
        tx.prepare("SELECT name FROM aliases")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for name in stored.iter().filter(|n| !names.contains(n.as_str())) {
        tx.execute("DELETE FROM aliases WHERE name = ?1", [name])?;
    }
    for alias in &config.aliases {
        if unchanged.contains(&alias.name) {
            continue;
        }
        let row = alias_row(alias);
        let settings = to_json(&row.settings, || format!("alias {:?} settings", row.name))?;
        tx.execute(
            "INSERT INTO aliases (name, description, strategy, settings, is_default, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description, strategy = excluded.strategy, \
             settings = excluded.settings, is_default = 0, updated_at = excluded.updated_at",
            params![row.name, row.description, row.strategy, settings, now],
        )?;
        tx.execute("DELETE FROM alias_targets WHERE alias = ?1", [&row.name])?;
        for (position, t) in (0_i64..).zip(&row.targets) {
            tx.execute(
                "INSERT INTO alias_targets (alias, position, provider_id, model, weight) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.name, position, t.provider_id, t.model, t.weight],
            )?;
        }
    }
    Ok(())
}

fn import_apps(tx: &Transaction<'_>, config: &Config, now: i64) -> Result<()> {
    let names: HashSet<&str> = config.apps.iter().map(|a| a.name.as_str()).collect();
    let stored: Vec<(i64, String)> = tx
        .prepare("SELECT id, name FROM apps WHERE builtin = 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, _) in stored.iter().filter(|(_, name)| !names.contains(name.as_str())) {
        tx.execute("DELETE FROM apps WHERE id = ?1", [id])?;
    }
    for app in &config.apps {
        let allowed = app.allowed_aliases.as_ref().map(|a| to_json(a, || format!("app {:?}", app.name))).transpose()?;
        let budget = app.budget.as_ref().map(|b| to_json(b, || format!("app {:?}", app.name))).transpose()?;
        let limits =
            (!app.limits.is_empty()).then(|| to_json(&app.limits, || format!("app {:?}", app.name))).transpose()?;
        let updated = tx.execute(
            "UPDATE apps SET enabled = ?2, allowed_aliases = ?3, budget = ?4, limits = ?5 WHERE name = ?1",
            params![app.name, app.enabled, allowed, budget, limits],
        )?;
        if updated == 0 {
            // A token no one has seen: the app works once the user rotates it and hands the new one out.
            let digest = token_digest(&new_token()?);
            tx.execute(
                "INSERT INTO apps (name, token_hash, enabled, allowed_aliases, budget, limits, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![app.name, digest.as_slice(), app.enabled, allowed, budget, limits, now],
            )?;
        }
    }
    Ok(())
}

/// Counts what `next` adds, changes and removes relative to `current`, matching items by `key`.
fn compare<T, K: Eq + std::hash::Hash + ?Sized, C: PartialEq>(
    current: &[T],
    next: &[T],
    key: impl Fn(&T) -> &K,
    comparable: impl Fn(&T) -> C,
) -> Changes {
    let mut changes = Changes::default();
    let next_keys: HashSet<&K> = next.iter().map(&key).collect();
    changes.removed = count(current.iter().filter(|c| !next_keys.contains(key(c))));
    for item in next {
        match current.iter().find(|c| key(c) == key(item)) {
            None => changes.added += 1,
            Some(old) if comparable(old) == comparable(item) => changes.unchanged += 1,
            Some(_) => changes.changed += 1,
        }
    }
    changes
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// The label of the key under `account` (checked by `Config::validate` to be the id or `id:label`).
fn label_of(provider_id: &str, account: &str) -> String {
    match account.strip_prefix(provider_id).and_then(|rest| rest.strip_prefix(':')) {
        Some(label) => label.to_owned(),
        None => super::DEFAULT_KEY_LABEL.to_owned(),
    }
}

/// The last four characters of a long enough key, as the Providers page shows them.
fn last4(key: &str) -> Option<String> {
    let chars: Vec<char> = key.chars().collect();
    (chars.len() > 8).then(|| chars[chars.len() - 4..].iter().collect())
}

fn budget_from(value: &serde_json::Value, what: &str) -> Result<Budget> {
    Budget::from_json(value).map_err(|e| StoreError::Invalid(format!("{what} in the database: {e}")))
}

/// An alias row in the file's terms (every target kept).
fn alias_config(row: &AliasRow) -> Result<AliasConfig> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Settings {
        params: serde_json::Map<String, serde_json::Value>,
        forced_params: serde_json::Map<String, serde_json::Value>,
        system_prefix: Option<String>,
        timeouts: crate::config::Timeouts,
    }
    let settings: Settings = serde_json::from_value(row.settings.clone())
        .map_err(|e| StoreError::Invalid(format!("alias {:?} has unreadable settings: {e}", row.name)))?;
    let weights: Vec<u32> = row.targets.iter().map(|t| t.weight).collect();
    Ok(AliasConfig {
        name: row.name.clone(),
        description: row.description.clone(),
        targets: row.targets.iter().map(|t| format!("{}/{}", t.provider_id, t.model)).collect(),
        strategy: if row.strategy == "weighted" { Strategy::Weighted } else { Strategy::Fallback },
        // Weights of 1 are the default; the file lists them only when one differs.
        weights: if weights.iter().all(|w| *w == 1) { Vec::new() } else { weights },
        system_prefix: settings.system_prefix,
        params: settings.params,
        forced_params: settings.forced_params,
        timeouts: settings.timeouts,
    })
}

/// The file's alias as a row to store.
fn alias_row(alias: &AliasConfig) -> AliasRow {
    let targets = alias
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (provider, model) = t.split_once('/').unwrap_or((t.as_str(), ""));
            TargetRow { weight: alias.weights.get(i).copied().unwrap_or(1), ..TargetRow::new(provider, model) }
        })
        .collect();
    let mut settings = serde_json::Map::new();
    if !alias.params.is_empty() {
        settings.insert("params".into(), json!(alias.params));
    }
    if !alias.forced_params.is_empty() {
        settings.insert("forced_params".into(), json!(alias.forced_params));
    }
    if let Some(prefix) = &alias.system_prefix {
        settings.insert("system_prefix".into(), json!(prefix));
    }
    if alias.timeouts != crate::config::Timeouts::default() {
        settings.insert("timeouts".into(), json!(alias.timeouts));
    }
    AliasRow {
        name: alias.name.clone(),
        description: alias.description.clone(),
        strategy: if alias.strategy == Strategy::Weighted { "weighted" } else { "fallback" }.to_owned(),
        settings: serde_json::Value::Object(settings),
        is_default: false,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use secrecy::SecretString;
    use serde_json::json;

    use super::*;
    use crate::limits::Limits;
    use crate::secrets::SecretError;
    use crate::store::{AppSpec, ProviderRow};

    /// A keychain in memory.
    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, String>>);

    impl Memory {
        fn with(accounts: &[&str]) -> Memory {
            let keys = accounts.iter().map(|a| ((*a).to_owned(), format!("sk-test-secret-for-{a}"))).collect();
            Memory(Mutex::new(keys))
        }
    }

    impl SecretStore for Memory {
        fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
            Ok(self.0.lock().unwrap().get(account).cloned().map(SecretString::from))
        }
        fn set(&self, account: &str, secret: &SecretString) -> Result<(), SecretError> {
            self.0.lock().unwrap().insert(account.to_owned(), secret.expose_secret().to_owned());
            Ok(())
        }
        fn delete(&self, account: &str) -> Result<(), SecretError> {
            self.0.lock().unwrap().remove(account);
            Ok(())
        }
    }

    /// A database with something of everything the file holds.
    fn filled() -> Store {
        let store = Store::open_in_memory().unwrap();
        let mut oa = ProviderRow::new("oa", "openai");
        oa.name = Some("OpenAI (work)".into());
        oa.proxy = Some("http://127.0.0.1:3128".into());
        store.put_provider(&oa).unwrap();
        store.put_provider_key("oa", "default", Some("abcd")).unwrap();
        store.put_provider_key("oa", "backup", Some("wxyz")).unwrap();
        let mut local = ProviderRow::new("local", "ollama");
        local.enabled = false;
        store.put_provider(&local).unwrap();
        let mut code = AliasRow::new("code", vec![TargetRow::new("oa", "gpt-4.1"), TargetRow::new("local", "qwen")]);
        code.strategy = "weighted".into();
        code.targets[0].weight = 3;
        code.description = Some("for the editor".into());
        code.settings = json!({ "params": { "temperature": 0.2 }, "system_prefix": "Answer with code.",
                                "timeouts": { "first_token": 30.0, "idle": 60.0, "total": 300.0 } });
        store.put_alias(&code).unwrap();
        store.put_alias(&AliasRow::new("general", vec![TargetRow::new("oa", "gpt-4o-mini")])).unwrap();
        let spec = AppSpec {
            allowed_aliases: Some(vec!["code".into()]),
            budget: Some(json!({ "daily_usd": 5.0, "action": "block" })),
            limits: Limits { rpm: Some(60), concurrent: Some(4), loop_guard: Some(5), ..Limits::default() },
            ..AppSpec::new("Cursor")
        };
        store.create_app(&spec).unwrap();
        store.set_all_apps_limits(&Limits { tpm: Some(500_000), ..Limits::default() }).unwrap();
        store.set_setting(PORT_SETTING, &7400_u16).unwrap();
        store.set_setting(ALLOWED_ORIGINS_SETTING, &["https://example.com"]).unwrap();
        store.set_setting(LOGGING_BODIES_SETTING, &true).unwrap();
        store.set_setting(OVERALL_BUDGET_SETTING, &json!({ "monthly_usd": 50.0 })).unwrap();
        store
    }

    fn export(store: &Store) -> String {
        to_toml(&store.export_config().unwrap()).unwrap()
    }

    #[test]
    fn export_then_import_into_an_empty_store_exports_the_same() {
        let text = export(&filled());
        let body: String = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert!(!body.contains("token_") && !body.contains("sb-"), "no app token in any form: {body}");
        assert!(body.contains("keychain = [\"oa\", \"oa:backup\"]"), "{body}");

        let empty = Store::open_in_memory().unwrap();
        let keychain = Memory::with(&["oa", "oa:backup"]);
        let plan = empty.plan_import(&text, "switchboard.toml", &keychain).unwrap();
        assert_eq!(plan.summary.providers, Changes { added: 2, ..Changes::default() });
        assert_eq!(plan.summary.aliases, Changes { added: 2, ..Changes::default() });
        // The empty store has the built-in chat app, which the file has too.
        assert_eq!(plan.summary.apps, Changes { added: 1, unchanged: 1, ..Changes::default() });
        assert!(plan.summary.settings_changed);
        assert_eq!(plan.summary.missing_keys, []);
        assert_eq!(plan.summary.apps_needing_token, ["Cursor"]);
        empty.apply_import(&plan).unwrap();
        assert_eq!(export(&empty), text);

        // The keys kept their order and show their last four characters; the new app has a token no one knows.
        let keys = empty.list_provider_keys("oa").unwrap();
        let shown: Vec<_> = keys.iter().map(|k| (k.label.as_str(), k.last4.as_deref())).collect();
        assert_eq!(shown, [("default", Some("r-oa")), ("backup", Some("ckup"))]);
        let cursor = empty.list_apps().unwrap().into_iter().find(|a| a.name == "Cursor").unwrap();
        assert!(cursor.has_token);

        // Importing the same file again changes nothing.
        let again = empty.plan_import(&text, "switchboard.toml", &keychain).unwrap().summary;
        assert_eq!((again.providers.unchanged, again.aliases.unchanged, again.apps.unchanged), (2, 2, 2));
        assert!(!again.settings_changed && again.apps_needing_token.is_empty());
    }

    #[test]
    fn the_export_is_a_config_the_headless_gateway_reads() {
        let config = Config::from_toml(&export(&filled()), "export.toml").unwrap();
        assert_eq!(config.server.port, 7400);
        assert_eq!(config.providers[1].key_accounts, ["oa", "oa:backup"]);
        assert!(!config.providers[0].enabled, "local is disabled");
        assert_eq!(config.aliases[0].weights, [3, 1]);
        assert_eq!(config.apps[1].budget.unwrap().daily_usd, Some(5.0));
        assert_eq!(config.apps[1].limits.rpm, Some(60));
        assert_eq!(config.limits.tpm, Some(500_000));
    }

    #[test]
    fn limits_travel_in_the_file_and_an_edit_of_them_is_a_change() {
        let text = export(&filled());
        assert!(text.contains("[limits]\ntpm = 500000\n"), "{text}");
        assert!(text.contains("[apps.limits]\nrpm = 60\nconcurrent = 4\nloop_guard = 5\n"), "{text}");
        let store = filled();
        let edited = text.replace("rpm = 60", "rpm = 30");
        let plan = store.plan_import(&edited, "f.toml", &Memory::with(&["oa", "oa:backup"])).unwrap();
        assert_eq!(plan.summary.apps.changed, 1);
        store.apply_import(&plan).unwrap();
        let cursor = store.list_apps().unwrap().into_iter().find(|a| a.name == "Cursor").unwrap();
        assert_eq!(cursor.limits.rpm, Some(30));
        let without = text.replace("[limits]\ntpm = 500000\n", "");
        let plan = store.plan_import(&without, "f.toml", &Memory::with(&["oa", "oa:backup"])).unwrap();
        assert!(plan.summary.settings_changed);
        store.apply_import(&plan).unwrap();
        assert!(store.all_apps_limits().unwrap().is_empty());
    }

    #[test]
    fn an_import_replaces_what_the_file_leaves_out_in_one_go() {
        let store = filled();
        let file = "[[providers]]\nid = \"oa\"\nkind = \"openai\"\nkeychain = [\"oa\"]\n\
                    [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4.1\"]\n";
        let plan = store.plan_import(file, "f.toml", &Memory::with(&["oa"])).unwrap();
        assert_eq!(plan.summary.providers, Changes { changed: 1, removed: 1, ..Changes::default() });
        assert_eq!(plan.summary.aliases, Changes { changed: 1, removed: 1, ..Changes::default() });
        assert_eq!(plan.summary.apps.removed, 2, "Cursor and the chat app are not in the file");
        store.apply_import(&plan).unwrap();
        let config = store.export_config().unwrap();
        assert_eq!(config.providers.len(), 1);
        assert_eq!(config.providers[0].key_accounts, ["oa"], "the backup key's reference is gone");
        assert_eq!(config.aliases[0].targets, ["oa/gpt-4.1"]);
        let apps = store.list_apps().unwrap();
        assert_eq!(apps.len(), 1, "the built-in chat app stays: {apps:?}");
        assert!(apps[0].builtin);
        assert_eq!(config.server.port, crate::config::DEFAULT_PORT);
        assert_eq!(config.budget, None);
    }

    #[test]
    fn a_file_referencing_a_key_this_computer_lacks_lists_it() {
        let store = Store::open_in_memory().unwrap();
        let file = "[[providers]]\nid = \"oa\"\nkind = \"openai\"\nkeychain = [\"oa\", \"oa:backup\"]\n";
        let plan = store.plan_import(file, "f.toml", &Memory::with(&["oa"])).unwrap();
        assert_eq!(plan.summary.missing_keys, [MissingKey { provider: "oa".into(), label: "backup".into() }]);
        store.apply_import(&plan).unwrap();
        let labels: Vec<_> = store.list_provider_keys("oa").unwrap().into_iter().map(|k| k.label).collect();
        assert_eq!(labels, ["default"], "only the key the keychain holds is recorded");
    }

    #[test]
    fn a_malformed_file_is_refused_naming_the_line_or_field_and_changes_nothing() {
        let store = filled();
        let before = export(&store);
        let check = |text: &str, expect: &str| {
            let err = store.plan_import(text, "bad.toml", &Memory::default()).unwrap_err().to_string();
            assert!(err.contains("bad.toml") && err.contains(expect), "{err:?} should contain {expect:?}");
        };
        check("[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = http://x\n", "line 4");
        check("[server]\nprot = 1\n", "unknown field `prot`");
        check("[[providers]]\nid = \"oa\"\nkind = \"openai\"\nkeychain = [\"other\"]\n", "keychain entry \"other\"");
        check("[[apps]]\nname = \"x\"\nbudget = { daily_usd = -1 }\n", "daily_usd = -1");
        check("[[apps]]\nname = \"x\"\nlimits = { rpm = 0 }\n", "app \"x\": limits.rpm = 0");
        check("[[aliases]]\nname = \"g\"\ntargets = [\"nope/m\"]\n", "names no configured provider");
        assert_eq!(export(&store), before);
    }
}
