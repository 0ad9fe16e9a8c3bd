//! Bad input of every kind gets a clear diagnostic naming the file (and line and column
//! where there is one) and exit code 3 — never a panic.

use assert_cmd::Command;
use std::path::Path;

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Run, expect exit 3, return stderr; a panic would show as exit 101.
fn expect_bad_input(args: &[&str]) -> String {
    let out = xdrguard().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(3),
        "args {args:?}\nstderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

const GOOD_POLICY: &str = "id: ACME-T-01
title: Test control
stage: connector
severity: low
description: d
rationale: r
reads: [alert_rules]
violations: |
  facts.alert_rules.filter(r, r.enabled).map(r, {'id': r.id})
messages:
  pass: ok
  fail: '{{ count }} bad'
remediation:
  summary: s
  steps:
    - note: n
  docs: [https://learn.microsoft.com/]
";

#[test]
fn malformed_yaml_policy_names_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "p.yaml", "id: [unclosed\ntitle: x\n");
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("p.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn schema_violation_points_at_the_node() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD_POLICY.replace("severity: low", "severity: urgent");
    let f = write(d.path(), "p.yaml", &text);
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("p.yaml:4:11"), "{err}");
    assert!(err.contains("urgent"), "{err}");
}

#[test]
fn expression_that_does_not_compile() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD_POLICY.replace("r.enabled)", "r.enabled &&)");
    let f = write(d.path(), "p.yaml", &text);
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("CEL expression does not compile"), "{err}");
    assert!(err.contains("p.yaml:9:"), "{err}");
}

#[test]
fn undeclared_read_and_unknown_dependency() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD_POLICY.replace("facts.alert_rules.filter", "facts.tables.filter");
    let f = write(d.path(), "p.yaml", &text);
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("p.yaml:9:3"), "{err}");
    assert!(err.contains("expression reads `facts.tables`"), "{err}");
    let text = GOOD_POLICY.replace(
        "reads: [alert_rules]",
        "reads: [alert_rules]\ndepends_on: [ACME-NOPE-01]",
    );
    let f = write(d.path(), "q.yaml", &text);
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("q.yaml:8:14"), "{err}");
    assert!(err.contains("unknown control `ACME-NOPE-01`"), "{err}");
}

#[test]
fn param_default_of_wrong_type() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD_POLICY.replace(
        "reads: [alert_rules]",
        "reads: [alert_rules]\nparams:\n  max_age:\n    type: duration\n    default: soon\n    description: x",
    );
    let f = write(d.path(), "p.yaml", &text);
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("p.yaml:11:14"), "{err}");
}

#[test]
fn yaml_alias_bomb() {
    let d = tempfile::tempdir().unwrap();
    let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        y.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let f = write(d.path(), "bomb.yaml", &y);
    expect_bad_input(&["lint", &f]);
}

#[test]
fn deeply_nested_input() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "deep.yaml", &"[".repeat(1_000_000));
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("nesting deeper"), "{err}");
    let mut block = String::new();
    for i in 0..500 {
        block.push_str(&" ".repeat(i));
        block.push_str("a:\n");
    }
    let f = write(d.path(), "deep-block.yaml", &block);
    expect_bad_input(&["lint", &f]);
    let f = write(
        d.path(),
        "deep.json",
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    expect_bad_input(&["check", "--facts", &f]);
}

#[test]
fn facts_file_over_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.json");
    let f = std::fs::File::create(&p).unwrap();
    // Over the 256 MiB facts limit (sparse: nothing is written).
    f.set_len(300 * 1024 * 1024).unwrap();
    let err = expect_bad_input(&["check", "--facts", p.to_str().unwrap()]);
    assert!(err.contains("at most"), "{err}");
}

