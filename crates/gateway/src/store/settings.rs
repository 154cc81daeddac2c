//! Settings: small JSON values by key (`"server.port"`, `"ui.theme"`, …). The caller picks the Rust type; the
//! column holds its JSON.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, Store, from_json, to_json};

impl Store {
    /// The value stored under `key`, or `None` if it was never set.
    pub fn get_setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let text: Option<String> = self.with_conn(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
                .query_row([key], |row| row.get(0))
                .optional()?)
        })?;
        text.map(|text| from_json(&text, || format!("setting {key:?}"))).transpose()
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn set_setting<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let text = to_json(value, || format!("setting {key:?}"))?;
        self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, text])?;
            Ok(())
        })
    }

    /// Forgets `key`; the next `get_setting` answers `None`. Returns whether it was set.
    pub fn delete_setting(&self, key: &str) -> Result<bool> {
        self.with_conn(|conn| Ok(conn.execute("DELETE FROM settings WHERE key = ?1", [key])? > 0))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use crate::store::Store;
    use crate::store::test_support::temp_store;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Window {
        width: u32,
        maximised: bool,
    }

    #[test]
    fn typed_values_round_trip_and_survive_a_restart() {
        let (dir, store) = temp_store();
        assert_eq!(store.get_setting::<u16>("server.port").unwrap(), None);
        store.set_setting("server.port", &7352_u16).unwrap();
        store.set_setting("ui.window", &Window { width: 900, maximised: false }).unwrap();
        store.set_setting("ui.theme", "dark").unwrap();
        store.set_setting("server.port", &8000_u16).unwrap();
        drop(store);

        let store = Store::open(&dir.path().join("switchboard.db")).unwrap();
        assert_eq!(store.get_setting::<u16>("server.port").unwrap(), Some(8000));
        assert_eq!(store.get_setting::<Window>("ui.window").unwrap(), Some(Window { width: 900, maximised: false }));
        assert_eq!(store.get_setting::<String>("ui.theme").unwrap().as_deref(), Some("dark"));
        assert!(store.delete_setting("ui.theme").unwrap());
        assert!(!store.delete_setting("ui.theme").unwrap());
        assert_eq!(store.get_setting::<String>("ui.theme").unwrap(), None);
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_an_error_that_names_the_key() {
        let store = Store::open_in_memory().unwrap();
        store.set_setting("server.port", "not a number").unwrap();
        let err = store.get_setting::<u16>("server.port").unwrap_err().to_string();
        assert!(err.starts_with("setting \"server.port\" in the database is not valid"), "{err}");
    }
}
