//! The configuration document: what the headless binary reads from `--config FILE.toml`, and what the desktop app
//! exports and imports (`store::portable`). Secrets are never values here, only the names of environment variables
//! or keychain entries that hold them (`keychain = ["openai", "openai:backup"]`). App tokens are never in it either,
//! not even as digests.
//!
//! ```toml
//! [server]
//! port = 7352
//! [[providers]]
//! id = "mock"
//! kind = "openai"
//! base_url = "http://127.0.0.1:8090/v1"
//! key_env = "MOCK_KEY"
//! [[aliases]]
//! name = "general"
//! targets = ["mock/gpt-4o-mini"]
//! [[apps]]
//! name = "scripts"
//! token_env = "SCRIPTS_TOKEN"
//! limits = { rpm = 60, concurrent = 4 }
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ledger::budgets::Budget;
use crate::limits::Limits;
// `[metrics]`, `[telemetry]` and `[store]` live with the rooms that use them; the document names them here.
pub use crate::metrics::{DEFAULT_METRICS_PORT, MetricsConfig};
use crate::postgres::StoreConfig;
use crate::providers::presets;
pub use crate::telemetry::{DEFAULT_SERVICE_NAME, TelemetryConfig};

pub const DEFAULT_PORT: u16 = 7352;
pub const DEFAULT_MAX_BODY_MB: usize = 32;
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_RETENTION_DAYS: u32 = 7;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Prometheus `/metrics` on a listener of its own (`[metrics]`; the headless gateway only). Off by default.
    #[serde(default, skip_serializing_if = "is_default")]
    pub metrics: MetricsConfig,
    /// OpenTelemetry traces over OTLP/HTTP (`[telemetry]`; the headless gateway only). Off unless an endpoint is set.
    #[serde(default, skip_serializing_if = "is_default")]
    pub telemetry: TelemetryConfig,
    /// Where a headless replica keeps the ledger, the app registry and budget spend (`[store]`): the SQLite file in
    /// the data folder unless `url = "postgres://…"` names a database shared by every replica.
    #[serde(default, skip_serializing_if = "is_default")]
    pub store: StoreConfig,
    /// The spend limit of all apps together (`[budget]`). The desktop app applies it, and so does a headless
    /// replica sharing PostgreSQL; a headless gateway on SQLite reads budgets from its database instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The rate limits of all apps together (`[limits]`: `rpm`, `tpm`, `concurrent`), in the window and headless.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AliasConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelConfig>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn is_true(value: &bool) -> bool {
    *value
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub port: u16,
    /// 127.0.0.1 unless the user opts in to another interface.
    pub bind: IpAddr,
    /// Host names accepted besides loopback ones (DNS-rebinding defence).
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the endpoint; none by default.
    pub allowed_origins: Vec<String>,
    #[serde(skip_serializing_if = "ServerConfig::default_max_body")]
    pub max_body_mb: usize,
    /// Seconds a client has to send its whole request body; a slower one gets a 408.
    #[serde(skip_serializing_if = "ServerConfig::default_body_timeout")]
    pub body_timeout_secs: u64,
}

impl ServerConfig {
    /// Whether `max_body_mb` is the default (the desktop app does not change it, so its exports leave it out).
    fn default_max_body(value: &usize) -> bool {
        *value == DEFAULT_MAX_BODY_MB
    }

    fn default_body_timeout(value: &u64) -> bool {
        *value == DEFAULT_BODY_TIMEOUT_SECS
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: DEFAULT_PORT,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_mb: DEFAULT_MAX_BODY_MB,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
        }
    }
}

/// `[logging]`: whether the ledger keeps each request's prompt and answer, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Keep request and response bodies (for the Logs page). Off by default: they hold whatever the user sent.
    pub bodies: bool,
    /// Bodies older than this many days are deleted; the request's row (tokens, cost) stays.
    pub retention_days: u32,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig { bodies: false, retention_days: DEFAULT_RETENTION_DAYS }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub id: String,
    pub kind: String,
    /// The name shown in the window (the id when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding this provider's API key (headless mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Azure OpenAI's `api-version` query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// A proxy for this provider only (`http://…` or `socks5://…`); otherwise the system settings apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Keychain accounts holding this provider's keys, in rotation order: `"<id>"` for the default key,
    /// `"<id>:<label>"` for the others (`keychain` in the file; references, never keys). Empty means one key, under
    /// the provider's id. The headless gateway reads each from `SWITCHBOARD_KEY_<ACCOUNT>`.
    #[serde(default, rename = "keychain", skip_serializing_if = "Vec::is_empty")]
    pub key_accounts: Vec<String>,
    /// A disabled provider is kept but not used.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AliasConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `provider-id/model`, in fallback order.
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub strategy: Strategy,
    /// With `strategy = "weighted"`: one weight per target (default 1 each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<u32>,
    /// Text put before the client's own system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prefix: Option<String>,
    /// Request fields (OpenAI names: `temperature`, `max_tokens`, `reasoning_effort`, …) applied when the client
    /// does not set them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Request fields that replace whatever the client sent.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub forced_params: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
}

