//! Providers (upstream accounts) and the metadata of their keys. The keys themselves live only in the keychain,
//! under the account [`keychain_account`] derives; this table never sees more than a key's last four characters.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, Store, StoreError, check_name, is_foreign_key_violation, now_ms};

/// The label of a provider's only key, when it has one. Its keychain account is the bare provider id, the
/// convention `secrets/` and the `SWITCHBOARD_KEY_<PROVIDER>` variables already use.
pub const DEFAULT_KEY_LABEL: &str = "default";

/// A provider as stored. Mirrors `config::ProviderConfig` (plus a display name and an on/off switch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRow {
    /// The user's name for it, used in `provider/model`; no '/'.
    pub id: String,
    /// A preset id (`openai`, `anthropic`, `openrouter`, …); checking it is the caller's job.
    pub kind: String,
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_version: Option<String>,
    pub proxy: Option<String>,
    /// The *name* of an environment variable holding the key (headless mode); never a key.
    pub key_env: Option<String>,
    pub enabled: bool,
}

/// What is known about one key without reading the keychain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderKeyRow {
    pub provider_id: String,
    pub label: String,
    /// The key's turn among the provider's keys, lowest first.
    pub position: i64,
    /// At most the last four characters, for "…abcd" in the UI.
    pub last4: Option<String>,
    /// When the key under this label was last set (unix ms).
    pub created_at: i64,
}

impl ProviderRow {
    /// An enabled provider with nothing but an id and a kind.
    pub fn new(id: impl Into<String>, kind: impl Into<String>) -> ProviderRow {
        ProviderRow {
            id: id.into(),
            kind: kind.into(),
            name: None,
            base_url: None,
            api_version: None,
            proxy: None,
            key_env: None,
            enabled: true,
        }
    }
}

impl ProviderKeyRow {
    /// The keychain account holding this key.
    pub fn keychain_account(&self) -> String {
        keychain_account(&self.provider_id, &self.label)
    }
}

/// The keychain account for a provider's key: the provider id for [`DEFAULT_KEY_LABEL`], else `"{id}:{label}"`.
pub fn keychain_account(provider_id: &str, label: &str) -> String {
    if label == DEFAULT_KEY_LABEL { provider_id.to_owned() } else { format!("{provider_id}:{label}") }
}

const PROVIDER_COLUMNS: &str = "id, kind, name, base_url, api_version, proxy, key_env, enabled";
const KEY_COLUMNS: &str = "provider_id, label, position, last4, created_at";

