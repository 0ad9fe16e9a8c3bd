//! `xdrguard collect`: sign in, read the tenant and workspace, write the facts document.
//! The source options live here and are shared with `audit`.

use super::check::write_output;
use crate::collect::auth::{AuthMethod, Tokens};
use crate::collect::cloud::{Cloud, Endpoints};
use crate::collect::http::{Http, RetryPolicy};
use crate::collect::progress::Progress;
use crate::collect::{self, Options};
use crate::facts::apis::Api;
use crate::facts::{FactsDocument, Section, WorkspaceRef};
use crate::input::codes::CollectCode;
use crate::input::diagnostic::InputError;
use crate::policy::{load_catalog, IngestionPlan, ValidConfig};
use clap::{ArgAction, Args};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where to read from and how: options of every command that talks to Microsoft.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// ARM resource ID of the Sentinel workspace (/subscriptions/…/workspaces/…)
    #[arg(long, value_name = "RESOURCE_ID", value_parser = parse_workspace)]
    pub workspace: WorkspaceRef,
    /// The person who will connect Defender XDR (UPN or object id); default: the signed-in user
    #[arg(long, value_name = "UPN_OR_ID")]
    pub operator: Option<String>,
    /// How to sign in (XDRGUARD_ACCESS_TOKEN, when set, is used instead)
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthMethod,
    /// Which Microsoft cloud
    #[arg(long, value_enum, default_value = "public")]
    pub cloud: Cloud,
    /// Override the Microsoft Graph base URL
    #[arg(long, env = "XDRGUARD_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,
    /// Override the Azure Resource Manager base URL
    #[arg(long, env = "XDRGUARD_ARM_URL", value_name = "URL")]
    pub arm_url: Option<String>,
    /// Override the Log Analytics query API base URL
    #[arg(long, env = "XDRGUARD_LOG_ANALYTICS_URL", value_name = "URL")]
    pub log_analytics_url: Option<String>,
    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Longest total wait per request for Retry-After and backoff, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub max_retry_wait: u64,
    /// Timeout of one HTTP attempt, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Replace UPNs, e-mail addresses and people's display names with stable hashes
    #[arg(long)]
    pub redact: bool,
    /// No progress display on stderr
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Log to stderr: -v retries and failures, -vv every request
    #[arg(long, short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub limits: super::limits::CollectLimitArgs,
}

/// Any case is accepted (ARM IDs are case-insensitive) and normalised once; a subscription
/// that is not a GUID could never be found, so it is refused before any request.
pub(crate) fn parse_workspace(s: &str) -> Result<WorkspaceRef, String> {
    let w = WorkspaceRef::parse(s).ok_or_else(|| {
        "expected /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}".to_string()
    })?;
    if !crate::facts::is_guid(&w.subscription_id) {
        return Err(format!(
            "subscription `{}` is not a GUID (an Azure subscription id looks like 00000000-0000-0000-0000-000000000000)",
            w.subscription_id
        ));
    }
    Ok(w)
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Write the facts document here instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Config whose params decide which tables and how far back the ingestion query covers
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the policies in this folder (or file); repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
}

/// Exit 0 when every section was read, 2 when any could not be (the facts are written anyway).
pub fn run(args: CollectArgs) -> Result<u8, InputError> {
    let catalog = load_catalog(&args.policies, true)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    let plan = IngestionPlan::new(&catalog, &config);
    let mut c = collect_facts(&args.source, plan)?;
    write_output(args.output.as_deref(), &facts_json(&c.facts))?;
    if let Some(code) = c.report_problems(args.source.quiet) {
        return Ok(code);
    }
    let unread = c
        .facts
        .sections
        .values()
        .any(|s| matches!(s, Section::Error(_)));
    Ok(if unread {
        super::exit::INCOMPLETE
    } else {
        super::exit::COMPLIANT
    })
}

/// The facts document as written: pretty JSON, no raw control character (see
/// [`json_escaped`](crate::report::terminal::json_escaped)).
pub fn facts_json(facts: &FactsDocument) -> String {
    let text = serde_json::to_string_pretty(facts).expect("facts serialise") + "\n";
    crate::report::terminal::json_escaped(text)
}

/// What a collection produced: the facts (always kept), what it cost, and what went wrong
/// beyond single sections.
pub struct Collected {
    pub facts: FactsDocument,
    pub stats: Stats,
    /// The facts fail their own schema: our bug, reported after the facts are saved.
    pub internal: Option<InputError>,
    /// Hosts no connection could be made to, with the cause: one line each.
    pub unreachable: Vec<(String, String)>,
}

impl Collected {
    /// Print the summary and any run-wide problem (after the facts were written); the exit
    /// code when the run cannot be evaluated: our own schema bug, or no API reachable at all.
    pub fn report_problems(&mut self, quiet: bool) -> Option<u8> {
        if !quiet {
            eprintln!("{}", self.stats.summary(&self.facts));
        }
        for (host, cause) in &self.unreachable {
            eprintln!("error: cannot connect to {host} ({cause}); check the network, the proxy (HTTPS_PROXY) and --cloud");
        }
        if let Some(e) = self.internal.take() {
            super::print_error(e);
            return Some(super::exit::INCOMPLETE);
        }
        self.nothing_reached().then_some(super::exit::INCOMPLETE)
    }

    /// Nothing at all could be reached: a report would only repeat that per control.
    pub fn nothing_reached(&self) -> bool {
        !self.unreachable.is_empty()
            && self.facts.sections.values().all(|s| {
                matches!(s, Section::Error(e) if ["ConnectionFailed", "OperatorUnknown", "DependencyFailed"].contains(&e.code.as_str()))
            })
    }
}

