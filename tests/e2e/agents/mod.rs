//! The real coding agents as black-box clients: the npm packages pinned in `tests/agents/package.json` (installed
//! outside the repo by `cargo xtask test`, found through `SWITCHBOARD_AGENTS_BIN`), each run in its print/exec mode
//! against the headless gateway over a fake upstream.
//!
//! Every run has its own world: a throw-away HOME holding config files of the user's own, a git project folder
//! beside it, a fake upstream and the gateway. `switchboard-gateway connect` points the client at the gateway; the
//! client then runs with only HOME, PATH and TERM set, so whatever it needs must come from the files in HOME. After
//! the run the ledger must name the client's app, alias and target, and after `disconnect` every file HOME held
//! before must be back byte for byte, with nothing of Switchboard's left: the files the client made itself are
//! listed per client, anything else fails the test.
//!
//! The HOMEs live under the target folder, not the system temp folder: Codex will not set up its sandbox helper
//! under the temp folder, and its shell tool then fails.

mod claude_code;
mod codex;
mod gemini_cli;
mod opencode;
mod qwen_code;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use e2e::fake::{FakeKind, FakeUpstream, RecordedRequest};
use e2e::{FAKE_KEY, Gateway, bin_dir, wait_for, workspace_bin};
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

/// Where `cargo xtask test` (or `cargo xtask agents`) tells the tests the agents' binaries are.
const BIN_ENV: &str = "SWITCHBOARD_AGENTS_BIN";
/// What the file a `ReadFile` task reads says; the client can only know it by reading the file.
const MARKER: &str = "switchboard-marker-5150";
/// A cold node start of a large agent on two busy cores takes seconds; a run that is still going after this is
/// stuck (waiting for input, or retrying forever).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);
/// The gateway's aliases: a client's main slots ask for `code`, its small or fast slots for `fast`.
const ALIASES: [&str; 2] = ["code", "fast"];

/// One client: how `connect` names it, how it runs, and what of HOME is its own.
pub struct Agent {
    /// `switchboard-gateway connect <id>`; also the name of its app in the gateway.
    pub id: &'static str,
    /// Its binary in `node_modules/.bin`.
    pub binary: &'static str,
    /// `connect --alias …` arguments: slot=alias, or one alias for every slot.
    pub aliases: &'static [&'static str],
    /// The command line of its print/exec mode for a prompt.
    pub args: fn(prompt: &str) -> Vec<String>,
    /// Files of the user's own in HOME before anything runs: (path under HOME, contents). `{project}` in the contents
    /// is replaced by the project folder.
    pub user_files: &'static [(&'static str, &'static str)],
    /// What the client itself writes under HOME while it runs (a path, or a folder ending in `/`).
    pub leaves: &'static [&'static str],
}

/// What the fake upstream is asked to do, by the model name the gateway's aliases target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Answer with text: `Hello from <kind> <model>: <last user text>`.
    Say,
    /// Call the client's own file-reading tool for a file in the project, then echo what it read.
    ReadFile,
}

impl Task {
    fn model(self) -> &'static str {
        match self {
            Task::Say => "chat-model",
            Task::ReadFile => "read-file",
        }
    }
}

/// What a run left to look at.
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
    /// What the fake upstream received, oldest first.
    pub upstream: Vec<RecordedRequest>,
    /// The ledger's rows, newest first.
    pub rows: Vec<queries::RequestRow>,
}

/// Runs `agent` against a gateway over a `kind` fake doing `task`, and checks what every run must show: the
/// fake's answer in the output, the ledger rows, and HOME put back by `disconnect`.
pub fn check(agent: &Agent, kind: FakeKind, task: Task) -> Outcome {
    let world = World::new(agent, kind, task);
    let outcome = world.run();
    let model = task.model();
    let answer = format!("Hello from {} {model}: ", kind.name());
    let shown = format!("stdout:\n{}\nstderr:\n{}", outcome.stdout, outcome.stderr);
    assert!(outcome.stdout.contains(&answer), "{} did not print the fake's answer {answer:?}\n{shown}", agent.id);
    if task == Task::ReadFile {
        assert!(outcome.stdout.contains(MARKER), "{} did not read the file back to the fake\n{shown}", agent.id);
        let calls = outcome.upstream.iter().filter(|r| r.method == "POST").count();
        assert!(calls >= 2, "a tool round trip takes two calls, the fake saw {calls}\n{shown}");
    }
    assert!(!outcome.rows.is_empty(), "the ledger has no row for the run\n{shown}");
    for row in &outcome.rows {
        let alias = row.alias.as_deref().unwrap_or_default();
        assert_eq!(row.app_name, agent.id, "{row:?}");
        assert!(ALIASES.contains(&alias), "the client asked for an alias it was not given: {row:?}");
        assert_eq!((row.provider_id.as_deref(), row.model.as_deref()), (Some("up"), Some(model)), "{row:?}");
        assert_eq!(row.status, 200, "{row:?}\n{shown}");
    }
    assert!(outcome.rows.iter().any(|row| row.alias.as_deref() == Some("code")), "{:?}", outcome.rows);
    eprintln!("agents: {} onto {} ({task:?}) took {:.1} s", agent.id, kind.name(), outcome.took.as_secs_f64());
    outcome
}

