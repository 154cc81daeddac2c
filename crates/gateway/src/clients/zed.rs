//! Zed: `~/.config/zed/settings.json` (JSON with comments).

use super::Slot;

pub const SLOTS: &[Slot] = &[Slot { id: "model", label: "Model", default_alias: "code" }];
