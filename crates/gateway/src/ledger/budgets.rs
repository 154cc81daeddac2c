//! Spend budgets, per app and overall, per UTC day and month, answered from memory.
//!
//! A budget is the JSON `{"daily_usd": 5, "monthly_usd": 50, "action": "warn" | "block"}`: in an app's `budget`
//! column, or in the `budget` setting for all apps together. Running totals of `cost_usd` for the current UTC day and
//! month are loaded from the ledger when it starts and then kept by the writer as it inserts rows, so a verdict never
//! touches SQLite; the lock around them is held only to add or read a few numbers.
//!
//! The totals lag the requests by at most one batch (≤ 250 ms): a burst of parallel requests can overshoot a limit
//! by what is in flight. Rows without a cost (unknown models) count as zero. Models running on this machine cost
//! nothing and are never blocked: the relay skips the verdict for local targets (see [`super::prices::is_local`]).
//!
//! A `warn` limit reached as a row is added yields one [`BudgetWarning`] per budget, period and limit: the writer
//! logs it and publishes it through [`super::Ledger::budget_warnings`] (the desktop shows a notification). The
//! next day (or month) starts afresh; raising the limit lets it warn again once the new limit is reached.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::LedgerError;
use super::clock;
use crate::store::Store;

/// The setting that holds the overall budget.
pub const OVERALL_BUDGET_SETTING: &str = "budget";

/// Limits in USD; a limit left out is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_usd: Option<f64>,
    #[serde(default)]
    pub action: BudgetAction,
}

/// What happens once a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetAction {
    /// Answer as usual, with a warning (a notification and an `x-switchboard-budget` header).
    #[default]
    Warn,
    /// Refuse with 429 until the budget resets.
    Block,
}

/// The answer for one request about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ok,
    Warn { budget: String, spent: f64, limit: f64 },
    Block { budget: String, spent: f64, limit: f64, resets_at_ms: i64 },
}

impl Budget {
    /// Reads a budget from its JSON form, rejecting unknown fields and negative or non-finite limits.
    pub fn from_json(value: &serde_json::Value) -> Result<Budget, LedgerError> {
        let budget = Budget::deserialize(value).map_err(|e| LedgerError::Budget(e.to_string()))?;
        for limit in [budget.daily_usd, budget.monthly_usd].into_iter().flatten() {
            if !limit.is_finite() || limit < 0.0 {
                return Err(LedgerError::Budget(format!("a limit of {limit} USD is not a positive amount")));
            }
        }
        Ok(budget)
    }
}

/// A `warn` budget reached for the first time in its period: what a desktop notification says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetWarning {
    /// The app whose budget it is; `None` for the overall budget.
    pub app_id: Option<i64>,
    pub app_name: Option<String>,
    /// `daily` or `monthly`.
    pub period: &'static str,
    pub spent_usd: f64,
    pub limit_usd: f64,
    /// When the period ends and spending counts from zero again (unix ms, UTC midnight).
    pub resets_at_ms: i64,
}

impl BudgetWarning {
    /// "Cursor has spent $4.12 of its $5.00 daily budget; it resets at 2026-11-27 00:00 UTC".
    pub fn message(&self) -> String {
        let who = match &self.app_name {
            Some(name) => {
                format!("{name} has spent ${:.2} of its ${:.2} {} budget", self.spent_usd, self.limit_usd, self.period)
            }
            None => format!(
                "Your apps have spent ${:.2} of the ${:.2} {} overall budget",
                self.spent_usd, self.limit_usd, self.period
            ),
        };
        format!("{who}; it resets at {}. Change it in Apps or Settings.", clock::format_minutes(self.resets_at_ms))
    }
}

