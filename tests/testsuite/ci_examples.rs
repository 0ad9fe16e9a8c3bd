//! The CI examples in `examples/ci/` cannot rot: every `xdrguard` command they run is
//! extracted from the YAML and run here against the example snapshots (an `audit` becomes a
//! `check --facts <snapshot>` with the same report options; once `audit` exists its exact
//! arguments must also parse), and the files the later steps consume (SARIF upload, JUnit
//! publishing, drift) must be where those steps look for them.

use assert_cmd::Command;
use clap::{CommandFactory, Parser};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use xdrguard::cli::Cli;

const NOW: &str = "2026-11-27T10:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn load(name: &str) -> Value {
    let path = root().join("examples/ci").join(name);
    let file = xdrguard::input::diagnostic::SourceFile::read(&path).unwrap();
    xdrguard::input::yaml::parse(file)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .value
}

/// Every shell script in the document (`run`, `script`, `inlineScript`).
pub(crate) fn scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("run" | "script" | "inlineScript", Value::String(s)) => out.push(s.clone()),
                    _ => scripts(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| scripts(v, out)),
        _ => {}
    }
}

/// Expand `$VAR`, `${VAR}` and Azure DevOps `$(Macro)` from `vars`; unknown names panic.
fn expand(s: &str, vars: &HashMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(a) = after.strip_prefix('{') {
            let end = a.find('}').expect("closing }");
            (&a[..end], end + 2)
        } else if let Some(a) = after.strip_prefix('(') {
            let end = a.find(')').expect("closing )");
            (&a[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let value = vars
            .get(name)
            .unwrap_or_else(|| panic!("the example uses `{name}`, unknown to this test"));
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The `xdrguard …` commands of a script, as argument lists (continuations joined, quotes
/// removed, variables expanded, stopping at `||`, `&&`, `;`, `|` or a redirection).
pub(crate) fn commands(script: &str, vars: &HashMap<&str, String>) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = line.trim();
        if !line.starts_with("xdrguard ") {
            continue;
        }
        let mut args = Vec::new();
        let mut cur = String::new();
        let mut in_word = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        cur.push(c);
                    }
                }
                '"' => {
                    in_word = true;
                    let mut q = String::new();
                    for c in chars.by_ref() {
                        if c == '"' {
                            break;
                        }
                        q.push(c);
                    }
                    cur.push_str(&expand(&q, vars));
                }
                ' ' | '\t' => {
                    if in_word {
                        args.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                '|' | '&' | ';' | '>' | '<' => break,
                '$' => {
                    in_word = true;
                    let mut word = String::from("$");
                    while let Some(&n) = chars.peek() {
                        if n == ' ' || n == '"' || n == '\'' {
                            break;
                        }
                        word.push(n);
                        chars.next();
                    }
                    cur.push_str(&expand(&word, vars));
                }
                c => {
                    in_word = true;
                    cur.push(c);
                }
            }
        }
        if in_word {
            args.push(cur);
        }
        args.remove(0); // `xdrguard`
        out.push(args);
    }
    out
}

/// Whether `check` knows the option `flag`.
fn check_knows(flag: &str) -> bool {
    let name = flag.split('=').next().unwrap();
    match Cli::try_parse_from(["xdrguard", "check", "--facts", "f.json", name]) {
        Ok(_) => true,
        Err(e) => e.kind() != clap::error::ErrorKind::UnknownArgument,
    }
}

/// `audit …` → `check --facts <facts> …` keeping only the options `check` has (the report,
/// exceptions, baseline and gate options); `audit`'s exact arguments must parse if it exists.
fn as_check(args: &[String], facts: &Path) -> Vec<String> {
    if args[0] != "audit" {
        return args.to_vec();
    }
    if Cli::command().find_subcommand("audit").is_some() {
        let full = std::iter::once("xdrguard".to_string()).chain(args.iter().cloned());
        if let Err(e) = Cli::try_parse_from(full) {
            panic!("the example's audit command does not parse: {e}");
        }
    }
    let mut out = vec![
        "check".to_string(),
        "--facts".to_string(),
        facts.display().to_string(),
    ];
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        let takes_next = !a.contains('=') && args.get(i + 1).is_some_and(|n| !n.starts_with('-'));
        if a.starts_with("--") && !check_knows(a) {
            i += if takes_next { 2 } else { 1 };
            continue;
        }
        out.push(a.clone());
        i += 1;
    }
    out
}

