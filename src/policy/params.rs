//! Typed policy parameters: declared in the policy, overridden per environment by config.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    /// `7d`, `12h`, `30m`, `90s`; becomes a CEL duration.
    Duration,
    StringList,
    ObjectList,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Why `v` is not of this type, if it is not.
    pub fn check(self, v: &Value) -> Result<(), String> {
        let ok = match self {
            ParamType::String => v.is_string(),
            ParamType::Integer => v.is_i64() || v.is_u64(),
            ParamType::Boolean => v.is_boolean(),
            ParamType::Duration => match v.as_str() {
                Some(s) => return parse_duration(s).map(|_| ()),
                None => false,
            },
            ParamType::StringList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            ParamType::ObjectList => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("expected a value of type {}", self.as_str()))
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub default: Value,
    pub description: String,
    /// Another control whose parameter of the same name this one shares (e.g. `required_tables`).
    #[serde(default)]
    pub shared_with: Option<String>,
}

/// Parse `7d`, `12h`, `30m`, `45s` (or a sum such as `1d12h`) into a duration.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let err = || format!("`{s}` is not a duration (use e.g. 7d, 12h, 30m, 90s)");
    let mut total = chrono::Duration::zero();
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| err())?;
        num.clear();
        let part = match c {
            'd' => chrono::Duration::try_days(n),
            'h' => chrono::Duration::try_hours(n),
            'm' => chrono::Duration::try_minutes(n),
            's' => chrono::Duration::try_seconds(n),
            _ => None,
        }
        .ok_or_else(err)?;
        total = total.checked_add(&part).ok_or_else(err)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), chrono::Duration::days(7));
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            chrono::Duration::hours(36)
        );
        for bad in ["", "7", "d", "7x", "-1d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_are_checked() {
        assert!(ParamType::StringList
            .check(&serde_json::json!(["a"]))
            .is_ok());
        assert!(ParamType::StringList
            .check(&serde_json::json!([1]))
            .is_err());
        assert!(ParamType::Duration.check(&serde_json::json!("7d")).is_ok());
        assert!(ParamType::Duration
            .check(&serde_json::json!("soon"))
            .is_err());
        assert!(ParamType::Integer.check(&serde_json::json!(90)).is_ok());
        assert!(ParamType::Integer.check(&serde_json::json!("90")).is_err());
    }
}
