//! Zed: `$XDG_CONFIG_HOME/zed/settings.json` (else `~/.config/zed/`), JSON with comments. An OpenAI-compatible
//! provider `Switchboard` under `language_models.openai_compatible` (`api_url` with `/v1`, the aliases as
//! `available_models`) and `agent.default_model` pointing at it. Zed keeps API keys in the system keychain, never
//! in settings.json, so the token is pasted once in Zed's agent settings (or given as `SWITCHBOARD_API_KEY` in
//! Zed's environment). Not run here: Zed is no npm package; the keys follow Zed's documentation (docs/CLIENTS.md).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];

const PROVIDER: &str = "Switchboard";

pub struct Zed;

impl Client for Zed {
    fn id(&self) -> ClientId {
        ClientId::Zed
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["zed", "zeditor"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.xdg_config_home.clone().unwrap_or_else(|| env.home.join(".config")).join("zed")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        vec![ConfigFile { tag: "settings", path: self.config_dir(env).join("settings.json"), format: Format::Jsonc }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.v1()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        let models: Vec<Value> = plan
            .distinct_aliases()
            .into_iter()
            .map(|alias| {
                json!({
                    "name": alias,
                    "display_name": format!("{alias} (Switchboard)"),
                    "max_tokens": 128000,
                    "capabilities": { "tools": true, "images": false, "parallel_tool_calls": false, "prompt_cache_key": false },
                })
            })
            .collect();
        vec![vec![
            Entry::new(
                &["language_models", "openai_compatible", PROVIDER],
                json!({ "api_url": self.base_url(plan.endpoint), "available_models": models }),
            ),
            Entry::new(&["agent", "default_model"], json!({ "provider": PROVIDER, "model": plan.alias("model") })),
        ]]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let doc = docs.first().copied().flatten();
        let provider = string_at(doc, &["agent", "default_model", "provider"]).unwrap_or_else(|| PROVIDER.to_owned());
        Written {
            base_url: string_at(doc, &["language_models", "openai_compatible", &provider, "api_url"]),
            token: None,
            aliases: string_at(doc, &["agent", "default_model", "model"])
                .map(|m| ("model".to_owned(), m))
                .into_iter()
                .collect(),
        }
    }

    fn notes(&self, _docs: &[Option<&dyn Document>]) -> Vec<String> {
        vec![
            "Zed keeps API keys in the system keychain: paste the app token once in Zed's agent settings (LLM \
             Providers → Switchboard), or start Zed with SWITCHBOARD_API_KEY set to it"
                .to_owned(),
        ]
    }
}
