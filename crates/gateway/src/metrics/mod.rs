//! Prometheus metrics: the ledger's rows as counters and histograms, served on `/metrics` by a listener of its own
//! (`server.rs`), never on the API's port.
//!
//! The series are fed by the ledger's writer as it writes each row ([`Metrics::written`]), so they count exactly
//! what the ledger holds, cost included (the writer prices a row once, as it inserts it). The request path does no
//! work for them at all: no lock, no atomic, no allocation. A row the database refuses is counted in
//! `switchboard_ledger_rows_lost_total` instead.
//!
//! The one exception is `switchboard_refused_total{reason}`: requests refused before routing (the guards, the body,
//! the request's fields, its model) make no ledger row, so the place that refuses one counts it
//! ([`Metrics::refused`]): one relaxed atomic add on a fixed counter per [`Refusal`], no lock, no allocation, no label
//! from the request. It is reached through the ledger's handle (`Ledger::metrics`), so without `/metrics` a refusal
//! costs one load of an empty `OnceLock`.
//!
//! Label values come from the configuration ([`Known`]): a configured app, alias or provider keeps its name, and a
//! model keeps its name only when the configuration names it as some alias's target or a `[[models]]` entry. Any
//! other value (a model a client made up, `provider/anything`) becomes `other`, so no client can add series; a
//! missing value (no alias, no target) is empty, which Prometheus shows as the label being absent.

mod config;
mod server;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::config::Config;
use crate::ledger::{FailureKind, Record};
pub use config::{DEFAULT_METRICS_PORT, MetricsConfig};
pub use server::{MetricsServer, Scrapers};

/// The value a label takes for a name the configuration does not know.
pub const OTHER: &str = "other";

/// Whole-request latency buckets, in seconds: from a cached answer to a long agent turn.
const LATENCY_BUCKETS: [f64; 13] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];
/// Time-to-first-token buckets, in seconds.
const TTFT_BUCKETS: [f64; 12] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0];

/// The gateway's metrics. Cheap to clone; every clone feeds the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    /// Swapped whole when the configuration changes.
    known: RwLock<Arc<Known>>,
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    fallbacks: Family<Route, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<Route, Counter<f64, AtomicU64>>,
    latency: Family<Route, Histogram>,
    ttft: Family<Route, Histogram>,
    lost: Counter,
    waiting: Gauge,
    refused: Arc<Refused>,
}

/// Who asked, through what, answered by whom: the labels every series carries.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Route {
    app: String,
    alias: String,
    provider: String,
    model: String,
    /// The client's protocol (`openai-chat`, `anthropic`, `responses`, …): a fixed set, named by the relay.
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    #[prometheus(flatten)]
    route: Route,
    /// `2xx`, `4xx`, `5xx`.
    status_class: &'static str,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    #[prometheus(flatten)]
    route: Route,
    kind: ErrorKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    /// The attempt's own target as provider and model.
    #[prometheus(flatten)]
    route: Route,
    /// `ok` or `error`.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    #[prometheus(flatten)]
    route: Route,
    class: TokenClass,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum Outcome {
    /// Answered in full.
    ok,
    /// Answered, then cut short: the stream broke after its first byte, or the client left.
    interrupted,
    /// Refused before any attempt, by a rate limit or a spent budget.
    refused,
    /// Every attempt failed, or the first that failed could not be fallen back from.
    failed,
}

/// Why an attempt failed, or why a request was refused.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum ErrorKind {
    upstream_429,
    upstream_5xx,
    timeout,
    unreachable,
    bad_request,
    /// Refused by a rate limit or a budget, before any attempt.
    refused,
    other,
}

/// Why a request was refused before routing, where no ledger row is made: the `reason` of
/// `switchboard_refused_total`. A fixed set, so the series is always the same size.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Refusal {
    /// Too many or too large header fields (431).
    headers_too_large,
    /// A `Host` that is not loopback or allow-listed, or none (403).
    host,
    /// A web page's `Origin` not allow-listed (403).
    origin,
    /// No app token on a `/v1` or `/v1beta` request (401).
    no_token,
    /// An app token no app has, or a disabled app's (401).
    bad_token,
    /// A body over `server.max_body_mb` (413).
    body_too_large,
    /// A body that did not arrive within `server.body_timeout_secs` (408).
    body_timeout,
    /// A body that is not a JSON object, or could not be read (400).
    bad_json,
    /// A field the route or the client protocol refuses, or no target able to serve the request (400).
    invalid_request,
    /// A model the app may not use (403).
    model_not_allowed,
    /// A model or alias the configuration does not have (404).
    unknown_model,
}

