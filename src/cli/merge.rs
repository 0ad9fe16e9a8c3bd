//! `xdrguard merge REPORT_OR_DIR…`: combine the per-target reports of `fleet --out-dir`
//! folders, or the fleet reports of its shards, into one fleet report. Exit code: the worst
//! target's, as for `fleet`.

use super::fleet::FleetOutput;
use crate::input::diagnostic::InputError;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports: fleet reports (of shards) or per-target reports; folders are read for `*.json` (facts left out)
    #[arg(value_name = "REPORT_OR_DIR", required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub out: FleetOutput,
}

pub fn run(args: MergeArgs) -> Result<u8, InputError> {
    args.out.check()?;
    let report = crate::fleet::merge::merge(&args.inputs, super::check::now()?)?;
    args.out.write(&report)?;
    Ok(report.exit_code)
}
