//! Claude Code: `~/.claude/settings.json`, keys of its `env` object (Claude Code sets them in its own process).
//!
//! `ANTHROPIC_BASE_URL` is the gateway's root (Claude Code adds `/v1/messages`); `ANTHROPIC_AUTH_TOKEN` goes out
//! as `Authorization: Bearer` and, unlike `ANTHROPIC_API_KEY`, asks for no approval in an interactive session.
//! The model keys name an alias per slot, and `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC` keeps it from calling
//! anything but the gateway. Checked against 2.1.332 (see docs/CLIENTS.md).

use std::path::PathBuf;

use super::edit::{Document, Format};
use super::spec::{Client, ConfigFile, Entry, Plan, secret_at, string_at};
use super::{ClientId, Endpoint, Env, Slot, Written};

pub const SLOTS: &[Slot] = &[
    Slot { id: "main", label: "Main model", default_alias: "code" },
    Slot { id: "opus", label: "Opus-class model", default_alias: "code" },
    Slot { id: "sonnet", label: "Sonnet-class model", default_alias: "code" },
    Slot { id: "haiku", label: "Haiku-class (fast) model", default_alias: "fast" },
    Slot { id: "subagent", label: "Subagent model", default_alias: "code" },
];

/// Slot → the `env` key that names its model.
const MODEL_KEYS: &[(&str, &str)] = &[
    ("main", "ANTHROPIC_MODEL"),
    ("opus", "ANTHROPIC_DEFAULT_OPUS_MODEL"),
    ("sonnet", "ANTHROPIC_DEFAULT_SONNET_MODEL"),
    ("haiku", "ANTHROPIC_DEFAULT_HAIKU_MODEL"),
    ("subagent", "CLAUDE_CODE_SUBAGENT_MODEL"),
];

pub struct ClaudeCode;

impl Client for ClaudeCode {
    fn id(&self) -> ClientId {
        ClientId::ClaudeCode
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["claude"]
    }

    fn config_dir(&self, env: &Env) -> PathBuf {
        env.home.join(".claude")
    }

    fn files(&self, env: &Env) -> Vec<ConfigFile> {
        vec![ConfigFile { tag: "settings", path: self.config_dir(env).join("settings.json"), format: Format::Json }]
    }

    fn base_url(&self, endpoint: &Endpoint) -> String {
        endpoint.root.trim_end_matches('/').to_owned()
    }

    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>> {
        let mut entries = vec![
            Entry::new(&["env", "ANTHROPIC_BASE_URL"], self.base_url(plan.endpoint)),
            Entry::new(&["env", "ANTHROPIC_AUTH_TOKEN"], plan.token()),
        ];
        for (slot, key) in MODEL_KEYS {
            entries.push(Entry::new(&["env", key], plan.alias(slot)));
        }
        entries.push(Entry::new(&["env", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"], "1"));
        vec![entries]
    }

    fn read(&self, docs: &[Option<&dyn Document>]) -> Written {
        let doc = docs.first().copied().flatten();
        Written {
            base_url: string_at(doc, &["env", "ANTHROPIC_BASE_URL"]),
            token: secret_at(doc, &["env", "ANTHROPIC_AUTH_TOKEN"])
                .or_else(|| secret_at(doc, &["env", "ANTHROPIC_API_KEY"])),
            aliases: MODEL_KEYS
                .iter()
                .filter_map(|(slot, key)| Some(((*slot).to_owned(), string_at(doc, &["env", key])?)))
                .collect(),
        }
    }

    fn notes(&self, docs: &[Option<&dyn Document>]) -> Vec<String> {
        let doc = docs.first().copied().flatten();
        let mut notes = Vec::new();
        if string_at(doc, &["env", "ANTHROPIC_API_KEY"]).is_some() {
            notes.push(
                "settings.json also sets ANTHROPIC_API_KEY, which Claude Code sends as well; remove it so only the \
                 app token is used"
                    .to_owned(),
            );
        }
        if string_at(doc, &["apiKeyHelper"]).is_some() {
            notes.push(
                "settings.json has an apiKeyHelper, whose key Claude Code prefers; remove it to use Switchboard"
                    .to_owned(),
            );
        }
        notes
    }
}
