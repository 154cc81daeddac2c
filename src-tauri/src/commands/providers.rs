//! Providers and their keys. Mirrors `ui/src/api/providers.ts`. Keys go to the OS keychain; replies carry only a
//! key's label and last four characters.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use switchboard_gateway::providers::local::{self, Probe};
use switchboard_gateway::providers::presets;
use switchboard_gateway::providers::presets::PRESETS;
use switchboard_gateway::secrets::{SecretString, masked};
use switchboard_gateway::store::{ProviderRow, keychain_account};
use tauri::State;

use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// A provider Switchboard knows how to talk to; its `id` is the `kind` of a configured provider.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PresetDto {
    pub id: &'static str,
    pub name: &'static str,
    /// `null` when the user must give a base URL (Azure, custom).
    pub base_url: Option<&'static str>,
    pub needs_key: bool,
}

/// A key stored in the keychain: only its label and a hint such as `…abcd` ever leave the backend.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KeyDto {
    pub label: String,
    /// `…abcd`, or `set` for short keys: never more.
    pub hint: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProviderDto {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_version: Option<String>,
    pub enabled: bool,
    pub keys: Vec<KeyDto>,
}

/// What `save_provider` takes: an upsert keyed by `id`.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProviderInput {
    pub id: String,
    /// A preset id.
    pub kind: String,
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_version: Option<String>,
    pub enabled: bool,
}

/// The provider's model list, fetched with its stored key.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub models: Vec<String>,
    pub latency_ms: u64,
}

/// A local model server that answers on this computer and is not added yet.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LocalServerDto {
    /// The preset id (`ollama`, `lmstudio`): the provider kind to add.
    pub kind: String,
    pub name: String,
    /// The OpenAI-compatible base URL it answered on.
    pub base_url: String,
    pub models: u32,
}

#[tauri::command]
pub fn list_presets() -> Vec<PresetDto> {
    PRESETS.iter().map(|p| PresetDto { id: p.id, name: p.name, base_url: p.base_url, needs_key: p.needs_key }).collect()
}

#[tauri::command]
pub async fn list_providers(gateway: State<'_, Gateway>) -> Result<Vec<ProviderDto>, CommandError> {
    let store = gateway.store().clone();
    blocking(move || {
        let mut out = Vec::new();
        for row in store.list_providers()? {
            let keys = store
                .list_provider_keys(&row.id)?
                .into_iter()
                .map(|k| KeyDto { label: k.label, hint: k.last4.map(|l| format!("…{l}")) })
                .collect();
            out.push(ProviderDto {
                id: row.id,
                kind: row.kind,
                name: row.name,
                base_url: row.base_url,
                api_version: row.api_version,
                enabled: row.enabled,
                keys,
            });
        }
        Ok(out)
    })
    .await
}

#[tauri::command]
pub async fn save_provider(gateway: State<'_, Gateway>, provider: ProviderInput) -> Result<(), CommandError> {
    let Some(preset) = presets::find(&provider.kind) else {
        return Err(CommandError::Invalid(format!("{:?} is not a provider kind Switchboard knows", provider.kind)));
    };
    let id = provider.id.trim().to_owned();
    if id.is_empty() || id.contains('/') || id.contains(char::is_whitespace) {
        return Err(CommandError::Invalid("a provider id needs letters or digits, and no '/' or spaces".into()));
    }
    let base_url = provider.base_url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if let Some(url) = &base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(CommandError::Invalid(format!("{url:?} is not a URL: start it with https:// or http://")));
    }
    if preset.base_url.is_none() && base_url.is_none() {
        return Err(CommandError::Invalid(format!("{} needs a base URL", preset.name)));
    }
    let row = ProviderRow {
        name: provider.name.filter(|n| !n.trim().is_empty()),
        base_url,
        api_version: provider.api_version.filter(|v| !v.trim().is_empty()),
        enabled: provider.enabled,
        ..ProviderRow::new(id, provider.kind)
    };
    let store = gateway.store().clone();
    blocking(move || Ok(store.put_provider(&row)?)).await?;
    reload(&gateway).await
}

/// Deletes the provider and every key it had in the keychain.
#[tauri::command]
pub async fn delete_provider(gateway: State<'_, Gateway>, id: String) -> Result<(), CommandError> {
    let (store, secrets) = (gateway.store().clone(), gateway.secrets().clone());
    blocking(move || {
        for key in store.delete_provider(&id)? {
            secrets.delete(&key.keychain_account())?;
        }
        Ok(())
    })
    .await?;
    reload(&gateway).await
}

