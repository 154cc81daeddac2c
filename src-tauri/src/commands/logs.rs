//! Logs: the ledger's request list with filters and keyset paging, and one request in detail (with its bodies when
//! request logging kept them). Mirrors `ui/src/api/logs.ts`; the DTOs are generated into `ui/src/api/generated/`.
//! New rows are announced by the `ledger-written` event (`gateway::LEDGER_EVENT`).

use serde::{Deserialize, Serialize};
use switchboard_gateway::ledger::queries::{
    self, GroupBy, MAX_PAGE, Page, RequestDetail, RequestFilter, RequestRow, StatusClass,
};
use switchboard_gateway::ledger::{AttemptRecord, LedgerError};
use switchboard_gateway::store::{LOGGING_BODIES_SETTING, Store, StoreError};
use tauri::State;

use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// Rows per page when the UI does not say.
const DEFAULT_PAGE: u32 = 200;

/// Which requests to list; a field left `null` matches everything.
#[derive(Debug, Default, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct LogFilter {
    pub app: Option<String>,
    pub alias: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub status: Option<StatusFilter>,
    /// Unix ms, inclusive.
    pub since_ms: Option<i64>,
    /// Unix ms, exclusive.
    pub until_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum StatusFilter {
    Ok,
    Errors,
}

/// One try at one target.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AttemptDto {
    /// `provider/model`.
    pub target: String,
    /// `ok`, or what went wrong (`429`, `timeout`, …).
    pub result: String,
    pub elapsed_ms: u64,
}

/// One ledger row, as the Logs page lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RequestDto {
    pub id: i64,
    pub ts_ms: i64,
    pub app_name: String,
    pub alias: Option<String>,
    pub provider_id: Option<String>,
    pub model: Option<String>,
    /// `openai-chat`, `anthropic`, `responses`, …
    pub client_protocol: String,
    pub stream: bool,
    pub status: u16,
    pub error: Option<String>,
    pub attempts: Vec<AttemptDto>,
    pub input_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    /// Every cache write, the hour-long ones included.
    pub cache_write_tokens: Option<u64>,
    /// The part of `cache_write_tokens` kept for an hour; `null` in rows written before the ledger counted it.
    pub cache_write_1h_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// `provider`, `table`, `override`, `local` or `unknown` (no price for the model).
    pub cost_source: Option<String>,
    pub latency_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
}

/// A request's prompt and answer as kept by request logging.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BodiesDto {
    pub request: Option<String>,
    pub response: Option<String>,
    /// Whether either was cut at the size limit.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RequestDetailDto {
    pub request: RequestDto,
    /// `null` when logging was off for this request or its retention has passed.
    pub bodies: Option<BodiesDto>,
    /// Whether request logging is on now (so the page can say how to see bodies next time).
    pub logging_on: bool,
}

/// The values each filter can take: every app, alias, provider and model in the ledger, most expensive first.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LogFacets {
    pub apps: Vec<String>,
    pub aliases: Vec<String>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
}

impl From<AttemptRecord> for AttemptDto {
    fn from(a: AttemptRecord) -> AttemptDto {
        AttemptDto { target: a.target, result: a.result, elapsed_ms: a.elapsed_ms }
    }
}

impl From<RequestRow> for RequestDto {
    fn from(r: RequestRow) -> RequestDto {
        RequestDto {
            id: r.id,
            ts_ms: r.ts_ms,
            app_name: r.app_name,
            alias: r.alias,
            provider_id: r.provider_id,
            model: r.model,
            client_protocol: r.client_protocol,
            stream: r.stream,
            status: r.status,
            error: r.error,
            attempts: r.attempts.into_iter().map(AttemptDto::from).collect(),
            input_tokens: r.input_tokens,
            cached_input_tokens: r.cached_input_tokens,
            cache_write_tokens: r.cache_write_tokens,
            cache_write_1h_tokens: r.cache_write_1h_tokens,
            output_tokens: r.output_tokens,
            reasoning_tokens: r.reasoning_tokens,
            cost_usd: r.cost_usd,
            cost_source: r.cost_source,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
        }
    }
}

impl From<LogFilter> for RequestFilter {
    fn from(f: LogFilter) -> RequestFilter {
        let blank = |s: Option<String>| s.filter(|s| !s.is_empty());
        RequestFilter {
            app: blank(f.app),
            alias: blank(f.alias),
            provider: blank(f.provider),
            model: blank(f.model),
            status_class: f.status.map(|s| match s {
                StatusFilter::Ok => StatusClass::OkOnly,
                StatusFilter::Errors => StatusClass::ErrorsOnly,
            }),
            since_ms: f.since_ms,
            until_ms: f.until_ms,
        }
    }
}

impl From<LedgerError> for CommandError {
    fn from(error: LedgerError) -> CommandError {
        CommandError::Store(StoreError::Invalid(format!("the usage ledger could not be read: {error}")))
    }
}

/// One page of requests matching `filter`, newest first; pass the last row's id as `beforeId` for the next page.
#[tauri::command]
pub async fn list_requests(
    gateway: State<'_, Gateway>,
    filter: LogFilter,
    before_id: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<RequestDto>, CommandError> {
    let store = gateway.store().clone();
    let page = Page { limit: limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE), before_id };
    blocking(move || Ok(queries::requests(&store, &filter.into(), page)?.into_iter().map(RequestDto::from).collect()))
        .await
}

#[tauri::command]
pub async fn request_detail(gateway: State<'_, Gateway>, id: i64) -> Result<RequestDetailDto, CommandError> {
    let store = gateway.store().clone();
    blocking(move || {
        let RequestDetail { row, bodies } = queries::request_detail(&store, id)?.ok_or_else(|| {
            CommandError::Store(StoreError::NotFound(format!("request {id} is no longer in the ledger")))
        })?;
        Ok(RequestDetailDto {
            request: row.into(),
            bodies: bodies.map(|b| BodiesDto { request: b.request, response: b.response, truncated: b.truncated }),
            logging_on: logging_on(&store)?,
        })
    })
    .await
}

#[tauri::command]
pub async fn log_facets(gateway: State<'_, Gateway>) -> Result<LogFacets, CommandError> {
    let store = gateway.store().clone();
    blocking(move || {
        let keys = |group| -> Result<Vec<String>, CommandError> {
            Ok(queries::totals(&store, i64::MIN, i64::MAX, group)?.into_iter().filter_map(|t| t.key).collect())
        };
        Ok(LogFacets {
            apps: keys(GroupBy::App)?,
            aliases: keys(GroupBy::Alias)?,
            providers: keys(GroupBy::Provider)?,
            models: keys(GroupBy::Model)?,
        })
    })
    .await
}

pub fn logging_on(store: &Store) -> Result<bool, CommandError> {
    Ok(store.get_setting::<bool>(LOGGING_BODIES_SETTING)?.unwrap_or(false))
}
