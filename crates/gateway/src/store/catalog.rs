//! The price catalog's tables (schema v4): each import, the prices it brought, the capabilities the newest one
//! listed; and the user's price overrides. The ledger reads these once into memory (`Prices::load`), never per row.

use rusqlite::params;

use super::{Result, Store, StoreError, now_ms};
use crate::ledger::prices::{ImportedPrice, Price, PriceOverride, Tier};
use crate::routing::Capabilities;

/// One stored import, newest first in [`Store::price_imports`].
#[derive(Debug, Clone, PartialEq)]
pub struct PriceImportRow {
    pub id: i64,
    pub effective_ms: i64,
    pub source: String,
    pub models: u64,
    pub models_added: u64,
    pub prices_changed: u64,
}

/// What one import writes, all at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPriceImport {
    pub effective_ms: i64,
    pub source: String,
    /// How many priced models the catalog listed (for the summary).
    pub models: u64,
    pub models_added: u64,
    pub prices_changed: u64,
    /// (provider preset id, normalized model id, price): only those new or changed.
    pub prices: Vec<(String, String, Price)>,
    /// (provider preset id, normalized model id, capabilities): everything the catalog said, replacing what the
    /// previous import said.
    pub capabilities: Vec<(String, String, Capabilities)>,
}

impl Store {
    /// Writes an import in one transaction: its row, its new and changed prices, and the capabilities (replaced
    /// whole). Returns the import's id.
    pub fn record_price_import(&self, import: &NewPriceImport) -> Result<i64> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let id = {
                tx.execute(
                    "INSERT INTO price_imports (effective_at, source, models, models_added, prices_changed) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        import.effective_ms,
                        import.source,
                        count(import.models),
                        count(import.models_added),
                        count(import.prices_changed)
                    ],
                )?;
                let id = tx.last_insert_rowid();
                let mut insert = tx.prepare(
                    "INSERT INTO price_history (import_id, provider_id, model, input_per_mtok, output_per_mtok, \
                     cached_input_per_mtok, cache_write_per_mtok, long_context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (provider, model, price) in &import.prices {
                    let tier = price
                        .long_context
                        .map(|t| serde_json::to_string(&t))
                        .transpose()
                        .map_err(|source| StoreError::Json { what: format!("the tier of {model}"), source })?;
                    insert.execute(params![
                        id,
                        provider,
                        model,
                        price.input,
                        price.output,
                        price.cached_input,
                        price.cache_write,
                        tier
                    ])?;
                }
                id
            };
            if !import.capabilities.is_empty() {
                tx.execute("DELETE FROM model_capabilities", [])?;
                let mut insert = tx.prepare(
                    "INSERT OR REPLACE INTO model_capabilities (provider_id, model, context_window, max_output, \
                     tools, vision, reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for (provider, model, caps) in &import.capabilities {
                    let positive = |n: Option<u64>| n.filter(|n| *n > 0).map(count);
                    insert.execute(params![
                        provider,
                        model,
                        positive(caps.context_window),
                        positive(caps.max_output),
                        caps.tools,
                        caps.vision,
                        caps.reasoning
                    ])?;
                }
            }
            tx.commit()?;
            Ok(id)
        })
    }

    /// Every stored catalog price, oldest import first.
    pub fn imported_prices(&self) -> Result<Vec<ImportedPrice>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT h.import_id, i.effective_at, h.provider_id, h.model, h.input_per_mtok, h.output_per_mtok, \
                 h.cached_input_per_mtok, h.cache_write_per_mtok, h.long_context \
                 FROM price_history h JOIN price_imports i ON i.id = h.import_id ORDER BY i.effective_at, h.import_id",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    let tier: Option<String> = row.get(8)?;
                    Ok((
                        ImportedPrice {
                            import_id: row.get(0)?,
                            effective_ms: row.get(1)?,
                            provider: row.get(2)?,
                            model: row.get(3)?,
                            price: Price {
                                input: row.get(4)?,
                                output: row.get(5)?,
                                cached_input: row.get(6)?,
                                cache_write: row.get(7)?,
                                cache_write_1h: None,
                                long_context: None,
                            },
                        },
                        tier,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(mut imported, tier)| {
                    if let Some(text) = tier {
                        let tier: Tier = serde_json::from_str(&text).map_err(|source| StoreError::Json {
                            what: format!("the long-context price of {}", imported.model),
                            source,
                        })?;
                        imported.price.long_context = Some(tier);
                    }
                    Ok(imported)
                })
                .collect()
        })
    }

    /// What the newest import said each model can do: (provider preset id, normalized model id, capabilities).
    pub fn model_capabilities(&self) -> Result<Vec<(String, String, Capabilities)>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT provider_id, model, context_window, max_output, tools, vision, reasoning FROM model_capabilities",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    let size = |i| -> rusqlite::Result<Option<u64>> {
                        Ok(row.get::<_, Option<i64>>(i)?.and_then(|n| u64::try_from(n).ok()))
                    };
                    let caps = Capabilities {
                        context_window: size(2)?,
                        max_output: size(3)?,
                        tools: row.get(4)?,
                        vision: row.get(5)?,
                        json_schema: None,
                        reasoning: row.get(6)?,
                    };
                    Ok((row.get(0)?, row.get(1)?, caps))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The imports, newest first.
    pub fn price_imports(&self) -> Result<Vec<PriceImportRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, effective_at, source, models, models_added, prices_changed FROM price_imports \
                 ORDER BY effective_at DESC, id DESC",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    let n = |i| -> rusqlite::Result<u64> { Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(0)) };
                    Ok(PriceImportRow {
                        id: row.get(0)?,
                        effective_ms: row.get(1)?,
                        source: row.get(2)?,
                        models: n(3)?,
                        models_added: n(4)?,
                        prices_changed: n(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The user's prices, by provider and model.
    pub fn price_overrides(&self) -> Result<Vec<PriceOverride>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT provider_id, model, input_per_mtok, output_per_mtok, cached_input_per_mtok, \
                 cache_write_per_mtok, cache_write_1h_per_mtok FROM price_overrides ORDER BY provider_id, model",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(PriceOverride {
                        provider: row.get(0)?,
                        model: row.get(1)?,
                        input: row.get(2)?,
                        output: row.get(3)?,
                        cached_input: row.get(4)?,
                        cache_write: row.get(5)?,
                        cache_write_1h: row.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Sets the user's price for a provider (its id or kind) and model prefix, replacing any before. Negative or
    /// non-finite amounts are refused.
    pub fn put_price_override(&self, price: &PriceOverride) -> Result<()> {
        let amounts = [price.input, price.output, price.cached_input, price.cache_write, price.cache_write_1h];
        if amounts.iter().flatten().any(|a| !a.is_finite() || *a < 0.0) {
            return Err(StoreError::Invalid("a price is a number of dollars per million tokens, 0 or more".into()));
        }
        if price.provider.trim().is_empty() || price.model.trim().is_empty() {
            return Err(StoreError::Invalid("a price needs a provider and a model".into()));
        }
        if amounts.iter().all(Option::is_none) {
            return Err(StoreError::Invalid("enter at least an input or an output price".into()));
        }
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO price_overrides (provider_id, model, input_per_mtok, output_per_mtok, \
                 cached_input_per_mtok, cache_write_per_mtok, cache_write_1h_per_mtok, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (provider_id, model) DO UPDATE SET input_per_mtok = excluded.input_per_mtok, \
                 output_per_mtok = excluded.output_per_mtok, cached_input_per_mtok = excluded.cached_input_per_mtok, \
                 cache_write_per_mtok = excluded.cache_write_per_mtok, \
                 cache_write_1h_per_mtok = excluded.cache_write_1h_per_mtok, updated_at = excluded.updated_at",
                params![
                    price.provider.trim(),
                    price.model.trim(),
                    price.input,
                    price.output,
                    price.cached_input,
                    price.cache_write,
                    price.cache_write_1h,
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// Forgets the user's price for a provider and model; returns whether there was one.
    pub fn delete_price_override(&self, provider: &str, model: &str) -> Result<bool> {
        self.with_conn(|conn| {
            Ok(conn.execute(
                "DELETE FROM price_overrides WHERE provider_id = ?1 AND model = ?2",
                params![provider, model],
            )? > 0)
        })
    }

    /// The newest import, if any.
    pub fn latest_price_import(&self) -> Result<Option<PriceImportRow>> {
        Ok(self.price_imports()?.into_iter().next())
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64) -> Price {
        Price {
            input,
            output: 2.0 * input,
            cached_input: Some(input / 10.0),
            cache_write: None,
            cache_write_1h: None,
            long_context: None,
        }
    }

    #[test]
    fn an_import_round_trips_and_a_later_one_replaces_the_capabilities() {
        let store = Store::open_in_memory().unwrap();
        let tier = Tier {
            above_tokens: 200_000,
            input: Some(6.0),
            output: None,
            cached_input: None,
            cache_write: None,
            cache_write_1h: None,
        };
        let caps = Capabilities { context_window: Some(1000), tools: Some(true), ..Capabilities::default() };
        let first = NewPriceImport {
            effective_ms: 1000,
            source: "file.json".into(),
            models: 2,
            models_added: 2,
            prices_changed: 0,
            prices: vec![
                ("openai".into(), "gpt-x".into(), price(1.0)),
                ("anthropic".into(), "claude-y".into(), Price { long_context: Some(tier), ..price(3.0) }),
            ],
            capabilities: vec![("openai".into(), "gpt-x".into(), caps)],
        };
        let id = store.record_price_import(&first).unwrap();
        let prices = store.imported_prices().unwrap();
        assert_eq!(prices.len(), 2);
        let claude = prices.iter().find(|p| p.model == "claude-y").unwrap();
        assert_eq!((claude.import_id, claude.effective_ms, claude.price.long_context), (id, 1000, Some(tier)));
        assert_eq!(store.model_capabilities().unwrap(), vec![("openai".into(), "gpt-x".into(), caps)]);

        // No price changed: the import is recorded without prices, and the capabilities are the new catalog's.
        let same = NewPriceImport {
            effective_ms: 2000,
            source: "again.json".into(),
            prices: vec![],
            capabilities: vec![("openai".into(), "gpt-z".into(), Capabilities::default())],
            ..first.clone()
        };
        let second = store.record_price_import(&same).unwrap();
        assert_eq!(store.imported_prices().unwrap().len(), 2, "no price added");
        assert_eq!(store.price_imports().unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![second, id]);
        assert_eq!(store.model_capabilities().unwrap()[0].1, "gpt-z");
        assert_eq!(store.latest_price_import().unwrap().map(|r| r.source), Some("again.json".to_owned()));
    }

    #[test]
    fn overrides_are_checked_and_replaced() {
        let store = Store::open_in_memory().unwrap();
        let mut o =
            PriceOverride { provider: "oa".into(), model: "house".into(), input: Some(1.0), ..Default::default() };
        store.put_price_override(&o).unwrap();
        o.output = Some(2.0);
        store.put_price_override(&o).unwrap();
        assert_eq!(store.price_overrides().unwrap(), vec![o.clone()]);
        o.cache_write_1h = Some(7.5);
        store.put_price_override(&o).unwrap();
        assert_eq!(store.price_overrides().unwrap(), vec![o.clone()], "the hour-long write price is kept");
        for bad in [
            PriceOverride { input: Some(-1.0), ..o.clone() },
            PriceOverride { input: Some(f64::NAN), ..o.clone() },
            PriceOverride { cache_write_1h: Some(-0.5), ..o.clone() },
            PriceOverride { input: None, output: None, cache_write_1h: None, ..o.clone() },
            PriceOverride { model: " ".into(), ..o.clone() },
        ] {
            assert!(matches!(store.put_price_override(&bad), Err(StoreError::Invalid(_))), "{bad:?}");
        }
        assert!(store.delete_price_override("oa", "house").unwrap());
        assert!(!store.delete_price_override("oa", "house").unwrap());
    }
}
