//! Gemini CLI (`gemini -p`) through the gateway's Gemini API route onto an OpenAI-style upstream and onto an
//! Anthropic one (with a round trip through its own `read_file` tool), both translated.

use e2e::fake::FakeKind;

use super::{Agent, Task, check};

const GEMINI_CLI: Agent = Agent {
    id: "gemini-cli",
    binary: "gemini",
    aliases: &["code"],
    args: |prompt| vec!["-p".to_owned(), prompt.to_owned()],
    // Gemini CLI reads `~/.gemini/.env` (where connect puts the endpoint and token) only in a trusted folder: the
    // user trusted the project once, as its first start in a folder asks. Usage statistics off keeps it from
    // sending them to play.googleapis.com.
    user_files: &[
        (
            ".gemini/settings.json",
            "{\n  \"ui\": {\n    \"theme\": \"GitHub\"\n  },\n  \"privacy\": {\n    \"usageStatisticsEnabled\": false\n  \
             }\n}\n",
        ),
        (".gemini/trustedFolders.json", "{\n  \"{project}\": \"TRUST_FOLDER\"\n}\n"),
        (".gemini/GEMINI.md", "Answer briefly.\n"),
    ],
    leaves: &[".gemini/projects.json", ".gemini/history/", ".gemini/installation_id", ".gemini/tmp/"],
};

#[test]
fn gemini_cli_onto_openai() {
    let outcome = check(&GEMINI_CLI, FakeKind::OpenAi, Task::Say);
    let posts = outcome.upstream.iter().filter(|r| r.method == "POST");
    assert!(
        posts.clone().all(|r| r.path == "/v1/chat/completions"),
        "{:?}",
        posts.map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn gemini_cli_onto_anthropic_reads_a_file() {
    check(&GEMINI_CLI, FakeKind::Anthropic, Task::ReadFile);
}
