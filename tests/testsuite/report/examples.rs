//! Every format over every example snapshot, through the CLI, as golden files (insta). The
//! clock is pinned with the hidden `XDRGUARD_NOW`, and the tool version is redacted, so the
//! goldens change only when the output really changes.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const NOW: &str = "2026-11-27T10:00:00Z";
const SNAPSHOTS: [&str; 4] = ["ready", "not-ready", "misconfigured", "partial-access"];
const FORMATS: [&str; 7] = ["table", "json", "sarif", "junit", "markdown", "html", "csv"];

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    // The table follows COLUMNS; the goldens are at the default width.
    c.env("NO_COLOR", "1")
        .env("XDRGUARD_NOW", NOW)
        .env_remove("COLUMNS");
    c
}

fn facts(name: &str) -> String {
    format!("examples/snapshots/{name}.json")
}

/// Run `check` and return (exit code, stdout with the tool version redacted).
fn check(args: &[&str]) -> (i32, String) {
    let out = xdrguard().arg("check").args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap(),
        stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"),
    )
}

#[test]
fn golden_every_format_over_every_example() {
    for snapshot in SNAPSHOTS {
        for format in FORMATS {
            let (code, out) = check(&["--facts", &facts(snapshot), "--format", format]);
            let expected = match snapshot {
                "ready" => 0,
                "partial-access" => 2,
                _ => 1,
            };
            assert_eq!(code, expected, "{snapshot} {format}");
            insta::assert_snapshot!(format!("{snapshot}.{format}"), out);
        }
    }
}

#[test]
fn one_run_writes_every_report_and_quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--facts".to_string(),
        facts("misconfigured"),
        "--quiet".to_string(),
    ];
    for f in FORMATS {
        args.push("--report".into());
        args.push(format!(
            "{f}={}",
            dir.path().join(format!("r.{f}")).display()
        ));
    }
    let out = xdrguard().arg("check").args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "--quiet printed to stdout");
    for f in FORMATS {
        let written = std::fs::read_to_string(dir.path().join(format!("r.{f}"))).unwrap();
        let (_, alone) = check(&["--facts", &facts("misconfigured"), "--format", f]);
        let written = written.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
        assert_eq!(written, alone, "--report {f}=… differs from --format {f}");
    }
}

#[test]
fn the_table_still_goes_to_stdout_with_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("x.sarif");
    let (code, out) = check(&[
        "--facts",
        &facts("not-ready"),
        "--report",
        &format!("sarif={}", sarif.display()),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("verdict: violations"), "{out}");
    assert!(sarif.is_file());
}

#[test]
fn bad_report_specs_are_bad_input() {
    for spec in [
        "sarif",
        "pdf=x.pdf",
        "sarif=",
        "json=/nonexistent-dir/x.json",
    ] {
        let out = xdrguard()
            .args(["check", "--facts", &facts("ready"), "--report", spec])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{spec}");
    }
}

#[test]
fn outputs_of_the_examples_validate_against_their_schemas() {
    let sarif_schema: Value =
        serde_json::from_str(include_str!("../../schemas/sarif-2.1.0.json")).unwrap();
    let sarif = jsonschema::options()
        .should_validate_formats(true)
        .build(&sarif_schema)
        .unwrap();
    for snapshot in SNAPSHOTS {
        let (_, json) = check(&["--facts", &facts(snapshot), "--format", "json"]);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            xdrguard::input::schema::validate(xdrguard::input::schema::Kind::Report, &v),
            vec![],
            "{snapshot}"
        );
        let (_, text) = check(&["--facts", &facts(snapshot), "--format", "sarif"]);
        let v: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = sarif.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{snapshot}: {errors:#?}");
        let (_, xml) = check(&["--facts", &facts(snapshot), "--format", "junit"]);
        quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses");
    }
    assert!(Path::new("tests/schemas/sarif-2.1.0.json").is_file());
}
