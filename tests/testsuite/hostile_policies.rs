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

/// Policy limits (#12 item 6): expressions too big or too deep for the parser are refused
/// before it sees them, and a runaway evaluation ends as its control's `error`, naming the
/// limit and its flag — never a crash (an abort would show as no exit code at all).
mod limits {
    use super::*;

    /// A custom policy in `dir` whose `violations` is `expr`.
    fn cel_policy(dir: &Path, expr: &str) {
        let indented: Vec<String> = expr.lines().map(|l| format!("  {l}")).collect();
        std::fs::write(
            dir.join("ACME-HOST-02.yaml"),
            format!(
                r#"id: ACME-HOST-02
title: A test control
stage: connector
severity: low
description: Runs a hostile expression.
rationale: Exercises the policy limits.
reads: [data_connectors]
violations: |
{}
messages:
  pass: fine
  fail: bad
remediation:
  summary: Look at it.
  steps:
    - note: none
  docs: [https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender]
"#,
                indented.join("\n")
            ),
        )
        .unwrap();
    }

    /// `xdrguard <args>` over a policy folder holding only `expr`: (exit code, stdout,
    /// stderr), within `secs` seconds.
    fn run(expr: &str, args: &[&str], secs: u64) -> (Option<i32>, String, String) {
        let dir = tempfile::tempdir().unwrap();
        cel_policy(dir.path(), expr);
        let started = std::time::Instant::now();
        let mut cmd = xdrguard();
        cmd.args(args);
        if args[0] == "lint" {
            cmd.args(["--no-builtin"]).arg(dir.path());
        } else {
            cmd.args([
                "--facts",
                "examples/snapshots/misconfigured.json",
                "--no-builtin",
                "--format",
                "json",
                "--policies",
            ])
            .arg(dir.path());
        }
        let out = cmd.output().unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(secs), "took {took:?}");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Both `lint` and `check` refuse `expr` with exit 3, naming `flag`.
    fn refused(expr: &str, extra: &[&str], flag: &str) {
        for cmd in ["lint", "check"] {
            let args: Vec<&str> = [cmd].iter().chain(extra).copied().collect();
            let (code, _, stderr) = run(expr, &args, 60);
            assert_eq!(code, Some(3), "{cmd}: {stderr}");
            assert!(
                stderr.contains("CEL expression over a policy limit"),
                "{stderr}"
            );
            assert!(stderr.contains(flag), "{cmd}: {stderr}");
            assert!(stderr.contains("ACME-HOST-02.yaml:9:3"), "{stderr}");
        }
    }

    /// `check` runs `expr` to the end: the finding of the hostile control.
    fn finding(expr: &str, extra: &[&str]) -> (Option<i32>, Value) {
        let args: Vec<&str> = ["check"].iter().chain(extra).copied().collect();
        let (code, stdout, stderr) = run(expr, &args, 90);
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        (code, report["results"][0].clone())
    }

    /// The CEL list literal `[0, 1, …, n - 1]`.
    fn numbers(n: usize) -> String {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("[{}]", items.join(", "))
    }

    /// The finding is `error` because the evaluation spent `limit` units.
    fn over_budget(code: Option<i32>, finding: &Value, limit: &str) {
        assert_eq!(code, Some(2), "{finding}");
        assert_eq!(finding["status"], "error", "{finding}");
        let reason = finding["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("evaluation cost limit of {limit} units exceeded"))
                && reason.contains("--eval-cost-limit"),
            "{reason}"
        );
    }

    #[test]
    fn every_command_that_loads_policies_takes_the_limit_flags() {
        for cmd in ["check", "audit", "lint", "test"] {
            let out = xdrguard().args([cmd, "--help"]).output().unwrap();
            let help = String::from_utf8_lossy(&out.stdout);
            for flag in [
                "--max-expression-bytes",
                "--max-expression-depth",
                "--eval-cost-limit",
            ] {
                assert!(help.contains(flag), "{cmd} lacks {flag}");
            }
        }
    }

    /// Refused for its size; allowed more bytes, still refused for its depth.
    fn too_big_then_too_deep(expr: &str) {
        refused(expr, &[], "--max-expression-bytes");
        let more_bytes = ["--max-expression-bytes", "100000"];
        refused(expr, &more_bytes, "--max-expression-depth");
    }

    #[test]
    fn a_ten_thousand_term_expression_is_refused_naming_the_limit() {
        // Each `+` is one more level of the syntax tree.
        too_big_then_too_deep(&format!("[{}]", vec!["1"; 10_000].join(" + ")));
    }