/// How an alias picks among its targets.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The targets in order; the next one only when the one before fails.
    #[default]
    Fallback,
    /// A target drawn by weight, then the others in order.
    Weighted,
}

/// Time limits for requests through an alias, in seconds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// From sending the request to the first byte of the answer (headers and first chunk).
    pub first_token: f64,
    /// The longest silence between two chunks of a stream.
    pub idle: f64,
    /// The whole request, every attempt included.
    pub total: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { first_token: 60.0, idle: 120.0, total: 900.0 }
    }
}

/// What is known about a model, overriding the shipped catalog (`[[models]]` in the config).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `provider-id/model`.
    pub id: String,
    pub context_window: Option<u64>,
    pub max_output: Option<u64>,
    pub tools: Option<bool>,
    pub vision: Option<bool>,
    pub json_schema: Option<bool>,
    pub reasoning: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub name: String,
    /// The environment variable holding this app's bearer token (headless mode; an app without one is left out
    /// there). The desktop app keeps its own tokens and never exports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A disabled app's token is refused.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// The aliases this app may use; every alias when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_aliases: Option<Vec<String>>,
    /// The app's spend limit (desktop, and headless replicas sharing PostgreSQL; a headless gateway on SQLite reads
    /// budgets from its database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The app's rate limits and loop guard: `limits = { rpm = 60, tpm = 200000, concurrent = 4, loop_guard = 5 }`.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
}

impl AppConfig {
    /// An enabled app allowed every alias, with no budget and no limits.
    pub fn new(name: impl Into<String>, token_env: Option<String>) -> AppConfig {
        AppConfig {
            name: name.into(),
            token_env,
            enabled: true,
            allowed_aliases: None,
            budget: None,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        Config::from_toml(&text, &shown)
    }

    /// Parses and checks a document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.to_owned(), message: e.to_string() })?;
        config.validate().map_err(|message| ConfigError::Invalid { path: origin.to_owned(), message })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.server.max_body_mb == 0 {
            return Err("server.max_body_mb must be at least 1".into());
        }
        if self.server.body_timeout_secs == 0 {
            return Err("server.body_timeout_secs must be at least 1".into());
        }
        if self.metrics.enabled && self.metrics.port != 0 && self.metrics.port == self.server.port {
            return Err(format!(
                "metrics.port = {} is the API's port; /metrics needs a port of its own: choose another one",
                self.metrics.port
            ));
        }
        self.metrics.validate()?;
        self.telemetry.validate()?;
        self.store.validate()?;
        if self.logging.retention_days == 0 {
            return Err("logging.retention_days is the number of days request bodies are kept: use 1 or more".into());
        }
        let mut provider_ids = HashSet::new();
        for p in &self.providers {
            if p.id.is_empty() || p.id.contains('/') {
                return Err(format!("provider id {:?} must be non-empty and contain no '/'", p.id));
            }
            if !provider_ids.insert(p.id.as_str()) {
                return Err(format!("provider id {:?} appears twice", p.id));
            }
            let Some(preset) = presets::find(&p.kind) else {
                let kinds: Vec<&str> = presets::PRESETS.iter().map(|p| p.id).collect();
                return Err(format!(
                    "provider {:?} has unknown kind {:?}; use one of: {}",
                    p.id,
                    p.kind,
                    kinds.join(", ")
                ));
            };
            if preset.base_url.is_none() && p.base_url.is_none() {
                return Err(format!("provider {:?} ({}) needs a base_url", p.id, preset.name));
            }
            if let Some(url) = &p.base_url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(format!("provider {:?}: base_url {url:?} must start with http:// or https://", p.id));
            }
            for account in &p.key_accounts {
                let label = account.strip_prefix(p.id.as_str()).and_then(|rest| rest.strip_prefix(':'));
                if account != &p.id && label.is_none_or(str::is_empty) {
                    return Err(format!(
                        "provider {:?}: keychain entry {account:?} must be {:?} or \"{}:<label>\"",
                        p.id, p.id, p.id
                    ));
                }
            }
        }
        let mut alias_names = HashSet::new();
        for a in &self.aliases {
            if a.name.is_empty() || a.name.contains('/') {
                return Err(format!("alias name {:?} must be non-empty and contain no '/'", a.name));
            }
            if !alias_names.insert(a.name.as_str()) {
                return Err(format!("alias {:?} appears twice", a.name));
            }
            if a.targets.is_empty() {
                return Err(format!("alias {:?} has no targets; add at least one \"provider/model\"", a.name));
            }
            if a.strategy == Strategy::Weighted && !a.weights.is_empty() && a.weights.len() != a.targets.len() {
                return Err(format!("alias {:?}: weights must have one number per target", a.name));
            }
            for (field, value) in
                [("first_token", a.timeouts.first_token), ("idle", a.timeouts.idle), ("total", a.timeouts.total)]
            {
                if !(value > 0.0 && value.is_finite()) {
                    return Err(format!("alias {:?}: timeouts.{field} must be a positive number of seconds", a.name));
                }
            }
            for t in &a.targets {
                let Some((provider, model)) = t.split_once('/') else {
                    return Err(format!("alias {:?}: target {t:?} must be \"provider/model\"", a.name));
                };
                if model.is_empty() || !provider_ids.contains(provider) {
                    return Err(format!(
                        "alias {:?}: target {t:?} names no configured provider; add a [[providers]] entry with id = {provider:?}",
                        a.name
                    ));
                }
            }
        }
        let mut app_names = HashSet::new();
        for app in &self.apps {
            if app.name.trim().is_empty() {
                return Err("an [[apps]] entry has an empty name; give it a name".into());
            }
            if !app_names.insert(app.name.as_str()) {
                return Err(format!("app {:?} appears twice", app.name));
            }
            if app.token_env.as_deref() == Some("") {
                return Err(format!("app {:?}: token_env is empty; name the variable holding its token", app.name));
            }
            if let Some(budget) = &app.budget {
                check_budget(budget).map_err(|e| format!("app {:?}: budget: {e}", app.name))?;
            }
            app.limits.check(true).map_err(|e| format!("app {:?}: limits.{e}", app.name))?;
        }
        if let Some(budget) = &self.budget {
            check_budget(budget).map_err(|e| format!("budget: {e}"))?;
        }
        self.limits.check(false).map_err(|e| format!("limits.{e}"))?;
        Ok(())
    }
}

