//! What is left to spend at a provider, where its API says so with the key alone: OpenRouter (`GET /key`, the key's
//! limit and usage, and `GET /credits`, the account's credits, which needs a management key and is skipped when
//! refused), DeepSeek (`GET /user/balance`) and Moonshot/Kimi (`GET /v1/users/me/balance`). Other providers publish no
//! such endpoint for an API key.
//!
//! Read only when asked (the Providers page, its refresh button) or by a timer of at most one read every few
//! minutes; never at start-up and never on the request path. The key goes only in the `Authorization` header; any
//! text from the provider is scrubbed of it before it is shown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::Provider;

/// How long one balance read may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The providers with a balance endpoint, by preset id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    OpenRouter,
    DeepSeek,
    Moonshot,
}

impl Reader {
    pub fn for_preset(preset: &str) -> Option<Reader> {
        match preset {
            "openrouter" => Some(Reader::OpenRouter),
            "deepseek" => Some(Reader::DeepSeek),
            "moonshot" => Some(Reader::Moonshot),
            _ => None,
        }
    }
}

/// One figure of a balance: an account's credit, or a key's spending limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    /// `Credits`, `Key limit`, `Balance`.
    pub label: String,
    pub remaining: f64,
    /// What it was out of, when the provider says (credits bought, the key's limit).
    pub total: Option<f64>,
    /// `USD`, `CNY`.
    pub currency: String,
    /// More to say: `resets monthly`, `10.00 granted, 100.00 topped up`.
    pub note: Option<String>,
}

/// A provider's balance as read at `read_at_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub read_at_ms: i64,
    /// Most telling first.
    pub amounts: Vec<Amount>,
    /// `false` when the provider says the account cannot make requests now (no balance left).
    pub usable: bool,
}

