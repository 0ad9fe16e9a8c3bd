//! `xdrguard scan` over the fixture Sentinel-as-code repository (`tests/fixtures/content-repo`,
//! sources of every file in its `SOURCES.md`): statuses, locations, parameters precedence,
//! file selection, the overlay on live facts, report formats, and bad content.

mod bad;
mod ci;
mod overlay;
mod scan;
mod select;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const NOW: &str = "2026-12-01T00:00:00Z";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture() -> PathBuf {
    root().join("tests/fixtures/content-repo")
}

pub fn ready() -> PathBuf {
    root().join("examples/snapshots/ready.json")
}

/// Run `xdrguard scan ARGS` in `dir`: (exit code, stdout, stderr).
pub fn scan_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .current_dir(dir)
        .env("XDRGUARD_NOW", NOW)
        .env("NO_COLOR", "1")
        .arg("scan")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `scan <fixture> --repo-root <fixture> ARGS --format json`: (exit code, report, stderr).
pub fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let d = dir.to_str().unwrap();
    let mut all = vec![d, "--repo-root", d, "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = scan_in(dir, &all);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}\n{err}"));
    (code, report, err)
}

pub fn finding<'a>(report: &'a Value, control: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == control)
        .unwrap_or_else(|| panic!("no finding for {control}"))
}

/// The IDs of a finding's evidence, each with the `path:line:col` its detail ends with.
pub fn evidence(report: &Value, control: &str) -> Vec<(String, String)> {
    finding(report, control)["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let detail = e["detail"].as_str().unwrap_or("");
            let at = detail
                .rsplit_once("at ")
                .map(|(_, l)| l.trim_end_matches(')').to_string())
                .unwrap_or_default();
            (e["id"].as_str().unwrap().to_string(), at)
        })
        .collect()
}

/// A copy of the fixture repository in a temporary folder (to change it).
pub fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::readme::copy_dir(&fixture(), dir.path());
    dir
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git repository of the fixture content with a pull request on branch `pr` (checked out)
/// against `main`: it enables a Defender incident creation rule through its parameters
/// file, adds a stale per-product connector and deletes a workbook.
pub fn pr_repo() -> tempfile::TempDir {
    let dir = copy_fixture();
    let d = dir.path();
    let params = "AnalyticsRules/DefenderEndpointIncidents.parameters.json";
    std::fs::remove_file(d.join(params)).unwrap();
    let connector = d.join("DataConnectors/MicrosoftDefenderAdvancedThreatProtection.json");
    std::fs::remove_file(&connector).unwrap();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "base"]);
    git(d, &["checkout", "-qb", "pr"]);
    std::fs::copy(fixture().join(params), d.join(params)).unwrap();
    std::fs::copy(
        fixture().join("DataConnectors/MicrosoftDefenderAdvancedThreatProtection.json"),
        &connector,
    )
    .unwrap();
    std::fs::remove_file(d.join("Workbooks/DefenderIncidents.json")).unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "pr"]);
    dir
}
