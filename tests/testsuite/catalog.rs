//! Guard tests over the shipped catalog: the IDs, stages, severities and dependencies users
//! put in configs, exceptions and dashboards stay as the control catalog defines them.

use std::collections::BTreeMap;
use xdrguard::model::{Severity, Stage, StepKind};
use xdrguard::policy::load_catalog;

/// (ID, stage, default severity) from the control catalog; never renumber.
const CATALOG: &[(&str, Stage, Severity)] = &[
    ("XDR-LIC-01", Stage::Prerequisite, Severity::Critical),
    ("XDR-LIC-02", Stage::Prerequisite, Severity::Medium),
    ("XDR-ID-01", Stage::Prerequisite, Severity::Critical),
    ("XDR-ID-02", Stage::Prerequisite, Severity::Critical),
    ("XDR-WS-01", Stage::Prerequisite, Severity::Critical),
    ("XDR-WS-02", Stage::Prerequisite, Severity::Critical),
    ("XDR-SOL-01", Stage::Prerequisite, Severity::High),
    ("XDR-SOL-02", Stage::Prerequisite, Severity::Low),
    ("XDR-MDI-01", Stage::Prerequisite, Severity::High),
    ("XDR-MDI-02", Stage::Prerequisite, Severity::High),
    ("XDR-RBAC-01", Stage::Prerequisite, Severity::Medium),
    ("XDR-REQ-01", Stage::Prerequisite, Severity::High),
    ("XDR-CON-01", Stage::Connector, Severity::Critical),
    ("XDR-CON-02", Stage::Connector, Severity::High),
    ("XDR-CON-03", Stage::Connector, Severity::High),
    ("XDR-CON-04", Stage::Connector, Severity::Low),
    ("XDR-ENT-01", Stage::Connector, Severity::Medium),
    ("XDR-EVT-01", Stage::Connector, Severity::Medium),
    ("XDR-EVT-02", Stage::Connector, Severity::Medium),
    ("XDR-EVT-03", Stage::Connector, Severity::Low),
    ("XDR-ING-01", Stage::Verification, Severity::Medium),
    ("XDR-ING-02", Stage::Verification, Severity::Low),
    ("XDR-USX-01", Stage::DefenderPortal, Severity::High),
    ("XDR-USX-02", Stage::DefenderPortal, Severity::High),
    ("XDR-USX-03", Stage::DefenderPortal, Severity::Medium),
    ("XDR-USX-04", Stage::DefenderPortal, Severity::Low),
    ("XDR-USX-05", Stage::DefenderPortal, Severity::Low),
];

#[test]
fn shipped_controls_match_the_catalog() {
    let cat = load_catalog(&[], true).unwrap();
    let shipped: BTreeMap<&str, (Stage, Severity)> = cat
        .controls
        .iter()
        .map(|c| (c.policy.id.as_str(), (c.policy.stage, c.policy.severity)))
        .collect();
    let expected: BTreeMap<&str, (Stage, Severity)> = CATALOG
        .iter()
        .map(|(id, st, sev)| (*id, (*st, *sev)))
        .collect();
    assert_eq!(shipped, expected);
}

#[test]
fn dependencies_follow_the_catalog() {
    let cat = load_catalog(&[], true).unwrap();
    let deps = |id: &str| cat.get(id).unwrap().policy.depends_on.clone();
    for c in &cat.controls {
        let id = c.policy.id.as_str();
        let d = deps(id);
        if ["XDR-CON-", "XDR-EVT-", "XDR-ING-", "XDR-USX-"]
            .iter()
            .any(|p| id.starts_with(p))
            || id == "XDR-ENT-01"
        {
            assert!(
                d.contains(&"XDR-WS-02".to_string()),
                "{id} must depend on XDR-WS-02"
            );
        }
        if ["XDR-EVT-02", "XDR-EVT-03", "XDR-ING-01", "XDR-ING-02"].contains(&id) {
            assert!(
                d.contains(&"XDR-CON-01".to_string()),
                "{id} must depend on XDR-CON-01"
            );
        }
    }
    assert_eq!(deps("XDR-MDI-02"), vec!["XDR-MDI-01".to_string()]);
}

#[test]
fn every_control_says_what_it_checks_and_how_to_fix_it() {
    let cat = load_catalog(&[], true).unwrap();
    for c in &cat.controls {
        let p = &c.policy;
        assert!(p.description.len() > 40, "{}: description too thin", p.id);
        assert!(!p.remediation.steps.is_empty(), "{}", p.id);
        assert!(
            p.remediation
                .steps
                .iter()
                .flat_map(|s| s.keys())
                .any(|k| *k == StepKind::Portal),
            "{}: remediation names the portal path",
            p.id
        );
        assert!(
            p.remediation
                .steps
                .iter()
                .flat_map(|s| s.keys())
                .any(|k| matches!(k, StepKind::Cli | StepKind::Api)),
            "{}: remediation names a command or API call",
            p.id
        );
        assert!(
            p.remediation
                .docs
                .iter()
                .any(|d| d.starts_with("https://learn.microsoft.com/")),
            "{}: remediation links Microsoft Learn",
            p.id
        );
        assert_eq!(
            c.file,
            format!("policies/{}.yaml", p.id),
            "one control per file, named by ID"
        );
    }
}
