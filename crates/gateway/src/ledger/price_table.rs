//! The price table over time: the shipped snapshot (`data/prices.toml`) as the oldest layer, and on top of it each
//! catalog import's prices from the moment that import took effect. A row is priced with the prices in effect at its
//! own `ts`, so a request made before an update keeps the price of its day even when the writer inserts it after.
//!
//! Each (provider, model key) keeps its prices as a history, oldest first. Looking a model up at a time takes, among
//! the keys that match it and have a price by then, the longest, and that key's newest price by then. Shipped keys
//! are prefixes (`gpt-4o` prices `gpt-4o-2024-08-06`), as the maintainers wrote them; imported keys are whole model
//! ids, which also price their dated snapshots (`gpt-4o` prices `gpt-4o-2024-08-06` and `claude-sonnet-4-5` prices
//! `claude-sonnet-4-5-20250929`, but `gpt-4` does not price `gpt-4.1`). An import that prices a key the snapshot
//! wrote as a prefix keeps it a prefix: it only changes the price.

use std::collections::HashMap;
use std::sync::Arc;

use super::prices::Price;

/// Prices by provider (a preset id or a provider's own id) and key, each with its history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    providers: HashMap<String, Vec<Entry>>,
    /// When each import took effect, ascending and without repeats: a row's place among them is its "epoch".
    changes: Vec<i64>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Lower-cased, dots read as dashes.
    key: String,
    /// Whether the key prices every model id that starts with it (shipped entries), or only itself and its dated
    /// snapshots (imported entries).
    prefix: bool,
    /// Oldest first.
    history: Vec<Dated>,
}

/// A price and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dated {
    /// When it took effect, unix ms; `i64::MIN` for the shipped snapshot.
    pub from_ms: i64,
    pub price: Price,
    /// The shipped table's version or the import's name, stamped on the rows it prices.
    pub version: Arc<str>,
}

impl Table {
    /// A shipped entry: `key` (normalized) prices every model id that starts with it, since forever.
    pub fn add_shipped(&mut self, provider: &str, key: String, price: Price, version: &Arc<str>) {
        let dated = Dated { from_ms: i64::MIN, price, version: version.clone() };
        self.providers.entry(provider.to_owned()).or_default().push(Entry { key, prefix: true, history: vec![dated] });
    }

    /// An imported price for the model `key` (normalized), in effect from `from_ms`.
    pub fn add_imported(&mut self, provider: &str, key: String, dated: Dated) {
        if let Err(at) = self.changes.binary_search(&dated.from_ms) {
            self.changes.insert(at, dated.from_ms);
        }
        let entries = self.providers.entry(provider.to_owned()).or_default();
        match entries.iter_mut().find(|e| e.key == key) {
            Some(entry) => {
                let at = entry.history.partition_point(|d| d.from_ms <= dated.from_ms);
                entry.history.insert(at, dated);
            }
            None => entries.push(Entry { key, prefix: false, history: vec![dated] }),
        }
    }

    /// The price of `model` (normalized) at `provider` at `at_ms`: the longest matching key with a price by then.
    pub fn at(&self, provider: &str, model: &str, at_ms: i64) -> Option<&Dated> {
        self.providers
            .get(provider)?
            .iter()
            .filter(|e| e.matches(model))
            .filter_map(|e| Some((e.key.len(), e.price_at(at_ms)?)))
            .max_by_key(|(len, _)| *len)
            .map(|(_, dated)| dated)
    }

    /// The newest price of exactly `key` at `provider`, whatever its match rule: what an import compares against.
    pub fn latest(&self, provider: &str, key: &str) -> Option<&Price> {
        let entry = self.providers.get(provider)?.iter().find(|e| e.key == key)?;
        entry.history.last().map(|d| &d.price)
    }

    /// How many imports had taken effect by `at_ms`. Two times with the same epoch see the same table, so a batch
    /// caches its lookups by (model, epoch).
    pub fn epoch(&self, at_ms: i64) -> usize {
        self.changes.partition_point(|from| *from <= at_ms)
    }
}

impl Entry {
    fn matches(&self, model: &str) -> bool {
        if self.prefix { model.starts_with(self.key.as_str()) } else { is_same_model(model, &self.key) }
    }

