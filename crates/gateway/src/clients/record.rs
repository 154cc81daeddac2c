//! Switchboard's record of each connection, in `<data dir>/clients/`: `<client>.json` (per file: whether an
//! original was saved, the hash of what Switchboard wrote, and per owned key the value it replaced) and
//! `<client>.<tag>.original` (the file's bytes before the first write). The app token is never stored: what
//! Switchboard wrote is kept only as a SHA-256 hash. The folder is 0700 and its files 0600 (an original may hold
//! the person's own keys).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::edit::{Format, Seg};
use super::{ClientError, ClientId, fsio};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub app: String,
    pub endpoint: String,
    pub aliases: std::collections::BTreeMap<String, String>,
    pub files: Vec<FileRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    pub tag: String,
    pub path: PathBuf,
    pub format: Format,
    /// The file existed before Switchboard first wrote it (its bytes are in `<client>.<tag>.original`).
    pub existed: bool,
    /// Every change since the original was Switchboard's: Disconnect may put the original bytes back.
    pub pristine: bool,
    /// SHA-256 of the bytes Switchboard last wrote (or found already right).
    pub written: String,
    /// Folders Switchboard created for the file (removed again when empty).
    #[serde(default)]
    pub created_dirs: Vec<PathBuf>,
    /// Objects Switchboard created on the way to its keys (removed again when empty).
    #[serde(default)]
    pub created: Vec<Vec<Seg>>,
    pub owned: Vec<Owned>,
}

/// A key Switchboard owns in a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Owned {
    pub path: Vec<Seg>,
    pub replaced: Replaced,
    /// SHA-256 of the value Switchboard wrote.
    pub written: String,
}

/// What a key held before Switchboard wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Replaced {
    Absent,
    Value(Value),
    /// It already held what Switchboard wrote (not kept: it may be the token).
    Same,
}

pub struct Records {
    pub dir: PathBuf,
}

impl Records {
    pub fn load(&self, id: ClientId) -> Result<Option<Record>, ClientError> {
        let path = self.record_path(id);
        let Some(bytes) = fsio::read(&path)? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| ClientError::Record {
            client: id,
            path,
            message: e.to_string(),
        })
    }

    pub fn save(&self, id: ClientId, record: &Record) -> Result<(), ClientError> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| ClientError::Record {
            client: id,
            path: self.record_path(id),
            message: e.to_string(),
        })?;
        self.write_private(&self.record_path(id), &bytes)
    }

    pub fn original(&self, id: ClientId, tag: &str) -> Result<Option<Vec<u8>>, ClientError> {
        fsio::read(&self.original_path(id, tag))
    }

    pub fn save_original(&self, id: ClientId, tag: &str, bytes: &[u8]) -> Result<(), ClientError> {
        self.write_private(&self.original_path(id, tag), bytes)
    }

    /// Forgets the connection: the record and every saved original.
    pub fn delete(&self, id: ClientId, tags: &[String]) -> Result<(), ClientError> {
        for tag in tags {
            fsio::remove(&self.original_path(id, tag))?;
        }
        fsio::remove(&self.record_path(id))
    }

    pub fn record_path(&self, id: ClientId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn original_path(&self, id: ClientId, tag: &str) -> PathBuf {
        self.dir.join(format!("{id}.{tag}.original"))
    }

    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
        fsio::write(path, bytes).map(drop)
    }
}

/// SHA-256 (hex) of some bytes.
pub fn hash_bytes(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a value with its object keys sorted, so a client that reorders keys does not look like an edit.
pub fn hash_value(value: &Value) -> String {
    hash_bytes(canonical(value).as_bytes())
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[k.as_str()])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}
