//! The web UI in `ui/`: npm install when the lock file changed, then a production build into `ui/dist`.

use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cmd, deps};

/// Written into `node_modules` after a successful `npm ci`; holds a hash of the lock file it installed.
const STAMP: &str = ".switchboard-lock-stamp";

pub fn dir() -> PathBuf {
    cmd::root().join("ui")
}

/// `npm` in `ui/`.
pub fn npm() -> Command {
    let mut command = Command::new("npm");
    command.current_dir(dir());
    command
}

/// Install dependencies if the lock file changed since the last install, then build `ui/dist`.
pub fn ensure_built() -> Result<()> {
    ensure_installed()?;
    // Its log goes to stderr: stdout is for what a task reports (the bench's Markdown tables).
    cmd::run(npm().args(["run", "build"]).stdout(std::io::stderr()))
}

/// `npm ci` unless `node_modules` is already installed from the current lock file.
pub fn ensure_installed() -> Result<()> {
    let ui = dir();
    if !ui.join("package.json").is_file() {
        bail!("{} is missing: the UI has not been written yet", ui.join("package.json").display());
    }
    let lock = ui.join("package-lock.json");
    let lock_bytes = fs::read(&lock).with_context(|| {
        format!("cannot read {} (`npm ci` needs a committed lock file; run `npm install` in ui/)", lock.display())
    })?;
    deps::ensure_node()?;
    let stamp = ui.join("node_modules").join(STAMP);
    let wanted = lock_hash(&lock_bytes);
    let stamp_matches = fs::read_to_string(&stamp).is_ok_and(|found| found.trim() == wanted);
    if stamp_matches || installed_after(&lock) {
        return Ok(());
    }
    cmd::run(npm().args(["ci", "--no-audit", "--no-fund"]).stdout(std::io::stderr()))?;
    fs::write(&stamp, format!("{wanted}\n")).with_context(|| format!("cannot write {}", stamp.display()))
}

/// Whether npm's own record of the last install, `node_modules/.package-lock.json`, is newer than the lock
/// file: then someone ran `npm install`/`npm ci` after the lock last changed (a checkout or pull touches it).
fn installed_after(lock: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let record = dir().join("node_modules/.package-lock.json");
    matches!((modified(&record), modified(lock)), (Some(installed), Some(locked)) if installed >= locked)
}

fn lock_hash(bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    format!("{:016x}-{}", hasher.finish(), bytes.len())
}

/// A binary that npm installed into `ui/node_modules/.bin`.
pub fn bin(name: &str) -> Result<PathBuf> {
    let path = dir().join("node_modules/.bin").join(name);
    if !cmd::is_executable(&path) {
        bail!("{} is missing; is it a devDependency in ui/package.json?", path.display());
    }
    Ok(path)
}
