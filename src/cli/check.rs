//! `xdrguard check`: evaluate a facts document. The evaluation options are shared with `audit`.

use crate::config::Config;
use crate::diagnostic::InputError;
use crate::eval::{self, Profile};
use crate::facts::FactsDocument;
use crate::finding::Severity;
use crate::policy::{load_catalog, Catalog};
use crate::report::{self, Report};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Options of every command that evaluates controls (`check`, `audit`).
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report here instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which stages to run
    #[arg(long, value_enum, default_value = "full")]
    pub profile: Profile,
    /// Per-control overrides of params, severity and enabled (YAML)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Lowest severity of a fail that makes the exit code 1
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Also load the policies in this folder (or file); repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Load only the --policies given, not the shipped catalog
    #[arg(long)]
    pub no_builtin: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The facts document (written by `xdrguard collect`)
    #[arg(long, value_name = "FILE")]
    pub facts: PathBuf,
    #[command(flatten)]
    pub eval: EvalArgs,
}

pub fn run(args: CheckArgs) -> Result<u8, InputError> {
    // Read every input before doing any work, so bad input fails fast with exit 3.
    let (catalog, config) = load_policies_and_config(&args.eval)?;
    let facts = FactsDocument::load(&args.facts)?;
    evaluate_and_report(&args.eval, &catalog, &config, &facts)
}

/// Load the catalog and the optional config named by the evaluation options.
pub fn load_policies_and_config(args: &EvalArgs) -> Result<(Catalog, Config), InputError> {
    let catalog = load_catalog(&args.policies, !args.no_builtin)?;
    let config = match &args.config {
        Some(p) => Config::load(p, &catalog)?,
        None => Config::default(),
    };
    Ok((catalog, config))
}

/// Evaluate, render, write; returns the exit code of the verdict.
pub fn evaluate_and_report(
    args: &EvalArgs,
    catalog: &Catalog,
    config: &Config,
    facts: &FactsDocument,
) -> Result<u8, InputError> {
    let findings = eval::evaluate(catalog, config, facts, args.profile);
    let report = Report::new(
        findings,
        facts,
        args.profile.as_str(),
        args.fail_on,
        chrono::Utc::now(),
    );
    let text = match args.format {
        Format::Table => {
            let mut style = report::table::Style::detect();
            if args.output.is_some() {
                style.color = false;
            }
            report::table::render(&report, style)
        }
        Format::Json => report::json::render(&report),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(report.exit_code)
}

/// Write to a file, or stdout when none is given.
pub fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<(), InputError> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| InputError::io(p, &e)),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(())
        }
    }
}
