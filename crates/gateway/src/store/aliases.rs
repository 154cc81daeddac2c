//! Aliases: the model names clients ask for, each mapped to ordered `provider/model` targets. Routing owns what
//! `strategy` and `settings` mean; this file only keeps them.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use super::{Result, Store, StoreError, check_name, from_json, is_unique_violation, now_ms, to_json};

/// An alias and its targets, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRow {
    /// What clients send as `model`; no '/'.
    pub name: String,
    pub description: Option<String>,
    /// `"fallback"` or `"weighted"` (`config::Strategy`, lowercase).
    pub strategy: String,
    /// A JSON object with the alias's request settings, keyed as in `config::AliasConfig`: `params`,
    /// `forced_params`, `system_prefix`, `timeouts`.
    pub settings: Value,
    /// A first-run default the user has not edited. [`Store::put_alias`] stores what this says, so an edit that
    /// passes `false` clears it.
    pub is_default: bool,
    /// In order: the first is tried first.
    pub targets: Vec<TargetRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub provider_id: String,
    pub model: String,
    /// Relative share under the weighted strategy; 1 by default.
    pub weight: u32,
}

impl AliasRow {
    /// A user-made fallback alias with no settings.
    pub fn new(name: impl Into<String>, targets: Vec<TargetRow>) -> AliasRow {
        AliasRow {
            name: name.into(),
            description: None,
            strategy: "fallback".to_owned(),
            settings: Value::Object(serde_json::Map::new()),
            is_default: false,
            targets,
        }
    }
}

impl TargetRow {
    pub fn new(provider_id: impl Into<String>, model: impl Into<String>) -> TargetRow {
        TargetRow { provider_id: provider_id.into(), model: model.into(), weight: 1 }
    }
}

impl Store {
    /// Every alias with its targets, by name.
    pub fn list_aliases(&self) -> Result<Vec<AliasRow>> {
        self.with_conn(|conn| {
            let mut targets: BTreeMap<String, Vec<TargetRow>> = BTreeMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT alias, provider_id, model, weight FROM alias_targets ORDER BY alias, position",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                targets.entry(row.get(0)?).or_default().push(target_from_row(row, 1)?);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT name, description, strategy, settings, is_default FROM aliases ORDER BY name",
            )?;
            let heads = stmt.query_map([], head_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            heads
                .into_iter()
                .map(|head| {
                    let own = targets.remove(&head.name).unwrap_or_default();
                    head.into_row(own)
                })
                .collect()
        })
    }

    /// One alias, or `None`.
    pub fn alias(&self, name: &str) -> Result<Option<AliasRow>> {
        self.with_conn(|conn| {
            let head = conn
                .prepare_cached(
                    "SELECT name, description, strategy, settings, is_default FROM aliases WHERE name = ?1",
                )?
                .query_row([name], head_from_row)
                .optional()?;
            let Some(head) = head else { return Ok(None) };
            let targets = targets_of(conn, name)?;
            head.into_row(targets).map(Some)
        })
    }

    /// Adds the alias or replaces the one with the same name, targets included, in one transaction: readers see the
    /// old alias or the new one, never a mix.
    pub fn put_alias(&self, alias: &AliasRow) -> Result<()> {
        check_alias(alias)?;
        let settings = to_json(&alias.settings, || format!("alias {:?} settings", alias.name))?;
        let now = now_ms();
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT INTO aliases (name, description, strategy, settings, is_default, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
                 ON CONFLICT (name) DO UPDATE SET description = excluded.description, strategy = excluded.strategy, \
                 settings = excluded.settings, is_default = excluded.is_default, updated_at = excluded.updated_at",
            )?
            .execute(params![
                alias.name,
                alias.description,
                alias.strategy,
                settings,
                alias.is_default,
                now
            ])?;
            tx.execute("DELETE FROM alias_targets WHERE alias = ?1", [&alias.name])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO alias_targets (alias, position, provider_id, model, weight) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (position, target) in (0_i64..).zip(&alias.targets) {
                insert.execute(params![alias.name, position, target.provider_id, target.model, target.weight])?;
            }
            drop(insert);
            tx.commit()?;
            Ok(())
        })
    }

    /// Deletes the alias and its targets. Apps whose allow-list names it keep the name (harmless while no alias has
    /// it; it applies again if one is created with that name).
    pub fn delete_alias(&self, name: &str) -> Result<()> {
        self.with_conn(|conn| {
            if conn.execute("DELETE FROM aliases WHERE name = ?1", [name])? == 0 {
                return Err(no_alias(name));
            }
            Ok(())
        })
    }

    /// Renames an alias, keeping its targets, and follows the rename in every app's allow-list. Counts as an edit:
    /// the alias is no longer a first-run default.
    pub fn rename_alias(&self, old: &str, new: &str) -> Result<()> {
        check_alias_name(new)?;
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let changed = tx
                .execute(
                    "UPDATE aliases SET name = ?2, is_default = 0, updated_at = ?3 WHERE name = ?1",
                    params![old, new, now_ms()],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!(
                            "an alias named {new:?} already exists; pick another name or delete that alias first"
                        ))
                    } else {
                        e.into()
                    }
                })?;
            if changed == 0 {
                return Err(no_alias(old));
            }
            rename_in_allow_lists(&tx, old, new)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// The alias columns before its targets are attached.
