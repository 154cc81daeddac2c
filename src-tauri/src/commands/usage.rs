//! Usage: spend and tokens over a date range (a time series and breakdowns by app, alias, provider and model), the
//! budgets with what has been spent against them, and CSV export. Mirrors `ui/src/api/usage.ts`.

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchboard_gateway::ledger::budgets::OVERALL_BUDGET_SETTING;
use switchboard_gateway::ledger::queries::{self, Bucket, GroupBy, RequestFilter, TotalRow};
use switchboard_gateway::ledger::{Budget, BudgetAction, Ledger, clock};
use switchboard_gateway::store::{Store, now_ms};
use tauri::{Manager, State};

use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    /// Unix ms, inclusive.
    pub since_ms: i64,
    /// Unix ms, exclusive.
    pub until_ms: i64,
    pub bucket: BucketSize,
    /// Minutes the window's time zone is ahead of UTC at `since_ms`: day buckets start at its midnight.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum BucketSize {
    Hour,
    Day,
}

/// Totals for one app, alias, provider or model (or for everything: `key` is `null`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    pub key: Option<String>,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: f64,
    /// Requests whose model has no price: `costUsd` leaves them out.
    pub unpriced: u64,
    pub avg_latency_ms: Option<f64>,
}

/// One UTC hour or day with requests.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UsagePoint {
    pub bucket_start_ms: i64,
    pub requests: u64,
    pub cost_usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A budget's limit and what has been spent against it in the current UTC day or month.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BudgetBar {
    /// The app's name, or `null` for the overall budget.
    pub app: Option<String>,
    pub period: BudgetPeriod,
    pub spent_usd: f64,
    pub limit_usd: f64,
    /// `block` refuses requests once the limit is reached; `warn` only warns.
    pub action: BudgetActionDto,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum BudgetPeriod {
    Daily,
    Monthly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum BudgetActionDto {
    Warn,
    Block,
}

/// A budget as the UI edits it: limits in USD, `null` for none.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BudgetDto {
    pub daily_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
    pub action: BudgetActionDto,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub overall: UsageTotals,
    /// Oldest first; buckets without requests are left out.
    pub series: Vec<UsagePoint>,
    pub by_app: Vec<UsageTotals>,
    pub by_alias: Vec<UsageTotals>,
    pub by_provider: Vec<UsageTotals>,
    pub by_model: Vec<UsageTotals>,
    /// Every budget that is set, with today's or this month's spend (independent of the range).
    pub budgets: Vec<BudgetBar>,
    /// The models whose requests in the range have no price (their cost is left out of every total), the most
    /// requests first.
    pub unpriced: Vec<UnpricedDto>,
}

/// A provider's model whose requests were counted but not priced.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnpricedDto {
    pub provider_id: Option<String>,
    pub model: Option<String>,
    pub requests: u64,
}

/// Where an export went.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub path: String,
    pub rows: u64,
}

impl From<TotalRow> for UsageTotals {
    fn from(t: TotalRow) -> UsageTotals {
        UsageTotals {
            key: t.key,
            requests: t.requests,
            errors: t.errors,
            input_tokens: t.input,
            cached_input_tokens: t.cached_input,
            output_tokens: t.output,
            reasoning_tokens: t.reasoning,
            cost_usd: t.cost_usd,
            unpriced: t.unpriced,
            avg_latency_ms: t.avg_latency_ms,
        }
    }
}

impl From<Budget> for BudgetDto {
    fn from(b: Budget) -> BudgetDto {
        BudgetDto {
            daily_usd: b.daily_usd,
            monthly_usd: b.monthly_usd,
            action: match b.action {
                BudgetAction::Warn => BudgetActionDto::Warn,
                BudgetAction::Block => BudgetActionDto::Block,
            },
        }
    }
}

impl BudgetDto {
    /// The JSON the ledger reads (`apps.budget`, the `budget` setting), checked the way the ledger checks it.
    pub fn to_json(self) -> Result<serde_json::Value, CommandError> {
        let action = match self.action {
            BudgetActionDto::Warn => "warn",
            BudgetActionDto::Block => "block",
        };
        let mut json = serde_json::json!({ "action": action });
        if let Some(daily) = self.daily_usd {
            json["daily_usd"] = daily.into();
        }
        if let Some(monthly) = self.monthly_usd {
            json["monthly_usd"] = monthly.into();
        }
        Budget::from_json(&json)
            .map_err(|e| CommandError::Invalid(format!("{e}; enter an amount such as 5 or 2.50")))?;
        Ok(json)
    }
}

/// A stored budget, or `None` when there is none or it cannot be read (the ledger ignores those too).
pub fn read_budget(json: Option<&serde_json::Value>) -> Option<BudgetDto> {
    json.and_then(|j| Budget::from_json(j).ok()).map(BudgetDto::from)
}

#[tauri::command]
pub async fn usage_report(gateway: State<'_, Gateway>, query: UsageQuery) -> Result<UsageReport, CommandError> {
    let (store, ledger) = (gateway.store().clone(), gateway.ledger());
    blocking(move || report(&store, ledger.as_ref(), &query, now_ms())).await
}

