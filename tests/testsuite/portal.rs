//! The move into the Microsoft Defender portal, as a user runs it: the `defender-portal`
//! profile and stage over the shipped snapshots, how onboarding was decided in every report,
//! `--config defender_portal`, facts written before the new sections existed, and the
//! commands that describe the stage.

use crate::check::{check, result, run};
use crate::common::statuses;
use serde_json::Value;

fn usx(report: &Value) -> Vec<(String, String)> {
    statuses(report)
        .into_iter()
        .filter(|(c, _)| c.starts_with("XDR-USX-"))
        .collect()
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    result(report, id)["status"].as_str().unwrap()
}

#[test]
fn the_profile_answers_what_blocks_the_move_and_what_breaks() {
    let (code, r) = check("defender-portal-ready", &["--profile", "defender-portal"]);
    assert_eq!(code, 0, "moves cleanly");
    assert!(usx(&r).iter().all(|(_, s)| s == "pass"), "{:?}", usx(&r));
    // The connector stage is outside this profile; the prerequisites run.
    assert_eq!(status(&r, "XDR-CON-01"), "skipped");
    assert_eq!(status(&r, "XDR-WS-02"), "pass");

    let (code, r) = check("defender-portal-blocked", &["--profile", "defender-portal"]);
    assert_eq!(code, 1);
    for id in ["XDR-USX-01", "XDR-USX-02", "XDR-USX-03", "XDR-USX-04"] {
        assert_eq!(status(&r, id), "fail", "{id}: {}", result(&r, id));
    }
    // Title and provider name, one of each nested in a Boolean; the disabled rule's
    // IncidentDescription does not count.
    let usx02 = result(&r, "XDR-USX-02");
    let names: Vec<&str> = usx02["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("IncidentTitle Contains 'Phishing'")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("IncidentProviderName")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("IncidentDescription")),
        "{names:?}"
    );
    assert!(usx02["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["detail"]
            .as_str()
            .unwrap()
            .starts_with("inside a nested Or")));
    // The fix names the replacement values.
    let usx04 = &result(&r, "XDR-USX-04")["evidence"][0]["detail"];
    assert!(usx04.as_str().unwrap().contains("'adele.vance'"), "{usx04}");
    assert!(
        usx04
            .as_str()
            .unwrap()
            .contains("AccountUPNSuffix Equals 'contoso.com'"),
        "{usx04}"
    );
    let steps = result(&r, "XDR-USX-02")["remediation"]["steps"].to_string();
    assert!(
        steps.contains("automationRules/"),
        "the REST call that shows the rule: {steps}"
    );
    assert!(
        !steps.contains("#/conditions"),
        "the rule URL, without the condition path"
    );

    // The pre-onboarding profile is unchanged: no USX control runs.
    let (code, r) = check("ready", &["--profile", "pre-onboarding"]);
    assert_eq!(code, 0);
    assert!(usx(&r).iter().all(|(_, s)| s == "skipped"));
}

#[test]
fn an_onboarded_workspace_is_never_a_false_critical_fail() {
    let (code, r) = check("defender-portal-onboarded", &[]);
    assert_eq!(code, 0, "full profile");
    for id in ["XDR-CON-01", "XDR-CON-02", "XDR-USX-01", "XDR-USX-03"] {
        assert_eq!(status(&r, id), "skipped", "{id}");
    }
    let usx01 = result(&r, "XDR-USX-01")["reason"].as_str().unwrap();
    assert!(usx01.contains("already onboarded"), "{usx01}");
    assert!(
        usx01.contains("the Defender apps hold Microsoft Sentinel Contributor"),
        "says how onboarding was decided: {usx01}"
    );
    assert!(result(&r, "XDR-CON-01")["reason"]
        .as_str()
        .unwrap()
        .contains("onboarded to the Defender portal"));
    assert_eq!(status(&r, "XDR-USX-02"), "pass");
    assert_eq!(r["defender_portal"]["onboarded"], true);
    assert_eq!(r["defender_portal"]["source"], "evidence");
}

#[test]
fn config_overrides_the_decision_and_every_report_says_so() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("portal.yaml");
    std::fs::write(&cfg, "defender_portal: onboarded\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let (code, r) = check("ready", &["--config", cfg]);
    assert_eq!(code, 0);
    assert_eq!(status(&r, "XDR-USX-01"), "skipped");
    assert_eq!(status(&r, "XDR-USX-03"), "skipped");
    assert_eq!(r["defender_portal"]["source"], "config");
    assert!(r["defender_portal"]["reason"]
        .as_str()
        .unwrap()
        .contains("decided by --config defender_portal: onboarded"));
    for (format, needle) in [
        ("table", "Portal:    onboarded (config: decided by --config"),
        ("markdown", "Defender portal: onboarded"),
        ("sarif", "\"defenderPortal\""),
        ("junit", "name=\"defender_portal\""),
        ("html", "Moving into the Defender portal"),
    ] {
        let (code, out, err) = run(&[
            "check",
            "--facts",
            "examples/snapshots/ready.json",
            "--config",
            cfg,
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains(needle), "{format}: {out}");
    }
    let (_, html, _) = run(&[
        "check",
        "--facts",
        "examples/snapshots/ready.json",
        "--format",
        "html",
    ]);
    assert!(html.contains(
        "After March 31, 2027, Microsoft Sentinel will no longer be supported in the Azure portal"
    ));

    // A mistyped value is bad input, at its node.
    std::fs::write(d.path().join("bad.yaml"), "defender_portal: yes-please\n").unwrap();
    let bad = d.path().join("bad.yaml");
    let (code, _, err) = run(&[
        "check",
        "--facts",
        "examples/snapshots/ready.json",
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("bad.yaml") && err.contains(":1:"), "{err}");
}

#[test]
fn facts_written_before_the_sections_existed_keep_their_exit_code() {
    let v1 = "tests/testsuite/data/facts-v1-ready.json";
    let (code, _, err) = run(&["check", "--facts", v1, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["check", "--facts", v1, "--format", "json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["facts_collected_at"], "2026-11-20T08:00:00Z");
    for id in ["XDR-USX-01", "XDR-USX-02", "XDR-USX-03", "XDR-USX-04"] {
        assert_eq!(status(&r, id), "skipped", "{id}");
        assert!(result(&r, id)["reason"]
            .as_str()
            .unwrap()
            .contains("not collected"));
    }
    // USX-05 reads only alert_rules, which v1 facts have (without createIncident: a note).
    assert_eq!(status(&r, "XDR-USX-05"), "pass");
    assert!(r.get("defender_portal").is_none());
}

#[test]
fn controls_explain_and_permissions_cover_the_stage() {
    let (code, out, _) = run(&["controls", "--stage", "defender-portal"]);
    assert_eq!(code, 0);
    for id in [
        "XDR-USX-01",
        "XDR-USX-02",
        "XDR-USX-03",
        "XDR-USX-04",
        "XDR-USX-05",
    ] {
        assert!(out.contains(id), "{out}");
    }
    assert!(!out.contains("XDR-CON-01"));
    let (code, out, _) = run(&["explain", "XDR-USX-02"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("automation_rules: Azure Resource Manager GET")
            && out.contains("automationRules (api-version 2025-12-01)"),
        "{out}"
    );
    let (code, out, _) = run(&["permissions"]);
    assert_eq!(code, 0);
    assert!(out.contains("Application.Read.All"), "{out}");
}
