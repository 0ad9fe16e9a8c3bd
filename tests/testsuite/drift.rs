//! Baseline (`--baseline`) and drift (`diff`) through the CLI, over the example snapshots.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1")
        .env("XDRGUARD_NOW", "2026-11-27T10:00:00Z");
    c
}

/// Write the JSON report of an example snapshot into `dir`.
fn report(dir: &Path, snapshot: &str) -> PathBuf {
    let p = dir.join(format!("{snapshot}.report.json"));
    let out = xdrguard()
        .args(["check", "--quiet", "--facts"])
        .arg(format!("examples/snapshots/{snapshot}.json"))
        .arg("--report")
        .arg(format!("json={}", p.display()))
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0..=2)));
    p
}

fn check_with_baseline(snapshot: &str, baseline: &Path) -> (i32, Value) {
    let out = xdrguard()
        .args(["check", "--format", "json", "--facts"])
        .arg(format!("examples/snapshots/{snapshot}.json"))
        .arg("--baseline")
        .arg(baseline)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn known_failures_do_not_fail_the_gate_new_ones_do() {
    let d = tempfile::tempdir().unwrap();
    let same = report(d.path(), "misconfigured");
    let (code, r) = check_with_baseline("misconfigured", &same);
    assert_eq!(code, 0, "every failure is in the baseline");
    assert_eq!(r["summary"]["fail"], 8, "known failures are still shown");
    assert!(r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .all(|f| f["baseline"] == "known"));

    let clean = report(d.path(), "ready");
    let (code, r) = check_with_baseline("misconfigured", &clean);
    assert_eq!(code, 1, "failures absent from the baseline count");
    assert!(r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .all(|f| f["baseline"] == "new"));
}

#[test]
fn a_bad_baseline_is_exit_3() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("b.json");
    for text in ["{not json", "{\"results\": []}", "[]"] {
        std::fs::write(&p, text).unwrap();
        let out = xdrguard()
            .args([
                "check",
                "--facts",
                "examples/snapshots/ready.json",
                "--baseline",
            ])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("b.json"));
    }
    // A facts document is not a report.
    let out = xdrguard()
        .args(["check", "--facts", "examples/snapshots/ready.json"])
        .args(["--baseline", "examples/snapshots/ready.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

fn diff(old: &Path, new: &Path, format: &str) -> (i32, String) {
    let out = xdrguard()
        .arg("diff")
        .arg(old)
        .arg(new)
        .args(["--format", format])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn diff_exits_1_on_regression_and_0_on_improvement() {
    let d = tempfile::tempdir().unwrap();
    let ready = report(d.path(), "ready");
    let bad = report(d.path(), "misconfigured");
    let partial = report(d.path(), "partial-access");

    let (code, json) = diff(&ready, &bad, "json");
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    let newly: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "newly_failing")
        .map(|c| c["control"].as_str().unwrap())
        .collect();
    assert_eq!(newly.len(), 8, "{newly:?}");

    let (code, md) = diff(&bad, &ready, "markdown");
    assert_eq!(code, 0, "{md}");
    assert!(md.contains("8 change(s), 0 regression(s)"), "{md}");
    assert!(md.contains("| resolved |"));

    let (code, table) = diff(&ready, &partial, "table");
    assert_eq!(code, 1, "pass → error is a regression:\n{table}");
    assert!(table.contains("status changed (regression)"));

    let (code, table) = diff(&bad, &bad, "table");
    assert_eq!(code, 0);
    assert!(table.contains("No drift"));
}

#[test]
fn diff_golden_markdown() {
    let d = tempfile::tempdir().unwrap();
    let ready = report(d.path(), "ready");
    let bad = report(d.path(), "misconfigured");
    let (_, md) = diff(&ready, &bad, "markdown");
    insta::assert_snapshot!(md);
}

#[test]
fn diff_of_non_reports_is_exit_3() {
    let out = xdrguard()
        .args(["diff", "examples/snapshots/ready.json", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
