//! The fleet on a terminal: a row per target (verdict, score, failures, errors, cause), then
//! the controls failing most widely. The matrix itself is too wide for a terminal; the other
//! formats carry it.

use crate::fleet::FleetReport;
use crate::report::table::Style;
use comfy_table::{presets, ContentArrangement, Table};

pub fn render(report: &FleetReport, style: Style) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(style.width);
    t.set_header(["target", "verdict", "score", "fail", "error", "cause"]);
    for r in &report.targets {
        let s = r.summary.as_ref();
        t.add_row([
            r.name.clone(),
            r.verdict.to_string(),
            r.score.map_or("n/a".into(), |s| format!("{s}%")),
            s.map_or(String::new(), |s| s.fail.to_string()),
            s.map_or(String::new(), |s| s.error.to_string()),
            r.cause.clone().unwrap_or_default(),
        ]);
    }
    let mut out = format!("{t}\n");
    let failing: Vec<_> = report
        .controls
        .iter()
        .filter(|c| c.fail + c.error > 0)
        .collect();
    if !failing.is_empty() {
        let mut c = Table::new();
        c.load_style(presets::UTF8_FULL_CONDENSED);
        c.set_content_arrangement(ContentArrangement::Dynamic);
        c.set_width(style.width);
        c.set_header(["control", "severity", "fail", "error", "failing on"]);
        for r in failing {
            c.add_row([
                format!("{} {}", r.control, r.title),
                r.severity.to_string(),
                r.fail.to_string(),
                r.error.to_string(),
                r.failing.join(", "),
            ]);
        }
        out.push_str("\nMost widely failing controls\n");
        out.push_str(&format!("{c}\n"));
    }
    let s = &report.summary;
    out.push_str(&format!(
        "\n{} target(s): {} compliant, {} violations, {} incomplete, {} error — fleet verdict {} (exit {})\n",
        s.targets, s.compliant, s.violations, s.incomplete, s.error, report.verdict, report.exit_code
    ));
    out
}