impl Balance {
    /// The smallest amount left, in its currency: what "low" is judged on.
    pub fn lowest(&self) -> Option<&Amount> {
        self.amounts.iter().min_by(|a, b| a.remaining.total_cmp(&b.remaining))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BalanceError {
    #[error("{provider} has no balance endpoint Switchboard knows")]
    Unsupported { provider: String },
    #[error("{provider} has no API key: add one to read its balance")]
    NoKey { provider: String },
    #[error("could not reach {provider} to read its balance: {reason}; check the connection and refresh")]
    Unreachable { provider: String, reason: String },
    #[error("{provider} refused the balance request ({status}): check that the key is valid and may read its usage")]
    Refused { provider: String, status: u16 },
    #[error("{provider} answered the balance request with {status}: {body}; refresh later")]
    Failed { provider: String, status: u16, body: String },
    #[error("{provider} sent a balance Switchboard could not read: {reason}")]
    Unreadable { provider: String, reason: String },
}

/// Reads `provider`'s balance now.
pub async fn read(provider: &dyn Provider, now_ms: i64) -> Result<Balance, BalanceError> {
    let id = provider.id().to_owned();
    let reader =
        Reader::for_preset(provider.preset().id).ok_or_else(|| BalanceError::Unsupported { provider: id.clone() })?;
    let endpoint = provider.endpoint();
    let key = match endpoint.key() {
        Ok(Some(key)) => key.to_owned(),
        _ => return Err(BalanceError::NoKey { provider: id }),
    };
    let get = |url: String| {
        let (http, key, id) = (endpoint.http.clone(), key.clone(), id.clone());
        async move {
            let response = http
                .get(&url)
                .bearer_auth(&key)
                .header("accept", "application/json")
                .timeout(TIMEOUT)
                .send()
                .await
                .map_err(|e| BalanceError::Unreachable {
                    provider: id.clone(),
                    reason: provider.redact(&e.to_string()),
                })?;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            match status {
                200..=299 => serde_json::from_str::<Value>(&body)
                    .map_err(|e| BalanceError::Unreadable { provider: id, reason: e.to_string() }),
                401 | 403 => Err(BalanceError::Refused { provider: id, status }),
                _ => Err(BalanceError::Failed {
                    provider: id,
                    status,
                    body: provider.redact(&body.chars().take(200).collect::<String>()),
                }),
            }
        }
    };
    let unreadable = |reason: String| BalanceError::Unreadable { provider: id.clone(), reason };
    let base = endpoint.base_url.trim_end_matches('/');
    match reader {
        Reader::OpenRouter => {
            let key_info = get(format!("{base}/key")).await?;
            let mut balance = openrouter_key(&key_info, now_ms).map_err(unreadable)?;
            // The account's credits need a management key; an ordinary key is refused, and the key's own figures
            // are then all there is.
            match get(format!("{base}/credits")).await {
                Ok(credits) => balance.amounts.insert(0, openrouter_credits(&credits).map_err(unreadable)?),
                Err(BalanceError::Refused { .. }) => {}
                Err(error) => return Err(error),
            }
            Ok(balance)
        }
        Reader::DeepSeek => {
            // The balance lives beside the API, not under `/v1`.
            let root = base.strip_suffix("/v1").unwrap_or(base);
            deepseek(&get(format!("{root}/user/balance")).await?, now_ms).map_err(unreadable)
        }
        Reader::Moonshot => {
            let currency = if base.contains("moonshot.cn") { "CNY" } else { "USD" };
            moonshot(&get(format!("{base}/users/me/balance")).await?, currency, now_ms).map_err(unreadable)
        }
    }
}

/// OpenRouter's `GET /key`: `{"data": {"limit": 10 | null, "limit_remaining": 7.5 | null, "limit_reset": "monthly" |
/// null, "usage": 2.5, "is_free_tier": false, …}}`.
fn openrouter_key(body: &Value, now_ms: i64) -> Result<Balance, String> {
    #[derive(Deserialize)]
    struct Key {
        #[serde(default)]
        limit: Option<f64>,
        #[serde(default)]
        limit_remaining: Option<f64>,
        #[serde(default)]
        limit_reset: Option<String>,
        #[serde(default)]
        usage: Option<f64>,
        #[serde(default)]
        is_free_tier: bool,
    }
    let key: Key =
        serde_json::from_value(body.get("data").cloned().ok_or("no \"data\" object")?).map_err(|e| e.to_string())?;
    let mut amounts = Vec::new();
    if let Some(limit) = key.limit {
        let remaining = key.limit_remaining.unwrap_or(limit - key.usage.unwrap_or(0.0));
        let note = key.limit_reset.map(|r| format!("resets {r}"));
        amounts.push(Amount { label: "Key limit".into(), remaining, total: Some(limit), currency: "USD".into(), note });
    }
    let usable = amounts.iter().all(|a| a.remaining > 0.0) || key.is_free_tier;
    Ok(Balance { read_at_ms: now_ms, amounts, usable })
}

/// OpenRouter's `GET /credits`: `{"data": {"total_credits": 100.5, "total_usage": 25.75}}`.
fn openrouter_credits(body: &Value) -> Result<Amount, String> {
    #[derive(Deserialize)]
    struct Credits {
        total_credits: f64,
        total_usage: f64,
    }
    let credits: Credits =
        serde_json::from_value(body.get("data").cloned().ok_or("no \"data\" object")?).map_err(|e| e.to_string())?;
    Ok(Amount {
        label: "Credits".into(),
        remaining: credits.total_credits - credits.total_usage,
        total: Some(credits.total_credits),
        currency: "USD".into(),
        note: None,
    })
}

/// DeepSeek's `GET /user/balance`: `{"is_available": true, "balance_infos": [{"currency": "CNY", "total_balance":
/// "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]}` (amounts are strings).
fn deepseek(body: &Value, now_ms: i64) -> Result<Balance, String> {
    #[derive(Deserialize)]
    struct Info {
        currency: String,
        total_balance: String,
        #[serde(default)]
        granted_balance: Option<String>,
        #[serde(default)]
        topped_up_balance: Option<String>,
    }
    #[derive(Deserialize)]
    struct Body {
        #[serde(default = "yes")]
        is_available: bool,
        balance_infos: Vec<Info>,
    }
    fn yes() -> bool {
        true
    }
    let body: Body = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    let amounts = body
        .balance_infos
        .into_iter()
        .map(|info| {
            let remaining = info
                .total_balance
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{:?} is not an amount", info.total_balance))?;
            let note = match (info.granted_balance, info.topped_up_balance) {
                (Some(granted), Some(topped)) => Some(format!("{granted} granted, {topped} topped up")),
                _ => None,
            };
            Ok(Amount { label: "Balance".into(), remaining, total: None, currency: info.currency, note })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Balance { read_at_ms: now_ms, amounts, usable: body.is_available })
}

/// Moonshot's `GET /v1/users/me/balance`: `{"code": 0, "data": {"available_balance": 49.58, "voucher_balance":
/// 46.58, "cash_balance": 3.0}, "scode": "0x0", "status": true}`; USD at api.moonshot.ai, CNY at api.moonshot.cn.
fn moonshot(body: &Value, currency: &str, now_ms: i64) -> Result<Balance, String> {
    #[derive(Deserialize)]
    struct Data {
        available_balance: f64,
        #[serde(default)]
        voucher_balance: Option<f64>,
        #[serde(default)]
        cash_balance: Option<f64>,
    }
    let data: Data =
        serde_json::from_value(body.get("data").cloned().ok_or("no \"data\" object")?).map_err(|e| e.to_string())?;
    let note = match (data.cash_balance, data.voucher_balance) {
        (Some(cash), Some(voucher)) => Some(format!("{cash:.2} cash, {voucher:.2} vouchers")),
        _ => None,
    };
    let amount = Amount {
        label: "Balance".into(),
        remaining: data.available_balance,
        total: None,
        currency: currency.into(),
        note,
    };
    Ok(Balance { read_at_ms: now_ms, usable: amount.remaining > 0.0, amounts: vec![amount] })
}

/// The latest reading of each provider, kept so the window and the tray show a balance without asking again, and so
/// a timer reads at most every [`Balances::AUTO_EVERY`].
#[derive(Debug, Default)]
pub struct Balances {
    last: Mutex<HashMap<String, Reading>>,
}

/// A provider's latest reading: its balance, or why it could not be read, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub at_ms: i64,
    pub result: Result<Balance, BalanceError>,
}

impl Balances {
    /// The least time between two automatic reads of one provider.
    pub const AUTO_EVERY: Duration = Duration::from_secs(5 * 60);
    /// The least time between two reads asked for by hand (a double click reads once).
    pub const MANUAL_EVERY: Duration = Duration::from_secs(10);

    /// The latest reading of every provider that has one.
    pub fn all(&self) -> HashMap<String, Reading> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, provider: &str) -> Option<Reading> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).get(provider).cloned()
    }

    /// Whether `provider` was read less than `every` before `now_ms`.
    pub fn is_fresh(&self, provider: &str, every: Duration, now_ms: i64) -> bool {
        self.get(provider).is_some_and(|r| now_ms - r.at_ms < i64::try_from(every.as_millis()).unwrap_or(i64::MAX))
    }

    /// Reads `provider` unless it was read less than `every` ago, and keeps the outcome.
    pub async fn refresh(&self, provider: &dyn Provider, every: Duration, now_ms: i64) -> Reading {
        if self.is_fresh(provider.id(), every, now_ms)
            && let Some(reading) = self.get(provider.id())
        {
            return reading;
        }
        let reading = Reading { at_ms: now_ms, result: read(provider, now_ms).await };
        self.last.lock().unwrap_or_else(|p| p.into_inner()).insert(provider.id().to_owned(), reading.clone());
        reading
    }

    /// Forgets providers that are gone.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).retain(|id, _| keep(id));
    }
}