/// Writes every request in the range as CSV to `path` (replacing the file), newest first.
#[tauri::command]
pub async fn export_usage_csv(
    gateway: State<'_, Gateway>,
    since_ms: i64,
    until_ms: i64,
    path: String,
) -> Result<ExportResult, CommandError> {
    let path = PathBuf::from(path.trim());
    if !path.is_absolute() {
        return Err(CommandError::Invalid("give the full path of the file to write, e.g. /home/you/usage.csv".into()));
    }
    let store = gateway.store().clone();
    blocking(move || {
        let file = std::fs::File::create(&path).map_err(|e| {
            CommandError::Invalid(format!("cannot write {}: {e}; choose a folder you can write to", path.display()))
        })?;
        let filter = RequestFilter { since_ms: Some(since_ms), until_ms: Some(until_ms), ..RequestFilter::default() };
        let rows = queries::export_csv(&store, &filter, BufWriter::new(file))?;
        Ok(ExportResult { path: path.display().to_string(), rows })
    })
    .await
}

/// Where an export goes unless the user says otherwise: the Downloads folder (or home), named after the range.
#[tauri::command]
pub fn default_export_path(app: tauri::AppHandle, name: String) -> String {
    let dir = app.path().download_dir().or_else(|_| app.path().home_dir()).unwrap_or_default();
    let clean: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    dir.join(if clean.is_empty() { "switchboard-usage.csv".to_owned() } else { clean }).display().to_string()
}

fn report(store: &Store, ledger: Option<&Ledger>, query: &UsageQuery, now: i64) -> Result<UsageReport, CommandError> {
    if query.until_ms <= query.since_ms {
        return Err(CommandError::Invalid("the range ends before it starts; pick an end date after the start".into()));
    }
    let (since, until) = (query.since_ms, query.until_ms);
    let bucket = match query.bucket {
        BucketSize::Hour => Bucket::Hour,
        BucketSize::Day => Bucket::Day,
    };
    let by = |group| -> Result<Vec<UsageTotals>, CommandError> {
        Ok(queries::totals(store, since, until, group)?.into_iter().map(UsageTotals::from).collect())
    };
    Ok(UsageReport {
        overall: queries::overall(store, since, until)?.into(),
        series: queries::series_at(store, since, until, bucket, i64::from(query.utc_offset_minutes) * 60_000)?
            .into_iter()
            .map(|p| UsagePoint {
                bucket_start_ms: p.bucket_start_ms,
                requests: p.requests,
                cost_usd: p.cost_usd,
                input_tokens: p.input,
                output_tokens: p.output,
            })
            .collect(),
        by_app: by(GroupBy::App)?,
        by_alias: by(GroupBy::Alias)?,
        by_provider: by(GroupBy::Provider)?,
        by_model: by(GroupBy::Model)?,
        budgets: budget_bars(store, ledger, now)?,
        unpriced: queries::unpriced(store, since, until)?
            .into_iter()
            .map(|u| UnpricedDto { provider_id: u.provider_id, model: u.model, requests: u.requests })
            .collect(),
    })
}

