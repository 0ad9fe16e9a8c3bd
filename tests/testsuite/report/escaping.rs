//! Hostile display names from the tenant (a sensor and an analytics rule named with markup,
//! formulas and delimiters) flow through the CLI into every report and come out as text.
//! Each reporter also has unit tests with the payload in every text field (`sample::hostile`).

use assert_cmd::Command;
use xdrguard::outcome::sample::HOSTILE;

/// The misconfigured example with two display names replaced by the payload.
fn hostile_facts(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string("examples/snapshots/misconfigured.json").unwrap();
    let payload = serde_json::to_string(HOSTILE).unwrap();
    let text = text
        .replace("\"display_name\": \"DC2\"", &format!("\"display_name\": {payload}"))
        .replace(
            "\"display_name\": \"Create incidents based on Microsoft Defender for Endpoint alerts\"",
            &format!("\"display_name\": {payload}"),
        );
    assert_eq!(text.matches("HYPERLINK").count(), 2, "fixture changed");
    let p = dir.join("facts.json");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn render(facts: &str, format: &str) -> String {
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["check", "--facts", facts, "--format", format])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn html_shows_hostile_names_as_text() {
    let d = tempfile::tempdir().unwrap();
    let html = render(&hostile_facts(d.path()), "html");
    assert!(html.contains("HYPERLINK"), "payload reached the report");
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn markdown_shows_hostile_names_as_text() {
    let d = tempfile::tempdir().unwrap();
    let md = render(&hostile_facts(d.path()), "markdown");
    assert!(md.contains("HYPERLINK"), "payload reached the report");
    assert!(!md.contains("<script"));
    assert!(!md.contains("<img"));
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    for line in md.lines().filter(|l| !l.starts_with("<details>")) {
        assert!(!line.contains("](javascript"), "{line}");
    }
}

#[test]
fn csv_neutralises_hostile_names() {
    let d = tempfile::tempdir().unwrap();
    let text = render(&hostile_facts(d.path()), "csv");
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        27,
        "one row per control, despite quotes and newlines"
    );
    let mut seen = 0;
    for row in &rows {
        for cell in row.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
            seen += usize::from(cell.contains("HYPERLINK"));
        }
    }
    assert!(seen >= 2, "payload reached the report");
}

#[test]
fn sarif_and_junit_stay_well_formed() {
    let d = tempfile::tempdir().unwrap();
    let facts = hostile_facts(d.path());
    let sarif: serde_json::Value = serde_json::from_str(&render(&facts, "sarif")).unwrap();
    assert!(sarif["runs"][0]["results"].as_array().unwrap().len() >= 7);
    let xml = render(&facts, "junit");
    assert!(!xml.contains("<script>"));
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(parsed.tests, 27);
}
