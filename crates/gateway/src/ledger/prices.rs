//! What a request cost: the provider's own figure when it gives one, else the price table in effect at the
//! request's time (the snapshot shipped in `data/prices.toml`, then each catalog import from the moment it took
//! effect: `price_table.rs`) with the user's `price_overrides` on top, and zero for models running on this machine.
//!
//! A cost is computed once, by the ledger's writer as it inserts the row, and never again: a later price change or
//! override prices only later requests. Each row keeps where its cost came from (`cost_source`) and which table
//! priced it (`price_version`: the shipped snapshot's date, or the catalog import's name, `+override` when a user
//! override took part).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub(crate) use super::price_table::is_same_model;
use super::price_table::{Dated, Table};
use super::{LedgerError, Record, clock};
use crate::protocol::neutral::Usage;
use crate::providers::presets;
use crate::store::Store;

/// The price table, as shipped (compiled in).
const SHIPPED: &str = include_str!("../../data/prices.toml");

/// The provider preset id whose model ids are `vendor/model`.
const OPENROUTER: &str = "openrouter";

/// USD per million tokens for one model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Prompt tokens neither read from nor written to a cache.
    pub input: f64,
    /// Completion tokens, reasoning included.
    pub output: f64,
    /// Prompt tokens read from the cache; `None` bills them as `input`.
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Prompt tokens written to the cache (for Anthropic, its five-minute writes); `None` bills them as `input`.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Prompt tokens written to the cache for an hour (Anthropic's 1-hour TTL); `None` bills them at twice
    /// `input`, Anthropic's rate (the only provider that reports such writes).
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
    #[serde(default)]
    pub long_context: Option<Tier>,
}

/// Prices for a request whose prompt is longer than `above_tokens`; a field left `None` keeps the base price.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub above_tokens: u64,
    #[serde(default)]
    pub input: Option<f64>,
    #[serde(default)]
    pub output: Option<f64>,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Left `None`: the base price's, or twice the tier's `input` when the base price has none either.
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
}

/// One `price_overrides` row: the user's price for a provider (id or kind) and model prefix. A `None` field keeps
/// the shipped price for that part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceOverride {
    pub provider: String,
    pub model: String,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cached_input: Option<f64>,
    pub cache_write: Option<f64>,
    /// Hour-long cache writes; `None` keeps the table's price, or twice the overriding input price when the user
    /// set one.
    pub cache_write_1h: Option<f64>,
}

/// Where a row's cost came from (the `cost_source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// The provider said what the request cost (OpenRouter's `usage.cost`).
    Provider,
    /// The price table (and the user's overrides) times the token counts.
    Prices,
    /// A model running on this machine (Ollama, LM Studio): free.
    Local,
    /// Tokens were counted but the model has no price: the cost is left NULL.
    Unknown,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Provider => "provider",
            CostSource::Prices => "prices",
            CostSource::Local => "local",
            CostSource::Unknown => "unknown",
        }
    }
}

/// A priced request: the three cost columns of its ledger row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub usd: Option<f64>,
    /// `None` when there was nothing to price (no usage reported and no provider cost).
    pub source: Option<CostSource>,
    /// The price table's version, with `+override` when a user override took part; only for [`CostSource::Prices`].
    pub price_version: Option<String>,
}

/// The price table over time with the user's overrides. Cheap enough to rebuild whenever an override changes or a
/// catalog import lands; the writer reads only this, never SQLite, to price a row.
#[derive(Debug, Clone)]
pub struct Prices {
    /// The shipped snapshot's version.
    version: String,
    table: Table,
    /// Provider → (normalized prefix, override).
    overrides: HashMap<String, Vec<(String, PriceOverride)>>,
}

/// A price found for a model at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub price: Price,
    /// Whether a user override took part.
    pub overridden: bool,
    /// The table that priced it: the shipped snapshot's date or the catalog import's name.
    pub version: Arc<str>,
}

