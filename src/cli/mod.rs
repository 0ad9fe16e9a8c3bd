//! Command-line interface: argument parsing and dispatch. Each command lives in its own file.

mod audit;
mod check;
mod collect;
mod controls;
mod diff;
mod explain;
mod fleet;
pub(crate) mod limits;
mod lint;
mod merge;
mod permissions;
mod scan;
mod test;

pub use check::EvalArgs;
pub use collect::{collect_facts, collect_with, endpoints, Collected, SourceArgs, Stats};
pub(crate) use collect::{init_logging, parse_workspace, runtime};

use crate::input::codes::UsageCode;
use crate::input::diagnostic::InputError;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes, documented in the README and `--help`.
pub mod exit {
    /// Compliant: no fail at or above --fail-on, no error.
    pub const COMPLIANT: u8 = 0;
    /// A fail at or above --fail-on (or, for `diff`, a regression; for `test`, a failing case).
    pub const VIOLATIONS: u8 = 1;
    /// No such fail, but some control could not be evaluated (`error`).
    pub const INCOMPLETE: u8 = 2;
    /// Bad input or usage: policy, facts, config, exceptions or arguments.
    pub const BAD_INPUT: u8 = 3;
}

const EXIT_CODES: &str = "Exit codes:
  0  compliant: no fail at or above --fail-on, and every control evaluated
  1  a fail at or above --fail-on (diff: something regressed; test: a case failed)
  2  no such fail, but some control could not be evaluated (error)
  3  bad input or usage (policy, facts, config, exceptions, arguments)";

const DIFF_EXIT_CODES: &str =
    "Reports of different workspaces, tenants, profiles or --fail-on thresholds
are still compared, but the output opens with a warning naming each difference
(and says it on stderr for JSON and --output), since the changes then describe
the mix-up. The header shows when each report's facts were collected.

Exit codes:
  0  nothing regressed
  1  something regressed: a control newly fails, a failing control has new offending items,
     or a passing control can no longer be evaluated
  3  bad input (a file is not an xdrguard JSON report)";

#[derive(Debug, Parser)]
#[command(
    name = "xdrguard",
    version,
    about = "Audit a Microsoft tenant and its Sentinel workspace for the Microsoft Defender XDR connector, as policy-as-code",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub input_limits: limits::InputLimitArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate the controls over a facts document and report
    #[command(after_help = EXIT_CODES)]
    Check(check::CheckArgs),
    /// Compare two JSON reports: newly failing, resolved, status and evidence changes
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(diff::DiffArgs),
    /// Validate policy and config files (schema and meaning), with diagnostics
    Lint(lint::LintArgs),
    /// List the controls
    Controls(controls::ControlsArgs),
    /// Explain a control: what is checked, why, params and remediation
    Explain(explain::ExplainArgs),
    /// Run policy test cases (base facts + patch + expected status)
    Test(test::TestArgs),
    /// Read the tenant and workspace from Microsoft and write the facts document
    Collect(collect::CollectArgs),
    /// Collect and check in one go (takes every option of `check`)
    #[command(after_help = EXIT_CODES)]
    Audit(audit::AuditArgs),
    /// Judge Sentinel content as code (ARM templates, YAML rules) — a pull-request gate
    #[command(after_help = EXIT_CODES)]
    Scan(scan::ScanArgs),
    /// Print the least Graph permissions and Azure roles a read-only audit identity needs
    Permissions(permissions::PermissionsArgs),
    /// Audit every target of a fleet file concurrently into one fleet report
    #[command(after_help = FLEET_EXIT_CODES)]
    Fleet(fleet::FleetArgs),
    /// Combine per-target or per-shard JSON reports into one fleet report
    #[command(after_help = FLEET_EXIT_CODES)]
    Merge(merge::MergeArgs),
}

const FLEET_EXIT_CODES: &str = "Exit codes: the worst target's, in the order 3 > 1 > 2 > 0
  0  every target compliant
  1  some target has a fail at or above its fail_on
  2  no such fail, but some target or control could not be evaluated
  3  bad input (fleet file, config, exceptions, reports to merge) or a target's sign-in failed";

/// Parse arguments, run, and map every outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    exit::COMPLIANT
                }
                _ => exit::BAD_INPUT,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            print_error(e);
            ExitCode::from(exit::BAD_INPUT)
        }
    }
}

/// Print an input error as miette diagnostics on stderr (no colour unless a terminal).
///
/// Each problem is rendered on its own: miette would render the related ones under the
/// first, each after a bare `Error:` line that reads as a problem of its own.
pub fn print_error(e: InputError) {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let handler = miette::GraphicalReportHandler::new_themed(if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_width(100)
    // Control IDs and paths contain hyphens: wrap between words only, never inside `XDR-CON-03`.
    .with_break_words(false)
    .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = String::new();
    for (i, d) in e.into_each().into_iter().enumerate() {
        let d = d.visible();
        if i > 0 {
            out.push('\n');
        }
        let mut one = String::new();
        if handler.render_report(&mut one, &d).is_err() {
            one = format!("{d}\n");
        }
        out += &one;
    }
    eprint!("{out}");
}

/// The error for an ID the catalog lacks: the closest known IDs first ("did you mean"),
/// then every known ID.
pub(crate) fn unknown_control<'a>(given: &str, known: impl Iterator<Item = &'a str>) -> InputError {
    let mut ids: Vec<&str> = known.collect();
    ids.sort();
    let close = crate::input::diagnostic::closest(given, ids.iter().copied());
    let help = match close {
        Some(id) => format!("did you mean {id}? Known IDs: {}", ids.join(", ")),
        None => format!("known IDs: {}", ids.join(", ")),
    };
    InputError::plain(
        UsageCode::UnknownControl,
        format!("unknown control ID `{given}`"),
    )
    .help(help)
}

fn run(cli: Cli) -> Result<u8, InputError> {
    cli.input_limits.apply();
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Controls(a) => controls::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Test(a) => test::run(a),
        Command::Collect(a) => collect::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Permissions(a) => permissions::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Fleet(a) => fleet::run(a),
        Command::Merge(a) => merge::run(a),
    }
}
