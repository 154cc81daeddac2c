//! YAML by a narrow textual edit, verified by reading it back. Two shapes only: a top-level scalar
//! (`name: …`) and one item of a top-level block list picked by a field (`models:` / `- name: Switchboard`).
//! After each edit the text is parsed again with `saphyr`; it must equal the document before plus exactly that
//! change, else the edit is refused. Lines outside the edited item (comments, order, quoting) are never touched.

use saphyr::{LoadableYamlNode, ScalarOwned, YamlOwned};
use serde_json::{Map, Value};

use super::{Document, EditError, ParseError, Seg};

pub struct YamlDoc {
    text: String,
    /// The document as plain data, kept in step with `text`.
    value: Value,
    newline: &'static str,
}

impl YamlDoc {
    pub fn parse(text: &str) -> Result<YamlDoc, ParseError> {
        let value = read(text)?;
        Ok(YamlDoc { text: text.to_owned(), value, newline: super::newline_of(text) })
    }

    fn lines(&self) -> Vec<&str> {
        self.text.split_inclusive('\n').collect()
    }

    /// Replaces lines `start..end` with `new` (lines without endings), then checks the result reads as `expected`.
    fn splice(&mut self, start: usize, end: usize, new: &[String], expected: Value) -> Result<(), EditError> {
        let lines = self.lines();
        let mut text: String = lines[..start].concat();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(self.newline);
        }
        for line in new {
            text.push_str(line);
            text.push_str(self.newline);
        }
        text.push_str(&lines[end.min(lines.len())..].concat());
        let read_back = read(&text).map_err(|e| unverified(&e.message))?;
        if read_back != expected {
            return Err(unverified("the result does not read back as intended"));
        }
        self.text = text;
        self.value = expected;
        Ok(())
    }

    /// The line `key:` starts on at the top level, if any.
    fn top_key_line(&self, key: &str) -> Option<usize> {
        self.lines().iter().position(|line| {
            line.strip_prefix(key).is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(':'))
        })
    }

    /// Lines `start..end` of the block under top-level line `at` (its continuation lines, comments inside kept).
    fn block_end(&self, at: usize) -> usize {
        let lines = self.lines();
        let mut end = at + 1;
        let mut i = at + 1;
        while i < lines.len() {
            let line = lines[i].trim_end_matches(['\n', '\r']);
            let top = !line.is_empty() && !line.starts_with([' ', '\t', '#']) && !line.starts_with('-');
            if top {
                break;
            }
            if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                end = i + 1;
            }
            i += 1;
        }
        end
    }

    fn set_scalar(&mut self, key: &str, value: &Value) -> Result<(), EditError> {
        let line = format!("{}: {}", plain_key(key), scalar(value)?);
        let mut expected = self.value.clone();
        object_mut(&mut expected)?.insert(key.to_owned(), value.clone());
        match self.top_key_line(key) {
            Some(at) => {
                let end = self.block_end(at);
                self.splice(at, end, &[line], expected)
            }
            None => {
                // Before the first top-level block (`models:` and its list), else at the end.
                let lines = self.lines();
                let at = lines
                    .iter()
                    .position(|l| {
                        let l = l.split('#').next().unwrap_or_default().trim_end();
                        !l.starts_with([' ', '\t', '-']) && l.ends_with(':')
                    })
                    .unwrap_or(lines.len());
                self.splice(at, at, &[line], expected)
            }
        }
    }

    fn set_item(&mut self, list: &str, field: &str, name: &str, item: &Value) -> Result<Vec<Vec<Seg>>, EditError> {
        let Value::Object(map) = item else { return Err(EditError("a list item here is a mapping".to_owned())) };
        let mut expected = self.value.clone();
        let root = object_mut(&mut expected)?;
        let Some(at) = self.top_key_line(list) else {
            // No list yet: it goes at the end of the file.
            root.insert(list.to_owned(), Value::Array(vec![item.clone()]));
            let mut new = vec![format!("{list}:")];
            new.extend(emit_item(map, 2));
            let end = self.lines().len();
            self.splice(end, end, &new, expected)?;
            return Ok(vec![vec![Seg::key(list)]]);
        };
        let items = match root.get_mut(list) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) => {
                root.insert(list.to_owned(), Value::Array(Vec::new()));
                let Some(Value::Array(items)) = root.get_mut(list) else { unreachable!() };
                items
            }
            _ => return Err(EditError(format!("`{list}` is not a list"))),
        };
        let index = items.iter().position(|i| i.get(field).and_then(Value::as_str) == Some(name));
        let header = self.lines()[at].trim_end_matches(['\n', '\r']).to_owned();
        let flow_empty = header.split('#').next().is_some_and(|h| h.trim_end().ends_with("[]"));
        let bounds = self.item_bounds(at);
        if bounds.len() != items.len() && !(flow_empty && items.is_empty()) {
            return Err(EditError(format!("`{list}` is written in a form Switchboard does not edit (flow style?)")));
        }
        let indent = bounds.first().map_or(2, |b| b.2);
        let new = emit_item(map, indent);
        match index {
            Some(i) => {
                items[i] = item.clone();
                let (start, end, _) = bounds[i];
                self.splice(start, end, &new, expected)?;
            }
            None => {
                items.push(item.clone());
                if flow_empty {
                    let mut lines = vec![format!("{list}:")];
                    lines.extend(new);
                    self.splice(at, at + 1, &lines, expected)?;
                } else {
                    let end = bounds.last().map_or(at + 1, |b| b.1);
                    self.splice(end, end, &new, expected)?;
                }
            }
        }
        Ok(Vec::new())
    }

    /// `(start, end, indent)` of each item of the block list under line `at`: from its `- ` line to its last
    /// content line.
    fn item_bounds(&self, at: usize) -> Vec<(usize, usize, usize)> {
        let lines = self.lines();
        let end = self.block_end(at);
        let mut items: Vec<(usize, usize, usize)> = Vec::new();
        let mut indent = None;
        for (i, line) in lines.iter().enumerate().take(end).skip(at + 1) {
            let line = line.trim_end_matches(['\n', '\r']);
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let this = line.len() - content.len();
            let dash = content == "-" || content.starts_with("- ");
            if dash && indent.is_none_or(|ind| ind == this) {
                indent = Some(this);
                items.push((i, i + 1, this));
            } else if let Some(last) = items.last_mut() {
                last.1 = i + 1;
            }
        }
        items
    }

    fn remove_item(&mut self, list: &str, field: &str, name: &str) -> Result<(), EditError> {
        let mut expected = self.value.clone();
        let Some(Value::Array(items)) = object_mut(&mut expected)?.get_mut(list) else { return Ok(()) };
        let Some(index) = items.iter().position(|i| i.get(field).and_then(Value::as_str) == Some(name)) else {
            return Ok(());
        };
        items.remove(index);
        if items.is_empty() {
            // `models:` with nothing under it reads as null.
            object_mut(&mut expected)?.insert(list.to_owned(), Value::Null);
        }
        let Some(at) = self.top_key_line(list) else { return Ok(()) };
        let bounds = self.item_bounds(at);
        let Some(&(start, end, _)) = bounds.get(index) else {
            return Err(EditError(format!("`{list}` is written in a form Switchboard does not edit")));
        };
        self.splice(start, end, &[], expected)
    }
}

