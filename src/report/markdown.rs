//! The Markdown report, for `$GITHUB_STEP_SUMMARY` and a pull-request comment: verdict line,
//! counts, a table of failures, and remediation in collapsible `<details>`.
//!
//! GitHub renders inline HTML and Markdown, so every value goes through [`inline`] (Markdown
//! context) or [`html`] (inside an HTML block, where Markdown is not parsed); code goes in a
//! fence longer than any backtick run it contains.

use crate::model::{BaselineState, Finding, Status};
use crate::outcome::{Report, Verdict};
use std::fmt::Write;

/// Evidence items listed per control: a PR comment is capped at 65,536 characters.
pub const MAX_EVIDENCE: usize = 20;

/// Escape text for an HTML block (our `<summary>` lines), where Markdown is not parsed.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A blank line would end the HTML block and let Markdown parse the rest.
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Escape text for an inline Markdown context (paragraph, list item, table cell): HTML
/// entities, backslash before punctuation with Markdown meaning, line breaks as spaces.
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A fenced code block that `text` cannot close early.
pub fn fence(text: &str, indent: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{indent}{ticks}\n");
    for line in text.lines() {
        let _ = writeln!(out, "{indent}{line}");
    }
    let _ = writeln!(out, "{indent}{ticks}");
    out
}

