//! Connect and Disconnect, the same for every client: parse every file first (nothing is written when one cannot
//! be read), change only the owned keys, save the originals before the first write, then write atomically.
//!
//! The rules (see `record.rs` for what is kept):
//! - Connect twice with the same connection: nothing is written.
//! - Reconnect (a new port, alias or token): only the owned keys change; the saved original stays the very first
//!   one, and a key keeps the value it replaced the first time.
//! - Disconnect: a file still exactly as Switchboard left it, with no one else's change since the original, gets
//!   its original bytes back (or is deleted if it did not exist). Otherwise each owned key that still holds what
//!   Switchboard wrote gets its old value back (or goes); a key the person changed since is left as they set it.

use std::path::PathBuf;

use super::edit::{self, Document, Seg};
use super::record::{FileRecord, Owned, Record, Records, Replaced, hash_bytes, hash_value};
use super::spec::{Client, ConfigFile, Entry, Plan};
use super::{ClientError, Connected, Connection, Disconnected, Env, Restored, fsio};

/// A file read and parsed.
pub struct Loaded {
    pub file: ConfigFile,
    pub bytes: Option<Vec<u8>>,
    pub doc: Box<dyn Document>,
}

/// Reads and parses every file of the client; the first that cannot be read stops it.
pub fn load(files: Vec<ConfigFile>) -> Result<Vec<Loaded>, ClientError> {
    files
        .into_iter()
        .map(|file| {
            let bytes = fsio::read(&file.path)?;
            let text = match &bytes {
                Some(b) => std::str::from_utf8(b).map_err(|e| ClientError::Unparsable {
                    path: file.path.clone(),
                    line: None,
                    column: None,
                    message: format!("not UTF-8 text ({e})"),
                })?,
                None => "",
            };
            let doc = edit::parse(file.format, text).map_err(|e| ClientError::Unparsable {
                path: file.path.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
            })?;
            Ok(Loaded { file, bytes, doc })
        })
        .collect()
}

pub fn connect(
    client: &dyn Client,
    env: &Env,
    records: &Records,
    connection: &Connection,
) -> Result<Connected, ClientError> {
    let id = client.id();
    let mut loaded = load(client.files(env))?;
    let entries = client.entries(&Plan::new(id, connection));
    let previous = records.load(id)?;
    let mut record = Record {
        app: connection.app.clone(),
        endpoint: connection.endpoint.root.clone(),
        aliases: connection.aliases.clone(),
        files: Vec::new(),
    };
    let mut writes: Vec<(usize, Vec<u8>)> = Vec::new();
    for (i, (file, entries)) in loaded.iter_mut().zip(&entries).enumerate() {
        let before = previous.as_ref().and_then(|r| r.files.iter().find(|f| f.tag == file.file.tag)).cloned();
        let current_hash = file.bytes.as_deref().map(hash_bytes).unwrap_or_default();
        let mut frec = match before {
            Some(mut f) => {
                f.pristine &= f.written == current_hash;
                f
            }
            None => FileRecord {
                tag: file.file.tag.to_owned(),
                path: file.file.path.clone(),
                format: file.file.format,
                existed: file.bytes.is_some(),
                pristine: true,
                written: String::new(),
                created_dirs: Vec::new(),
                created: Vec::new(),
                owned: Vec::new(),
            },
        };
        frec.path = file.file.path.clone();
        apply(file.doc.as_mut(), entries, &mut frec)
            .map_err(|e| ClientError::Unsupported { path: file.file.path.clone(), reason: e.0 })?;
        let new = file.doc.render().into_bytes();
        frec.written = hash_bytes(&new);
        if file.bytes.as_deref() != Some(new.as_slice()) {
            fsio::check_writable(&file.file.path)?;
            writes.push((i, new));
        }
        record.files.push(frec);
    }

    let notes: Vec<String> = {
        let docs: Vec<Option<&dyn Document>> = loaded.iter().map(|l| Some(l.doc.as_ref())).collect();
        client.notes(&docs)
    };
    let files: Vec<PathBuf> = loaded.iter().map(|l| l.file.path.clone()).collect();
    let unchanged_record = previous.as_ref().is_some_and(|p| same_record(p, &record));
    if writes.is_empty() && unchanged_record {
        return Ok(Connected { files, changed: false, warnings: notes });
    }

    // Originals first, the first time only: after this, any failure leaves the person's files as they were.
    for (file, frec) in loaded.iter().zip(&record.files) {
        let first_time = previous.as_ref().is_none_or(|p| !p.files.iter().any(|f| f.tag == frec.tag));
        if first_time && let Some(bytes) = &file.bytes {
            records.save_original(id, &frec.tag, bytes)?;
        }
    }
    let mut done: Vec<usize> = Vec::new();
    for (i, bytes) in &writes {
        match fsio::write(&loaded[*i].file.path, bytes) {
            Ok(created) => {
                record.files[*i].created_dirs.extend(created);
                done.push(*i);
            }
            Err(error) => {
                undo(&loaded, &done);
                return Err(error);
            }
        }
    }
    if let Err(error) = records.save(id, &record) {
        undo(&loaded, &done);
        return Err(error);
    }
    Ok(Connected { files, changed: !writes.is_empty(), warnings: notes })
}