/// Every budget that is set, against the spend of the current UTC day and month: the ledger's running totals (by
/// app id, as the budgets are enforced), or the database's by app name when the ledger did not start.
fn budget_bars(store: &Store, ledger: Option<&Ledger>, now: i64) -> Result<Vec<BudgetBar>, CommandError> {
    let (day, month) = (clock::day_start(now), clock::month_start(now));
    let spend = |since: i64| -> Result<(f64, HashMap<String, f64>), CommandError> {
        let all = queries::overall(store, since, i64::MAX)?.cost_usd;
        let by_app = queries::totals(store, since, i64::MAX, GroupBy::App)?
            .into_iter()
            .filter_map(|t| Some((t.key?, t.cost_usd)))
            .collect();
        Ok((all, by_app))
    };
    // The ledger's running totals (by app id) when it runs; the rows only without it (by app name, which is all
    // the totals group by), and only then are they read.
    enum Spend<'a> {
        Running(&'a Ledger),
        Rows { today: (f64, HashMap<String, f64>), month: (f64, HashMap<String, f64>) },
    }
    let source = match ledger {
        Some(ledger) => Spend::Running(ledger),
        None => Spend::Rows { today: spend(day)?, month: spend(month)? },
    };
    // (today, this month) for one app (id, name), or for everything.
    let spent = |app: Option<(i64, &str)>| -> (f64, f64) {
        match &source {
            Spend::Running(ledger) => ledger.spend(app.map(|(id, _)| id), now),
            Spend::Rows { today, month } => match app {
                None => (today.0, month.0),
                Some((_, name)) => {
                    let of = |m: &HashMap<String, f64>| m.get(name).copied().unwrap_or(0.0);
                    (of(&today.1), of(&month.1))
                }
            },
        }
    };
    let mut bars = Vec::new();
    let mut push = |app: Option<String>, budget: BudgetDto, spent_day: f64, spent_month: f64| {
        if let Some(limit) = budget.daily_usd {
            bars.push(BudgetBar {
                app: app.clone(),
                period: BudgetPeriod::Daily,
                spent_usd: spent_day,
                limit_usd: limit,
                action: budget.action,
            });
        }
        if let Some(limit) = budget.monthly_usd {
            bars.push(BudgetBar {
                app,
                period: BudgetPeriod::Monthly,
                spent_usd: spent_month,
                limit_usd: limit,
                action: budget.action,
            });
        }
    };
    let overall = store.get_setting::<serde_json::Value>(OVERALL_BUDGET_SETTING)?;
    if let Some(budget) = read_budget(overall.as_ref()) {
        let (day, month) = spent(None);
        push(None, budget, day, month);
    }
    for app in store.list_apps()? {
        if let Some(budget) = read_budget(app.budget.as_ref()) {
            let (day, month) = spent(Some((app.id, &app.name)));
            push(Some(app.name.clone()), budget, day, month);
        }
    }
    Ok(bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_round_trip_through_the_ledgers_json() {
        let dto = BudgetDto { daily_usd: Some(2.5), monthly_usd: None, action: BudgetActionDto::Block };
        let json = dto.to_json().unwrap();
        assert_eq!(json, serde_json::json!({ "action": "block", "daily_usd": 2.5 }));
        let back = read_budget(Some(&json)).unwrap();
        assert_eq!((back.daily_usd, back.monthly_usd, back.action), (Some(2.5), None, BudgetActionDto::Block));
    }

    #[test]
    fn a_negative_limit_is_refused_with_what_to_enter() {
        let dto = BudgetDto { daily_usd: Some(-1.0), monthly_usd: None, action: BudgetActionDto::Warn };
        let error = dto.to_json().unwrap_err().to_string();
        assert!(error.contains("enter an amount"), "{error}");
    }

    #[test]
    fn the_report_shows_budgets_against_todays_spend_and_refuses_a_backwards_range() {
        let store = Store::open_in_memory().unwrap();
        store.set_setting(OVERALL_BUDGET_SETTING, &serde_json::json!({ "daily_usd": 5.0, "action": "warn" })).unwrap();
        let query = UsageQuery { since_ms: 0, until_ms: 10, bucket: BucketSize::Day, utc_offset_minutes: 60 };
        let report = report(&store, None, &query, now_ms()).unwrap();
        assert_eq!(report.overall.requests, 0);
        assert_eq!(report.budgets.len(), 1);
        assert_eq!((report.budgets[0].limit_usd, report.budgets[0].spent_usd), (5.0, 0.0));
        let backwards = UsageQuery { since_ms: 10, until_ms: 0, bucket: BucketSize::Day, utc_offset_minutes: 0 };
        assert!(matches!(super::report(&store, None, &backwards, 0), Err(CommandError::Invalid(_))));
    }

    /// The bars read the ledger's running totals by app id (a renamed app keeps its spend); without a ledger they
    /// fall back to the rows, by name.
    #[tokio::test]
    async fn budget_bars_take_spend_by_app_id_from_the_ledger_and_from_the_rows_without_it() {
        use switchboard_gateway::ledger::{DATABASE_FILE, Prices, Record};
        use switchboard_gateway::store::AppSpec;

        let dir = std::env::temp_dir().join(format!("switchboard-bars-{}-{}", std::process::id(), now_ms()));
        let path = dir.join(DATABASE_FILE);
        let store = Store::open(&path).unwrap();
        let budget = serde_json::json!({ "daily_usd": 1.0, "action": "warn" });
        let (app, _) = store.create_app(&AppSpec { budget: Some(budget.clone()), ..AppSpec::new("Cursor") }).unwrap();
        store
            .set_setting(OVERALL_BUDGET_SETTING, &serde_json::json!({ "monthly_usd": 10.0, "action": "block" }))
            .unwrap();
        let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
        for cost in [0.25, 0.5] {
            ledger.record(Record {
                app_id: Some(app.id),
                provider_cost_usd: Some(cost),
                ..Record::new("Cursor", "openai-chat")
            });
        }
        ledger.flush().await;
        let now = now_ms();
        // Renamed after the requests: the running totals still know it by id.
        store.update_app(app.id, &AppSpec { budget: Some(budget), ..AppSpec::new("Cursor (work)") }).unwrap();

        let bars = budget_bars(&store, Some(&ledger), now).unwrap();
        let of = |bars: &[BudgetBar], app: Option<&str>| {
            bars.iter().find(|b| b.app.as_deref() == app).map(|b| (b.spent_usd, b.limit_usd)).unwrap()
        };
        assert_eq!(of(&bars, Some("Cursor (work)")), (0.75, 1.0));
        assert_eq!(of(&bars, None), (0.75, 10.0));
        // Without a ledger: the rows, by the name they were recorded under (the renamed app finds none).
        let bars = budget_bars(&store, None, now).unwrap();
        assert_eq!(of(&bars, None), (0.75, 10.0));
        assert_eq!(of(&bars, Some("Cursor (work)")), (0.0, 1.0));
        ledger.shutdown().await;
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
