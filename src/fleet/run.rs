//! Auditing the targets of a fleet concurrently from one process: at most `parallel` targets
//! in flight, each with its own credentials, HTTP client (its own `concurrency`, retry budget
//! and per-attempt timeout) and time limit, so a slow, throttled or unreachable tenant holds
//! up and fails only itself. A finished target's facts and report are written to the out-dir
//! and dropped: the run keeps only its row, so memory does not grow with the fleet's facts.

use super::file::{Credentials, TargetSpec};
use super::report::TargetRow;
use crate::cli::{collect_with, endpoints, SourceArgs};
use crate::collect::auth::Tokens;
use crate::collect::cloud::Endpoints;
use crate::collect::progress::Progress;
use crate::eval;
use crate::outcome::exceptions::Exceptions;
use crate::outcome::{Gate, Report};
use crate::policy::{Catalog, IngestionPlan, ValidConfig};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A target with its config and exceptions loaded: nothing left that can be bad input.
pub struct Prepared {
    pub spec: TargetSpec,
    pub config: ValidConfig,
    pub gate: Gate,
}

/// Load every target's config and exceptions (each file once) before any request, so a bad
/// file is exit 3 with its diagnostic, not a failed target an hour into the run.
pub fn prepare(
    targets: Vec<TargetSpec>,
    catalog: &Catalog,
) -> Result<Vec<Prepared>, crate::input::diagnostic::InputError> {
    let mut configs: HashMap<Option<PathBuf>, ValidConfig> = HashMap::new();
    let mut exceptions: HashMap<PathBuf, Exceptions> = HashMap::new();
    let mut out = Vec::with_capacity(targets.len());
    for spec in targets {
        let config = match configs.get(&spec.config) {
            Some(c) => c.clone(),
            None => {
                let c = ValidConfig::load(spec.config.as_deref(), catalog)?;
                configs.insert(spec.config.clone(), c.clone());
                c
            }
        };
        let ex = match &spec.exceptions {
            Some(p) => Some(match exceptions.get(p) {
                Some(e) => e.clone(),
                None => {
                    let e = Exceptions::load(p, catalog)?;
                    exceptions.insert(p.clone(), e.clone());
                    e
                }
            }),
            None => None,
        };
        let gate = Gate {
            fail_on: spec.fail_on,
            exceptions: ex,
            baseline: None,
        };
        out.push(Prepared { spec, config, gate });
    }
    Ok(out)
}

/// Fleet-wide settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Targets in flight at once.
    pub parallel: usize,
    /// Where each target's JSON report and facts are kept.
    pub out_dir: Option<PathBuf>,
    /// Time limit of a target that sets none.
    pub time_limit: Duration,
    pub redact: bool,
    /// What one server may make a target's collection read (the `--max-*` collect flags).
    pub limits: crate::cli::limits::CollectLimitArgs,
    /// No line per finished target on stderr.
    pub quiet: bool,
    /// Stamped on every per-target report.
    pub catalog_version: String,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Audit every target, at most `parallel` at once; rows come back in the order they finish.
pub async fn run(targets: &[Prepared], catalog: &Catalog, opts: &RunOptions) -> Vec<TargetRow> {
    futures::stream::iter(targets)
        .map(|t| audit(t, catalog, opts))
        .buffer_unordered(opts.parallel.max(1))
        .collect()
        .await
}

/// The `audit` options of a target; a URL it does not set comes from the
/// `XDRGUARD_*_URL` variables, as for one audit.
fn source_args(s: &TargetSpec, opts: &RunOptions) -> SourceArgs {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    SourceArgs {
        workspace: s.workspace.clone(),
        operator: s.operator.clone(),
        auth: s.auth,
        cloud: s.cloud,
        graph_url: s.graph_url.clone().or_else(|| env("XDRGUARD_GRAPH_URL")),
        arm_url: s.arm_url.clone().or_else(|| env("XDRGUARD_ARM_URL")),
        log_analytics_url: s
            .log_analytics_url
            .clone()
            .or_else(|| env("XDRGUARD_LOG_ANALYTICS_URL")),
        concurrency: s.concurrency,
        max_retry_wait: s.max_retry_wait,
        timeout: s.timeout,
        redact: opts.redact,
        limits: opts.limits.clone(),
        quiet: true,
        verbose: 0,
    }
}

