//! dotenv files (`KEY=value` lines) edited line by line: comments, blank lines, order and every line Switchboard
//! does not own stay exactly as they were. Read like the `dotenv` package reads them: `export ` and `KEY: value`
//! allowed, quoted values may span lines, the last assignment of a key wins.

use serde_json::Value;

use super::{Document, EditError, ParseError, Seg};

pub struct DotenvDoc {
    entries: Vec<Entry>,
    newline: &'static str,
}

struct Entry {
    /// The entry's text, its line ending(s) included.
    text: String,
    /// `(key, value)` for an assignment; `None` for a comment or blank line.
    assign: Option<(String, String)>,
}

impl DotenvDoc {
    pub fn parse(text: &str) -> Result<DotenvDoc, ParseError> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut entries = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let start = i;
            let line = lines[i];
            let content = line.trim_end_matches(['\n', '\r']).trim_start();
            i += 1;
            if content.is_empty() || content.starts_with('#') {
                entries.push(Entry { text: line.to_owned(), assign: None });
                continue;
            }
            let error =
                |message: &str| ParseError { line: Some(start + 1), column: Some(1), message: message.to_owned() };
            let rest = content.strip_prefix("export ").map_or(content, str::trim_start);
            let key_len =
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))).unwrap_or(rest.len());
            let (key, after) = rest.split_at(key_len);
            let after = after.trim_start();
            let Some(after) = after.strip_prefix('=').or_else(|| after.strip_prefix(':')) else {
                return Err(error("not a KEY=value line"));
            };
            if key.is_empty() {
                return Err(error("not a KEY=value line"));
            }
            let raw = after.trim_start();
            let mut text = line.to_owned();
            let value = match raw.chars().next() {
                Some(quote @ ('"' | '\'' | '`')) => {
                    // The value runs to its closing quote, on this line or a later one.
                    let mut body = format!("{}{}", &raw[1..], &line[line.trim_end_matches(['\n', '\r']).len()..]);
                    loop {
                        if let Some(end) = closing(&body, quote) {
                            let inner = &body[..end];
                            break if quote == '"' {
                                inner.replace("\\n", "\n").replace("\\r", "\r")
                            } else {
                                inner.to_owned()
                            };
                        }
                        let Some(next) = lines.get(i) else {
                            return Err(error("a quoted value is never closed"));
                        };
                        i += 1;
                        text.push_str(next);
                        body.push_str(next);
                    }
                }
                _ => raw.split('#').next().unwrap_or_default().trim().to_owned(),
            };
            entries.push(Entry { text, assign: Some((key.to_owned(), value)) });
        }
        Ok(DotenvDoc { entries, newline: super::newline_of(text) })
    }

    fn last(&self, key: &str) -> Option<usize> {
        self.entries.iter().rposition(|e| e.assign.as_ref().is_some_and(|(k, _)| k == key))
    }
}

/// Where the closing `quote` is in `body` (a backslash escapes it).
fn closing(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == quote && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

impl Document for DotenvDoc {
    fn get(&self, path: &[Seg]) -> Option<Value> {
        let [Seg::Key(key)] = path else { return None };
        let (_, value) = self.entries[self.last(key)?].assign.as_ref()?;
        Some(Value::String(value.clone()))
    }

    fn set(&mut self, path: &[Seg], value: &Value) -> Result<Vec<Vec<Seg>>, EditError> {
        let [Seg::Key(key)] = path else {
            return Err(EditError("a .env file holds plain KEY=value lines".to_owned()));
        };
        let Value::String(value) = value else {
            return Err(EditError(format!("{key}: a .env value is a string")));
        };
        if self.get(path).as_ref().and_then(Value::as_str) == Some(value.as_str()) {
            return Ok(Vec::new());
        }
        let quoted =
            quote(value).ok_or_else(|| EditError(format!("{key}: the value cannot be written in a .env file")))?;
        match self.last(key) {
            Some(i) => {
                let entry = &mut self.entries[i];
                let ending = if entry.text.ends_with("\r\n") {
                    "\r\n"
                } else if entry.text.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                let export = if entry.text.trim_start().starts_with("export ") { "export " } else { "" };
                let indent: String = entry.text.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
                entry.text = format!("{indent}{export}{key}={quoted}{ending}");
                entry.assign = Some((key.clone(), value.clone()));
            }
            None => {
                if let Some(last) = self.entries.last_mut()
                    && !last.text.ends_with('\n')
                {
                    last.text.push_str(self.newline);
                }
                self.entries.push(Entry {
                    text: format!("{key}={quoted}{}", self.newline),
                    assign: Some((key.clone(), value.clone())),
                });
            }
        }
        Ok(Vec::new())
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), EditError> {
        if let [Seg::Key(key)] = path {
            self.entries.retain(|e| e.assign.as_ref().is_none_or(|(k, _)| k != key));
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.text.trim().is_empty())
    }

    fn render(&self) -> String {
        self.entries.iter().map(|e| e.text.as_str()).collect()
    }
}

/// A value as dotenv reads it back unchanged: bare when it is plain, else in single quotes (taken literally).
fn quote(value: &str) -> Option<String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@+-,=".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        Some(value.to_owned())
    } else if !value.contains(['\'', '\n', '\r']) {
        Some(format!("'{value}'"))
    } else {
        None
    }
}