/// A scratch checkout: the example exceptions file where the workflows expect it.
fn workdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join(".xdrguard")).unwrap();
    std::fs::copy(
        root().join("examples/exceptions.yaml"),
        d.path().join(".xdrguard/exceptions.yaml"),
    )
    .unwrap();
    d
}

fn snapshot(name: &str) -> PathBuf {
    root().join(format!("examples/snapshots/{name}.json"))
}

const WORKSPACE: &str = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";

/// Run one extracted command in `dir`; returns the exit code.
fn run(dir: &Path, args: &[String], facts: &Path) -> i32 {
    let args = as_check(args, facts);
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDRGUARD_NOW", NOW)
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !matches!(out.status.code(), Some(3) | None),
        "{args:?} failed as bad input:\n{stderr}"
    );
    out.status.code().unwrap()
}

fn all_commands(doc: &Value, vars: &HashMap<&str, String>) -> Vec<Vec<String>> {
    let mut s = Vec::new();
    scripts(doc, &mut s);
    s.iter().flat_map(|s| commands(s, vars)).collect()
}

fn find<'a>(v: &'a Value, pred: &dyn Fn(&Value) -> bool) -> Option<&'a Value> {
    if pred(v) {
        return Some(v);
    }
    match v {
        Value::Object(m) => m.values().find_map(|v| find(v, pred)),
        Value::Array(a) => a.iter().find_map(|v| find(v, pred)),
        _ => None,
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("../schemas/sarif-2.1.0.json")).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[test]
fn github_actions_gate() {
    let doc = load("github-actions.yml");
    assert_eq!(
        doc["permissions"]["id-token"], "write",
        "OIDC login needs id-token"
    );
    assert_eq!(
        doc["permissions"]["security-events"], "write",
        "SARIF upload"
    );
    assert!(find(&doc, &|v| v["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("azure/login@")))
    .is_some());
    let upload = find(&doc, &|v| {
        v["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    })
    .expect("SARIF upload step");
    let sarif_file = upload["with"]["sarif_file"].as_str().unwrap();

    for (facts, expected) in [("misconfigured", 1), ("ready", 0)] {
        let d = workdir();
        let summary = d.path().join("summary.md");
        let vars = HashMap::from([
            ("XDRGUARD_WORKSPACE", WORKSPACE.to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ]);
        let cmds = all_commands(&doc, &vars);
        assert_eq!(cmds.len(), 1, "{cmds:?}");
        assert!(
            cmds[0].contains(&"--fail-on".to_string()) && cmds[0].contains(&"high".to_string())
        );
        assert_eq!(
            run(d.path(), &cmds[0], &snapshot(facts)),
            expected,
            "{facts}"
        );
        let sarif: Value =
            serde_json::from_str(&std::fs::read_to_string(d.path().join(sarif_file)).unwrap())
                .unwrap();
        assert_eq!(sarif_validator().iter_errors(&sarif).count(), 0);
        let md = std::fs::read_to_string(&summary).unwrap();
        let icon = if expected == 0 { "✅" } else { "❌" };
        assert!(md.starts_with(&format!("## {icon} xdrguard")), "{md}");
    }
}

#[test]
fn azure_devops_pipeline_publishes_junit() {
    let doc = load("azure-pipelines.yml");
    let publish = find(&doc, &|v| v["task"] == "PublishTestResults@2").expect("publish step");
    assert_eq!(publish["inputs"]["testResultsFormat"], "JUnit");
    let d = workdir();
    let staging = d.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let vars = HashMap::from([
        ("SENTINEL_WORKSPACE_ID", WORKSPACE.to_string()),
        (
            "Build.ArtifactStagingDirectory",
            staging.display().to_string(),
        ),
    ]);
    let junit_path = expand(
        publish["inputs"]["testResultsFiles"].as_str().unwrap(),
        &vars,
    );
    let cmds = all_commands(&doc, &vars);
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert_eq!(run(d.path(), &cmds[0], &snapshot("misconfigured")), 1);
    let xml = std::fs::read_to_string(&junit_path).expect("JUnit where PublishTestResults looks");
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(junit.tests, 27);
    assert_eq!(
        junit.failures, 6,
        "8 failures, 2 waived by the example exceptions"
    );
    assert!(staging.join("xdrguard.html").is_file());
    assert!(staging.join("xdrguard.json").is_file());
}

#[test]
fn weekly_job_keeps_reports_and_diffs_against_last_week() {
    let doc = load("weekly-compliance.yml");
    assert!(
        find(&doc, &|v| v["cron"].is_string()).is_some(),
        "scheduled"
    );
    let d = workdir();
    let summary = d.path().join("summary.md");
    let vars = HashMap::from([
        ("XDRGUARD_WORKSPACE", WORKSPACE.to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
    ]);
    let cmds = all_commands(&doc, &vars);
    let (audit, diff): (Vec<_>, Vec<_>) = cmds.iter().partition(|c| c[0] == "audit");
    assert_eq!((audit.len(), diff.len()), (1, 1), "{cmds:?}");
    assert_eq!(diff[0][0], "diff");
    std::fs::create_dir_all(d.path().join("reports")).unwrap();
    std::fs::create_dir_all(d.path().join("previous")).unwrap();

    // Last week: all ready. Its JSON report becomes the artifact this week downloads.
    assert_eq!(run(d.path(), audit[0], &snapshot("ready")), 0);
    std::fs::rename(
        d.path().join("reports/xdrguard.json"),
        d.path().join("previous/xdrguard.json"),
    )
    .unwrap();
    // This week: misconfigured. The audit step tolerates exit 1 and 2; diff is the gate.
    assert!(run(d.path(), audit[0], &snapshot("misconfigured")) <= 2);
    for f in ["xdrguard.html", "xdrguard.json", "xdrguard.csv"] {
        assert!(d.path().join("reports").join(f).is_file(), "{f}");
    }
    assert_eq!(
        run(d.path(), diff[0], &snapshot("misconfigured")),
        1,
        "regression"
    );
    let drift = std::fs::read_to_string(d.path().join("reports/drift.md")).unwrap();
    assert!(drift.contains("newly failing"), "{drift}");
}

#[test]
fn the_extractor_handles_the_shell_forms_used() {
    let vars = HashMap::from([("A", "x y".to_string()), ("B.C", "/s".to_string())]);
    let cmds = commands(
        "echo hi\nxdrguard audit \\\n  --w \"$A\" --r junit=$(B.C)/j.xml --q 'lit $A' || test $? -le 2\n",
        &vars,
    );
    assert_eq!(
        cmds,
        vec![vec![
            "audit",
            "--w",
            "x y",
            "--r",
            "junit=/s/j.xml",
            "--q",
            "lit $A"
        ]]
    );
}

/// xdrguard is not on crates.io: each example installs it from its repository
/// (`cargo install --locked --git URL xdrguard`), with the package name Cargo.toml gives.
#[test]
fn the_examples_install_xdrguard_from_its_repository() {
    let package = env!("CARGO_PKG_NAME");
    for name in [
        "github-actions.yml",
        "azure-pipelines.yml",
        "weekly-compliance.yml",
    ] {
        let mut s = Vec::new();
        scripts(&load(name), &mut s);
        let installs: Vec<Vec<&str>> = s
            .iter()
            .flat_map(|s| s.lines())
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|w| w.starts_with(&["cargo", "install"]))
            .collect();
        assert_eq!(installs.len(), 1, "{name}: {installs:?}");
        let w = &installs[0];
        assert!(w.contains(&"--locked"), "{name}: {w:?}");
        let git = w.iter().position(|a| *a == "--git").expect("--git URL");
        assert!(
            w.get(git + 1).is_some_and(|u| !u.starts_with('-')),
            "{name}: {w:?}"
        );
        assert_eq!(w.last(), Some(&package), "{name}: {w:?}");
    }
}
