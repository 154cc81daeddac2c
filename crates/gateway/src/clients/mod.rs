//! Clients: the tools Switchboard connects by writing their own config files (Claude Code, Codex CLI, Gemini CLI,
//! opencode, Continue, Zed, Qwen Code), and puts back as they were on Disconnect.
//!
//! One file per client, same shape (like `providers/`): where its config lives, how to detect it, which keys it
//! owns and what to write, how to read back what is written. The window (src-tauri) and the headless binary call
//! the same `Clients`. Nothing here touches the request path.

pub mod check;
mod claude_code;
mod codex;
mod continue_dev;
mod edit;
mod engine;
mod fsio;
mod gemini_cli;
mod opencode;
mod qwen_code;
mod record;
mod spec;
mod status;
mod zed;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use record::Records;
use spec::Client;

/// A client Switchboard knows how to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientId {
    ClaudeCode,
    Codex,
    GeminiCli,
    Opencode,
    Continue,
    Zed,
    QwenCode,
}

impl ClientId {
    pub const ALL: [ClientId; 7] = [
        ClientId::ClaudeCode,
        ClientId::Codex,
        ClientId::GeminiCli,
        ClientId::Opencode,
        ClientId::Continue,
        ClientId::Zed,
        ClientId::QwenCode,
    ];

    /// The id used on the command line and over IPC: `claude-code`, `codex`, `gemini-cli`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ClientId::ClaudeCode => "claude-code",
            ClientId::Codex => "codex",
            ClientId::GeminiCli => "gemini-cli",
            ClientId::Opencode => "opencode",
            ClientId::Continue => "continue",
            ClientId::Zed => "zed",
            ClientId::QwenCode => "qwen-code",
        }
    }

    pub fn parse(id: &str) -> Option<ClientId> {
        ClientId::ALL.into_iter().find(|c| c.as_str() == id)
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            ClientId::ClaudeCode => "Claude Code",
            ClientId::Codex => "Codex CLI",
            ClientId::GeminiCli => "Gemini CLI",
            ClientId::Opencode => "opencode",
            ClientId::Continue => "Continue",
            ClientId::Zed => "Zed",
            ClientId::QwenCode => "Qwen Code",
        }
    }

    /// What it speaks to the gateway.
    pub fn protocol(self) -> ClientProtocol {
        match self {
            ClientId::ClaudeCode => ClientProtocol::Anthropic,
            ClientId::Codex => ClientProtocol::Responses,
            ClientId::GeminiCli => ClientProtocol::Gemini,
            ClientId::Opencode | ClientId::Continue | ClientId::Zed | ClientId::QwenCode => ClientProtocol::OpenAiChat,
        }
    }

    /// The model names it asks for; the first is the one every other slot defaults to.
    pub fn slots(self) -> &'static [Slot] {
        match self {
            ClientId::ClaudeCode => claude_code::SLOTS,
            ClientId::Codex => codex::SLOTS,
            ClientId::GeminiCli => gemini_cli::SLOTS,
            ClientId::Opencode => opencode::SLOTS,
            ClientId::Continue => continue_dev::SLOTS,
            ClientId::Zed => zed::SLOTS,
            ClientId::QwenCode => qwen_code::SLOTS,
        }
    }

    /// What to run to see it work once connected.
    pub fn try_it(self) -> &'static str {
        match self {
            ClientId::ClaudeCode => "claude -p \"say hello\"",
            ClientId::Codex => "codex exec \"say hello\"",
            ClientId::GeminiCli => "gemini -p \"say hello\"",
            ClientId::Opencode => "opencode run \"say hello\"",
            ClientId::Continue => "cn -p \"say hello\"",
            ClientId::Zed => "open Zed's agent panel and pick a Switchboard model",
            ClientId::QwenCode => "qwen -p \"say hello\"",
        }
    }

    /// The client's file: the one registry line per client.
    fn client(self) -> &'static dyn Client {
        match self {
            ClientId::ClaudeCode => &claude_code::ClaudeCode,
            ClientId::Codex => &codex::Codex,
            ClientId::GeminiCli => &gemini_cli::GeminiCli,
            ClientId::Opencode => &opencode::Opencode,
            ClientId::Continue => &continue_dev::Continue,
            ClientId::Zed => &zed::Zed,
            ClientId::QwenCode => &qwen_code::QwenCode,
        }
    }
}

