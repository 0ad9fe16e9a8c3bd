//! The terminal report, read top to bottom: a header naming what was audited and when its
//! facts were collected, a table of every control, then the remediation of each `fail` (the
//! fix that unblocks most first) and the cause of each `error`, and last the verdict, so the
//! screen ends on it. Prose wraps at the width without breaking words; commands are never
//! wrapped, so they stay copy-pasteable. Colour only on a terminal and never with `NO_COLOR`.

use crate::model::{Finding, Status};
use crate::outcome::Report;
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use std::cmp::Reverse;
use std::fmt::Write;

/// Width when the output is not a terminal and `COLUMNS` is unset.
pub const DEFAULT_WIDTH: u16 = 80;
/// Narrowest width honoured: below it the table cannot show its four columns.
const MIN_WIDTH: u16 = 40;

/// How to render: colour and width are decided by the caller (terminal detection).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: u16,
}

impl Style {
    /// For stdout (`to_stdout`): colour when it is a terminal and `NO_COLOR` is unset; the
    /// width of `COLUMNS` (even when piped), else of the terminal, else 80. For a file: no
    /// colour, 80 columns.
    pub fn detect(to_stdout: bool) -> Self {
        use std::io::IsTerminal;
        let tty = to_stdout && std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|_| to_stdout);
        let terminal = || tty.then(|| Table::new().width()).flatten();
        Style {
            color: tty && !no_color,
            width: columns
                .or_else(terminal)
                .unwrap_or(DEFAULT_WIDTH)
                .max(MIN_WIDTH),
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

/// The report as text. Every string from the facts, the policies or the exceptions is made
/// [`visible`](super::terminal::visible) first: the table's own colours are the only escapes
/// it writes.
pub fn render(report: &Report, style: Style) -> String {
    use super::terminal::{visible, visible_report, Keep};
    match visible_report(report) {
        Some(clean) => text(&clean, style),
        // Cannot happen (a report reads back what it writes); if it did, no colour, all clean.
        None => visible(
            &text(
                report,
                Style {
                    color: false,
                    ..style
                },
            ),
            Keep::Lines,
        )
        .into_owned(),
    }
}

fn text(report: &Report, style: Style) -> String {
    let mut out = header(report);
    // How onboarding to the Defender portal was decided: a sentence, so wrapped.
    if let Some(d) = &report.defender_portal {
        out.push_str(&wrap(
            &format!("Portal:    {}", d.summary()),
            style.width,
            "",
            "           ",
        ));
    }
    out.push('\n');
    out.push_str(&results_table(report, style));
    out.push('\n');
    remediation(&mut out, report, style.width);
    ingestion(&mut out, report);
    if !report.warnings.is_empty() {
        out.push('\n');
    }
    for w in &report.warnings {
        out.push_str(&wrap(&format!("warning: {w}"), style.width, "", "  "));
    }
    out.push('\n');
    out.push_str(&verdict_line(report, style.width));
    out
}

/// The 14-day ingestion of each table, as a sparkline (oldest day first, `·` for none).
fn ingestion(out: &mut String, report: &Report) {
    if report.ingestion.is_empty() {
        return;
    }
    let width = report
        .ingestion
        .iter()
        .map(|r| r.table.len())
        .max()
        .unwrap_or(0);
    out.push_str("\nData ingestion, last 14 days (oldest first; · = no rows)\n");
    for r in &report.ingestion {
        let daily = r.daily.as_deref().unwrap_or_default();
        let quiet = daily.iter().rev().take_while(|c| **c == 0).count();
        let note = match quiet {
            0 => String::new(),
            n if n == daily.len() => "  no rows".to_string(),
            n => format!("  quiet for {n} day(s)"),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {}  {:>9}{note}",
            r.table,
            super::ingestion_chart::sparkline(daily),
            daily.iter().sum::<i64>()
        );
    }
}

/// What was audited, with which profile and threshold, and when: the facts' collection time
/// is what the findings describe; the report's generation time is when they were judged.
/// Not wrapped: each value is an identifier to copy whole.
fn header(report: &Report) -> String {
    let t = &report.target;
    let at = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut out = String::from("xdrguard — Defender XDR connector readiness\n");
    let _ = writeln!(out, "Workspace: {}", t.workspace_id);
    if let Some(tenant) = &t.tenant_id {
        let _ = writeln!(out, "Tenant:    {tenant}");
    }
    if let Some(op) = &t.operator {
        let _ = writeln!(out, "Operator:  {op}");
    }
    let _ = writeln!(
        out,
        "Profile:   {} · fail on {}",
        report.profile, report.fail_on
    );
    if let Some(c) = &report.facts_collected_at {
        let _ = writeln!(out, "Facts:     collected {}", at(c));
    }
    let _ = writeln!(out, "Report:    generated {}", at(&report.generated_at));
    out
}

/// Every control, one row each.
fn results_table(report: &Report, style: Style) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(style.width);
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
        table.add_row(vec![
            Cell::new(&f.control),
            Cell::new(f.severity.as_str()),
            status,
            Cell::new(finding_line(f)),
        ]);
    }
    let mut out = table.to_string();
    out.push('\n');
    out
}

/// The finding of one row: message, reason, and whether the baseline knew it.
fn finding_line(f: &Finding) -> String {
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
    line
}

/// The counts, saying why failures that do not count do not, then the verdict on a line of
/// its own: the last line on screen.
fn verdict_line(report: &Report, width: u16) -> String {
    let s = &report.summary;
    let uncounted = report.uncounted();
    let why = if uncounted.any() {
        format!(" ({uncounted})")
    } else {
        String::new()
    };
    let counts = format!(
        "{} controls: {} pass, {} fail{why}, {} error, {} skipped, {} waived",
        s.total, s.pass, s.fail, s.error, s.skipped, s.waived,
    );
    let mut out = wrap(&counts, width, "", "  ");
    let _ = writeln!(
        out,
        "verdict: {} (exit {})",
        report.verdict.as_str(),
        report.exit_code
    );
    out
}