/// The target's own credential; a variable it names that is unset is a sign-in failure of
/// this target only.
fn tokens(c: &Credentials, endpoints: Endpoints) -> Tokens {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match c {
        Credentials::Ambient(method) => Tokens::from_env(*method, endpoints),
        Credentials::TokenEnv(name) => match var(name) {
            Some(t) => Tokens::fixed(t.trim(), endpoints),
            None => Tokens::unavailable(format!("access_token_env: {name} is not set"), endpoints),
        },
        Credentials::ClientSecret {
            tenant_id,
            client_id,
            secret_env,
        } => match var(secret_env) {
            Some(s) => Tokens::service_principal(tenant_id, client_id, Some(s), None, endpoints),
            None => Tokens::unavailable(
                format!("client_secret_env: {secret_env} is not set"),
                endpoints,
            ),
        },
        Credentials::Federated {
            tenant_id,
            client_id,
            token_file,
        } => Tokens::service_principal(
            tenant_id,
            client_id,
            None,
            Some(token_file.clone()),
            endpoints,
        ),
    }
}

/// One target: collect within its time limit, evaluate, keep its files, return its row.
async fn audit(t: &Prepared, catalog: &Catalog, opts: &RunOptions) -> TargetRow {
    let started = Instant::now();
    let s = &t.spec;
    let ws = s.workspace.id.as_str();
    let src = source_args(s, opts);
    let row = match endpoints(&src) {
        Err(e) => TargetRow::failed(&s.name, ws, crate::cli::exit::BAD_INPUT, e.message),
        Ok(ep) => {
            let tokens = tokens(&s.credentials, ep.clone());
            let plan = IngestionPlan::new(catalog, &t.config);
            let limit = s.time_limit.map_or(opts.time_limit, Duration::from_secs);
            let collected = tokio::time::timeout(
                limit,
                collect_with(&src, plan, ep, tokens, Progress::hidden()),
            )
            .await;
            match collected {
                Err(_) => TargetRow::failed(
                    &s.name,
                    ws,
                    crate::cli::exit::INCOMPLETE,
                    format!(
                        "did not finish within its time limit of {}s",
                        limit.as_secs()
                    ),
                ),
                Ok(Err(e)) => {
                    let help = e
                        .help
                        .clone()
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default();
                    TargetRow::failed(&s.name, ws, crate::cli::exit::BAD_INPUT, e.message + &help)
                }
                Ok(Ok(c)) => evaluate(t, catalog, opts, c),
            }
        }
    };
    if !opts.quiet {
        let how = match (&row.score, &row.cause) {
            (_, Some(cause)) => format!("error: {cause}"),
            (Some(score), None) => format!("{} (score {score}%)", row.verdict),
            (None, None) => row.verdict.to_string(),
        };
        eprintln!(
            "fleet: {} {how} in {:.1}s",
            s.name,
            started.elapsed().as_secs_f64()
        );
    }
    row
}

/// Evaluate what was collected, keep the facts and report in the out-dir, return the row.
fn evaluate(
    t: &Prepared,
    catalog: &Catalog,
    opts: &RunOptions,
    c: crate::cli::Collected,
) -> TargetRow {
    let s = &t.spec;
    let ws = s.workspace.id.as_str();
    let mut problems: Vec<String> = Vec::new();
    if let Some(dir) = &opts.out_dir {
        let text = serde_json::to_string_pretty(&c.facts).expect("facts serialise") + "\n";
        if let Err(e) = write(dir, &format!("{}.facts.json", s.name), &text) {
            problems.push(e);
        }
    }
    if let Some(e) = &c.internal {
        return TargetRow::failed(&s.name, ws, crate::cli::exit::INCOMPLETE, e.message.clone());
    }
    if c.nothing_reached() {
        let hosts: Vec<String> = c
            .unreachable
            .iter()
            .map(|(h, cause)| format!("cannot connect to {h} ({cause})"))
            .collect();
        return TargetRow::failed(&s.name, ws, crate::cli::exit::INCOMPLETE, hosts.join("; "));
    }
    let findings = eval::evaluate(catalog, &t.config, &c.facts, s.profile);
    let mut report = Report::new(findings, &c.facts, s.profile, &t.gate, opts.now);
    report.name = Some(s.name.clone());
    report.catalog_version = Some(opts.catalog_version.clone());
    if let Some(dir) = &opts.out_dir {
        if let Err(e) = write(
            dir,
            &format!("{}.json", s.name),
            &crate::report::json::render(&report),
        ) {
            problems.push(e);
        }
    }
    if !problems.is_empty() {
        return TargetRow::failed(
            &s.name,
            ws,
            crate::cli::exit::BAD_INPUT,
            problems.join("; "),
        );
    }
    TargetRow::of_report(&s.name, &report)
}

fn write(dir: &Path, file: &str, text: &str) -> Result<(), String> {
    let p = dir.join(file);
    std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
}
