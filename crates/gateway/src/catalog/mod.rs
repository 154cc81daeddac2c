//! A price catalog that stays current: "Update prices" (and `switchboard-gateway prices update`) reads a public
//! catalog in models.dev's `api.json` shape (`models_dev.rs`), and stores, in one transaction, the prices that are
//! new or changed since what was in effect, dated from now, and what the catalog says each model can do.
//!
//! Nothing here runs at start-up or on the request path: only when a person asks. A download that fails, is too
//! large or does not parse changes nothing, and the error says why. The shipped `data/prices.toml` stays the oldest
//! layer, so the app prices requests offline from the day it is installed; a user's price override wins over
//! everything (see `ledger::prices`).

pub mod models_dev;

use std::path::PathBuf;
use std::time::Duration;

use crate::ledger::prices::{Price, Prices, import_version, normalize};
use crate::routing::Capabilities;
use crate::store::{NewPriceImport, Store, StoreError};

/// Where "Update prices" reads from unless told otherwise.
pub const DEFAULT_URL: &str = "https://models.dev/api.json";

/// The largest catalog read (the real one is a few megabytes).
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// How long a download may take, all told.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Where a catalog comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    File(PathBuf),
}

impl Source {
    /// `http://…` or `https://…` is a URL; anything else a file path.
    pub fn parse(text: &str) -> Source {
        let text = text.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            Source::Url(text.to_owned())
        } else {
            Source::File(PathBuf::from(text))
        }
    }

    /// How it is named in the import's record and in messages.
    pub fn label(&self) -> String {
        match self {
            Source::Url(url) => url.clone(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

impl Default for Source {
    fn default() -> Source {
        Source::Url(DEFAULT_URL.to_owned())
    }
}

/// A parsed catalog: the models of the providers Switchboard has presets for.
#[derive(Debug, Default)]
pub struct Listing {
    pub models: Vec<Listed>,
    /// Models left out because a field was malformed.
    pub skipped: usize,
}

/// One model as the catalog lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The Switchboard preset id.
    pub provider: &'static str,
    pub model: String,
    /// `None` when the catalog gives no (usable) cost.
    pub price: Option<Price>,
    pub capabilities: Capabilities,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateSummary {
    pub import_id: i64,
    /// The name rows priced by this import carry (`catalog#3 2026-12-07`).
    pub version: String,
    /// When its prices took effect, unix ms.
    pub effective_ms: i64,
    pub source: String,
    /// Priced models the catalog listed for Switchboard's providers.
    pub models: u64,
    /// Models that had no price of their own before (they may have been priced by a shorter shipped prefix).
    pub models_added: u64,
    /// Models whose price changed.
    pub prices_changed: u64,
    /// Models left out because a field was malformed.
    pub skipped: u64,
}

impl UpdateSummary {
    /// `12 models added, 3 prices changed (from catalog#2 2026-12-07)`: what the command line and the window say.
    pub fn describe(&self) -> String {
        let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let changes = if self.models_added + self.prices_changed == 0 {
            "no price changed".to_owned()
        } else {
            format!(
                "{}, {}",
                plural(self.models_added, "model added", "models added"),
                plural(self.prices_changed, "price changed", "prices changed")
            )
        };
        let skipped =
            if self.skipped > 0 { format!("; {} unreadable models left out", self.skipped) } else { String::new() };
        format!(
            "{changes}, in effect from {} ({}, {} priced models read from {}){skipped}",
            crate::ledger::clock::format_minutes(self.effective_ms),
            self.version,
            self.models,
            self.source
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("could not download the price catalog from {url}: {reason}; check the connection and try again")]
    Download { url: String, reason: String },
    #[error("{url} answered {status}; try again later, or pass another catalog with --from URL|FILE")]
    Status { url: String, status: u16 },
    #[error("could not read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("the price catalog is larger than {} MB; check that the address points at a catalog", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the price catalog is not valid: {0}")]
    Malformed(String),
    #[error("the price catalog lists no priced model for Switchboard's providers; nothing was changed")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Prices(String),
}

impl CatalogError {
    /// The message with "nothing was changed" where the error does not already say it.
    pub fn with_outcome(&self) -> String {
        let text = self.to_string();
        if text.contains("nothing was changed") { text } else { format!("{text}; nothing was changed") }
    }
}

/// Reads a catalog: a URL with `http` (proxy settings from the environment, 60 s, at most 64 MB), or a file.
pub async fn fetch(source: &Source, http: &reqwest::Client) -> Result<Vec<u8>, CatalogError> {
    match source {
        Source::File(path) => {
            let path = path.clone();
            let shown = path.display().to_string();
            let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
                .await
                .map_err(|e| CatalogError::File { path: shown.clone(), reason: e.to_string() })?
                .map_err(|e| CatalogError::File { path: shown, reason: e.to_string() })?;
            if bytes.len() > MAX_BYTES {
                return Err(CatalogError::TooLarge);
            }
            Ok(bytes)
        }
        Source::Url(url) => {
            let download = |reason: String| CatalogError::Download { url: url.clone(), reason };
            let mut response = http
                .get(url)
                .timeout(TIMEOUT)
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| download(e.to_string()))?;
            if !response.status().is_success() {
                return Err(CatalogError::Status { url: url.clone(), status: response.status().as_u16() });
            }
            if response.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
                return Err(CatalogError::TooLarge);
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| download(e.to_string()))? {
                if bytes.len() + chunk.len() > MAX_BYTES {
                    return Err(CatalogError::TooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        }
    }
}

/// The HTTP client for catalog downloads: the system proxy settings and a 15 s connect timeout. The request carries
/// no key or token, so following a redirect is harmless.
pub fn http_client() -> Result<reqwest::Client, CatalogError> {
    reqwest::Client::builder()
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| CatalogError::Download { url: DEFAULT_URL.to_owned(), reason: e.to_string() })
}

/// What storing `listing` now would write: the prices that differ from those `current` has for the same keys.
pub fn plan(listing: &Listing, current: &Prices, source: &Source, now_ms: i64) -> Result<NewPriceImport, CatalogError> {
    let mut import = NewPriceImport { effective_ms: now_ms, source: source.label(), ..NewPriceImport::default() };
    let mut seen = std::collections::HashSet::new();
    for listed in &listing.models {
        let key = normalize(&listed.model);
        // A provider listing the same id twice (or two spellings of it): the first wins.
        if !seen.insert((listed.provider, key.clone())) {
            continue;
        }
        import.capabilities.push((listed.provider.to_owned(), key.clone(), listed.capabilities));
        let Some(price) = listed.price else { continue };
        import.models += 1;
        match current.latest(listed.provider, &key) {
            Some(before) if before == price => continue,
            Some(_) => import.prices_changed += 1,
            None => import.models_added += 1,
        }
        import.prices.push((listed.provider.to_owned(), key, price));
    }
    if import.models == 0 {
        return Err(CatalogError::Empty);
    }
    Ok(import)
}

/// Parses `bytes` and stores the changes against what `store` has, dated `now_ms`. Blocking (SQLite).
pub fn apply(store: &Store, bytes: &[u8], source: &Source, now_ms: i64) -> Result<UpdateSummary, CatalogError> {
    let listing = models_dev::parse(bytes)?;
    let current = Prices::load(store).map_err(|e| CatalogError::Prices(e.to_string()))?;
    let import = plan(&listing, &current, source, now_ms)?;
    let import_id = store.record_price_import(&import)?;
    Ok(UpdateSummary {
        import_id,
        version: import_version(import_id, now_ms),
        effective_ms: now_ms,
        source: import.source,
        models: import.models,
        models_added: import.models_added,
        prices_changed: import.prices_changed,
        skipped: listing.skipped as u64,
    })
}

/// Downloads (or reads) the catalog and stores it. The caller then reloads the ledger's prices
/// (`Ledger::set_prices(Prices::load(..))`) and the router's capabilities (`AppState::set_model_catalog`).
pub async fn update(store: &Store, source: &Source, now_ms: i64) -> Result<UpdateSummary, CatalogError> {
    let bytes = fetch(source, &http_client()?).await?;
    let (store, source) = (store.clone(), source.clone());
    tokio::task::spawn_blocking(move || apply(&store, &bytes, &source, now_ms))
        .await
        .map_err(|e| CatalogError::Prices(format!("the update did not finish: {e}")))?
}

/// The router's view of what the newest import said models can do. Blocking (SQLite).
pub fn imported_capabilities(store: &Store) -> Result<crate::routing::Imported, StoreError> {
    Ok(crate::routing::Imported::from_rows(store.model_capabilities()?))
}

#[cfg(test)]
mod tests;
