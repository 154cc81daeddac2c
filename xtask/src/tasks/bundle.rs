//! `cargo xtask bundle`: an installable .deb from Tauri's bundler, with nothing downloaded.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::{cmd, deps, ui};

pub fn bundle() -> Result<ExitCode> {
    deps::ensure_system(deps::Need::Run)?;
    // tauri.conf.json has no beforeBuildCommand: the UI is built here.
    ui::ensure_built()?;
    // The Tauri CLI from ui/'s devDependencies; run in src-tauri/ so it finds tauri.conf.json there.
    let started = SystemTime::now();
    cmd::run(Command::new(ui::bin("tauri")?).current_dir(cmd::root().join("src-tauri")).args([
        "build",
        "--bundles",
        "deb",
        "--ci",
    ]))?;
    let deb = newest_deb()?;
    let size = fs::metadata(&deb)?.len();
    if fs::metadata(&deb)?.modified()? < started {
        eprintln!("warning: {} is older than this build", deb.display());
    }
    #[expect(clippy::cast_precision_loss, reason = "a size for people to read")]
    let megabytes = size as f64 / 1_000_000.0;
    println!("{} ({megabytes:.1} MB)", deb.display());
    Ok(ExitCode::SUCCESS)
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
