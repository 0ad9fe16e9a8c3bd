//! `xdrguard fleet FLEET.yaml`: audit every target of a fleet file (or this machine's
//! `--shard`) concurrently, keep each target's report and facts in `--out-dir`, and write the
//! fleet report. Exit code: the worst target's, 3 > 1 > 2 > 0.

use super::check::{check_writable_parent, parse_report_spec, write_output, ReportSpec};
use crate::fleet::run::{self, RunOptions};
use crate::fleet::{catalog, Fleet, FleetReport, Shard};
use crate::input::codes::FleetCode;
use crate::input::diagnostic::InputError;
use crate::policy::load_catalog;
use crate::report::{self, Format};
use clap::{ArgAction, Args};
use std::path::PathBuf;
use std::time::Duration;

/// Where the fleet report goes: the options of `fleet` and `merge`.
#[derive(Debug, Args)]
pub struct FleetOutput {
    /// Format of the fleet report
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the fleet report here instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the fleet report as FORMAT to PATH; repeatable
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    pub reports: Vec<ReportSpec>,
    /// Print nothing on stdout (and, for `fleet`, no line per target on stderr)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl FleetOutput {
    /// Fail before any work when a report's folder does not exist.
    pub fn check(&self) -> Result<(), InputError> {
        for p in self.reports.iter().map(|r| &r.path).chain(&self.output) {
            check_writable_parent(p)?;
        }
        Ok(())
    }

    /// Write the fleet report to stdout (unless quiet) or `--output`, and every `--report`.
    pub fn write(&self, report: &FleetReport) -> Result<(), InputError> {
        if self.output.is_some() || !self.quiet {
            let text = report::fleet::render(report, self.format, self.output.is_none());
            write_output(self.output.as_deref(), &text)?;
        }
        for spec in &self.reports {
            write_output(
                Some(&spec.path),
                &report::fleet::render(report, spec.format, false),
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The fleet file (YAML, schemas/fleet.schema.json)
    #[arg(value_name = "FLEET.yaml")]
    pub fleet: PathBuf,
    #[command(flatten)]
    pub out: FleetOutput,
    /// Keep each target's JSON report (NAME.json) and facts (NAME.facts.json) in this folder
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Targets audited at once (requests within a target: its `concurrency`)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel_targets: u16,
    /// Audit only shard I of N (0-based; stable by target name). `N` alone takes I from JOB_COMPLETION_INDEX
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Time limit of a target that sets no `time_limit`, in seconds; then it is `error`
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub time_limit: u64,
    /// Also load the policies in this folder (or file); repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Load only the --policies given, not the shipped catalog
    #[arg(long)]
    pub no_builtin: bool,
    /// Replace UPNs, e-mail addresses and people's display names with stable hashes
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub limits: super::limits::CollectLimitArgs,
    /// Log to stderr: -v retries and failures, -vv every request
    #[arg(long, short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
}

pub fn run(args: FleetArgs) -> Result<u8, InputError> {
    super::init_logging(args.verbose);
    let catalog = load_catalog(&args.policies, !args.no_builtin)?;
    let fleet = Fleet::load(&args.fleet)?;
    let mut targets = fleet.targets;
    if let Some(spec) = &args.shard {
        let index = std::env::var(crate::fleet::shard::INDEX_ENV).ok();
        let shard = Shard::parse(spec, index.as_deref()).map_err(|e| {
            InputError::plain(FleetCode::Shard, format!("--shard {spec}: {e}"))
                .help("give --shard I/N with 0 ≤ I < N, or --shard N in a Kubernetes Indexed Job")
        })?;
        targets.retain(|t| shard.holds(&t.name));
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| InputError::io(dir, &e))?;
    }
    args.out.check()?;
    let prepared = run::prepare(targets, &catalog)?;
    let opts = RunOptions {
        parallel: args.parallel_targets as usize,
        out_dir: args.out_dir.clone(),
        time_limit: Duration::from_secs(args.time_limit.max(1)),
        redact: args.redact,
        limits: args.limits.clone(),
        quiet: args.out.quiet,
        catalog_version: catalog::version(&catalog),
        now: super::check::now()?,
    };
    let rows = super::runtime()?.block_on(run::run(&prepared, &catalog, &opts));
    let report = FleetReport::new(
        rows,
        &catalog::controls(&catalog),
        opts.catalog_version,
        opts.now,
    );
    args.out.write(&report)?;
    Ok(report.exit_code)
}
