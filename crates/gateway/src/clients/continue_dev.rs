//! Continue (the VS Code / JetBrains extension and the `cn` CLI): `~/.continue/config.yaml`. One item of its
//! `models` list, named `Switchboard`: `provider: openai`, `apiBase` with `/v1`, `apiKey`, `model` = the alias,
//! for the chat, edit and apply roles. A new file also gets the `name`, `version` and `schema` Continue requires.
//! Checked against `cn` 1.5.47 (see docs/CLIENTS.md).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::edit::{Document, Format, Seg};
use super::spec::{Client, ConfigFile, Entry, Plan};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[Slot { id: "chat", label: "Chat, edit and apply", default_alias: "code" }];

/// The `name` of Switchboard's item in `models`.
const NAME: &str = "Switchboard";

pub struct Continue;

fn item_path() -> Vec<Seg> {
    vec![Seg::key("models"), Seg::Item { field: "name".to_owned(), value: NAME.to_owned() }]
}

impl Client for Continue {
    fn id(&self) -> ClientId {
        ClientId::Continue
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["cn"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.home.join(".continue")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        vec![ConfigFile { tag: "config", path: self.config_dir(env).join("config.yaml"), format: Format::Yaml }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.v1()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        let item = json!({
            "name": NAME,
            "provider": "openai",
            "model": plan.alias("chat"),
            "apiBase": self.base_url(plan.endpoint),
            "apiKey": plan.token(),
            "roles": ["chat", "edit", "apply"],
        });
        vec![vec![
            Entry::scaffold(&["name"], "Local config"),
            Entry::scaffold(&["version"], "1.0.0"),
            Entry::scaffold(&["schema"], "v1"),
            Entry { path: item_path(), value: item, scaffold: false },
        ]]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let item = docs.first().copied().flatten().and_then(|d| d.get(&item_path()));
        let field = |key: &str| item.as_ref().and_then(|i| i.get(key)).and_then(Value::as_str).map(str::to_owned);
        Written {
            base_url: field("apiBase"),
            token: field("apiKey").filter(|t| !t.is_empty()).map(Into::into),
            aliases: field("model").map(|m| ("chat".to_owned(), m)).into_iter().collect(),
        }
    }
}
