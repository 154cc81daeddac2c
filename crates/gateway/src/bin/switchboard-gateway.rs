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
    /// Send SIGHUP to apply an edited file without a restart.
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

    let state = AppState::build(&config, apps, &env_secrets(&config)).map_err(anyhow::Error::msg)?;
    let state_handle = state.clone();
    let mut server = match RunningServer::start(&config, state).await {
        Ok(server) => server,
        Err(error) => anyhow::bail!("{error}; {}", error.fix()),
    };
    tracing::info!(data_dir = %data_dir.display(), endpoint = %server.endpoint(), "ready");

    let reload = reload_on_hangup(cli.config.clone(), state_handle);
    tokio::select! {
        result = server.wait() => result.context("the gateway stopped unexpectedly"),
        () = reload => unreachable!("the reload loop never ends"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            server.shutdown(Duration::from_secs(10)).await;
            Ok(())
        }
    }
}

/// On SIGHUP, reads the config file again and applies its providers, aliases, models and apps to the next request.
/// A broken file is reported and the running configuration kept.
async fn reload_on_hangup(path: Option<PathBuf>, state: AppState) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return std::future::pending().await;
        };
        while hangups.recv().await.is_some() {
            let Some(path) = &path else {
                tracing::warn!("SIGHUP: there is no --config file to reload");
                continue;
            };
            match load(path)
                .and_then(|(config, apps, secrets)| state.reload(&config, apps, &secrets).map_err(anyhow::Error::msg))
            {
                Ok(()) => tracing::info!(config = %path.display(), "configuration reloaded"),
                Err(error) => tracing::error!("SIGHUP: kept the running configuration: {error:#}"),
            }
        }
    }
    std::future::pending().await
}

/// A config file, its apps' tokens and its providers' keys, all from the file and the environment.
fn load(path: &std::path::Path) -> anyhow::Result<(Config, AppRegistry, EnvSecrets)> {
    let config = Config::from_file(path)?;
    let apps = AppRegistry::from_config(&config.apps, |var| std::env::var(var).ok())?;
    let secrets = env_secrets(&config);
    Ok((config, apps, secrets))
}

/// Headless keys come from the environment: `key_env` where the config names one, else SWITCHBOARD_KEY_<ID>.
fn env_secrets(config: &Config) -> EnvSecrets {
    EnvSecrets::new(config.providers.iter().filter_map(|p| Some((p.id.clone(), p.key_env.clone()?))).collect())
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
