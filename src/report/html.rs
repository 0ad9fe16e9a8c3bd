//! The HTML report for periodic compliance: one self-contained file (inline CSS, JS and SVG,
//! nothing fetched), verdict and readiness score, charts of status by stage and by severity,
//! a table filterable by status, each control expandable with evidence and remediation.
//!
//! Every value goes through minijinja's HTML auto-escaping; no report data is ever placed in
//! the script. A Content-Security-Policy allows only our own script and style (by hash) and
//! no network at all, so even an escaping bug could not run injected script or load anything.

use crate::model::{Finding, Severity, Stage, Status};
use crate::outcome::Report;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use strum::VariantArray;

const TEMPLATE: &str = include_str!("html/report.html");
const CSS: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Width in pixels of a full chart bar.
const BAR_WIDTH: f64 = 360.0;
const LABEL_WIDTH: f64 = 110.0;

/// A CSP source hash (`'sha256-…'`, standard padded base64) for an inline element's exact text.
pub fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The policy: nothing from the network, only our inline style and script.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(SCRIPT)
    )
}

/// Readiness: the share of evaluated controls that pass (waived ones are not ready).
pub fn readiness_score(report: &Report) -> Option<u32> {
    let s = &report.summary;
    let evaluated = s.pass + s.fail + s.error + s.waived;
    (evaluated > 0).then(|| ((s.pass as f64 / evaluated as f64) * 100.0).round() as u32)
}

#[derive(Serialize)]
struct Count {
    status: &'static str,
    count: usize,
    /// For `fail`: why failures that do not count toward the verdict do not.
    note: Option<String>,
}

#[derive(Serialize)]
struct Segment {
    status: &'static str,
    count: usize,
    x: String,
    width: String,
}

#[derive(Serialize)]
struct Bar {
    label: &'static str,
    y: usize,
    total: usize,
    total_x: String,
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Chart {
    title: &'static str,
    width: usize,
    height: usize,
    bars: Vec<Bar>,
}

fn chart<K: Copy>(
    title: &'static str,
    groups: &[(K, &'static str)],
    findings: &[Finding],
    key: impl Fn(&Finding) -> K,
    eq: impl Fn(K, K) -> bool,
) -> Chart {
    let max = groups
        .iter()
        .map(|(k, _)| findings.iter().filter(|f| eq(key(f), *k)).count())
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = groups
        .iter()
        .enumerate()
        .map(|(i, (k, label))| {
            let mine: Vec<&Finding> = findings.iter().filter(|f| eq(key(f), *k)).collect();
            let mut x = LABEL_WIDTH;
            let segments = Status::VARIANTS
                .iter()
                .copied()
                .filter_map(|s| {
                    let count = mine.iter().filter(|f| f.status == s).count();
                    (count > 0).then(|| {
                        let width = BAR_WIDTH * count as f64 / max as f64;
                        let seg = Segment {
                            status: s.as_str(),
                            count,
                            x: format!("{x:.1}"),
                            width: format!("{width:.1}"),
                        };
                        x += width;
                        seg
                    })
                })
                .collect();
            Bar {
                label,
                y: i * 26 + 4,
                total: mine.len(),
                total_x: format!("{:.1}", x + 6.0),
                segments,
            }
        })
        .collect::<Vec<_>>();
    Chart {
        title,
        width: (LABEL_WIDTH + BAR_WIDTH + 40.0) as usize,
        height: bars.len() * 26 + 8,
        bars,
    }
}

#[derive(Serialize)]
struct Doc {
    text: String,
    /// Set only for plain https URLs; anything else is shown as text, never linked.
    href: Option<String>,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    docs: Vec<Doc>,
    /// Whether to show the remediation: only a failure (or a waived one) has something to
    /// fix; a passing control must not show write commands.
    remediate: bool,
}

#[derive(Serialize)]
struct Context<'a> {
    csp: String,
    css: &'static str,
    script: &'static str,
    tool: &'a crate::facts::ToolInfo,
    verdict: &'static str,
    exit_code: u8,
    profile: &'static str,
    fail_on: &'static str,
    generated_at: String,
    facts_collected_at: Option<String>,
    target: &'a crate::facts::Target,
    score: Option<u32>,
    counts: Vec<Count>,
    statuses: Vec<&'static str>,
    warnings: &'a [String],
    charts: Vec<Chart>,
    results: Vec<Row<'a>>,
    /// The move into the Defender portal, as its own section.
    portal: Option<Portal<'a>>,
    summary: Summary<'a>,
    ingestion: Vec<crate::report::ingestion_chart::Chart>,
}

/// The "Moving into the Defender portal" section: the decision and the stage's controls.
#[derive(Serialize)]
struct Portal<'a> {
    decision: Option<String>,
    controls: Vec<&'a Finding>,
}

/// Shown when the report says how onboarding was decided or holds the stage's controls.
fn portal(report: &Report) -> Option<Portal<'_>> {
    let controls: Vec<&Finding> = report
        .results
        .iter()
        .filter(|f| f.stage == Stage::DefenderPortal)
        .collect();
    (report.defender_portal.is_some() || !controls.is_empty()).then(|| Portal {
        decision: report.defender_portal.as_ref().map(|d| d.line()),
        controls,
    })
}

