//! `check` over the bundled example tenants: the statuses, evidence and exit codes a user
//! relies on, and JSON reports that match `schemas/report.schema.json`.

use crate::common;

use assert_cmd::Command;
use common::{statuses, CONTROLS};
use serde_json::Value;
use xdrguard::input::schema::{self, Kind};
use xdrguard::model::Status;

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// Run xdrguard with `args`; (exit code, stdout, stderr).
pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let out = xdrguard().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `check --format json` and return (exit code, report).
pub(crate) fn check(snapshot: &str, extra: &[&str]) -> (i32, Value) {
    let path = format!("examples/snapshots/{snapshot}.json");
    let out = xdrguard()
        .args(["check", "--facts", &path, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        schema::validate(Kind::Report, &report),
        vec![],
        "report matches its schema"
    );
    (out.status.code().unwrap(), report)
}

pub(crate) fn result<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["control"] == id)
        .unwrap()
}

#[test]
fn ready_tenant_passes_everything() {
    let (code, report) = check("ready", &[]);
    assert_eq!(code, 0);
    let st = statuses(&report);
    assert_eq!(
        st.keys().map(String::as_str).collect::<Vec<_>>().len(),
        CONTROLS.len()
    );
    for id in CONTROLS {
        assert_eq!(st[id], "pass", "{id}: {}", result(&report, id));
    }
    assert_eq!(report["verdict"], "compliant");
    assert_eq!(report["summary"]["pass"], CONTROLS.len());
    assert_eq!(report["profile"], "full");
    assert!(report["tool"]["version"].is_string());
}

#[test]
fn not_ready_tenant_fails_prerequisites_and_blocks_dependants() {
    let (code, report) = check("not-ready", &[]);
    assert_eq!(code, 1);
    let st = statuses(&report);
    for id in [
        "XDR-LIC-01",
        "XDR-ID-01",
        "XDR-ID-02",
        "XDR-WS-02",
        "XDR-SOL-01",
        "XDR-REQ-01",
    ] {
        assert_eq!(st[id], "fail", "{id}");
    }
    assert!(result(&report, "XDR-ID-02")["message"]
        .as_str()
        .unwrap()
        .contains("activate the role in PIM"));
    for id in [
        "XDR-CON-01",
        "XDR-CON-02",
        "XDR-CON-03",
        "XDR-CON-04",
        "XDR-ENT-01",
        "XDR-EVT-01",
        "XDR-EVT-02",
        "XDR-EVT-03",
        "XDR-ING-01",
        "XDR-ING-02",
    ] {
        assert_eq!(st[id], "skipped", "{id}");
        assert!(
            result(&report, id)["reason"]
                .as_str()
                .unwrap()
                .starts_with("blocked by XDR-WS-02"),
            "{id}"
        );
    }
    assert_eq!(
        result(&report, "XDR-SOL-02")["reason"],
        "blocked by XDR-SOL-01 (fail)"
    );
    assert_eq!(
        result(&report, "XDR-MDI-02")["reason"],
        "blocked by XDR-MDI-01 (fail)"
    );
    // Every fail carries remediation a user can act on.
    for r in report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
    {
        assert!(!r["remediation"]["steps"].as_array().unwrap().is_empty());
        assert!(r["remediation"]["docs"][0]
            .as_str()
            .unwrap()
            .starts_with("https://learn.microsoft.com/"));
        assert!(
            !r["evidence"].as_array().unwrap().is_empty(),
            "{}",
            r["control"]
        );
    }
}

