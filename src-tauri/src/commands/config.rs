//! The configuration as a file (Settings page): export to TOML, preview an import, apply it. Mirrors
//! `ui/src/api/config.ts`. The work is `switchboard_gateway::store::portable`'s; keys stay in the keychain (the file
//! holds references) and app tokens are never written.

use std::path::PathBuf;

use serde::Serialize;
use switchboard_gateway::store::{ImportSummary, to_toml};
use tauri::State;

use super::settings::apply;
use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConfigExport {
    pub path: String,
    pub providers: u32,
    pub aliases: u32,
    pub apps: u32,
}

/// Added, changed, removed and unchanged items of one kind.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    pub added: u32,
    pub changed: u32,
    pub removed: u32,
    pub unchanged: u32,
}

/// A key the file names that this computer's keychain lacks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MissingKeyDto {
    pub provider: String,
    pub label: String,
}

/// What an import changes (the preview), or changed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    pub path: String,
    pub providers: ChangeCounts,
    pub aliases: ChangeCounts,
    pub apps: ChangeCounts,
    pub settings_changed: bool,
    /// Add these on the Providers page.
    pub missing_keys: Vec<MissingKeyDto>,
    /// New apps, whose token must be rotated on the Apps page before use.
    pub apps_needing_token: Vec<String>,
}

/// Writes the configuration as TOML to `path` (replacing the file).
#[tauri::command]
pub async fn export_config(gateway: State<'_, Gateway>, path: String) -> Result<ConfigExport, CommandError> {
    let path = absolute(&path)?;
    let store = gateway.store().clone();
    blocking(move || {
        let config = store.export_config()?;
        std::fs::write(&path, to_toml(&config)?).map_err(|e| {
            CommandError::Invalid(format!("cannot write {}: {e}; choose a folder you can write to", path.display()))
        })?;
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        Ok(ConfigExport {
            path: path.display().to_string(),
            providers: n(config.providers.len()),
            aliases: n(config.aliases.len()),
            apps: n(config.apps.len()),
        })
    })
    .await
}

/// Reads and checks the file at `path` and says what importing it would change. Changes nothing.
#[tauri::command]
pub async fn preview_config_import(gateway: State<'_, Gateway>, path: String) -> Result<ImportPreview, CommandError> {
    let path = absolute(&path)?;
    let (store, secrets) = (gateway.store().clone(), gateway.secrets().clone());
    blocking(move || {
        let text = read(&path)?;
        let plan = store.plan_import(&text, &path.display().to_string(), secrets.as_ref())?;
        Ok(preview(&path, plan.summary))
    })
    .await
}

/// Makes the configuration match the file at `path`, in one transaction, then applies it like a settings change.
#[tauri::command]
pub async fn import_config(gateway: State<'_, Gateway>, path: String) -> Result<ImportPreview, CommandError> {
    let path = absolute(&path)?;
    let (store, secrets) = (gateway.store().clone(), gateway.secrets().clone());
    let summary = blocking(move || {
        let text = read(&path)?;
        let plan = store.plan_import(&text, &path.display().to_string(), secrets.as_ref())?;
        Ok(preview(&path, store.apply_import(&plan)?))
    })
    .await?;
    apply(&gateway).await?;
    Ok(summary)
}

fn absolute(path: &str) -> Result<PathBuf, CommandError> {
    let path = PathBuf::from(path.trim());
    if !path.is_absolute() {
        return Err(CommandError::Invalid("give the full path of the file, e.g. /home/you/switchboard.toml".into()));
    }
    Ok(path)
}

fn read(path: &std::path::Path) -> Result<String, CommandError> {
    std::fs::read_to_string(path)
        .map_err(|e| CommandError::Invalid(format!("cannot read {}: {e}; check the path", path.display())))
}

fn preview(path: &std::path::Path, s: ImportSummary) -> ImportPreview {
    let counts = |c: switchboard_gateway::store::Changes| ChangeCounts {
        added: c.added,
        changed: c.changed,
        removed: c.removed,
        unchanged: c.unchanged,
    };
    ImportPreview {
        path: path.display().to_string(),
        providers: counts(s.providers),
        aliases: counts(s.aliases),
        apps: counts(s.apps),
        settings_changed: s.settings_changed,
        missing_keys: s
            .missing_keys
            .into_iter()
            .map(|k| MissingKeyDto { provider: k.provider, label: k.label })
            .collect(),
        apps_needing_token: s.apps_needing_token,
    }
}
