//! `cargo xtask bundle`: an installable .deb from Tauri's bundler, with nothing downloaded.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::{cmd, deps, ui};

pub fn bundle() -> Result<ExitCode> {
    let deb = build_deb()?;
    #[expect(clippy::cast_precision_loss, reason = "a size for people to read")]
    let megabytes = fs::metadata(&deb)?.len() as f64 / 1_000_000.0;
    println!("{} ({megabytes:.1} MB)", deb.display());
    Ok(ExitCode::SUCCESS)
}

/// Builds the `.deb` and writes the commit it was built from next to it (`<name>.deb.commit`), so that
/// `cargo xtask bench` can tell a current one from a stale one.
pub fn build_deb() -> Result<PathBuf> {
    deps::ensure_system(deps::Need::Run)?;
    // tauri.conf.json has no beforeBuildCommand: the UI is built here.
    ui::ensure_built()?;
    let commit = commit();
    // The Tauri CLI from ui/'s devDependencies; run in src-tauri/ so it finds tauri.conf.json there.
    let started = SystemTime::now();
    cmd::run(Command::new(ui::bin("tauri")?).current_dir(cmd::root().join("src-tauri")).args([
        "build",
        "--bundles",
        "deb",
        "--ci",
    ]))?;
    let deb = newest_deb()?;
    if fs::metadata(&deb)?.modified()? < started {
        eprintln!("warning: {} is older than this build", deb.display());
    }
    let stamp = stamp_of(&deb);
    match commit {
        Some(commit) => {
            fs::write(&stamp, format!("{commit}\n")).with_context(|| format!("cannot write {}", stamp.display()))?
        }
        // Built from uncommitted changes: it belongs to no commit.
        None => drop(fs::remove_file(&stamp)),
    }
    Ok(deb)
}

/// The newest `.deb`, when it was built from the commit checked out now and the tree has no uncommitted changes.
pub fn current_deb() -> Option<PathBuf> {
    let deb = newest_deb().ok()?;
    let built_from = fs::read_to_string(stamp_of(&deb)).ok()?;
    (Some(built_from.trim().to_owned()) == commit()).then_some(deb)
}

/// `HEAD`'s commit id, when the work tree has no uncommitted changes.
fn commit() -> Option<String> {
    let git = |args: &[&str]| cmd::output(Command::new("git").current_dir(cmd::root()).args(args)).ok();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])?;
    let head = git(&["rev-parse", "HEAD"])?;
    dirty.trim().is_empty().then(|| head.trim().to_owned())
}

fn stamp_of(deb: &Path) -> PathBuf {
    let mut name = deb.as_os_str().to_owned();
    name.push(".commit");
    PathBuf::from(name)
}

/// The most recently written `.deb` in `<target>/release/bundle/deb`.
fn newest_deb() -> Result<PathBuf> {
    let dir = cmd::target_dir().join("release/bundle/deb");
    let entries = fs::read_dir(&dir).with_context(|| format!("no bundle directory {}", dir.display()))?;
    entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .filter_map(|path| Some((fs::metadata(&path).ok()?.modified().ok()?, path)))
        .max()
        .map(|(_, path)| path)
        .with_context(|| format!("the build made no .deb in {}", dir.display()))
}