impl Document for YamlDoc {
    fn get(&self, path: &[Seg]) -> Option<Value> {
        super::value_at(&self.value, path).cloned()
    }

    fn set(&mut self, path: &[Seg], value: &Value) -> Result<Vec<Vec<Seg>>, EditError> {
        if self.get(path).as_ref() == Some(value) {
            return Ok(Vec::new());
        }
        match path {
            [Seg::Key(key)] => self.set_scalar(key, value).map(|()| Vec::new()),
            [Seg::Key(list), Seg::Item { field, value: name }] => self.set_item(list, field, name, value),
            _ => Err(EditError(format!("`{}` is not a shape Switchboard edits in YAML", super::display(path)))),
        }
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), EditError> {
        if self.get(path).is_none() {
            return Ok(());
        }
        match path {
            [Seg::Key(key)] => {
                let Some(at) = self.top_key_line(key) else { return Ok(()) };
                let end = self.block_end(at);
                let mut expected = self.value.clone();
                object_mut(&mut expected)?.remove(key);
                self.splice(at, end, &[], expected)
            }
            [Seg::Key(list), Seg::Item { field, value: name }] => self.remove_item(list, field, name),
            _ => Err(EditError(format!("`{}` is not a shape Switchboard edits in YAML", super::display(path)))),
        }
    }

