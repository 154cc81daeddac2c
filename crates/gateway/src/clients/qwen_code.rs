//! Qwen Code: `~/.qwen/settings.json`.

use super::Slot;

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];
