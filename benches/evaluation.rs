//! Benchmarks of evaluation. Run: `cargo bench --bench evaluation [-- mixed|threshold|all]`.
//!
//! - `mixed`: load 1,000 generated policies of three shapes and evaluate them in-process over
//!   a large facts document; wall time per phase and peak memory (VmHWM).
//! - `threshold`: issue 14's work as whole `xdrguard check … --format json -o FILE` processes:
//!   N policies × M tables, policy i flags every table whose `total_retention_in_days` is below
//!   T_i and names it. 50×200 and 500×2,000 (median of 5); 1,000×20,000 (once, about a
//!   minute) only with `XDRGUARD_BENCH_BIG=1`. Prints wall, peak RSS, and checks the report
//!   lists exactly the expected number of violations (computed arithmetically).
//! - `gen DIR N M`: write that work to DIR (`policies/`, `facts.json`, the same work in Rego
//!   v1 as `bench.rego`, `expected`) for `scripts/vs-regorus.sh`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xdrguard::eval::{evaluate, Profile};
use xdrguard::facts::FactsDocument;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::policy::Catalog;
use xdrguard::policy::ValidConfig;

const POLICIES: usize = 1_000;
const RULES: usize = 2_000;
const TABLES: usize = 500;
const CONNECTORS: usize = 300;

fn policy(i: usize) -> String {
    // Three shapes, so the bench exercises filters, nested lists and durations.
    let (reads, violations) = match i % 3 {
        0 => (
            "[alert_rules]",
            format!("facts.alert_rules.filter(r, r.enabled && r.kind == 'MicrosoftSecurityIncidentCreation' && r.product_filter == 'Product {}').map(r, {{'id': r.id, 'name': r.display_name}})", i % 50),
        ),
        1 => (
            "[tables, ingestion]",
            format!("facts.tables.filter(t, t.plan != 'Analytics' && t.name.endsWith('{}')).map(t, {{'id': t.name}}) + facts.ingestion.filter(x, x.last_received != null && now - timestamp(x.last_received) > params.max_age).map(x, {{'id': x.table}})", i % 10),
        ),
        _ => (
            "[data_connectors]",
            format!("facts.data_connectors.filter(c, c.kind == 'Kind{}' && lower(c.incidents_state) != 'enabled').map(c, {{'id': c.id, 'detail': c.kind}})", i % 20),
        ),
    };
    format!(
        "id: BENCH-P-{i:04}\ntitle: Generated policy {i}\nstage: connector\nseverity: medium\ndescription: d\nrationale: r\nreads: {reads}\nparams:\n  max_age:\n    type: duration\n    default: 7d\n    description: x\nviolations: \"{}\"\nmessages:\n  pass: ok\n  fail: '{{{{ count }}}} offending: {{{{ names }}}}'\nremediation:\n  summary: fix {{{{ target.workspace_name }}}}\n  steps:\n    - cli: az rest --method get --url {{{{ target.workspace_id | sh }}}}\n  docs: [https://learn.microsoft.com/]\n",
        violations.replace('"', "\\\"")
    )
}

