//! Schemas: JSON Schema reduced to the OpenAPI subset Gemini's `Schema` message accepts.

use serde_json::{Map, Value, json};

use super::MAX_REF_DEPTH;

/// A JSON Schema reduced to what Gemini's `Schema` message accepts (an OpenAPI 3.0 subset), recursively:
/// - kept: `type` (upper-cased), `format` (only values Gemini acts on), `title`, `description`, `nullable`,
///   `enum` (as strings), `items`, `minItems`, `maxItems`, `properties`, `required`, `propertyOrdering`,
///   `minProperties`, `maxProperties`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `anyOf`,
///   `default`, `example`;
/// - translated: `type: [T, "null"]` → `type: T, nullable: true` (several types → `anyOf`), `anyOf` members of
///   type null → `nullable`, `oneOf` → `anyOf`, `const` → one-value `enum`, `allOf` → its members merged, a local
///   `$ref` (`#/$defs/..`, `#/definitions/..`) → the definition inlined (up to [`MAX_REF_DEPTH`] deep; deeper or
///   unresolvable refs become an untyped schema);
/// - dropped: everything else (`$schema`, `$id`, `additionalProperties`, `strict`, `exclusiveMinimum`,
///   `uniqueItems`, `patternProperties`, `not`, `if`/`then`/`else`, …). A nested `OBJECT` without properties
///   loses its `type` (Gemini rejects empty-property objects) and so accepts any value.
pub fn sanitize_schema(schema: &Value) -> Value {
    sanitize_node(schema, schema, 0)
}

fn sanitize_node(node: &Value, root: &Value, depth: usize) -> Value {
    let Some(object) = node.as_object() else {
        return json!({});
    };

    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let resolved = (depth < MAX_REF_DEPTH).then(|| resolve_ref(root, reference)).flatten();
        let mut out = match resolved {
            Some(target) => sanitize_node(target, root, depth + 1),
            None => json!({}),
        };
        // Siblings of `$ref` that describe it (2019-09+ allows them) are kept.
        if let (Some(description), Some(out)) = (object.get("description"), out.as_object_mut()) {
            out.insert("description".into(), description.clone());
        }
        return out;
    }

    // `allOf`: merge the members into this node, then sanitize the whole.
    if let Some(Value::Array(members)) = object.get("allOf") {
        let mut merged = object.clone();
        merged.remove("allOf");
        for member in members {
            let member = match member.get("$ref").and_then(Value::as_str) {
                Some(reference) => resolve_ref(root, reference).unwrap_or(member),
                None => member,
            };
            if let Some(member) = member.as_object() {
                merge_schema(&mut merged, member);
            }
        }
        return sanitize_node(&Value::Object(merged), root, depth + 1);
    }

    let mut out = Map::new();
    let mut nullable = object.get("nullable").and_then(Value::as_bool).unwrap_or(false);

    match object.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".into(), json!(t.to_ascii_uppercase()));
        }
        Some(Value::Array(types)) => {
            let non_null: Vec<&str> = types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            nullable |= non_null.len() < types.len();
            match non_null.as_slice() {
                [] => {}
                [single] => {
                    out.insert("type".into(), json!(single.to_ascii_uppercase()));
                }
                several => {
                    let variants: Vec<Value> =
                        several.iter().map(|t| json!({ "type": t.to_ascii_uppercase() })).collect();
                    out.insert("anyOf".into(), Value::Array(variants));
                }
            }
        }
        _ => {}
    }

    for key in ["title", "description", "pattern", "default", "example"] {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(format) = object.get("format").and_then(Value::as_str)
        && matches!(format, "enum" | "date-time" | "int32" | "int64" | "float" | "double")
    {
        out.insert("format".into(), json!(format));
    }
    for key in ["minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"] {
        if let Some(value) = object.get(key).filter(|v| v.is_u64()) {
            out.insert(key.into(), value.clone());
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(value) = object.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), value.clone());
        }
    }

    let enumeration = match (object.get("enum"), object.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (None, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    };
    if let Some(values) = enumeration {
        nullable |= values.iter().any(Value::is_null);
        let strings: Vec<Value> = values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => json!(s),
                other => json!(other.to_string()),
            })
            .collect();
        if !strings.is_empty() {
            out.insert("enum".into(), Value::Array(strings));
            // Gemini's enums are string-typed; a non-string enum would not validate against its own type.
            if out.get("type").and_then(Value::as_str).is_some_and(|t| t != "STRING") {
                out.insert("type".into(), json!("STRING"));
            }
            out.entry("type").or_insert_with(|| json!("STRING"));
        }
    }

    if let Some(items) = object.get("items") {
        let items = match items {
            // Tuple form (draft 4-2019): the first item's schema is the best single answer.
            Value::Array(list) => list.first().cloned().unwrap_or_else(|| json!({})),
            other => other.clone(),
        };
        out.insert("items".into(), sanitize_node(&items, root, depth));
    }

    if let Some(Value::Object(properties)) = object.get("properties") {
        let sanitized: Map<String, Value> =
            properties.iter().map(|(name, schema)| (name.clone(), sanitize_node(schema, root, depth))).collect();
        if let Some(Value::Array(required)) = object.get("required") {
            let required: Vec<Value> =
                required.iter().filter(|r| r.as_str().is_some_and(|r| sanitized.contains_key(r))).cloned().collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        if let Some(Value::Array(ordering)) = object.get("propertyOrdering") {
            out.insert("propertyOrdering".into(), Value::Array(ordering.clone()));
        }
        if !sanitized.is_empty() {
            out.insert("properties".into(), Value::Object(sanitized));
        }
    }

    let alternatives = match (object.get("anyOf"), object.get("oneOf")) {
        (Some(Value::Array(list)), _) | (None, Some(Value::Array(list))) => Some(list),
        _ => None,
    };
    if let Some(alternatives) = alternatives {
        let mut variants = Vec::new();
        for alternative in alternatives {
            if alternative.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else {
                variants.push(sanitize_node(alternative, root, depth));
            }
        }
        if variants.len() == 1 && out.get("type").is_none() {
            // `anyOf: [X, null]`, the usual Optional[X]: X itself, nullable.
            if let Some(Value::Object(single)) = variants.pop() {
                for (key, value) in single {
                    out.entry(key).or_insert(value);
                }
            }
        } else if !variants.is_empty() {
            out.insert("anyOf".into(), Value::Array(variants));
        }
    }

    if nullable {
        out.insert("nullable".into(), json!(true));
    }

    // An object without properties is rejected; below the root, leave it untyped (any value) instead.
    if depth > 0 || !std::ptr::eq(node, root) {
        let empty_object = out.get("type").and_then(Value::as_str) == Some("OBJECT") && !out.contains_key("properties");
        if empty_object {
            out.remove("type");
            out.remove("required");
        }
    }
    Value::Object(out)
}

/// `#/$defs/Name`, `#/definitions/Name` or any other local JSON pointer.
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// `allOf` member into its parent: properties and required lists unioned, other keys kept from the parent first.
fn merge_schema(into: &mut Map<String, Value>, member: &Map<String, Value>) {
    for (key, value) in member {
        match (key.as_str(), into.get_mut(key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.entry(name.clone()).or_insert_with(|| schema.clone());
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(name) {
                        existing.push(name.clone());
                    }
                }
            }
            (_, None, _) => {
                into.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
}
