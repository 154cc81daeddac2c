//! Apps: who may call the local endpoint. A token is made here from the OS random source, handed back exactly
//! once, and stored only as its SHA-256 digest; the built-in "Chat window" app (the UI's own, in-process) has none.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Result, Store, StoreError, check_name, from_json, is_unique_violation, now_ms, to_json};
use crate::limits::Limits;

/// The name of the built-in app the schema creates.
pub const CHAT_WINDOW_APP: &str = "Chat window";

/// Every token starts with this, so people (and secret scanners) can tell what it is.
pub const TOKEN_PREFIX: &str = "sb-";

/// An app as stored. Its token is not here: only whether it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    pub id: i64,
    pub name: String,
    /// The chat window's own app: cannot be deleted, renamed or given a token.
    pub builtin: bool,
    pub enabled: bool,
    /// The aliases this app may use; `None` for all.
    pub allowed_aliases: Option<Vec<String>>,
    /// The ledger's budget rules, as JSON; `None` for no limit.
    pub budget: Option<Value>,
    /// Its rate limits and loop guard (none when empty).
    pub limits: Limits,
    pub has_token: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What the user chooses about an app, for [`Store::create_app`] and [`Store::update_app`].
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: String,
    pub allowed_aliases: Option<Vec<String>>,
    pub budget: Option<Value>,
    pub limits: Limits,
}

impl AppSpec {
    /// An app allowed every alias, with no budget and no limits.
    pub fn new(name: impl Into<String>) -> AppSpec {
        AppSpec { name: name.into(), allowed_aliases: None, budget: None, limits: Limits::default() }
    }
}

/// The digest stored for `token` (and what [`Store::app_by_token_hash`] looks up).
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

const APP_COLUMNS: &str =
    "id, name, builtin, enabled, allowed_aliases, budget, token_hash IS NOT NULL, created_at, last_used_at, limits";

