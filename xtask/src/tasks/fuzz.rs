//! `cargo xtask fuzz`: each cargo-fuzz target in `fuzz/` for a bounded time, on the stable toolchain (no sanitizer).
//!
//! The corpora in `fuzz/corpus/<target>/` grow with each run and are kept (only the `seed-*` files are in git); a
//! crash stops the task with the reproducer's path and the command that replays it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::{cmd, deps};

/// Every target in `fuzz/Cargo.toml`, in the order they run.
pub const TARGETS: [&str; 4] = ["sse_stream", "request_decode", "response_decode", "round_trip"];

pub fn fuzz(seconds: u64) -> Result<ExitCode> {
    ensure_cargo_fuzz()?;
    let dir = cmd::root().join("fuzz");
    let mut build = fuzz_command(&dir);
    build.args(["build", "-s", "none"]);
    cmd::run(&mut build)?;
    let mut crashed = Vec::new();
    for target in TARGETS {
        let artifacts = dir.join("artifacts").join(target);
        let before = files(&artifacts);
        let mut run = fuzz_command(&dir);
        run.args(["run", "-s", "none", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-timeout=10")
            .arg("-print_final_stats=1");
        let status = cmd::status(&mut run)?;
        let found: Vec<PathBuf> = files(&artifacts).difference(&before).cloned().collect();
        if !status.success() || !found.is_empty() {
            crashed.push((target, found));
        }
    }
    if crashed.is_empty() {
        println!("fuzz: {} targets ran {seconds} s each without a crash", TARGETS.len());
        return Ok(ExitCode::SUCCESS);
    }
    for (target, found) in &crashed {
        eprintln!("fuzz: {target} crashed");
        for path in found {
            eprintln!("  reproduce: (cd fuzz && cargo fuzz run -s none {target} {})", path.display());
        }
    }
    Ok(ExitCode::FAILURE)
}

/// `cargo fuzz` in `fuzz/`, finding a `cargo install`ed cargo-fuzz.
fn fuzz_command(dir: &Path) -> std::process::Command {
    let mut command = cmd::cargo();
    command.current_dir(dir).env("PATH", deps::path_with_cargo_bin()).arg("fuzz");
    command
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = || {
        cmd::which("cargo-fuzz")
            .or_else(|| deps::cargo_bin_dir().map(|bin| bin.join("cargo-fuzz")).filter(|path| cmd::is_executable(path)))
    };
    if installed().is_some() {
        return Ok(());
    }
    cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    installed().map(drop).context("`cargo install cargo-fuzz` succeeded but cargo-fuzz is not in cargo's bin directory")
}

/// The files in `dir` (none when it does not exist yet).
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default()
}
