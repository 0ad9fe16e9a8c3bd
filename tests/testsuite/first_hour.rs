//! A newcomer's first hour (issue 13), run as the user did: the terminal report reads top to
//! bottom (header, table, fixes in the order they unblock, verdict last) at the width of the
//! screen; a verdict never contradicts its counts; remediation shows only where something
//! needs fixing; `diff` says when two reports are not of the same audit; `-vv` logs carry no
//! colour codes into pipes; finding texts and titles read on their own.

use crate::fake_microsoft::{scenarios, Fake, TOKEN};
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn xdrguard() -> Command {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("NO_COLOR", "1")
        .env("XDRGUARD_NOW", "2026-11-27T10:00:00Z")
        .env_remove("COLUMNS");
    c
}

fn facts(name: &str) -> String {
    format!("examples/snapshots/{name}.json")
}

/// `check --facts <snapshot> <args>` → (exit code, stdout, stderr).
fn check(snapshot: &str, args: &[&str], columns: Option<&str>) -> (i32, String, String) {
    let mut c = xdrguard();
    if let Some(w) = columns {
        c.env("COLUMNS", w);
    }
    c.args(["check", "--facts", &facts(snapshot)]).args(args);
    run(c)
}

/// Run → (exit code, stdout, stderr).
fn run(mut c: Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json_report(snapshot: &str, args: &[&str]) -> Value {
    let (_, out, _) = check(snapshot, &[&["--format", "json"], args].concat(), None);
    serde_json::from_str(&out).unwrap()
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

/// Where the remediation block of `control` starts in the table output.
fn block(text: &str, control: &str) -> usize {
    text.find(&format!("\n{control} ["))
        .unwrap_or_else(|| panic!("no remediation block for {control}:\n{text}"))
}

#[test]
fn the_table_opens_with_what_was_audited_and_ends_with_the_verdict() {
    let (code, text, _) = check("not-ready", &[], None);
    assert_eq!(code, 1);
    let head: Vec<&str> = text.lines().take(7).collect();
    assert_eq!(head[0], "xdrguard — Defender XDR connector readiness");
    assert!(
        head[1].starts_with("Workspace: /subscriptions/")
            && head[1].ends_with("/workspaces/contoso-sentinel"),
        "{head:?}"
    );
    assert_eq!(head[2], "Tenant:    2070ecc9-b4d5-4ae4-adaa-936fa1954fa8");
    assert!(head.contains(&"Profile:   full · fail on low"), "{head:?}");
    // The snapshot's `collected_at`, not the time of the check.
    assert!(
        head.contains(&"Facts:     collected 2026-11-20 08:00 UTC"),
        "{head:?}"
    );
    assert!(head.contains(&"Report:    generated 2026-11-27 10:00 UTC"));
    let last: Vec<&str> = text.lines().rev().take(2).collect();
    assert_eq!(last[0], "verdict: violations (exit 1)");
    assert!(
        last[1].starts_with("27 controls: 1 pass, 9 fail"),
        "{last:?}"
    );
}

#[test]
fn fixes_are_ordered_by_what_they_unblock_then_by_severity() {
    let report = json_report("not-ready", &[]);
    let blocked_by_ws02 = results(&report)
        .iter()
        .filter(|f| f["blocked_by"] == "XDR-WS-02")
        .count();
    assert_eq!(blocked_by_ws02, 15, "XDR-WS-02 blocks fifteen controls");
    let (_, text, _) = check("not-ready", &[], None);
    assert!(
        text.contains(
            "\nFix these first: XDR-WS-02 (unblocks 15), XDR-MDI-01 (unblocks 1), XDR-SOL-01\n  (unblocks 1)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nXDR-WS-02 [critical · fail · unblocks 15] "));
    // What unblocks most comes first, even before more severe fixes that unblock nothing.
    let order = [
        "XDR-WS-02",
        "XDR-MDI-01",
        "XDR-SOL-01",
        "XDR-ID-01",
        "XDR-ID-02",
        "XDR-LIC-01",
        "XDR-REQ-01",
        "XDR-LIC-02",
        "XDR-RBAC-01",
    ];
    let at: Vec<usize> = order.iter().map(|c| block(&text, c)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{order:?} at {at:?}");
}

/// The remediation text of `report`'s failures: summaries (prose) and command steps.
fn prose_and_commands(report: &Value) -> (Vec<String>, Vec<String>) {
    let mut prose = Vec::new();
    let mut commands = Vec::new();
    for f in results(report).iter().filter(|f| f["status"] == "fail") {
        prose.push(f["remediation"]["summary"].as_str().unwrap().to_string());
        for s in f["remediation"]["steps"].as_array().unwrap() {
            let text = s["text"].as_str().unwrap();
            if ["cli", "api", "powershell"].contains(&s["kind"].as_str().unwrap()) {
                commands.extend(text.lines().map(str::to_string));
            } else {
                prose.push(text.to_string());
            }
        }
    }
    (prose, commands)
}

#[test]
fn prose_wraps_at_the_width_between_words_and_commands_stay_whole() {
    let report = json_report("misconfigured", &[]);
    let (prose, commands) = prose_and_commands(&report);
    for (columns, width) in [(None, 80), (Some("60"), 60), (Some("132"), 132)] {
        // Piped (not a terminal): 80 columns, or COLUMNS when it is set.
        let (_, text, _) = check("misconfigured", &[], columns);
        for line in text.lines() {
            let long = line.chars().count() > width;
            // Only a line that is one word (an ID, a URL) or a command may overflow.
            let one_word = line.trim().split(' ').count() <= 2
                || line.trim_start().starts_with("Learn: ")
                || commands.iter().any(|c| line.ends_with(c.as_str()));
            assert!(!long || one_word, "{columns:?}: line over {width}: {line}");
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for p in &prose {
            let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(&p), "{columns:?}: prose not whole: {p}");
        }
        for c in &commands {
            assert!(
                text.lines().any(|l| l.ends_with(c.as_str())),
                "{columns:?}: command broken: {c}"
            );
        }
    }
    let (_, narrow, _) = check("misconfigured", &[], Some("60"));
    assert!(narrow.lines().next().unwrap().chars().count() <= 60);
    let table_line = narrow.lines().find(|l| l.starts_with('┌')).unwrap();
    assert_eq!(table_line.chars().count(), 60, "the table follows COLUMNS");
}

#[test]
fn the_grant_command_of_an_error_stays_on_one_line() {
    let (code, text, _) = check("partial-access", &[], None);
    assert_eq!(code, 2);
    let grant = "    az role assignment create --assignee <audit identity object id> --role \"Microsoft Sentinel Reader\" --scope <workspace resource ID>";
    assert!(text.lines().any(|l| l == grant), "{text}");
}

#[test]
fn a_compliant_verdict_says_why_the_failures_do_not_count() {
    // Threshold: every failure of misconfigured is below critical.
    let (code, text, _) = check("misconfigured", &["--fail-on", "critical"], None);
    assert_eq!(code, 0);
    assert!(
        text.contains("8 fail (none at or above critical),"),
        "{text}"
    );
    assert!(text.ends_with("verdict: compliant (exit 0)\n"));
    let critical = |format: &str| {
        check(
            "misconfigured",
            &["--fail-on", "critical", "--format", format],
            None,
        )
        .1
    };
    let md = critical("markdown");
    assert!(md.starts_with("## ✅ xdrguard: compliant (exit 0)"), "{md}");
    assert!(
        md.contains("| 27 | 19 | 8 (none at or above critical) | 0 |"),
        "{md}"
    );
    let html = critical("html");
    assert!(
        html.contains("<div class=\"meta\" id=\"uncounted\">none at or above critical</div>"),
        "fail card explains"
    );
    let sarif: Value = serde_json::from_str(&critical("sarif")).unwrap();
    assert_eq!(
        sarif["runs"][0]["properties"]["uncounted_failures"],
        "none at or above critical"
    );

    // Baseline: the same failures were already known.
    let d = tempfile::tempdir().unwrap();
    let baseline = write_report(d.path(), "misconfigured", &[]);
    let b = baseline.to_str().unwrap();
    let (code, text, _) = check("misconfigured", &["--baseline", b], None);
    assert_eq!(code, 0);
    assert!(text.contains("8 fail (8 known in baseline),"), "{text}");
    let (_, md, _) = check(
        "misconfigured",
        &["--baseline", b, "--format", "markdown"],
        None,
    );
    assert!(md.contains("| 8 (8 known in baseline) |"), "{md}");

    // Both: some below the threshold, the rest known.
    let (code, text, _) = check(
        "misconfigured",
        &["--baseline", b, "--fail-on", "high"],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        text.contains("8 fail (6 below high; 2 known in baseline; none counts),"),
        "{text}"
    );

    // Every failure counts: nothing to explain.
    let (_, text, _) = check("misconfigured", &[], None);
    assert!(text.contains(", 8 fail, 0 error,"), "{text}");
}

#[test]
fn remediation_shows_only_under_what_needs_fixing() {
    let (_, html, _) = check("misconfigured", &["--format", "html"], None);
    let rows: Vec<&str> = html.split("<tr class=\"finding\"").skip(1).collect();
    assert_eq!(rows.len(), 27);
    for row in rows {
        let failing = row.starts_with(" data-status=\"fail\"");
        assert_eq!(
            row.contains("<b>Remediation:</b>"),
            failing,
            "remediation iff failing: {}",
            &row[..120]
        );
        if !failing {
            // e.g. the role assignment POST of a passing XDR-ID-02.
            assert!(!row.contains("<pre>"), "a command under a non-failing row");
            assert!(!row.contains("--method post"));
        }
    }
    let (_, md, _) = check("misconfigured", &["--format", "markdown"], None);
    assert_eq!(md.matches("— how to fix</summary>").count(), 8);
    assert!(!md.contains("roleManagement/directory/roleAssignments\""));
    let (_, text, _) = check("misconfigured", &[], None);
    assert!(
        !text.contains("\nXDR-ID-02 ["),
        "no block for a passing control"
    );
    assert!(!text.contains("roleManagement/directory/roleAssignments\""));
}

/// Write the JSON report of a snapshot checked with `args` into `dir`.
fn write_report(dir: &Path, snapshot: &str, args: &[&str]) -> PathBuf {
    let p = dir.join(format!("{snapshot}{}.json", args.join("")));
    let (code, _, err) = check(
        snapshot,
        &[
            &["--quiet", "--report", &format!("json={}", p.display())],
            args,
        ]
        .concat(),
        None,
    );
    assert!(matches!(code, 0..=2), "{err}");
    p
}

fn diff(old: &Path, new: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = xdrguard();
    c.arg("diff").arg(old).arg(new).args(args);
    run(c)
}

#[test]
fn diff_says_when_the_reports_are_not_of_the_same_audit() {
    let d = tempfile::tempdir().unwrap();
    let ready = write_report(d.path(), "ready", &[]);
    let other = d.path().join("other-workspace.json");
    let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let old_ws = r["target"]["workspace_id"].as_str().unwrap().to_string();
    let new_ws = old_ws.replace("contoso-sentinel", "fabrikam-sentinel");
    r["target"]["workspace_id"] = Value::from(new_ws.clone());
    r["target"]["tenant_id"] = Value::from("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
    for f in r["results"].as_array_mut().unwrap() {
        f["scope"] = Value::from(new_ws.clone());
    }
    std::fs::write(&other, r.to_string()).unwrap();

    let (_, text, _) = diff(&ready, &other, &[]);
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "warning: the reports are of different workspaces (old {old_ws}, new {new_ws}): findings are matched per workspace, so every control shows as removed and added"
        )
    );
    assert!(text.contains("warning: the reports are of different tenants (old 2070ecc9-b4d5-4ae4-adaa-936fa1954fa8, new 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)"));
    let (_, md, _) = diff(&ready, &other, &["--format", "markdown"]);
    assert!(
        md.contains("> ⚠️ **Warning:** the reports are of different workspaces"),
        "{md}"
    );
    // JSON carries them as data, and stderr says them for the CI log.
    let (_, json, err) = diff(&ready, &other, &["--format", "json"]);
    let drift: Value = serde_json::from_str(&json).unwrap();
    let kinds: Vec<&str> = drift["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["workspace", "tenant"]);
    assert!(
        err.contains("warning: the reports are of different workspaces"),
        "{err}"
    );

    // A profile change is named too; the same audit twice has no warning.
    let pre = write_report(d.path(), "ready", &["--profile", "pre-onboarding"]);
    let (_, text, _) = diff(&pre, &ready, &[]);
    assert!(
        text.starts_with(
            "warning: the reports are of different profiles (old pre-onboarding, new full)"
        ),
        "{text}"
    );
    let (code, text, err) = diff(&ready, &ready, &[]);
    assert_eq!(code, 0);
    assert!(!text.contains("warning") && err.is_empty(), "{text}{err}");
}

#[test]
fn diff_shows_when_each_reports_facts_were_collected() {
    let d = tempfile::tempdir().unwrap();
    let old = write_report(d.path(), "misconfigured", &[]);
    let new = write_report(d.path(), "ready", &[]);
    // Each snapshot records its own collection time.
    let collected = |p: &Path| -> String {
        let r: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let t = r["facts_collected_at"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .format("%Y-%m-%d %H:%M UTC")
            .to_string()
    };
    let (_, text, _) = diff(&old, &new, &[]);
    let expected = format!(
        "facts collected {} → {} (reports generated 2026-11-27 10:00 UTC → 2026-11-27 10:00 UTC): verdict violations → compliant",
        collected(&old),
        collected(&new)
    );
    assert_eq!(text.lines().next().unwrap(), expected);
    let (_, json, _) = diff(&old, &new, &["--format", "json"]);
    let drift: Value = serde_json::from_str(&json).unwrap();
    assert!(drift["old_collected_at"].is_string() && drift["new_collected_at"].is_string());
}

#[tokio::test]
async fn verbose_logs_have_no_colour_codes_in_a_pipe() {
    let fake = Fake::start(&scenarios::Tenant::ready()).await;
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    c.env("XDRGUARD_ACCESS_TOKEN", TOKEN)
        .env("XDRGUARD_GRAPH_URL", fake.uri())
        .env("XDRGUARD_ARM_URL", fake.uri())
        .env("XDRGUARD_LOG_ANALYTICS_URL", fake.uri())
        // Colour is not turned off by the environment: only the pipe may decide.
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm-256color");
    let ws = scenarios::workspace_id();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("facts.json");
    let o = out_file.clone();
    let out = tokio::task::spawn_blocking(move || {
        c.args(["collect", "--workspace", &ws, "-vv", "-o"])
            .arg(&o)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("request"), "-vv logs requests: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in a pipe: {stderr:?}"
    );
}

#[test]
fn finding_texts_and_titles_read_on_their_own() {
    let report = json_report("misconfigured", &[]);
    let all = serde_json::to_string(&report).unwrap();
    assert!(
        !all.contains("LastReceived null"),
        "query internals in a finding"
    );
    let evt02 = results(&report)
        .iter()
        .find(|f| f["control"] == "XDR-EVT-02")
        .unwrap();
    assert!(evt02["message"]
        .as_str()
        .unwrap()
        .contains("DeviceFileCertificateInfo (no rows received)"));
    // The title is the SARIF rule name and the JUnit test case name.
    let (_, junit, _) = check("ready", &["--format", "junit"], None);
    assert!(junit.contains(
        "<testcase name=\"XDR-SOL-02: The Microsoft Defender XDR solution is up to date\""
    ));
    let (_, sarif, _) = check("misconfigured", &["--format", "sarif"], None);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let rule = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "XDR-SOL-02")
        .unwrap();
    assert_eq!(
        rule["shortDescription"]["text"],
        "The Microsoft Defender XDR solution is up to date"
    );
}