impl Store {
    /// Every provider, by id.
    pub fn list_providers(&self) -> Result<Vec<ProviderRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {PROVIDER_COLUMNS} FROM providers ORDER BY id"))?;
            Ok(stmt.query_map([], provider_from_row)?.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn provider(&self, id: &str) -> Result<Option<ProviderRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {PROVIDER_COLUMNS} FROM providers WHERE id = ?1"))?;
            Ok(stmt.query_row([id], provider_from_row).optional()?)
        })
    }

    /// Adds the provider, or replaces every field of the one with the same id (its keys stay).
    pub fn put_provider(&self, provider: &ProviderRow) -> Result<()> {
        check_provider(provider)?;
        let now = now_ms();
        self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO providers (id, kind, name, base_url, api_version, proxy, key_env, enabled, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                 base_url = excluded.base_url, api_version = excluded.api_version, proxy = excluded.proxy, \
                 key_env = excluded.key_env, enabled = excluded.enabled, updated_at = excluded.updated_at",
            )?
            .execute(params![
                provider.id,
                provider.kind,
                provider.name,
                provider.base_url,
                provider.api_version,
                provider.proxy,
                provider.key_env,
                provider.enabled,
                now
            ])?;
            Ok(())
        })
    }

    /// Deletes the provider and its key metadata, and returns that metadata so the caller can remove the keychain
    /// entries too. Aliases pointing at it are left alone (routing reports the missing provider).
    pub fn delete_provider(&self, id: &str) -> Result<Vec<ProviderKeyRow>> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let keys = keys_of(&tx, id)?;
            if tx.execute("DELETE FROM providers WHERE id = ?1", [id])? == 0 {
                return Err(no_provider(id));
            }
            tx.commit()?;
            Ok(keys)
        })
    }

    /// The provider's keys, in rotation order.
    pub fn list_provider_keys(&self, provider_id: &str) -> Result<Vec<ProviderKeyRow>> {
        self.with_conn(|conn| keys_of(conn, provider_id))
    }

    /// Records that a key is set under `label`: a new label goes last in the rotation; an existing one keeps its
    /// place and takes the new `last4`. Pass only the last four characters (see `secrets::masked`), never the key.
    pub fn put_provider_key(&self, provider_id: &str, label: &str, last4: Option<&str>) -> Result<ProviderKeyRow> {
        check_name("key label", label)?;
        if let Some(last4) = last4
            && last4.chars().count() > 4
        {
            return Err(StoreError::Invalid(
                "a key hint holds at most the key's last 4 characters; the key itself belongs in the keychain".into(),
            ));
        }
        let now = now_ms();
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            tx.prepare_cached(
                "INSERT INTO provider_keys (provider_id, label, position, last4, created_at) \
                 VALUES (?1, ?2, (SELECT coalesce(max(position) + 1, 0) FROM provider_keys WHERE provider_id = ?1), \
                 ?3, ?4) \
                 ON CONFLICT (provider_id, label) DO UPDATE SET last4 = excluded.last4, created_at = excluded.created_at",
            )?
            .execute(params![provider_id, label, last4, now])
            .map_err(|e| if is_foreign_key_violation(&e) { no_provider(provider_id) } else { e.into() })?;
            let row = tx
                .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM provider_keys WHERE provider_id = ?1 AND label = ?2"))?
                .query_row([provider_id, label], key_from_row)?;
            tx.commit()?;
            Ok(row)
        })
    }

    /// Forgets a key's metadata (delete the keychain entry, [`ProviderKeyRow::keychain_account`], alongside).
    pub fn remove_provider_key(&self, provider_id: &str, label: &str) -> Result<()> {
        self.with_conn(|conn| {
            let removed =
                conn.execute("DELETE FROM provider_keys WHERE provider_id = ?1 AND label = ?2", [provider_id, label])?;
            if removed == 0 {
                return Err(StoreError::NotFound(format!("provider {provider_id:?} has no key labelled {label:?}")));
            }
            Ok(())
        })
    }
}

fn check_provider(provider: &ProviderRow) -> Result<()> {
    check_name("provider id", &provider.id)?;
    if provider.id.contains('/') {
        return Err(StoreError::Invalid(format!("provider id {:?} must not contain '/'", provider.id)));
    }
    if provider.kind.is_empty() {
        return Err(StoreError::Invalid(format!("provider {:?} needs a kind (e.g. \"openai\")", provider.id)));
    }
    if let Some(url) = &provider.base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(StoreError::Invalid(format!(
            "provider {:?}: base_url {url:?} must start with http:// or https://",
            provider.id
        )));
    }
    Ok(())
}

fn no_provider(id: &str) -> StoreError {
    StoreError::NotFound(format!("there is no provider {id:?}; add it first"))
}

fn keys_of(conn: &Connection, provider_id: &str) -> Result<Vec<ProviderKeyRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM provider_keys WHERE provider_id = ?1 ORDER BY position, label"
    ))?;
    Ok(stmt.query_map([provider_id], key_from_row)?.collect::<rusqlite::Result<_>>()?)
}