struct Head {
    name: String,
    description: Option<String>,
    strategy: String,
    settings: String,
    is_default: bool,
}

impl Head {
    fn into_row(self, targets: Vec<TargetRow>) -> Result<AliasRow> {
        let settings = from_json(&self.settings, || format!("alias {:?} settings", self.name))?;
        Ok(AliasRow {
            name: self.name,
            description: self.description,
            strategy: self.strategy,
            settings,
            is_default: self.is_default,
            targets,
        })
    }
}

fn head_from_row(row: &Row<'_>) -> rusqlite::Result<Head> {
    Ok(Head {
        name: row.get(0)?,
        description: row.get(1)?,
        strategy: row.get(2)?,
        settings: row.get(3)?,
        is_default: row.get(4)?,
    })
}

/// Reads `provider_id, model, weight` starting at column `first`.
fn target_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<TargetRow> {
    Ok(TargetRow { provider_id: row.get(first)?, model: row.get(first + 1)?, weight: row.get(first + 2)? })
}

fn targets_of(conn: &Connection, alias: &str) -> Result<Vec<TargetRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT provider_id, model, weight FROM alias_targets WHERE alias = ?1 ORDER BY position")?;
    Ok(stmt.query_map([alias], |row| target_from_row(row, 0))?.collect::<rusqlite::Result<_>>()?)
}

fn rename_in_allow_lists(tx: &Transaction<'_>, old: &str, new: &str) -> Result<()> {
    let mut stmt = tx.prepare("SELECT id, allowed_aliases FROM apps WHERE allowed_aliases IS NOT NULL")?;
    let lists = stmt.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?;
    let mut updates = Vec::new();
    for list in lists {
        let (id, text) = list?;
        let mut names: Vec<String> = from_json(&text, || format!("app {id} allowed_aliases"))?;
        if names.iter().any(|n| n == old) {
            for name in &mut names {
                if name == old {
                    new.clone_into(name);
                }
            }
            names.dedup();
            updates.push((id, to_json(&names, || format!("app {id} allowed_aliases"))?));
        }
    }
    drop(stmt);
    for (id, text) in updates {
        tx.execute("UPDATE apps SET allowed_aliases = ?2 WHERE id = ?1", params![id, text])?;
    }
    Ok(())
}

fn check_alias_name(name: &str) -> Result<()> {
    check_name("alias", name)?;
    if name.contains('/') {
        return Err(StoreError::Invalid(format!(
            "alias name {name:?} must not contain '/' (that form means provider/model)"
        )));
    }
    Ok(())
}

fn check_alias(alias: &AliasRow) -> Result<()> {
    check_alias_name(&alias.name)?;
    let name = &alias.name;
    if alias.strategy.is_empty() {
        return Err(StoreError::Invalid(format!("alias {name:?} needs a strategy (e.g. \"fallback\")")));
    }
    if !alias.settings.is_object() {
        return Err(StoreError::Invalid(format!("alias {name:?}: settings must be a JSON object")));
    }
    if alias.targets.is_empty() {
        return Err(StoreError::Invalid(format!("alias {name:?} has no targets; add at least one provider/model")));
    }
    if let Some(t) = alias.targets.iter().find(|t| t.provider_id.is_empty() || t.model.is_empty()) {
        return Err(StoreError::Invalid(format!(
            "alias {name:?}: target {:?}/{:?} needs both a provider and a model",
            t.provider_id, t.model
        )));
    }
    Ok(())
}

