//! What a client's state is now: installed or not, connected, drifted (its file no longer points here) or
//! unreadable; what its files say; its `--version`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::edit::{self, Document};
use super::engine::{self, Loaded};
use super::record::{Record, hash_value};
use super::spec::Client;
use super::{ClientError, Endpoint, Env, Installed, State, Written};

/// How long `--version` may take before it is given up on.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

pub fn installed(client: &dyn Client, env: &Env) -> Installed {
    Installed { binary: find_binary(client.binaries(), env), config_dir: client.config_dir(env).is_dir() }
}

/// The state of a client against `endpoint`, from its files and Switchboard's record.
pub fn state(client: &dyn Client, env: &Env, record: Option<&Record>, endpoint: &Endpoint) -> (State, Option<Written>) {
    let loaded = match engine::load(client.files(env)) {
        Ok(loaded) => loaded,
        Err(ClientError::Unparsable { path, line, column, message }) => {
            return (State::Unreadable { path, line, column, message }, None);
        }
        Err(error) => {
            return (
                State::Unreadable { path: PathBuf::new(), line: None, column: None, message: error.to_string() },
                None,
            );
        }
    };
    let written = read(client, &loaded);
    let Some(record) = record else { return (State::NotConnected, Some(written)) };
    (
        drift(client, &loaded, record, &written, endpoint).map_or(State::Connected, |reason| State::Drifted { reason }),
        Some(written),
    )
}

pub fn read(client: &dyn Client, loaded: &[Loaded]) -> Written {
    let docs: Vec<Option<&dyn Document>> = loaded.iter().map(|l| l.bytes.as_ref().map(|_| l.doc.as_ref())).collect();
    client.read(&docs)
}

/// Why a connected client no longer points here, if it does not.
fn drift(
    client: &dyn Client,
    loaded: &[Loaded],
    record: &Record,
    written: &Written,
    endpoint: &Endpoint,
) -> Option<String> {
    for frec in &record.files {
        let Some(file) = loaded.iter().find(|l| l.file.tag == frec.tag) else { continue };
        if file.bytes.is_none() {
            return Some(format!("{} was deleted", file.file.path.display()));
        }
    }
    let expected = client.base_url(endpoint);
    match &written.base_url {
        Some(url) if url.trim_end_matches('/') == expected.trim_end_matches('/') => {}
        Some(url) => return Some(format!("it points at {url}, not at Switchboard's {expected}")),
        None => return Some("its file no longer names Switchboard's endpoint".to_owned()),
    }
    for frec in &record.files {
        let Some(file) = loaded.iter().find(|l| l.file.tag == frec.tag) else { continue };
        for owned in &frec.owned {
            let now = file.doc.get(&owned.path).map(|v| hash_value(&v));
            if now.as_deref() != Some(owned.written.as_str()) {
                return Some(format!(
                    "`{}` in {} was changed since Switchboard wrote it",
                    edit::display(&owned.path),
                    file.file.path.display()
                ));
            }
        }
    }
    None
}

fn find_binary(names: &[&str], env: &Env) -> Option<PathBuf> {
    let path = env.path.as_ref()?;
    for dir in std::env::split_paths(path) {
        for name in names {
            for candidate in candidates(&dir, name) {
                if is_executable(&candidate) {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    if cfg!(windows) {
        ["exe", "cmd", "bat", "ps1"].iter().map(|ext| dir.join(format!("{name}.{ext}"))).collect()
    } else {
        vec![dir.join(name)]
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `--version` outputs, by binary path and modification time (a reinstall is seen).
#[derive(Debug, Default)]
pub struct Versions(Mutex<HashMap<BinaryKey, Option<String>>>);

/// A binary by path and modification time.
type BinaryKey = (PathBuf, Option<SystemTime>);

impl Versions {
    pub fn get(&self, binary: &Path) -> Option<String> {
        let key = (binary.to_path_buf(), std::fs::metadata(binary).and_then(|m| m.modified()).ok());
        if let Some(known) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return known.clone();
        }
        let version = run_version(binary);
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, version.clone());
        version
    }
}

fn run_version(binary: &Path) -> Option<String> {
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}
