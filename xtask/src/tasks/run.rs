//! `cargo xtask run [--headless] [-- ARGS...]`

use std::process::ExitCode;

use anyhow::Result;

use crate::{cmd, deps, ui};

/// Run the desktop app (debug build with the UI embedded), or with `headless` only the gateway.
/// The exit code is the app's own.
pub fn run(headless: bool, args: &[String]) -> Result<ExitCode> {
    let mut command = cmd::cargo();
    if headless {
        // The gateway crate has no GTK dependency: no system packages, no UI.
        command.args(["run", "-p", "switchboard-gateway", "--bin", "switchboard-gateway", "--"]);
    } else {
        deps::ensure_system(deps::Need::Run)?;
        ui::ensure_built()?;
        command.args(["run", "-p", "switchboard", "--"]);
    }
    let status = cmd::status(command.args(args))?;
    Ok(cmd::exit_code(status))
}
