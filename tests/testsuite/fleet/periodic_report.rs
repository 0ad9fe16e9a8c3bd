//! The weekly HTML report as a CISO reads it, in headless chromium: the executive summary
//! (verdict, score, newly failing and resolved since `--previous`), failures first by
//! severity, a 14-day ingestion chart per table in which a table gone quiet stands out, and
//! a printout that holds only what needs action. Screenshots are written to
//! `target/screenshots/` to be looked at.

use super::{xdrguard, NOW};
use crate::report::html_browser::{browser_or_skip, run_chromium};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn snapshot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/snapshots")
        .join(name)
}

/// The ready tenant, except that EmailEvents went quiet three days before collection.
fn quiet_facts(dir: &Path) -> PathBuf {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot("ready.json")).unwrap()).unwrap();
    let rows = v["sections"]["ingestion"]["data"].as_array_mut().unwrap();
    let email = rows
        .iter_mut()
        .find(|r| r["table"] == "EmailEvents")
        .unwrap();
    let mut daily: Vec<i64> = serde_json::from_value(email["daily"].clone()).unwrap();
    for d in daily.iter_mut().skip(11) {
        *d = 0;
    }
    email["rows"] = daily.iter().sum::<i64>().into();
    email["daily"] = serde_json::json!(daily);
    email["last_received"] = "2026-11-17T23:58:00Z".into();
    let p = dir.join("quiet.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

/// The report of last week (the misconfigured state) and this week's (ready, one table
/// quiet), as `check` writes them.
fn reports(dir: &Path) -> (Value, String) {
    let prev = xdrguard(
        dir,
        &[
            "check",
            "--facts",
            snapshot("misconfigured.json").to_str().unwrap(),
            "--format",
            "json",
            "-o",
            "previous.json",
        ],
        &[],
    );
    assert_eq!(prev.code, 1, "{}", prev.stderr);
    let facts = quiet_facts(dir);
    let args = [
        "check",
        "--facts",
        facts.to_str().unwrap(),
        "--previous",
        "previous.json",
    ];
    let json = xdrguard(dir, &[&args[..], &["--format", "json"]].concat(), &[]);
    let html = xdrguard(dir, &[&args[..], &["--format", "html"]].concat(), &[]);
    assert_eq!(html.code, json.code);
    (serde_json::from_str(&json.stdout).unwrap(), html.stdout)
}

#[test]
fn the_summary_charts_and_order_are_in_the_page_and_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let (report, html) = reports(dir.path());
    let since = &report["since_previous"];
    assert!(!since["resolved"].as_array().unwrap().is_empty(), "{since}");
    assert_eq!(report["ingestion"].as_array().unwrap().len(), 23);
    assert!(
        html.contains("Since the previous report (2026-11-30 08:00 UTC)"),
        "{html}"
    );
    for c in since["resolved"].as_array().unwrap() {
        assert!(html.contains(&format!("<b>{}</b>", c["control"].as_str().unwrap())));
    }
    assert!(html.contains("data-table=\"EmailEvents\""));
    assert!(
        html.contains("quiet for 3 day(s)"),
        "the quiet table is named"
    );
    assert_eq!(html.matches("<div class=\"chart ing").count(), 23);
    assert_eq!(html.matches("<div class=\"chart ing quiet\"").count(), 1);
    // Failures first, by severity; passing controls last.
    let statuses: Vec<&str> = html
        .match_indices("<tr class=\"finding\" data-status=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let rank = |s: &str| {
        ["fail", "error", "waived", "skipped", "pass"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    assert!(
        statuses.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{statuses:?}"
    );
    // The terminal table draws the same quiet days.
    let t = xdrguard(
        dir.path(),
        &[
            "check",
            "--facts",
            dir.path().join("quiet.json").to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        t.stdout.contains("EmailEvents")
            && t.stdout.contains("···  ")
            && t.stdout.contains("quiet for 3 day(s)"),
        "{}",
        t.stdout
    );
    // Facts without the daily series (an older collection) still load: no chart, no error.
    let old = xdrguard(
        dir.path(),
        &[
            "check",
            "--facts",
            snapshot("misconfigured.json").to_str().unwrap(),
            "--format",
            "html",
        ],
        &[],
    );
    assert_eq!(old.code, 1);
    assert!(!old.stdout.contains("id=\"ingestion\""));
}

/// Screenshot `page` into `target/screenshots/NAME` (to be looked at) and check it is an image.
fn screenshot(browser: &Path, dir: &Path, page: &Path, name: &str, size: &str) {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join(name);
    run_chromium(
        browser,
        &dir.join("profile"),
        &[
            &format!("--window-size={size}"),
            "--hide-scrollbars",
            &format!("--screenshot={}", png.display()),
        ],
        page,
    );
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
}

/// PDF page objects (`/Type /Page`, not `/Pages`).
fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[test]
fn screenshot_and_print_in_chromium() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = reports(dir.path());
    let page = dir.path().join("weekly.html");
    std::fs::write(&page, &html).unwrap();
    screenshot(
        &browser,
        dir.path(),
        &page,
        "weekly-report.png",
        "1280,2200",
    );
    // Printed, the page holds what needs action: passing controls are one line each.
    let pdf = dir.path().join("weekly.pdf");
    run_chromium(
        &browser,
        &dir.path().join("profile"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
        &page,
    );
    let n = pages(&std::fs::read(&pdf).expect("chromium printed the page"));
    assert!((1..=6).contains(&n), "{n} printed pages");
}

/// The fleet page over the four example tenants, as `merge` would build it from their
/// reports, in chromium: every target a row, every control a column, nothing that errors.
#[test]
fn fleet_page_screenshot_in_chromium() {
    use xdrguard::fleet::report::{ControlInfo, FleetReport, TargetRow};
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let mut controls: Vec<ControlInfo> = Vec::new();
    for name in ["ready", "not-ready", "misconfigured", "partial-access"] {
        let r = xdrguard(
            dir.path(),
            &[
                "check",
                "--facts",
                snapshot(&format!("{name}.json")).to_str().unwrap(),
                "--format",
                "json",
            ],
            &[],
        );
        let report: xdrguard::outcome::Report = serde_json::from_str(&r.stdout).unwrap();
        for f in &report.results {
            if !controls.iter().any(|c| c.control == f.control) {
                controls.push(ControlInfo::new(&f.control, &f.title, f.severity));
            }
        }
        rows.push(TargetRow::of_report(name, &report));
    }
    rows.push(TargetRow::failed(
        "woodgrove-eu",
        "/subscriptions/x",
        2,
        "cannot connect to https://management.azure.com".into(),
    ));
    let fleet = FleetReport::new(
        rows,
        &controls,
        "sha256:0000000000000000".into(),
        NOW.parse().unwrap(),
    );
    let html = xdrguard::report::fleet::render(&fleet, xdrguard::report::Format::Html, false);
    assert_eq!(
        html.matches("<td class=\"cell c-").count(),
        4 * controls.len()
    );
    let page = dir.path().join("fleet.html");
    std::fs::write(&page, &html).unwrap();
    screenshot(&browser, dir.path(), &page, "fleet-report.png", "1280,1600");
}
