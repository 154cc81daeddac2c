//! Claude Code (`claude -p`) onto an Anthropic upstream (passthrough) and onto an OpenAI one (translated, with a
//! round trip through its own `Read` tool).

use e2e::fake::FakeKind;

use super::{Agent, Task, check};

const CLAUDE_CODE: Agent = Agent {
    id: "claude-code",
    binary: "claude",
    aliases: &["main=code", "haiku=fast"],
    args: |prompt| vec!["-p".to_owned(), prompt.to_owned()],
    user_files: &[
        (
            ".claude/settings.json",
            "{\n  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n  \"includeCoAuthoredBy\": \
             false,\n  \"permissions\": {\n    \"allow\": [\"Bash(git status)\", \"Bash(cargo test:*)\"],\n    \
             \"deny\": [\"Read(./.env)\"]\n  },\n  \"env\": {\n    \"BASH_DEFAULT_TIMEOUT_MS\": \"120000\"\n  }\n}\n",
        ),
        (".claude/CLAUDE.md", "# My preferences\n\nAnswer briefly. Prefer small commits.\n"),
        (".gitconfig", "[user]\n\tname = Test User\n\temail = test@example.invalid\n"),
    ],
    leaves: &[".claude.json", ".claude/backups/", ".claude/projects/", ".claude/plugins/"],
};

#[test]
fn claude_code_onto_anthropic() {
    let outcome = check(&CLAUDE_CODE, FakeKind::Anthropic, Task::Say);
    // Passthrough: the fake sees Claude Code's own Messages request.
    let call = outcome.upstream.iter().find(|r| r.method == "POST").unwrap();
    assert!(call.path.starts_with("/v1/messages"), "{}", call.path);
    let body = call.json.as_ref().unwrap();
    assert_eq!(body["stream"], true, "Claude Code always streams");
    assert!(body["tools"].as_array().is_some_and(|tools| tools.len() > 5), "its tools reach the upstream");
}

#[test]
fn claude_code_onto_openai_reads_a_file() {
    let outcome = check(&CLAUDE_CODE, FakeKind::OpenAi, Task::ReadFile);
    let posts = outcome.upstream.iter().filter(|r| r.method == "POST");
    let paths: Vec<&str> = posts.map(|r| r.path.as_str()).collect();
    assert!(paths.iter().all(|p| *p == "/v1/chat/completions"), "translated onto chat completions: {paths:?}");
    let last = outcome.upstream.last().unwrap().json.clone().unwrap();
    let messages = last["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "tool", "the Read result goes back as a tool message");
}
