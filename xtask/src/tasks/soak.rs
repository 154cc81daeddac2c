//! `cargo xtask soak`: load and faults against a release gateway, loopback only, for a bounded time.
//!
//! Builds the release `switchboard-gateway` and the `soak` driver (`tests/src/bin/soak.rs`, which also serves the
//! fake upstream and says what it checks), then runs it. Not part of `cargo xtask test`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cmd;

pub fn soak(seconds: u64, clients: usize) -> Result<ExitCode> {
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "switchboard-gateway",
        "-p",
        "e2e",
        "--bin",
        "switchboard-gateway",
        "--bin",
        "soak",
    ]))?;
    let release = cmd::target_dir().join("release");
    let status = cmd::status(
        std::process::Command::new(release.join("soak"))
            .arg("--gateway")
            .arg(release.join("switchboard-gateway"))
            .args(["--seconds", &seconds.to_string(), "--clients", &clients.to_string()]),
    )?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
