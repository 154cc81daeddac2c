//! opencode (`opencode run`) onto an Anthropic upstream, translated from the chat completions its
//! `@ai-sdk/openai-compatible` provider speaks, with a round trip through its own `read` tool.

use e2e::fake::FakeKind;

use super::{Agent, Task, check};

const OPENCODE: Agent = Agent {
    id: "opencode",
    binary: "opencode",
    aliases: &["model=code", "small_model=fast"],
    args: |prompt| vec!["run".to_owned(), prompt.to_owned()],
    user_files: &[(
        ".config/opencode/opencode.json",
        "{\n  // my opencode settings\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"theme\": \"tokyonight\",\n  \
         \"autoupdate\": false,\n  \"share\": \"disabled\",\n  \"permission\": { \"bash\": \"ask\" },\n}\n",
    )],
    leaves: &[
        ".config/opencode/.gitignore",
        ".local/share/opencode/",
        ".local/state/opencode/",
        ".cache/opencode/",
        ".npm/_cacache/",
    ],
};

#[test]
fn opencode_onto_anthropic_reads_a_file() {
    let outcome = check(&OPENCODE, FakeKind::Anthropic, Task::ReadFile);
    // A session title from the small model, then the turns with the main one.
    let aliases: Vec<_> = outcome.rows.iter().filter_map(|row| row.alias.as_deref()).collect();
    assert!(aliases.contains(&"fast") && aliases.contains(&"code"), "{aliases:?}");
}
