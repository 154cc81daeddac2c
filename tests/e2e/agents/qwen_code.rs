//! Qwen Code (`qwen "<prompt>"`, one-shot) onto an Anthropic upstream, translated from the chat completions it
//! speaks, with a round trip through its own `read_file` tool.

use e2e::fake::FakeKind;

use super::{Agent, Task, check};

const QWEN_CODE: Agent = Agent {
    id: "qwen-code",
    binary: "qwen",
    aliases: &["code"],
    args: |prompt| vec![prompt.to_owned()],
    // `$version` as Qwen Code writes it into its settings on its first start (a file without it is rewritten);
    // `privacy.usageStatisticsEnabled` off keeps it from sending usage statistics to an aliyuncs.com host.
    user_files: &[(
        ".qwen/settings.json",
        "{\n  \"ui\": {\n    \"theme\": \"GitHub\"\n  },\n  \"privacy\": {\n    \"usageStatisticsEnabled\": false\n  },\n  \
         \"$version\": 4\n}\n",
    )],
    leaves: &[".qwen/"],
};

#[test]
fn qwen_code_onto_anthropic_reads_a_file() {
    check(&QWEN_CODE, FakeKind::Anthropic, Task::ReadFile);
}