/// The folder of the agents' binaries, or a failure that says how to install them.
fn agents_bin(binary: &str) -> PathBuf {
    let fix = "run `cargo xtask agents` and export the line it prints (`cargo xtask test` does both)";
    let dir = std::env::var_os(BIN_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{BIN_ENV} is not set, so the real coding agents cannot be found: {fix}"));
    assert!(dir.join(binary).is_file(), "{} is missing: {fix}", dir.join(binary).display());
    dir
}

/// One run's folders, fake upstream and gateway.
struct World<'a> {
    agent: &'a Agent,
    task: Task,
    bin: PathBuf,
    /// Holds `home/`, `project/` and the client's output files.
    root: tempfile::TempDir,
    token: String,
    fake: FakeUpstream,
    gateway: Gateway,
    /// Serves the fake; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl<'a> World<'a> {
    fn new(agent: &'a Agent, kind: FakeKind, task: Task) -> World<'a> {
        let bin = agents_bin(agent.binary);
        let runs = bin_dir().join("agents-runs");
        std::fs::create_dir_all(&runs).unwrap();
        let root = tempfile::Builder::new().prefix(agent.id).tempdir_in(&runs).unwrap();
        let (home, project) = (root.path().join("home"), root.path().join("project"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        let git = Command::new("git").args(["init", "--quiet"]).current_dir(&project).status().unwrap();
        assert!(git.success(), "git init failed");
        std::fs::write(project.join("notes.txt"), format!("The marker is {MARKER}.\n")).unwrap();
        for (path, contents) in agent.user_files {
            let path = home.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents.replace("{project}", &project.display().to_string())).unwrap();
        }

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let fake = runtime.block_on(FakeUpstream::start(kind));
        let token = format!("sb-test-token-{}-0000000000000000", agent.id);
        let aliases: String = ALIASES
            .iter()
            .map(|alias| format!("[[aliases]]\nname = \"{alias}\"\ntargets = [\"up/{}\"]\n", task.model()))
            .collect();
        let config = format!(
            "[[providers]]\nid = \"up\"\nkind = \"{}\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n{aliases}\
             [[apps]]\nname = \"{}\"\ntoken_env = \"AGENT_TOKEN\"\n\
             # The client's bodies, to say what it sends (printed after the run).\n[logging]\nbodies = true\n",
            kind.name(),
            fake.api_base(),
            agent.id,
        );
        let gateway = Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("AGENT_TOKEN", &token)]).unwrap();
        World { agent, task, bin, root, token, fake, gateway, _runtime: runtime }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn project(&self) -> PathBuf {
        self.root.path().join("project")
    }

    fn run(mut self) -> Outcome {
        let before = snapshot(&self.home());
        let connected = self.switchboard("connect");
        let written: Vec<PathBuf> =
            connected.lines().filter_map(|line| line.trim().strip_prefix("wrote ")).map(PathBuf::from).collect();
        assert!(!written.is_empty(), "connect wrote nothing:\n{connected}");

        let prompt = match self.task {
            Task::Say => "Say hello to Switchboard.".to_owned(),
            Task::ReadFile => format!("What is the marker in {}", self.project().join("notes.txt").display()),
        };
        let (status, stdout, stderr, took) = self.client(&prompt);
        let shown = format!("{} exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}", self.agent.id);
        assert!(status.success(), "{shown}\ngateway:\n{}", self.gateway.stderr());

        // A clean stop writes every queued ledger record before the gateway exits.
        let stopped = self.gateway.terminate(Duration::from_secs(15)).unwrap();
        assert!(stopped.success(), "{}", self.gateway.stderr());
        let store = Store::open(&self.gateway.data().join(DATABASE_FILE)).unwrap();
        let page = queries::Page { limit: 100, before_id: None };
        let rows = queries::requests(&store, &queries::RequestFilter::default(), page).unwrap();
        for row in rows.iter().rev() {
            let bodies = queries::request_detail(&store, row.id).unwrap().and_then(|detail| detail.bodies);
            eprintln!("agents: {} sent {}", self.agent.id, sent(row, bodies.as_ref()));
        }

        self.switchboard("disconnect");
        self.check_home(&before, &written);
        Outcome { stdout, stderr, took, upstream: self.fake.requests(), rows }
    }

    /// `switchboard-gateway connect|disconnect <client>`, with the HOME of this run and nothing else of the test
    /// process's environment; returns what it printed.
    fn switchboard(&self, command: &str) -> String {
        let home = self.home();
        let mut switchboard = Command::new(workspace_bin("switchboard-gateway"));
        switchboard.arg(command).arg(self.agent.id).arg("--data-dir").arg(self.gateway.data());
        if command == "connect" {
            switchboard.arg("--config").arg(self.gateway.data_dir.path().join("switchboard.toml")).args([
                "--app",
                self.agent.id,
                "--port",
                &self.gateway.port.to_string(),
            ]);
            for alias in self.agent.aliases {
                switchboard.args(["--alias", alias]);
            }
        }
        let output = switchboard
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("CODEX_HOME", home.join(".codex"))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AGENT_TOKEN", &self.token)
            .output()
            .unwrap();
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "switchboard-gateway {command} {} failed:\n{printed}", self.agent.id);
        printed
    }

    /// Runs the client in the project folder with only HOME, PATH and TERM set, until it exits.
    fn client(&self, prompt: &str) -> (ExitStatus, String, String, Duration) {
        let out = self.root.path().join("stdout.txt");
        let err = self.root.path().join("stderr.txt");
        let mut path = vec![self.bin.clone()];
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let started = Instant::now();
        let child = Command::new(self.bin.join(self.agent.binary))
            .args((self.agent.args)(prompt))
            .current_dir(self.project())
            .env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("TERM", "dumb")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            // Its own process group, so everything it starts can be killed with it.
            .process_group(0)
            .spawn()
            .unwrap();
        let mut child = Group(child);
        let exited = wait_for(&format!("{} to exit", self.agent.id), RUN_TIMEOUT, || child.0.try_wait().unwrap());
        let took = started.elapsed();
        let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
        let status = exited.unwrap_or_else(|error| {
            panic!("{error}\nstdout:\n{}\nstderr:\n{}\ngateway:\n{}", read(&out), read(&err), self.gateway.stderr())
        });
        (status, read(&out), read(&err), took)
    }

    /// After `disconnect`: the user's files exactly as before, the files `connect` wrote back or gone, no token
    /// anywhere, and nothing new but what the client itself keeps.
    fn check_home(&self, before: &BTreeMap<PathBuf, Vec<u8>>, written: &[PathBuf]) {
        let home = self.home();
        let after = snapshot(&home);
        let mut problems = Vec::new();
        for (path, bytes) in before {
            match after.get(path) {
                None => problems.push(format!("{} was removed", path.display())),
                Some(now) if now != bytes => problems.push(format!(
                    "{} changed:\n--- before\n{}\n--- after\n{}",
                    path.display(),
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(now)
                )),
                Some(_) => {}
            }
        }
        for path in written {
            let relative = path.strip_prefix(&home).unwrap_or(path);
            if !before.contains_key(relative) && after.contains_key(relative) {
                problems.push(format!("{} was written by connect and is still there", relative.display()));
            }
        }
        for (path, bytes) in &after {
            let name = path.to_string_lossy();
            if !before.contains_key(path) && !self.agent.leaves.iter().any(|leaf| name.starts_with(leaf)) {
                problems.push(format!("{name} is new and not on {}'s list of its own files", self.agent.id));
            }
            if contains(bytes, self.token.as_bytes()) || contains(bytes, FAKE_KEY.as_bytes()) {
                problems.push(format!("{name} holds the app token or the provider key"));
            }
        }
        assert!(problems.is_empty(), "HOME after disconnect:\n{}", problems.join("\n"));
    }
}

