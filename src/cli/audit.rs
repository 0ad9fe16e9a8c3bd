//! `xdrguard audit`: collect then check in one go. Takes every option of `check` (its
//! `EvalArgs`) so both commands evaluate and report the same way.

use super::check::{evaluate_and_report, load_inputs, EvalArgs};
use super::collect::{collect_facts, SourceArgs};
use crate::input::diagnostic::InputError;
use crate::policy::IngestionPlan;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Also save the collected facts document here (for `check --facts` later)
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
}

pub fn run(mut args: AuditArgs) -> Result<u8, InputError> {
    // One `--quiet` silences both the progress display and the report on stdout.
    args.eval.quiet = args.source.quiet;
    // Bad policies, config, exceptions or baseline fail before any request is made.
    let inputs = load_inputs(&args.eval)?;
    let plan = IngestionPlan::new(&inputs.catalog, &inputs.config);
    let mut c = collect_facts(&args.source, plan)?;
    // Saved first: nothing that goes wrong later may throw the collected facts away.
    if let Some(p) = &args.save_facts {
        let text = super::collect::facts_json(&c.facts);
        std::fs::write(p, text).map_err(|e| InputError::io(p, &e))?;
    }
    if let Some(code) = c.report_problems(args.source.quiet) {
        return Ok(code);
    }
    evaluate_and_report(&args.eval, &inputs, &c.facts)
}
