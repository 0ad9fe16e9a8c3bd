//! The identity of a finding across runs: what the baseline, drift and SARIF's
//! `partialFingerprints` all match on, so the three can never disagree.

use crate::facts::Target;
use crate::model::Finding;
use sha2::{Digest, Sha256};
use std::fmt;

/// Control ID and scope (lowercased; the workspace when the finding has none). Never a display
/// name, a message or evidence, which change on their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(f: &Finding, target: &Target) -> Fingerprint {
        let scope = f.scope.as_deref().unwrap_or(target.workspace_id.as_str());
        Fingerprint(format!("{}|{}", f.control, scope.to_ascii_lowercase()))
    }

    /// `sha256(control + "|" + lowercased scope)`, hex: the SARIF form, opaque to viewers.
    pub fn sha256_hex(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn depends_on_control_and_scope_only() {
        let r = sample::mixed();
        let a = r.results[1].clone();
        let mut b = a.clone();
        b.message = "different text".into();
        b.evidence.clear();
        b.title = "renamed".into();
        b.scope = b.scope.map(|s| s.to_uppercase());
        assert_eq!(
            Fingerprint::of(&a, &r.target),
            Fingerprint::of(&b, &r.target)
        );
        b.scope = Some("/subscriptions/other".into());
        assert_ne!(
            Fingerprint::of(&a, &r.target),
            Fingerprint::of(&b, &r.target)
        );
        b.scope = None;
        assert_eq!(
            Fingerprint::of(&b, &r.target).to_string(),
            format!("XDR-CON-03|{}", sample::WORKSPACE.to_ascii_lowercase())
        );
    }

    #[test]
    fn sha256_is_of_the_key() {
        // echo -n 'a|b' | sha256sum
        assert_eq!(
            Fingerprint("a|b".into()).sha256_hex(),
            "0eab8a0a3380abf4c7d1fb0b43b66aafbb64a4b953e4eb2dccca579461912d0c"
        );
    }
}
