//! Apps: who may call the local endpoint. Mirrors `ui/src/api/apps.ts`. A token is returned once, when it is made.

use serde::{Deserialize, Serialize};
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
    pub has_token: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<AppRow> for AppDto {
    fn from(row: AppRow) -> AppDto {
        AppDto {
            id: row.id,
            name: row.name,
            builtin: row.builtin,
            enabled: row.enabled,
            allowed_aliases: row.allowed_aliases,
            budget: read_budget(row.budget.as_ref()),
            has_token: row.has_token,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInput {
    pub name: String,
    pub allowed_aliases: Option<Vec<String>>,
}

/// An existing app's name, allowed aliases and budget.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppUpdate {
    pub name: String,
    /// `null` for every alias.
    pub allowed_aliases: Option<Vec<String>>,
    pub budget: Option<BudgetDto>,
}

/// A new token, shown once.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    pub app: AppDto,
    pub token: String,
}

#[tauri::command]
pub async fn list_apps(gateway: State<'_, Gateway>) -> Result<Vec<AppDto>, CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.list_apps()?.into_iter().map(AppDto::from).collect())).await
}

#[tauri::command]
pub async fn create_app(gateway: State<'_, Gateway>, app: AppInput) -> Result<NewToken, CommandError> {
    let name = app.name.trim().to_owned();
    if name.is_empty() {
        return Err(CommandError::Invalid("give the app a name, e.g. \"VS Code – Continue\"".into()));
    }
    let spec = AppSpec { name, allowed_aliases: app.allowed_aliases, budget: None };
    let store = gateway.store().clone();
    let (row, token) = blocking(move || Ok(store.create_app(&spec)?)).await?;
    reload(&gateway).await?;
    Ok(NewToken { app: row.into(), token })
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
    Ok(NewToken { app: row.into(), token })
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

/// Renames an app, limits its aliases and sets its budget; applies to its next request.
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
    let spec = AppSpec { name, allowed_aliases: app.allowed_aliases, budget };
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
    Ok(row.into())
}
