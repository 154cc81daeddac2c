//! The real coding agents the e2e suite runs (`tests/e2e/agents/`): the npm packages pinned in
//! `tests/agents/package.json` and its committed lock file, installed once into a cache folder outside the repo and
//! keyed by a hash of both files, so a warm machine skips the install and a changed pin installs afresh.
//!
//! The tests find the binaries through [`BIN_ENV`]. The install is `npm install --no-save` of the committed lock
//! rather than `npm ci`: the lock holds only the platform packages the registry served where it was made (the
//! agents ship one native package per OS and CPU as optional dependencies), and `npm ci` refuses a lock that lacks
//! any of them. The pinned versions are checked after the install instead.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cmd, deps};

/// The environment variable that tells the e2e tests where the agents' binaries are (`node_modules/.bin`).
pub const BIN_ENV: &str = "SWITCHBOARD_AGENTS_BIN";
/// Written into the install folder once everything in it is installed and checked.
const STAMP: &str = ".switchboard-installed";

/// `tests/agents/`, where the pins live.
fn pins_dir() -> PathBuf {
    cmd::root().join("tests/agents")
}

/// The folder of `node_modules/.bin`, installing the pinned agents first unless the cache already holds them.
pub fn ensure_installed() -> Result<PathBuf> {
    let pins = pins_dir();
    let manifest = read(&pins.join("package.json"))?;
    let lock = read(&pins.join("package-lock.json"))?;
    let root = cache_root()?;
    let dir = root.join(key(&manifest, &lock));
    let bin = dir.join("node_modules/.bin");
    if dir.join(STAMP).is_file() {
        return Ok(bin);
    }
    deps::ensure_node()?;
    let staging = root.join(format!("staging-{}", std::process::id()));
    // A folder without the stamp is an install that stopped half-way.
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the half-made {}", dir.display()))?;
    }
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
    fs::write(staging.join("package.json"), &manifest)?;
    fs::write(staging.join("package-lock.json"), &lock)?;
    eprintln!("installing the pinned coding agents into {} (about a minute, once)", dir.display());
    cmd::run(Command::new("npm").current_dir(&staging).args([
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
    ]))?;
    check_versions(&staging, &manifest)?;
    fs::write(staging.join(STAMP), "")?;
    // Another checkout may have installed the same pins meanwhile: its install is as good, and may be in use.
    if !dir.join(STAMP).is_file() {
        fs::rename(&staging, &dir).with_context(|| format!("cannot move the install to {}", dir.display()))?;
    } else {
        let _ = fs::remove_dir_all(&staging);
    }
    remove_stale(&root);
    Ok(bin)
}

/// `cargo xtask agents`: installs them and prints the line that points the tests at them.
pub fn agents() -> Result<std::process::ExitCode> {
    let bin = ensure_installed()?;
    println!("export {BIN_ENV}={}", bin.display());
    Ok(std::process::ExitCode::SUCCESS)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `$XDG_CACHE_HOME/switchboard/agents`, else `~/.cache/switchboard/agents`.
fn cache_root() -> Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    let cache = var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|home| home.join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set: set one so the agents can be cached")?;
    Ok(cache.join("switchboard/agents"))
}

/// A name for this pair of files that stays the same across Rust versions (FNV-1a, 64 bits).
fn key(manifest: &[u8], lock: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in manifest.iter().chain([0u8].iter()).chain(lock) {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Every dependency in `package.json` is installed at exactly its pinned version.
fn check_versions(dir: &Path, manifest: &[u8]) -> Result<()> {
    let manifest: Value = serde_json::from_slice(manifest).context("tests/agents/package.json is not JSON")?;
    let pins = manifest["dependencies"].as_object().context("tests/agents/package.json has no dependencies")?;
    for (name, pin) in pins {
        let installed = dir.join("node_modules").join(name).join("package.json");
        let found: Value = serde_json::from_slice(&read(&installed)?)
            .with_context(|| format!("{} is not JSON", installed.display()))?;
        if found["version"] != *pin {
            bail!("npm installed {name} {} where tests/agents/package.json pins {pin}", found["version"]);
        }
    }
    Ok(())
}

/// Staging folders more than a day old, left by an interrupted install (~1.5 GB each). Installs of other pins are
/// kept: another checkout on this machine may be testing with them.
fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    let day = std::time::Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let old =
            entry.metadata().and_then(|meta| meta.modified()).is_ok_and(|at| at.elapsed().is_ok_and(|age| age > day));
        if old && entry.file_name().to_string_lossy().starts_with("staging-") {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_either_file_and_not_across_the_boundary() {
        assert_eq!(key(b"a", b"b"), key(b"a", b"b"));
        assert_ne!(key(b"a", b"b"), key(b"a", b"c"));
        assert_ne!(key(b"ab", b""), key(b"a", b"b"));
        assert_eq!(key(b"", b"").len(), 16);
    }
}
