//! The app registry in the shared database: the configuration's apps (by name), each with its token's digest,
//! allowed aliases, budget and limits, and the overall budget as the `budget` setting. Every replica writes what its
//! configuration says when it starts and on SIGHUP, and gets back each app's id, the same on every replica: the
//! ledger's rows name apps by that id, so an app's spend is one sum however many replicas served it.
//!
//! Replicas are meant to run the same configuration; while a new one rolls out, the last replica to start (or
//! reload) has written the registry, and each replica enforces the budgets of its own file.

use std::collections::HashMap;

use super::{PgError, Postgres};
use crate::config::Config;
use crate::ledger::Budget;
use crate::ledger::budgets::OVERALL_BUDGET_SETTING;

/// What registering the configuration's apps gave back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registered {
    /// Each app's id, by name.
    pub ids: HashMap<String, i64>,
    /// The budgets of the apps that have one, by id.
    pub budgets: HashMap<i64, Budget>,
    /// Every registered app's name, by id (for budget messages and spend by name).
    pub names: HashMap<i64, String>,
}

impl Postgres {
    /// Writes `config`'s enabled apps (with `digests`, each app's token digest by name) and its overall budget into
    /// the registry, in one transaction, and returns every app's id.
    pub async fn register_apps(
        &self,
        config: &Config,
        digests: &HashMap<String, [u8; 32]>,
    ) -> Result<Registered, PgError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = crate::store::now_ms();
        let upsert = tx
            .prepare(
                "INSERT INTO apps (name, token_digest, allowed_aliases, budget, limits, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (name) DO UPDATE SET token_digest = excluded.token_digest, \
                 allowed_aliases = excluded.allowed_aliases, budget = excluded.budget, limits = excluded.limits, \
                 updated_at = excluded.updated_at \
                 RETURNING id",
            )
            .await?;
        let mut registered = Registered::default();
        for app in config.apps.iter().filter(|a| a.enabled) {
            let json = |value: serde_json::Value| (!value.is_null()).then_some(value);
            let aliases = app.allowed_aliases.as_ref().map(|a| serde_json::json!(a));
            let budget = app.budget.as_ref().and_then(|b| json(serde_json::json!(b)));
            let limits = (!app.limits.is_empty()).then(|| serde_json::json!(app.limits));
            let digest = digests.get(&app.name).map(|d| d.to_vec());
            let id: i64 = tx.query_one(&upsert, &[&app.name, &digest, &aliases, &budget, &limits, &now]).await?.get(0);
            registered.ids.insert(app.name.clone(), id);
            registered.names.insert(id, app.name.clone());
            if let Some(budget) = app.budget {
                registered.budgets.insert(id, budget);
            }
        }
        match &config.budget {
            Some(budget) => {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&OVERALL_BUDGET_SETTING, &serde_json::json!(budget)],
                )
                .await?;
            }
            None => {
                tx.execute("DELETE FROM settings WHERE key = $1", &[&OVERALL_BUDGET_SETTING]).await?;
            }
        }
        // Apps another configuration registered keep their rows (their history points at them); their names are
        // still wanted for spend by name.
        for row in tx.query("SELECT id, name FROM apps", &[]).await? {
            registered.names.entry(row.get(0)).or_insert_with(|| row.get(1));
        }
        tx.commit().await?;
        Ok(registered)
    }
}
