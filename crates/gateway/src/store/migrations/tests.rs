//! The migrations' own checks: each version on a file of the one before, and the schema they end with.

use rusqlite::params;

use super::*;
use crate::store::Store;
use crate::store::test_support::temp_store;

fn names(store: &Store, sql: &str) -> Vec<String> {
    store
        .with_conn(|conn| {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .unwrap()
}

#[test]
fn migrates_an_empty_file_to_the_current_schema() {
    let (_dir, store) = temp_store();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let tables = names(&store, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    for expected in [
        "alias_targets",
        "aliases",
        "apps",
        "conversations",
        "messages",
        "messages_fts",
        "model_capabilities",
        "price_history",
        "price_imports",
        "price_overrides",
        "provider_keys",
        "providers",
        "requests",
        "settings",
        "usage_daily",
        "usage_hourly",
    ] {
        assert!(tables.iter().any(|t| t == expected), "missing table {expected}: {tables:?}");
    }
    let id: i64 = store.with_conn(|c| Ok(c.pragma_query_value(None, "application_id", |r| r.get(0))?)).unwrap();
    assert_eq!(id, APPLICATION_ID);
}

#[test]
fn migrations_apply_in_one_transaction_and_are_idempotent() {
    let (dir, store) = temp_store();
    drop(store);
    let path = dir.path().join("switchboard.db");
    // Opening again runs nothing: the built-in app is not inserted twice.
    let store = Store::open(&path).unwrap();
    let builtins: i64 =
        store.with_conn(|c| Ok(c.query_row("SELECT count(*) FROM apps WHERE builtin = 1", [], |r| r.get(0))?)).unwrap();
    assert_eq!(builtins, 1);
}

#[test]
fn a_newer_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    }
    let err = Store::open(&path).unwrap_err().to_string();
    let expected = format!(
        "this database was written by a newer Switchboard (schema {} > {}); update Switchboard, \
         or move the file aside to start fresh: {}",
        SCHEMA_VERSION + 1,
        SCHEMA_VERSION,
        path.display()
    );
    assert_eq!(err, expected);
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1, "a refused file is left as it was");
}

#[test]
fn someone_elses_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("is not a Switchboard database") && err.contains("move the file aside"), "{err}");

    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("is not a Switchboard database"), "{err}");
}