impl Store {
    /// Every app, the built-in one first, then by name.
    pub fn list_apps(&self) -> Result<Vec<AppRow>> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY builtin DESC, name"))?;
            let raws = stmt.query_map([], RawApp::from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            raws.into_iter().map(RawApp::into_row).collect()
        })
    }

    pub fn app(&self, id: i64) -> Result<Option<AppRow>> {
        self.with_conn(|conn| app_where(conn, "id = ?1", id))
    }

    /// The built-in app the chat window's requests are recorded under.
    pub fn chat_window_app(&self) -> Result<AppRow> {
        self.with_conn(|conn| app_where(conn, "builtin = ?1", 1))?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "the database has lost its built-in {CHAT_WINDOW_APP:?} app; move the file aside to start fresh"
            ))
        })
    }

    /// The app holding the token whose digest is `hash`, enabled or not (the caller decides what a disabled app
    /// gets). For the request path, load [`Store::app_token_digests`] into memory instead of calling this.
    pub fn app_by_token_hash(&self, hash: &[u8; 32]) -> Result<Option<AppRow>> {
        self.with_conn(|conn| app_where(conn, "token_hash = ?1", hash.as_slice()))
    }

    /// `(app id, token digest)` for every app that has a token: what an in-memory, constant-time registry needs.
    pub fn app_token_digests(&self) -> Result<Vec<(i64, [u8; 32])>> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, token_hash FROM apps WHERE token_hash IS NOT NULL ORDER BY id")?;
            Ok(stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Creates an app and its token. The token is in the answer and nowhere else: show it to the user once.
    pub fn create_app(&self, spec: &AppSpec) -> Result<(AppRow, String)> {
        check_name("app", &spec.name)?;
        let (allowed, budget, limits) = spec_json(spec)?;
        let token = new_token()?;
        let digest = token_digest(&token);
        let app = self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO apps (name, token_hash, allowed_aliases, budget, limits, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![spec.name, digest.as_slice(), allowed, budget, limits, now_ms()])
            .map_err(|e| name_taken(e, &spec.name))?;
            let id = conn.last_insert_rowid();
            app_where(conn, "id = ?1", id)?.ok_or_else(|| no_app(id))
        })?;
        Ok((app, token))
    }

    /// Changes an app's name, allowed aliases, budget and limits. The built-in app keeps its name.
    pub fn update_app(&self, id: i64, spec: &AppSpec) -> Result<AppRow> {
        check_name("app", &spec.name)?;
        let (allowed, budget, limits) = spec_json(spec)?;
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let current = app_where(&tx, "id = ?1", id)?.ok_or_else(|| no_app(id))?;
            if current.builtin && current.name != spec.name {
                return Err(StoreError::Invalid(format!("the built-in app {:?} cannot be renamed", current.name)));
            }
            tx.execute(
                "UPDATE apps SET name = ?2, allowed_aliases = ?3, budget = ?4, limits = ?5 WHERE id = ?1",
                params![id, spec.name, allowed, budget, limits],
            )
            .map_err(|e| name_taken(e, &spec.name))?;
            let updated = app_where(&tx, "id = ?1", id)?.ok_or_else(|| no_app(id))?;
            tx.commit()?;
            Ok(updated)
        })
    }

    /// Turns an app on or off; a disabled app's token is refused (by the caller) but kept.
    pub fn set_app_enabled(&self, id: i64, enabled: bool) -> Result<()> {
        self.with_conn(|conn| {
            if conn.execute("UPDATE apps SET enabled = ?2 WHERE id = ?1", params![id, enabled])? == 0 {
                return Err(no_app(id));
            }
            Ok(())
        })
    }

    /// Gives the app a new token and forgets the old one. The id, settings and ledger history stay.
    pub fn rotate_token(&self, id: i64) -> Result<String> {
        let token = new_token()?;
        let digest = token_digest(&token);
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let app = app_where(&tx, "id = ?1", id)?.ok_or_else(|| no_app(id))?;
            if app.builtin {
                return Err(StoreError::Invalid(format!(
                    "the built-in app {:?} has no token: it runs inside Switchboard",
                    app.name
                )));
            }
            tx.execute("UPDATE apps SET token_hash = ?2 WHERE id = ?1", params![id, digest.as_slice()])?;
            tx.commit()?;
            Ok(())
        })?;
        Ok(token)
    }

    /// Deletes an app; its ledger rows stay (they carry its name). The built-in app cannot be deleted.
    pub fn delete_app(&self, id: i64) -> Result<()> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let app = app_where(&tx, "id = ?1", id)?.ok_or_else(|| no_app(id))?;
            if app.builtin {
                return Err(StoreError::Invalid(format!(
                    "the built-in app {:?} cannot be deleted; disable it instead",
                    app.name
                )));
            }
            tx.execute("DELETE FROM apps WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Records use at `ts` (unix ms); never moves `last_used_at` backwards. An unknown id is ignored: the app may
    /// have been deleted while its request was in flight.
    pub fn touch_last_used(&self, id: i64, ts: i64) -> Result<()> {
        self.with_conn(|conn| {
            conn.prepare_cached("UPDATE apps SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1")?
                .execute(params![id, ts])?;
            Ok(())
        })
    }
}

/// The columns of [`APP_COLUMNS`] before the JSON is parsed.
struct RawApp {
    id: i64,
    name: String,
    builtin: bool,
    enabled: bool,
    allowed_aliases: Option<String>,
    budget: Option<String>,
    has_token: bool,
    created_at: i64,
    last_used_at: Option<i64>,
    limits: Option<String>,
}

impl RawApp {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawApp> {
        Ok(RawApp {
            id: row.get(0)?,
            name: row.get(1)?,
            builtin: row.get(2)?,
            enabled: row.get(3)?,
            allowed_aliases: row.get(4)?,
            budget: row.get(5)?,
            has_token: row.get(6)?,
            created_at: row.get(7)?,
            last_used_at: row.get(8)?,
            limits: row.get(9)?,
        })
    }

