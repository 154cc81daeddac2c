//! opencode: `~/.config/opencode/opencode.json`.

use super::Slot;

pub const SLOTS: &[Slot] = &[
    Slot { id: "model", label: "Model", default_alias: "code" },
    Slot { id: "small_model", label: "Small model (titles, summaries)", default_alias: "fast" },
];
