//! `switchboard-gateway`: the gateway without a window, for servers, CI and people who live in a terminal.
//!
//! It starts from a TOML file (`--config`), takes provider keys and app tokens from environment variables, logs to
//! stderr, and stops cleanly on Ctrl-C or SIGTERM. `switchboard-gateway usage` prints what the ledger recorded;
//! `clients`, `connect` and `disconnect` point the person's tools at the gateway (the `clients` room does the work).
//! `switchboard-gateway prices [update]` shows where prices come from and updates them from a public catalog.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard_gateway::apps::AppRegistry;
use switchboard_gateway::catalog;
use switchboard_gateway::ledger::prices::Prices;
use switchboard_gateway::ledger::{self, Ledger, WriterConfig, report};
use switchboard_gateway::metrics::{Metrics, MetricsServer, Scrapers};
use switchboard_gateway::postgres::Postgres;
use switchboard_gateway::secrets::EnvSecrets;
use switchboard_gateway::server::AppState;
use switchboard_gateway::store::{self, Store};
use switchboard_gateway::{Config, RunningServer, paths, telemetry};

/// The request path allocates many small buffers across threads; mimalloc serves that with less contention than
/// glibc's allocator (measured with `cargo xtask bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod connect;

use connect::{ClientsArgs, ConnectArgs, DisconnectArgs};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-gateway",
    version,
    about = "Switchboard's local LLM gateway, without the window",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Without a command, the gateway starts and serves until Ctrl-C or SIGTERM.
    #[command(subcommand)]
    command: Option<Command>,
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

#[derive(Debug, Subcommand)]
enum Command {
    /// Print requests, tokens and cost from the ledger, by app, alias and model
    Usage(UsageArgs),
    /// List the tools Switchboard can connect: installed, connected, their config files
    Clients(ClientsArgs),
    /// Point a tool (claude-code, codex, gemini-cli, opencode, continue, zed, qwen-code) at this gateway by
    /// editing its own config file
    Connect(ConnectArgs),
    /// Put a connected tool's config file back as it was
    Disconnect(DisconnectArgs),
    /// Show where prices come from (`--model provider/model` for one), or `update` them from a public catalog
    Prices(PricesArgs),
}