fn facts() -> String {
    let ws = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws";
    let rules: Vec<_> = (0..RULES)
        .map(|i| serde_json::json!({"id": format!("{ws}/providers/Microsoft.SecurityInsights/alertRules/r{i}"), "name": format!("r{i}"), "kind": if i % 4 == 0 { "MicrosoftSecurityIncidentCreation" } else { "Scheduled" }, "display_name": format!("Rule {i}"), "enabled": i % 3 == 0, "product_filter": format!("Product {}", i % 60)}))
        .collect();
    let tables: Vec<_> = (0..TABLES)
        .map(|i| serde_json::json!({"name": format!("Table{i}"), "plan": if i % 7 == 0 { "Basic" } else { "Analytics" }, "retention_in_days": -1, "total_retention_in_days": 90}))
        .collect();
    let ingestion: Vec<_> = (0..TABLES)
        .map(|i| serde_json::json!({"table": format!("Table{i}"), "last_received": format!("2026-11-{:02}T00:00:00Z", 1 + i % 19), "rows": i}))
        .collect();
    let connectors: Vec<_> = (0..CONNECTORS)
        .map(|i| serde_json::json!({"id": format!("{ws}/providers/Microsoft.SecurityInsights/dataConnectors/c{i}"), "name": format!("c{i}"), "kind": format!("Kind{}", i % 25), "incidents_state": if i % 2 == 0 { "Enabled" } else { "Disabled" }}))
        .collect();
    serde_json::json!({
        "schema_version": 1, "collected_at": "2026-11-20T00:00:00Z",
        "target": {"workspace_id": ws},
        "sections": {
            "alert_rules": {"data": rules}, "tables": {"data": tables},
            "ingestion": {"data": ingestion}, "data_connectors": {"data": connectors}
        }
    })
    .to_string()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mixed() {
    let t = Instant::now();
    let sources: Vec<SourceFile> = (0..POLICIES)
        .map(|i| SourceFile::new(format!("bench/{i}.yaml"), policy(i)))
        .collect();
    let catalog = Catalog::from_sources(sources).expect("generated policies load");
    let load = t.elapsed();

    let text = facts();
    let t = Instant::now();
    let facts = FactsDocument::parse(SourceFile::new("bench-facts.json", text.clone()))
        .expect("facts parse");
    let parse = t.elapsed();

    let t = Instant::now();
    let findings = evaluate(
        &catalog,
        &ValidConfig::defaults(&catalog),
        &facts,
        Profile::Full,
    );
    let eval = t.elapsed();
    let failing = findings
        .iter()
        .filter(|f| f.status == xdrguard::model::Status::Fail)
        .count();
    assert_eq!(findings.len(), POLICIES);

    println!("xdrguard evaluation benchmark");
    println!("  policies: {POLICIES}; facts: {} bytes ({RULES} alert rules, {TABLES} tables + ingestion rows, {CONNECTORS} connectors)", text.len());
    println!(
        "  load + compile policies: {:>8.1} ms",
        load.as_secs_f64() * 1e3
    );
    println!(
        "  parse + validate facts:  {:>8.1} ms",
        parse.as_secs_f64() * 1e3
    );
    println!(
        "  evaluate:                {:>8.1} ms ({:.1} µs/policy; {failing} failing)",
        eval.as_secs_f64() * 1e3,
        eval.as_secs_f64() * 1e6 / POLICIES as f64
    );
    match peak_rss_kib() {
        Some(k) => println!("  peak RSS:                {:>8.1} MiB", k as f64 / 1024.0),
        None => println!("  peak RSS: unavailable (no /proc)"),
    }
}

const WS: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws";

/// Table j's total retention: spread over [30, 730) days.
fn retention(j: usize) -> i64 {
    30 + ((j * 7919) % 700) as i64
}

/// Policy i's threshold: spread over [30, 730) days.
fn threshold(i: usize) -> i64 {
    30 + ((i * 104_729 + 17) % 700) as i64
}

/// Violations the work must produce: Σ_i #{j : retention(j) < threshold(i)}, counted per
/// retention value rather than by evaluating anything.
fn expected(n: usize, m: usize) -> u64 {
    let mut below = [0u64; 732]; // below[t] = #{j : retention(j) < t}
    for j in 0..m {
        below[retention(j) as usize + 1] += 1;
    }
    for t in 1..below.len() {
        below[t] += below[t - 1];
    }
    (0..n).map(|i| below[threshold(i) as usize]).sum()
}

const THRESHOLD_VIOLATIONS: &str = "facts.tables.filter(t, t.total_retention_in_days != null && t.total_retention_in_days < params.min_total_retention_days).map(t, {'id': t.name, 'name': t.name, 'detail': 'total retention ' + string(t.total_retention_in_days) + ' days'})";

fn threshold_policy(i: usize) -> String {
    format!(
        "id: BENCH-T-{i:05}\ntitle: Threshold policy {i}\nstage: connector\nseverity: low\ndescription: d\nrationale: r\nreads: [tables]\nparams:\n  min_total_retention_days:\n    type: integer\n    default: {}\n    description: x\nviolations: \"{THRESHOLD_VIOLATIONS}\"\nmessages:\n  pass: ok\n  fail: '{{{{ count }}}} table(s) below {{{{ params.min_total_retention_days }}}} days: {{{{ names }}}}'\nremediation:\n  summary: fix {{{{ target.workspace_name }}}}\n  steps:\n    - cli: az rest --method get --url {{{{ target.workspace_id | sh }}}}\n  docs: [https://learn.microsoft.com/]\n",
        threshold(i),
    )
}

fn threshold_facts(m: usize) -> String {
    let tables: Vec<_> = (0..m)
        .map(|j| serde_json::json!({"name": format!("Table{j}_CL"), "plan": "Analytics", "retention_in_days": 30, "total_retention_in_days": retention(j)}))
        .collect();
    serde_json::json!({
        "schema_version": 1, "collected_at": "2026-11-20T00:00:00Z",
        "target": {"workspace_id": WS},
        "sections": {"tables": {"data": tables}}
    })
    .to_string()
}

/// The same work in Rego v1 (one rule per policy), for regorus.
fn threshold_rego(n: usize) -> String {
    let mut s = String::from("package bench\n\nimport rego.v1\n\n");
    for i in 0..n {
        let _ = write!(
            s,
            "p{i:05} contains {{\"id\": t.name, \"name\": t.name, \"detail\": sprintf(\"total retention %d days\", [t.total_retention_in_days])}} if {{\n\tsome t in input.sections.tables.data\n\tt.total_retention_in_days != null\n\tt.total_retention_in_days < {}\n}}\n\n",
            threshold(i)
        );
    }
    s
}

fn write_work(dir: &Path, n: usize, m: usize) -> std::io::Result<()> {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies)?;
    for i in 0..n {
        std::fs::write(
            policies.join(format!("BENCH-T-{i:05}.yaml")),
            threshold_policy(i),
        )?;
    }
    std::fs::write(dir.join("facts.json"), threshold_facts(m))?;
    std::fs::write(dir.join("bench.rego"), threshold_rego(n))?;
    std::fs::write(dir.join("expected"), format!("{}\n", expected(n, m)))
}

