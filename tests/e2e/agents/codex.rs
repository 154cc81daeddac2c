//! Codex CLI (`codex exec`) onto OpenAI's Responses API (passthrough) and onto Anthropic (translated, with a round
//! trip through its shell tool, which reads the file with `cat` in its read-only sandbox).

use e2e::fake::FakeKind;

use super::{Agent, Task, check};

/// The user's own config.toml. `[features] plugins = false` and `[analytics] enabled = false` keep Codex from
/// calling github.com and chatgpt.com at start (plugin sync, analytics); a run in the project folder needs no trust
/// entry because it is a git repository.
const USER_CONFIG: &str = "# my Codex settings\n\
model = \"gpt-5-codex\"\n\
model_reasoning_effort = \"medium\"\n\
approval_policy = \"on-request\"\n\
\n\
[features]\n\
plugins = false # no plugin sync from GitHub\n\
\n\
[analytics]\n\
enabled = false\n\
\n\
[tui]\n\
notifications = true\n";

const CODEX: Agent = Agent {
    id: "codex",
    binary: "codex",
    aliases: &["code"],
    args: |prompt| vec!["exec".to_owned(), prompt.to_owned()],
    user_files: &[(".codex/config.toml", USER_CONFIG), (".codex/AGENTS.md", "Keep answers short.\n")],
    leaves: &[
        ".codex/installation_id",
        ".codex/.sandbox_migration",
        ".codex/sessions/",
        ".codex/skills/.system/",
        ".codex/shell_snapshots/",
        ".codex/tmp/",
        ".codex/thread-writer-locks/",
        ".codex/logs_",
        ".codex/state_",
        ".codex/goals_",
        ".codex/memories_",
        ".codex/queue_",
        ".codex/thread_history_",
    ],
};

#[test]
fn codex_onto_openai_responses() {
    let outcome = check(&CODEX, FakeKind::OpenAi, Task::Say);
    // Passthrough: OpenAI's own Responses API gets Codex's request.
    let posts: Vec<_> = outcome.upstream.iter().filter(|r| r.method == "POST").collect();
    assert!(posts.iter().all(|r| r.path == "/v1/responses"), "{:?}", posts.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert_eq!(posts[0].json.as_ref().unwrap()["stream"], true);
}

#[test]
fn codex_onto_anthropic_reads_a_file() {
    let outcome = check(&CODEX, FakeKind::Anthropic, Task::ReadFile);
    let last = outcome.upstream.last().unwrap().json.clone().unwrap();
    let messages = last["messages"].as_array().unwrap();
    let results = messages.last().unwrap()["content"].to_string();
    assert!(results.contains("tool_result"), "the command's output goes back as a tool_result: {results}");
}
