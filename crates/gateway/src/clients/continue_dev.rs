//! Continue: `~/.continue/config.yaml`.

use super::Slot;

pub const SLOTS: &[Slot] = &[Slot { id: "chat", label: "Chat, edit and apply", default_alias: "code" }];
