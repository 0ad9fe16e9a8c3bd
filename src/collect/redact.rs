//! `--redact`: replace UPNs, e-mail addresses and people's display names with stable hashes,
//! so a facts file or report can be shared without naming anyone. The same input always gives
//! the same hash, so findings still line up across runs.

use crate::facts::{FactsDocument, Section, SectionName};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `redacted:` + the first 12 hex digits of SHA-256 of the lower-cased value.
pub fn hash(value: &str) -> String {
    let digest = Sha256::digest(value.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("redacted:{hex}")
}

/// Redact a facts document in place.
pub fn facts(doc: &mut FactsDocument) {
    if let Some(op) = &doc.target.operator {
        if op.contains('@') {
            doc.target.operator = Some(hash(op));
        }
    }
    if let Some(Section::Data(op)) = doc.sections.get_mut(&SectionName::Operator) {
        for key in ["user_principal_name", "display_name"] {
            if let Some(Value::String(s)) = op.get_mut(key) {
                *s = hash(s);
            }
        }
    }
    for section in doc.sections.values_mut() {
        match section {
            Section::Data(v) => emails_in(v),
            Section::Error(e) => {
                e.message = emails(&e.message);
                e.call = e.call.as_deref().map(emails);
            }
        }
    }
    doc.target.redacted = true;
}

fn emails_in(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('@') => *s = emails(s),
        Value::Array(a) => a.iter_mut().for_each(emails_in),
        Value::Object(o) => o.values_mut().for_each(emails_in),
        _ => {}
    }
}

fn local_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-'#".contains(c)
}

fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

/// Replace every e-mail address (or UPN) inside a text.
pub fn emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = i;
            while start > copied && local_char(chars[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && domain_char(chars[end]) {
                end += 1;
            }
            // A quote before the address is punctuation, not part of it.
            while start < i && chars[start] == '\'' {
                start += 1;
            }
            while end > i + 1 && chars[end - 1] == '.' {
                end -= 1;
            }
            let domain: String = chars[i + 1..end].iter().collect();
            if start < i && domain.contains('.') && !domain.starts_with('.') {
                out.extend(&chars[copied..start]);
                let addr: String = chars[start..end].iter().collect();
                out.push_str(&hash(&addr));
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.extend(&chars[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_replaced_stably() {
        let a = emails("owner AdeleV@contoso.com, see x.");
        assert!(!a.contains("AdeleV") && !a.contains("contoso"));
        assert!(a.starts_with("owner redacted:") && a.ends_with(", see x."));
        assert_eq!(hash("AdeleV@contoso.com"), hash("adelev@contoso.com "));
        assert_eq!(emails("no address @ here"), "no address @ here");
        assert_eq!(emails("'a@b.com'"), format!("'{}'", hash("a@b.com")));
        assert_eq!(
            emails("guest_x.com#EXT#@t.onmicrosoft.com"),
            hash("guest_x.com#EXT#@t.onmicrosoft.com")
        );
    }
}
