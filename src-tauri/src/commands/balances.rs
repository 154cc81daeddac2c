//! Provider balances on the Providers page: the latest reading of each provider that has a balance endpoint
//! (OpenRouter, DeepSeek, Moonshot), read again when older than a few minutes, or at once with the refresh button.
//! Mirrors `ui/src/api/balances.ts`. Keys never appear in a reply: errors are scrubbed by the provider.

use serde::Serialize;
use switchboard_gateway::providers::balance::{Amount, Balances, Reader, Reading};
use switchboard_gateway::store::now_ms;
use tauri::State;

use crate::error::CommandError;
use crate::gateway::Gateway;

/// A provider's balance as last read.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BalanceDto {
    pub provider_id: String,
    /// When it was read (unix ms).
    pub read_at_ms: i64,
    pub amounts: Vec<AmountDto>,
    /// `false` when the provider says the account cannot make requests now.
    pub usable: bool,
    /// Why it could not be read, with what to do.
    pub error: Option<String>,
    /// Whether the lowest amount is under the low-balance line (`lowBelow`, in its own currency).
    pub low: bool,
    pub low_below: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AmountDto {
    pub label: String,
    pub remaining: f64,
    pub total: Option<f64>,
    pub currency: String,
    pub note: Option<String>,
}

/// The balances of every enabled provider with a balance endpoint, reading those last read more than a few minutes
/// ago (or never).
#[tauri::command]
pub async fn provider_balances(gateway: State<'_, Gateway>) -> Result<Vec<BalanceDto>, CommandError> {
    let low_below = gateway.low_balance().await;
    Ok(gateway.refresh_balances(Balances::AUTO_EVERY).await.iter().map(|(id, r)| dto(id, r, low_below)).collect())
}

/// Reads one provider's balance now (unless it was read in the last few seconds).
#[tauri::command]
pub async fn refresh_balance(gateway: State<'_, Gateway>, provider_id: String) -> Result<BalanceDto, CommandError> {
    let state = gateway.state().ok_or_else(|| CommandError::Upstream("the gateway is not running".into()))?;
    let provider =
        state.resolver().registry().get(&provider_id).cloned().ok_or_else(|| {
            CommandError::Invalid(format!("provider {provider_id:?} is not enabled; enable it first"))
        })?;
    if Reader::for_preset(provider.preset().id).is_none() {
        return Err(CommandError::Invalid(format!(
            "{} does not publish a balance for API keys",
            provider.preset().name
        )));
    }
    let reading = gateway.balances().refresh(provider.as_ref(), Balances::MANUAL_EVERY, now_ms()).await;
    gateway.refresh_tray_soon();
    Ok(dto(&provider_id, &reading, gateway.low_balance().await))
}

pub fn dto(provider_id: &str, reading: &Reading, low_below: f64) -> BalanceDto {
    let (amounts, usable, error) = match &reading.result {
        Ok(balance) => (balance.amounts.iter().map(amount).collect(), balance.usable, None),
        Err(error) => (Vec::new(), true, Some(error.to_string())),
    };
    let low = reading.result.as_ref().ok().and_then(|b| b.lowest()).is_some_and(|a| a.remaining < low_below);
    BalanceDto {
        provider_id: provider_id.to_owned(),
        read_at_ms: reading.at_ms,
        amounts,
        usable,
        error,
        low,
        low_below,
    }
}

fn amount(a: &Amount) -> AmountDto {
    AmountDto {
        label: a.label.clone(),
        remaining: a.remaining,
        total: a.total,
        currency: a.currency.clone(),
        note: a.note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use switchboard_gateway::providers::balance::{Balance, BalanceError};

    use super::*;

    #[test]
    fn a_reading_becomes_what_the_page_shows() {
        let balance = Balance {
            read_at_ms: 7,
            usable: true,
            amounts: vec![Amount {
                label: "Credits".into(),
                remaining: 4.5,
                total: Some(10.0),
                currency: "USD".into(),
                note: None,
            }],
        };
        let shown = dto("or", &Reading { at_ms: 7, result: Ok(balance) }, 5.0);
        assert_eq!((shown.low, shown.amounts.len(), shown.error), (true, 1, None));
        let failed = dto("ds", &Reading { at_ms: 8, result: Err(BalanceError::NoKey { provider: "ds".into() }) }, 5.0);
        assert_eq!(
            (failed.low, failed.error.as_deref()),
            (false, Some("ds has no API key: add one to read its balance"))
        );
    }
}
