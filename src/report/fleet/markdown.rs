//! The fleet in Markdown (a job summary, a wiki page): the verdict per target, the controls
//! failing most widely, then the full target × control matrix. Table cells are escaped so
//! no tenant-chosen text can break a table or inject markup.

use super::{cell, columns};
use crate::fleet::FleetReport;

/// Text safe in a Markdown table cell: pipes, markup characters and line breaks neutralised.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &FleetReport) -> String {
    let s = &report.summary;
    let mut out = format!(
        "# xdrguard fleet report\n\n**Verdict: {}** (exit {}) — {} target(s): {} compliant, {} violations, {} incomplete, {} error. Catalog {}, generated {}.\n\n",
        report.verdict,
        report.exit_code,
        s.targets,
        s.compliant,
        s.violations,
        s.incomplete,
        s.error,
        report.catalog_version,
        report.generated_at.to_rfc3339()
    );
    out.push_str("## Targets\n\n| target | verdict | score | fail | error | cause |\n|---|---|---|---|---|---|\n");
    for r in &report.targets {
        let sm = r.summary.as_ref();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            esc(&r.name),
            r.verdict,
            r.score.map_or("n/a".into(), |s| format!("{s}%")),
            sm.map_or(String::new(), |s| s.fail.to_string()),
            sm.map_or(String::new(), |s| s.error.to_string()),
            esc(r.cause.as_deref().unwrap_or(""))
        ));
    }
    out.push_str("\n## Controls, most widely failing first\n\n| control | title | severity | fail | error | pass | failing on |\n|---|---|---|---|---|---|---|\n");
    for c in &report.controls {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            esc(&c.control),
            esc(&c.title),
            c.severity,
            c.fail,
            c.error,
            c.pass,
            esc(&c.failing.join(", "))
        ));
    }
    let cols = columns(report);
    out.push_str("\n## Matrix\n\n| target |");
    for c in &cols {
        out.push_str(&format!(" {} |", esc(c)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(cols.len()));
    out.push('\n');
    for r in &report.targets {
        out.push_str(&format!("| {} |", esc(&r.name)));
        for c in &cols {
            out.push_str(&format!(" {} |", cell(r.results.get(*c))));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_ranking_and_matrix_escaped() {
        let md = render(&super::super::sample::fleet());
        assert!(md.contains("**Verdict: violations** (exit 1)"), "{md}");
        assert!(md.contains("| contoso | violations | 50% | "), "{md}");
        assert!(md.contains("| woodgrove | error | n/a |  |  | cannot connect to \\<script\\>alert(1)\\</script\\> |"), "{md}");
        // XDR-B-01 fails on one target, so it ranks before XDR-A-01.
        let b = md.find("| XDR-B-01 | =cmd\\|").unwrap();
        let a = md.find("| XDR-A-01 | License \\<b\\>\\&\\</b\\>").unwrap();
        assert!(b < a, "{md}");
        assert!(md.contains("| contoso | fail | pass |"), "{md}");
        assert!(md.contains("| woodgrove | — | — |"), "{md}");
    }
}