/// Sets the entries in `doc`, recording what each replaced the first time Switchboard owned it.
fn apply(doc: &mut dyn Document, entries: &[Entry], frec: &mut FileRecord) -> Result<(), edit::EditError> {
    // Keys Switchboard owned before but no longer writes (a slot dropped) are given back first.
    let stale: Vec<Owned> = frec.owned.iter().filter(|o| !entries.iter().any(|e| e.path == o.path)).cloned().collect();
    for owned in &stale {
        give_back(doc, owned)?;
    }
    frec.owned.retain(|o| entries.iter().any(|e| e.path == o.path));
    for entry in entries {
        let current = doc.get(&entry.path);
        let known = frec.owned.iter().position(|o| o.path == entry.path);
        if entry.scaffold && current.is_some() && known.is_none() {
            continue;
        }
        let written = hash_value(&entry.value);
        match known {
            Some(k) => frec.owned[k].written = written,
            None => {
                let replaced = match current {
                    None => Replaced::Absent,
                    Some(v) if v == entry.value => Replaced::Same,
                    Some(v) => Replaced::Value(v),
                };
                frec.owned.push(Owned { path: entry.path.clone(), replaced, written });
            }
        }
        for created in doc.set(&entry.path, &entry.value)? {
            if !frec.created.contains(&created) {
                frec.created.push(created);
            }
        }
    }
    Ok(())
}

/// Puts an owned key back as it was, if it still holds what Switchboard wrote.
fn give_back(doc: &mut dyn Document, owned: &Owned) -> Result<(), edit::EditError> {
    if doc.get(&owned.path).map(|v| hash_value(&v)).as_deref() != Some(owned.written.as_str()) {
        return Ok(());
    }
    match &owned.replaced {
        Replaced::Absent => doc.remove(&owned.path),
        Replaced::Value(value) => doc.set(&owned.path, value).map(drop),
        Replaced::Same => Ok(()),
    }
}

fn same_record(a: &Record, b: &Record) -> bool {
    a.app == b.app
        && a.endpoint == b.endpoint
        && a.aliases == b.aliases
        && a.files.len() == b.files.len()
        && a.files.iter().zip(&b.files).all(|(x, y)| x.written == y.written && x.pristine == y.pristine)
}

/// After a failed write: the files already written get their bytes from before this Connect.
fn undo(loaded: &[Loaded], done: &[usize]) {
    for &i in done {
        let file = &loaded[i];
        let _ = match &file.bytes {
            Some(bytes) => fsio::write(&file.file.path, bytes).map(drop),
            None => fsio::remove(&file.file.path),
        };
    }
}

/// What Disconnect does to one file: its path, the outcome, the bytes to write, the folders to remove if empty.
type Step = (PathBuf, Restored, Option<Vec<u8>>, Vec<PathBuf>);

pub fn disconnect(client: &dyn Client, records: &Records) -> Result<Disconnected, ClientError> {
    let id = client.id();
    let record = records.load(id)?.ok_or(ClientError::NotConnected { client: id })?;
    // Decide every file first; nothing is written until all of them can be handled.
    let mut plans: Vec<Step> = Vec::new();
    for frec in &record.files {
        let path = frec.path.clone();
        let Some(bytes) = fsio::read(&path)? else {
            plans.push((path, Restored::Untouched, None, frec.created_dirs.clone()));
            continue;
        };
        if frec.pristine && hash_bytes(&bytes) == frec.written {
            let original = if frec.existed { records.original(id, &frec.tag)? } else { None };
            let outcome = match (frec.existed, original) {
                (true, Some(original)) => (Restored::Exactly, Some(original)),
                (true, None) => {
                    return Err(ClientError::Record {
                        client: id,
                        path: records.record_path(id),
                        message: format!("the saved original of {} is missing", path.display()),
                    });
                }
                (false, _) => (Restored::Removed, None),
            };
            fsio::check_writable(&path)?;
            plans.push((path, outcome.0, outcome.1, frec.created_dirs.clone()));
            continue;
        }
        let loaded = load(vec![ConfigFile { tag: "", path: path.clone(), format: frec.format }])?;
        let Some(loaded) = loaded.into_iter().next() else { continue };
        let mut doc = loaded.doc;
        for owned in frec.owned.iter().rev() {
            give_back(doc.as_mut(), owned).map_err(|e| ClientError::Unsupported { path: path.clone(), reason: e.0 })?;
        }
        let mut created: Vec<&Vec<Seg>> = frec.created.iter().collect();
        created.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for container in created {
            if doc.get(container).is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()) || v.is_null()) {
                doc.remove(container).map_err(|e| ClientError::Unsupported { path: path.clone(), reason: e.0 })?;
            }
        }
        let new = doc.render().into_bytes();
        fsio::check_writable(&path)?;
        if !frec.existed && doc.is_empty() {
            plans.push((path, Restored::Removed, None, frec.created_dirs.clone()));
        } else if new == bytes {
            plans.push((path, Restored::Untouched, Some(new), Vec::new()));
        } else {
            plans.push((path, Restored::KeysOnly, Some(new), Vec::new()));
        }
    }
    let mut files = Vec::new();
    let mut made_dirs = Vec::new();
    for (path, outcome, bytes, dirs) in plans {
        match (outcome, bytes) {
            (Restored::Removed, _) => {
                fsio::remove(&path)?;
                made_dirs.extend(dirs);
            }
            (Restored::Exactly | Restored::KeysOnly, Some(bytes)) => {
                fsio::write(&path, &bytes)?;
            }
            _ => {}
        }
        files.push((path, outcome));
    }
    // Folders last: two files may share one.
    made_dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    fsio::remove_empty_dirs(&made_dirs);
    let tags: Vec<String> = record.files.iter().map(|f| f.tag.clone()).collect();
    records.delete(id, &tags)?;
    Ok(Disconnected { files })
}