/// The budgets and the running totals they are checked against.
#[derive(Debug)]
pub(super) struct Budgets {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    apps: HashMap<i64, Budget>,
    overall: Option<Budget>,
    /// App names for messages, from the database and from the records seen since.
    names: HashMap<i64, String>,
    day_start: i64,
    month_start: i64,
    all: Spend,
    by_app: HashMap<i64, Spend>,
    /// The warnings already given this day and month: (app, period, the limit's bits).
    warned: HashSet<(Option<i64>, &'static str, u64)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    day: f64,
    month: f64,
}

/// One limit about to be compared.
struct Check<'a> {
    period: &'static str,
    owner: Option<&'a str>,
    spent: f64,
    limit: f64,
    action: BudgetAction,
    resets_at_ms: i64,
}

impl Budgets {
    /// The budgets in the database and the spend since the start of the UTC day and month holding `now_ms`.
    pub(super) fn load(store: &Store, now_ms: i64) -> Result<Budgets, LedgerError> {
        let budgets = Budgets { state: Mutex::new(State::default()) };
        budgets.reload(store)?;
        let (day_start, month_start) = (clock::day_start(now_ms), clock::month_start(now_ms));
        let rows: Vec<(Option<i64>, f64, f64)> = store.with_conn(|conn| {
            let mut stmt = conn.prepare(
                "SELECT app_id, total(CASE WHEN ts >= ?1 THEN cost_usd END), total(cost_usd) \
                 FROM requests WHERE ts >= ?2 GROUP BY app_id",
            )?;
            let rows = stmt
                .query_map([day_start, month_start], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        let mut state = budgets.lock();
        state.day_start = day_start;
        state.month_start = month_start;
        for (app_id, day, month) in rows {
            state.all.day += day;
            state.all.month += month;
            if let Some(id) = app_id {
                let spend = state.by_app.entry(id).or_default();
                spend.day += day;
                spend.month += month;
            }
        }
        drop(state);
        Ok(budgets)
    }

    /// Reads the apps' budgets, their names and the overall budget from the database again. A budget that does not
    /// parse is logged and ignored rather than stopping the gateway.
    pub(super) fn reload(&self, store: &Store) -> Result<(), LedgerError> {
        let mut apps = HashMap::new();
        let mut names = HashMap::new();
        for app in store.list_apps()? {
            names.insert(app.id, app.name.clone());
            let Some(value) = app.budget.as_ref().filter(|v| !v.is_null()) else { continue };
            match Budget::from_json(value) {
                Ok(budget) => {
                    apps.insert(app.id, budget);
                }
                Err(error) => tracing::warn!(app = %app.name, "ignoring the app's budget: {error}"),
            }
        }
        let overall = match store.get_setting::<serde_json::Value>(OVERALL_BUDGET_SETTING) {
            Ok(Some(value)) if !value.is_null() => Budget::from_json(&value)
                .inspect_err(|error| tracing::warn!("ignoring the overall budget: {error}"))
                .ok(),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!("ignoring the overall budget: {error}");
                None
            }
        };
        let mut state = self.lock();
        state.names.extend(names);
        state.apps = apps;
        state.overall = overall;
        Ok(())
    }

    pub(super) fn set(&self, apps: HashMap<i64, Budget>, overall: Option<Budget>) {
        let mut state = self.lock();
        state.apps = apps;
        state.overall = overall;
    }

    /// No budgets and no spend yet, in the day and month holding `now_ms` (a replica sharing PostgreSQL fills both in).
    pub(super) fn empty(now_ms: i64) -> Budgets {
        let state =
            State { day_start: clock::day_start(now_ms), month_start: clock::month_start(now_ms), ..State::default() };
        Budgets { state: Mutex::new(state) }
    }

    /// [`Budgets::set`], with every app's name by id.
    pub(super) fn set_named(&self, apps: HashMap<i64, Budget>, names: HashMap<i64, String>, overall: Option<Budget>) {
        let mut state = self.lock();
        state.names.extend(names);
        state.apps = apps;
        state.overall = overall;
    }

    /// Takes every replica's spend, as the shared database sums it, for the running totals. Sums of a day or month
    /// already over are ignored; apps are matched by name (the registry gives each name one id everywhere).
    /// Warnings are not given from here: the replica that wrote the row gave them.
    pub(super) fn replace_spend(&self, sums: &crate::postgres::SpendSums) {
        let mut state = self.lock();
        state.roll(sums.day_start);
        if sums.day_start != state.day_start || sums.month_start != state.month_start {
            return;
        }
        state.all = Spend { day: sums.all.0, month: sums.all.1 };
        let ids: HashMap<&str, i64> = state.names.iter().map(|(id, name)| (name.as_str(), *id)).collect();
        let mut by_app = HashMap::new();
        for (name, (day, month)) in &sums.by_app {
            if let Some(id) = ids.get(name.as_str()) {
                by_app.insert(*id, Spend { day: *day, month: *month });
            }
        }
        state.by_app = by_app;
    }

    /// Adds a written row's cost to the totals of the day and month it belongs to, and returns the `warn` limits it
    /// reached that have not warned yet this period (each warns once).
    pub(super) fn add(&self, ts_ms: i64, app_id: Option<i64>, app_name: &str, cost_usd: f64) -> Vec<BudgetWarning> {
        let mut state = self.lock();
        state.roll(ts_ms);
        if let Some(id) = app_id
            && state.names.get(&id).is_none_or(|name| name != app_name)
        {
            state.names.insert(id, app_name.to_owned());
        }
        if !cost_usd.is_finite() || cost_usd <= 0.0 || ts_ms < state.month_start {
            return Vec::new();
        }
        let today = ts_ms >= state.day_start;
        let add = |spend: &mut Spend| {
            spend.month += cost_usd;
            if today {
                spend.day += cost_usd;
            }
        };
        add(&mut state.all);
        if let Some(id) = app_id {
            add(state.by_app.entry(id).or_default());
        }
        state.new_warnings(app_id, ts_ms)
    }

    /// The spend of the UTC day and month holding `now_ms`: `app_id`'s (by id, so a renamed app keeps its spend), or
    /// every request's for `None`.
    pub(super) fn spend(&self, app_id: Option<i64>, now_ms: i64) -> (f64, f64) {
        let mut state = self.lock();
        state.roll(now_ms);
        let spend = match app_id {
            Some(id) => state.by_app.get(&id).copied().unwrap_or_default(),
            None => state.all,
        };
        (spend.day, spend.month)
    }

    /// A blocking limit reached wins over a warning one; an app's budget is named before the overall one.
    pub(super) fn verdict(&self, app_id: Option<i64>, now_ms: i64) -> Verdict {
        let mut state = self.lock();
        state.roll(now_ms);
        let app = app_id.and_then(|id| {
            let budget = *state.apps.get(&id)?;
            let name = state.names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
            Some((budget, name, state.by_app.get(&id).copied().unwrap_or_default()))
        });
        let overall = state.overall.map(|budget| (budget, state.all));
        drop(state);

        let mut checks = Vec::new();
        if let Some((budget, name, spend)) = &app {
            checks.extend(limits(budget, Some(name), *spend, now_ms));
        }
        if let Some((budget, spend)) = &overall {
            checks.extend(limits(budget, None, *spend, now_ms));
        }
        let reached = |action| checks.iter().find(|c| c.action == action && c.spent >= c.limit);
        if let Some(c) = reached(BudgetAction::Block) {
            return Verdict::Block { budget: c.name(), spent: c.spent, limit: c.limit, resets_at_ms: c.resets_at_ms };
        }
        if let Some(c) = reached(BudgetAction::Warn) {
            return Verdict::Warn { budget: c.name(), spent: c.spent, limit: c.limit };
        }
        Verdict::Ok
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Only numbers are updated under the lock; a panic elsewhere cannot leave them half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Starts a new day or month when `now_ms` is past the current one.
    fn roll(&mut self, now_ms: i64) {
        let (day, month) = (clock::day_start(now_ms), clock::month_start(now_ms));
        if day > self.day_start {
            self.day_start = day;
            self.all.day = 0.0;
            self.by_app.values_mut().for_each(|s| s.day = 0.0);
            self.warned.retain(|(_, period, _)| *period != DAILY);
        }
        if month > self.month_start {
            self.month_start = month;
            self.all.month = 0.0;
            self.by_app.values_mut().for_each(|s| s.month = 0.0);
            self.warned.retain(|(_, period, _)| *period != MONTHLY);
        }
    }

    /// The `warn` limits of `app_id`'s budget and the overall one that are reached and have not warned yet.
    fn new_warnings(&mut self, app_id: Option<i64>, now_ms: i64) -> Vec<BudgetWarning> {
        let mut reached = Vec::new();
        if let Some(id) = app_id
            && let Some(budget) = self.apps.get(&id)
        {
            let spend = self.by_app.get(&id).copied().unwrap_or_default();
            let name = self.names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
            for check in limits(budget, Some(&name), spend, now_ms) {
                reached.push((Some(id), check.period, check.spent, check.limit, check.action, check.resets_at_ms));
            }
        }
        if let Some(budget) = &self.overall {
            for check in limits(budget, None, self.all, now_ms) {
                reached.push((None, check.period, check.spent, check.limit, check.action, check.resets_at_ms));
            }
        }
        let mut warnings = Vec::new();
        for (owner, period, spent, limit, action, resets_at_ms) in reached {
            if action != BudgetAction::Warn || spent < limit || !self.warned.insert((owner, period, limit.to_bits())) {
                continue;
            }
            warnings.push(BudgetWarning {
                app_id: owner,
                app_name: owner.map(|id| self.names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))),
                period,
                spent_usd: spent,
                limit_usd: limit,
                resets_at_ms,
            });
        }
        warnings
    }
}

const DAILY: &str = "daily";
const MONTHLY: &str = "monthly";

/// The day and month limits of `budget`, with what has been spent against each.
fn limits<'a>(budget: &Budget, owner: Option<&'a str>, spend: Spend, now_ms: i64) -> Vec<Check<'a>> {
    let action = budget.action;
    let mut checks = Vec::new();
    if let Some(limit) = budget.daily_usd {
        let resets_at_ms = clock::next_day_start(now_ms);
        checks.push(Check { period: DAILY, owner, spent: spend.day, limit, action, resets_at_ms });
    }
    if let Some(limit) = budget.monthly_usd {
        let resets_at_ms = clock::next_month_start(now_ms);
        checks.push(Check { period: MONTHLY, owner, spent: spend.month, limit, action, resets_at_ms });
    }
    checks
}

