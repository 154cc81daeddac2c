//! Prices: where they come from (the shipped snapshot, the latest catalog import, the user's own prices), "Update
//! prices" from the public catalog, and the user's price for a model (added from the Usage page's unpriced list,
//! removed in Settings). Mirrors `ui/src/api/prices.ts`. Every change reloads the ledger's prices (and, after an
//! import, the router's capabilities), so the next request is priced and routed with it.

use serde::{Deserialize, Serialize};
use switchboard_gateway::catalog::{self, Source, UpdateSummary};
use switchboard_gateway::ledger::prices::{self, PriceOverride, Prices};
use switchboard_gateway::store::{PriceImportRow, Store, now_ms};
use tauri::State;

use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// Where prices come from now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PriceStatus {
    /// The shipped snapshot's date (the oldest layer).
    pub shipped_version: String,
    /// The newest catalog import, if any.
    pub last_import: Option<PriceImportDto>,
    /// What "Update prices" reads.
    pub catalog_url: String,
    /// The user's own prices, which win over everything.
    pub overrides: Vec<PriceOverrideDto>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PriceImportDto {
    /// What rows priced by it carry as their price version (`catalog#3 2026-12-07`).
    pub version: String,
    pub effective_ms: i64,
    pub source: String,
    pub models: u64,
    pub models_added: u64,
    pub prices_changed: u64,
    /// "12 models added, 3 prices changed, in effect from …".
    pub summary: String,
}

/// The user's price for a provider (its id, or a preset id for every provider of that kind) and model: USD per
/// million tokens; `null` keeps the catalog's price for that part.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PriceOverrideDto {
    pub provider: String,
    /// A model id, or the start of one (`gpt-4o` also prices `gpt-4o-2024-08-06`).
    pub model: String,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cached_input: Option<f64>,
    pub cache_write: Option<f64>,
    /// Hour-long cache writes; `null` keeps the catalog's price, or twice `input` when only that is set here.
    pub cache_write_1h: Option<f64>,
}

#[tauri::command]
pub async fn price_status(gateway: State<'_, Gateway>) -> Result<PriceStatus, CommandError> {
    let store = gateway.store().clone();
    blocking(move || status(&store)).await
}

/// Reads the public catalog (never at start-up: only when asked), stores the prices that changed, in effect from
/// now, and applies them and the catalog's capabilities. A failed or malformed download changes nothing.
#[tauri::command]
pub async fn update_prices(gateway: State<'_, Gateway>) -> Result<PriceImportDto, CommandError> {
    let store = gateway.store().clone();
    let summary = catalog::update(&store, &catalog_source(), now_ms())
        .await
        .map_err(|e| CommandError::Upstream(e.with_outcome()))?;
    apply(&gateway).await?;
    Ok(import_dto(&summary))
}

#[tauri::command]
pub async fn set_price_override(gateway: State<'_, Gateway>, price: PriceOverrideDto) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || {
        Ok(store.put_price_override(&PriceOverride {
            provider: price.provider.trim().to_owned(),
            model: price.model.trim().to_owned(),
            input: price.input,
            output: price.output,
            cached_input: price.cached_input,
            cache_write: price.cache_write,
            cache_write_1h: price.cache_write_1h,
        })?)
    })
    .await?;
    apply(&gateway).await
}

#[tauri::command]
pub async fn delete_price_override(
    gateway: State<'_, Gateway>,
    provider: String,
    model: String,
) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.delete_price_override(&provider, &model)?)).await?;
    apply(&gateway).await
}

/// Prices the next rows with what the store now holds, and routes with the newest import's capabilities.
async fn apply(gateway: &Gateway) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    let (prices, imported) = blocking(move || {
        let prices = Prices::load(&store).map_err(|e| CommandError::Reload(e.to_string()))?;
        Ok((prices, catalog::imported_capabilities(&store)?))
    })
    .await?;
    if let Some(ledger) = gateway.ledger() {
        ledger.set_prices(prices);
    }
    if let Some(state) = gateway.state() {
        state.set_model_catalog(imported);
    }
    Ok(())
}

/// The public catalog; a debug build reads `SWITCHBOARD_PRICES_URL` (a URL or file) so tests point it at a local
/// fake. A release build never does.
fn catalog_source() -> Source {
    #[cfg(debug_assertions)]
    if let Ok(from) = std::env::var("SWITCHBOARD_PRICES_URL") {
        return Source::parse(&from);
    }
    Source::default()
}

fn status(store: &Store) -> Result<PriceStatus, CommandError> {
    let shipped = Prices::shipped().map_err(|e| CommandError::Invalid(e.to_string()))?;
    Ok(PriceStatus {
        shipped_version: shipped.version().to_owned(),
        last_import: store.latest_price_import()?.map(|row| row_dto(&row)),
        catalog_url: catalog_source().label(),
        overrides: store
            .price_overrides()?
            .into_iter()
            .map(|o| PriceOverrideDto {
                provider: o.provider,
                model: o.model,
                input: o.input,
                output: o.output,
                cached_input: o.cached_input,
                cache_write: o.cache_write,
                cache_write_1h: o.cache_write_1h,
            })
            .collect(),
    })
}

fn row_dto(row: &PriceImportRow) -> PriceImportDto {
    import_dto(&UpdateSummary {
        import_id: row.id,
        version: prices::import_version(row.id, row.effective_ms),
        effective_ms: row.effective_ms,
        source: row.source.clone(),
        models: row.models,
        models_added: row.models_added,
        prices_changed: row.prices_changed,
        skipped: 0,
    })
}

fn import_dto(summary: &UpdateSummary) -> PriceImportDto {
    PriceImportDto {
        version: summary.version.clone(),
        effective_ms: summary.effective_ms,
        source: summary.source.clone(),
        models: summary.models,
        models_added: summary.models_added,
        prices_changed: summary.prices_changed,
        summary: summary.describe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_the_snapshot_the_latest_import_and_the_users_prices() {
        let store = Store::open_in_memory().unwrap();
        let first = status(&store).unwrap();
        assert_eq!((first.shipped_version.as_str(), first.last_import.is_none()), ("2026-11-25", true));
        let doc = br#"{"openai": {"models": {"gpt-9": {"id": "gpt-9", "cost": {"input": 1, "output": 2}}}}}"#;
        catalog::apply(&store, doc, &Source::File("api.json".into()), 1_800_000_000_000).unwrap();
        store
            .put_price_override(&PriceOverride {
                provider: "oa".into(),
                model: "house".into(),
                input: Some(1.0),
                cache_write_1h: Some(2.5),
                ..Default::default()
            })
            .unwrap();
        let now = status(&store).unwrap();
        let import = now.last_import.unwrap();
        assert_eq!((import.models_added, import.source.as_str()), (1, "api.json"));
        assert!(import.summary.starts_with("1 model added, 0 prices changed"), "{}", import.summary);
        assert_eq!(now.overrides.len(), 1);
        assert_eq!((now.overrides[0].input, now.overrides[0].cache_write_1h), (Some(1.0), Some(2.5)));
    }
}
