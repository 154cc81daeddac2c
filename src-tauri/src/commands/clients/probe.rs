//! Test and Check of a connected client, over real HTTP to this gateway with the base URL and token read from the
//! client's own files (`switchboard_gateway::clients::check` builds and judges the requests).
//!
//! Test sends one short prompt through the client's main alias and answers with its ledger row, found by the
//! request id it carried (`Ledger::expect`). Check runs the protocol cases against each target of an alias as
//! `provider/model` and reports every cell through a `Channel` as it fills in; `cancel_check` stops it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use switchboard_gateway::clients::check::{self, Caller, Case, Outcome};
use switchboard_gateway::clients::{ClientId, Clients, Written};
use switchboard_gateway::ledger::queries;
use switchboard_gateway::routing::Catalog;
use switchboard_gateway::secrets::ExposeSecret;
use switchboard_gateway::store::{Store, token_digest};
use tauri::State;
use tauri::ipc::Channel;
use tokio_util::sync::CancellationToken;

use super::{open, parse};
use crate::commands::aliases::{TryError, TryResult};
use crate::commands::logs::RequestDto;
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// How long one case may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Test waits for its row after the answer ended.
const ROW_WAIT: Duration = Duration::from_secs(2);
const DEFAULT_PROMPT: &str = "Say hello in five words.";

/// Checks running, by client (with each check's number), so `cancel_check` can stop one.
#[derive(Default)]
pub struct Checking(Mutex<HashMap<ClientId, (u64, CancellationToken)>>);

static NEXT_CHECK: AtomicU64 = AtomicU64::new(0);

/// What Test did: the request as the client sent it, and what came back.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClientTestDto {
    /// The alias it asked for (the client's main slot).
    pub alias: String,
    /// The base URL from the client's file.
    pub base_url: String,
    pub result: TryResult,
}

/// What Check reports as it goes.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CheckEvent {
    /// The grid: one row per target (or the alias itself), one column per case.
    Started { alias: String, rows: Vec<CheckRow>, cases: Vec<CaseDto> },
    /// One cell filled in.
    #[serde(rename_all = "camelCase")]
    Cell { row: u32, case: String, outcome: CellOutcome, detail: String, elapsed_ms: u64 },
    /// Every cell is in, or the check was stopped.
    Done { cancelled: bool },
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    /// `provider/model`, or the alias when its targets cannot be called one by one.
    pub model: String,
    /// Why this row is what it is (e.g. the app may use aliases only), when it needs saying.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CaseDto {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum CellOutcome {
    Pass,
    Fail,
    Skip,
}

/// Sends one short prompt the way the client does, and shows the answer with its ledger row.
#[tauri::command]
pub async fn test_client(
    gateway: State<'_, Gateway>,
    client: String,
    prompt: Option<String>,
) -> Result<ClientTestDto, CommandError> {
    let (id, clients, store) = (parse(&client)?, open(&gateway)?, gateway.store().clone());
    let prompt = prompt.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).unwrap_or(DEFAULT_PROMPT.into());
    let (caller, written) = blocking(move || caller(&clients, id)).await?;
    let alias = main_alias(id, &written)?;
    let ledger = gateway.ledger();
    let http = check::http_client().map_err(CommandError::Invalid)?;
    let request_id = check::request_id();
    let expectation = ledger.as_ref().map(|l| l.expect(&request_id));
    let started = Instant::now();
    let reply = check::ask(&http, &caller, &alias, &prompt, &request_id).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let row_id = match (expectation, &ledger) {
        (Some(expectation), Some(ledger)) => expectation.row_id(ledger, ROW_WAIT).await,
        _ => None,
    };
    let request = match row_id {
        Some(row_id) => blocking(move || Ok(queries::request_detail(&store, row_id)?)).await?.map(|d| d.row),
        None => None,
    }
    .map(RequestDto::from);
    let target = request
        .as_ref()
        .and_then(|r| Some(format!("{}/{}", r.provider_id.as_deref()?, r.model.as_deref()?)))
        .or(reply.target.clone());
    let error = reply.error.map(|message| TryError { status: reply.status, message });
    Ok(ClientTestDto {
        alias,
        base_url: caller.base_url,
        result: TryResult { text: reply.text, target, error, request, elapsed_ms },
    })
}

