//! Apps: who may call the local endpoint, and how much. Mirrors `ui/src/api/apps.ts`. A token is returned once,
//! when it is made. Each app's rate limits are edited with it; the limits of all apps together have their own pair of
//! commands. The last limit each window hit comes from the running gateway's memory.

use serde::{Deserialize, Serialize};
use switchboard_gateway::apps::LimitHits;
use switchboard_gateway::limits::{LimitHit, Limits};
use switchboard_gateway::store::{AppRow, AppSpec};
use tauri::State;

use super::providers::reload;
use super::usage::{BudgetDto, read_budget};
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppDto {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub enabled: bool,
    pub allowed_aliases: Option<Vec<String>>,
    /// Its spend limits; `None` for none.
    pub budget: Option<BudgetDto>,
    pub limits: LimitsDto,
    /// The last time one of its own limits refused a request (since they were set or the app started).
    pub last_limit_hit: Option<LimitHitDto>,
    pub has_token: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl AppDto {
    fn new(row: AppRow, hits: &LimitHits) -> AppDto {
        let hit = hits.apps.iter().find(|(id, _, _)| *id == Some(row.id)).map(|(_, _, hit)| LimitHitDto::from(*hit));
        AppDto {
            id: row.id,
            name: row.name,
            builtin: row.builtin,
            enabled: row.enabled,
            allowed_aliases: row.allowed_aliases,
            budget: read_budget(row.budget.as_ref()),
            limits: row.limits.into(),
            last_limit_hit: hit,
            has_token: row.has_token,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// Rate limits as the Apps page edits them; `null` for no limit. The same numbers as `limits` in the config file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LimitsDto {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens (input and output) per minute.
    pub tpm: Option<u64>,
    /// Requests at once.
    pub concurrent: Option<u32>,
    /// How many times a minute the same request may be sent (apps only).
    pub loop_guard: Option<u32>,
}

impl From<Limits> for LimitsDto {
    fn from(l: Limits) -> LimitsDto {
        LimitsDto { rpm: l.rpm, tpm: l.tpm, concurrent: l.concurrent, loop_guard: l.loop_guard }
    }
}

impl From<LimitsDto> for Limits {
    fn from(l: LimitsDto) -> Limits {
        Limits { rpm: l.rpm, tpm: l.tpm, concurrent: l.concurrent, loop_guard: l.loop_guard }
    }
}

/// A limit that refused a request, and when.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LimitHitDto {
    /// `60 requests per minute`, `4 requests at once`, `the same request 5 times in a minute`, …
    pub limit: String,
    pub at_ms: i64,
}

impl From<LimitHit> for LimitHitDto {
    fn from(hit: LimitHit) -> LimitHitDto {
        LimitHitDto { limit: hit.limit.describe(), at_ms: hit.at_ms }
    }
}

/// The limits of all apps together, and the last time they refused a request.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AllAppsLimits {
    pub limits: LimitsDto,
    pub last_hit: Option<LimitHitDto>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInput {
    pub name: String,
    pub allowed_aliases: Option<Vec<String>>,
    /// Every limit `null` for none.
    #[serde(default)]
    pub limits: LimitsDto,
}

/// An existing app's name, allowed aliases, budget and limits.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppUpdate {
    pub name: String,
    /// `null` for every alias.
    pub allowed_aliases: Option<Vec<String>>,
    pub budget: Option<BudgetDto>,
    pub limits: LimitsDto,
}

/// A new token, shown once.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    pub app: AppDto,
    pub token: String,
}

/// Which limits last refused a request, from the running gateway (none while it is not running).
fn limit_hits(gateway: &Gateway) -> LimitHits {
    gateway.state().map(|state| state.limit_hits()).unwrap_or_default()
}

#[tauri::command]
pub async fn list_apps(gateway: State<'_, Gateway>) -> Result<Vec<AppDto>, CommandError> {
    let store = gateway.store().clone();
    let hits = limit_hits(&gateway);
    blocking(move || Ok(store.list_apps()?.into_iter().map(|row| AppDto::new(row, &hits)).collect())).await
}

