//! Qwen Code: `~/.qwen/settings.json`. Its OpenAI-compatible auth (`security.auth.selectedType = "openai"`) with
//! `security.auth.baseUrl` (with `/v1`) and `security.auth.apiKey`, and `model.name` = the alias. Qwen Code
//! rewrites this file itself on start (it adds `$version` and reformats), so after a run Disconnect takes out
//! Switchboard's keys rather than restoring the bytes. Checked against 0.24.4 (see docs/CLIENTS.md).

use std::path::PathBuf;

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, secret_at, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];

pub struct QwenCode;

impl Client for QwenCode {
    fn id(&self) -> ClientId {
        ClientId::QwenCode
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["qwen"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.home.join(".qwen")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        vec![ConfigFile { tag: "settings", path: self.config_dir(env).join("settings.json"), format: Format::Jsonc }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.v1()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        vec![vec![
            Entry::new(&["security", "auth", "selectedType"], "openai"),
            Entry::new(&["security", "auth", "baseUrl"], self.base_url(plan.endpoint)),
            Entry::new(&["security", "auth", "apiKey"], plan.token()),
            Entry::new(&["model", "name"], plan.alias("model")),
        ]]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let doc = docs.first().copied().flatten();
        Written {
            base_url: string_at(doc, &["security", "auth", "baseUrl"]),
            token: secret_at(doc, &["security", "auth", "apiKey"]),
            aliases: string_at(doc, &["model", "name"]).map(|m| ("model".to_owned(), m)).into_iter().collect(),
        }
    }
}
