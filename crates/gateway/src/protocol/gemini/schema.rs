//! Schemas: JSON Schema reduced to the OpenAPI subset Gemini's `Schema` message accepts (upstream requests), and a
//! client's `Schema` read back as JSON Schema (client requests).

use serde_json::{Map, Value, json};

use super::{MAX_REF_DEPTH, camel};
use crate::protocol::ProtocolError;
use crate::protocol::fields::{as_object, field, get_array, get_bool, get_f64, get_object, get_str, join, wrong_type};

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

/// A client's Gemini `Schema` (`parameters`, `responseSchema`) as the JSON Schema the neutral form holds:
/// - `type` lower-cased (`TYPE_UNSPECIFIED` left out), `nullable: true` → `type: [T, "null"]` (or a null member
///   of `anyOf`);
/// - `format`, `title`, `description`, `pattern`, `enum`, `default`, `required`, `minimum`, `maximum` kept; the
///   count bounds (`minItems`, `maxLength`, …) kept as numbers (proto's JSON writes int64 as a string);
///   `example` → `examples: [..]`; `items`, `properties` and `anyOf` converted recursively;
/// - `propertyOrdering` and unknown keys dropped; a known key of the wrong type is an error naming it.
pub(super) fn to_json_schema(node: &Map<String, Value>, path: &str) -> Result<Value, ProtocolError> {
    let node = camel(node);
    let mut out = Map::new();
    let nullable = get_bool(&node, "nullable", path)?.unwrap_or(false);
    match get_str(&node, "type", path)? {
        None => {}
        Some(kind) if kind.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => {}
        Some(kind) => {
            let kind = kind.to_ascii_lowercase();
            let typed = if nullable && kind != "null" { json!([kind, "null"]) } else { json!(kind) };
            out.insert("type".into(), typed);
        }
    }
    for key in ["format", "title", "description", "pattern"] {
        if let Some(value) = get_str(&node, key, path)? {
            out.insert(key.into(), json!(value));
        }
    }
    if let Some(values) = get_array(&node, "enum", path)? {
        out.insert("enum".into(), Value::Array(values.clone()));
    }
    if let Some(value) = field(&node, "default") {
        out.insert("default".into(), value.clone());
    }
    if let Some(value) = field(&node, "example") {
        out.insert("examples".into(), json!([value]));
    }
    for key in ["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"] {
        if let Some(value) = field(&node, key) {
            let count = value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok()));
            let count = count.ok_or_else(|| wrong_type(join(path, key), "a non-negative integer", value))?;
            out.insert(key.into(), json!(count));
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(value) = get_f64(&node, key, path)? {
            out.insert(key.into(), json!(value));
        }
    }
    if let Some(items) = get_object(&node, "items", path)? {
        out.insert("items".into(), to_json_schema(items, &join(path, "items"))?);
    }
    if let Some(properties) = get_object(&node, "properties", path)? {
        let properties_path = join(path, "properties");
        let mut converted = Map::new();
        for (name, schema) in properties {
            let schema_path = join(&properties_path, name);
            converted.insert(name.clone(), to_json_schema(as_object(schema, &schema_path)?, &schema_path)?);
        }
        out.insert("properties".into(), Value::Object(converted));
    }
    if let Some(required) = get_array(&node, "required", path)? {
        for (i, name) in required.iter().enumerate() {
            if !name.is_string() {
                return Err(wrong_type(format!("{}[{i}]", join(path, "required")), "a string", name));
            }
        }
        out.insert("required".into(), Value::Array(required.clone()));
    }
    if let Some(members) = get_array(&node, "anyOf", path)? {
        let mut converted = Vec::new();
        for (i, member) in members.iter().enumerate() {
            let member_path = format!("{}[{i}]", join(path, "anyOf"));
            converted.push(to_json_schema(as_object(member, &member_path)?, &member_path)?);
        }
        if nullable && !out.contains_key("type") {
            converted.push(json!({ "type": "null" }));
        }
        out.insert("anyOf".into(), Value::Array(converted));
    }
    Ok(Value::Object(out))
}
