//! Claude Code: `~/.claude/settings.json`, its `env` object.

use super::Slot;

pub const SLOTS: &[Slot] = &[
    Slot { id: "main", label: "Main model", default_alias: "code" },
    Slot { id: "opus", label: "Opus-class model", default_alias: "code" },
    Slot { id: "sonnet", label: "Sonnet-class model", default_alias: "code" },
    Slot { id: "haiku", label: "Haiku-class (fast) model", default_alias: "fast" },
    Slot { id: "subagent", label: "Subagent model", default_alias: "code" },
];