fn provider_from_row(row: &Row<'_>) -> rusqlite::Result<ProviderRow> {
    Ok(ProviderRow {
        id: row.get(0)?,
        kind: row.get(1)?,
        name: row.get(2)?,
        base_url: row.get(3)?,
        api_version: row.get(4)?,
        proxy: row.get(5)?,
        key_env: row.get(6)?,
        enabled: row.get(7)?,
    })
}

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ProviderKeyRow> {
    Ok(ProviderKeyRow {
        provider_id: row.get(0)?,
        label: row.get(1)?,
        position: row.get(2)?,
        last4: row.get(3)?,
        created_at: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn openai() -> ProviderRow {
        ProviderRow {
            base_url: Some("https://api.openai.com/v1".into()),
            name: Some("OpenAI".into()),
            ..ProviderRow::new("openai", "openai")
        }
    }

    #[test]
    fn providers_round_trip_and_upsert() {
        let (_dir, store) = temp_store();
        store.put_provider(&openai()).unwrap();
        store
            .put_provider(&ProviderRow { key_env: Some("LOCAL_KEY".into()), ..ProviderRow::new("local", "ollama") })
            .unwrap();
        assert_eq!(
            store.list_providers().unwrap().iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["local", "openai"]
        );

        let edited = ProviderRow { enabled: false, proxy: Some("socks5://127.0.0.1:1080".into()), ..openai() };
        store.put_provider(&edited).unwrap();
        assert_eq!(store.provider("openai").unwrap(), Some(edited));
        assert_eq!(store.provider("nope").unwrap(), None);
    }

    #[test]
    fn bad_providers_are_refused_with_a_reason() {
        let store = Store::open_in_memory().unwrap();
        let check = |p: ProviderRow, expect: &str| {
            let err = store.put_provider(&p).unwrap_err().to_string();
            assert!(err.contains(expect), "{err:?} should contain {expect:?}");
        };
        check(ProviderRow::new("a/b", "openai"), "must not contain '/'");
        check(ProviderRow::new("", "openai"), "name is empty");
        check(ProviderRow::new("a", ""), "needs a kind");
        check(ProviderRow { base_url: Some("ftp://x".into()), ..ProviderRow::new("a", "openai") }, "http://");
    }

    #[test]
    fn key_metadata_keeps_order_and_never_more_than_four_characters() {
        let (_dir, store) = temp_store();
        store.put_provider(&openai()).unwrap();
        store.put_provider_key("openai", DEFAULT_KEY_LABEL, Some("abcd")).unwrap();
        let work = store.put_provider_key("openai", "work", Some("wxyz")).unwrap();
        assert_eq!((work.position, work.keychain_account()), (1, "openai:work".to_owned()));
        // Setting the same label again replaces the hint and keeps the place.
        let again = store.put_provider_key("openai", DEFAULT_KEY_LABEL, Some("efgh")).unwrap();
        assert_eq!((again.position, again.keychain_account()), (0, "openai".to_owned()));

        let keys = store.list_provider_keys("openai").unwrap();
        let shown: Vec<_> = keys.iter().map(|k| (k.label.as_str(), k.last4.as_deref())).collect();
        assert_eq!(shown, [("default", Some("efgh")), ("work", Some("wxyz"))]);

        let err = store.put_provider_key("openai", "leak", Some("sk-live-123456")).unwrap_err().to_string();
        assert!(err.contains("at most the key's last 4 characters"), "{err}");
        let err = store.put_provider_key("missing", "default", None).unwrap_err().to_string();
        assert_eq!(err, "there is no provider \"missing\"; add it first");

        store.remove_provider_key("openai", "work").unwrap();
        let err = store.remove_provider_key("openai", "work").unwrap_err().to_string();
        assert_eq!(err, "provider \"openai\" has no key labelled \"work\"");
        assert_eq!(store.list_provider_keys("openai").unwrap().len(), 1);
    }

    #[test]
    fn deleting_a_provider_cascades_to_its_keys_and_reports_them() {
        let (_dir, store) = temp_store();
        store.put_provider(&openai()).unwrap();
        store.put_provider_key("openai", "default", Some("abcd")).unwrap();
        store.put_provider_key("openai", "spare", None).unwrap();
        let removed = store.delete_provider("openai").unwrap();
        let accounts: Vec<String> = removed.iter().map(ProviderKeyRow::keychain_account).collect();
        assert_eq!(accounts, ["openai", "openai:spare"]);
        let left: i64 =
            store.with_conn(|c| Ok(c.query_row("SELECT count(*) FROM provider_keys", [], |r| r.get(0))?)).unwrap();
        assert_eq!(left, 0);
        assert!(matches!(store.delete_provider("openai"), Err(StoreError::NotFound(_))));
    }
}
