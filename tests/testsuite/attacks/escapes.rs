//! Class 4: terminal escapes from data. ANSI (clear screen), OSC 8 (a forged hyperlink), CR
//! (overwrite the line), BEL, C1 CSI and a bidirectional override, in display names (Graph
//! organization, ARM alert rules), an ARM error code and a `$batch` inner error message. The
//! table on stdout, its remediation text, every report and the `-vv` log show them as text.

use super::{against, audit_args, SECRETS};
use crate::fake_microsoft::scenarios::{paths, Tenant};
use crate::fake_microsoft::{Fake, Reply};
use serde_json::json;
use std::time::Duration;

const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const LINK: &str = "\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{7}";
const OVERWRITE: &str = "safe\rPWNED";
const C1_AND_BIDI: &str = "\u{9b}31m\u{202e}exe.txt";

#[tokio::test]
async fn control_characters_from_data_are_visible_in_every_output() {
    let mut t = Tenant::ready();
    let mut orgs = t.items(&paths::organization());
    orgs[0]["displayName"] = json!(format!("Contoso{CLEAR}"));
    t.list(paths::organization(), orgs);
    // The connectors list fails (a 5xx, retried, then logged) with a code that drives the
    // terminal: its error reaches the remediation text ("Cause: …") and the log.
    t.get(
        paths::connectors(),
        vec![Reply::error(
            503,
            &format!("Denied{CLEAR}{OVERWRITE}"),
            LINK,
        )],
    );
    // Inside $batch: the message of an inner error.
    t.get(
        paths::skus(),
        vec![Reply::error(403, "Forbidden", &format!("no{C1_AND_BIDI}"))],
    );
    let mut rules = t.items(&paths::alert_rules());
    rules[0]["properties"]["displayName"] = json!(format!("rule{LINK}"));
    t.list(paths::alert_rules(), rules);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(&fake, audit_args, &[], Duration::from_secs(60)).await;
    out.assert_bounded(2, 60, 400).assert_clean(SECRETS);
    // Shown, as text, where a reader sees them.
    assert!(
        out.stdout
            .contains(r"Denied\u{1b}[2J\u{1b}[Hsafe\u{d}PWNED"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r"\u{1b}]8;;https://evil.example/\u{7}click"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r"no\u{9b}31m\u{202e}exe.txt"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(r"Denied\u{1b}[2J"),
        "the -vv log: {}",
        out.stderr
    );
    // The facts keep the data as it was (JSON escapes it); only terminal sinks rewrite it.
    assert!(out.file("facts.json").contains("\\u001b[2J"));
}

/// The example policy as a colleague might hand it over: terminal escapes in its title
/// (YAML's `\e`, `\a`, `\r`, `\x9b` and `\u202E` escapes; the rest stays valid).
fn text_with_title(p: &str) -> String {
    std::fs::read_to_string(p).unwrap().replace(
        "title: Alerts from Defender for Cloud Apps are not filtered",
        r#"title: "Alerts\e[2J\e]8;;https://evil.example/\aclick\e]8;;\a\r\x9b31m\u202Efiltered""#,
    )
}

#[test]
fn control_characters_from_a_policy_are_visible_in_explain_controls_and_diagnostics() {
    let d = tempfile::tempdir().unwrap();
    let policies = d.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/custom-policies/ACME-CON-01.yaml"
    );
    std::fs::write(policies.join("ACME-CON-01.yaml"), text_with_title(example)).unwrap();
    let dir = policies.to_str().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["explain", "ACME-CON-01", "--policies", dir],
        vec!["controls", "--policies", dir],
    ] {
        let mut c = super::xdrguard();
        c.args(&args);
        let out = super::run(c, out_dir.path(), Duration::from_secs(30));
        out.assert_bounded(0, 30, 200).assert_clean(&[]);
        assert!(
            out.stdout.contains(r"Alerts\u{1b}[2J"),
            "{args:?}: {}",
            out.stdout
        );
    }
    // A raw ESC byte in a YAML file is a syntax error; its excerpt is printed masked.
    let raw = text_with_title(example).replace(r#""Alerts\e[2J"#, "\"Alerts\u{1b}[2J\u{9b}");
    std::fs::write(policies.join("ACME-CON-01.yaml"), raw).unwrap();
    let mut c = super::xdrguard();
    c.args(["lint", dir]);
    let out = super::run(c, out_dir.path(), Duration::from_secs(30));
    out.assert_bounded(3, 30, 200).assert_clean(&[]);
    assert!(out.stderr.contains("ACME-CON-01.yaml:3:"), "{}", out.stderr);
}
