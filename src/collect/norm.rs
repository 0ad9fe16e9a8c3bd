//! Small, strict readers for API payloads: a missing required field is a `MalformedResponse`
//! error for the section, never a panic and never a silent default.

use super::http::CallError;
use serde_json::Value;

/// The items of a list result.
pub fn arr(v: &Value) -> Result<&Vec<Value>, CallError> {
    v.as_array()
        .ok_or_else(|| CallError::malformed("expected a list"))
}

pub fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

pub fn req_str(v: &Value, key: &str) -> Result<String, CallError> {
    opt_str(v, key).ok_or_else(|| CallError::malformed(format!("missing string field `{key}`")))
}

/// A string at a JSON pointer.
pub fn ptr_str(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// An integer that may arrive as a number or as a string of digits.
pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            // Only whole numbers an f64 holds exactly: `as` would saturate 1e300 to i64::MAX.
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_EXACT)
                    .map(|f| f as i64)
            }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// The largest integer every smaller one of which an f64 holds exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A list of strings; other items are skipped.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Last path segment of a resource ID (the GUID of a role definition ID), lower-cased.
pub fn last_segment(id: &str) -> String {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(id)
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_from_numbers_and_strings() {
        assert_eq!(int(&json!(3)), Some(3));
        assert_eq!(int(&json!("42")), Some(42));
        assert_eq!(int(&json!(2.0)), Some(2));
        assert_eq!(int(&json!("x")), None);
        assert_eq!(int(&json!(1e300)), None);
        assert_eq!(int(&json!(-1e300)), None);
        assert_eq!(int(&json!(2.5)), None);
        assert_eq!(
            last_segment("/providers/Microsoft.Authorization/roleDefinitions/ABC"),
            "abc"
        );
    }
}