impl Refusal {
    pub const ALL: [Refusal; 11] = [
        Refusal::headers_too_large,
        Refusal::host,
        Refusal::origin,
        Refusal::no_token,
        Refusal::bad_token,
        Refusal::body_too_large,
        Refusal::body_timeout,
        Refusal::bad_json,
        Refusal::invalid_request,
        Refusal::model_not_allowed,
        Refusal::unknown_model,
    ];
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: Refusal,
}

/// `switchboard_refused_total`: one counter per [`Refusal`], indexed by its discriminant, each rendered on every
/// scrape (zeros included) so the series never appear out of nowhere.
#[derive(Debug, Default)]
struct Refused {
    counts: [Counter; Refusal::ALL.len()],
}

impl Collector for Refused {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let help = "Requests refused before routing (guards, body, fields, model), which make no ledger row, by reason";
        let mut family = encoder.encode_descriptor("refused", help, None, self.counts[0].metric_type())?;
        for reason in Refusal::ALL {
            self.counts[reason as usize].encode(family.encode_family(&RefusalLabels { reason })?)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum TokenClass {
    input,
    cached_input,
    cache_write,
    /// The part of `cache_write` kept for an hour (priced apart).
    cache_write_1h,
    output,
    reasoning,
}

impl Outcome {
    pub(crate) fn of(row: &Record) -> Outcome {
        match (row.status, &row.error) {
            (200..=299, None) => Outcome::ok,
            (200..=299, Some(_)) => Outcome::interrupted,
            _ if row.attempts.is_empty() => Outcome::refused,
            _ => Outcome::failed,
        }
    }
}

impl From<FailureKind> for ErrorKind {
    fn from(kind: FailureKind) -> ErrorKind {
        match kind {
            FailureKind::RateLimited => ErrorKind::upstream_429,
            FailureKind::ServerError => ErrorKind::upstream_5xx,
            FailureKind::Timeout => ErrorKind::timeout,
            FailureKind::Unreachable => ErrorKind::unreachable,
            FailureKind::BadRequest => ErrorKind::bad_request,
            FailureKind::Other => ErrorKind::other,
        }
    }
}

/// The names the configuration knows, which are the only label values besides [`OTHER`] and empty.
#[derive(Debug, Default)]
pub(crate) struct Known {
    apps: HashSet<String>,
    aliases: HashSet<String>,
    providers: HashSet<String>,
    /// `provider/model`.
    targets: HashSet<String>,
}

impl Known {
    pub(crate) fn from_config(config: &Config) -> Known {
        let targets = config.aliases.iter().flat_map(|a| a.targets.iter().cloned());
        Known {
            apps: config.apps.iter().map(|a| a.name.clone()).collect(),
            aliases: config.aliases.iter().map(|a| a.name.clone()).collect(),
            providers: config.providers.iter().map(|p| p.id.clone()).collect(),
            targets: targets.chain(config.models.iter().map(|m| m.id.clone())).collect(),
        }
    }

    /// The labels of a request through `alias` (if any) answered (or last tried) by `provider`/`model`.
    pub(crate) fn route(
        &self,
        app: &str,
        alias: Option<&str>,
        provider: Option<&str>,
        model: Option<&str>,
        protocol: &'static str,
    ) -> Route {
        let bounded = |set: &HashSet<String>, value: Option<&str>| match value {
            None => String::new(),
            Some(value) if set.contains(value) => value.to_owned(),
            Some(_) => OTHER.to_owned(),
        };
        let model = match (provider, model) {
            (Some(p), Some(m)) if self.providers.contains(p) && self.targets.contains(&format!("{p}/{m}")) => {
                m.to_owned()
            }
            (_, None) => String::new(),
            (_, Some(_)) => OTHER.to_owned(),
        };
        Route {
            app: bounded(&self.apps, Some(app)),
            alias: bounded(&self.aliases, alias),
            provider: bounded(&self.providers, provider),
            model,
            protocol,
        }
    }
}

impl Metrics {
    /// Empty series whose labels are bounded by `config`'s names.
    pub fn new(config: &Config) -> Metrics {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::default();
        registry.register("requests", "Requests the ledger recorded, by status class and outcome", requests.clone());
        let errors = Family::default();
        registry.register(
            "errors",
            "Failed attempts by kind (labelled with the attempt's target), and requests refused by limits or budgets",
            errors.clone(),
        );
        let attempts = Family::default();
        registry.register("attempts", "Attempts at a target, labelled with that target", attempts.clone());
        let fallbacks = Family::default();
        registry.register(
            "fallbacks",
            "Moves from one target to another within a request, labelled with the target that answered",
            fallbacks.clone(),
        );
        let tokens = Family::default();
        registry.register("tokens", "Tokens the upstreams reported, by class", tokens.clone());
        let cost = Family::default();
        registry.register("cost_usd", "What requests cost in USD, as the ledger priced them", cost.clone());
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "request_duration",
            "Time from a request's arrival to its last byte",
            Unit::Seconds,
            latency.clone(),
        );
        let ttft = Family::new_with_constructor(ttft_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "time_to_first_token",
            "Time from a streamed request's arrival to its first byte to the client",
            Unit::Seconds,
            ttft.clone(),
        );
        let lost = Counter::default();
        registry.register(
            "ledger_rows_lost",
            "Rows the database refused (not counted in the other series)",
            lost.clone(),
        );
        let waiting = Gauge::default();
        registry.register(
            "ledger_rows_waiting",
            "Rows a replica sharing PostgreSQL holds in memory until the database takes them (0 when it keeps up)",
            waiting.clone(),
        );
        let refused = Arc::new(Refused::default());
        registry.register_collector(Box::new(refused.clone()));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                known: RwLock::new(Arc::new(Known::from_config(config))),
                requests,
                errors,
                attempts,
                fallbacks,
                tokens,
                cost,
                latency,
                ttft,
                lost,
                waiting,
                refused,
            }),
        }
    }

    /// Bounds labels by `config`'s names from now on (after a reload). Series already made stay.
    pub fn set_known(&self, config: &Config) {
        *self.inner.known.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Known::from_config(config));
    }

    /// Counts one row the ledger wrote, with the cost it was priced at.
    pub fn written(&self, row: &Record, cost_usd: Option<f64>) {
        let inner = &self.inner;
        let known = inner.known.read().unwrap_or_else(PoisonError::into_inner).clone();
        let protocol = row.client_protocol;
        let route = known.route(
            &row.app_name,
            row.alias.as_deref(),
            row.provider_id.as_deref(),
            row.model.as_deref(),
            protocol,
        );
        let outcome = Outcome::of(row);
        let status_class = match row.status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        inner.requests.get_or_create(&RequestLabels { route: route.clone(), status_class, outcome }).inc();
        if outcome == Outcome::refused {
            inner.errors.get_or_create(&ErrorLabels { route: route.clone(), kind: ErrorKind::refused }).inc();
        }
        let mut fallbacks = 0;
        for (i, attempt) in row.attempts.iter().enumerate() {
            let (provider, model) = match attempt.target.split_once('/') {
                Some((provider, model)) => (Some(provider), Some(model)),
                None => (None, None),
            };
            let at = known.route(&row.app_name, row.alias.as_deref(), provider, model, protocol);
            let result = if attempt.failure.is_some() { "error" } else { "ok" };
            inner.attempts.get_or_create(&AttemptLabels { route: at.clone(), result }).inc();
            if let Some(kind) = attempt.failure {
                inner.errors.get_or_create(&ErrorLabels { route: at, kind: kind.into() }).inc();
            }
            if i > 0 && row.attempts[i - 1].target != attempt.target {
                fallbacks += 1;
            }
        }
        if fallbacks > 0 {
            inner.fallbacks.get_or_create(&route).inc_by(fallbacks);
        }
        if let Some(usage) = &row.usage {
            for (class, n) in [
                (TokenClass::input, usage.input),
                (TokenClass::cached_input, usage.cached_input),
                (TokenClass::cache_write, usage.cache_write),
                (TokenClass::cache_write_1h, usage.cache_write_1h),
                (TokenClass::output, usage.output),
                (TokenClass::reasoning, usage.reasoning),
            ] {
                if n > 0 {
                    inner.tokens.get_or_create(&TokenLabels { route: route.clone(), class }).inc_by(n);
                }
            }
        }
        if let Some(usd) = cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            inner.cost.get_or_create(&route).inc_by(usd);
        }
        inner.latency.get_or_create(&route).observe(row.latency_ms as f64 / 1000.0);
        if let Some(ttft) = row.ttft_ms {
            inner.ttft.get_or_create(&route).observe(ttft as f64 / 1000.0);
        }
    }

    /// Counts rows the database refused.
    pub fn lost(&self, rows: u64) {
        self.inner.lost.inc_by(rows);
    }

    /// How many rows wait for the shared database right now (the PostgreSQL writer says after each turn).
    pub fn waiting(&self, rows: usize) {
        self.inner.waiting.set(i64::try_from(rows).unwrap_or(i64::MAX));
    }

    /// Counts one request refused before routing. On the request path: one relaxed atomic add.
    pub fn refused(&self, reason: Refusal) {
        self.inner.refused.counts[reason as usize].inc();
    }

    /// Every series in the Prometheus text format (0.0.4), whose content type is [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn ttft_histogram() -> Histogram {
    Histogram::new(TTFT_BUCKETS)
}
