//! Which files a scan reads: excludes, `.gitignore`, a change since a git revision, a list.

use super::*;

fn ids(report: &Value, control: &str) -> Vec<String> {
    evidence(report, control)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn excludes_and_gitignore_leave_files_out() {
    let (_, report, _) = scan_json(&fixture(), &["--exclude", "AnalyticsRules/Cloud*"]);
    let con03 = ids(&report, "XDR-CON-03");
    assert_eq!(con03.len(), 1);
    assert!(con03[0].ends_with("/alertRules/2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46"));

    let dir = copy_fixture();
    std::fs::write(dir.path().join(".gitignore"), "DataConnectors/\n").unwrap();
    let (_, report, _) = scan_json(dir.path(), &[]);
    let s = crate::common::statuses(&report);
    assert_eq!(s["XDR-CON-02"], "skipped");
    assert_eq!(s["XDR-CON-04"], "skipped");
}

#[test]
fn changed_from_judges_only_what_the_change_touched() {
    let dir = copy_fixture();
    let d = dir.path();
    std::fs::remove_file(d.join("AnalyticsRules/DefenderEndpointIncidents.parameters.json"))
        .unwrap();
    let connector = d.join("DataConnectors/MicrosoftDefenderAdvancedThreatProtection.json");
    let connector_text = std::fs::read_to_string(&connector).unwrap();
    std::fs::remove_file(&connector).unwrap();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "base"]);
    git(d, &["checkout", "-qb", "pr"]);
    std::fs::write(
        d.join("AnalyticsRules/DefenderEndpointIncidents.parameters.json"),
        std::fs::read(fixture().join("AnalyticsRules/DefenderEndpointIncidents.parameters.json"))
            .unwrap(),
    )
    .unwrap();
    std::fs::write(&connector, connector_text).unwrap();
    std::fs::remove_file(d.join("Workbooks/DefenderIncidents.json")).unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "pr"]);

    let (code, report, err) = scan_json(d, &["--changed-from", "main"]);
    assert_eq!(code, 1, "{err}");
    let con03 = ids(&report, "XDR-CON-03");
    assert_eq!(con03.len(), 1, "{con03:?}");
    assert!(con03[0].ends_with("/alertRules/2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46"));
    assert_eq!(ids(&report, "XDR-CON-04").len(), 1);
    // Files the change did not touch are not read.
    let s = crate::common::statuses(&report);
    assert_eq!(s["XDR-ENT-01"], "skipped");
    assert_eq!(s["XDR-EVT-01"], "skipped");
    assert!(err.contains("scanned 2 content file(s)"), "{err}");

    // A change with no content in it is not an error: nothing to judge.
    let (code, report, err) = scan_json(d, &["--changed-from", "HEAD"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(crate::common::statuses(&report)["XDR-CON-03"], "skipped");

    let (code, _, err) = scan_in(d, &[".", "--changed-from", "no-such-branch"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("--changed-from no-such-branch: git diff failed"),
        "{err}"
    );
}

#[test]
fn paths_from_stdin_lists_the_changed_files() {
    let d = fixture();
    let ds = d.to_str().unwrap();
    let out = assert_cmd::Command::cargo_bin("xdrguard")
        .unwrap()
        .current_dir(&d)
        .env("XDRGUARD_NOW", NOW)
        .args(["scan", ds, "--repo-root", ds, "--format", "json", "--paths-from", "-"])
        .write_stdin("AnalyticsRules/CloudAppsIncidents.parameters.json\n\nSettings/EntityAnalytics.json\nREADME.md\nDeleted/Gone.json\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let con03 = ids(&report, "XDR-CON-03");
    assert_eq!(con03.len(), 1, "{con03:?}");
    assert!(con03[0].ends_with("/alertRules/microsoftSecurityIncidentCreationRuleExample"));
    assert_eq!(crate::common::statuses(&report)["XDR-ENT-01"], "fail");
    assert!(
        err.contains("note: Deleted/Gone.json: deleted by this change: not judged"),
        "{err}"
    );
}