impl std::str::FromStr for ClientId {
    type Err = ClientError;

    fn from_str(id: &str) -> Result<ClientId, ClientError> {
        ClientId::parse(id).ok_or_else(|| ClientError::Unknown(id.to_owned()))
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProtocol {
    OpenAiChat,
    Anthropic,
    Responses,
    Gemini,
}

/// A model name a client asks for (Claude Code has several: main, opus, sonnet, haiku, subagent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub id: &'static str,
    pub label: &'static str,
    pub default_alias: &'static str,
}

/// Where clients keep their configs: HOME, CODEX_HOME, XDG_CONFIG_HOME, PATH — from the process, or given by tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub home: PathBuf,
    pub codex_home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub path: Option<OsString>,
}

impl Env {
    /// The process's own HOME, CODEX_HOME, XDG_CONFIG_HOME and PATH (empty values count as unset).
    pub fn from_process() -> Result<Env, ClientError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let home = var("HOME")
            .or_else(|| var("USERPROFILE"))
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
            .ok_or(ClientError::NoHome)?;
        Ok(Env {
            home,
            codex_home: var("CODEX_HOME").map(PathBuf::from),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            path: var("PATH"),
        })
    }
}

/// The gateway a client should point at: `http://127.0.0.1:7352` (no `/v1`; each client adds what it needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub root: String,
}

impl Endpoint {
    /// The endpoint of a gateway listening on `bind:port`, as a client on this machine reaches it: an unspecified
    /// bind (0.0.0.0, ::) is reached on 127.0.0.1.
    pub fn local(bind: IpAddr, port: u16) -> Endpoint {
        let host = match bind {
            IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_owned(),
            IpAddr::V6(v6) if v6.is_unspecified() => "127.0.0.1".to_owned(),
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        Endpoint { root: format!("http://{host}:{port}") }
    }

    /// The OpenAI-style base URL (`…/v1`) that OpenAI-compatible clients and Codex take.
    pub fn v1(&self) -> String {
        format!("{}/v1", self.root.trim_end_matches('/'))
    }
}

/// What Connect writes: where the gateway is, the app's token and the alias per slot.
#[derive(Debug, Clone)]
pub struct Connection {
    pub endpoint: Endpoint,
    /// The app's token; written into the client's file, never into Switchboard's records.
    pub token: SecretString,
    /// The app's name, remembered for the page.
    pub app: String,
    /// Slot id → alias; a missing slot takes the first slot's alias, or its default when that is missing too.
    pub aliases: BTreeMap<String, String>,
}

/// Where clients keep their configs, and where Switchboard keeps what it needs to undo its edits
/// (`<data dir>/clients/`).
pub struct Clients {
    env: Env,
    records: Records,
    versions: status::Versions,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").field("env", &self.env).field("records", &self.records.dir).finish()
    }
}

impl Clients {
    pub fn new(env: Env, data_dir: &Path) -> Clients {
        Clients { env, records: Records { dir: data_dir.join("clients") }, versions: status::Versions::default() }
    }

    /// The client's state now: installed, which files, connected or drifted against `endpoint`.
    pub fn status(&self, id: ClientId, endpoint: &Endpoint) -> Status {
        let client = id.client();
        let files = client.files(&self.env).into_iter().map(|f| f.path).collect();
        let installed = status::installed(client, &self.env);
        let (record, record_error) = match self.records.load(id) {
            Ok(record) => (record, None),
            Err(error) => (None, Some(error.to_string())),
        };
        let (mut state, written) = status::state(client, &self.env, record.as_ref(), endpoint);
        if let Some(reason) = record_error
            && !matches!(state, State::Unreadable { .. })
        {
            state = State::Drifted { reason };
        }
        Status {
            id,
            installed,
            files,
            state,
            app: record.map(|r| r.app),
            aliases: written.map(|w| w.aliases).unwrap_or_default(),
        }
    }

    /// Every client's status, in `ClientId::ALL` order.
    pub fn list(&self, endpoint: &Endpoint) -> Vec<Status> {
        ClientId::ALL.into_iter().map(|id| self.status(id, endpoint)).collect()
    }