#[derive(Debug, clap::Args)]
struct PricesArgs {
    #[command(subcommand)]
    action: Option<PricesAction>,
    /// Where Switchboard keeps its database [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Say where this model's price comes from: `provider/model`, the provider a preset id (openai, openrouter, …)
    #[arg(long, value_name = "PROVIDER/MODEL")]
    model: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PricesAction {
    /// Read a catalog in models.dev's api.json shape and store the prices that changed, in effect from now. A
    /// running gateway applies them after SIGHUP or a restart.
    Update {
        /// The catalog to read: a URL or a file [default: https://models.dev/api.json]
        #[arg(long, value_name = "URL|FILE")]
        from: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct UsageArgs {
    /// The gateway's configuration file: with `[store] url = "postgres://…"`, usage is read from that shared
    /// database (every replica's requests); otherwise from the data folder's
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where Switchboard keeps its database [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// How far back to look: 30m, 24h, 7d, 2w, … or all
    #[arg(long, value_name = "SPAN", default_value = "24h", value_parser = |s: &str| report::parse_since(s).map(Span))]
    since: Span,
    /// Print JSON instead of tables
    #[arg(long)]
    json: bool,
}

/// A `--since` span in ms; `None` for all time.
#[derive(Debug, Clone, Copy)]
struct Span(Option<i64>);

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let command = cli.command.take();
    // The gateway installs its own logging once it has read `[telemetry]`; the other commands log to stderr.
    let _log = command.is_some().then(|| telemetry::init(None));
    let result = match command {
        Some(Command::Usage(args)) => usage(&args),
        Some(Command::Clients(args)) => connect::list(&args),
        Some(Command::Connect(args)) => connect::connect(&args),
        Some(Command::Disconnect(args)) => connect::disconnect(&args),
        Some(Command::Prices(args)) => prices(&args),
        None => run(cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchboard-gateway: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime `SWITCHBOARD_THREADS` asks for: one thread unless told otherwise (see `switchboard_gateway::runtime`).
/// With `[telemetry] otlp_endpoint`, the spans still queued are sent once the runtime has stopped (every request's
/// span has ended by then); the export is set at start, a SIGHUP does not change it.
fn run(cli: Cli) -> anyhow::Result<()> {
    let config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let exporter = telemetry::Exporter::from_config(&config.telemetry, |var| std::env::var(var).ok())?;
    telemetry::init_with_export(exporter.as_ref())?;
    if let Some(endpoint) = &config.telemetry.otlp_endpoint {
        tracing::info!(collector = %telemetry::traces_url(endpoint), "exporting spans");
    }
    let runtime = switchboard_gateway::runtime::from_env()?;
    let result = runtime.block_on(serve(cli, config));
    drop(runtime);
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    result
}

async fn serve(cli: Cli, mut config: Config) -> anyhow::Result<()> {
    if let Some(port) = cli.port {
        config.server.port = port;
    }
    if let Some(bind) = cli.bind {
        config.server.bind = bind;
    }
    let data_dir = cli.data_dir.or_else(paths::default_data_dir).context("no data folder: pass --data-dir DIR")?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;

    let mut apps = AppRegistry::from_config(&config.apps, |var| std::env::var(var).ok())?;
    if apps.is_empty() {
        tracing::warn!(
            "no apps are configured, so every /v1 request will be refused; add an [[apps]] entry with token_env"
        );
    }
    if !config.server.bind.is_loopback() {
        tracing::warn!(bind = %config.server.bind, "listening beyond this machine: anyone who can reach it and holds an app token can spend on your providers");
    }

    let scrapers = Scrapers::from_config(&config.metrics, |var| std::env::var(var).ok()).map_err(anyhow::Error::msg)?;

    // The ledger: every request's record, written by one task off the request path, to the data folder's SQLite
    // file or to the PostgreSQL every replica shares. Prices and the model catalog stay in the data folder.
    let db = data_dir.join(ledger::DATABASE_FILE);
    let store = Store::open(&db)?;
    let shared = match config.store.is_postgres() {
        true => Some(Postgres::connect(&config.store, |var| std::env::var(var).ok()).await?),
        false => None,
    };
    let ledger = match &shared {
        Some(pg) => {
            let ledger =
                Ledger::start_postgres(pg.clone(), Prices::load(&store)?, &config.store, WriterConfig::default())
                    .await?;
            if let Err(error) = register(pg, &config, &mut apps, &ledger).await {
                ledger.shutdown().await;
                return Err(error);
            }
            ledger
        }
        None => {
            let ledger = Ledger::start(&db, Prices::load(&store)?)?;
            ledger.reload_budgets(&store)?;
            ledger
        }
    };
    // `/metrics` counts the ledger's rows as the writer writes them; off unless `[metrics] enabled = true`.
    let metrics = config.metrics.enabled.then(|| Metrics::new(&config));
    if let Some(metrics) = &metrics {
        ledger.count_into(metrics.clone());
    }

    let state =
        AppState::build(&config, apps, &env_secrets(&config), Some(ledger.clone())).map_err(anyhow::Error::msg)?;
    state.set_model_catalog(catalog::imported_capabilities(&store)?);
    let state_handle = state.clone();
    // Before the API, so `/metrics` listens once `/health` answers.
    let metrics_server = match &metrics {
        Some(metrics) => {
            let (bind, port) = (config.server.bind, config.metrics.port);
            match MetricsServer::start(bind, port, metrics.clone(), scrapers).await {
                Ok(listening) => Some(listening),
                Err(error) => {
                    ledger.shutdown().await;
                    anyhow::bail!("{error} (metrics.port); choose another metrics.port in the config file");
                }
            }
        }
        None => None,
    };
    let mut server = match RunningServer::start(&config, state).await {
        Ok(server) => server,
        Err(error) => {
            if let Some(metrics_server) = metrics_server {
                metrics_server.shutdown(Duration::from_secs(1)).await;
            }
            ledger.shutdown().await;
            anyhow::bail!("{error}; {}", error.fix());
        }
    };
    let database = shared.as_ref().map_or_else(|| db.display().to_string(), |pg| format!("postgres {}", pg.target()));
    tracing::info!(%database, endpoint = %server.endpoint(), "ready");

    let reload = reload_on_hangup(cli.config.clone(), state_handle, ledger.clone(), store, metrics, shared);
    let result = tokio::select! {
        result = server.wait() => result.context("the gateway stopped unexpectedly"),
        () = reload => unreachable!("the reload loop never ends"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            server.shutdown(Duration::from_secs(10)).await;
            Ok(())
        }
    };
    if let Some(metrics_server) = metrics_server {
        metrics_server.shutdown(Duration::from_secs(2)).await;
    }
    // A clean stop writes every queued record.
    ledger.shutdown().await;
    result
}

/// Registers `config`'s apps in the shared database, gives `apps` their ids there, and hands the ledger their
/// budgets and the overall one (a replica on PostgreSQL takes its budgets from the configuration it runs).
async fn register(pg: &Postgres, config: &Config, apps: &mut AppRegistry, ledger: &Ledger) -> anyhow::Result<()> {
    let registered = pg.register_apps(config, &apps.digests()).await?;
    apps.assign_ids(&registered.ids);
    ledger.set_named_budgets(registered.budgets, registered.names, config.budget);
    Ok(())
}

/// Prints the ledger's totals. The database is opened like the gateway opens it (a second connection is fine while
/// the gateway runs), but never created here; with `--config` naming PostgreSQL, every replica's rows are summed.
fn usage(args: &UsageArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Some(Config::from_file(path)?),
        None => None,
    };
    let report = match config.filter(|c| c.store.is_postgres()) {
        Some(config) => switchboard_gateway::runtime::from_env()?.block_on(async {
            let pg = Postgres::connect(&config.store, |var| std::env::var(var).ok()).await?;
            anyhow::Ok(pg.usage_report(args.since.0, store::now_ms()).await?)
        })?,
        None => {
            let data_dir = args
                .data_dir
                .clone()
                .or_else(paths::default_data_dir)
                .context("no data folder: pass --data-dir DIR")?;
            let path = data_dir.join(ledger::DATABASE_FILE);
            if !path.is_file() {
                anyhow::bail!("no usage yet: {} does not exist; start the gateway first", path.display());
            }
            usage_report(&path, args.since.0)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

fn usage_report(path: &Path, since: Option<i64>) -> anyhow::Result<report::UsageReport> {
    let store = Store::open(path)?;
    Ok(report::UsageReport::build(&store, since, store::now_ms())?)
}

/// On SIGHUP, reads the prices (after `prices update`) and the config file again and applies its providers, aliases,
/// models and apps to the next request. A broken file is reported and the running configuration kept.
async fn reload_on_hangup(
    path: Option<PathBuf>,
    state: AppState,
    ledger: Ledger,
    store: Store,
    metrics: Option<Metrics>,
    shared: Option<Postgres>,
) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return std::future::pending().await;
        };
        while hangups.recv().await.is_some() {
            reload_prices(&state, &ledger, &store);
            let Some(path) = &path else {
                tracing::warn!("SIGHUP: there is no --config file to reload");
                continue;
            };
            let reloaded = async {
                let (config, mut apps, secrets) = load(path)?;
                if let Some(pg) = &shared {
                    // The registry first: a database that cannot take it leaves everything as it ran.
                    register(pg, &config, &mut apps, &ledger)
                        .await
                        .context("cannot register the apps in the shared database")?;
                }
                state.reload(&config, apps, &secrets).map_err(anyhow::Error::msg)?;
                anyhow::Ok(config)
            };
            match reloaded.await {
                Ok(config) => {
                    // The metrics listener keeps its port and token until a restart; label names follow the file.
                    if let Some(metrics) = &metrics {
                        metrics.set_known(&config);
                    }
                    if shared.is_none()
                        && let Err(error) = ledger.reload_budgets(&store)
                    {
                        tracing::error!(%error, "SIGHUP: could not reload the budgets");
                    }
                    tracing::info!(config = %path.display(), "configuration reloaded");
                }
                Err(error) => tracing::error!("SIGHUP: kept the running configuration: {error:#}"),
            }
        }
    }
    std::future::pending().await
}

/// Reads the price table and the imported capabilities from the database again (a `prices update` ran meanwhile).
fn reload_prices(state: &AppState, ledger: &Ledger, store: &Store) {
    let loaded = Prices::load(store)
        .map_err(anyhow::Error::from)
        .and_then(|prices| Ok((prices, catalog::imported_capabilities(store)?)));
    match loaded {
        Ok((prices, imported)) => {
            ledger.set_prices(prices);
            state.set_model_catalog(imported);
            tracing::info!("prices reloaded");
        }
        Err(error) => tracing::error!("SIGHUP: kept the running prices: {error:#}"),
    }
}

/// `prices`: the table's layers, or one model's price and where it comes from; `prices update`: a catalog import.
fn prices(args: &PricesArgs) -> anyhow::Result<()> {
    let data_dir =
        args.data_dir.clone().or_else(paths::default_data_dir).context("no data folder: pass --data-dir DIR")?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let store = Store::open(&data_dir.join(ledger::DATABASE_FILE))?;
    if let Some(PricesAction::Update { from }) = &args.action {
        let source = from.as_deref().map(catalog::Source::parse).unwrap_or_default();
        let now = store::now_ms();
        let summary = switchboard_gateway::runtime::from_env()?
            .block_on(catalog::update(&store, &source, now))
            .map_err(|e| anyhow::anyhow!(e.with_outcome()))?;
        println!("{}", summary.describe());
        return Ok(());
    }
    let table = Prices::load(&store)?;
    if let Some(model) = &args.model {
        let (provider, model) =
            model.split_once('/').context("name the model as provider/model, e.g. openai/gpt-4o")?;
        match table.lookup_at(Some(provider), Some(provider), model, store::now_ms()) {
            Some(found) => println!(
                "{provider}/{model}: ${} input, ${} output per million tokens{}; from {}",
                found.price.input,
                found.price.output,
                found.price.cached_input.map(|c| format!(", ${c} cached input")).unwrap_or_default(),
                found.version
            ),
            None => println!("{provider}/{model} has no price: its requests are counted as unpriced"),
        }
        return Ok(());
    }
    println!("shipped snapshot: {} (the oldest layer)", table.version());
    let imports = store.price_imports()?;
    if imports.is_empty() {
        println!("no catalog imported yet: run `switchboard-gateway prices update`");
    }
    for import in imports {
        println!(
            "{}: {} models added, {} prices changed, from {}",
            ledger::prices::import_version(import.id, import.effective_ms),
            import.models_added,
            import.prices_changed,
            import.source
        );
    }
    println!("user overrides (win over everything): {}", store.price_overrides()?.len());
    Ok(())
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
