//! Content over live facts: the workspace as it will be after the merge.

use super::*;
use crate::common::statuses;

const WS: &str = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";

#[test]
fn content_replaces_live_items_by_id() {
    let facts = ready();
    let (code, report, err) = scan_json(&fixture(), &["--facts", facts.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let s = statuses(&report);
    // The content connector replaces the live one; its tenant comes from the live subscription.
    assert_eq!(s["XDR-CON-01"], "pass");
    assert_eq!(s["XDR-CON-02"], "error");
    // Replacement, not addition: the live rule of that ID is disabled, the PR enables it.
    // CloudApps is disabled by the workspace-specific parameters file (the workspace ID comes
    // from the live facts).
    assert_eq!(
        evidence(&report, "XDR-CON-03"),
        vec![(
            format!("{WS}/providers/Microsoft.SecurityInsights/alertRules/2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46"),
            "AnalyticsRules/DefenderEndpointIncidents.json:17:5".to_string()
        )]
    );
    assert_eq!(
        evidence(&report, "XDR-EVT-03"),
        vec![(
            "DeviceEvents".to_string(),
            "Tables/DefenderTables.json:17:5".to_string()
        )]
    );
    assert_eq!(
        evidence(&report, "XDR-EVT-01"),
        vec![(
            "IdentityLogonEvents".to_string(),
            "Tables/DefenderTables.json:27:5".to_string()
        )]
    );
    assert_eq!(s["XDR-ENT-01"], "fail");
    // A stale package in the PR downgrades the installed solution.
    assert_eq!(s["XDR-SOL-02"], "fail");
    assert_eq!(
        evidence(&report, "XDR-SOL-02")[0].1,
        "Solutions/DefenderXDR/Package/mainTemplate.json:122:5"
    );
    for c in [
        "XDR-ID-01",
        "XDR-LIC-01",
        "XDR-WS-02",
        "XDR-SOL-01",
        "XDR-EVT-02",
        "XDR-ING-01",
    ] {
        assert_eq!(s[c], "pass", "{c}");
    }
    assert!(err.contains("8 live item(s) replaced"), "{err}");
    assert!(
        !err.contains("parameters-5b02755b"),
        "the workspace-specific file was used: {err}"
    );
}

#[test]
fn ready_alone_passes_and_a_live_section_error_stays_an_error() {
    // The live snapshot alone is compliant (so every failure above is the content's).
    let out = assert_cmd::Command::cargo_bin("xdrguard")
        .unwrap()
        .env("XDRGUARD_NOW", NOW)
        .args(["check", "--facts", ready().to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let mut live: Value = serde_json::from_str(&std::fs::read_to_string(ready()).unwrap()).unwrap();
    live["sections"]["alert_rules"] = serde_json::json!({"error": {"code": "AuthorizationFailed", "message": "no access", "status": 403}});
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("live.json");
    std::fs::write(&p, live.to_string()).unwrap();
    let (_, report, _) = scan_json(&fixture(), &["--facts", p.to_str().unwrap()]);
    assert_eq!(statuses(&report)["XDR-CON-03"], "error");
}