    /// Points the client at the gateway by editing only the keys Switchboard owns in its files. The config is
    /// written even when the client is not installed (a warning says so).
    pub fn connect(&self, id: ClientId, connection: &Connection) -> Result<Connected, ClientError> {
        let mut connected = engine::connect(id.client(), &self.env, &self.records, connection)?;
        if status::installed(id.client(), &self.env).binary.is_none() {
            // Plain words: the window shows warnings as text, not Markdown.
            let names = id.client().binaries().join(" or ");
            connected.warnings.insert(
                0,
                format!(
                    "{} is not on PATH (no program named {names}); the config is written for when it is",
                    id.name()
                ),
            );
        }
        Ok(connected)
    }

    /// Puts the client's files back: the original bytes when nothing else changed, else only Switchboard's keys out.
    pub fn disconnect(&self, id: ClientId) -> Result<Disconnected, ClientError> {
        engine::disconnect(id.client(), &self.records)
    }

    /// What the client's files say now (base URL, token, the alias per slot), whoever wrote them; `None` when
    /// none of its files exists.
    pub fn written(&self, id: ClientId) -> Result<Option<Written>, ClientError> {
        let loaded = engine::load(id.client().files(&self.env))?;
        if loaded.iter().all(|l| l.bytes.is_none()) {
            return Ok(None);
        }
        Ok(Some(status::read(id.client(), &loaded)))
    }

    /// `--version` of the installed binary, where it prints one (slow: spawns it; cached by path + mtime).
    pub fn version(&self, id: ClientId) -> Option<String> {
        let binary = status::installed(id.client(), &self.env).binary?;
        self.versions.get(&binary)
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: ClientId,
    pub installed: Installed,
    /// The config files Switchboard writes for it.
    pub files: Vec<PathBuf>,
    pub state: State,
    /// The app it was connected as, from Switchboard's record of the connection.
    pub app: Option<String>,
    /// Slot → alias, as the file says.
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The binary found on PATH.
    pub binary: Option<PathBuf>,
    /// Its config folder exists.
    pub config_dir: bool,
}

impl Installed {
    pub fn any(&self) -> bool {
        self.binary.is_some() || self.config_dir
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    NotConnected,
    Connected,
    /// Switchboard connected it, but the file no longer points here (edited, taken over, the port changed).
    Drifted {
        reason: String,
    },
    /// A file Switchboard cannot parse: never overwritten; the page shows where.
    Unreadable {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
}

/// What a client's files say, whoever wrote them.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub base_url: Option<String>,
    pub token: Option<SecretString>,
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub files: Vec<PathBuf>,
    /// False when it already was connected like this: nothing was written.
    pub changed: bool,
    /// What the person should know, e.g. that the binary is not on PATH.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnected {
    pub files: Vec<(PathBuf, Restored)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The original bytes are back.
    Exactly,
    /// The file did not exist before Switchboard wrote it: deleted.
    Removed,
    /// Edited since: only Switchboard's keys were taken out (or given their old values back), the rest kept.
    KeysOnly,
    /// Nothing to do (e.g. the file was deleted since).
    Untouched,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("unknown client {0:?}; the clients are claude-code, codex, gemini-cli, opencode, continue, zed, qwen-code")]
    Unknown(String),
    #[error("no home folder: set HOME")]
    NoHome,
    #[error("{}{}: {message}; fix the file (Switchboard never overwrites a file it cannot read)", path.display(), at(*line, *column))]
    Unparsable { path: PathBuf, line: Option<usize>, column: Option<usize>, message: String },
    #[error("{}: {reason}; edit it by hand or move it aside, then connect again", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("{} is read-only; make it writable (chmod u+w) and try again: nothing was changed", path.display())]
    ReadOnly { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not connected to Switchboard: there is nothing to undo", client.name())]
    NotConnected { client: ClientId },
    #[error("Switchboard's record of {} is damaged ({message}); delete {} and edit the client's file by hand", client.name(), path.display())]
    Record { client: ClientId, path: PathBuf, message: String },
}

/// " line L, column C" where known.
fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(", line {line}, column {column}"),
        (Some(line), None) => format!(", line {line}"),
        _ => String::new(),
    }
}
