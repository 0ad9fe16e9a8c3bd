//! `xdrguard check`: evaluate a facts document. The evaluation options are shared with `audit`.

use crate::eval;
use crate::facts::FactsDocument;
use crate::input::codes::InputCode;
use crate::input::diagnostic::InputError;
use crate::input::limits::{self, InputKind};
use crate::input::{kind, schema};
use crate::model::{Profile, Severity};
use crate::outcome::baseline::Baseline;
use crate::outcome::exceptions::Exceptions;
use crate::outcome::{Gate, Report};
use crate::policy::{load_catalog, Catalog, ValidConfig};
use crate::report::{self, Format};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// One extra output of a run: `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

pub(crate) fn parse_report_spec(s: &str) -> Result<ReportSpec, String> {
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
    /// The previous run's JSON report: the summary shows what is newly failing and resolved
    /// (changes nothing that counts; see --baseline for that)
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
    /// Print nothing on stdout (--output and --report files are still written). Not a flag
    /// of its own here: `check` sets it from its `--quiet`, and `audit` from the `--quiet` it
    /// already has for progress, since two flattened `--quiet` flags would clash.
    #[arg(skip)]
    pub quiet: bool,
    #[command(flatten)]
    pub limits: crate::policy::limits::LimitArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|_| format!("unknown severity `{s}` (expected low, medium, high or critical)"))
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The facts document (written by `xdrguard collect`); `-` reads it from stdin
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
    let inputs = load_inputs(&args.eval)?;
    let facts = load_facts(&args.facts)?;
    evaluate_and_report(&args.eval, &inputs, &facts)
}

/// Read the facts document at `path`, or from stdin for `-` (`xdrguard collect … | xdrguard
/// check --facts -`). Another of xdrguard's files given by mistake is named for what it is.
fn load_facts(path: &Path) -> Result<FactsDocument, InputError> {
    let file = if path == Path::new("-") {
        limits::read_stdin(InputKind::Facts)?
    } else {
        limits::read(path, InputKind::Facts)?
    };
    FactsDocument::parse(file.clone())
        .map_err(|e| kind::misfiled_text(&file, schema::Kind::Facts).unwrap_or(e))
}

/// What the evaluation options name, each read once: the catalog, the config, and the gate
/// (threshold, exceptions, baseline).
pub struct Inputs {
    pub catalog: Catalog,
    pub config: ValidConfig,
    pub gate: Gate,
    /// The `--previous` report.
    pub previous: Option<Report>,
}

/// Read every input the evaluation options name, and check the `--report` and `--output`
/// folders, so bad input fails with exit 3 before `audit` spends minutes collecting.
pub fn load_inputs(args: &EvalArgs) -> Result<Inputs, InputError> {
    args.limits.apply();
    let catalog = load_catalog(&args.policies, !args.no_builtin)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    let exceptions = match &args.exceptions {
        Some(p) => Some(Exceptions::load(p, &catalog)?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    let previous = match &args.previous {
        Some(p) => Some(crate::outcome::baseline::load_report(p)?),
        None => None,
    };
    for spec in &args.reports {
        check_writable_parent(&spec.path)?;
    }
    if let Some(p) = &args.output {
        check_writable_parent(p)?;
    }
    let gate = Gate {
        fail_on: args.fail_on,
        exceptions,
        baseline,
    };
    Ok(Inputs {
        catalog,
        config,
        gate,
        previous,
    })
}

pub(crate) fn check_writable_parent(path: &Path) -> Result<(), InputError> {
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

/// Evaluate, render, write; returns the exit code of the verdict.
pub fn evaluate_and_report(
    args: &EvalArgs,
    inputs: &Inputs,
    facts: &FactsDocument,
) -> Result<u8, InputError> {
    let now = now()?;
    let facts = &eval::portal::with_config(facts, inputs.config.defender_portal);
    let findings = eval::evaluate(&inputs.catalog, &inputs.config, facts, args.profile);
    let mut report = Report::new(findings, facts, args.profile, &inputs.gate, now);
    if let Some(prev) = &inputs.previous {
        report.since_previous = Some(crate::outcome::trend::SincePrevious::of(prev, &report));
    }
    if args.output.is_some() || !args.quiet {
        let to_terminal = args.output.is_none();
        write_report(args.output.as_deref(), &report, args.format, to_terminal)?;
    }
    for spec in &args.reports {
        write_report(Some(&spec.path), &report, spec.format, false)?;
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

/// Render and write `report`; JSON is streamed (a large report is never one string).
fn write_report(
    path: Option<&std::path::Path>,
    report: &Report,
    format: Format,
    to_terminal: bool,
) -> Result<(), InputError> {
    if format != Format::Json {
        return write_output(path, &report::render(report, format, to_terminal));
    }
    match path {
        Some(p) => std::fs::File::create(p)
            .and_then(|f| report::json::write(report, f))
            .map_err(|e| InputError::io(p, &e)),
        None => {
            // A closed pipe (e.g. `| head`) is not an error worth a panic.
            let _ = report::json::write(report, std::io::stdout().lock());
            Ok(())
        }
    }
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