fn check_budget(budget: &Budget) -> Result<(), String> {
    for (field, limit) in [("daily_usd", budget.daily_usd), ("monthly_usd", budget.monthly_usd)] {
        if let Some(limit) = limit
            && !(limit.is_finite() && limit >= 0.0)
        {
            return Err(format!("{field} = {limit} is not an amount in USD; use 0 or more"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_SHAPE: &str = r#"
        [server]
        port = 7352
        [[providers]]
        id = "mock"
        kind = "openai"
        base_url = "http://127.0.0.1:8090/v1"
        key_env = "MOCK_KEY"
        [[aliases]]
        name = "general"
        targets = ["mock/gpt-4o-mini"]
        [[apps]]
        name = "scripts"
        token_env = "SCRIPTS_TOKEN"
    "#;

    fn check_err(text: &str, expect: &str) {
        let err = Config::from_toml(text, "test.toml").unwrap_err().to_string();
        assert!(err.contains(expect), "error {err:?} should contain {expect:?}");
    }

    #[test]
    fn logging_defaults_off_and_a_zero_retention_is_refused() {
        let config = Config::from_toml(ISSUE_SHAPE, "test.toml").unwrap();
        assert_eq!(config.logging, LoggingConfig { bodies: false, retention_days: DEFAULT_RETENTION_DAYS });
        let kept = Config::from_toml("[logging]\nbodies = true\nretention_days = 3\n", "test.toml").unwrap();
        assert_eq!(kept.logging, LoggingConfig { bodies: true, retention_days: 3 });
        check_err("[logging]\nretention_days = 0\n", "days request bodies are kept: use 1 or more");
        check_err("[logging]\nbody = true\n", "unknown field");
    }

    #[test]
    fn telemetry_is_off_by_default_and_checks_its_endpoint_and_headers() {
        let config = Config::from_toml("", "test.toml").unwrap();
        assert_eq!(config.telemetry, TelemetryConfig::default());
        assert_eq!(config.telemetry.service_name, "switchboard");
        assert!(!toml::to_string(&config).unwrap().contains("telemetry"), "left out of exports when unset");
        let text = "[telemetry]\notlp_endpoint = \"http://collector:4318\"\nservice_name = \"gw\"\n\
                    headers_env = { authorization = \"OTLP_AUTH\" }\n";
        let on = Config::from_toml(text, "test.toml").unwrap();
        assert_eq!(on.telemetry.otlp_endpoint.as_deref(), Some("http://collector:4318"));
        assert_eq!(on.telemetry.service_name, "gw");
        assert_eq!(on.telemetry.headers_env["authorization"], "OTLP_AUTH");
        check_err("[telemetry]\notlp_endpoint = \"collector:4318\"\n", "must be an http:// or https:// URL");
        check_err("[telemetry]\notlp_endpoint = \"not a url\"\n", "is not a URL");
        check_err("[telemetry]\notlp_endpoint = \"http://u:p@c:4318\"\n", "send them as a header");
        check_err("[telemetry]\nservice_name = \" \"\n", "telemetry.service_name is empty");
        check_err("[telemetry]\nheaders_env = { \"bad header\" = \"X\" }\n", "is not a header name");
        check_err("[telemetry]\nheaders_env = { authorization = \"\" }\n", "headers_env.authorization is empty");
        check_err("[telemetry]\nendpoint = \"http://x\"\n", "unknown field `endpoint`");
    }

    #[test]
    fn metrics_are_off_by_default_and_need_a_port_of_their_own() {
        let config = Config::from_toml(ISSUE_SHAPE, "test.toml").unwrap();
        assert_eq!(config.metrics, MetricsConfig { enabled: false, port: DEFAULT_METRICS_PORT, token_env: None });
        let on =
            Config::from_toml("[metrics]\nenabled = true\nport = 9100\ntoken_env = \"SCRAPE\"\n", "test.toml").unwrap();
        assert_eq!(on.metrics, MetricsConfig { enabled: true, port: 9100, token_env: Some("SCRAPE".into()) });
        check_err("[metrics]\nenabled = true\nport = 7352\n", "needs a port of its own");
        check_err("[metrics]\ntoken_env = \"\"\n", "metrics.token_env is empty");
        check_err("[metrics]\npath = \"/m\"\n", "unknown field `path`");
    }

    #[test]
    fn documented_shape_parses() {
        let config = Config::from_toml(ISSUE_SHAPE, "test.toml").unwrap();
        assert_eq!(config.server.port, 7352);
        assert_eq!(config.server.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(config.providers[0].key_env.as_deref(), Some("MOCK_KEY"));
        assert_eq!(config.aliases[0].targets, ["mock/gpt-4o-mini"]);
        assert_eq!(config.apps[0].token_env.as_deref(), Some("SCRIPTS_TOKEN"));
    }

    #[test]
    fn limits_are_read_per_app_and_for_all_apps_and_mistakes_are_named() {
        let text = format!(
            "{ISSUE_SHAPE}limits = {{ rpm = 60, tpm = 200000, concurrent = 4, loop_guard = 5 }}\n[limits]\nrpm = 600\n"
        );
        let config = Config::from_toml(&text, "test.toml").unwrap();
        let app = config.apps[0].limits;
        assert_eq!((app.rpm, app.tpm, app.concurrent, app.loop_guard), (Some(60), Some(200_000), Some(4), Some(5)));
        assert_eq!(config.limits, Limits { rpm: Some(600), ..Limits::default() });
        assert!(Config::from_toml(ISSUE_SHAPE, "test.toml").unwrap().apps[0].limits.is_empty(), "none by default");

        check_err(&format!("{ISSUE_SHAPE}limits = {{ rpm = 0 }}\n"), "app \"scripts\": limits.rpm = 0 would refuse");
        check_err(&format!("{ISSUE_SHAPE}limits = {{ loop_guard = 1 }}\n"), "limits.loop_guard = 1");
        check_err(&format!("{ISSUE_SHAPE}limits = {{ rps = 1 }}\n"), "unknown field `rps`");
        check_err("[limits]\nloop_guard = 5\n", "limits.loop_guard applies to one app at a time");
        check_err("[limits]\nconcurrent = 0\n", "limits.concurrent = 0");
    }

    #[test]
    fn empty_document_means_defaults() {
        let config = Config::from_toml("", "test.toml").unwrap();
        assert_eq!(config.server.port, DEFAULT_PORT);
        assert!(config.apps.is_empty());
    }

    #[test]
    fn mistakes_are_named() {
        check_err("[server]\nprot = 1\n", "unknown field `prot`");
        check_err("[server]\nport = \"x\"\n", "invalid type");
        check_err("[server]\nbody_timeout_secs = 0\n", "body_timeout_secs must be at least 1");
        check_err("[[aliases]]\nname = \"general\"\ntargets = [\"nope/m\"]\n", "names no configured provider");
        check_err("[[providers]]\nid = \"a\"\nkind = \"opneai\"\n", "unknown kind \"opneai\"");
        check_err(
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\n[[providers]]\nid = \"a\"\nkind = \"openai\"\n",
            "appears twice",
        );
        check_err(
            "[[providers]]\nid = \"a\"\nkind = \"openai\"\n[[aliases]]\nname = \"g\"\ntargets = [\"a\"]\n",
            "must be \"provider/model\"",
        );
    }
}
