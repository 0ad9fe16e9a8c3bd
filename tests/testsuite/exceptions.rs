//! Exceptions through the CLI: waiving, expiry judged against the pinned clock, warnings for
//! expired and unmatched entries, and exit 3 with a located diagnostic for bad files.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const MISCONFIGURED: &str = "examples/snapshots/misconfigured.json";
const WORKSPACE: &str = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";

fn xdrguard(now: &str) -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1").env("XDRGUARD_NOW", now);
    c
}

fn write(dir: &Path, text: &str) -> String {
    let p = dir.join("exceptions.yaml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Run check as JSON; returns (exit code, report, stderr).
fn run_json(now: &str, exceptions: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = xdrguard(now)
        .args(["check", "--facts", MISCONFIGURED, "--format", "json"])
        .args(["--exceptions", exceptions])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), report, stderr)
}

fn finding<'a>(report: &'a Value, control: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == control)
        .unwrap()
}

#[test]
fn the_example_exceptions_waive_and_keep_evidence() {
    let (code, r, stderr) = run_json("2026-11-27T10:00:00Z", "examples/exceptions.yaml", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(r["summary"]["waived"], 2);
    let f = finding(&r, "XDR-SOL-02");
    assert_eq!(f["status"], "waived");
    assert_eq!(f["original_status"], "fail");
    assert_eq!(f["waiver"]["ticket"], "CHG-20417");
    assert!(!f["evidence"].as_array().unwrap().is_empty());
    assert_eq!(
        finding(&r, "XDR-CON-04")["waiver"]["owner"],
        "soc-engineering@contoso.com"
    );
    assert!(r.get("warnings").is_none(), "{:?}", r["warnings"]);
    // Waiving the low failures makes a `--fail-on medium` gate… still fail (medium and high
    // remain), while `--fail-on critical` passes.
    let (code, _, _) = run_json(
        "2026-11-27T10:00:00Z",
        "examples/exceptions.yaml",
        &["--fail-on", "critical"],
    );
    assert_eq!(code, 0);
}

#[test]
fn an_exception_waiving_every_failure_makes_the_gate_pass_until_it_expires() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("exceptions:\n");
    for c in [
        "XDR-MDI-02",
        "XDR-SOL-02",
        "XDR-CON-03",
        "XDR-CON-04",
        "XDR-ENT-01",
        "XDR-EVT-01",
        "XDR-EVT-02",
        "XDR-USX-03",
    ] {
        text.push_str(&format!(
            "  - control: {c}\n    scope: {WORKSPACE}\n    justification: accepted for the pilot phase\n    owner: ciso@contoso.com\n    expires: 2026-12-31\n"
        ));
    }
    let f = write(d.path(), &text);
    let (code, r, _) = run_json("2026-12-31T23:00:00Z", &f, &[]);
    assert_eq!(code, 0, "last day of validity");
    assert_eq!(r["verdict"], "compliant");
    assert_eq!(r["summary"]["waived"], 8);
    // Soon-expiring exceptions are called out.
    assert!(r["warnings"][0].as_str().unwrap().contains("0 day(s) left"));

    let (code, r, stderr) = run_json("2027-01-01T00:00:00Z", &f, &[]);
    assert_eq!(code, 1, "the day after expiry the failures count again");
    assert_eq!(r["summary"]["waived"], 0);
    assert_eq!(r["warnings"].as_array().unwrap().len(), 8);
    assert!(stderr.contains("expired on 2026-12-31"), "{stderr}");
}

#[test]
fn unmatched_and_passing_exceptions_are_warned_about() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "exceptions:
  - control: XDR-WS-02
    justification: Sentinel onboarding is pending
    owner: a@contoso.com
    expires: 2030-01-01
  - control: XDR-CON-03
    scope: 00000000-0000-0000-0000-000000000000
    justification: another tenant entirely
    owner: b@contoso.com
    expires: 2030-01-01
",
    );
    let (code, r, _) = run_json("2026-11-27T10:00:00Z", &f, &[]);
    assert_eq!(code, 1);
    let w: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("XDR-WS-02 is pass"), "{}", w[0]);
    assert!(w[1].contains("matches no finding"), "{}", w[1]);
    assert_eq!(finding(&r, "XDR-CON-03")["status"], "fail");
}

#[test]
fn bad_exceptions_are_exit_3_with_location() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        // display name as scope
        ("exceptions:\n  - control: XDR-CON-03\n    scope: Contoso Sentinel\n    justification: long enough text\n    owner: x\n    expires: 2030-01-01\n", "exceptions.yaml:3:5", "never a display name"),
        // unknown control
        ("exceptions:\n  - control: XDR-NOPE-01\n    justification: long enough text\n    owner: x\n    expires: 2030-01-01\n", "exceptions.yaml:2:14", "unknown control ID `XDR-NOPE-01`"),
        // not a date
        ("exceptions:\n  - control: XDR-CON-03\n    justification: long enough text\n    owner: x\n    expires: 2030-02-30\n", "exceptions.yaml:5:5", "date"),
        // no expiry
        ("exceptions:\n  - control: XDR-CON-03\n    justification: long enough text\n    owner: x\n", "exceptions.yaml:2:5", "expires"),
        // duplicate
        ("exceptions:\n  - control: XDR-CON-03\n    justification: long enough text\n    owner: x\n    expires: 2030-01-01\n  - control: XDR-CON-03\n    justification: long enough text\n    owner: y\n    expires: 2031-01-01\n", "exceptions.yaml:6:5", "second exception"),
        // YAML syntax
        ("exceptions: [\n", "exceptions.yaml:", "YAML"),
    ];
    for (text, at, what) in cases {
        let f = write(d.path(), text);
        let out = xdrguard("2026-11-27T10:00:00Z")
            .args(["check", "--facts", MISCONFIGURED, "--exceptions", &f])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{text}\n{stderr}");
        assert!(stderr.contains(at), "{at} in {stderr}");
        assert!(stderr.contains(what), "{what} in {stderr}");
        // lint reports the same problem
        let out = xdrguard("2026-11-27T10:00:00Z")
            .args(["lint", &f])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "lint {text}");
    }
}

#[test]
fn lint_accepts_the_example_and_warns_about_expired_entries() {
    let out = xdrguard("2026-11-27T10:00:00Z")
        .args(["lint", "examples/exceptions.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "exceptions:\n  - control: XDR-CON-03\n    justification: long enough text\n    owner: x\n    expires: 2020-01-01\n",
    );
    let out = xdrguard("2026-11-27T10:00:00Z")
        .args(["lint", &f])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired on 2020-01-01"));
}

#[test]
fn a_bad_pinned_clock_is_bad_input() {
    let out = xdrguard("yesterday")
        .args(["check", "--facts", MISCONFIGURED])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
