//! `xdrguard merge REPORT_OR_DIR…`: combine the per-target reports of `fleet --out-dir`
//! folders, or the fleet reports of its shards, into one fleet report. Exit code: the worst
//! target's, as for `fleet`.

use super::check::{check_writable_parent, parse_report_spec, ReportSpec};
use crate::input::diagnostic::InputError;
use crate::report::Format;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports: fleet reports (of shards) or per-target reports; folders are read for `*.json` (facts left out)
    #[arg(value_name = "REPORT_OR_DIR", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Format of the fleet report
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the fleet report here instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the fleet report as FORMAT to PATH; repeatable
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    pub reports: Vec<ReportSpec>,
    /// Print nothing on stdout
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(args: MergeArgs) -> Result<u8, InputError> {
    for p in args.reports.iter().map(|r| &r.path).chain(&args.output) {
        check_writable_parent(p)?;
    }
    let report = crate::fleet::merge::merge(&args.inputs, super::check::now()?)?;
    super::fleet::write_reports(
        &report,
        args.format,
        args.output.as_deref(),
        &args.reports,
        args.quiet,
    )?;
    Ok(report.exit_code)
}
