//! `xdrguard check`: evaluate a facts document. The evaluation options are shared with `audit`.

use crate::eval::{self, Profile};
use crate::facts::FactsDocument;
use crate::input::codes::InputCode;
use crate::input::diagnostic::InputError;
use crate::model::Severity;
use crate::outcome::baseline::Baseline;
use crate::outcome::exceptions::Exceptions;
use crate::policy::{load_catalog, Catalog, ValidConfig};
use crate::report::{self, Report};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

/// One extra output of a run: `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

fn parse_report_spec(s: &str) -> Result<ReportSpec, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FORMAT=PATH (e.g. sarif=xdrguard.sarif)"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        format!(
            "unknown format `{format}` (expected table, json, sarif, junit, markdown, html or csv)"
        )
    })?;
    if path.is_empty() {
        return Err(format!("`{s}` has no path after `=`"));
    }
    Ok(ReportSpec {
        format,
        path: PathBuf::from(path),
    })
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
    /// Also write the report as FORMAT to PATH; repeatable (e.g. --report sarif=xdrguard.sarif)
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    pub reports: Vec<ReportSpec>,
    /// Waive the findings listed in this exceptions file (YAML, schemas/exceptions.schema.json)
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
    /// A previous JSON report: only failures absent from it count toward the exit code
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Print nothing on stdout (--output and --report files are still written). Not a flag
    /// of its own here: `check` sets it from its `--quiet`, and `audit` from the `--quiet` it
    /// already has for progress, since two flattened `--quiet` flags would clash.
    #[arg(skip)]
    pub quiet: bool,
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
    /// Print nothing on stdout (--output and --report files are still written)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(mut args: CheckArgs) -> Result<u8, InputError> {
    args.eval.quiet = args.quiet;
    // Read every input before doing any work, so bad input fails fast with exit 3.
    let (catalog, config) = load_policies_and_config(&args.eval)?;
    let facts = FactsDocument::load(&args.facts)?;
    evaluate_and_report(&args.eval, &catalog, &config, &facts)
}

/// Load the catalog and the optional config named by the evaluation options.
///
/// The exceptions file, the baseline and the `--report` folders are checked here too, so a
/// bad one fails with exit 3 before `audit` spends minutes collecting.
pub fn load_policies_and_config(args: &EvalArgs) -> Result<(Catalog, ValidConfig), InputError> {
    let catalog = load_catalog(&args.policies, !args.no_builtin)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    if let Some(p) = &args.exceptions {
        Exceptions::load(p, &catalog)?;
    }
    if let Some(p) = &args.baseline {
        Baseline::load(p)?;
    }
    for spec in &args.reports {
        check_writable_parent(&spec.path)?;
    }
    if let Some(p) = &args.output {
        check_writable_parent(p)?;
    }
    Ok((catalog, config))
}

fn check_writable_parent(path: &Path) -> Result<(), InputError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(InputError::plain(
            InputCode::OutputDir,
            format!(
                "{}: folder {} does not exist",
                path.display(),
                dir.display()
            ),
        )
        .help("create the folder first, or write the report elsewhere")),
        _ => Ok(()),
    }
}

/// Hidden: a fixed "now" (RFC 3339) for reproducible reports in tests; expiry of exceptions
/// is judged against its date.
const NOW_ENV: &str = "XDRGUARD_NOW";

pub(crate) fn now() -> Result<chrono::DateTime<chrono::Utc>, InputError> {
    match std::env::var(NOW_ENV) {
        Ok(v) if !v.is_empty() => chrono::DateTime::parse_from_rfc3339(&v)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| {
                InputError::plain(
                    InputCode::Now,
                    format!("{NOW_ENV}=`{v}` is not an RFC 3339 time: {e}"),
                )
                .help("unset it, or give e.g. 2026-01-15T08:00:00Z")
            }),
        _ => Ok(chrono::Utc::now()),
    }
}

/// Render `report` as `format`; `to_terminal` decides table colour and width.
pub fn render(report: &Report, format: Format, to_terminal: bool) -> String {
    match format {
        Format::Table => {
            let mut style = report::table::Style::detect();
            if !to_terminal {
                style.color = false;
                style.width = Some(120);
            }
            report::table::render(report, style)
        }
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report),
        Format::Junit => report::junit::render(report),
        Format::Markdown => report::markdown::render(report),
        Format::Html => report::html::render(report),
        Format::Csv => report::csv::render(report),
    }
}

/// Evaluate, render, write; returns the exit code of the verdict.
pub fn evaluate_and_report(
    args: &EvalArgs,
    catalog: &Catalog,
    config: &ValidConfig,
    facts: &FactsDocument,
) -> Result<u8, InputError> {
    let now = now()?;
    let exceptions = match &args.exceptions {
        Some(p) => Some(Exceptions::load(p, catalog)?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    let findings = eval::evaluate(catalog, config, facts, args.profile);
    let mut report = Report::new(findings, facts, args.profile.as_str(), args.fail_on, now);
    // Exceptions first: a waived failure is not a failure the baseline needs to judge.
    if let Some(ex) = &exceptions {
        ex.apply(&mut report, now.date_naive());
    }
    if let Some(b) = &baseline {
        b.apply(&mut report);
    }
    if args.output.is_some() || !args.quiet {
        let text = render(&report, args.format, args.output.is_none());
        write_output(args.output.as_deref(), &text)?;
    }
    for spec in &args.reports {
        write_output(Some(&spec.path), &render(&report, spec.format, false))?;
    }
    // The table shows warnings itself; otherwise say them on stderr so CI logs have them.
    let table_on_stdout = args.format == Format::Table && args.output.is_none() && !args.quiet;
    if !table_on_stdout {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
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
