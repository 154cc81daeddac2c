//! Codex CLI: `$CODEX_HOME/config.toml` (or `~/.codex/config.toml`).

use super::Slot;

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];