/// What a client's request looked like, from its ledger row and logged body: the protocol, whether it streamed,
/// the body's size, its top-level fields and how many tools it offered (what `docs/CLIENTS.md` records).
fn sent(row: &queries::RequestRow, bodies: Option<&switchboard_gateway::ledger::Bodies>) -> String {
    let stream = if row.stream { "streamed" } else { "whole" };
    let Some(text) = bodies.and_then(|b| b.request.as_deref()) else {
        return format!("{} {stream}, no body logged", row.client_protocol);
    };
    let cut = if bodies.is_some_and(|b| b.truncated) { " (cut at the log limit)" } else { "" };
    let body: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let fields: Vec<&str> = body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    let tools = body["tools"].as_array().map_or(0, |tools| {
        // Gemini groups function declarations in one tools entry.
        tools.iter().map(|t| t["functionDeclarations"].as_array().map_or(1, Vec::len)).sum()
    });
    format!(
        "{} {stream}, {:.1} KB{cut}, {tools} tools, fields: {}",
        row.client_protocol,
        text.len() as f64 / 1024.0,
        fields.join(" ")
    )
}

/// A client and every process it started (the npm wrappers start the real binary; some leave helpers behind):
/// its whole process group is killed when this drops, after it exited or when a test fails. Killed with SIGKILL,
/// because opencode, busy in a tool loop, ignores SIGTERM.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.0.wait();
    }
}

/// Every regular file under `dir`, by its path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                // A file can vanish between the listing and the read (a client's lock); it is not the user's then.
                if let Ok(bytes) = std::fs::read(&path) {
                    files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
                }
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
