//! `switchboard-gateway`: the gateway without a window, for servers, CI and people who live in a terminal.
//!
//! It starts from a TOML file (`--config`), takes provider keys and app tokens from environment variables, logs to
//! stderr, and stops cleanly on Ctrl-C or SIGTERM.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchboard_gateway::apps::AppRegistry;
use switchboard_gateway::secrets::EnvSecrets;
use switchboard_gateway::server::AppState;
use switchboard_gateway::{Config, RunningServer, paths, telemetry};

#[derive(Debug, Parser)]
#[command(name = "switchboard-gateway", version, about = "Switchboard's local LLM gateway, without the window")]
struct Cli {
    /// The configuration file (TOML): server, providers, aliases and apps. Without one, the gateway starts empty.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where Switchboard keeps its database [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The port to listen on, overriding the config file (0 picks a free port)
    #[arg(long, short, env = "SWITCHBOARD_PORT")]
    port: Option<u16>,
    /// The address to listen on, overriding the config file. Anything but loopback exposes your providers to the
    /// network: allow-list the host names you use with `server.allowed_hosts`.
    #[arg(long)]
    bind: Option<IpAddr>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = telemetry::init(None);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-gateway: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(port) = cli.port {
        config.server.port = port;
    }
    if let Some(bind) = cli.bind {
        config.server.bind = bind;
    }
    let data_dir = cli.data_dir.or_else(paths::default_data_dir).context("no data folder: pass --data-dir DIR")?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;

    let apps = AppRegistry::from_config(&config.apps, |var| std::env::var(var).ok())?;
    if apps.is_empty() {
        tracing::warn!(
            "no apps are configured, so every /v1 request will be refused; add an [[apps]] entry with token_env"
        );
    }
    if !config.server.bind.is_loopback() {
        tracing::warn!(bind = %config.server.bind, "listening beyond this machine: anyone who can reach it and holds an app token can spend on your providers");
    }

    // Headless keys come from the environment: `key_env` where the config names one, else SWITCHBOARD_KEY_<ID>.
    let key_vars = config.providers.iter().filter_map(|p| Some((p.id.clone(), p.key_env.clone()?))).collect();
    let state = AppState::build(&config, apps, &EnvSecrets::new(key_vars)).map_err(anyhow::Error::msg)?;
    let mut server = match RunningServer::start(&config, state).await {
        Ok(server) => server,
        Err(error) => anyhow::bail!("{error}; {}", error.fix()),
    };
    tracing::info!(data_dir = %data_dir.display(), endpoint = %server.endpoint(), "ready");

    tokio::select! {
        result = server.wait() => result.context("the gateway stopped unexpectedly"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            server.shutdown(Duration::from_secs(10)).await;
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