/// Stores `key` in the keychain under the provider's `label` (`default` for the first) and answers with its hint.
#[tauri::command]
pub async fn set_provider_key(
    gateway: State<'_, Gateway>,
    provider_id: String,
    label: Option<String>,
    key: String,
) -> Result<KeyDto, CommandError> {
    let key = SecretString::from(key.trim().to_owned());
    let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    let label = label.unwrap_or_else(|| switchboard_gateway::store::DEFAULT_KEY_LABEL.to_owned());
    let (store, secrets) = (gateway.store().clone(), gateway.secrets().clone());
    let dto = blocking(move || {
        if store.provider(&provider_id)?.is_none() {
            return Err(CommandError::Invalid(format!("there is no provider {provider_id:?}; add it first")));
        }
        let hint = masked(&key);
        let last4 = hint.strip_prefix('…').map(str::to_owned);
        secrets.set(&keychain_account(&provider_id, &label), &key)?;
        store.put_provider_key(&provider_id, &label, last4.as_deref())?;
        Ok(KeyDto { label, hint: Some(hint) })
    })
    .await?;
    reload(&gateway).await?;
    Ok(dto)
}

#[tauri::command]
pub async fn remove_provider_key(
    gateway: State<'_, Gateway>,
    provider_id: String,
    label: String,
) -> Result<(), CommandError> {
    let (store, secrets) = (gateway.store().clone(), gateway.secrets().clone());
    blocking(move || {
        secrets.delete(&keychain_account(&provider_id, &label))?;
        Ok(store.remove_provider_key(&provider_id, &label)?)
    })
    .await?;
    reload(&gateway).await
}

/// Lists the provider's models with its current key, as a check that the key and URL work.
#[tauri::command]
pub async fn test_provider(gateway: State<'_, Gateway>, id: String) -> Result<TestResult, CommandError> {
    let state = gateway.state().ok_or_else(|| CommandError::Upstream("the gateway is not running".into()))?;
    let resolver = state.resolver();
    let provider = resolver
        .registry()
        .get(&id)
        .cloned()
        .ok_or_else(|| CommandError::Invalid(format!("provider {id:?} is not enabled")))?;
    let started = Instant::now();
    let Some(request) = provider.models_request() else {
        let models = provider.preset().shipped_models.iter().map(|m| (*m).to_owned()).collect();
        return Ok(TestResult { models, latency_ms: 0 });
    };
    let response = request
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| CommandError::Upstream(provider.redact(&format!("could not reach {id}: {e}"))))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| j["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.chars().take(300).collect());
        return Err(CommandError::Upstream(provider.redact(&format!("{id} answered {status}: {message}"))));
    }
    let json: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| CommandError::Upstream(format!("{id} sent a model list Switchboard could not read: {e}")))?;
    Ok(TestResult { models: provider.parse_models(&json), latency_ms: started.elapsed().as_millis() as u64 })
}

/// Ollama and LM Studio when they answer on their default loopback ports (300 ms each, all at once), leaving out
/// those a provider already points at.
#[tauri::command]
pub async fn detect_local_providers(gateway: State<'_, Gateway>) -> Result<Vec<LocalServerDto>, CommandError> {
    let store = gateway.store().clone();
    let rows = blocking(move || Ok(store.list_providers()?)).await?;
    let found = local::detect(&local_probes()).await;
    Ok(found
        .into_iter()
        .filter(|server| !rows.iter().any(|r| local::is_same(server, &r.kind, r.base_url.as_deref())))
        .map(|server| LocalServerDto {
            kind: server.preset.id.to_owned(),
            name: server.preset.name.to_owned(),
            base_url: server.base_url,
            models: u32::try_from(server.models).unwrap_or(u32::MAX),
        })
        .collect())
}

/// The default ports, or in a debug build the `SWITCHBOARD_LOCAL_PROBES` list
/// (`ollama=http://127.0.0.1:<port>,…`) the window tests point at a fake server. `Probe` accepts loopback origins
/// only, so even that list cannot make the app call another machine; a release build never reads it.
fn local_probes() -> Vec<Probe> {
    #[cfg(debug_assertions)]
    if let Ok(list) = std::env::var("SWITCHBOARD_LOCAL_PROBES") {
        match Probe::parse_list(&list) {
            Ok(probes) => return probes,
            Err(error) => tracing::warn!("SWITCHBOARD_LOCAL_PROBES ignored: {error}"),
        }
    }
    Probe::defaults()
}

pub(super) async fn reload(gateway: &Gateway) -> Result<(), CommandError> {
    gateway.reload().await.map_err(CommandError::Reload)
}
