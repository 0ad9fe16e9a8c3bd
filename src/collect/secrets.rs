//! The secrets xdrguard holds (bearer tokens, the client secret), and the one scrubber every
//! byte that came from a server passes through before it is stored, shown or logged: the
//! facts (every field), section errors (code, message, call) and the `-v`/`-vv` log.
//!
//! The registry is process-wide because the log writer, which knows nothing of the HTTP
//! client, must scrub too. A secret shorter than [`MIN_SECRET_LEN`] is refused where it
//! enters ([`check_len`]): replacing a short string everywhere would mangle ordinary text,
//! and not replacing it would leak it.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::RwLock;

/// The shortest secret xdrguard accepts: shorter ones cannot be scrubbed safely.
pub const MIN_SECRET_LEN: usize = 16;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

static HELD: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Whether `secret` is long enough to hold; the error says why not (without the secret).
pub fn check_len(what: &str, secret: &str) -> Result<(), String> {
    let n = secret.chars().count();
    if n < MIN_SECRET_LEN {
        return Err(format!(
            "{what} is {n} characters long; xdrguard refuses secrets under {MIN_SECRET_LEN} characters, because it could not scrub them from its outputs safely"
        ));
    }
    Ok(())
}

/// Remember `secret` (and the forms a server may echo it in: percent-encoded, as in a
/// nextLink's query) so that [`scrub`] removes it. Secrets under [`MIN_SECRET_LEN`] are
/// never held: they are refused before use.
pub fn hold(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut held = HELD.write().unwrap_or_else(|p| p.into_inner());
    let encoded = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let form_encoded = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    for form in [secret.to_string(), encoded, form_encoded] {
        if !held.contains(&form) {
            held.push(form);
        }
    }
    // Longest first, so a form containing another is replaced whole.
    held.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every held secret replaced by [`REDACTED`].
pub fn scrub(text: &str) -> Cow<'_, str> {
    let held = HELD.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for s in held.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), REDACTED));
        }
    }
    out
}

/// Scrub a string in place.
pub fn scrub_string(s: &mut String) {
    if let Cow::Owned(clean) = scrub(s) {
        *s = clean;
    }
}

/// Scrub every string of a JSON value in place, object keys included.
pub fn scrub_value(v: &mut Value) {
    match v {
        Value::String(s) => scrub_string(s),
        Value::Array(a) => a.iter_mut().for_each(scrub_value),
        Value::Object(o) => {
            if o.keys().any(|k| matches!(scrub(k), Cow::Owned(_))) {
                let entries: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
                for (mut k, val) in entries {
                    scrub_string(&mut k);
                    o.insert(k, val);
                }
            }
            o.values_mut().for_each(scrub_value);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_held_secret_is_scrubbed() {
        let secret = "sEcReT+/=value-0123456789";
        hold(secret);
        assert_eq!(scrub(&format!("Bearer {secret}!")), "Bearer [REDACTED]!");
        let encoded = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
        assert_eq!(
            scrub(&format!("https://h/x?$skiptoken={encoded}")),
            "https://h/x?$skiptoken=[REDACTED]"
        );
        let mut v = serde_json::json!({"a": [secret], secret: {"b": format!("x{secret}")}});
        scrub_value(&mut v);
        assert!(!v.to_string().contains("sEcReT"), "{v}");
        assert_eq!(v["[REDACTED]"]["b"], "x[REDACTED]");
    }

    #[test]
    fn short_secrets_are_refused_not_held() {
        assert!(check_len("the token", "short-token")
            .unwrap_err()
            .contains("under 16 characters"));
        assert!(check_len("the token", "0123456789abcdef").is_ok());
        hold("tiny");
        assert_eq!(scrub("a tiny text"), "a tiny text");
    }
}