/// The executive summary: what fails, by severity, and what changed since the last run.
#[derive(Serialize)]
struct Summary<'a> {
    /// `(severity, count)` of the failures, most severe first, only non-zero.
    failing: Vec<(&'static str, usize)>,
    errors: usize,
    waived: usize,
    /// The earliest expiry of a waiver in force, for "exceptions expire from …".
    first_expiry: Option<String>,
    since: Option<&'a crate::outcome::trend::SincePrevious>,
    previous_at: Option<String>,
}

fn summary(report: &Report) -> Summary<'_> {
    let failing = Severity::VARIANTS
        .iter()
        .rev()
        .map(|s| {
            let n = report
                .results
                .iter()
                .filter(|f| f.status == Status::Fail && f.severity == *s)
                .count();
            (s.as_str(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    Summary {
        failing,
        errors: report.summary.error,
        waived: report.summary.waived,
        first_expiry: report
            .results
            .iter()
            .filter_map(|f| f.waiver.as_ref().map(|w| w.expires))
            .min()
            .map(|d| d.to_string()),
        since: report.since_previous.as_ref(),
        previous_at: report.since_previous.as_ref().map(|p| {
            p.previous_generated_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        }),
    }
}

/// Failures first, by severity: what needs action leads, passing controls close the list.
fn action_order(f: &Finding) -> (u8, std::cmp::Reverse<Severity>, &str) {
    let rank = match f.status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Waived => 2,
        Status::Skipped => 3,
        Status::Pass => 4,
    };
    (rank, std::cmp::Reverse(f.severity), f.control.as_str())
}

fn is_plain_https(url: &str) -> bool {
    url.starts_with("https://")
        && !url.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\'' | '`')
        })
}

pub fn render(report: &Report) -> String {
    let stages: Vec<(Stage, &'static str)> =
        Stage::VARIANTS.iter().map(|s| (*s, s.as_str())).collect();
    // Most severe first.
    let severities: Vec<(Severity, &'static str)> = Severity::VARIANTS
        .iter()
        .rev()
        .map(|s| (*s, s.as_str()))
        .collect();
    let uncounted = report.uncounted();
    let ctx = Context {
        csp: content_security_policy(),
        css: CSS,
        script: SCRIPT,
        tool: &report.tool,
        verdict: report.verdict.as_str(),
        exit_code: report.exit_code,
        profile: report.profile.as_str(),
        fail_on: report.fail_on.as_str(),
        generated_at: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        facts_collected_at: report
            .facts_collected_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        target: &report.target,
        score: readiness_score(report),
        counts: Status::VARIANTS
            .iter()
            .copied()
            .map(|s| Count {
                status: s.as_str(),
                count: report.summary.count(s),
                note: (s == Status::Fail && uncounted.any()).then(|| uncounted.to_string()),
            })
            .collect(),
        statuses: Status::VARIANTS.iter().map(|s| s.as_str()).collect(),
        warnings: &report.warnings,
        charts: vec![
            chart(
                "By stage",
                &stages,
                &report.results,
                |f| f.stage,
                |a, b| a == b,
            ),
            chart(
                "By severity",
                &severities,
                &report.results,
                |f| f.severity,
                |a, b| a == b,
            ),
        ],
        summary: summary(report),
        ingestion: crate::report::ingestion_chart::charts(
            &report.ingestion,
            report.facts_collected_at.unwrap_or(report.generated_at),
        ),
        results: {
            let mut ordered: Vec<&Finding> = report.results.iter().collect();
            ordered.sort_by_key(|f| action_order(f));
            ordered
        }
        .into_iter()
        .map(|f| Row {
            finding: f,
            remediate: f.needs_remediation(),
            docs: f
                .remediation
                .docs
                .iter()
                .map(|d| Doc {
                    text: d.clone(),
                    href: is_plain_https(d).then(|| d.clone()),
                })
                .collect(),
        })
        .collect(),
        portal: portal(report),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .expect("bundled template compiles");
    env.get_template("report.html")
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
        .expect("bundled template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn csp_hash_matches_known_vector() {
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            csp_hash("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
    }

    #[test]
    fn verdict_score_charts_and_table() {
        let html = render(&sample::mixed());
        assert!(html.contains("id=\"verdict\" class=\"verdict violations\">violations</span>"));
        assert_eq!(readiness_score(&sample::mixed()), Some(25));
        assert!(html.contains("<div class=\"n\" id=\"score\">25%</div>"));
        assert_eq!(html.matches("<tr class=\"finding\"").count(), 5);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("data-filter=\"fail\""));
    }

    #[test]
    fn self_contained_no_external_resource() {
        let html = render(&sample::mixed());
        for needle in ["src=", "<link", "@import", "url(", "http://"] {
            assert!(!html.contains(needle), "{needle}");
        }
        // The only URLs are the Learn links users may click.
        for (i, _) in html.match_indices("https://") {
            let rest = &html[i..];
            assert!(
                rest.starts_with("https://learn.microsoft.com/"),
                "{}",
                &rest[..40.min(rest.len())]
            );
        }
    }

    #[test]
    fn hostile_values_are_text() {
        let html = render(&sample::hostile());
        assert!(!html.contains("<script>alert"), "unescaped script");
        assert!(!html.contains("<img"), "unescaped img");
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("href=\"=HYPERLINK"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "escaped form"
        );
        // Our one script element only.
        assert_eq!(html.matches("<script>").count(), 1);
        assert_eq!(html.matches("</details>").count(), 5);
    }
}
