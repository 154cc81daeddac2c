//! `switchboard-gateway clients | connect | disconnect`: the tools' config files written, checked and put back by
//! the real binary in a temporary HOME (HOME, CODEX_HOME and XDG_CONFIG_HOME given, PATH holding none of the
//! tools), and the written endpoint and token accepted by a real gateway.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, http_get, workspace_bin};
use serde_json::Value;

/// A gateway config as a server operator writes it: listening on every interface, one alias, one app.
fn config(port: u16) -> String {
    format!(
        r#"
[server]
port = {port}
bind = "0.0.0.0"
allowed_hosts = ["localhost"]

[[providers]]
id = "mock"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
key_env = "MOCK_KEY"

[[aliases]]
name = "general"
targets = ["mock/gpt-4o-mini"]

[[apps]]
name = "scripts"
token_env = "SCRIPTS_TOKEN"
"#
    )
}

/// The person's Codex config before Switchboard: their own model, a comment, another provider.
const CODEX_TOML: &str = "\
# my Codex settings
model = \"gpt-5\"   # for work
approval_policy = \"on-request\"

[model_providers.work]
name = \"Work proxy\"
base_url = \"https://proxy.example/v1\"
";

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "data", "empty-path", "codex-home", "xdg"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Home { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write_config(&self, port: u16) -> PathBuf {
        let path = self.path("switchboard.toml");
        std::fs::write(&path, config(port)).unwrap();
        path
    }

    /// The binary with this HOME, no tool on PATH, and `env` besides.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(workspace_bin("switchboard-gateway"))
            .args(args)
            .arg("--data-dir")
            .arg(self.path("data"))
            .env_clear()
            .env("HOME", self.path("home"))
            .env("CODEX_HOME", self.path("codex-home"))
            .env("XDG_CONFIG_HOME", self.path("xdg"))
            .env("PATH", self.path("empty-path"))
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn list(home: &Home, config: &Path) -> Vec<Value> {
    let output = home.run(&["clients", "--config", config.to_str().unwrap(), "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice::<Value>(&output.stdout).unwrap().as_array().unwrap().clone()
}

fn entry<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} is not listed"))
}

#[test]
fn connect_check_and_disconnect_codex_through_the_binary() {
    let home = Home::new();
    let config = home.write_config(7399);
    let codex_file = home.path("codex-home/config.toml");
    std::fs::write(&codex_file, CODEX_TOML).unwrap();

    let before = list(&home, &config);
    assert_eq!(before.len(), 7);
    let codex = entry(&before, "codex");
    assert_eq!(codex["state"]["kind"], "not_connected");
    assert_eq!(codex["config_dir"], true, "CODEX_HOME is where Codex lives");
    assert_eq!(codex["files"][0], codex_file.to_str().unwrap());

    let token_env = [("SCRIPTS_TOKEN", FAKE_TOKEN)];
    let cfg = config.to_str().unwrap();
    let output = home.run(&["connect", "codex", "--config", cfg, "--app", "scripts", "--alias", "general"], &token_env);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains(&format!("wrote {}", codex_file.display())), "{text}");
    assert!(text.contains("Codex CLI is not on PATH"), "{text}");
    assert!(text.contains("Next: codex exec"), "{text}");

    let written = std::fs::read_to_string(&codex_file).unwrap();
    assert!(written.starts_with("# my Codex settings\nmodel = \"general\"   # for work\n"), "{written}");
    assert!(written.contains("[model_providers.work]\nname = \"Work proxy\""), "{written}");
    assert!(written.contains("base_url = \"http://127.0.0.1:7399/v1\""), "0.0.0.0 is reached on 127.0.0.1:\n{written}");
    assert!(written.contains(&format!("experimental_bearer_token = \"{FAKE_TOKEN}\"")), "{written}");
    let records = std::fs::read_dir(home.path("data/clients")).unwrap();
    for record in records {
        let record = std::fs::read(record.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&record).contains(FAKE_TOKEN), "the token stays out of Switchboard's records");
    }

    let codex = entry(&list(&home, &config), "codex").clone();
    assert_eq!(codex["state"]["kind"], "connected");
    assert_eq!(codex["app"], "scripts");
    assert_eq!(codex["aliases"]["model"], "general");

    let again = home.run(&["connect", "codex", "--config", cfg, "--app", "scripts", "--alias", "general"], &token_env);
    assert!(stdout(&again).contains("already connected"), "{}", stdout(&again));

    // The gateway moved to another port: the tool's file now points at the old one.
    let moved = home.run(&["clients", "--config", cfg, "--port", "7400", "--json"], &[]);
    let moved: Value = serde_json::from_slice(&moved.stdout).unwrap();
    let codex = moved.as_array().unwrap().iter().find(|c| c["id"] == "codex").unwrap();
    assert_eq!(codex["state"]["kind"], "drifted", "{codex}");
    assert!(codex["state"]["reason"].as_str().unwrap().contains("7399"), "{codex}");

    let output = home.run(&["disconnect", "codex"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("put back exactly as it was"), "{}", stdout(&output));
    assert_eq!(std::fs::read_to_string(&codex_file).unwrap(), CODEX_TOML);
    assert_eq!(std::fs::read_dir(home.path("data/clients")).unwrap().count(), 0);

    let output = home.run(&["disconnect", "codex"], &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("not connected"), "{}", stderr(&output));
}