/// Runs the client's protocol cases against each target of `alias` (the client's main alias when `None`), one case
/// after another, each cell sent through `on_event` as it fills in. Ends early when `cancel_check` is called.
#[tauri::command]
pub async fn check_client(
    gateway: State<'_, Gateway>,
    checking: State<'_, Checking>,
    client: String,
    alias: Option<String>,
    on_event: Channel<CheckEvent>,
) -> Result<(), CommandError> {
    let (id, clients, store) = (parse(&client)?, open(&gateway)?, gateway.store().clone());
    let (caller, written) = blocking(move || caller(&clients, id)).await?;
    let alias = match alias.filter(|a| !a.trim().is_empty()) {
        Some(alias) => alias,
        None => main_alias(id, &written)?,
    };
    let token = caller.token.expose_secret().to_owned();
    let plan_alias = alias.clone();
    let subjects = blocking(move || subjects(&store, &plan_alias, &token)).await?;
    let stop = CancellationToken::new();
    let number = NEXT_CHECK.fetch_add(1, Ordering::Relaxed);
    {
        let mut running = checking.0.lock().unwrap_or_else(|p| p.into_inner());
        // A second check of the same client replaces the first.
        if let Some((_, previous)) = running.insert(id, (number, stop.clone())) {
            previous.cancel();
        }
    }
    let send = |event: CheckEvent| {
        if let Err(error) = on_event.send(event) {
            tracing::debug!(%error, "the page stopped listening to the check");
        }
    };
    send(CheckEvent::Started {
        alias,
        rows: subjects.iter().map(|s| CheckRow { model: s.model.clone(), note: s.note.clone() }).collect(),
        cases: Case::ALL.iter().map(|c| CaseDto { id: c.id().into(), label: c.label().into() }).collect(),
    });
    let http = check::http_client().map_err(CommandError::Invalid)?;
    let cells = async {
        for (row, subject) in subjects.iter().enumerate() {
            for case in Case::ALL {
                let verdict = if case == Case::Thinking && subject.reasons != Some(true) {
                    check::Verdict::skip("its capabilities do not say it reasons")
                } else {
                    check::run_case(&http, &caller, &subject.model, case, CASE_TIMEOUT).await
                };
                send(CheckEvent::Cell {
                    row: row as u32,
                    case: case.id().into(),
                    outcome: match verdict.outcome {
                        Outcome::Pass => CellOutcome::Pass,
                        Outcome::Fail => CellOutcome::Fail,
                        Outcome::Skip => CellOutcome::Skip,
                    },
                    detail: verdict.detail,
                    elapsed_ms: verdict.elapsed.as_millis() as u64,
                });
            }
        }
    };
    let cancelled = tokio::select! {
        () = cells => false,
        () = stop.cancelled() => true,
    };
    {
        // Unless a newer check of this client has taken the place.
        let mut running = checking.0.lock().unwrap_or_else(|p| p.into_inner());
        if running.get(&id).is_some_and(|(n, _)| *n == number) {
            running.remove(&id);
        }
    }
    send(CheckEvent::Done { cancelled });
    Ok(())
}

/// Stops the client's running check (its cells so far stay).
#[tauri::command]
pub fn cancel_check(checking: State<'_, Checking>, client: String) -> Result<(), CommandError> {
    let id = parse(&client)?;
    if let Some((_, stop)) = checking.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
        stop.cancel();
    }
    Ok(())
}

/// The caller the client's files describe: its protocol, base URL and token.
fn caller(clients: &Clients, id: ClientId) -> Result<(Caller, Written), CommandError> {
    let not_connected =
        || CommandError::Invalid(format!("{} is not pointed at Switchboard: Connect it first", id.name()));
    let written = clients.written(id)?.ok_or_else(not_connected)?;
    let base_url = written.base_url.clone().ok_or_else(not_connected)?;
    let token = written.token.clone().ok_or_else(|| {
        CommandError::Invalid(format!(
            "{}'s files hold no token (it keeps its key elsewhere), so Switchboard cannot send as it does; \
             connect it again, or test the alias on the Aliases page",
            id.name()
        ))
    })?;
    Ok((Caller { protocol: id.protocol(), base_url, token }, written))
}

/// The alias the client's main slot asks for, as its file says.
fn main_alias(id: ClientId, written: &Written) -> Result<String, CommandError> {
    let main = id.slots().first().map(|s| s.id).unwrap_or_default();
    written
        .aliases
        .get(main)
        .or_else(|| written.aliases.values().next())
        .cloned()
        .ok_or_else(|| CommandError::Invalid(format!("{}'s files name no model: Connect it first", id.name())))
}

/// One row of the grid.
struct Subject {
    /// What the requests name as `model`.
    model: String,
    reasons: Option<bool>,
    note: Option<String>,
}

/// The rows for `alias`: each target as `provider/model`, or the alias itself when the token's app may use
/// aliases only (it may not name `provider/model`).
fn subjects(store: &Store, alias: &str, token: &str) -> Result<Vec<Subject>, CommandError> {
    let Some(row) = store.list_aliases()?.into_iter().find(|a| a.name == alias) else {
        return Err(CommandError::Invalid(format!(
            "the client asks for {alias:?}, which is not an alias here: make it on the Aliases page, or connect \
             the client with another"
        )));
    };
    let Some(app) = store.app_by_token_hash(&token_digest(token))? else {
        return Err(CommandError::Invalid(
            "the token in the client's file is not one of this Switchboard's apps: Reconnect it".into(),
        ));
    };
    let catalog = Catalog::new(&[]);
    let kinds: std::collections::HashMap<String, String> =
        store.list_providers()?.into_iter().map(|p| (p.id, p.kind)).collect();
    let reasons_of = |t: &switchboard_gateway::store::TargetRow| {
        let kind = kinds.get(&t.provider_id).map_or(t.provider_id.as_str(), String::as_str);
        catalog.lookup(&t.provider_id, kind, &t.model).reasoning
    };
    if let Some(allowed) = app.allowed_aliases {
        let note = format!(
            "{:?} may use only the aliases {}, not provider/model names, so this row goes through the alias (a \
             fallback can hide a broken target). Allow it every alias in Apps to check each target.",
            app.name,
            allowed.join(", ")
        );
        let reasons = row.targets.first().and_then(reasons_of);
        return Ok(vec![Subject { model: alias.to_owned(), reasons, note: Some(note) }]);
    }
    Ok(row
        .targets
        .iter()
        .map(|t| Subject { model: format!("{}/{}", t.provider_id, t.model), reasons: reasons_of(t), note: None })
        .collect())
}
