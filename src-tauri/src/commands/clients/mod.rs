//! Clients: the tools Switchboard connects by editing their own config files (Claude Code, Codex, Gemini CLI,
//! opencode, Continue, Zed, Qwen Code). Mirrors `ui/src/api/clients.ts`. The work is `switchboard_gateway::clients`;
//! these commands pick the app and its token, call it off the async threads, and reload the gateway after any
//! change to apps. Test and Check are in `probe.rs`.
//!
//! The token a client gets: a new app's token; for an existing app, the token already in the client's file when it
//! authenticates as that app; else the app's token is rotated (`connect_plan` says which, so the page can say so
//! before it happens).

pub mod probe;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};
use switchboard_gateway::clients::{
    ClientId, ClientProtocol, Clients, Connection, Endpoint, Env, Restored, State as ClientState, Status,
};
use switchboard_gateway::secrets::{ExposeSecret, SecretString};
use switchboard_gateway::store::{AppRow, AppSpec, Store, token_digest};
use tauri::State;

use super::providers::reload;
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// Every client, where the gateway is, and which clients are set up by hand instead.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClientsDto {
    /// The root clients are pointed at: `http://127.0.0.1:7352`.
    pub endpoint: String,
    pub clients: Vec<ClientDto>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClientDto {
    /// `claude-code`, `codex`, `gemini-cli`, `opencode`, `continue`, `zed`, `qwen-code`.
    pub id: String,
    pub name: String,
    pub protocol: ProtocolDto,
    /// The model names it asks for; the first is the main one.
    pub slots: Vec<SlotDto>,
    /// The binary found on PATH.
    pub binary: Option<String>,
    /// Its config folder exists.
    pub config_dir: bool,
    /// The files Switchboard writes for it.
    pub files: Vec<String>,
    pub state: StateDto,
    /// The app it was connected as (Switchboard's record), and that app's id when it still exists.
    pub app: Option<String>,
    pub app_id: Option<i64>,
    /// Slot → alias, as its file says.
    pub aliases: BTreeMap<String, String>,
    /// Its files hold the app's token (all but Zed, which keeps keys in the system keychain): Test and Check send
    /// with that token.
    pub holds_token: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ProtocolDto {
    OpenAiChat,
    Anthropic,
    Responses,
    Gemini,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SlotDto {
    pub id: String,
    pub label: String,
    pub default_alias: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StateDto {
    NotConnected,
    Connected,
    /// Switchboard connected it, but its file no longer points here.
    Drifted {
        reason: String,
    },
    /// A file Switchboard cannot parse: never overwritten.
    #[serde(rename_all = "camelCase")]
    Unreadable {
        path: String,
        line: Option<u32>,
        column: Option<u32>,
        message: String,
    },
}

/// Which app a client connects as.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AppChoice {
    /// A new app named after the client.
    Create,
    Existing {
        id: i64,
    },
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectInput {
    pub app: AppChoice,
    /// Slot id → alias.
    pub aliases: BTreeMap<String, String>,
}

/// Where the token a connect writes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum TokenPlan {
    /// A new app, with its own new token.
    New,
    /// The token already in the client's file, which is this app's.
    Reuse,
    /// The app's token is replaced: anything else still using the old one stops working.
    Rotate,
    /// The client keeps its key outside its files (Zed): none is written, and the app's token stays as it is.
    Elsewhere,
}

/// What Connect will do, before it does it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectPlan {
    pub app_name: String,
    pub token: TokenPlan,
    pub files: Vec<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectedDto {
    pub app_name: String,
    pub app_id: i64,
    pub token: TokenPlan,
    pub files: Vec<String>,
    /// False when it already was connected like this: nothing was written.
    pub changed: bool,
    /// E.g. that its binary is not on PATH (the config is written anyway).
    pub warnings: Vec<String>,
    /// For a client that keeps its key elsewhere (Zed) and a new app: the token to paste there, shown once.
    pub token_to_paste: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DisconnectedDto {
    pub files: Vec<RestoredFile>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RestoredFile {
    pub path: String,
    /// `exactly`: its original bytes are back; `removed`: it did not exist before, so it is gone; `keysOnly`: it
    /// was edited since, so only Switchboard's keys came out; `untouched`: nothing to do.
    #[cfg_attr(test, ts(type = "\"exactly\" | \"removed\" | \"keysOnly\" | \"untouched\""))]
    pub restored: String,
}

/// One client's outcome of "update every connected client" (after a port change).
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpdatedClient {
    pub id: String,
    pub name: String,
    pub ok: bool,
    /// What was done, or why not.
    pub message: String,
}

#[tauri::command]
pub async fn list_clients(gateway: State<'_, Gateway>) -> Result<ClientsDto, CommandError> {
    let (clients, endpoint, store) = (open(&gateway)?, endpoint(&gateway), gateway.store().clone());
    blocking(move || {
        let apps = store.list_apps()?;
        let list = clients.list(&endpoint).into_iter().map(|status| client_dto(status, &apps)).collect();
        Ok(ClientsDto { endpoint: endpoint.root, clients: list })
    })
    .await
}

/// The installed binary's `--version`, where it prints one (slow: it runs the binary).
#[tauri::command]
pub async fn client_version(gateway: State<'_, Gateway>, client: String) -> Result<Option<String>, CommandError> {
    let (id, clients) = (parse(&client)?, open(&gateway)?);
    blocking(move || Ok(clients.version(id))).await
}

/// Which app and token a connect would use, and which files it would write.
#[tauri::command]
pub async fn connect_plan(
    gateway: State<'_, Gateway>,
    client: String,
    app: AppChoice,
) -> Result<ConnectPlan, CommandError> {
    let (id, clients, endpoint, store) =
        (parse(&client)?, open(&gateway)?, endpoint(&gateway), gateway.store().clone());
    blocking(move || {
        let (app_name, token) = match app {
            AppChoice::Create => (id.name().to_owned(), TokenPlan::New),
            AppChoice::Existing { id: app_id } => {
                let row = existing(&store, app_id)?;
                let plan = if !holds_token(id) {
                    TokenPlan::Elsewhere
                } else if written_token_of(&clients, &store, id, app_id)?.is_some() {
                    TokenPlan::Reuse
                } else {
                    TokenPlan::Rotate
                };
                (row.name, plan)
            }
        };
        let files = clients.status(id, &endpoint).files.iter().map(|p| p.display().to_string()).collect();
        Ok(ConnectPlan { app_name, token, files })
    })
    .await
}

/// Points the client at this gateway as the chosen app, with an alias per slot. A new app (or a rotated token) is
/// applied to the gateway at once; if the files cannot be written, a new app is taken back and nothing is left
/// half-written (the client room writes atomically).
#[tauri::command]
pub async fn connect_client(
    gateway: State<'_, Gateway>,
    client: String,
    input: ConnectInput,
) -> Result<ConnectedDto, CommandError> {
    let (id, clients, endpoint, store) =
        (parse(&client)?, open(&gateway)?, endpoint(&gateway), gateway.store().clone());
    let result = blocking(move || {
        let aliases = checked_aliases(&store, id, input.aliases)?;
        let (row, token, plan) = match input.app {
            AppChoice::Create => {
                let name = id.name().to_owned();
                if store.list_apps()?.iter().any(|a| a.name == name) {
                    return Err(CommandError::Invalid(format!(
                        "an app named {name:?} exists already; choose it in the list (its token is reused or rotated)"
                    )));
                }
                let (row, token) = store.create_app(&AppSpec::new(name))?;
                (row, SecretString::from(token), TokenPlan::New)
            }
            AppChoice::Existing { id: app_id } if !holds_token(id) => {
                // Nothing is written for the token: the app keeps its own.
                (existing(&store, app_id)?, SecretString::from(String::new()), TokenPlan::Elsewhere)
            }
            AppChoice::Existing { id: app_id } => {
                let row = existing(&store, app_id)?;
                match written_token_of(&clients, &store, id, app_id)? {
                    Some(token) => (row, token, TokenPlan::Reuse),
                    None => (row, SecretString::from(store.rotate_token(app_id)?), TokenPlan::Rotate),
                }
            }
        };
        if let Some(allowed) = &row.allowed_aliases
            && let Some(alias) = aliases.values().find(|a| !allowed.contains(a))
        {
            undo_new_app(&store, &row, plan);
            return Err(CommandError::Invalid(format!(
                "app {:?} may not use alias {alias:?}: allow it for the app on the Apps page, or pick another alias",
                row.name
            )));
        }
        let to_paste = (plan == TokenPlan::New && !holds_token(id)).then(|| token.expose_secret().to_owned());
        let connection = Connection { endpoint, token, app: row.name.clone(), aliases };
        match clients.connect(id, &connection) {
            Ok(connected) => Ok((row, plan, connected, to_paste)),
            Err(error) => {
                undo_new_app(&store, &row, plan);
                Err(CommandError::Client(error))
            }
        }
    })
    .await;
    // A rotated token (or a new app) must reach the gateway even when the files could not be written.
    reload(&gateway).await?;
    let (row, plan, connected, token_to_paste) = result?;
    Ok(ConnectedDto {
        app_name: row.name,
        app_id: row.id,
        token: plan,
        files: connected.files.iter().map(|p| p.display().to_string()).collect(),
        changed: connected.changed,
        warnings: connected.warnings,
        token_to_paste,
    })
}

/// Puts the client's files back and says, per file, how exactly.
#[tauri::command]
pub async fn disconnect_client(gateway: State<'_, Gateway>, client: String) -> Result<DisconnectedDto, CommandError> {
    let (id, clients) = (parse(&client)?, open(&gateway)?);
    let disconnected = blocking(move || Ok(clients.disconnect(id)?)).await?;
    let files = disconnected
        .files
        .into_iter()
        .map(|(path, restored)| RestoredFile {
            path: path.display().to_string(),
            restored: match restored {
                Restored::Exactly => "exactly",
                Restored::Removed => "removed",
                Restored::KeysOnly => "keysOnly",
                Restored::Untouched => "untouched",
            }
            .to_owned(),
        })
        .collect();
    Ok(DisconnectedDto { files })
}

/// Points every client Switchboard connected at this gateway's current endpoint (after the port changed), keeping
/// each one's app, token and aliases. A client whose file no longer holds its app's token is left for Reconnect on
/// the Clients page, which says that its token will be rotated.
#[tauri::command]
pub async fn update_connected_clients(gateway: State<'_, Gateway>) -> Result<Vec<UpdatedClient>, CommandError> {
    let (clients, endpoint, store) = (open(&gateway)?, endpoint(&gateway), gateway.store().clone());
    blocking(move || {
        let apps = store.list_apps()?;
        let mut updated = Vec::new();
        for status in clients.list(&endpoint) {
            let (Some(app_name), ClientState::Drifted { .. } | ClientState::Connected) = (&status.app, &status.state)
            else {
                continue;
            };
            let (id, name) = (status.id, status.id.name());
            let outcome = match apps.iter().find(|a| &a.name == app_name) {
                None => Err(format!("its app {app_name:?} is gone: connect it again on the Clients page")),
                Some(app) => match written_token_of(&clients, &store, id, app.id) {
                    Ok(Some(token)) => Ok((app, token)),
                    Ok(None) if !holds_token(id) => Ok((app, SecretString::from(String::new()))),
                    Ok(None) => {
                        Err("its file no longer holds its app's token: use Reconnect on the Clients page".into())
                    }
                    Err(error) => Err(error.to_string()),
                },
            }
            .and_then(|(app, token)| {
                let connection = Connection {
                    endpoint: endpoint.clone(),
                    token,
                    app: app.name.clone(),
                    aliases: status.aliases.clone(),
                };
                clients.connect(id, &connection).map(|c| c.changed).map_err(|e| e.to_string())
            });
            updated.push(match outcome {
                Ok(true) => UpdatedClient {
                    id: id.as_str().into(),
                    name: name.into(),
                    ok: true,
                    message: format!("now points at {}", endpoint.root),
                },
                Ok(false) => UpdatedClient {
                    id: id.as_str().into(),
                    name: name.into(),
                    ok: true,
                    message: "already pointed here".into(),
                },
                Err(message) => UpdatedClient { id: id.as_str().into(), name: name.into(), ok: false, message },
            });
        }
        Ok(updated)
    })
    .await
}

/// Whether the client's files hold its token. Zed keeps keys in the system keychain (docs/CLIENTS.md): nothing is
/// written for it, and an app's token is never rotated just for Zed.
fn holds_token(id: ClientId) -> bool {
    id != ClientId::Zed
}

fn parse(client: &str) -> Result<ClientId, CommandError> {
    ClientId::parse(client).ok_or_else(|| CommandError::Invalid(format!("there is no client {client:?}")))
}

/// The client room, with the process's HOME and PATH and Switchboard's data folder for its records.
fn open(gateway: &Gateway) -> Result<Clients, CommandError> {
    let data_dir = gateway
        .store()
        .path()
        .and_then(|p| p.parent())
        .ok_or_else(|| CommandError::Invalid("the database has no folder; restart Switchboard".into()))?;
    Ok(Clients::new(Env::from_process()?, data_dir))
}

/// Where this gateway listens, as clients on this machine reach it.
fn endpoint(gateway: &Gateway) -> Endpoint {
    let status = gateway.status();
    Endpoint::local(status.bind.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), status.port)
}

fn existing(store: &Store, id: i64) -> Result<AppRow, CommandError> {
    match store.app(id)? {
        Some(row) if row.builtin => {
            Err(CommandError::Invalid("the Chat window app is Switchboard's own; choose or create another app".into()))
        }
        Some(row) => Ok(row),
        None => Err(CommandError::Invalid(format!("there is no app {id}; it may have been deleted"))),
    }
}

/// The token in the client's files, when it is `app_id`'s.
fn written_token_of(
    clients: &Clients,
    store: &Store,
    id: ClientId,
    app_id: i64,
) -> Result<Option<SecretString>, CommandError> {
    let Some(token) = clients.written(id)?.and_then(|w| w.token) else { return Ok(None) };
    let owner = store.app_by_token_hash(&token_digest(token.expose_secret()))?;
    Ok(owner.filter(|row| row.id == app_id).map(|_| token))
}

/// The slots' aliases, each one an existing alias (a slot left out takes the first slot's).
fn checked_aliases(
    store: &Store,
    id: ClientId,
    aliases: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, CommandError> {
    let known: Vec<String> = store.list_aliases()?.into_iter().map(|a| a.name).collect();
    let slots = id.slots();
    let mut checked = BTreeMap::new();
    for (slot, alias) in aliases {
        let alias = alias.trim().to_owned();
        if !slots.iter().any(|s| s.id == slot) {
            return Err(CommandError::Invalid(format!("{} has no model slot {slot:?}", id.name())));
        }
        if alias.is_empty() {
            continue;
        }
        if !known.contains(&alias) {
            return Err(CommandError::Invalid(format!(
                "there is no alias {alias:?}; make it on the Aliases page, or pick another"
            )));
        }
        checked.insert(slot, alias);
    }
    if let Some(first) = slots.first()
        && !checked.contains_key(first.id)
    {
        return Err(CommandError::Invalid(format!("choose an alias for {}'s {} model", id.name(), first.label)));
    }
    Ok(checked)
}

/// Takes back an app made for a connect that did not happen.
fn undo_new_app(store: &Store, row: &AppRow, plan: TokenPlan) {
    if plan == TokenPlan::New
        && let Err(error) = store.delete_app(row.id)
    {
        tracing::warn!(%error, app = %row.name, "could not remove the app made for a connect that failed");
    }
}

fn client_dto(status: Status, apps: &[AppRow]) -> ClientDto {
    let id = status.id;
    let app_id = status.app.as_ref().and_then(|name| apps.iter().find(|a| &a.name == name)).map(|a| a.id);
    ClientDto {
        id: id.as_str().into(),
        name: id.name().into(),
        protocol: match id.protocol() {
            ClientProtocol::OpenAiChat => ProtocolDto::OpenAiChat,
            ClientProtocol::Anthropic => ProtocolDto::Anthropic,
            ClientProtocol::Responses => ProtocolDto::Responses,
            ClientProtocol::Gemini => ProtocolDto::Gemini,
        },
        slots: id
            .slots()
            .iter()
            .map(|s| SlotDto { id: s.id.into(), label: s.label.into(), default_alias: s.default_alias.into() })
            .collect(),
        binary: status.installed.binary.map(|p| p.display().to_string()),
        config_dir: status.installed.config_dir,
        files: status.files.iter().map(|p| p.display().to_string()).collect(),
        state: match status.state {
            ClientState::NotConnected => StateDto::NotConnected,
            ClientState::Connected => StateDto::Connected,
            ClientState::Drifted { reason } => StateDto::Drifted { reason },
            ClientState::Unreadable { path, line, column, message } => StateDto::Unreadable {
                path: path.display().to_string(),
                line: line.and_then(|l| u32::try_from(l).ok()),
                column: column.and_then(|c| u32::try_from(c).ok()),
                message,
            },
        },
        app: status.app,
        app_id,
        aliases: status.aliases,
        holds_token: holds_token(id),
    }
}
