//! A small structural OpenAPI v3 checker, enough for CRD schemas: `type`,
//! `properties` (unknown fields are errors unless preserved), `required`,
//! `items`, `enum`, `additionalProperties`, `nullable`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`,
//! `format: int32`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`. Not checked: `pattern` and CEL
//! `x-kubernetes-validations` (tests check the relevant CEL rules by hand).
//!
//! Unknown fields are errors rather than pruned: a field the API server would
//! drop silently is a rendering bug.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The CRD files shared with the project, outside the repository.
pub fn crd_path(file: &str) -> String {
    format!("{}/../../shared/crds/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The CRD document in `file`, read and parsed once per test binary (the
/// files are large and YAML parsing is slow in debug builds).
pub fn crd(file: &str) -> &'static Value {
    static CACHE: OnceLock<Mutex<BTreeMap<String, &'static Value>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache.entry(file.to_owned()).or_insert_with(|| {
        let path = crd_path(file);
        let text = std::fs::read_to_string(Path::new(&path)).unwrap_or_else(|e| panic!("read {path}: {e}"));
        Box::leak(Box::new(serde_saphyr::from_str(&text).unwrap()))
    })
}

/// The `openAPIV3Schema` of `kind` at `api_version` in the CRD file `file`.
/// Fails when the file's group, kind or served versions do not match.
pub fn crd_schema(file: &str, api_version: &str, kind: &str) -> Value {
    let crd = crd(file);
    let (group, version) = api_version.split_once('/').unwrap();
    assert_eq!(crd["spec"]["group"], group, "{file}: group");
    assert_eq!(crd["spec"]["names"]["kind"], kind, "{file}: kind");
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let v = versions.iter().find(|v| v["name"] == version).unwrap_or_else(|| panic!("{file}: no version {version}"));
    assert_eq!(v["served"], true, "{file}: {version} not served");
    v["schema"]["openAPIV3Schema"].clone()
}

/// Every violation of `schema` by `value`, as `path: problem`. The object's
/// `metadata` is left to the API server (it is validated as ObjectMeta).
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "<root>" } else { path };
    let mut err = |msg: String| errors.push(format!("{at}: {msg}"));
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            err("null is not allowed".into());
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !matches!(type_name(value), "integer" | "string") {
            err(format!("expected an integer or a string, got {}", type_name(value)));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            err(format!("expected {expected}, got {actual}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        err(format!("{value} is not one of {}", Value::Array(allowed.clone())));
    }
    if let Some(n) = value.as_f64() {
        if schema.get("format").and_then(Value::as_str) == Some("int32")
            && (n < f64::from(i32::MIN) || n > f64::from(i32::MAX))
        {
            err(format!("{n} does not fit int32"));
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            err(format!("{n} is below the minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            err(format!("{n} is above the maximum {max}"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            err(format!("shorter than {min}"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            err(format!("longer than {max}"));
        }
    }
    match value {
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                err(format!("fewer than {min} items"));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                err(format!("more than {max} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Object(fields) => {
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = required.as_str()
                    && !fields.contains_key(name)
                {
                    err(format!("missing required field {name}"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            let additional = schema.get("additionalProperties");
            for (key, field) in fields {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if path.is_empty() && key == "metadata" {
                    continue;
                }
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(field_schema), _) => check(field_schema, field, &child, errors),
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(extra)) if extra.is_object() => check(extra, field, &child, errors),
                    _ if preserve => {}
                    _ => errors.push(format!("{child}: unknown field (the API server would drop it)")),
                }
            }
        }
        _ => {}
    }
}
