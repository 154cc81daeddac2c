//! `cargo xtask test`: every check and test, continuing after failures.
//! The last line printed is always `N passed, N failed`.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::results::{self, Counts};
use crate::{agents, cmd, deps, ui};

pub fn test() -> Result<ExitCode> {
    if let Err(error) = prepare() {
        eprintln!("error: {error:#}");
        println!("0 passed, 1 failed");
        return Ok(ExitCode::FAILURE);
    }

    let mut clippy = cmd::cargo();
    clippy.args(["clippy", "--workspace", "--all-targets"]);
    if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) {
        // In CI the committed Cargo.lock must already be right.
        clippy.arg("--locked");
    }
    clippy.args(["--", "-D", "warnings"]);

    // The real coding agents the e2e tests run. Without them those tests fail, each saying how to install them, and
    // this step fails too; everything else still runs.
    let install = Instant::now();
    let agents = agents::ensure_installed();
    let agents_step = Step {
        name: "agents install",
        took: install.elapsed(),
        passed: u64::from(agents.is_ok()),
        failed: u64::from(agents.is_err()),
        note: agents.as_ref().err().map(|error| format!("{error:#}")).unwrap_or_default(),
    };

    let mut cargo_test = cmd::cargo();
    cargo_test
        .args(["test", "--workspace", "--no-fail-fast"])
        .env("SWITCHBOARD_E2E", "1")
        // The e2e tests start `tauri-driver`, which `cargo install` may have put outside PATH.
        .env("PATH", deps::path_with_cargo_bin());
    match &agents {
        Ok(bin) => cargo_test.env(agents::BIN_ENV, bin),
        Err(_) => cargo_test.env_remove(agents::BIN_ENV),
    };

    // The e2e tests spawn these binaries from the target directory.
    let mut build = cmd::cargo();
    build.args(["build", "-p", "switchboard-gateway", "-p", "switchboard", "--bins"]);

    let steps = vec![
        agents_step,
        check("cargo fmt", cmd::cargo().args(["fmt", "--all", "--check"])),
        check("cargo clippy", &mut clippy),
        check("cargo build", &mut build),
        tests("cargo test", &mut cargo_test, |output| Some(results::cargo_test(output))),
        check("npm run typecheck", ui::npm().args(["run", "typecheck"])),
        check("npm run lint", ui::npm().args(["run", "lint"])),
        tests("npm test", ui::npm().arg("test"), results::vitest),
    ];

    let passed: u64 = steps.iter().map(|step| step.passed).sum();
    let failed: u64 = steps.iter().map(|step| step.failed).sum();
    print_table(&steps);
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Everything the steps rely on: system packages, WebDriver tools, a built UI (the app embeds `ui/dist`).
fn prepare() -> Result<()> {
    deps::ensure_system(deps::Need::Test)?;
    deps::ensure_tauri_driver()?;
    deps::webkit_webdriver()?;
    ui::ensure_built()
}

/// One row of the final table.
struct Step {
    name: &'static str,
    took: Duration,
    passed: u64,
    failed: u64,
    /// Test counts or why the step failed; empty for a passing check.
    note: String,
}

/// A step that passes or fails as a whole: one check.
fn check(name: &'static str, command: &mut Command) -> Step {
    let start = Instant::now();
    let (ok, note) = match cmd::status(command) {
        Ok(status) if status.success() => (true, String::new()),
        Ok(status) => (false, status.to_string()),
        Err(error) => (false, format!("{error:#}")),
    };
    Step { name, took: start.elapsed(), passed: u64::from(ok), failed: u64::from(!ok), note }
}

/// A test runner whose output `parse` counts. It fails as one more test when it exits with an error that no
/// failed test explains (a compile error, a crash), or when it ran no tests at all.
fn tests(name: &'static str, command: &mut Command, parse: fn(&str) -> Option<Counts>) -> Step {
    let start = Instant::now();
    let (counts, problem) = match cmd::tee(command) {
        Ok((status, output)) => {
            let counts = parse(&output).unwrap_or_default();
            let problem = if counts.total() == 0 {
                Some("no tests ran".to_owned())
            } else if !status.success() && counts.failed == 0 {
                Some(format!("runner failed ({status})"))
            } else {
                None
            };
            (counts, problem)
        }
        Err(error) => (Counts::default(), Some(format!("{error:#}"))),
    };
    let mut note = format!("{} passed, {} failed", counts.passed, counts.failed);
    if counts.ignored > 0 {
        note.push_str(&format!(", {} ignored (should be 0)", counts.ignored));
    }
    if let Some(problem) = &problem {
        note.push_str(&format!("; {problem}"));
    }
    Step {
        name,
        took: start.elapsed(),
        passed: counts.passed,
        failed: counts.failed + u64::from(problem.is_some()),
        note,
    }
}

fn print_table(steps: &[Step]) {
    let width = steps.iter().map(|step| step.name.len()).max().unwrap_or(0);
    println!();
    for step in steps {
        let mark = if step.failed == 0 { '✔' } else { '✘' };
        let seconds = format!("{:.1}s", step.took.as_secs_f64());
        println!("{mark} {:<width$}  {seconds:>7}  {}", step.name, step.note);
    }
}
