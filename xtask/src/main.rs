//! `cargo xtask`: Switchboard's automation as plain Rust functions.
//!
//! Every task returns `anyhow::Result<ExitCode>`; this file is the one place that turns errors into exit codes.

mod agents;
mod cmd;
mod deps;
mod tasks;
mod ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", about = "Switchboard build automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the UI and run the desktop app (debug build, UI embedded).
    Run {
        /// Run only the headless gateway (no system packages or UI needed).
        #[arg(long)]
        headless: bool,
        /// Arguments passed to the app, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Install what is missing, then run every check and test; the last line is `N passed, N failed`.
    Test,
    /// Install the pinned coding agents the e2e tests run (cached outside the repo) and print where they are.
    Agents,
    /// Measure the gateway against calling its upstream directly (release builds, oha), and the desktop app's
    /// size, start-up time and memory; prints Markdown tables.
    Bench {
        /// Seconds per load run (each scenario runs three rounds of direct, floor, gateway).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
        seconds: u64,
        /// Measure only the desktop app's footprint (for a machine that is not quiet enough for latencies).
        #[arg(long)]
        footprint_only: bool,
        /// Build the .deb (slow) when none built from this commit exists, to report its size.
        #[arg(long)]
        deb: bool,
    },
    /// Fuzz every parser of outside input (cargo-fuzz, stable toolchain) for a bounded time, keeping the corpora.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        seconds: u64,
    },
    /// Load and faults against a release gateway (loopback, bounded in time); checks timeouts, fallback, upstream
    /// cancellation, memory and the ledger, and prints a summary.
    Soak {
        /// Seconds of load.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(10..))]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// Build an installable .deb with Tauri's bundler.
    Bundle,
    /// Run the UI dev server (port 1420) and the app pointed at it, with hot reload.
    Dev {
        /// Arguments passed to the app, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Run { headless, args } => tasks::run::run(headless, &args),
        Task::Test => tasks::test::test(),
        Task::Agents => agents::agents(),
        Task::Bench { seconds, footprint_only, deb } => {
            tasks::bench::bench(&tasks::bench::Options { seconds, footprint_only, deb })
        }
        Task::Fuzz { seconds } => tasks::fuzz::fuzz(seconds),
        Task::Soak { seconds, clients } => tasks::soak::soak(seconds, clients),
        Task::Bundle => tasks::bundle::bundle(),
        Task::Dev { args } => tasks::dev::dev(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
