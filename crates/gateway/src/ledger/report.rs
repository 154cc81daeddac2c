//! `switchboard-gateway usage`: the ledger's totals by app, alias and model, as aligned text tables or as JSON,
//! for a script or a server operator without the window.

use serde::Serialize;

use super::LedgerError;
use super::clock::{DAY_MS, HOUR_MS, format_minutes};
use super::queries::{self, GroupBy, TotalRow};
use crate::store::Store;

/// What `usage` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    /// `None` for all time.
    pub since_ms: Option<i64>,
    pub until_ms: i64,
    pub by_app: Vec<TotalRow>,
    pub by_alias: Vec<TotalRow>,
    pub by_model: Vec<TotalRow>,
    pub total: TotalRow,
}

/// Reads `24h`, `7d`, `30m`, `2w`, `90s` or `all` into a duration in ms (`None` for all).
pub fn parse_since(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a time span: use a number and a unit, like 30m, 24h, 7d or 2w, or \"all\"");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "w" => 7 * DAY_MS,
        _ => return Err(bad()),
    };
    number.checked_mul(unit_ms).map(Some).ok_or_else(bad)
}

impl UsageReport {
    /// Totals of the requests that started in the last `since` ms before `now_ms` (all of them for `None`).
    pub fn build(store: &Store, since: Option<i64>, now_ms: i64) -> Result<UsageReport, LedgerError> {
        let since_ms = since.map(|span| now_ms.saturating_sub(span));
        let (from, until) = (since_ms.unwrap_or(i64::MIN), now_ms.saturating_add(1));
        Ok(UsageReport {
            since_ms,
            until_ms: now_ms,
            by_app: queries::totals(store, from, until, GroupBy::App)?,
            by_alias: queries::totals(store, from, until, GroupBy::Alias)?,
            by_model: queries::totals(store, from, until, GroupBy::Model)?,
            total: queries::overall(store, from, until)?,
        })
    }

    /// Three aligned tables (app, alias, model), each with a total line.
    pub fn to_text(&self) -> String {
        let mut out = match self.since_ms {
            Some(since) => format!("Usage from {} to {}\n", format_minutes(since), format_minutes(self.until_ms)),
            None => format!("Usage of all time, to {}\n", format_minutes(self.until_ms)),
        };
        if self.total.requests == 0 {
            out.push_str("\nno requests in this period\n");
            return out;
        }
        for (title, rows) in [("app", &self.by_app), ("alias", &self.by_alias), ("model", &self.by_model)] {
            out.push('\n');
            out.push_str(&table(title, rows, &self.total));
        }
        if self.total.unpriced > 0 {
            out.push_str(&format!(
                "\n* {} request(s) used a model with no price: their cost is not included; \
                 add a price override for it\n",
                self.total.unpriced
            ));
        }
        out
    }
}

const COLUMNS: [&str; 8] = ["requests", "errors", "input", "cached", "output", "reasoning", "cost (USD)", "avg ms"];

fn table(title: &str, rows: &[TotalRow], total: &TotalRow) -> String {
    let mut lines: Vec<[String; 9]> = Vec::with_capacity(rows.len() + 2);
    let header = std::array::from_fn(|i| if i == 0 { title.to_owned() } else { COLUMNS[i - 1].to_owned() });
    lines.push(header);
    for row in rows {
        lines.push(cells(row.key.as_deref().unwrap_or("(none)"), row));
    }
    let total_line = cells("total", total);
    let mut widths = [0; 9];
    for line in lines.iter().chain([&total_line]) {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |line: &[String; 9]| {
        let mut text = format!("{:<w$}", line[0], w = widths[0]);
        for (cell, width) in line.iter().zip(widths).skip(1) {
            text.push_str(&format!("  {cell:>width$}"));
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut out = String::new();
    for line in &lines {
        out.push_str(&render(line));
    }
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    out.push('\n');
    out.push_str(&render(&total_line));
    out
}

fn cells(key: &str, row: &TotalRow) -> [String; 9] {
    let cost = format!("{:.4}{}", row.cost_usd, if row.unpriced > 0 { "*" } else { "" });
    [
        key.to_owned(),
        row.requests.to_string(),
        row.errors.to_string(),
        row.input.to_string(),
        row.cached_input.to_string(),
        row.output.to_string(),
        row.reasoning.to_string(),
        cost,
        row.avg_latency_ms.map(|ms| format!("{ms:.0}")).unwrap_or_else(|| "-".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{DATABASE_FILE, Ledger, Prices, Record};
    use crate::protocol::neutral::Usage;

    /// `usage --json` prints the report as serialized: every token class, the hour-long cache writes among them.
    #[tokio::test]
    async fn the_json_report_carries_the_hour_long_cache_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let ledger = Ledger::start(&path, Prices::shipped().unwrap()).unwrap();
        let now = crate::store::now_ms();
        for (model, write, write_1h) in
            [("claude-sonnet-4-5", 1_400, 400), ("claude-sonnet-4-5", 100, 0), ("b", 50, 50)]
        {
            let usage =
                Usage { input: 3_000, cache_write: write, cache_write_1h: write_1h, output: 10, ..Usage::default() };
            ledger.record(Record {
                ts_ms: now - 1_000,
                provider_id: Some("anthropic".into()),
                model: Some(model.into()),
                usage: Some(usage),
                ..Record::new("scripts", "anthropic")
            });
        }
        ledger.shutdown().await;
        let store = Store::open(&path).unwrap();
        let json = serde_json::to_value(UsageReport::build(&store, None, now).unwrap()).unwrap();
        assert_eq!((&json["total"]["cache_write"], &json["total"]["cache_write_1h"]), (&1_550.into(), &450.into()));
        let by_model = json["by_model"].as_array().unwrap();
        let of = |key: &str| by_model.iter().find(|r| r["key"] == key).unwrap()["cache_write_1h"].clone();
        assert_eq!((of("claude-sonnet-4-5"), of("b")), (400.into(), 50.into()), "{json}");
    }

    #[test]
    fn spans_parse() {
        assert_eq!(parse_since("24h"), Ok(Some(24 * HOUR_MS)));
        assert_eq!(parse_since("7d"), Ok(Some(7 * DAY_MS)));
        assert_eq!(parse_since("30m"), Ok(Some(1_800_000)));
        assert_eq!(parse_since("2w"), Ok(Some(14 * DAY_MS)));
        assert_eq!(parse_since("ALL"), Ok(None));
        for bad in ["", "h", "24", "24 h", "-1d", "1y", "99999999999999999999d"] {
            let err = parse_since(bad).unwrap_err();
            assert!(err.contains("not a time span"), "{bad}: {err}");
        }
    }
}