/// One stored catalog price (`price_history`): a model's price at a provider preset from an import on.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedPrice {
    pub import_id: i64,
    /// When the import took effect, unix ms.
    pub effective_ms: i64,
    pub provider: String,
    /// The model id, normalized.
    pub model: String,
    pub price: Price,
}

/// The name stamped on rows an import priced: `catalog#3 2026-12-07`.
pub fn import_version(import_id: i64, effective_ms: i64) -> String {
    format!("catalog#{import_id} {}", &clock::format_rfc3339(effective_ms)[..10])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    version: String,
    #[serde(default)]
    price: Vec<PriceEntry>,
}

#[derive(Deserialize)]
struct PriceEntry {
    provider: String,
    prefix: String,
    #[serde(flatten)]
    price: Price,
}

impl Prices {
    /// The table shipped with this build, without overrides.
    pub fn shipped() -> Result<Prices, LedgerError> {
        Prices::from_toml(SHIPPED)
    }

    /// The shipped table, the catalog imports stored in the database (`price_history`) and its `price_overrides`
    /// on top.
    pub fn load(store: &Store) -> Result<Prices, LedgerError> {
        let history = store.imported_prices()?;
        let overrides = store.price_overrides()?;
        Ok(Prices::shipped()?.with_imports(history).with_overrides(overrides))
    }

    /// A table in the `data/prices.toml` format.
    pub fn from_toml(text: &str) -> Result<Prices, LedgerError> {
        let file: PriceFile = toml::from_str(text).map_err(|e| LedgerError::Prices(e.to_string()))?;
        let version: Arc<str> = file.version.as_str().into();
        let mut table = Table::default();
        for entry in file.price {
            table.add_shipped(&entry.provider, normalize(&entry.prefix), entry.price, &version);
        }
        Ok(Prices { version: file.version, table, overrides: HashMap::new() })
    }

    /// This table with catalog imports layered on, each from the moment it took effect.
    pub fn with_imports(mut self, imports: impl IntoIterator<Item = ImportedPrice>) -> Prices {
        for i in imports {
            let version = import_version(i.import_id, i.effective_ms).into();
            let dated = Dated { from_ms: i.effective_ms, price: i.price, version };
            self.table.add_imported(&i.provider, normalize(&i.model), dated);
        }
        self
    }

    /// This table with `overrides` replacing any it had.
    pub fn with_overrides(mut self, overrides: impl IntoIterator<Item = PriceOverride>) -> Prices {
        self.overrides.clear();
        for o in overrides {
            self.overrides.entry(o.provider.clone()).or_default().push((normalize(&o.model), o));
        }
        self
    }

    /// The shipped table's date, stamped on every row it prices.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The price for `model` at a provider now, and whether a user override took part. See [`Prices::lookup_at`].
    pub fn lookup(&self, provider_kind: Option<&str>, provider_id: Option<&str>, model: &str) -> Option<(Price, bool)> {
        self.lookup_at(provider_kind, provider_id, model, i64::MAX).map(|p| (p.price, p.overridden))
    }

    /// The price for `model` at a provider in effect at `at_ms`. The provider's own id is tried before its kind
    /// (preset id; a kind that is another way into an API, such as `openai-responses`, is priced as that API:
    /// `Preset::prices`), overrides (which apply at any time) before the table; within each, the longest matching
    /// key wins.
    pub fn lookup_at(
        &self,
        provider_kind: Option<&str>,
        provider_id: Option<&str>,
        model: &str,
        at_ms: i64,
    ) -> Option<Priced> {
        let mut providers: Vec<&str> = provider_id.into_iter().collect();
        for kind in provider_kind.into_iter().chain(provider_kind.and_then(presets::find).map(|p| p.prices)) {
            if !providers.contains(&kind) {
                providers.push(kind);
            }
        }
        let model = normalize(model);
        let over = providers.iter().find_map(|p| longest_prefix(self.overrides.get(*p)?, &model));
        let base = providers.iter().find_map(|p| self.table_price(p, &model, at_ms));
        let overridden = |version: &str| -> Arc<str> { format!("{version}+override").into() };
        match (over, base) {
            (None, None) => None,
            (None, Some(base)) => Some(Priced { price: base.price, overridden: false, version: base.version.clone() }),
            (Some(o), Some(base)) => {
                Some(Priced { price: merge(o, Some(base.price)), overridden: true, version: overridden(&base.version) })
            }
            (Some(o), None) => {
                Some(Priced { price: merge(o, None), overridden: true, version: overridden(&self.version) })
            }
        }
    }

