//! `xdrguard diff OLD NEW`: drift between two JSON reports; exit 1 when anything regressed.

use crate::input::diagnostic::InputError;
use crate::outcome::baseline::load_report;
use crate::outcome::drift;
use crate::report::drift::{render, DriftFormat};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier JSON report
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The later JSON report
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: DriftFormat,
    /// Write the drift here instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: DiffArgs) -> Result<u8, InputError> {
    let old = load_report(&args.old)?;
    let new = load_report(&args.new)?;
    let d = drift::diff(&old, &new);
    super::check::write_output(args.output.as_deref(), &render(&d, args.format))?;
    // The table and Markdown open with the warnings; JSON and files need them on stderr too.
    if args.output.is_some() || args.format == DriftFormat::Json {
        for m in &d.mismatches {
            eprintln!("warning: {m}");
        }
    }
    Ok(d.exit_code())
}
