//! Aliases: the stable names apps use. Mirrors `ui/src/api/aliases.ts`.
//!
//! `try_alias` sends one short prompt through an alias the way the Chat page does (the in-process relay, as the
//! built-in "Chat window" app, recorded in the ledger like any request) and answers with what happened: the answer,
//! the target that gave it, every attempt, tokens, cost and latency.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_gateway::apps::App;
use switchboard_gateway::chat::Answer;
use switchboard_gateway::ledger::prices::{self, Prices};
use switchboard_gateway::routing::Catalog;
use switchboard_gateway::server::inprocess;
use switchboard_gateway::store::{AliasRow, TargetRow};
use tauri::State;

use super::logs::RequestDto;
use super::providers::reload;
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TargetDto {
    pub provider_id: String,
    pub model: String,
    pub weight: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AliasDto {
    pub name: String,
    pub description: Option<String>,
    /// `fallback` or `weighted`.
    #[cfg_attr(test, ts(type = "\"fallback\" | \"weighted\""))]
    pub strategy: String,
    /// `params`, `forced_params`, `system_prefix`, `timeouts`, as in the config file: free-form JSON here, its shape
    /// described for the page by `AliasSettings` in `ui/src/api/types.ts`.
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub settings: serde_json::Value,
    pub targets: Vec<TargetDto>,
}

#[tauri::command]
pub async fn list_aliases(gateway: State<'_, Gateway>) -> Result<Vec<AliasDto>, CommandError> {
    let store = gateway.store().clone();
    blocking(move || {
        Ok(store
            .list_aliases()?
            .into_iter()
            .map(|a| AliasDto {
                name: a.name,
                description: a.description,
                strategy: a.strategy,
                settings: a.settings,
                targets: a
                    .targets
                    .into_iter()
                    .map(|t| TargetDto { provider_id: t.provider_id, model: t.model, weight: t.weight })
                    .collect(),
            })
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn save_alias(gateway: State<'_, Gateway>, alias: AliasDto) -> Result<(), CommandError> {
    let name = alias.name.trim().to_owned();
    if name.is_empty() || name.contains('/') {
        return Err(CommandError::Invalid("an alias name needs letters or digits, and no '/'".into()));
    }
    if alias.targets.is_empty() {
        return Err(CommandError::Invalid(format!("alias {name:?} needs at least one target")));
    }
    if !matches!(alias.strategy.as_str(), "fallback" | "weighted") {
        return Err(CommandError::Invalid("strategy must be \"fallback\" or \"weighted\"".into()));
    }
    let row = AliasRow {
        description: alias.description,
        strategy: alias.strategy,
        settings: if alias.settings.is_null() { serde_json::json!({}) } else { alias.settings },
        is_default: false,
        ..AliasRow::new(
            name,
            alias
                .targets
                .into_iter()
                .map(|t| TargetRow { weight: t.weight.max(1), ..TargetRow::new(t.provider_id, t.model) })
                .collect(),
        )
    };
    let store = gateway.store().clone();
    blocking(move || Ok(store.put_alias(&row)?)).await?;
    reload(&gateway).await
}

#[tauri::command]
pub async fn delete_alias(gateway: State<'_, Gateway>, name: String) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.delete_alias(&name)?)).await?;
    reload(&gateway).await
}

/// Longest prompt "Try it" sends, in characters.
const TRY_PROMPT_LIMIT: usize = 4000;

/// What one "Try it" prompt did.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TryResult {
    /// The answer's text, to be shown as text (never as HTML).
    pub text: String,
    /// `provider/model` that answered, from the routing header (the ledger row says it too, when it came).
    pub target: Option<String>,
    /// Why there is no (whole) answer; `null` when it came.
    pub error: Option<TryError>,
    /// The request's ledger row: attempts, tokens, cost, latency. `null` when the gateway refused it before
    /// routing (no such alias, no capable target), which writes no row.
    pub request: Option<RequestDto>,
    /// Time from sending to the end of the answer, as the page waited for it.
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TryError {
    /// The HTTP status a client would have got (`200` when the stream broke part-way).
    pub status: u16,
    pub message: String,
}

/// Sends `prompt` through `alias` and reports what happened. Upstream and gateway errors are part of the result
/// (with the attempts that led to them); only "cannot send at all" is a command error.
#[tauri::command]
pub async fn try_alias(gateway: State<'_, Gateway>, alias: String, prompt: String) -> Result<TryResult, CommandError> {
    let prompt = prompt.trim().to_owned();
    if prompt.is_empty() {
        return Err(CommandError::Invalid("write a short prompt to send first".into()));
    }
    if prompt.chars().count() > TRY_PROMPT_LIMIT {
        return Err(CommandError::Invalid(format!(
            "the prompt is longer than {TRY_PROMPT_LIMIT} characters; use the Chat page for long ones"
        )));
    }
    let Some(state) = gateway.state() else {
        return Err(CommandError::Upstream(
            "the gateway has not started; the header says why (fix that, then try again)".into(),
        ));
    };
    let store = gateway.store().clone();
    let app_row = {
        let store = store.clone();
        blocking(move || Ok(store.chat_window_app()?)).await?
    };
    if !app_row.enabled {
        return Err(CommandError::Invalid("the Chat window app is disabled; enable it in Apps to try aliases".into()));
    }
    let app = App {
        id: Some(app_row.id),
        name: app_row.name.clone(),
        allowed_aliases: app_row.allowed_aliases,
        ..App::default()
    };
    // No `max_tokens` of our own: the alias's parameters apply as for any app, and OpenAI's reasoning models refuse
    // `max_tokens` (a low cap would also leave them nothing to answer with after thinking).
    let body = json!({ "model": alias, "messages": [{ "role": "user", "content": prompt }] });
    let started = Instant::now();
    let (ticket, receipt) = inprocess::ticket();
    let (text, target, error) = match inprocess::chat(&state, app, body, Some(ticket)).await {
        Ok(mut reply) => {
            let mut answer = Answer::default();
            while let Some(delta) = reply.next().await {
                answer.push(&delta);
            }
            let error = answer.error.clone().map(|message| TryError { status: 200, message });
            (answer.text, reply.target.clone(), error)
        }
        Err(e) => (String::new(), None, Some(TryError { status: e.status, message: e.message })),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Refusals before routing (an unknown alias, no capable target) write no row: the receipt says so at once.
    let request = inprocess::ledger_row(&state, &store, receipt).await.map(RequestDto::from);
    let target = request
        .as_ref()
        .and_then(|r| Some(format!("{}/{}", r.provider_id.as_deref()?, r.model.as_deref()?)))
        .or(target);
    Ok(TryResult { text, target, error, request, elapsed_ms })
}

/// What is known about one target: its capabilities (the shipped catalog, `None` where unknown) and its price per
/// million tokens (the shipped table and the user's overrides), for the alias editor.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ModelFacts {
    pub context_window: Option<u64>,
    pub max_output: Option<u64>,
    pub tools: Option<bool>,
    pub vision: Option<bool>,
    pub json_schema: Option<bool>,
    pub reasoning: Option<bool>,
    /// A model on this machine (Ollama, LM Studio): it costs nothing.
    pub local: bool,
    /// `null` when no price is known (its requests are recorded as unpriced).
    pub price: Option<PriceDto>,
}

/// USD per million tokens.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PriceDto {
    pub input: f64,
    pub output: f64,
    /// `null`: cached input is billed as input.
    pub cached_input: Option<f64>,
    /// Whether the user's override changed the shipped price.
    pub overridden: bool,
}

#[tauri::command]
pub async fn describe_model(
    gateway: State<'_, Gateway>,
    provider_id: String,
    model: String,
) -> Result<ModelFacts, CommandError> {
    let store = gateway.store().clone();
    // The running router's catalog (the user's [[models]] and the latest price catalog import included).
    let catalog = gateway.state().map(|s| s.resolver().catalog().clone());
    blocking(move || {
        let kind = store.provider(&provider_id)?.map(|p| p.kind);
        let catalog = catalog.unwrap_or_else(|| Catalog::new(&[]));
        let caps = catalog.lookup(&provider_id, kind.as_deref().unwrap_or("custom"), model.trim());
        let local = kind.as_deref().is_some_and(prices::is_local);
        let price = if local {
            None
        } else {
            Prices::load(&store)?.lookup(kind.as_deref(), Some(&provider_id), model.trim()).map(
                |(price, overridden)| PriceDto {
                    input: price.input,
                    output: price.output,
                    cached_input: price.cached_input,
                    overridden,
                },
            )
        };
        Ok(ModelFacts {
            context_window: caps.context_window,
            max_output: caps.max_output,
            tools: caps.tools,
            vision: caps.vision,
            json_schema: caps.json_schema,
            reasoning: caps.reasoning,
            local,
            price,
        })
    })
    .await
}