impl Check<'_> {
    fn name(&self) -> String {
        match self.owner {
            Some(app) => format!("{} budget of app {app:?}", self.period),
            None => format!("{} overall budget", self.period),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::AppSpec;
    use crate::store::test_support::temp_store;

    /// 2026-03-15 12:00 UTC.
    const NOW: i64 = 1_773_576_000_000;

    fn insert(store: &Store, ts: i64, app: Option<i64>, cost: Option<f64>) {
        store
            .with_conn(|c| {
                c.execute(
                    "INSERT INTO requests (ts, app_id, app_name, client_protocol, status, cost_usd) \
                     VALUES (?1, ?2, 'x', 'openai-chat', 200, ?3)",
                    rusqlite::params![ts, app, cost],
                )?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn budgets_parse_from_json() {
        let b = Budget::from_json(&json!({"daily_usd": 5, "monthly_usd": 50.5, "action": "block"})).unwrap();
        assert_eq!(b, Budget { daily_usd: Some(5.0), monthly_usd: Some(50.5), action: BudgetAction::Block });
        assert_eq!(Budget::from_json(&json!({"daily_usd": 1})).unwrap().action, BudgetAction::Warn);
        for bad in [json!({"daily": 5}), json!({"daily_usd": -1}), json!({"action": "stop"}), json!("5")] {
            let err = Budget::from_json(&bad).unwrap_err().to_string();
            assert!(err.contains("daily_usd") && err.contains("expected"), "{bad}: {err}");
        }
    }

    #[test]
    fn spend_is_loaded_from_the_ledger_per_day_and_month() {
        let (_dir, store) = temp_store();
        let (app, _) =
            store.create_app(&AppSpec { budget: Some(json!({"daily_usd": 1.0})), ..AppSpec::new("scripts") }).unwrap();
        insert(&store, NOW - 1000, Some(app.id), Some(0.75)); // today
        insert(&store, clock::day_start(NOW) - 1, Some(app.id), Some(2.0)); // yesterday, this month
        insert(&store, clock::month_start(NOW) - 1, Some(app.id), Some(100.0)); // last month
        insert(&store, NOW - 5, Some(app.id), None); // unknown cost counts as zero
        insert(&store, NOW - 5, None, Some(0.5)); // no app: overall only
        let budgets = Budgets::load(&store, NOW).unwrap();
        assert_eq!(budgets.verdict(Some(app.id), NOW), Verdict::Ok, "0.75 of 1.00 spent today");

        budgets.set(
            HashMap::from([(app.id, Budget { monthly_usd: Some(2.5), ..Budget::default() })]),
            Some(Budget { daily_usd: Some(1.25), action: BudgetAction::Block, ..Budget::default() }),
        );
        assert_eq!(
            budgets.verdict(Some(app.id), NOW),
            Verdict::Block {
                budget: "daily overall budget".into(),
                spent: 1.25,
                limit: 1.25,
                resets_at_ms: clock::next_day_start(NOW)
            },
            "a block wins over the app's warning"
        );
        budgets.set(HashMap::from([(app.id, Budget { monthly_usd: Some(2.5), ..Budget::default() })]), None);
        assert_eq!(
            budgets.verdict(Some(app.id), NOW),
            Verdict::Warn { budget: "monthly budget of app \"scripts\"".into(), spent: 2.75, limit: 2.5 }
        );
        assert_eq!(budgets.verdict(None, NOW), Verdict::Ok, "no app, no app budget");
    }

    #[test]
    fn a_blocked_budget_resets_at_the_next_utc_midnight_or_month() {
        let store = Store::open_in_memory().unwrap();
        let budgets = Budgets::load(&store, NOW).unwrap();
        let block = |daily, monthly| Budget { daily_usd: daily, monthly_usd: monthly, action: BudgetAction::Block };
        budgets.set(HashMap::from([(7, block(Some(1.0), None))]), Some(block(None, Some(3.0))));
        budgets.add(NOW, Some(7), "scripts", 1.5);
        assert_eq!(budgets.spend(Some(7), NOW), (1.5, 1.5));
        budgets.add(NOW, Some(7), "renamed", 0.0);
        assert_eq!(budgets.spend(Some(7), NOW), (1.5, 1.5), "spend follows the app's id, not its name");
        let Verdict::Block { budget, resets_at_ms, .. } = budgets.verdict(Some(7), NOW) else { panic!("not blocked") };
        assert_eq!(budget, "daily budget of app \"renamed\"", "named as it is called now");
        assert_eq!(resets_at_ms, 1_773_619_200_000, "2026-03-16 00:00 UTC");
        // The next day the app may spend again...
        let tomorrow = NOW + clock::DAY_MS;
        assert_eq!(budgets.verdict(Some(7), tomorrow), Verdict::Ok);
        // ...until the month's overall limit is reached, which lasts until April.
        budgets.add(tomorrow, Some(8), "other", 2.0);
        let Verdict::Block { budget, spent, resets_at_ms, .. } = budgets.verdict(Some(7), tomorrow) else {
            panic!("not blocked")
        };
        assert_eq!((budget.as_str(), spent), ("monthly overall budget", 3.5));
        assert_eq!(resets_at_ms, 1_775_001_600_000, "2026-04-01 00:00 UTC");
        // A late row from an earlier day counts for the month only.
        budgets.set(HashMap::from([(9, Budget { daily_usd: Some(0.1), ..Budget::default() })]), None);
        budgets.add(NOW, Some(9), "late", 1.0);
        assert_eq!(budgets.verdict(Some(9), tomorrow), Verdict::Ok);
    }

    #[test]
    fn a_warn_budget_warns_once_per_budget_and_period() {
        let store = Store::open_in_memory().unwrap();
        let budgets = Budgets::load(&store, NOW).unwrap();
        let warn = |daily, monthly| Budget { daily_usd: daily, monthly_usd: monthly, action: BudgetAction::Warn };
        budgets.set(HashMap::from([(7, warn(Some(1.0), None))]), Some(warn(None, Some(3.0))));

        assert_eq!(budgets.add(NOW, Some(7), "Cursor", 0.75), [], "under every limit");
        let crossed = budgets.add(NOW, Some(7), "Cursor", 0.5);
        assert_eq!(
            crossed,
            [BudgetWarning {
                app_id: Some(7),
                app_name: Some("Cursor".into()),
                period: "daily",
                spent_usd: 1.25,
                limit_usd: 1.0,
                resets_at_ms: clock::next_day_start(NOW),
            }]
        );
        assert_eq!(
            crossed[0].message(),
            "Cursor has spent $1.25 of its $1.00 daily budget; it resets at 2026-03-16 00:00 UTC. \
             Change it in Apps or Settings."
        );
        for _ in 0..5 {
            assert_eq!(budgets.add(NOW, Some(7), "Cursor", 0.125), [], "already warned today");
        }
        // The overall monthly limit is another budget: it warns once too, for whichever app reaches it.
        let overall = budgets.add(NOW, Some(8), "scripts", 2.125);
        assert_eq!(overall.len(), 1, "{overall:?}");
        assert_eq!((overall[0].app_id, overall[0].period), (None, "monthly"));
        assert!(overall[0].message().starts_with("Your apps have spent $4.00 of the $3.00 monthly overall budget"));
        assert_eq!(budgets.add(NOW, Some(8), "scripts", 1.0), []);

        // A block budget never warns: it refuses requests instead.
        budgets.set(HashMap::from([(9, Budget { action: BudgetAction::Block, ..warn(Some(0.1), None) })]), None);
        assert_eq!(budgets.add(NOW, Some(9), "blocked", 1.0), []);

        // A new day warns again (the month's overall warning does not repeat), and so does a raised limit.
        budgets.set(HashMap::from([(7, warn(Some(1.0), None))]), Some(warn(None, Some(3.0))));
        let tomorrow = NOW + clock::DAY_MS;
        let next_day = budgets.add(tomorrow, Some(7), "Cursor", 1.5);
        assert_eq!(next_day.len(), 1, "{next_day:?}");
        assert_eq!((next_day[0].period, next_day[0].resets_at_ms), ("daily", clock::next_day_start(tomorrow)));
        budgets.set(HashMap::from([(7, warn(Some(2.0), None))]), None);
        assert_eq!(budgets.add(tomorrow, Some(7), "Cursor", 0.25), [], "1.75 of a raised 2.00");
        assert_eq!(budgets.add(tomorrow, Some(7), "Cursor", 0.5)[0].limit_usd, 2.0);
        // Next month the overall budget warns again.
        budgets.set(HashMap::new(), Some(warn(None, Some(3.0))));
        let next_month = clock::next_month_start(NOW);
        assert_eq!(budgets.add(next_month, None, "x", 5.0)[0].resets_at_ms, clock::next_month_start(next_month));
    }
}