/// A docs link when it is a plain https URL, else the escaped text.
pub fn link(url: &str) -> String {
    let plain = url.starts_with("https://")
        && !url
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`' | '\\'));
    if plain {
        format!("<{url}>")
    } else {
        inline(url)
    }
}

fn verdict_icon(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Compliant => "✅",
        Verdict::Violations => "❌",
        Verdict::Incomplete => "⚠️",
    }
}

/// Remediation of one finding as Markdown (also used by the SARIF rule help).
pub fn remediation(f: &Finding) -> String {
    let mut out = String::new();
    if !f.remediation.summary.is_empty() {
        let _ = writeln!(out, "{}\n", inline(&f.remediation.summary));
    }
    for (i, step) in f.remediation.steps.iter().enumerate() {
        let kind = step.kind;
        if kind.is_code() {
            let _ = writeln!(out, "{}. **{kind}**:\n", i + 1);
            out.push_str(&fence(&step.text, "   "));
        } else {
            let _ = writeln!(out, "{}. **{kind}**: {}", i + 1, inline(&step.text));
        }
    }
    if !f.remediation.docs.is_empty() {
        let links: Vec<String> = f.remediation.docs.iter().map(|d| link(d)).collect();
        let _ = writeln!(out, "\nLearn: {}", links.join(" · "));
    }
    out
}

fn evidence(out: &mut String, f: &Finding) {
    if f.evidence.is_empty() {
        return;
    }
    out.push_str("Evidence:\n\n");
    for e in f.evidence.iter().take(MAX_EVIDENCE) {
        let name = if e.name.is_empty() {
            String::new()
        } else {
            format!("{} ", inline(&e.name))
        };
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", inline(&e.detail))
        };
        let _ = writeln!(out, "- {name}(<code>{}</code>){detail}", inline(&e.id));
    }
    if f.evidence.len() > MAX_EVIDENCE {
        let _ = writeln!(
            out,
            "- … and {} more (all of them are in the JSON, HTML and CSV reports)",
            f.evidence.len() - MAX_EVIDENCE
        );
    }
    out.push('\n');
}

/// The whole report: heading, counts, then failures, errors, waivers and warnings, each a
/// section only when it has something to say.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    heading(&mut out, report);
    let of = |status: Status| -> Vec<&Finding> {
        report
            .results
            .iter()
            .filter(|f| f.status == status)
            .collect()
    };
    failures(&mut out, &of(Status::Fail));
    errors(&mut out, &of(Status::Error));
    waived(&mut out, &of(Status::Waived));
    if !report.warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(out, "- {}", inline(w));
        }
        out.push('\n');
    }
    out
}

/// Verdict line, what was audited, and the count of each status.
fn heading(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "## {} xdrguard: {} (exit {})\n",
        verdict_icon(report),
        report.verdict.as_str(),
        report.exit_code
    );
    let tenant = report
        .target
        .tenant_id
        .as_deref()
        .map(|t| format!(" · tenant <code>{}</code>", inline(t)))
        .unwrap_or_default();
    let at = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let collected = report
        .facts_collected_at
        .map(|c| format!("facts collected {} · ", at(&c)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Workspace <code>{}</code>{tenant} · profile **{}** · fail on **{}** · {collected}generated {}\n",
        inline(&report.target.workspace_id),
        inline(report.profile.as_str()),
        report.fail_on,
        at(&report.generated_at)
    );
    if let Some(d) = &report.defender_portal {
        let _ = writeln!(out, "{}\n", inline(&d.line()));
    }
    out.push_str("| Total | ✅ Pass | ❌ Fail | ⚠️ Error | ⏭️ Skipped | 🛡️ Waived |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|\n");
    let uncounted = report.uncounted();
    let why = if uncounted.any() {
        format!(" ({})", inline(&uncounted.to_string()))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "| {} | {} | {}{why} | {} | {} | {} |\n",
        s.total, s.pass, s.fail, s.error, s.skipped, s.waived
    );
}

/// A table of the failures, then evidence and remediation of each in a `<details>` block.
fn failures(out: &mut String, fails: &[&Finding]) {
    if fails.is_empty() {
        return;
    }
    out.push_str("### Failures\n\n| Control | Severity | Stage | Finding |\n|---|---|---|---|\n");
    for f in fails {
        let known = if f.baseline == Some(BaselineState::Known) {
            " *(known: in baseline)*"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| **{}** {} | {} | {} | {}{known} |",
            inline(&f.control),
            inline(&f.title),
            f.severity,
            f.stage,
            inline(&f.message)
        );
    }
    out.push('\n');
    for f in fails {
        let _ = writeln!(
            out,
            "<details><summary><b>{}</b> {} — how to fix</summary>\n",
            html(&f.control),
            html(&f.title)
        );
        evidence(out, f);
        out.push_str(&remediation(f));
        out.push_str("\n</details>\n\n");
    }
}

/// The controls that could not be evaluated, with their cause.
fn errors(out: &mut String, errors: &[&Finding]) {
    if errors.is_empty() {
        return;
    }
    out.push_str("### Could not evaluate (error)\n\n| Control | Cause |\n|---|---|\n");
    for f in errors {
        let _ = writeln!(
            out,
            "| **{}** {} | {} |",
            inline(&f.control),
            inline(&f.title),
            inline(f.reason.as_deref().unwrap_or(&f.message))
        );
    }
    out.push_str(
        "\nGrant the missing permission to the identity running xdrguard, then run it again.\n\n",
    );
}

/// The waived findings with who accepted them, until when and why.
fn waived(out: &mut String, waived: &[&Finding]) {
    if waived.is_empty() {
        return;
    }
    out.push_str("### Waived\n\n| Control | Was | Owner | Expires | Ticket | Justification |\n|---|---|---|---|---|---|\n");
    for f in waived {
        let w = f.waiver.as_ref();
        let _ = writeln!(
            out,
            "| **{}** {} | {} | {} | {} | {} | {} |",
            inline(&f.control),
            inline(&f.title),
            f.original_status.map_or("", |s| s.as_str()),
            inline(w.map_or("", |w| w.owner.as_str())),
            w.map(|w| w.expires.to_string()).unwrap_or_default(),
            inline(w.and_then(|w| w.ticket.as_deref()).unwrap_or("")),
            inline(w.map_or("", |w| w.justification.as_str())),
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn inline_neutralises_markup_and_table_breaks() {
        let s = inline("<script>x</script> | **b** [l](javascript:y)\nnext");
        assert_eq!(
            s,
            "&lt;script&gt;x&lt;/script&gt; \\| \\*\\*b\\*\\* \\[l\\]\\(javascript:y\\) next"
        );
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        let f = fence("a ```` b", "");
        assert!(f.starts_with("`````\n"), "{f}");
        assert!(f.ends_with("`````\n"));
    }

    #[test]
    fn link_only_for_plain_https() {
        assert_eq!(
            link("https://learn.microsoft.com/x"),
            "<https://learn.microsoft.com/x>"
        );
        assert_eq!(link("javascript:alert(1)"), "javascript:alert\\(1\\)");
        assert_eq!(link("https://x/<a>"), "https://x/&lt;a&gt;");
    }

    #[test]
    fn verdict_counts_failures_and_details() {
        let md = render(&sample::mixed());
        assert!(
            md.starts_with("## ❌ xdrguard: violations (exit 1)\n"),
            "{md}"
        );
        assert!(md.contains("| 5 | 1 | 1 | 1 | 1 | 1 |"));
        assert!(md.contains("| **XDR-CON-03** Title of XDR-CON-03 | high | connector |"));
        assert!(md.contains("<details><summary><b>XDR-CON-03</b>"));
        assert!(md.contains("### Could not evaluate (error)"));
        assert!(md.contains("| **XDR-CON-05** Title of XDR-CON-05 | fail | secops@contoso.com | 2026-06-30 | SEC-1234 |"));
        assert!(md.contains("### Warnings"));
    }

    #[test]
    fn long_evidence_lists_are_capped() {
        let mut r = sample::mixed();
        let e = r.results[1].evidence[0].clone();
        r.results[1].evidence = vec![e; MAX_EVIDENCE + 5];
        let md = render(&r);
        assert_eq!(md.matches("): not connected").count(), MAX_EVIDENCE);
        assert!(md.contains("- … and 5 more"));
    }

    #[test]
    fn hostile_text_never_becomes_markup() {
        let md = render(&sample::hostile());
        assert!(!md.contains("<script"), "{md}");
        assert!(!md.contains("<img"));
        // Link syntax survives only inside our HTML <summary> lines, where Markdown is not parsed.
        for line in md.lines().filter(|l| !l.starts_with("<details><summary>")) {
            assert!(!line.contains("](javascript"), "{line}");
        }
        // Only our own <details> blocks open and close.
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        // Every table row keeps its column count: no unescaped `|` from the payload.
        for line in md.lines().filter(|l| l.starts_with("| **")) {
            let cells = line.replace("\\|", "").matches('|').count();
            assert!(cells == 5 || cells == 3 || cells == 7, "{line}");
        }
    }
}
