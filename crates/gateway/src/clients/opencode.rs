//! opencode: `$XDG_CONFIG_HOME/opencode/opencode.json` (else `~/.config/opencode/`; an existing `opencode.jsonc`
//! is edited instead). A custom provider `switchboard` on the OpenAI-compatible AI SDK package
//! (`options.baseURL` with `/v1`, `options.apiKey`, its `models`), chosen by top-level `model` and `small_model`
//! as `switchboard/<alias>`. Checked against 1.18.33 (see docs/CLIENTS.md).

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, secret_at, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[
    Slot { id: "model", label: "Model", default_alias: "code" },
    Slot { id: "small_model", label: "Small model (titles, summaries)", default_alias: "fast" },
];

const PROVIDER: &str = "switchboard";

pub struct Opencode;

impl Client for Opencode {
    fn id(&self) -> ClientId {
        ClientId::Opencode
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["opencode"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.xdg_config_home.clone().unwrap_or_else(|| env.home.join(".config")).join("opencode")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        let dir = self.config_dir(env);
        let jsonc = dir.join("opencode.jsonc");
        let path =
            if jsonc.is_file() && !dir.join("opencode.json").exists() { jsonc } else { dir.join("opencode.json") };
        vec![ConfigFile { tag: "config", path, format: Format::Jsonc }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.v1()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        let models: Map<String, Value> =
            plan.distinct_aliases().into_iter().map(|alias| (alias.clone(), json!({ "name": alias }))).collect();
        vec![vec![
            Entry::scaffold(&["$schema"], "https://opencode.ai/config.json"),
            Entry::new(
                &["provider", PROVIDER],
                json!({
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Switchboard",
                    "options": { "baseURL": self.base_url(plan.endpoint), "apiKey": plan.token() },
                    "models": models,
                }),
            ),
            Entry::new(&["model"], format!("{PROVIDER}/{}", plan.alias("model"))),
            Entry::new(&["small_model"], format!("{PROVIDER}/{}", plan.alias("small_model"))),
        ]]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let doc = docs.first().copied().flatten();
        let model = string_at(doc, &["model"]);
        let provider = model.as_deref().and_then(|m| m.split_once('/')).map_or(PROVIDER, |(p, _)| p).to_owned();
        let alias = |key: &str| {
            let value = string_at(doc, &[key])?;
            let (p, alias) = value.split_once('/')?;
            (p == provider).then(|| alias.to_owned())
        };
        Written {
            base_url: string_at(doc, &["provider", &provider, "options", "baseURL"]),
            token: secret_at(doc, &["provider", &provider, "options", "apiKey"]),
            aliases: SLOTS.iter().filter_map(|s| Some((s.id.to_owned(), alias(s.id)?))).collect(),
        }
    }
}