    #[test]
    fn a_ten_thousand_member_chain_is_refused_naming_the_limit() {
        too_big_then_too_deep(&format!("facts.data_connectors{}", ".x".repeat(10_000)));
    }

    #[test]
    fn deep_parentheses_are_refused_and_the_deepest_admitted_run() {
        let parens = |n: usize| format!("{}[]{}", "(".repeat(n), ")".repeat(n));
        refused(&parens(5_000), &[], "--max-expression-depth");
        // As deep as the default admits (128 levels: 126 parentheses, the list, the root),
        // and as deep as the highest limit admits: compiled and evaluated, no stack overflow.
        let (code, f) = finding(&parens(126), &[]);
        assert_eq!((code, f["status"].as_str()), (Some(0), Some("pass")), "{f}");
        refused(&parens(127), &[], "--max-expression-depth");
        let (code, f) = finding(&parens(998), &["--max-expression-depth", "1000"]);
        assert_eq!((code, f["status"].as_str()), (Some(0), Some("pass")), "{f}");
        let calls = format!(
            "{}1{} == '1' ? [] : []",
            "string(".repeat(900),
            ")".repeat(900)
        );
        let (code, f) = finding(&calls, &["--max-expression-depth", "1000"]);
        assert_eq!((code, f["status"].as_str()), (Some(0), Some("pass")), "{f}");
        let (code, _, stderr) = run(&parens(10), &["lint", "--max-expression-depth", "1001"], 30);
        assert_eq!(code, Some(3), "{stderr}");
    }

    #[test]
    fn nested_exists_ends_as_an_error_naming_the_cost_limit() {
        // 200^4 = 1.6 billion steps if run to the end. `exists` may stop at its first
        // element, so no static estimate can refuse it: the budget ends it.
        let list = numbers(200);
        let expr = format!(
            "{list}.exists(a, {list}.exists(b, {list}.exists(c, {list}.exists(d, a + b + c + d < 0)))) ? [] : []"
        );
        let (code, _, stderr) = run(&expr, &["lint"], 30);
        assert_eq!(code, Some(0), "{stderr}");
        let (code, f) = finding(&expr, &["--eval-cost-limit", "2000000"]);
        over_budget(code, &f, "2000000");
    }

    #[test]
    fn a_doubling_string_ends_as_an_error_naming_the_cost_limit() {
        // Each `replace` makes the text 4 times longer: 4^20 bytes if nothing stopped it.
        // What a replacement builds is charged before it is built.
        let expr = format!("[{{'id': 'ab'{}}}]", ".replace('a', 'aaaa')".repeat(20));
        let (code, f) = finding(&expr, &["--eval-cost-limit", "1000000"]);
        over_budget(code, &f, "1000000");
        // The same through `+` inside a comprehension (doubling per level, no function).
        let mut doubled = "['ab']".to_string();
        for _ in 0..25 {
            doubled = format!("[{doubled}.map(s, s + s)[0]]");
        }
        let (code, f) = finding(
            &format!("{doubled}.map(s, {{'id': s}})"),
            &["--eval-cost-limit", "1000000"],
        );
        over_budget(code, &f, "1000000");
    }

    #[test]
    fn map_growth_is_refused_by_lint_or_ends_as_an_error() {
        let list = numbers(3000);
        // Nine million entries, and the text alone says so: refused before it runs.
        let static_growth =
            format!("[{list}.map(a, {list}.map(b, {{string(a): b}}))].map(m, {{'id': 'x'}})");
        refused(
            &static_growth,
            &["--max-expression-bytes", "100000"],
            "--eval-cost-limit",
        );
        // Behind an `exists`, which may stop early: the budget ends it at run time.
        let hidden =
            format!("{list}.exists(a, size({list}.map(b, {{string(a): [a, b]}})) < 0) ? [] : []");
        let (code, f) = finding(
            &hidden,
            &[
                "--max-expression-bytes",
                "100000",
                "--eval-cost-limit",
                "2000000",
            ],
        );
        over_budget(code, &f, "2000000");
    }

    #[test]
    fn the_default_budget_ends_a_runaway_in_bounded_time() {
        // The default limit, end to end (debug build: a few seconds).
        let list = numbers(100);
        let expr = format!(
            "{list}.exists(a, {list}.exists(b, {list}.exists(c, {list}.exists(d, {list}.exists(e, false))))) ? [] : []"
        );
        let (code, f) = finding(&expr, &[]);
        over_budget(
            code,
            &f,
            &xdrguard::policy::limits::EVAL_COST_LIMIT.to_string(),
        );
    }
}
