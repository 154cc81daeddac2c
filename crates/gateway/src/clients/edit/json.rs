//! JSON with comments through `jsonc-parser`'s CST: a change touches only the nodes it names, and a new property
//! is indented like its siblings (the crate detects the file's indent and trailing-comma habit).

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

use super::{Document, EditError, ParseError, Seg};

pub struct JsonDoc {
    root: CstRootNode,
    /// The file was empty (or did not exist): what is written ends with a newline.
    was_empty: bool,
}

impl JsonDoc {
    /// `comments`: comments and trailing commas allowed (JSONC), else strict JSON.
    pub fn parse(text: &str, comments: bool) -> Result<JsonDoc, ParseError> {
        // The CST keeps comments whatever its options say; strict JSON is checked by serde_json first.
        if !comments
            && !text.trim().is_empty()
            && let Err(error) = serde_json::from_str::<Value>(text)
        {
            return Err(ParseError {
                line: Some(error.line()),
                column: Some(error.column()),
                message: strict_message(&error),
            });
        }
        let options = ParseOptions {
            allow_comments: comments,
            allow_trailing_commas: comments,
            allow_loose_object_property_names: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
            allow_bare_decimal_point_numbers: false,
            allow_non_finite_numbers: false,
            allow_extended_string_escapes: false,
        };
        let root = CstRootNode::parse(text, &options).map_err(|error| ParseError {
            line: Some(error.line_display()),
            column: Some(error.column_display()),
            message: error.kind().to_string(),
        })?;
        let was_empty = root.value().is_none();
        if let Some(value) = root.value()
            && value.as_object().is_none()
        {
            return Err(ParseError {
                line: Some(1),
                column: Some(1),
                message: "the file holds something other than one JSON object".to_owned(),
            });
        }
        Ok(JsonDoc { root, was_empty })
    }

    fn object(&self) -> Option<CstObject> {
        self.root.value()?.as_object()
    }
}

impl Document for JsonDoc {
    fn get(&self, path: &[Seg]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let mut object = self.object()?;
        for seg in parents {
            object = object.get(key(seg)?)?.value()?.as_object()?;
        }
        object.get(key(last)?)?.value()?.to_serde_value()
    }

    fn set(&mut self, path: &[Seg], value: &Value) -> Result<Vec<Vec<Seg>>, EditError> {
        let (last, parents) = path.split_last().ok_or_else(|| EditError("an empty path".to_owned()))?;
        let mut object = self.root.object_value_or_set();
        let mut created = Vec::new();
        for (depth, seg) in parents.iter().enumerate() {
            let name = key_or_refuse(seg)?;
            object = match object.get(name) {
                Some(prop) => prop.object_value().ok_or_else(|| not_an_object(&path[..=depth]))?,
                None => {
                    created.push(path[..=depth].to_vec());
                    object.append(name, CstInputValue::Object(Vec::new())).object_value_or_set()
                }
            };
        }
        assign(&object, key_or_refuse(last)?, value);
        Ok(created)
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), EditError> {
        let Some((last, parents)) = path.split_last() else { return Ok(()) };
        let Some(mut object) = self.object() else { return Ok(()) };
        for seg in parents {
            let Some(next) = object.get(key_or_refuse(seg)?).and_then(|p| p.object_value()) else { return Ok(()) };
            object = next;
        }
        if let Some(prop) = object.get(key_or_refuse(last)?) {
            prop.remove();
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.object().is_none_or(|o| o.properties().is_empty())
    }

    fn render(&self) -> String {
        let mut text = self.root.to_string();
        if self.was_empty && !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

/// Sets `name` in `object` to `value`: an object into an object key by key (keys no longer wanted go), anything
/// else replaced whole, and nothing touched where the value is already there.
fn assign(object: &CstObject, name: &str, value: &Value) {
    let Some(prop) = object.get(name) else {
        object.append(name, input(value));
        return;
    };
    let current = prop.value().and_then(|v| v.to_serde_value());
    if current.as_ref() == Some(value) {
        return;
    }
    match (value, prop.object_value()) {
        (Value::Object(wanted), Some(inner)) => {
            for old in inner.properties() {
                if old.decoded_name().is_some_and(|n| !wanted.contains_key(&n)) {
                    old.remove();
                }
            }
            for (key, value) in wanted {
                assign(&inner, key, value);
            }
        }
        _ => prop.set_value(input(value)),
    }
}

fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
    }
}

/// serde_json's message without its own " at line L column C" (the position is reported apart).
fn strict_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn key(seg: &Seg) -> Option<&str> {
    match seg {
        Seg::Key(key) => Some(key),
        Seg::Item { .. } => None,
    }
}

fn key_or_refuse(seg: &Seg) -> Result<&str, EditError> {
    key(seg).ok_or_else(|| EditError("list items are not edited in JSON files".to_owned()))
}

fn not_an_object(path: &[Seg]) -> EditError {
    EditError(format!("`{}` is not an object", super::display(path)))
}
