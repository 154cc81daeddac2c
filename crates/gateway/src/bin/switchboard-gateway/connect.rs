//! `switchboard-gateway clients | connect | disconnect`: the person's tools pointed at this gateway, on the same
//! logic as the window's Clients page (the `clients` room of the library does the work; this prints it).

use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::SecretString;
use switchboard_gateway::clients::{self, ClientId, Clients, Connection, Endpoint, Restored, State};
use switchboard_gateway::{Config, paths};

#[derive(Debug, clap::Args)]
pub(crate) struct ClientsArgs {
    /// The gateway's configuration file, for the endpoint the tools should point at ([server])
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where Switchboard keeps its data [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The gateway's port, overriding the config file
    #[arg(long, short, env = "SWITCHBOARD_PORT")]
    port: Option<u16>,
    /// Print JSON instead of lines
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConnectArgs {
    /// claude-code, codex, gemini-cli, opencode, continue, zed or qwen-code
    #[arg(value_parser = parse_client)]
    client: ClientId,
    /// The gateway's configuration file: the endpoint ([server]) and the app ([[apps]])
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// The app the tool uses; its token is read from the app's token_env
    #[arg(long, value_name = "APP")]
    app: String,
    /// The alias the tool asks for (ALIAS), or one per model slot (SLOT=ALIAS, e.g. haiku=fast); repeatable
    #[arg(long, value_name = "ALIAS")]
    alias: Vec<String>,
    /// Where Switchboard keeps its data [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The gateway's port, overriding the config file
    #[arg(long, short, env = "SWITCHBOARD_PORT")]
    port: Option<u16>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DisconnectArgs {
    /// claude-code, codex, gemini-cli, opencode, continue, zed or qwen-code
    #[arg(value_parser = parse_client)]
    client: ClientId,
    /// Where Switchboard keeps its data [default: the OS data folder, or $SWITCHBOARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn parse_client(id: &str) -> Result<ClientId, String> {
    id.parse::<ClientId>().map_err(|e| e.to_string())
}

/// The tools' side of the gateway: their config files and Switchboard's record of what it wrote.
fn clients_at(data_dir: Option<&Path>) -> anyhow::Result<Clients> {
    let data_dir = data_dir
        .map(Path::to_path_buf)
        .or_else(paths::default_data_dir)
        .context("no data folder: pass --data-dir DIR")?;
    Ok(Clients::new(clients::Env::from_process()?, &data_dir))
}

/// Where a tool on this machine reaches the gateway that `config` describes.
fn endpoint_of(config: &Config, port: Option<u16>) -> Endpoint {
    Endpoint::local(config.server.bind, port.unwrap_or(config.server.port))
}

pub(crate) fn list(args: &ClientsArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let clients = clients_at(args.data_dir.as_deref())?;
    let endpoint = endpoint_of(&config, args.port);
    let statuses = clients.list(&endpoint);
    if args.json {
        let list: Vec<serde_json::Value> = statuses.iter().map(status_json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for status in &statuses {
        let installed = match (&status.installed.binary, status.installed.config_dir) {
            (Some(binary), _) => format!("installed ({})", binary.display()),
            (None, true) => "config folder only".to_owned(),
            (None, false) => "not installed".to_owned(),
        };
        let files: Vec<String> = status.files.iter().map(|f| f.display().to_string()).collect();
        println!(
            "{:<12} {:<22} {:<14} {}",
            status.id.as_str(),
            installed_short(&installed),
            state_text(&status.state),
            files.join(", ")
        );
        match &status.state {
            State::Drifted { reason } => {
                println!("{:<12} drifted: {reason}; reconnect with `switchboard-gateway connect {}`", "", status.id)
            }
            State::Unreadable { path, line, message, .. } => {
                println!(
                    "{:<12} cannot read {}{}: {message}",
                    "",
                    path.display(),
                    line.map(|l| format!(" (line {l})")).unwrap_or_default()
                );
            }
            State::NotConnected | State::Connected => {}
        }
    }
    println!("(endpoint {})", endpoint.root);
    Ok(())
}

fn installed_short(text: &str) -> &str {
    if text.starts_with("installed") { "installed" } else { text }
}

fn state_text(state: &State) -> &'static str {
    match state {
        State::NotConnected => "not connected",
        State::Connected => "connected",
        State::Drifted { .. } => "drifted",
        State::Unreadable { .. } => "unreadable",
    }
}

fn status_json(status: &clients::Status) -> serde_json::Value {
    let state = match &status.state {
        State::NotConnected => serde_json::json!({ "kind": "not_connected" }),
        State::Connected => serde_json::json!({ "kind": "connected" }),
        State::Drifted { reason } => serde_json::json!({ "kind": "drifted", "reason": reason }),
        State::Unreadable { path, line, column, message } => {
            serde_json::json!({ "kind": "unreadable", "path": path, "line": line, "column": column, "message": message })
        }
    };
    serde_json::json!({
        "id": status.id.as_str(),
        "name": status.id.name(),
        "binary": status.installed.binary,
        "config_dir": status.installed.config_dir,
        "state": state,
        "files": status.files,
        "app": status.app,
        "aliases": status.aliases,
    })
}

pub(crate) fn connect(args: &ConnectArgs) -> anyhow::Result<()> {
    let config = Config::from_file(&args.config)?;
    let app = config.apps.iter().find(|a| a.name == args.app).with_context(|| {
        let names: Vec<&str> = config.apps.iter().map(|a| a.name.as_str()).collect();
        format!("{} has no app {:?}; the apps are: {}", args.config.display(), args.app, names.join(", "))
    })?;
    let var = app.token_env.as_deref().with_context(|| {
        format!("app {:?} has no token_env; add token_env = \"VAR\" to it in {}", app.name, args.config.display())
    })?;
    let token = std::env::var(var).ok().filter(|t| !t.is_empty()).with_context(|| {
        format!("{var} is not set; export it with app {:?}'s token (e.g. `export {var}=sb-…`)", app.name)
    })?;
    let aliases = slot_aliases(args.client, &args.alias)?;
    let endpoint = endpoint_of(&config, args.port);
    let clients = clients_at(args.data_dir.as_deref())?;
    let connection =
        Connection { endpoint: endpoint.clone(), token: SecretString::from(token), app: app.name.clone(), aliases };
    let connected = clients.connect(args.client, &connection)?;
    let name = args.client.name();
    if connected.changed {
        println!("Connected {name} to {} as app {:?}:", endpoint.root, app.name);
        for file in &connected.files {
            println!("  wrote {}", file.display());
        }
    } else {
        println!("{name} was already connected to {} as app {:?}; nothing written", endpoint.root, app.name);
    }
    let known: Vec<&str> = config.aliases.iter().map(|a| a.name.as_str()).collect();
    for alias in connection.aliases.values() {
        if !known.contains(&alias.as_str()) && !alias.contains('/') {
            println!(
                "  note: {} has no alias {alias:?}; add it as [[aliases]] before the tool asks for it",
                args.config.display()
            );
        }
    }
    for warning in &connected.warnings {
        println!("  note: {warning}");
    }
    println!(
        "Next: {} (in a new shell); `switchboard-gateway disconnect {}` puts the files back",
        args.client.try_it(),
        args.client
    );
    Ok(())
}

/// `--alias ALIAS` (the first slot) and `--alias SLOT=ALIAS`, checked against the client's slots.
fn slot_aliases(client: ClientId, given: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let slots = client.slots();
    let mut aliases = std::collections::BTreeMap::new();
    for arg in given {
        let (slot, alias) = match arg.split_once('=') {
            Some((slot, alias)) => (slot.to_owned(), alias.to_owned()),
            None => (slots[0].id.to_owned(), arg.clone()),
        };
        if !slots.iter().any(|s| s.id == slot) {
            let ids: Vec<&str> = slots.iter().map(|s| s.id).collect();
            anyhow::bail!("{} has no model slot {slot:?}; its slots are: {}", client.name(), ids.join(", "));
        }
        if alias.is_empty() {
            anyhow::bail!("--alias {arg}: name an alias");
        }
        aliases.insert(slot, alias);
    }
    Ok(aliases)
}

pub(crate) fn disconnect(args: &DisconnectArgs) -> anyhow::Result<()> {
    let clients = clients_at(args.data_dir.as_deref())?;
    let disconnected = clients.disconnect(args.client)?;
    println!("Disconnected {}:", args.client.name());
    for (path, restored) in &disconnected.files {
        let what = match restored {
            Restored::Exactly => "put back exactly as it was",
            Restored::Removed => "removed (it did not exist before)",
            Restored::KeysOnly => "Switchboard's settings taken out, your later edits kept",
            Restored::Untouched => "left as it is",
        };
        println!("  {}: {what}", path.display());
    }
    Ok(())
}
