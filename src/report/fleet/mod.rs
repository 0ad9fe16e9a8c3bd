//! The fleet report's formats, rendered from the [`FleetReport`] `fleet` or `merge` built:
//! a target × control matrix, each target's verdict and readiness score (or why it could not
//! be audited), and the controls failing most widely first. One file per format.

mod csv;
mod html;
mod junit;
mod markdown;
mod sarif;
mod table;

use super::Format;
use crate::fleet::FleetReport;
use crate::model::Status;

/// Render `report` as `format`; `to_stdout` lets the table follow the terminal.
pub fn render(report: &FleetReport, format: Format, to_stdout: bool) -> String {
    match format {
        Format::Table => table::render(report, super::table::Style::detect(to_stdout)),
        Format::Json => json(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
        Format::Csv => csv::render(report),
    }
}

/// The JSON fleet report (`schemas/fleet-report.schema.json`): input of `merge`.
pub fn json(report: &FleetReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("fleet report serialises");
    s.push('\n');
    s
}

/// The control IDs of the matrix's columns, in the order the ranking lists them.
fn columns(report: &FleetReport) -> Vec<&str> {
    report.controls.iter().map(|c| c.control.as_str()).collect()
}

/// A matrix cell: the status, or `—` where the target has no result for the control.
fn cell(status: Option<&Status>) -> &'static str {
    status.map_or("—", |s| s.as_str())
}

#[cfg(test)]
pub(crate) mod sample {
    use crate::fleet::report::{ControlInfo, FleetReport, TargetRow};
    use crate::model::{Severity, Status};

    /// Three targets: one failing, one passing, one that could not be audited, with text a
    /// hostile tenant could choose.
    pub fn fleet() -> FleetReport {
        let controls = [
            ControlInfo {
                control: "XDR-A-01".into(),
                title: "License <b>&</b>".into(),
                severity: Severity::Critical,
            },
            ControlInfo {
                control: "XDR-B-01".into(),
                title: "=cmd|' /C calc'!A0".into(),
                severity: Severity::Low,
            },
        ];
        let row = |name: &str, exit: u8, a: Status, b: Status| {
            let mut r = TargetRow::failed(name, "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w", exit, String::new());
            r.cause = None;
            r.verdict = if exit == 1 {
                crate::fleet::TargetVerdict::Violations
            } else {
                crate::fleet::TargetVerdict::Compliant
            };
            r.score = Some(if exit == 1 { 50 } else { 100 });
            r.results = [("XDR-A-01".to_string(), a), ("XDR-B-01".to_string(), b)]
                .into_iter()
                .collect();
            r
        };
        let targets = vec![
            row("contoso", 1, Status::Pass, Status::Fail),
            row("fabrikam", 0, Status::Pass, Status::Pass),
            TargetRow::failed(
                "woodgrove",
                "/w",
                2,
                "cannot connect to <script>alert(1)</script>".into(),
            ),
        ];
        FleetReport::new(
            targets,
            &controls,
            "sha256:0123456789abcdef".into(),
            "2026-01-15T08:00:00Z".parse().unwrap(),
        )
    }
}