/// What a run cost, for the summary line and the benchmark.
#[derive(Debug, Clone)]
pub struct Stats {
    pub elapsed: Duration,
    pub requests: [(Api, usize, usize); 3],
}

impl Stats {
    pub fn total_requests(&self) -> usize {
        self.requests.iter().map(|r| r.1).sum()
    }

    pub fn summary(&self, facts: &FactsDocument) -> String {
        let errors: Vec<&str> = facts
            .sections
            .iter()
            .filter(|(_, s)| matches!(s, Section::Error(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        let per_api = self
            .requests
            .iter()
            .map(|(a, r, t)| format!("{} {r} requests/{t} retries", a.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = format!(
            "collected {} sections in {:.2}s ({per_api})",
            facts.sections.len(),
            self.elapsed.as_secs_f64()
        );
        if !errors.is_empty() {
            s.push_str(&format!("; could not read: {}", errors.join(", ")));
        }
        s
    }
}

/// Sign in (no usable credential is an error before any request), collect, check the result
/// against the facts schema (a mismatch is reported beside the facts, never instead of them).
pub fn collect_facts(src: &SourceArgs, plan: IngestionPlan) -> Result<Collected, InputError> {
    init_logging(src.verbose);
    Tokens::check_given_secrets(src.auth).map_err(|e| {
        InputError::plain(CollectCode::ShortSecret, e)
            .help("give the whole token or secret (an access token is hundreds of characters)")
    })?;
    let endpoints = endpoints(src)?;
    runtime()?.block_on(async {
        let tokens = Tokens::from_env(src.auth, endpoints.clone());
        collect_with(src, plan, endpoints, tokens, Progress::stderr(src.quiet)).await
    })
}

/// The async runtime collection runs on (one thread: the work is waiting on the network).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, InputError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            InputError::plain(
                CollectCode::Runtime,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// The base URLs of `src`: its cloud, with any URL it overrides.
pub fn endpoints(src: &SourceArgs) -> Result<Endpoints, InputError> {
    Endpoints::new(
        src.cloud,
        src.graph_url.as_deref(),
        src.arm_url.as_deref(),
        src.log_analytics_url.as_deref(),
    )
    .map_err(|e| {
        InputError::plain(CollectCode::Url, e)
            .help("use https://, or http:// only to 127.0.0.1/localhost (tests)")
    })
}

/// [`collect_facts`] on the caller's runtime with the caller's credentials: what `fleet`
/// runs for each of many targets at once.
pub async fn collect_with(
    src: &SourceArgs,
    plan: IngestionPlan,
    endpoints: Endpoints,
    tokens: Tokens,
    progress: Progress,
) -> Result<Collected, InputError> {
    let policy = RetryPolicy {
        max_wait: Duration::from_secs(src.max_retry_wait),
        timeout: Duration::from_secs(src.timeout.max(1)),
        ..RetryPolicy::default()
    };
    let opts = Options {
        workspace: src.workspace.clone(),
        operator: src.operator.clone().filter(|o| !o.trim().is_empty()),
        required_tables: plan.tables,
        ingestion_lookback: plan.lookback,
        accepted_roles: plan.accepted_roles,
        redact: src.redact,
    };
    let started = Instant::now();
    let http = Http::new(
        endpoints,
        tokens,
        src.concurrency as usize,
        policy,
        progress,
    )
    .map_err(|e| InputError::plain(CollectCode::Http, e))?
    .with_limits(src.limits.limits());
    http.tokens().preflight().await.map_err(|e| {
        InputError::plain(CollectCode::SignIn, format!("not signed in: {e}"))
            .help(crate::collect::auth::sign_in_help(src.auth))
    })?;
    let facts = collect::collect(&http, &opts).await;
    http.progress().finish();
    let stats = Stats {
        elapsed: started.elapsed(),
        requests: [Api::Graph, Api::Arm, Api::LogAnalytics]
            .map(|a| (a, http.counters.requests(a), http.counters.retries(a))),
    };
    // Never hand on a document `check` would refuse: that would be our bug, say so loudly.
    let value = serde_json::to_value(&facts).expect("facts serialise");
    let violations = crate::input::schema::validate(crate::input::schema::Kind::Facts, &value);
    let internal = violations.first().map(|v| {
        InputError::plain(
            CollectCode::Internal,
            format!(
                "internal error: the collected facts do not match the schema at `{}`: {}",
                v.pointer, v.message
            ),
        )
        .help("the facts were written as collected; please report this bug with the -vv log (it contains no token)")
    });
    let unreachable = http
        .connection_failures()
        .into_iter()
        .map(|(host, e)| (host, e.message))
        .collect();
    Ok(Collected {
        facts,
        stats,
        internal,
        unreachable,
    })
}

/// `-v`/`-vv` logs to stderr, through [`LogWriter`]: no colour, since every escape in the
/// log would have to be one of ours, and the writer makes every one visible.
pub(crate) fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "xdrguard=info",
        _ => "xdrguard=debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// The log's only way to stderr. Each event (tracing writes one event per call) is scrubbed
/// of every secret held and its control characters are made visible, newlines included, so
/// a server's error code or a nextLink can neither leak a token nor drive the terminal.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use crate::report::terminal::{visible, Keep};
        let text = String::from_utf8_lossy(buf);
        let (line, end) = match text.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (&*text, ""),
        };
        let scrubbed = crate::collect::secrets::scrub(line);
        let clean = visible(&scrubbed, Keep::OneLine);
        let mut err = std::io::stderr().lock();
        err.write_all(clean.as_bytes())?;
        err.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
