//! Hostile values and hostile policies: a rule ID an insider chose cannot run code when its
//! remediation command is pasted, a command step that does not quote is rejected by `lint`,
//! and a runaway template ends with an error naming its limit.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use xdrguard::policy::template::{FUEL, TEMPLATE_ERROR};

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1").timeout(Duration::from_secs(120));
    c
}

/// Replace `from` by `to` in every string of a JSON value.
fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, from, to)),
        Value::Object(m) => m.values_mut().for_each(|i| replace_strings(i, from, to)),
        _ => {}
    }
}

/// The misconfigured example tenant with `(from, to)` replacements, written into `dir`.
fn facts_with(dir: &Path, replacements: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string("examples/snapshots/misconfigured.json").unwrap();
    let mut facts: Value = serde_json::from_str(&text).unwrap();
    for (from, to) in replacements {
        replace_strings(&mut facts, from, to);
    }
    let path = dir.join("facts.json");
    std::fs::write(&path, serde_json::to_string(&facts).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

/// `check --format json` over `facts`: the report.
fn check(facts: &str, extra: &[&str]) -> Value {
    let out = xdrguard()
        .args(["check", "--facts", facts, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The rendered steps of `kind` in control `id`'s finding.
fn steps(report: &Value, id: &str, kind: &str) -> Vec<String> {
    let finding = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["control"] == id)
        .unwrap_or_else(|| panic!("no finding for {id}"));
    finding["remediation"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect()
}

/// Run a rendered `cli` step in POSIX sh inside `dir`, with `az` and `jq` replaced by
/// harmless functions: `az` writes each argument it receives as one `<arg>` line.
#[cfg(unix)]
fn run_pasted(dir: &Path, step: &str) -> Vec<String> {
    let script = format!(
        "az() {{ for a in \"$@\"; do printf '<%s>\\n' \"$a\"; done >> args.txt; }}\njq() {{ cat >/dev/null; }}\n{step}\n"
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{step}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = std::fs::read_to_string(dir.join("args.txt")).unwrap_or_default();
    std::fs::remove_file(dir.join("args.txt")).ok();
    args.lines().map(String::from).collect()
}

const RULE: &str = "2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46";
const CONNECTOR: &str = "06b3ccb8-1384-4bcc-aec7-852f6d57161b";
const WORKSPACE: &str = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";

#[cfg(unix)]
#[test]
fn hostile_ids_reach_the_pasted_command_as_one_literal_argument() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let hostile = format!(
        "{RULE}$(touch {p})`touch {p}`'\"|touch {p};x",
        p = pwned.display()
    );
    let hostile_connector = format!("{CONNECTOR}' ; touch {p} ; '", p = pwned.display());
    let facts = facts_with(
        dir.path(),
        &[(RULE, &hostile), (CONNECTOR, &hostile_connector)],
    );
    let report = check(&facts, &[]);

    // XDR-CON-03: get, then put the rule; both URLs carry the hostile ID as one word.
    let con03 = steps(&report, "XDR-CON-03", "cli");
    assert_eq!(con03.len(), 1, "{con03:?}");
    let url = format!(
        "<https://management.azure.com{WORKSPACE}/providers/Microsoft.SecurityInsights/alertRules/{hostile}?api-version=2025-12-01>"
    );
    let args = run_pasted(dir.path(), &con03[0]);
    assert_eq!(
        args.iter().filter(|a| **a == url).count(),
        2,
        "{}\n{args:#?}",
        con03[0]
    );
    assert!(args.contains(&"<--body>".to_string()), "{args:#?}");

    // XDR-CON-04: the delete of the duplicate connector.
    let con04 = steps(&report, "XDR-CON-04", "cli");
    let args = run_pasted(dir.path(), &con04[0]);
    let url = format!(
        "<https://management.azure.com{WORKSPACE}/providers/Microsoft.SecurityInsights/dataConnectors/{hostile_connector}?api-version=2025-10-01-preview>"
    );
    assert!(args.contains(&url), "{}\n{args:#?}", con04[0]);
    assert!(args.contains(&"<delete>".to_string()), "{args:#?}");

    // Every other command step of the report runs without executing anything either.
    for r in report["results"].as_array().unwrap() {
        let id = r["control"].as_str().unwrap();
        for step in steps(&report, id, "cli") {
            assert!(!step.contains(TEMPLATE_ERROR), "{id}: {step}");
            run_pasted(dir.path(), &step);
        }
    }
    assert!(!pwned.exists(), "a pasted command ran the hostile value");
}

#[test]
fn values_that_cannot_be_quoted_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (hostile, why) in [
        (format!("{RULE}\ntouch pwned"), "a newline (U+000A)"),
        (format!("{RULE}\u{1b}]8;;https://evil\u{7}"), "ESC (U+001B)"),
    ] {
        let facts = facts_with(dir.path(), &[(RULE, &hostile)]);
        let report = check(&facts, &[]);
        let con03 = steps(&report, "XDR-CON-03", "cli");
        assert!(con03[0].contains(TEMPLATE_ERROR), "{}", con03[0]);
        assert!(con03[0].contains(why), "{}", con03[0]);
        assert!(con03[0].contains("cannot be quoted safely"), "{}", con03[0]);
        assert!(!con03[0].contains("touch pwned"), "{}", con03[0]);
        assert!(!con03[0].contains('\u{1b}'), "{}", con03[0]);
    }
}

/// A custom policy whose `cli` step is `cli` (given) with a note `note`.
fn policy(cli: &str, note: &str) -> String {
    format!(
        r#"id: ACME-HOST-01
title: A test control
stage: connector
severity: low
description: Lists every data connector.
rationale: Exercises remediation templates.
reads: [data_connectors]
violations: "facts.data_connectors.map(c, {{'id': c.id}})"
messages:
  pass: fine
  fail: "{{{{ count }}}} connector(s)"
remediation:
  summary: Look at them.
  steps:
    - cli: {cli}
    - note: "{note}"
  docs: [https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender]
"#
    )
}

#[test]
fn lint_rejects_a_command_step_that_does_not_quote_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ACME-HOST-01.yaml");
    let bad = r#"az rest --method get --url "https://management.azure.com{{ violations[0].id }}?api-version=2025-10-01-preview""#;
    let text = policy(bad, "none");
    std::fs::write(&file, &text).unwrap();
    let (code, stderr) = lint(dir.path());
    assert_eq!(code, Some(3), "{stderr}");
    let (line, text_line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("- cli:"))
        .unwrap();
    let col = text_line.find("violations[0].id").unwrap() + 1;
    assert!(
        stderr.contains(&format!("ACME-HOST-01.yaml:{}:{col}", line + 1)),
        "{stderr}"
    );
    assert!(stderr.contains("must end in `| sh`"), "{stderr}");
    let errors = xdrguard::policy::load_policy_file(xdrguard::input::diagnostic::SourceFile::new(
        "ACME-HOST-01.yaml",
        text.as_str(),
    ))
    .unwrap_err();
    let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
    assert_eq!(codes, ["xdrguard::policy::unquoted_value"]);

    // The same step with the value quoted as one word passes.
    let good = r#"az rest --method get --url {{ ("https://management.azure.com" ~ violations[0].id ~ "?api-version=2025-10-01-preview") | sh }}"#;
    std::fs::write(&file, policy(good, "none")).unwrap();
    let (code, stderr) = lint(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
}

/// `lint --no-builtin dir`: (exit code, stderr).
fn lint(dir: &Path) -> (Option<i32>, String) {
    let out = xdrguard()
        .args(["lint", "--no-builtin"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nested_range_loops_end_with_the_fuel_error() {
    let dir = tempfile::tempdir().unwrap();
    let runaway =
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}";
    std::fs::write(
        dir.path().join("ACME-HOST-01.yaml"),
        policy("az sentinel list", runaway),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let report = check(
        "examples/snapshots/misconfigured.json",
        &["--policies", dir.path().to_str().unwrap()],
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    let note = &steps(&report, "ACME-HOST-01", "note")[0];
    assert!(note.contains(TEMPLATE_ERROR), "{note}");
    assert!(note.contains(&format!("{FUEL} fuel")), "{note}");
}
