//! Codex CLI: `$CODEX_HOME/config.toml`, else `~/.codex/config.toml`.
//!
//! A `[model_providers.switchboard]` table (`base_url` with `/v1`, `wire_api = "responses"`, the only wire API
//! Codex still speaks) selected by top-level `model_provider` and `model`. The token goes in the table's
//! `experimental_bearer_token`, so a plain `codex` in a new shell works with no environment variable (an
//! `env_key` would need one exported). Checked against 0.171.0 (see docs/CLIENTS.md).

use std::path::PathBuf;

use serde_json::json;

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, secret_at, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];

/// The provider id Switchboard's table has in `model_providers`.
const PROVIDER: &str = "switchboard";

pub struct Codex;

impl Client for Codex {
    fn id(&self) -> ClientId {
        ClientId::Codex
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["codex"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.codex_home.clone().unwrap_or_else(|| env.home.join(".codex"))
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        vec![ConfigFile { tag: "config", path: self.config_dir(env).join("config.toml"), format: Format::Toml }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.v1()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        vec![vec![
            Entry::new(&["model_provider"], PROVIDER),
            Entry::new(&["model"], plan.alias("model")),
            Entry::new(
                &["model_providers", PROVIDER],
                json!({
                    "name": "Switchboard",
                    "base_url": self.base_url(plan.endpoint),
                    "wire_api": "responses",
                    "experimental_bearer_token": plan.token(),
                }),
            ),
        ]]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let doc = docs.first().copied().flatten();
        let provider = string_at(doc, &["model_provider"]).unwrap_or_else(|| "openai".to_owned());
        Written {
            base_url: string_at(doc, &["model_providers", &provider, "base_url"]),
            token: secret_at(doc, &["model_providers", &provider, "experimental_bearer_token"]),
            aliases: string_at(doc, &["model"]).map(|m| ("model".to_owned(), m)).into_iter().collect(),
        }
    }

    fn notes(&self, docs: &[Option<&dyn Document>]) -> Vec<String> {
        match string_at(docs.first().copied().flatten(), &["profile"]) {
            Some(profile) => vec![format!(
                "config.toml selects the profile {profile:?}, whose model_provider wins over the top-level one; run \
                 `codex --profile` without it or remove `profile` to use Switchboard"
            )],
            None => Vec::new(),
        }
    }
}