    fn is_empty(&self) -> bool {
        self.value.as_object().is_none_or(Map::is_empty)
    }

    fn render(&self) -> String {
        self.text.clone()
    }
}

fn unverified(why: &str) -> EditError {
    EditError(format!("Switchboard's edit could not be verified ({why}), so nothing was written"))
}

fn object_mut(value: &mut Value) -> Result<&mut Map<String, Value>, EditError> {
    value.as_object_mut().ok_or_else(|| EditError("the file is not a mapping".to_owned()))
}

/// The document as plain data; an empty file is an empty mapping.
fn read(text: &str) -> Result<Value, ParseError> {
    let docs = YamlOwned::load_from_str(text).map_err(|error| ParseError {
        line: Some(error.marker().line()),
        column: Some(error.marker().col() + 1),
        message: error.info().to_owned(),
    })?;
    let at_start = |message: &str| ParseError { line: Some(1), column: Some(1), message: message.to_owned() };
    match docs.as_slice() {
        [] => Ok(Value::Object(Map::new())),
        [doc] => match to_json(doc).map_err(|m| at_start(&m))? {
            Value::Null => Ok(Value::Object(Map::new())),
            value @ Value::Object(_) => Ok(value),
            _ => Err(at_start("the file holds something other than a mapping")),
        },
        _ => Err(at_start("the file holds more than one YAML document")),
    }
}

fn to_json(node: &YamlOwned) -> Result<Value, String> {
    Ok(match node {
        YamlOwned::Value(scalar) => match scalar {
            ScalarOwned::Null => Value::Null,
            ScalarOwned::Boolean(b) => Value::Bool(*b),
            ScalarOwned::Integer(i) => Value::from(*i),
            ScalarOwned::FloatingPoint(f) => Value::from(f.into_inner()),
            ScalarOwned::String(s) => Value::String(s.clone()),
        },
        YamlOwned::Sequence(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        YamlOwned::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match to_json(key)? {
                    Value::String(s) => s,
                    Value::Null => "null".to_owned(),
                    other => other.to_string(),
                };
                out.insert(key, to_json(value)?);
            }
            Value::Object(out)
        }
        YamlOwned::Tagged(_, inner) => to_json(inner)?,
        YamlOwned::Representation(text, _, _) => Value::String(text.clone()),
        YamlOwned::Alias(_) => return Err("the file uses an alias (*name), which Switchboard does not edit".to_owned()),
        YamlOwned::BadValue => return Err("the file holds a value YAML cannot read".to_owned()),
    })
}

/// A scalar as YAML reads it back exactly (strings double-quoted the JSON way, which YAML accepts).
fn scalar(value: &Value) -> Result<String, EditError> {
    match value {
        Value::Array(_) | Value::Object(_) => Err(EditError("a nested value where a scalar was expected".to_owned())),
        other => Ok(other.to_string()),
    }
}

fn plain_key(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// A list item: `- first: …` at `indent`, the rest of its keys two further in.
fn emit_item(map: &Map<String, Value>, indent: usize) -> Vec<String> {
    let mut lines = emit_map(map, indent + 2);
    if let Some(first) = lines.first_mut() {
        *first = format!("{}- {}", " ".repeat(indent), &first[indent + 2..]);
    }
    lines
}

fn emit_map(map: &Map<String, Value>, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    for (key, value) in map {
        let key = plain_key(key);
        match value {
            Value::Array(items) if items.is_empty() => lines.push(format!("{pad}{key}: []")),
            Value::Object(inner) if inner.is_empty() => lines.push(format!("{pad}{key}: {{}}")),
            Value::Array(items) => {
                lines.push(format!("{pad}{key}:"));
                for item in items {
                    match item {
                        Value::Object(inner) => lines.extend(emit_item(inner, indent + 2)),
                        other => lines.push(format!("{pad}  - {other}")),
                    }
                }
            }
            Value::Object(inner) => {
                lines.push(format!("{pad}{key}:"));
                lines.extend(emit_map(inner, indent + 2));
            }
            other => lines.push(format!("{pad}{key}: {other}")),
        }
    }
    lines
}
