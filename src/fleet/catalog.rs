//! The catalog version every fleet report carries: a digest of the policies evaluated, so
//! reports judged by different policies (another xdrguard release, other `--policies`) are
//! never merged into one matrix as if they were comparable.

use crate::policy::Catalog;
use sha2::{Digest, Sha256};

/// `sha256:` and the first 16 hex digits of the digest of every policy's ID and text, in ID
/// order (load order does not change it).
pub fn version(catalog: &Catalog) -> String {
    let mut controls: Vec<_> = catalog.controls.iter().collect();
    controls.sort_by(|a, b| a.policy.id.cmp(&b.policy.id));
    let mut h = Sha256::new();
    for c in controls {
        h.update(c.policy.id.as_bytes());
        h.update([0]);
        h.update(c.doc.file.text.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The title and severity of each control, in catalog order, for the fleet report.
pub fn controls(catalog: &Catalog) -> Vec<super::report::ControlInfo> {
    catalog
        .controls
        .iter()
        .map(|c| super::report::ControlInfo::new(&c.policy.id, &c.policy.title, c.policy.severity))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_catalog;

    #[test]
    fn same_policies_same_version_others_differ() {
        let a = load_catalog(&[], true).unwrap();
        let b = load_catalog(&[], true).unwrap();
        assert_eq!(version(&a), version(&b));
        let custom = std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/custom-policies/ACME-CON-01.yaml"
        ));
        let c = load_catalog(&[custom], true).unwrap();
        assert_ne!(version(&a), version(&c));
        assert!(version(&a).starts_with("sha256:"));
    }
}
