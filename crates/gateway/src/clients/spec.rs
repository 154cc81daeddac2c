//! The shape every client file fills in: where its config lives, how to find it installed, what Switchboard
//! writes, and how to read back what a file says.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::edit::{Document, Format, Seg};
use super::{ClientId, Connection, Endpoint, Env, Slot, Written};

pub trait Client: Sync {
    fn id(&self) -> ClientId;
    /// Names of its binary on PATH.
    fn binaries(&self) -> &'static [&'static str];
    /// The folder its config lives in (present = installed, even without the binary on PATH).
    fn config_dir(&self, env: &Env) -> PathBuf;
    /// The files Switchboard writes, in the order `entries` and `read` use.
    fn files(&self, env: &Env) -> Vec<ConfigFile>;
    /// The URL the client's file names when it points at `endpoint` (what drift is checked against).
    fn base_url(&self, endpoint: &Endpoint) -> String;
    /// What Switchboard writes, one list per file.
    fn entries(&self, plan: &Plan) -> Vec<Vec<Entry>>;
    /// What the files say, whoever wrote them (`None` for a file that does not exist).
    fn read(&self, docs: &[Option<&dyn Document>]) -> Written;
    /// What the person should know after Connect, given the files as written (e.g. where the token must go).
    fn notes(&self, _docs: &[Option<&dyn Document>]) -> Vec<String> {
        Vec::new()
    }
}

/// One config file of a client.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Its short name in Switchboard's records (`settings`, `env`, `config`).
    pub tag: &'static str,
    pub path: PathBuf,
    pub format: Format,
}

/// One value Switchboard owns in a file.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: Vec<Seg>,
    pub value: Value,
    /// Written only where the file has none (a new file's `$schema`, Continue's `name`); never replaces the
    /// person's own.
    pub scaffold: bool,
}

impl Entry {
    pub fn new(path: &[&str], value: impl Into<Value>) -> Entry {
        Entry { path: path.iter().map(|s| Seg::key(s)).collect(), value: value.into(), scaffold: false }
    }

    pub fn scaffold(path: &[&str], value: impl Into<Value>) -> Entry {
        Entry { scaffold: true, ..Entry::new(path, value) }
    }
}

/// A connection with every slot resolved to an alias.
pub struct Plan<'a> {
    pub endpoint: &'a Endpoint,
    token: &'a SecretString,
    slots: &'static [Slot],
    connection: &'a Connection,
}

impl<'a> Plan<'a> {
    pub fn new(id: ClientId, connection: &'a Connection) -> Plan<'a> {
        Plan { endpoint: &connection.endpoint, token: &connection.token, slots: id.slots(), connection }
    }

    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// The alias for `slot`: as given, else the first slot's, else the slot's default.
    pub fn alias(&self, slot: &str) -> String {
        let aliases = &self.connection.aliases;
        let first = self.slots.first();
        aliases
            .get(slot)
            .or_else(|| first.and_then(|f| aliases.get(f.id)))
            .cloned()
            .or_else(|| self.slots.iter().find(|s| s.id == slot).map(|s| s.default_alias.to_owned()))
            .unwrap_or_else(|| first.map_or_else(|| "general".to_owned(), |f| f.default_alias.to_owned()))
    }

    /// Every slot's alias, deduplicated, in slot order (for clients that list their models).
    pub fn distinct_aliases(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for slot in self.slots {
            let alias = self.alias(slot.id);
            if !out.contains(&alias) {
                out.push(alias);
            }
        }
        out
    }
}

/// A string at `path` in a document.
pub fn string_at(doc: Option<&dyn Document>, path: &[&str]) -> Option<String> {
    let path: Vec<Seg> = path.iter().map(|s| Seg::key(s)).collect();
    match doc?.get(&path)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub fn secret_at(doc: Option<&dyn Document>, path: &[&str]) -> Option<SecretString> {
    string_at(doc, path).filter(|s| !s.is_empty()).map(SecretString::from)
}