#[test]
fn misconfigured_connector_is_named_precisely() {
    let (code, report) = check("misconfigured", &[]);
    assert_eq!(code, 1);
    let st = statuses(&report);
    for id in [
        "XDR-LIC-01",
        "XDR-LIC-02",
        "XDR-ID-01",
        "XDR-ID-02",
        "XDR-WS-01",
        "XDR-WS-02",
        "XDR-SOL-01",
        "XDR-MDI-01",
        "XDR-REQ-01",
    ] {
        assert_eq!(st[id], "pass", "{id}: {}", result(&report, id));
    }
    for id in [
        "XDR-CON-03",
        "XDR-CON-04",
        "XDR-ENT-01",
        "XDR-EVT-01",
        "XDR-EVT-02",
        "XDR-SOL-02",
        "XDR-MDI-02",
    ] {
        assert_eq!(st[id], "fail", "{id}");
    }
    let rules = result(&report, "XDR-CON-03")["evidence"]
        .as_array()
        .unwrap();
    assert_eq!(
        rules.len(),
        2,
        "both enabled incident creation rules are named"
    );
    for r in rules {
        assert!(r["id"]
            .as_str()
            .unwrap()
            .contains("/providers/Microsoft.SecurityInsights/alertRules/"));
        assert!(!r["name"].as_str().unwrap().is_empty());
    }
    // The remediation command names each offending rule's resource.
    let steps = result(&report, "XDR-CON-03")["remediation"]["steps"].to_string();
    for r in rules {
        assert!(steps.contains(r["id"].as_str().unwrap()), "{steps}");
    }
}

#[test]
fn partial_access_is_error_and_nothing_else_changes() {
    let (code, report) = check("partial-access", &[]);
    assert_eq!(code, 2);
    assert_eq!(report["verdict"], "incomplete");
    let (_, ready) = check("ready", &[]);
    let (st, ready_st) = (statuses(&report), statuses(&ready));
    let errors: Vec<&String> = st
        .iter()
        .filter(|(_, s)| *s == "error")
        .map(|(k, _)| k)
        .collect();
    assert!(!errors.is_empty());
    for (id, s) in &st {
        if s == "error" {
            let reason = result(&report, id)["reason"].as_str().unwrap();
            assert!(
                reason.contains("Needed:") || reason.contains("missing"),
                "{id}: {reason}"
            );
        } else {
            assert_eq!(
                s, &ready_st[id],
                "{id} changed although its facts were readable"
            );
        }
    }
}

#[test]
fn fail_on_threshold_and_profile() {
    // misconfigured fails only medium/high/low controls: a critical threshold lets it through.
    let (code, _) = check("misconfigured", &["--fail-on", "critical"]);
    assert_eq!(code, 0);
    let (code, _) = check("misconfigured", &["--fail-on", "high"]);
    assert_eq!(code, 1);
    let (code, report) = check("misconfigured", &["--profile", "pre-onboarding"]);
    assert_eq!(
        code, 1,
        "XDR-MDI-02 (high) and XDR-SOL-02 (low) are failing prerequisites"
    );
    assert_eq!(report["profile"], "pre-onboarding");
    let st = statuses(&report);
    assert_eq!(st["XDR-CON-03"], "skipped");
    assert!(result(&report, "XDR-CON-03")["reason"]
        .as_str()
        .unwrap()
        .contains("outside profile pre-onboarding"));
}

#[test]
fn config_overrides_severity_params_and_enabled() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("xdrguard.yaml");
    std::fs::write(
        &cfg,
        "controls:\n  XDR-CON-03:\n    severity: critical\n  XDR-EVT-02:\n    params:\n      max_age: 3650d\n  XDR-CON-04:\n    enabled: false\n",
    )
    .unwrap();
    let (_, report) = check("misconfigured", &["--config", cfg.to_str().unwrap()]);
    assert_eq!(result(&report, "XDR-CON-03")["severity"], "critical");
    // A 10-year max_age accepts old data; tables with no data at all still fail.
    let stale = result(&report, "XDR-EVT-02")["evidence"].to_string();
    assert!(!stale.contains("newest event at"), "{stale}");
    assert!(stale.contains("no rows received"), "{stale}");
    assert_eq!(result(&report, "XDR-CON-04")["status"], "skipped");
    assert_eq!(
        result(&report, "XDR-CON-04")["reason"],
        "disabled in configuration"
    );
    let (code, _) = check(
        "misconfigured",
        &["--config", cfg.to_str().unwrap(), "--fail-on", "critical"],
    );
    assert_eq!(code, 1, "the raised severity now trips a critical gate");
}