    fn into_row(self) -> Result<AppRow> {
        let id = self.id;
        let allowed_aliases =
            self.allowed_aliases.map(|t| from_json(&t, || format!("app {id} allowed_aliases"))).transpose()?;
        let budget = self.budget.map(|t| from_json(&t, || format!("app {id} budget"))).transpose()?;
        let limits = self.limits.map(|t| from_json(&t, || format!("app {id} limits"))).transpose()?.unwrap_or_default();
        Ok(AppRow {
            id,
            name: self.name,
            builtin: self.builtin,
            enabled: self.enabled,
            allowed_aliases,
            budget,
            limits,
            has_token: self.has_token,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

fn app_where(conn: &Connection, condition: &str, value: impl rusqlite::ToSql) -> Result<Option<AppRow>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps WHERE {condition} ORDER BY id LIMIT 1"))?
        .query_row([value], RawApp::from_row)
        .optional()?;
    raw.map(RawApp::into_row).transpose()
}

/// The spec's JSON columns: allowed aliases, budget, limits (`NULL` for none). Limits that make no sense are refused
/// here, so the window and an import say the same.
fn spec_json(spec: &AppSpec) -> Result<(Option<String>, Option<String>, Option<String>)> {
    spec.limits.check(true).map_err(|e| StoreError::Invalid(format!("app {:?}: limits.{e}", spec.name)))?;
    let limits = (!spec.limits.is_empty())
        .then(|| to_json(&spec.limits, || format!("app {:?} limits", spec.name)))
        .transpose()?;
    let allowed = spec
        .allowed_aliases
        .as_ref()
        .map(|a| to_json(a, || format!("app {:?} allowed_aliases", spec.name)))
        .transpose()?;
    let budget = spec.budget.as_ref().map(|b| to_json(b, || format!("app {:?} budget", spec.name))).transpose()?;
    Ok((allowed, budget, limits))
}

fn name_taken(e: rusqlite::Error, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!("an app named {name:?} already exists; choose another name"))
    } else {
        e.into()
    }
}

fn no_app(id: i64) -> StoreError {
    StoreError::NotFound(format!("there is no app with id {id}; it may have been deleted"))
}

/// `sb-` and 32 bytes from the OS random source in base62: 256 bits, safe to paste anywhere.
pub(super) fn new_token() -> Result<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(format!("{TOKEN_PREFIX}{}", base62(&bytes)))
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters needed for any 256-bit number: 62^43 > 2^256 > 62^42.
const BASE62_LEN: usize = 43;

/// `bytes` as one big-endian number in base62, zero-padded to a fixed width.
fn base62(bytes: &[u8; 32]) -> String {
    let mut number = *bytes;
    let mut digits = [b'0'; BASE62_LEN];
    for digit in digits.iter_mut().rev() {
        // Long division of the whole number by 62; the remainder is the next digit from the right.
        let mut remainder = 0_u32;
        for byte in &mut number {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = u8::try_from(acc / 62).unwrap_or(u8::MAX); // acc < 62 * 256, so the quotient fits
            remainder = acc % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    digits.iter().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::test_support::{all_file_bytes, contains, temp_store};

    fn from_base62(text: &str) -> [u8; 32] {
        let mut number = [0_u8; 32];
        for c in text.bytes() {
            let mut carry = BASE62.iter().position(|&d| d == c).unwrap() as u32;
            for byte in number.iter_mut().rev() {
                let acc = u32::from(*byte) * 62 + carry;
                *byte = (acc & 0xff) as u8;
                carry = acc >> 8;
            }
            assert_eq!(carry, 0, "overflow");
        }
        number
    }

    #[test]
    fn base62_is_fixed_width_and_round_trips() {
        assert_eq!(base62(&[0; 32]), "0".repeat(43));
        let mut one = [0; 32];
        one[31] = 61;
        assert_eq!(base62(&one), format!("{}z", "0".repeat(42)));
        one[31] = 62;
        assert_eq!(base62(&one), format!("{}10", "0".repeat(41)));
        for sample in [[0xff; 32], [0x5a; 32], token_digest("any")] {
            let text = base62(&sample);
            assert_eq!(text.len(), 43);
            assert_eq!(from_base62(&text), sample);
        }
    }

    #[test]
    fn tokens_are_prefixed_random_and_alphanumeric() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert!(a.starts_with("sb-") && a[3..].bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
    }

    #[test]
    fn the_schema_creates_the_chat_window_app() {
        let store = Store::open_in_memory().unwrap();
        let chat = store.chat_window_app().unwrap();
        assert_eq!(
            (chat.name.as_str(), chat.builtin, chat.has_token, chat.enabled),
            (CHAT_WINDOW_APP, true, false, true)
        );
        assert_eq!(store.list_apps().unwrap(), vec![chat]);
    }

    #[test]
    fn a_token_is_shown_once_and_stored_only_as_its_digest() {
        let (_dir, store) = temp_store();
        let spec = AppSpec {
            allowed_aliases: Some(vec!["general".into()]),
            budget: Some(json!({"usd_per_month": 5})),
            ..AppSpec::new("scripts")
        };
        let (app, token) = store.create_app(&spec).unwrap();
        assert_eq!((app.name.as_str(), app.has_token, app.builtin), ("scripts", true, false));
        assert_eq!(app.allowed_aliases, spec.allowed_aliases);
        assert_eq!(app.budget, spec.budget);

        let found = store.app_by_token_hash(&token_digest(&token)).unwrap().unwrap();
        assert_eq!(found, app);
        assert_eq!(store.app_by_token_hash(&token_digest("sb-wrong")).unwrap(), None);
        assert_eq!(store.app_token_digests().unwrap(), vec![(app.id, token_digest(&token))]);

        let rotated = store.rotate_token(app.id).unwrap();
        let bytes = all_file_bytes(&store);
        for t in [&token, &rotated] {
            assert!(!contains(&bytes, t.as_bytes()), "a token is in the database files");
            assert!(!contains(&bytes, &t.as_bytes()[3..]), "a token body is in the database files");
        }
        // The search does see the data: the current digest is there.
        assert!(contains(&bytes, &token_digest(&rotated)));
    }

    #[test]
    fn rotation_keeps_the_id_and_the_history() {
        let (_dir, store) = temp_store();
        let (app, old) = store.create_app(&AppSpec::new("editor")).unwrap();
        store
            .with_conn(|c| {
                Ok(c.execute(
                    "INSERT INTO requests (ts, app_id, app_name, client_protocol, status) VALUES (1, ?1, 'editor', 'openai', 200)",
                    [app.id],
                )?)
            })
            .unwrap();
        let new = store.rotate_token(app.id).unwrap();
        assert_ne!(old, new);
        assert_eq!(store.app_by_token_hash(&token_digest(&old)).unwrap(), None);
        assert_eq!(store.app_by_token_hash(&token_digest(&new)).unwrap().map(|a| a.id), Some(app.id));
        let history: i64 = store
            .with_conn(|c| Ok(c.query_row("SELECT count(*) FROM requests WHERE app_id = ?1", [app.id], |r| r.get(0))?))
            .unwrap();
        assert_eq!(history, 1);
    }

    #[test]
    fn the_built_in_app_cannot_be_deleted_renamed_or_given_a_token() {
        let store = Store::open_in_memory().unwrap();
        let chat = store.chat_window_app().unwrap();
        let err = store.delete_app(chat.id).unwrap_err().to_string();
        assert_eq!(err, "the built-in app \"Chat window\" cannot be deleted; disable it instead");
        let err = store.update_app(chat.id, &AppSpec::new("Chat")).unwrap_err().to_string();
        assert_eq!(err, "the built-in app \"Chat window\" cannot be renamed");
        assert!(store.rotate_token(chat.id).unwrap_err().to_string().contains("has no token"));
        // Its other settings can change.
        let budget = AppSpec { budget: Some(json!({"usd_per_day": 1})), ..AppSpec::new(CHAT_WINDOW_APP) };
        assert_eq!(store.update_app(chat.id, &budget).unwrap().budget, budget.budget);
        assert_eq!(store.list_apps().unwrap().len(), 1);
    }

    #[test]
    fn limits_are_kept_with_the_app_and_checked() {
        let (_dir, store) = temp_store();
        let limits = Limits { rpm: Some(60), loop_guard: Some(5), ..Limits::default() };
        let (app, _) = store.create_app(&AppSpec { limits, ..AppSpec::new("agent") }).unwrap();
        assert_eq!(app.limits, limits);
        let stored: Option<String> = store
            .with_conn(|c| Ok(c.query_row("SELECT limits FROM apps WHERE id = ?1", [app.id], |r| r.get(0))?))
            .unwrap();
        assert_eq!(stored.as_deref(), Some(r#"{"rpm":60,"loop_guard":5}"#));
        let cleared = store.update_app(app.id, &AppSpec::new("agent")).unwrap();
        assert!(cleared.limits.is_empty());
        let stored: Option<String> = store
            .with_conn(|c| Ok(c.query_row("SELECT limits FROM apps WHERE id = ?1", [app.id], |r| r.get(0))?))
            .unwrap();
        assert_eq!(stored, None, "no limits are stored as NULL");
        let zero = AppSpec { limits: Limits { concurrent: Some(0), ..Limits::default() }, ..AppSpec::new("agent") };
        let err = store.update_app(app.id, &zero).unwrap_err().to_string();
        assert!(err.starts_with("app \"agent\": limits.concurrent = 0 would refuse every request"), "{err}");
    }

    #[test]
    fn duplicate_names_get_a_friendly_error() {
        let (_dir, store) = temp_store();
        let (scripts, _) = store.create_app(&AppSpec::new("scripts")).unwrap();
        let err = store.create_app(&AppSpec::new("scripts")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        assert_eq!(err.to_string(), "an app named \"scripts\" already exists; choose another name");
        let err = store.create_app(&AppSpec::new(CHAT_WINDOW_APP)).unwrap_err().to_string();
        assert_eq!(err, "an app named \"Chat window\" already exists; choose another name");
        let (other, _) = store.create_app(&AppSpec::new("other")).unwrap();
        let err = store.update_app(other.id, &AppSpec::new("scripts")).unwrap_err().to_string();
        assert_eq!(err, "an app named \"scripts\" already exists; choose another name");
        assert!(store.update_app(scripts.id, &AppSpec::new("scripts")).is_ok(), "keeping one's own name is fine");
    }

    #[test]
    fn apps_are_enabled_touched_and_deleted() {
        let (dir, store) = temp_store();
        let (app, token) = store.create_app(&AppSpec::new("cli")).unwrap();
        store.set_app_enabled(app.id, false).unwrap();
        store.touch_last_used(app.id, 2_000).unwrap();
        store.touch_last_used(app.id, 1_000).unwrap();
        store.touch_last_used(9_999, 1_000).unwrap();
        drop(store);

        let store = Store::open(&dir.path().join("switchboard.db")).unwrap();
        let found = store.app_by_token_hash(&token_digest(&token)).unwrap().unwrap();
        assert_eq!((found.enabled, found.last_used_at), (false, Some(2_000)));
        store.delete_app(app.id).unwrap();
        assert_eq!(store.app(app.id).unwrap(), None);
        assert!(matches!(store.delete_app(app.id), Err(StoreError::NotFound(_))));
        assert!(matches!(store.set_app_enabled(app.id, true), Err(StoreError::NotFound(_))));
        // Ids are never reused, so old ledger rows cannot be attributed to a new app.
        let (next, _) = store.create_app(&AppSpec::new("cli")).unwrap();
        assert!(next.id > app.id);
    }
}
