//! The content gate's CI examples (`examples/ci/*-content.yml`) cannot rot: every xdrguard
//! command they run is extracted and run against a pull request in a git repository of the
//! fixture content; the files later steps consume must be where those steps look.
//!
//! Not validated against the GitHub/Azure Pipelines JSON schemas: actionlint and
//! check-jsonschema are not installable here (no Go toolchain; no vendored schemas yet).

use super::*;
use crate::ci_examples::{commands, load, scripts};
use clap::Parser;
use std::collections::HashMap;
use xdrguard::cli::Cli;

/// Run one extracted command in `dir`; `collect` (it needs Azure) must only parse.
fn run(dir: &Path, args: &[String]) -> Option<i32> {
    let mut full = vec!["xdrguard".to_string()];
    full.extend(args.iter().cloned());
    Cli::try_parse_from(&full).unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    if args[0] == "collect" {
        return None;
    }
    let out = assert_cmd::Command::cargo_bin("xdrguard")
        .unwrap()
        .current_dir(dir)
        .env("XDRGUARD_NOW", NOW)
        .args(args)
        .output()
        .unwrap();
    Some(out.status.code().unwrap_or(-1))
}

/// Every `run:` script of a workflow: no `${{ … }}` inside (script injection: values reach
/// the shell through `env:`), and every action pinned to a major version.
fn check_workflow_hygiene(doc: &Value) {
    let mut s = Vec::new();
    scripts(doc, &mut s);
    for script in &s {
        assert!(
            !script.contains("${{"),
            "expression inside a script: {script}"
        );
    }
    fn uses(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| match (k.as_str(), v) {
                ("uses", Value::String(u)) => out.push(u.clone()),
                _ => uses(v, out),
            }),
            Value::Array(a) => a.iter().for_each(|v| uses(v, out)),
            _ => {}
        }
    }
    let mut u = Vec::new();
    uses(doc, &mut u);
    for action in u {
        let (_, version) = action
            .split_once('@')
            .unwrap_or_else(|| panic!("{action} is not pinned"));
        assert!(version.starts_with('v') || version.len() == 40, "{action}");
    }
}

#[test]
fn github_actions_content_gate_runs_against_a_pull_request() {
    let doc = load("github-actions-content.yml");
    check_workflow_hygiene(&doc);
    assert!(
        doc["on"].as_object().unwrap().contains_key("pull_request"),
        "runs on pull requests"
    );
    let content = &doc["jobs"]["content"];
    assert_eq!(
        content["steps"][0]["with"]["fetch-depth"], 0,
        "--changed-from needs history"
    );
    let repo = pr_repo();
    let d = repo.path();
    let summary = d.join("summary.md");
    let base = String::from_utf8(
        std::process::Command::new("git")
            .current_dir(d)
            .args(["rev-parse", "main"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("BASE_SHA", base.trim().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("XDRGUARD_WORKSPACE", "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel".into()),
        ("XDRGUARD_GIT_URL", "https://example.invalid/xdrguard.git".into()),
    ]);
    let mut s = Vec::new();
    scripts(content, &mut s);
    let cmds: Vec<Vec<String>> = s.iter().flat_map(|s| commands(s, &vars)).collect();
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    // The pull request enables a high-severity duplicate-incident rule: the gate fails.
    assert_eq!(run(d, &cmds[0]), Some(1));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("XDR-CON-03"), "{md}");
    assert!(
        md.contains("AnalyticsRules/DefenderEndpointIncidents.json:17:5"),
        "{md}"
    );
    let upload = content["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("SARIF upload");
    let sarif = upload["with"]["sarif_file"].as_str().unwrap();
    assert!(d.join(sarif).is_file(), "the scan writes {sarif}");

    // The live job: `collect` parses, and its scan runs over live facts (the ready snapshot).
    let mut s = Vec::new();
    scripts(&doc["jobs"]["content-vs-live"], &mut s);
    let cmds: Vec<Vec<String>> = s.iter().flat_map(|s| commands(s, &vars)).collect();
    assert_eq!(
        cmds.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
        ["collect", "scan"]
    );
    assert_eq!(run(d, &cmds[0]), None);
    std::fs::copy(ready(), d.join("live.json")).unwrap();
    assert_eq!(run(d, &cmds[1]), Some(1));
}

#[test]
fn azure_pipelines_content_gate_runs_against_a_pull_request() {
    let doc = load("azure-pipelines-content.yml");
    assert_eq!(doc["steps"][0]["fetchDepth"], 0);
    let repo = pr_repo();
    let d = repo.path();
    // The pipeline diffs against `origin/<target branch>`.
    git(d, &["branch", "origin/main", "main"]);
    let staging = d.join("staging");
    std::fs::create_dir_all(staging.join("CodeAnalysisLogs")).unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        (
            "Build.ArtifactStagingDirectory",
            staging.display().to_string(),
        ),
        ("System.PullRequest.targetBranchName", "main".into()),
        (
            "XDRGUARD_GIT_URL",
            "https://example.invalid/xdrguard.git".into(),
        ),
    ]);
    let mut s = Vec::new();
    scripts(&doc, &mut s);
    let cmds: Vec<Vec<String>> = s.iter().flat_map(|s| commands(s, &vars)).collect();
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert_eq!(run(d, &cmds[0]), Some(1));
    let junit = std::fs::read_to_string(staging.join("xdrguard-content.junit.xml")).unwrap();
    assert!(junit.contains("XDR-CON-03"), "{junit}");
    assert!(staging
        .join("CodeAnalysisLogs/xdrguard-content.sarif")
        .is_file());
    let publish = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["publish"].is_string())
        .unwrap();
    assert_eq!(publish["artifact"], "CodeAnalysisLogs");
}
