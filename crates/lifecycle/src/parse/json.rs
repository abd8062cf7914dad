//! Typed reads out of `serde_json` values that fail with the texts of the JSON-schema validator
//! behind ECR (the wording moto reproduces), so clients see the messages ECR would send.

use serde_json::{Map, Value};

use crate::PolicyError;

/// Stands in for a required property that [`object`] has already proved present.
static ABSENT: Value = Value::Null;

/// The properties of one JSON object that passed [`object`].
pub(super) struct Fields<'v>(&'v Map<String, Value>);

impl<'v> Fields<'v> {
    /// A property listed as required, so present.
    pub(super) fn required(&self, key: &str) -> &'v Value {
        self.0.get(key).unwrap_or(&ABSENT)
    }

    pub(super) fn optional(&self, key: &str) -> Option<&'v Value> {
        self.0.get(key)
    }
}

/// `value` as an object with every `required` property and none beyond `required` and `optional`.
pub(super) fn object<'v>(value: &'v Value, required: &[&str], optional: &[&str]) -> Result<Fields<'v>, PolicyError> {
    let Value::Object(map) = value else { return Err(wrong_type(value, "object")) };
    // Both lists are sorted so the text doesn't depend on the order of the policy's keys.
    let mut missing: Vec<&str> = required.iter().copied().filter(|key| !map.contains_key(*key)).collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(PolicyError(format!("object has missing required properties ({})", names(&missing))));
    }
    let mut unknown: Vec<&str> =
        map.keys().map(String::as_str).filter(|key| !required.contains(key) && !optional.contains(key)).collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(PolicyError(format!(
            "object instance has properties which are not allowed by the schema: ({})",
            names(&unknown)
        )));
    }
    Ok(Fields(map))
}

/// A non-empty array.
pub(super) fn array(value: &Value) -> Result<&[Value], PolicyError> {
    let Value::Array(items) = value else { return Err(wrong_type(value, "array")) };
    if items.is_empty() {
        return Err(PolicyError(
            "array is too short: must have at least 1 elements but instance has 0 elements".into(),
        ));
    }
    Ok(items)
}

/// A non-empty array of strings (the tag lists).
pub(super) fn strings(value: &Value) -> Result<Vec<String>, PolicyError> {
    array(value)?.iter().map(|item| string(item).map(str::to_owned)).collect()
}

pub(super) fn string(value: &Value) -> Result<&str, PolicyError> {
    value.as_str().ok_or_else(|| wrong_type(value, "string"))
}

/// An integer from 1 up to `u32::MAX` (priorities and counts).
pub(super) fn positive(value: &Value) -> Result<u32, PolicyError> {
    // Every JSON integer serde_json keeps as an integer fits in i128, negative or not.
    let Some(n) = value.as_i64().map(i128::from).or_else(|| value.as_u64().map(i128::from)) else {
        return Err(wrong_type(value, "integer"));
    };
    if n < 1 {
        return Err(PolicyError(format!(
            "numeric instance is lower than the required minimum (minimum: 1, found: {n})"
        )));
    }
    u32::try_from(n).map_err(|_| {
        PolicyError(format!(
            "numeric instance is greater than the required maximum (maximum: {}, found: {n})",
            u32::MAX
        ))
    })
}

/// A string naming one of `options`, mapped to its value.
pub(super) fn one_of<T: Copy>(value: &Value, options: &[(&str, T)]) -> Result<T, PolicyError> {
    let text = string(value)?;
    match options.iter().find(|(name, _)| *name == text) {
        Some(&(_, option)) => Ok(option),
        None => {
            // In the schema's order, as the validator lists them.
            let possible: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            let possible = names(&possible);
            Err(PolicyError(format!("instance value ({text}) not found in enum (possible values: {possible})")))
        }
    }
}

fn wrong_type(value: &Value, allowed: &str) -> PolicyError {
    PolicyError(format!(
        "instance type ({}) does not match any allowed primitive type (allowed: [\"{allowed}\"])",
        type_name(value)
    ))
}

/// JSON-schema's type names, in which whole numbers are "integer" and the rest "number".
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Property or enum names as the validator prints them: a compact JSON array.
fn names(list: &[&str]) -> String {
    serde_json::to_string(list).unwrap_or_default()
}