#[tauri::command]
pub async fn create_app(gateway: State<'_, Gateway>, app: AppInput) -> Result<NewToken, CommandError> {
    let name = app.name.trim().to_owned();
    if name.is_empty() {
        return Err(CommandError::Invalid("give the app a name, e.g. \"VS Code – Continue\"".into()));
    }
    let spec = AppSpec { name, allowed_aliases: app.allowed_aliases, budget: None, limits: app.limits.into() };
    let store = gateway.store().clone();
    let (row, token) = blocking(move || Ok(store.create_app(&spec)?)).await?;
    reload(&gateway).await?;
    Ok(NewToken { app: AppDto::new(row, &LimitHits::default()), token })
}

/// A new token for the app; the old one stops working at once. The app keeps its history.
#[tauri::command]
pub async fn rotate_app_token(gateway: State<'_, Gateway>, id: i64) -> Result<NewToken, CommandError> {
    let store = gateway.store().clone();
    let (row, token) = blocking(move || {
        let token = store.rotate_token(id)?;
        let row = store.app(id)?.ok_or_else(|| CommandError::Invalid(format!("there is no app {id}")))?;
        Ok((row, token))
    })
    .await?;
    reload(&gateway).await?;
    let app = AppDto::new(row, &limit_hits(&gateway));
    Ok(NewToken { app, token })
}

#[tauri::command]
pub async fn set_app_enabled(gateway: State<'_, Gateway>, id: i64, enabled: bool) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.set_app_enabled(id, enabled)?)).await?;
    reload(&gateway).await
}

#[tauri::command]
pub async fn delete_app(gateway: State<'_, Gateway>, id: i64) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.delete_app(id)?)).await?;
    reload(&gateway).await
}

/// Renames an app, limits its aliases and sets its budget and rate limits; applies to its next request (its
/// rate-limit window keeps what it counted, under the new numbers).
#[tauri::command]
pub async fn update_app(gateway: State<'_, Gateway>, id: i64, app: AppUpdate) -> Result<AppDto, CommandError> {
    let name = app.name.trim().to_owned();
    if name.is_empty() {
        return Err(CommandError::Invalid("give the app a name, e.g. \"VS Code – Continue\"".into()));
    }
    if app.allowed_aliases.as_ref().is_some_and(Vec::is_empty) {
        return Err(CommandError::Invalid("allow at least one alias, or choose \"all aliases\"".into()));
    }
    let budget = match app.budget {
        Some(b) if b.daily_usd.is_some() || b.monthly_usd.is_some() => Some(b.to_json()?),
        _ => None,
    };
    let spec = AppSpec { name, allowed_aliases: app.allowed_aliases, budget, limits: app.limits.into() };
    let store = gateway.store().clone();
    let ledger = gateway.ledger();
    let row = blocking(move || {
        let row = store.update_app(id, &spec)?;
        if let Some(ledger) = ledger {
            ledger.reload_budgets(&store)?;
        }
        Ok(row)
    })
    .await?;
    reload(&gateway).await?;
    Ok(AppDto::new(row, &limit_hits(&gateway)))
}

#[tauri::command]
pub async fn get_all_apps_limits(gateway: State<'_, Gateway>) -> Result<AllAppsLimits, CommandError> {
    let store = gateway.store().clone();
    let limits = blocking(move || Ok(store.all_apps_limits()?)).await?;
    Ok(AllAppsLimits { limits: limits.into(), last_hit: limit_hits(&gateway).all_apps.map(LimitHitDto::from) })
}

/// Sets the limits of all apps together (every limit `null` removes them); applies to the next request.
#[tauri::command]
pub async fn set_all_apps_limits(
    gateway: State<'_, Gateway>,
    limits: LimitsDto,
) -> Result<AllAppsLimits, CommandError> {
    let store = gateway.store().clone();
    let limits = Limits::from(limits);
    blocking(move || Ok(store.set_all_apps_limits(&limits)?)).await?;
    reload(&gateway).await?;
    get_all_apps_limits(gateway).await
}
