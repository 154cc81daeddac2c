//! Aliases: the stable names apps use. Mirrors `ui/src/api/aliases.ts`.

use serde::{Deserialize, Serialize};
use switchboard_gateway::store::{AliasRow, TargetRow};
use tauri::State;

use super::providers::reload;
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDto {
    pub provider_id: String,
    pub model: String,
    pub weight: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasDto {
    pub name: String,
    pub description: Option<String>,
    /// `fallback` or `weighted`.
    pub strategy: String,
    /// `params`, `forced_params`, `system_prefix`, `timeouts`, as in the config file.
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