    /// The newest catalog or shipped price of exactly `key` (a normalized model id or prefix) at `provider`: what an
    /// import compares its prices with.
    pub(crate) fn latest(&self, provider: &str, key: &str) -> Option<Price> {
        self.table.latest(provider, &normalize(key)).copied()
    }

    /// What `record` cost. See the module docs for the order of sources.
    pub fn cost(&self, record: &Record) -> Cost {
        self.cost_by(record, |kind, id, model| self.lookup_at(kind, id, model, record.ts_ms))
    }

    /// [`Prices::cost`] for the rows of one batch, which name a handful of models between them: each model's price
    /// is looked up once.
    pub(crate) fn cost_cached<'r>(&self, record: &'r Record, cache: &mut LookupCache<'r>) -> Cost {
        let epoch = self.table.epoch(record.ts_ms);
        self.cost_by(record, |kind, id, model| {
            cache
                .found
                .entry((kind, id, model, epoch))
                .or_insert_with(|| self.lookup_at(kind, id, model, record.ts_ms))
                .clone()
        })
    }

    fn cost_by<'r>(
        &self,
        record: &'r Record,
        lookup: impl FnOnce(Option<&'r str>, Option<&'r str>, &'r str) -> Option<Priced>,
    ) -> Cost {
        if let Some(usd) = record.provider_cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            return Cost { usd: Some(usd), source: Some(CostSource::Provider), price_version: None };
        }
        if record.provider_kind.as_deref().is_some_and(is_local) {
            return Cost { usd: Some(0.0), source: Some(CostSource::Local), price_version: None };
        }
        let Some(usage) = &record.usage else {
            return Cost { usd: None, source: None, price_version: None };
        };
        let found = record
            .model
            .as_deref()
            .and_then(|model| lookup(record.provider_kind.as_deref(), record.provider_id.as_deref(), model));
        match found {
            Some(Priced { price, version, .. }) => Cost {
                usd: Some(price_usage(&price, usage)),
                source: Some(CostSource::Prices),
                price_version: Some(version.to_string()),
            },
            None => Cost { usd: None, source: Some(CostSource::Unknown), price_version: None },
        }
    }

    fn table_price(&self, provider: &str, model: &str, at_ms: i64) -> Option<&Dated> {
        if let Some(found) = self.table.at(provider, model, at_ms) {
            return Some(found);
        }
        let (vendor, rest) = model.split_once('/')?;
        if provider == OPENROUTER {
            // `anthropic/claude-sonnet-4.5`: the vendor's own price, when OpenRouter has no entry.
            return self.table.at(vendor_table(vendor)?, rest, at_ms);
        }
        // `models/gemini-2.5-pro`, `meta-llama/…` at a host: the model's own name.
        let name = model.rsplit('/').next().unwrap_or(rest);
        self.table.at(provider, name, at_ms)
    }
}