/// How many controls were skipped because `control` failed (directly or down the chain).
fn unblocks(report: &Report, control: &str) -> usize {
    report
        .results
        .iter()
        .filter(|f| f.blocked_by.as_deref() == Some(control))
        .count()
}

/// The fails, the one that unblocks most first, then by severity (catalog order among
/// equals); then the errors, most severe first.
fn todo(report: &Report) -> Vec<(&Finding, usize)> {
    let mut todo: Vec<(&Finding, usize)> = report
        .results
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .map(|f| (f, unblocks(report, &f.control)))
        .collect();
    todo.sort_by_key(|(f, n)| (f.status == Status::Error, Reverse(*n), Reverse(f.severity)));
    todo
}

/// "Fix these first", then the remediation of each `fail` and the cause of each `error`.
fn remediation(out: &mut String, report: &Report, width: u16) {
    let todo = todo(report);
    if todo.is_empty() {
        return;
    }
    let first: Vec<String> = todo
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{} (unblocks {n})", f.control))
        .collect();
    if !first.is_empty() {
        let line = format!("\nFix these first: {}", first.join(", "));
        out.push_str(&wrap(&line, width, "", "  "));
    }
    out.push_str("\nRemediation\n");
    for (f, n) in todo {
        let unblocks = if n > 0 {
            format!(" · unblocks {n}")
        } else {
            String::new()
        };
        let title = format!(
            "{} [{} · {}{unblocks}] {}",
            f.control, f.severity, f.status, f.title
        );
        out.push('\n');
        out.push_str(&wrap(&title, width, "", "  "));
        if f.status == Status::Error {
            if let Some(r) = &f.reason {
                cause(out, r, width);
            }
            out.push_str(&wrap(
                "Grant the permission above to the identity running xdrguard, then run it again.",
                width,
                "  ",
                "  ",
            ));
            continue;
        }
        fix(out, f, width);
    }
}

/// Marks the command in an error's cause (`SectionError::describe`): it goes on its own line,
/// unwrapped, so it pastes as it is.
const GRANT: &str = ". Grant it: ";

/// The cause of an `error`, prose wrapped, the grant command (if any) whole on its own line.
fn cause(out: &mut String, reason: &str, width: u16) {
    let (prose, command) = match reason.rsplit_once(GRANT) {
        Some((p, c)) => (format!("{p}. Grant it:"), Some(c)),
        None => (reason.to_string(), None),
    };
    out.push_str(&wrap(&format!("Cause: {prose}"), width, "  ", "    "));
    if let Some(c) = command {
        let _ = writeln!(out, "    {c}");
    }
}

/// Evidence, summary, numbered steps and Learn links of one failure.
fn fix(out: &mut String, f: &Finding, width: u16) {
    for e in &f.evidence {
        out.push_str(&wrap(&format!("- {e}"), width, "  ", "    "));
    }
    out.push_str(&wrap(&f.remediation.summary, width, "  ", "  "));
    for (i, step) in f.remediation.steps.iter().enumerate() {
        let lead = format!("  {}. {}: ", i + 1, step.kind);
        let cont = "       ";
        if step.kind.is_code() {
            // A command line is never wrapped: it must paste as it is.
            let mut lines = step.text.lines();
            let _ = writeln!(out, "{lead}{}", lines.next().unwrap_or_default());
            for l in lines {
                let _ = writeln!(out, "{cont}{l}");
            }
        } else {
            let text = format!("{}. {}: {}", i + 1, step.kind, step.text);
            out.push_str(&wrap(&text, width, "  ", cont));
        }
    }
    for d in &f.remediation.docs {
        let _ = writeln!(out, "  Learn: {d}");
    }
}

/// `text` wrapped at `width` between words only (a word longer than the line, such as a URL
/// or resource ID, overflows rather than breaks; no hyphenation), each line ending in `\n`.
fn wrap(text: &str, width: u16, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(usize::from(width))
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = String::new();
    for paragraph in text.lines() {
        for line in textwrap::wrap(paragraph, &options) {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    if out.is_empty() && !text.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn wrap_breaks_between_words_only() {
        let text =
            "see https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender now";
        let w = wrap(text, 20, "  ", "    ");
        assert_eq!(
            w,
            "  see\n    https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender\n    now\n"
        );
    }

    #[test]
    fn an_error_cause_keeps_its_grant_command_whole() {
        let mut out = String::new();
        cause(
            &mut out,
            "could not read `x`: denied (E), HTTP 403. Needed: Reader. Grant it: az role assignment create --role \"Reader\" --scope /s",
            40,
        );
        assert!(
            out.ends_with("\n    az role assignment create --role \"Reader\" --scope /s\n"),
            "{out}"
        );
    }

    #[test]
    fn a_blocker_comes_first_and_the_verdict_last() {
        let mut r = sample::mixed();
        // XDR-CON-03 fails; make the skipped control blocked by it.
        for f in r.results.iter_mut().filter(|f| f.status == Status::Skipped) {
            f.blocked_by = Some("XDR-CON-03".into());
        }
        let text = render(
            &r,
            Style {
                color: false,
                width: 80,
            },
        );
        assert!(
            text.contains("Fix these first: XDR-CON-03 (unblocks 1)"),
            "{text}"
        );
        assert!(text.ends_with(&format!("verdict: {} (exit {})\n", r.verdict, r.exit_code)));
    }
}
