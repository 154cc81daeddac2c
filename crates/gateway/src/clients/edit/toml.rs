//! TOML through `toml_edit`: comments, order and formatting kept; a replaced value keeps the comments around it.

use serde_json::Value;
use toml_edit::{DocumentMut, Item, Table, TableLike};

use super::{Document, EditError, ParseError, Seg};

pub struct TomlDoc {
    doc: DocumentMut,
}

impl TomlDoc {
    pub fn parse(text: &str) -> Result<TomlDoc, ParseError> {
        let doc = text.parse::<DocumentMut>().map_err(|error| {
            let (line, column) = match error.span() {
                Some(span) => {
                    let (line, column) = super::line_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ParseError { line, column, message: error.message().trim().to_owned() }
        })?;
        Ok(TomlDoc { doc })
    }
}

impl Document for TomlDoc {
    fn get(&self, path: &[Seg]) -> Option<Value> {
        let mut item = self.doc.as_item();
        for seg in path {
            item = item.as_table_like()?.get(key(seg)?)?;
        }
        to_json(item)
    }

    fn set(&mut self, path: &[Seg], value: &Value) -> Result<Vec<Vec<Seg>>, EditError> {
        let (last, parents) = path.split_last().ok_or_else(|| EditError("an empty path".to_owned()))?;
        let mut created = Vec::new();
        let mut table: &mut dyn TableLike = self.doc.as_table_mut();
        for (depth, seg) in parents.iter().enumerate() {
            let name = key_or_refuse(seg)?;
            if table.get(name).is_none() {
                created.push(path[..=depth].to_vec());
                let mut new = Table::new();
                new.set_implicit(true);
                table.insert(name, Item::Table(new));
            }
            table = table
                .get_mut(name)
                .and_then(Item::as_table_like_mut)
                .ok_or_else(|| EditError(format!("`{}` is not a table", super::display(&path[..=depth]))))?;
        }
        assign(table, key_or_refuse(last)?, value)?;
        Ok(created)
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), EditError> {
        let Some((last, parents)) = path.split_last() else { return Ok(()) };
        let mut table: &mut dyn TableLike = self.doc.as_table_mut();
        for seg in parents {
            let Some(next) = table.get_mut(key_or_refuse(seg)?).and_then(Item::as_table_like_mut) else {
                return Ok(());
            };
            table = next;
        }
        table.remove(key_or_refuse(last)?);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.doc.as_table().is_empty()
    }

    fn render(&self) -> String {
        self.doc.to_string()
    }
}

/// Sets `name` in `table`: an object into a table key by key (keys no longer wanted go), a scalar in place with
/// the old one's comments, nothing touched where the value is already there.
fn assign(table: &mut dyn TableLike, name: &str, value: &Value) -> Result<(), EditError> {
    if table.get(name).and_then(to_json).as_ref() == Some(value) {
        return Ok(());
    }
    if let Value::Object(wanted) = value {
        if table.get(name).is_some_and(|item| item.as_table_like().is_none()) {
            table.remove(name);
        }
        if table.get(name).is_none() {
            // Its own `[a.b]` header under a standard table; an inline table converts it to `{ … }` itself.
            table.insert(name, Item::Table(Table::new()));
        }
        let inner = table
            .get_mut(name)
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| EditError(format!("`{name}` could not be made a table")))?;
        let stale: Vec<String> = inner.iter().map(|(k, _)| k.to_owned()).filter(|k| !wanted.contains_key(k)).collect();
        for key in stale {
            inner.remove(&key);
        }
        for (key, value) in wanted {
            assign(inner, key, value)?;
        }
        return Ok(());
    }
    let mut new = to_toml(value)?;
    match table.get_mut(name) {
        // In place, so the key keeps its own comments and the value the ones around it.
        Some(item) => {
            if let Some(old) = item.as_value() {
                *new.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(new);
        }
        None => {
            table.insert(name, Item::Value(new));
        }
    }
    Ok(())
}

fn to_toml(value: &Value) -> Result<toml_edit::Value, EditError> {
    Ok(match value {
        Value::Null => return Err(EditError("TOML has no null".to_owned())),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(to_toml(item)?);
            }
            toml_edit::Value::Array(array)
        }
        Value::Object(map) => {
            let mut inline = toml_edit::InlineTable::new();
            for (key, value) in map {
                inline.insert(key, to_toml(value)?);
            }
            toml_edit::Value::InlineTable(inline)
        }
    })
}

fn to_json(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(value_to_json(value)),
        Item::Table(table) => Some(table_to_json(table)),
        Item::ArrayOfTables(tables) => Some(Value::Array(tables.iter().map(|t| table_to_json(t)).collect())),
    }
}

fn table_to_json(table: &dyn TableLike) -> Value {
    Value::Object(table.iter().filter_map(|(k, item)| Some((k.to_owned(), to_json(item)?))).collect())
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Value::from(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(array) => Value::Array(array.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(inline) => table_to_json(inline),
    }
}

fn key(seg: &Seg) -> Option<&str> {
    match seg {
        Seg::Key(key) => Some(key),
        Seg::Item { .. } => None,
    }
}

fn key_or_refuse(seg: &Seg) -> Result<&str, EditError> {
    key(seg).ok_or_else(|| EditError("list items are not edited in TOML files".to_owned()))
}
