//! Gemini CLI: two files. `~/.gemini/.env` holds `GOOGLE_GEMINI_BASE_URL` (the gateway's root; it adds
//! `/v1beta/models/…`) and `GEMINI_API_KEY` (sent as `x-goog-api-key`): there is no settings key for a base URL.
//! `~/.gemini/settings.json` selects the API-key auth (`security.auth.selectedType`; with only a base URL set it
//! would pick its "gateway" auth, refused in non-interactive runs) and the model (`model.name`).
//!
//! Gemini CLI reads `~/.gemini/.env` only in folders the person trusts (it asks the first time it runs in one).
//! Checked against 0.61.0 (see docs/CLIENTS.md).

use std::path::PathBuf;

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, secret_at, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "general" }];

pub struct GeminiCli;

impl Client for GeminiCli {
    fn id(&self) -> ClientId {
        ClientId::GeminiCli
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["gemini"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.home.join(".gemini")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        let dir = self.config_dir(env);
        vec![
            ConfigFile { tag: "env", path: dir.join(".env"), format: Format::Dotenv },
            ConfigFile { tag: "settings", path: dir.join("settings.json"), format: Format::Jsonc },
        ]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.root.trim_end_matches('/').to_owned()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        vec![
            vec![
                Entry::new(&["GOOGLE_GEMINI_BASE_URL"], self.base_url(plan.endpoint)),
                Entry::new(&["GEMINI_API_KEY"], plan.token()),
            ],
            vec![
                Entry::new(&["security", "auth", "selectedType"], "gemini-api-key"),
                Entry::new(&["model", "name"], plan.alias("model")),
            ],
        ]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let env = docs.first().copied().flatten();
        let settings = docs.get(1).copied().flatten();
        let model = string_at(env, &["GEMINI_MODEL"]).or_else(|| string_at(settings, &["model", "name"]));
        Written {
            base_url: string_at(env, &["GOOGLE_GEMINI_BASE_URL"]),
            token: secret_at(env, &["GEMINI_API_KEY"]),
            aliases: model.map(|m| ("model".to_owned(), m)).into_iter().collect(),
        }
    }

    fn notes(&self, _docs: &[Option<&dyn Document>]) -> Vec<String> {
        vec![
            "Gemini CLI reads ~/.gemini/.env only in folders you trust: accept its trust prompt once per project \
             (in scripts, set GEMINI_CLI_TRUST_WORKSPACE=true)"
                .to_owned(),
        ]
    }
}