/// One whole `xdrguard check` process: wall time and peak RSS (VmHWM, polled while it runs).
fn check_once(dir: &Path) -> (Duration, Option<u64>) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrguard"))
        .arg("check")
        .arg("--facts")
        .arg(dir.join("facts.json"))
        .arg("--policies")
        .arg(dir.join("policies"))
        .args(["--no-builtin", "--format", "json", "-o"])
        .arg(dir.join("report.json"))
        .stdout(Stdio::null())
        .spawn()
        .expect("xdrguard starts");
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        peak = vm_hwm(child.id()).or(peak);
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    assert_eq!(status.code(), Some(1), "violations found → exit 1");
    (wall, peak)
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn threshold_work() {
    let mut works = vec![(50, 200, 5), (500, 2_000, 5)];
    if std::env::var_os("XDRGUARD_BENCH_BIG").is_some() {
        works.push((1_000, 20_000, 1));
    }
    println!(
        "xdrguard threshold benchmark (whole process: check --no-builtin --format json -o FILE)"
    );
    for (n, m, runs) in works {
        let dir = tempfile::tempdir().expect("tempdir");
        write_work(dir.path(), n, m).expect("work written");
        let mut samples: Vec<_> = (0..runs).map(|_| check_once(dir.path())).collect();
        samples.sort_by_key(|s| s.0);
        let (wall, _) = samples[samples.len() / 2];
        let peak = samples.iter().filter_map(|s| s.1).max();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap())
                .expect("report is JSON");
        let found: usize = report["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|f| f["evidence"].as_array().map_or(0, Vec::len))
            .sum();
        let want = expected(n, m);
        assert_eq!(found as u64, want, "{n}×{m}: violations in the report");
        println!(
            "  {n:>5} policies × {m:>6} tables: wall {:>8.3} s (median of {runs}), peak RSS {}, {found} violations (= expected)",
            wall.as_secs_f64(),
            peak.map_or("unavailable".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let usage = "usage: evaluation gen DIR N M";
            let dir = args.get(1).expect(usage);
            let n = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
            let m = args.get(3).and_then(|a| a.parse().ok()).expect(usage);
            write_work(Path::new(dir), n, m).expect("work written");
            println!("{}", expected(n, m));
        }
        Some("mixed") => mixed(),
        Some("threshold") => threshold_work(),
        _ => {
            mixed();
            threshold_work();
        }
    }
}