#[test]
fn table_report_has_every_control_and_numbered_remediation() {
    let (code, text, _) = run(&["check", "--facts", "examples/snapshots/not-ready.json"]);
    assert_eq!(code, 1);
    for id in CONTROLS {
        assert!(text.contains(id), "{id} missing from the table");
    }
    assert!(text.contains("Remediation"));
    assert!(text.contains("  1. portal: "), "{text}");
    assert!(text.contains("Learn: https://learn.microsoft.com/"));
    assert!(!text.contains("\u{1b}["), "no colour when not a terminal");
}

#[test]
fn output_file_and_shipped_policy_tests() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.json");
    let status = xdrguard()
        .args([
            "check",
            "--facts",
            "examples/snapshots/ready.json",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(status.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["total"], CONTROLS.len());
}

#[test]
fn every_shipped_policy_has_passing_and_failing_test_cases() {
    let catalog = xdrguard::policy::load_catalog(&[], true).unwrap();
    let outcome = xdrguard::policy::test_cases::run_dir(
        &catalog,
        std::path::Path::new("tests/policies"),
        None,
        &xdrguard::eval::evaluate,
    )
    .unwrap();
    let failed: Vec<String> = outcome
        .failed()
        .map(|c| format!("{}: {}", c.label, c.problems.join("; ")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    for c in &catalog.controls {
        for want in [Status::Pass, Status::Fail] {
            assert!(
                outcome.covers(&c.policy.id, want),
                "{} has no `{want}` case",
                c.policy.id
            );
        }
    }
}

#[test]
fn lint_accepts_the_shipped_policies_and_example_config() {
    let (code, _, err) = run(&["lint", "policies", "examples/xdrguard.yaml"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn controls_and_explain() {
    let (_, text, _) = run(&["controls", "--stage", "verification"]);
    assert!(
        text.contains("XDR-ING-01") && text.contains("XDR-ING-02") && !text.contains("XDR-CON-03"),
        "{text}"
    );
    let (code, text, _) = run(&["explain", "XDR-CON-03"]);
    assert_eq!(code, 0);
    for want in [
        "What is checked",
        "Why",
        "Params",
        "products",
        "Microsoft Defender Advanced Threat Protection",
        "Remediation",
        "learn.microsoft.com",
        "alertRules",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
}

#[test]
fn the_readme_custom_policy_example_lints_tests_and_runs() {
    let (code, _, err) = run(&[
        "lint",
        "examples/custom-policies",
        "examples/custom-policies/tests",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&[
        "test",
        "examples/custom-policies/tests",
        "--policies",
        "examples/custom-policies",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 passed, 0 failed"), "{out}");
    let (code, report) = check("ready", &["--policies", "examples/custom-policies"]);
    assert_eq!(code, 0);
    assert_eq!(result(&report, "ACME-CON-01")["status"], "pass");
    assert_eq!(
        result(&report, "ACME-CON-01")["policy_file"]
            .as_str()
            .unwrap(),
        "examples/custom-policies/ACME-CON-01.yaml"
    );
}

/// `xdrguard test` over a folder holding one case file `t.yaml`: the base facts (the ready
/// snapshot) then `cases`, the YAML list of cases. Returns exit code, stdout, stderr.
fn run_policy_test(cases: &str) -> (i32, String, String) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("t.yaml"),
        format!(
            "base: {}/examples/snapshots/ready.json\ncases:\n{cases}",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    run(&["test", d.path().to_str().unwrap()])
}

#[test]
fn a_failing_policy_test_case_exits_1() {
    let (code, text, _) =
        run_policy_test("  - name: wrong on purpose\n    control: XDR-WS-02\n    expect: fail\n");
    assert_eq!(code, 1);
    assert!(
        text.contains("FAILED") && text.contains("expected fail, got pass"),
        "{text}"
    );
    assert!(text.contains("0 passed, 1 failed"), "{text}");
}

/// A typo'd `profile` is bad input at its line, not a silent run of the `full` profile
/// (which would make a "skipped outside the profile" case test nothing).
#[test]
fn a_typo_in_a_policy_test_profile_is_an_error_at_its_line() {
    let (code, out, err) = run_policy_test(
        "  - name: typo\n    control: XDR-CON-01\n    profile: pre-onbording\n    expect: skipped\n",
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("t.yaml:5:5"), "{err}");
    assert!(err.contains("pre-onbording"), "{err}");
    assert!(!out.contains("passed"), "{out}");
}