#[test]
fn facts_of_the_wrong_shape() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "f.json", "{\n  \"schema_version\": 1,\n  \"collected_at\": \"yesterday\",\n  \"target\": {\"workspace_id\": \"/x\"},\n  \"sections\": {\"tables\": {\"data\": 5}}\n}\n");
    let err = expect_bad_input(&["check", "--facts", &f]);
    assert!(err.contains("f.json:3:"), "{err}");
    assert!(err.contains("facts.schema.json"), "{err}");
    let f = write(d.path(), "g.json", "{\"schema_version\": 1,");
    let err = expect_bad_input(&["check", "--facts", &f]);
    assert!(err.contains("not valid JSON"), "{err}");
    let f = write(d.path(), "h.json", "[1, 2, 3]");
    expect_bad_input(&["check", "--facts", &f]);
    let f = write(d.path(), "bin.json", "\u{0}\u{1}\u{2}");
    expect_bad_input(&["check", "--facts", &f]);
}

#[test]
fn unknown_control_and_param_in_config() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "c.yaml", "controls:\n  XDR-NOPE-99:\n    severity: high\n  XDR-CON-03:\n    params:\n      productz: []\n");
    let err = expect_bad_input(&["controls", "--config", &f]);
    assert!(err.contains("c.yaml:2:3"), "{err}");
    assert!(err.contains("XDR-NOPE-99"), "{err}");
    assert!(err.contains("productz"), "{err}");
    let f = write(d.path(), "c2.yaml", "controls: {}\nextra: 1\n");
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("c2.yaml:2:1"), "{err}");
}

#[test]
fn usage_errors_exit_3_and_help_exits_0() {
    expect_bad_input(&["check"]);
    expect_bad_input(&["check", "--facts", "x.json", "--fail-on", "urgent"]);
    expect_bad_input(&["frobnicate"]);
    expect_bad_input(&["check", "--facts", "/nonexistent/facts.json"]);
    expect_bad_input(&["explain", "XDR-NOPE-01"]);
    let out = xdrguard().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Exit codes"), "{help}");
}

/// A named pipe at `dir/name` fed `text` by a thread (a pipe reports size 0, so only a read
/// with a limit can refuse one that is too large).
#[cfg(unix)]
fn fifo(dir: &Path, name: &str, text: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    let p = dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let p = p.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
            // The reader stops early on an oversized input: a broken pipe is expected.
            let _ = f.write_all(&text);
        })
    };
    (p.display().to_string(), writer)
}

#[cfg(unix)]
#[test]
fn config_from_a_pipe_is_read_and_checked() {
    let d = tempfile::tempdir().unwrap();
    let (p, writer) = fifo(
        d.path(),
        "c.yaml",
        b"controls:\n  XDR-NOPE-99:\n    severity: high\n".to_vec(),
    );
    let err = expect_bad_input(&["controls", "--config", &p]);
    writer.join().unwrap();
    assert!(err.contains("c.yaml:2:3"), "{err}");
    assert!(err.contains("unknown control ID `XDR-NOPE-99`"), "{err}");
}

#[cfg(unix)]
#[test]
fn an_endless_pipe_is_refused_at_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let mut text = b"controls: {}\n".to_vec();
    text.resize(17 * 1024 * 1024, b'#');
    let (p, writer) = fifo(d.path(), "big.yaml", text);
    let err = expect_bad_input(&["controls", "--config", &p]);
    writer.join().unwrap();
    assert!(err.contains("more than 16777216 bytes"), "{err}");
    assert!(err.contains("at most"), "{err}");
}

#[test]
fn every_problem_of_an_exceptions_file_is_named_at_once() {
    let d = tempfile::tempdir().unwrap();
    let entry = "  - control: XDR-NOPE-99\n    justification: accepted by the CISO\n    owner: soc\n    expires: 2026-12-31\n";
    let f = write(d.path(), "x.yaml", &format!("exceptions:\n{entry}{entry}"));
    let err = expect_bad_input(&["lint", &f]);
    assert!(err.contains("x.yaml:2:14"), "{err}");
    assert!(err.contains("unknown control ID `XDR-NOPE-99`"), "{err}");
    assert!(err.contains("x.yaml:6:5"), "{err}");
    assert!(err.contains("a second exception for XDR-NOPE-99"), "{err}");
    assert!(err.contains("lint: 3 problem(s) in 1 file(s)"), "{err}");
}