/// The lowest balance below `threshold` (in each balance's own currency) among `readings`: (provider, amount).
pub fn lowest_low<'a>(
    readings: impl IntoIterator<Item = (&'a str, &'a Reading)>,
    threshold: f64,
) -> Option<(&'a str, &'a Amount)> {
    readings
        .into_iter()
        .filter_map(|(id, r)| Some((id, r.result.as_ref().ok()?.lowest()?)))
        .filter(|(_, amount)| amount.remaining < threshold)
        .min_by(|a, b| a.1.remaining.total_cmp(&b.1.remaining))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn openrouter_key_and_credits_in_their_real_shapes() {
        let key = json!({ "data": {
            "label": "sk-or-v1-abc...123", "limit": 10.0, "limit_remaining": 7.25, "limit_reset": "monthly",
            "include_byok_in_limit": false, "usage": 2.75, "usage_daily": 0.5, "usage_weekly": 1.0,
            "usage_monthly": 2.75, "byok_usage": 0, "is_free_tier": false, "is_provisioning_key": false,
            "rate_limit": { "requests": 1000, "interval": "1h", "note": "deprecated" }
        }});
        let balance = openrouter_key(&key, 5).unwrap();
        assert_eq!(balance.amounts.len(), 1);
        let limit = &balance.amounts[0];
        assert_eq!((limit.remaining, limit.total, limit.note.as_deref()), (7.25, Some(10.0), Some("resets monthly")));
        assert!(balance.usable);
        // No limit on the key: nothing to show from it.
        let unlimited =
            json!({ "data": { "limit": null, "limit_remaining": null, "usage": 3.0, "is_free_tier": false } });
        assert!(openrouter_key(&unlimited, 5).unwrap().amounts.is_empty());
        let credits = openrouter_credits(&json!({ "data": { "total_credits": 100.5, "total_usage": 25.75 } })).unwrap();
        assert_eq!((credits.remaining, credits.total), (74.75, Some(100.5)));
        assert!(openrouter_key(&json!({ "error": { "message": "no" } }), 5).is_err());
    }

    #[test]
    fn deepseek_and_moonshot_in_their_real_shapes() {
        let body = json!({ "is_available": true, "balance_infos": [
            { "currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00" },
            { "currency": "USD", "total_balance": "2.50", "granted_balance": "0.00", "topped_up_balance": "2.50" }
        ]});
        let balance = deepseek(&body, 9).unwrap();
        assert_eq!(balance.amounts.len(), 2);
        assert_eq!(balance.lowest().map(|a| (a.remaining, a.currency.as_str())), Some((2.5, "USD")));
        assert_eq!(balance.amounts[0].note.as_deref(), Some("10.00 granted, 100.00 topped up"));
        let empty = json!({ "is_available": false, "balance_infos": [
            { "currency": "USD", "total_balance": "0.00", "granted_balance": "0.00", "topped_up_balance": "0.00" } ] });
        assert!(!deepseek(&empty, 9).unwrap().usable);
        assert!(deepseek(&json!({ "balance_infos": [{ "currency": "USD", "total_balance": "lots" }] }), 9).is_err());

        let body = json!({ "code": 0, "data": { "available_balance": 49.58894, "voucher_balance": 46.58893,
            "cash_balance": 3.00001 }, "scode": "0x0", "status": true });
        let balance = moonshot(&body, "USD", 9).unwrap();
        assert_eq!(balance.amounts[0].remaining, 49.58894);
        assert_eq!(balance.amounts[0].note.as_deref(), Some("3.00 cash, 46.59 vouchers"));
    }

    #[test]
    fn the_lowest_balance_under_the_threshold_is_the_one_shown() {
        let reading = |remaining: f64| Reading {
            at_ms: 0,
            result: Ok(Balance {
                read_at_ms: 0,
                usable: true,
                amounts: vec![Amount {
                    label: "Balance".into(),
                    remaining,
                    total: None,
                    currency: "USD".into(),
                    note: None,
                }],
            }),
        };
        let failed = Reading { at_ms: 0, result: Err(BalanceError::NoKey { provider: "c".into() }) };
        let (a, b, c) = (reading(3.0), reading(1.5), failed);
        let readings = [("a", &a), ("b", &b), ("c", &c)];
        assert_eq!(lowest_low(readings, 5.0).map(|(id, amount)| (id, amount.remaining)), Some(("b", 1.5)));
        assert_eq!(lowest_low(readings, 1.0), None);
    }
}