#[test]
fn connect_refuses_clearly_and_writes_nothing() {
    let home = Home::new();
    let config = home.write_config(7399);
    let cfg = config.to_str().unwrap();

    let output = home.run(&["connect", "claude-code", "--config", cfg, "--app", "scripts"], &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("SCRIPTS_TOKEN is not set"), "{}", stderr(&output));

    let token_env = [("SCRIPTS_TOKEN", FAKE_TOKEN)];
    let output = home.run(&["connect", "cursor", "--config", cfg, "--app", "scripts"], &token_env);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("claude-code, codex, gemini-cli"), "{}", stderr(&output));

    let output = home.run(&["connect", "claude-code", "--config", cfg, "--app", "nobody"], &token_env);
    assert!(stderr(&output).contains("has no app \"nobody\""), "{}", stderr(&output));

    let output =
        home.run(&["connect", "codex", "--config", cfg, "--app", "scripts", "--alias", "haiku=fast"], &token_env);
    assert!(stderr(&output).contains("no model slot \"haiku\""), "{}", stderr(&output));

    // A file the tool's user broke is never overwritten; the error names the line.
    let settings = home.path("xdg/opencode/opencode.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let broken = "{\n  \"theme\": \"gruvbox\",\n  \"model\": ,\n}\n";
    std::fs::write(&settings, broken).unwrap();
    let output = home.run(&["connect", "opencode", "--config", cfg, "--app", "scripts"], &token_env);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("line 3"), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), broken);
    let opencode = entry(&list(&home, &config), "opencode").clone();
    assert_eq!(opencode["state"]["kind"], "unreadable");
    assert_eq!(opencode["state"]["line"], 3);
    assert!(!home.path("data/clients").join("opencode.json").exists());
}

#[test]
fn the_written_endpoint_and_token_reach_the_gateway() {
    let gateway = Gateway::start(&config(7352), &[("MOCK_KEY", FAKE_KEY), ("SCRIPTS_TOKEN", FAKE_TOKEN)]).unwrap();
    let home = Home::new();
    let config = home.write_config(gateway.port);
    let output = home.run(
        &["connect", "claude-code", "--config", config.to_str().unwrap(), "--app", "scripts", "--alias", "general"],
        &[("SCRIPTS_TOKEN", FAKE_TOKEN)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(home.path("home/.claude/settings.json")).unwrap()).unwrap();
    let env = &settings["env"];
    let base = env["ANTHROPIC_BASE_URL"].as_str().unwrap();
    assert_eq!(base, gateway.root());
    assert_eq!(env["ANTHROPIC_MODEL"], "general");
    let token = env["ANTHROPIC_AUTH_TOKEN"].as_str().unwrap().to_owned();
    let url = format!("{base}/v1/models");
    let answer = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let response = reqwest::Client::new().get(&url).bearer_auth(token).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    })
    .join()
    .unwrap();
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert!(answer.1.contains("\"general\""), "{}", answer.1);
    assert!(http_get(&format!("{}/health", gateway.root())).is_some());
}
