//! A newcomer's first hour with their own input, run as they ran it: file mix-ups, a huge
//! one-line file, `--facts -`, several problems at once, `explain`, `controls`, `lint` and
//! `test` outside the repository (issue 13).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(rel: &str) -> String {
    root().join("examples").join(rel).display().to_string()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn xdrguard_in(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Out {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.current_dir(dir).env("NO_COLOR", "1").args(args);
    if let Some(input) = stdin {
        c.write_stdin(input);
    }
    let out = c.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A diagnostic's text as one line: miette wraps long messages at 100 columns.
fn unwrapped(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| l.trim_start().trim_start_matches(['│', '×']).trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn xdrguard(args: &[&str]) -> Out {
    xdrguard_in(&root(), args, None)
}

/// A JSON report of the ready tenant, written by xdrguard itself.
fn report(dir: &Path) -> String {
    let path = dir.join("report.json").display().to_string();
    let facts = example("snapshots/ready.json");
    let out = xdrguard(&["check", "--facts", &facts, "--format", "json", "-o", &path]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    path
}

#[test]
fn a_file_given_to_the_wrong_option_is_named_for_what_it_is() {
    let d = tempfile::tempdir().unwrap();
    let report = report(d.path());
    let facts = example("snapshots/ready.json");
    let exceptions = example("exceptions.yaml");
    let config = example("xdrguard.yaml");
    let cases: [(&[&str], &str); 5] = [
        (
            &["check", "--facts", &report],
            "this is a JSON report, not a facts document; use it with `--baseline` or `xdrguard diff`",
        ),
        (
            &["check", "--facts", &facts, "--config", &exceptions],
            "this is an exceptions file, not a config; use it with `--exceptions`",
        ),
        (
            &["check", "--facts", &facts, "--exceptions", &config],
            "this is a config, not an exceptions file; use it with `--config`",
        ),
        (
            &["check", "--facts", &facts, "--baseline", &facts],
            "this is a facts document, not a JSON report; use it with `check --facts`",
        ),
        (
            &["diff", &report, &exceptions],
            "this is an exceptions file, not a JSON report",
        ),
    ];
    for (args, want) in cases {
        let out = xdrguard(args);
        assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
        assert!(
            unwrapped(&out.stderr).contains(want),
            "{args:?}:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("does not match schemas/"),
            "{args:?}: schema errors instead of the hint:\n{}",
            out.stderr
        );
    }
}

#[test]
fn lint_of_a_facts_file_or_report_checks_it_as_what_it_is() {
    let d = tempfile::tempdir().unwrap();
    let report = report(d.path());
    let out = xdrguard(&["lint", &example("snapshots/ready.json"), &report]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2 file(s) checked"), "{}", out.stdout);
    // A broken facts document gets the facts document's diagnostics, not a policy's.
    let text = std::fs::read_to_string(example("snapshots/ready.json"))
        .unwrap()
        .replace("\"cloud\": \"public\"", "\"cloud\": \"moon\"");
    let bad = d.path().join("facts.json");
    std::fs::write(&bad, text).unwrap();
    let out = xdrguard(&["lint", &bad.display().to_string()]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("facts document does not match schemas/facts.schema.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_schema_error_in_a_minified_file_shows_a_snippet_not_the_whole_line() {
    let d = tempfile::tempdir().unwrap();
    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("snapshots/ready.json")).unwrap())
            .unwrap();
    // ~1.5 MB on one line (a long value before it), with the error far into it.
    facts["tool"]["version"] = "0.1.0-".repeat(250_000).into();
    facts["target"]["cloud"] = "moon".into();
    let path = d.path().join("min.json");
    let text = serde_json::to_string(&facts).unwrap();
    assert!(text.len() > 1_000_000 && !text.contains('\n'));
    std::fs::write(&path, &text).unwrap();
    let out = xdrguard(&["check", "--facts", &path.display().to_string()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("\"moon\""), "{}", out.stderr);
    assert!(
        out.stderr.len() < 4_000,
        "{} bytes of stderr for one schema error",
        out.stderr.len()
    );
    // The position is still that of the whole file.
    let col = text.find("\"moon\"").unwrap() + 1;
    assert!(
        out.stderr.contains(&format!("min.json:1:{col}")),
        "{}",
        out.stderr
    );
}

#[test]
fn facts_from_stdin() {
    let facts = std::fs::read(example("snapshots/misconfigured.json")).unwrap();
    let out = xdrguard_in(
        &root(),
        &["check", "--facts", "-", "--format", "json"],
        Some(facts),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 27);
    let out = xdrguard_in(
        &root(),
        &["check", "--facts", "-"],
        Some(b"{\"a\": ".to_vec()),
    );
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("<stdin>:1:"), "{}", out.stderr);
}

#[test]
fn several_problems_are_each_one_diagnostic_without_a_stray_error_line() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("c.yaml");
    std::fs::write(
        &f,
        "controls:\n  XDR-NOPE-01: {}\n  XDR-NOPE-02: {}\n  XDR-NOPE-03: {}\n",
    )
    .unwrap();
    let out = xdrguard(&["lint", &f.display().to_string()]);
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr.matches("unknown control").count(),
        3,
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.lines().any(|l| l.trim() == "Error:"),
        "{}",
        out.stderr
    );
}

#[test]
fn explain_reads_as_a_report_would() {
    let out = xdrguard(&["explain", "XDR-CON-03"]);
    assert_eq!(out.code, 0);
    let text = out.stdout;
    for internal in ["{%", "{{", "{si}", "{ws}"] {
        assert!(!text.contains(internal), "`{internal}` in:\n{text}");
    }
    assert!(
        text.contains("<workspace>/providers/Microsoft.SecurityInsights/alertRules"),
        "{text}"
    );
    assert!(text.contains("(for each offending item)"), "{text}");
    assert!(
        text.contains("https://management.azure.com<ID of an offending item>"),
        "{text}"
    );
}

#[test]
fn explain_says_a_control_is_disabled_and_suggests_ids() {
    let config = example("xdrguard.yaml");
    let out = xdrguard(&["explain", "XDR-SOL-02", "--config", &config]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("Disabled by") && out.stdout.contains("does not run"),
        "{}",
        out.stdout
    );
    assert!(!xdrguard(&["explain", "XDR-SOL-02"])
        .stdout
        .contains("Disabled"));
    let out = xdrguard(&["explain", "XDR-CON-3"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("did you mean XDR-CON-03?"),
        "{}",
        out.stderr
    );
    // The list of known IDs wraps between IDs, never inside one (`XDR-` / `ENT-01`).
    assert!(
        out.stderr.lines().all(|l| !l.trim_end().ends_with("XDR-")),
        "{}",
        out.stderr
    );
}

#[test]
fn controls_with_a_config_show_what_is_enabled() {
    let out = xdrguard(&["controls", "--config", &example("xdrguard.yaml")]);
    assert_eq!(out.code, 0);
    let row = |id: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(id))
            .unwrap()
            .to_string()
    };
    assert!(out.stdout.contains("Enabled"), "{}", out.stdout);
    assert!(row("XDR-SOL-02").contains(" no "), "{}", row("XDR-SOL-02"));
    assert!(row("XDR-SOL-01").contains(" yes "), "{}", row("XDR-SOL-01"));
    assert!(
        out.stdout.contains("1 disabled by the config"),
        "{}",
        out.stdout
    );
    let json = xdrguard(&[
        "controls",
        "--format",
        "json",
        "--config",
        &example("xdrguard.yaml"),
    ]);
    let list: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let sol02 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "XDR-SOL-02")
        .unwrap();
    assert_eq!(sol02["enabled"], false);
}

#[test]
fn lint_recurses_and_checks_each_kind() {
    let out = xdrguard(&["lint", "examples"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // the config, the exceptions, the custom policy and its tests, seven snapshots, the fleet file
    assert!(out.stdout.contains("12 file(s) checked"), "{}", out.stdout);
    assert!(
        out.stdout.contains("28 control(s)"),
        "the custom policy joined: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("skipped 13 file(s) that are none of xdrguard's kinds")
            && out.stderr.contains("github-actions.yml"),
        "{}",
        out.stderr
    );
}

/// A copy of the custom policy example, to break.
fn custom_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("p/tests")).unwrap();
    std::fs::create_dir_all(d.path().join("snapshots")).unwrap();
    std::fs::copy(
        example("snapshots/ready.json"),
        d.path().join("snapshots/ready.json"),
    )
    .unwrap();
    for f in ["ACME-CON-01.yaml", "tests/ACME-CON-01.yaml"] {
        std::fs::copy(
            example(&format!("custom-policies/{f}")),
            d.path().join("p").join(f),
        )
        .unwrap();
    }
    // `base: ../../snapshots/ready.json` from p/tests is the copy's snapshots/ready.json.
    d
}

#[test]
fn lint_rejects_a_case_of_an_unknown_control_and_takes_policies() {
    let d = custom_copy();
    let tests = d.path().join("p/tests");
    let tests_s = tests.display().to_string();
    let policies = d.path().join("p").display().to_string();
    // The tests alone: their control is not in the shipped catalog.
    let out = xdrguard(&["lint", &tests_s]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown control `ACME-CON-01`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--policies"), "{}", out.stderr);
    // With --policies the catalog has it.
    let out = xdrguard(&["lint", &tests_s, "--policies", &policies]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A typo of a known ID is named.
    let f = tests.join("ACME-CON-01.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replacen("control: ACME-CON-01", "control: ACME-CON-1", 1),
    )
    .unwrap();
    let out = xdrguard(&["lint", &policies]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("did you mean ACME-CON-01?"),
        "{}",
        out.stderr
    );
}

#[test]
fn lint_says_did_you_mean_for_a_mistyped_facts_section() {
    let d = custom_copy();
    let f = d.path().join("p/ACME-CON-01.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace("  facts.data_connectors\n", "  facts.data_conectors\n"),
    )
    .unwrap();
    let out = xdrguard(&["lint", &f.display().to_string()]);
    assert_eq!(out.code, 3);
    assert!(
        unwrapped(&out.stderr)
            .contains("expression reads `facts.data_conectors`, which is not a facts section")
            && out.stderr.contains("did you mean `data_connectors`?"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("add `data_conectors` to `reads`"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_without_a_folder_works_outside_the_repository() {
    let d = tempfile::tempdir().unwrap();
    let out = xdrguard_in(d.path(), &["test"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The same cases as the repository's tests/policies, all passing.
    let from_disk = xdrguard(&["test", "tests/policies"]);
    assert!(
        from_disk.stdout.ends_with(" passed, 0 failed\n"),
        "{}",
        from_disk.stdout
    );
    assert_eq!(out.stdout, from_disk.stdout);
    let out = xdrguard_in(d.path(), &["test", "--control", "XDR-CON-03"], None);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains(" passed, 0 failed") && !out.stdout.starts_with("0 passed"),
        "{}",
        out.stdout
    );
}

/// Signed in as a service principal without `--operator`, the operator's calls cannot be
/// made; their section errors name the call readably (placeholders, not
/// `%257Boperator%2520id%257D`).
#[tokio::test]
async fn unmade_calls_name_their_placeholder_readably() {
    use crate::fake_microsoft::{scenarios, Fake, Reply};
    let mut t = scenarios::Tenant::ready();
    t.get(
        scenarios::paths::me(),
        vec![Reply::error(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )],
    );
    let fake = Fake::start(&t).await;
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("xdrguard"));
    fake.point(&mut c);
    let out = c
        .args(["collect", "--workspace", &scenarios::workspace_id()])
        .output()
        .unwrap();
    let facts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let call = |s: &str| {
        facts["sections"][s]["error"]["call"]
            .as_str()
            .unwrap_or_else(|| panic!("{s}: {}", facts["sections"][s]))
            .to_string()
    };
    // Role assignments are read by role (group-held roles count), then narrowed to the operator.
    assert_eq!(
        call("directory_role_assignments"),
        "GET /v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '…' (in $batch)"
    );
    assert_eq!(
        call("operator_groups"),
        "GET /v1.0/me/transitiveMemberOf/microsoft.graph.group?$count=true&$select=id,isAssignableToRole (in $batch)"
    );
    let sections = facts["sections"].as_object().unwrap();
    for (name, s) in sections {
        if let Some(c) = s["error"]["call"].as_str() {
            assert!(!c.contains("%25") && !c.contains("%7B"), "{name}: {c}");
        }
    }
}