/// The cost of `usage` at `price`, in USD: each class of token at its own price, every token once (see
/// [`Usage`] for how the classes nest). Fresh prompt tokens at `input`, cache reads at `cached_input`, five-minute
/// writes at `cache_write`, hour-long writes at `cache_write_1h`, and every output token (reasoning included) at
/// `output`. A long-context tier reprices every class when the whole prompt is longer than its threshold.
pub fn price_usage(price: &Price, usage: &Usage) -> f64 {
    let tier = price.long_context.filter(|tier| usage.input > tier.above_tokens);
    let base_cached = price.cached_input.unwrap_or(price.input);
    let base_write = price.cache_write.unwrap_or(price.input);
    let (input, output, cached, write, write_1h) = match tier {
        None => (price.input, price.output, base_cached, base_write, price.cache_write_1h.unwrap_or(2.0 * price.input)),
        Some(t) => {
            let input = t.input.unwrap_or(price.input);
            let write_1h = t.cache_write_1h.or(price.cache_write_1h.filter(|_| t.input.is_none()));
            (
                input,
                t.output.unwrap_or(price.output),
                t.cached_input.unwrap_or(base_cached),
                t.cache_write.unwrap_or(base_write),
                write_1h.unwrap_or(2.0 * input),
            )
        }
    };
    // Counts that do not nest (a host's odd report) are clamped so no token is billed twice.
    let cached_tokens = usage.cached_input.min(usage.input);
    let write_tokens = usage.cache_write.min(usage.input - cached_tokens);
    let write_1h_tokens = usage.cache_write_1h.min(write_tokens);
    let fresh = usage.input - cached_tokens - write_tokens;
    let micro = fresh as f64 * input
        + cached_tokens as f64 * cached
        + (write_tokens - write_1h_tokens) as f64 * write
        + write_1h_tokens as f64 * write_1h
        + usage.output as f64 * output;
    micro / 1_000_000.0
}

/// Whether `kind` is a provider preset that runs on this machine (its default address is loopback): its tokens are
/// free, and spend budgets never block it.
pub fn is_local(kind: &str) -> bool {
    presets::find(kind).and_then(|p| p.base_url).is_some_and(|url| {
        let host = url.split_once("://").map_or(url, |(_, rest)| rest);
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]")
    })
}

/// The prices a batch has looked up, by (provider kind, provider id, model, epoch); see [`Prices::cost_cached`].
#[derive(Default)]
pub(crate) struct LookupCache<'r> {
    found: HashMap<ModelKey<'r>, Option<Priced>>,
}

/// (provider kind, provider id, model) as a record names them, and how many imports had taken effect at its time.
type ModelKey<'r> = (Option<&'r str>, Option<&'r str>, &'r str, usize);

/// Lower-cased, dots read as dashes: how prefixes and model ids are compared.
pub(crate) fn normalize(model: &str) -> String {
    model.trim().to_lowercase().replace('.', "-")
}

fn longest_prefix<T: Clone>(table: &[(String, T)], model: &str) -> Option<T> {
    table
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, t)| t.clone())
}

/// The shipped table that prices an OpenRouter vendor's models.
fn vendor_table(vendor: &str) -> Option<&'static str> {
    Some(match vendor {
        "openai" => "openai",
        "anthropic" => "anthropic",
        "google" => "gemini",
        "x-ai" => "xai",
        "deepseek" => "deepseek",
        "mistralai" => "mistral",
        _ => return None,
    })
}

/// A user override on top of the shipped price. An override of input or output drops the long-context tier: the
/// override table has no tiers, and the user's flat price is what they asked for.
fn merge(o: PriceOverride, base: Option<Price>) -> Price {
    let keep_tier = o.input.is_none() && o.output.is_none();
    Price {
        input: o.input.or(base.map(|b| b.input)).unwrap_or(0.0),
        output: o.output.or(base.map(|b| b.output)).unwrap_or(0.0),
        cached_input: o.cached_input.or(base.and_then(|b| b.cached_input)),
        cache_write: o.cache_write.or(base.and_then(|b| b.cache_write)),
        // Without a price of the user's own, the hour-long writes follow the user's input price when they set one.
        cache_write_1h: o.cache_write_1h.or(base.and_then(|b| b.cache_write_1h).filter(|_| o.input.is_none())),
        long_context: base.and_then(|b| b.long_context).filter(|_| keep_tier),
    }
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;