    fn price_at(&self, at_ms: i64) -> Option<&Dated> {
        self.history.iter().rev().find(|d| d.from_ms <= at_ms)
    }
}

/// Whether `model` is `id` or one of its dated snapshots: `id` followed by `-` and a date-like suffix of digits
/// and dashes whose first group has at least four digits (`-2024-08-06`, `-20250929`, `-0613`). Both normalized.
pub(crate) fn is_same_model(model: &str, id: &str) -> bool {
    match model.strip_prefix(id) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('-').is_some_and(is_snapshot_suffix),
        None => false,
    }
}

fn is_snapshot_suffix(rest: &str) -> bool {
    let first = rest.split('-').next().unwrap_or_default();
    first.len() >= 4 && rest.chars().all(|c| c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64) -> Price {
        Price {
            input,
            output: input * 4.0,
            cached_input: None,
            cache_write: None,
            cache_write_1h: None,
            long_context: None,
        }
    }

    fn dated(from_ms: i64, input: f64, version: &str) -> Dated {
        Dated { from_ms, price: price(input), version: version.into() }
    }

    fn table() -> Table {
        let shipped: Arc<str> = "shipped".into();
        let mut table = Table::default();
        table.add_shipped("openai", "gpt-4o".into(), price(2.5), &shipped);
        table.add_shipped("openai", "gpt-4o-mini".into(), price(0.15), &shipped);
        table.add_imported("openai", "gpt-4o".into(), dated(1000, 3.0, "one"));
        table.add_imported("openai", "gpt-4o".into(), dated(3000, 4.0, "three"));
        table.add_imported("openai", "gpt-4o-2024-05-13".into(), dated(2000, 5.0, "two"));
        table.add_imported("openai", "gpt-5".into(), dated(2000, 1.25, "two"));
        table
    }

    fn check(table: &Table, model: &str, at: i64, expect: Option<(f64, &str)>) {
        let got = table.at("openai", model, at).map(|d| (d.price.input, &*d.version));
        assert_eq!(got, expect, "{model} at {at}");
    }

    #[test]
    fn a_model_is_priced_by_the_prices_in_effect_at_its_time() {
        let table = table();
        check(&table, "gpt-4o", 999, Some((2.5, "shipped")));
        check(&table, "gpt-4o", 1000, Some((3.0, "one")));
        check(&table, "gpt-4o", 2999, Some((3.0, "one")));
        check(&table, "gpt-4o", i64::MAX, Some((4.0, "three")));
        // The shipped key stays a prefix after an import changed its price.
        check(&table, "gpt-4o-audio-preview", 3000, Some((4.0, "three")));
        check(&table, "gpt-4o-mini-2024-07-18", 3000, Some((0.15, "shipped")));
        // A longer key wins once it exists, and not before.
        check(&table, "gpt-4o-2024-05-13", 1999, Some((3.0, "one")));
        check(&table, "gpt-4o-2024-05-13", 2000, Some((5.0, "two")));
        // An imported id prices itself and its dated snapshots only.
        check(&table, "gpt-5", 1999, None);
        check(&table, "gpt-5-2025-08-07", 2000, Some((1.25, "two")));
        check(&table, "gpt-5-mini", 2000, None);
        assert_eq!((table.epoch(0), table.epoch(1000), table.epoch(2500), table.epoch(i64::MAX)), (0, 1, 2, 3));
        assert_eq!(table.latest("openai", "gpt-4o").map(|p| p.input), Some(4.0));
    }

    #[test]
    fn dated_snapshots_are_digits_and_dashes_with_four_digits() {
        for (model, id, same) in [
            ("gpt-4o", "gpt-4o", true),
            ("gpt-4o-2024-08-06", "gpt-4o", true),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", true),
            ("gpt-4-0613", "gpt-4", true),
            ("gpt-4-1", "gpt-4", false),
            ("gpt-4-1-2025-04-14", "gpt-4", false),
            ("gpt-4o-mini", "gpt-4o", false),
            ("gpt-4oo", "gpt-4o", false),
            ("o3", "o3-pro", false),
        ] {
            assert_eq!(is_same_model(model, id), same, "{model} / {id}");
        }
    }
}