fn no_alias(name: &str) -> StoreError {
    StoreError::NotFound(format!("there is no alias named {name:?}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::AppSpec;
    use crate::store::test_support::temp_store;

    fn general() -> AliasRow {
        AliasRow {
            description: Some("everyday".into()),
            settings: json!({"params": {"temperature": 0.2}, "system_prefix": "Be brief."}),
            is_default: true,
            ..AliasRow::new("general", vec![TargetRow::new("openai", "gpt-4o-mini"), TargetRow::new("groq", "llama")])
        }
    }

    #[test]
    fn aliases_round_trip_through_a_restart() {
        let (dir, store) = temp_store();
        store.put_alias(&general()).unwrap();
        let weighted = AliasRow {
            strategy: "weighted".into(),
            targets: vec![TargetRow { weight: 3, ..TargetRow::new("a", "m1") }, TargetRow::new("b", "m2")],
            ..AliasRow::new("cheap", vec![])
        };
        store.put_alias(&weighted).unwrap();
        drop(store);

        let store = Store::open(&dir.path().join("switchboard.db")).unwrap();
        assert_eq!(store.list_aliases().unwrap(), vec![weighted, general()]);
        assert_eq!(store.alias("general").unwrap(), Some(general()));
        assert_eq!(store.alias("nope").unwrap(), None);
    }

    #[test]
    fn upsert_replaces_targets_and_clears_is_default() {
        let (_dir, store) = temp_store();
        store.put_alias(&general()).unwrap();
        let edited = AliasRow { is_default: false, targets: vec![TargetRow::new("anthropic", "haiku")], ..general() };
        store.put_alias(&edited).unwrap();
        let stored = store.alias("general").unwrap().unwrap();
        assert_eq!(stored.targets, [TargetRow::new("anthropic", "haiku")]);
        assert!(!stored.is_default);
        let rows: i64 =
            store.with_conn(|c| Ok(c.query_row("SELECT count(*) FROM alias_targets", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rows, 1, "old targets are gone, not appended to");
    }

    #[test]
    fn a_failed_put_leaves_the_old_alias_whole() {
        let store = Store::open_in_memory().unwrap();
        store.put_alias(&general()).unwrap();
        // Make the second target's insert fail, after the old targets were deleted and the first new one written.
        store
            .with_conn(|c| {
                Ok(c.execute_batch(
                    "CREATE TEMP TRIGGER boom BEFORE INSERT ON alias_targets WHEN new.model = 'boom' \
                     BEGIN SELECT RAISE(ABORT, 'boom'); END;",
                )?)
            })
            .unwrap();
        let bad = AliasRow { targets: vec![TargetRow::new("x", "fine"), TargetRow::new("y", "boom")], ..general() };
        assert!(store.put_alias(&bad).is_err());
        assert_eq!(store.alias("general").unwrap(), Some(general()));
    }

    #[test]
    fn deleting_an_alias_cascades_to_its_targets() {
        let (_dir, store) = temp_store();
        store.put_alias(&general()).unwrap();
        store.delete_alias("general").unwrap();
        let rows: i64 =
            store.with_conn(|c| Ok(c.query_row("SELECT count(*) FROM alias_targets", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rows, 0);
        assert_eq!(store.delete_alias("general").unwrap_err().to_string(), "there is no alias named \"general\"");
    }

    #[test]
    fn rename_moves_targets_and_allow_lists() {
        let (_dir, store) = temp_store();
        store.put_alias(&general()).unwrap();
        store.put_alias(&AliasRow::new("other", vec![TargetRow::new("a", "b")])).unwrap();
        let spec = AppSpec { allowed_aliases: Some(vec!["general".into(), "other".into()]), ..AppSpec::new("ide") };
        let (app, _token) = store.create_app(&spec).unwrap();

        store.rename_alias("general", "everyday").unwrap();
        assert_eq!(store.alias("general").unwrap(), None);
        let renamed = store.alias("everyday").unwrap().unwrap();
        assert_eq!(renamed.targets, general().targets);
        assert!(!renamed.is_default, "a rename is an edit");
        let app = store.app(app.id).unwrap().unwrap();
        assert_eq!(app.allowed_aliases, Some(vec!["everyday".to_owned(), "other".to_owned()]));

        let err = store.rename_alias("everyday", "other").unwrap_err().to_string();
        assert_eq!(err, "an alias named \"other\" already exists; pick another name or delete that alias first");
        let err = store.rename_alias("missing", "x").unwrap_err().to_string();
        assert_eq!(err, "there is no alias named \"missing\"");
        assert!(store.rename_alias("everyday", "a/b").is_err());
    }

    #[test]
    fn bad_aliases_are_refused_with_a_reason() {
        let store = Store::open_in_memory().unwrap();
        let check = |alias: AliasRow, expect: &str| {
            let err = store.put_alias(&alias).unwrap_err().to_string();
            assert!(err.contains(expect), "{err:?} should contain {expect:?}");
        };
        check(AliasRow::new("x", vec![]), "has no targets");
        check(AliasRow::new("a/b", vec![TargetRow::new("p", "m")]), "must not contain '/'");
        check(AliasRow::new(" x", vec![TargetRow::new("p", "m")]), "leading/trailing spaces");
        check(AliasRow { settings: json!([1]), ..AliasRow::new("x", vec![TargetRow::new("p", "m")]) }, "JSON object");
        check(AliasRow::new("x", vec![TargetRow::new("", "m")]), "needs both a provider and a model");
    }
}