#[test]
fn the_bundled_sqlite_has_fts5_and_search_finds_a_message() {
    let store = Store::open_in_memory().unwrap();
    let hits = store
        .with_conn(|conn| {
            let now = crate::store::now_ms();
            conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES ('trip', ?1, ?1)",
                params![now],
            )?;
            let conversation = conn.last_insert_rowid();
            let insert = "INSERT INTO messages (conversation_id, position, role, content, created_at) \
                          VALUES (?1, ?2, ?3, ?4, ?5)";
            conn.execute(insert, params![conversation, 0, "user", r#""Which café in Zürich?""#, now])?;
            conn.execute(
                insert,
                params![
                    conversation,
                    1,
                    "assistant",
                    r#"[{"type":"thinking","thinking":"secret plan"},{"type":"text","text":"Try the Cafe Sprungli"}]"#,
                    now
                ],
            )?;
            let search = |q: &str| -> rusqlite::Result<Vec<i64>> {
                let mut stmt = conn.prepare(
                    "SELECT m.position FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
                     WHERE messages_fts MATCH ?1 ORDER BY m.position",
                )?;
                stmt.query_map([q], |r| r.get(0))?.collect()
            };
            let found = vec![search("sprungli")?, search("zurich")?, search("cafe")?, search("plan")?];
            // Deleting the conversation cascades to its messages, and the trigger empties the index.
            conn.execute("DELETE FROM conversations WHERE id = ?1", [conversation])?;
            let left: i64 =
                conn.query_row("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'cafe'", [], |r| r.get(0))?;
            Ok((found, left))
        })
        .unwrap();
    let (found, left) = hits;
    assert_eq!(found, vec![vec![1], vec![0], vec![0, 1], vec![]]);
    assert_eq!(left, 0);
}

#[test]
fn editing_a_message_reindexes_it() {
    let store = Store::open_in_memory().unwrap();
    let (before, after) = store
        .with_conn(|conn| {
            conn.execute("INSERT INTO conversations (id, created_at, updated_at) VALUES (1, 0, 0)", [])?;
            conn.execute(
                "INSERT INTO messages (id, conversation_id, position, role, content, created_at) \
                 VALUES (7, 1, 0, 'user', '\"old words\"', 0)",
                [],
            )?;
            conn.execute("UPDATE messages SET content = '[{\"type\":\"text\",\"text\":\"new words\"}]'", [])?;
            let count = |q: &str| -> rusqlite::Result<i64> {
                conn.query_row("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1", [q], |r| r.get(0))
            };
            Ok((count("old")?, count("new")?))
        })
        .unwrap();
    assert_eq!((before, after), (0, 1));
}

#[test]
fn json_columns_reject_invalid_json() {
    let store = Store::open_in_memory().unwrap();
    let err = store
        .with_conn(|c| Ok(c.execute("INSERT INTO settings (key, value) VALUES ('a', 'not json')", [])?))
        .unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}

#[test]
fn version_2_rolls_up_what_version_1_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for (ts, app, cost) in [(1_000, "a", 0.5), (2_000, "a", 0.25), (3_600_000, "b", 1.0)] {
            conn.execute(
                "INSERT INTO requests (ts, app_name, client_protocol, status, input_tokens, cost_usd) \
                 VALUES (?1, ?2, 'openai-chat', 200, 10, ?3)",
                params![ts, app, cost],
            )
            .unwrap();
        }
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let rollup: Vec<(i64, String, i64, i64, f64)> = store
        .with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT hour, app_name, requests, input_tokens, cost_usd FROM usage_hourly ORDER BY hour, app_name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert_eq!(rollup, vec![(0, "a".to_owned(), 2, 20, 0.75), (3_600_000, "b".to_owned(), 1, 10, 1.0)]);
    // Version 3 summed those hours by day: both are in day 0.
    let daily: Vec<(i64, String, i64, i64, f64)> = store
        .with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT day, app_name, requests, input_tokens, cost_usd FROM usage_daily ORDER BY day, app_name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    assert_eq!(daily, vec![(0, "a".to_owned(), 2, 20, 0.75), (0, "b".to_owned(), 1, 10, 1.0)]);
    // Deleting a request takes it out of both rollups, and an emptied group goes.
    store.with_conn(|c| Ok(c.execute("DELETE FROM requests WHERE app_name = 'b'", [])?)).unwrap();
    let left = |table: &str| -> Vec<(String, i64)> {
        store
            .with_conn(|c| {
                let mut stmt = c.prepare(&format!("SELECT app_name, requests FROM {table} ORDER BY app_name"))?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    };
    assert_eq!(left("usage_hourly"), vec![("a".to_owned(), 2)]);
    assert_eq!(left("usage_daily"), vec![("a".to_owned(), 2)]);
}

#[test]
fn version_5_gives_existing_apps_no_limits_and_refuses_limits_that_are_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in [V1, V2, V3] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
        tx.pragma_update(None, "user_version", 3).unwrap();
        tx.execute("INSERT INTO apps (name, token_hash, created_at) VALUES ('old', zeroblob(32), 1)", []).unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let old = store.list_apps().unwrap().into_iter().find(|a| a.name == "old").unwrap();
    assert!(old.limits.is_empty());
    let err = store.with_conn(|c| Ok(c.execute("UPDATE apps SET limits = '[1]' WHERE name = 'old'", [])?)).unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}

#[test]
fn version_7_sums_the_hour_long_writes_already_recorded_into_both_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..6] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
        tx.pragma_update(None, "user_version", 6).unwrap();
        // Two hours of one day for one model, and a row from before version 6 (NULL) in another group.
        for (ts, model, write, write_1h) in [
            (1_000, "m", 500, Some(300)),
            (2_000, "m", 100, Some(0)),
            (3_600_000, "m", 70, Some(70)),
            (5_000, "old", 9, None),
        ] {
            tx.execute(
                "INSERT INTO requests (ts, app_name, model, client_protocol, status, cache_write_tokens, \
                 cache_write_1h_tokens) VALUES (?1, 'a', ?2, 'anthropic', 200, ?3, ?4)",
                params![ts, model, write, write_1h],
            )
            .unwrap();
        }
        // The rollups as version 6's writer left them: without the hour-long column.
        tx.execute_batch(concat!(
            "DELETE FROM usage_hourly; DELETE FROM usage_daily;",
            rollup_backfill!(),
            daily_backfill!()
        ))
        .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let sums = |table: &str| -> Vec<(i64, String, i64, i64)> {
        let start = if table == "usage_daily" { "day" } else { "hour" };
        store
            .with_conn(|c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT {start}, model, cache_write_tokens, cache_write_1h_tokens FROM {table} ORDER BY 1, 2"
                ))?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap()
    };
    let hourly = vec![(0, "m".to_owned(), 600, 300), (0, "old".to_owned(), 9, 0), (3_600_000, "m".to_owned(), 70, 70)];
    let daily = vec![(0, "m".to_owned(), 670, 370), (0, "old".to_owned(), 9, 0)];
    assert_eq!((sums("usage_hourly"), sums("usage_daily")), (hourly.clone(), daily.clone()));
    store.rebuild_usage_rollup().unwrap();
    assert_eq!((sums("usage_hourly"), sums("usage_daily")), (hourly, daily), "the backfill equals a rebuild");

    // Deleting a request takes its hour-long writes out of both rollups.
    store.with_conn(|c| Ok(c.execute("DELETE FROM requests WHERE ts = 1000", [])?)).unwrap();
    assert_eq!(sums("usage_hourly")[0], (0, "m".to_owned(), 100, 0));
    assert_eq!(sums("usage_daily")[0], (0, "m".to_owned(), 170, 70));
}

#[test]
fn version_8_keeps_the_users_prices_and_leaves_their_hour_long_price_unset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..7] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
        tx.pragma_update(None, "user_version", 7).unwrap();
        tx.execute(
            "INSERT INTO price_overrides (provider_id, model, input_per_mtok, updated_at) VALUES ('oa', 'house', 1.0, 0)",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let kept = store.price_overrides().unwrap();
    assert_eq!((kept.len(), kept[0].input, kept[0].cache_write_1h), (1, Some(1.0), None));
    let err =
        store.with_conn(|c| Ok(c.execute("UPDATE price_overrides SET cache_write_1h_per_mtok = -1", [])?)).unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}
