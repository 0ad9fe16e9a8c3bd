//! Reporters: one entry point, [`render`], and one file per format, all rendered from the
//! [`Report`] that `outcome` decided. Reporters only format; they decide nothing. The text of
//! `diff`, `controls`, `explain` and `permissions` is rendered here too.

pub mod controls;
pub mod csv;
pub mod drift;
pub mod explain;
pub mod fleet;
pub mod html;
pub mod ingestion_chart;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod permissions;

pub mod sarif;
pub mod table;
pub mod terminal;

use crate::outcome::Report;

/// The formats of `check` and `audit` (`--format`, `--report FORMAT=PATH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terminal table with remediation
    Table,
    /// JSON report (schemas/report.schema.json): input of --baseline and `diff`
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// JUnit XML, for Azure DevOps and GitLab test reports
    Junit,
    /// Markdown, for $GITHUB_STEP_SUMMARY and PR comments
    Markdown,
    /// Self-contained HTML page
    Html,
    /// CSV, one row per control
    Csv,
}

/// Render `report` as `format`; `to_stdout` (not a file) lets the table follow the terminal
/// and `COLUMNS`.
///
/// No format carries a raw control character from data: the table and CSV make them visible
/// per value, JSON and SARIF escape them, and the text formats (which write none of their
/// own) make them visible in the whole text.
pub fn render(report: &Report, format: Format, to_stdout: bool) -> String {
    use terminal::{json_escaped, visible, Keep};
    let text = |s: String| visible(&s, Keep::Lines).into_owned();
    match format {
        Format::Table => table::render(report, table::Style::detect(to_stdout)),
        Format::Json => json::render(report),
        Format::Sarif => json_escaped(sarif::render(report)),
        Format::Junit => text(junit::render(report)),
        Format::Markdown => text(markdown::render(report)),
        Format::Html => text(html::render(report)),
        Format::Csv => csv::render(report),
    }
}
