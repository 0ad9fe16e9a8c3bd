//! The terminal report: a table of every control, then numbered remediation for each
//! `fail` and `error`. Colour only on a terminal and never with `NO_COLOR`.

use crate::model::{Finding, Status};
use crate::outcome::Report;
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};

/// How to render: colour and width are decided by the caller (terminal detection).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: Option<u16>,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset; the terminal's width.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: tty && !no_color,
            width: if tty { None } else { Some(120) },
        }
    }
}

fn status_color(s: Status) -> Color {
    match s {
        Status::Pass => Color::Green,
        Status::Fail => Color::Red,
        Status::Error => Color::Magenta,
        Status::Skipped => Color::DarkGrey,
        Status::Waived => Color::Cyan,
    }
}

fn status_label(f: &Finding) -> String {
    match (f.status, f.original_status) {
        (Status::Waived, Some(o)) => format!("waived ({o})"),
        (s, _) => s.as_str().to_string(),
    }
}

/// Longest finding shown in the table; fails and errors are spelled out in full below it.
const MAX_CELL: usize = 240;

/// The text on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max).collect();
    cut.push_str("… (details below)");
    cut
}

pub fn render(report: &Report, style: Style) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = style.width {
        table.set_width(w);
    }
    if !style.color {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    table.set_header(vec!["Control", "Severity", "Status", "Finding"]);
    for f in &report.results {
        let mut status = Cell::new(status_label(f));
        if style.color {
            status = status
                .fg(status_color(f.status))
                .add_attribute(Attribute::Bold);
        }
        let mut line = f.message.clone();
        if let Some(r) = &f.reason {
            if f.status == Status::Error {
                line = format!("{line}: {r}");
            } else if !line.contains(r.as_str()) {
                line = format!("{line} ({r})");
            }
        }
        let mut line = one_line(&line, MAX_CELL);
        if f.baseline == Some(crate::model::BaselineState::Known) {
            line.push_str(" [known: in baseline]");
        }
        table.add_row(vec![
            Cell::new(&f.control),
            Cell::new(f.severity.as_str()),
            status,
            Cell::new(line),
        ]);
    }
    let mut out = table.to_string();
    out.push('\n');
    let s = &report.summary;
    out.push_str(&format!(
        "\n{} controls: {} pass, {} fail, {} error, {} skipped, {} waived — verdict: {} (exit {})\n",
        s.total,
        s.pass,
        s.fail,
        s.error,
        s.skipped,
        s.waived,
        report.verdict.as_str(),
        report.exit_code
    ));
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    remediation(&mut out, report);
    out
}

/// Numbered remediation for each `fail`, and the cause of each `error`, below the table.
fn remediation(out: &mut String, report: &Report) {
    let todo: Vec<&Finding> = report
        .results
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    if !todo.is_empty() {
        out.push_str("\nRemediation\n");
    }
    for f in todo {
        out.push_str(&format!(
            "\n{} [{} · {}] {}\n",
            f.control, f.severity, f.status, f.title
        ));
        if f.status == Status::Error {
            if let Some(r) = &f.reason {
                out.push_str(&format!("  Cause: {r}\n"));
            }
            out.push_str("  Grant the permission above to the identity running xdrguard, then run it again.\n");
            continue;
        }
        for e in &f.evidence {
            out.push_str(&format!("  - {e}\n"));
        }
        out.push_str(&format!("  {}\n", f.remediation.summary));
        for (i, step) in f.remediation.steps.iter().enumerate() {
            let mut lines = step.text.lines();
            out.push_str(&format!(
                "  {}. {}: {}\n",
                i + 1,
                step.kind,
                lines.next().unwrap_or_default()
            ));
            for l in lines {
                out.push_str(&format!("       {l}\n"));
            }
        }
        for d in &f.remediation.docs {
            out.push_str(&format!("  Learn: {d}\n"));
        }
    }
}
