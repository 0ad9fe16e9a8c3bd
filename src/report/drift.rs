//! The views of a [`Drift`] (`xdrguard diff`): a terminal table, Markdown for a pull-request
//! comment, and JSON. Each opens with the same line and says the same thing when nothing
//! changed.

use super::markdown::inline;
use crate::model::{Evidence, Status};
use crate::outcome::drift::{Change, Drift};
use std::fmt::Write;

/// What every format says when nothing changed.
const NO_DRIFT: &str = "No drift: every control has the same status and evidence.\n";

/// How `diff` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    Table,
    Markdown,
    Json,
}

pub fn render(drift: &Drift, format: DriftFormat) -> String {
    match format {
        DriftFormat::Table => {
            super::terminal::visible(&table(drift), super::terminal::Keep::Lines).into_owned()
        }
        DriftFormat::Markdown => {
            super::terminal::visible(&markdown(drift), super::terminal::Keep::Lines).into_owned()
        }
        DriftFormat::Json => super::terminal::json_escaped(json(drift)),
    }
}

pub fn json(drift: &Drift) -> String {
    let mut s = serde_json::to_string_pretty(drift).expect("drift serialises");
    s.push('\n');
    s
}

fn at(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "facts collected old → new (reports generated old → new): verdict old → new", the line
/// every format opens with: the collection times are what the findings describe.
fn span(drift: &Drift, between: &str) -> String {
    let collected = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.as_ref().map_or_else(|| "unknown".to_string(), at)
    };
    format!(
        "facts collected {} → {} (reports generated {} → {}){between}verdict {} → {}",
        collected(&drift.old_collected_at),
        collected(&drift.new_collected_at),
        at(&drift.old_generated_at),
        at(&drift.new_generated_at),
        drift.old_verdict,
        drift.new_verdict
    )
}

fn status_or_dash(s: Option<Status>) -> &'static str {
    s.map_or("—", Status::as_str)
}

/// "+ added items; − removed items", by name (or ID), escaped for Markdown unless `plain`.
fn evidence_summary(c: &Change, plain: bool) -> String {
    let fmt = |e: &Evidence| {
        let name = e.label();
        if plain {
            name.to_string()
        } else {
            inline(name)
        }
    };
    let mut parts = Vec::new();
    if !c.evidence_added.is_empty() {
        let items: Vec<String> = c.evidence_added.iter().map(fmt).collect();
        parts.push(format!("+ {}", items.join(", ")));
    }
    if !c.evidence_removed.is_empty() {
        let items: Vec<String> = c.evidence_removed.iter().map(fmt).collect();
        parts.push(format!("− {}", items.join(", ")));
    }
    parts.join("; ")
}

pub fn table(drift: &Drift) -> String {
    let mut out = String::new();
    for m in &drift.mismatches {
        let _ = writeln!(out, "warning: {m}");
    }
    let _ = writeln!(out, "{}", span(drift, ": "));
    if drift.changes.is_empty() {
        out.push_str(NO_DRIFT);
        return out;
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.force_no_tty();
    table.set_width(120);
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table.set_header(vec![
        "Change",
        "Control",
        "Severity",
        "Was → Now",
        "Evidence",
    ]);
    for c in &drift.changes {
        let mark = if c.regression { " (regression)" } else { "" };
        table.add_row(vec![
            format!("{}{mark}", c.kind),
            format!("{}\n{}", c.control, c.title),
            c.severity.to_string(),
            format!(
                "{} → {}",
                status_or_dash(c.old_status),
                status_or_dash(c.new_status)
            ),
            evidence_summary(c, true),
        ]);
    }
    let _ = writeln!(out, "{table}");
    let _ = writeln!(
        out,
        "{} change(s), {} regression(s)",
        drift.changes.len(),
        drift.regressions()
    );
    out
}

pub fn markdown(drift: &Drift) -> String {
    let icon = if drift.regressed { "❌" } else { "✅" };
    let mut out = format!(
        "## {icon} xdrguard drift: {} change(s), {} regression(s)\n\n{}\n\n",
        drift.changes.len(),
        drift.regressions(),
        span(drift, " · ")
    );
    for m in &drift.mismatches {
        let _ = writeln!(out, "> ⚠️ **Warning:** {}\n", inline(&m.to_string()));
    }
    if drift.changes.is_empty() {
        out.push_str(NO_DRIFT);
        return out;
    }
    out.push_str("| Change | Control | Severity | Was → Now | Evidence |\n|---|---|---|---|---|\n");
    for c in &drift.changes {
        let mark = if c.regression {
            " **(regression)**"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {}{mark} | **{}** {} | {} | {} → {} | {} |",
            c.kind,
            inline(&c.control),
            inline(&c.title),
            c.severity,
            status_or_dash(c.old_status),
            status_or_dash(c.new_status),
            evidence_summary(c, false)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::drift::diff;
    use crate::outcome::sample::{finding, report};

    #[test]
    fn no_drift_is_said_in_every_text_format() {
        let r = report(vec![finding("XDR-A-01", Status::Fail)]);
        let d = diff(&r, &r);
        assert!(table(&d).ends_with(NO_DRIFT), "{}", table(&d));
        assert!(markdown(&d).ends_with(NO_DRIFT));
        assert!(markdown(&d).starts_with("## ✅ xdrguard drift: 0 change(s), 0 regression(s)"));
    }

    #[test]
    fn markdown_escapes_titles() {
        let old = report(vec![finding("XDR-A-01", Status::Pass)]);
        let mut new = report(vec![finding("XDR-A-01", Status::Fail)]);
        new.results[0].title = "<b>x</b> | y".into();
        let md = markdown(&diff(&old, &new));
        assert!(md.contains("&lt;b&gt;x&lt;/b&gt; \\| y"), "{md}");
        assert!(md.contains("| newly failing **(regression)** |"), "{md}");
    }
}
