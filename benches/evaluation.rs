//! Benchmark: load 1,000 generated policies and evaluate them over a large facts document.
//! Prints wall time per phase and peak memory (VmHWM). Run: `cargo bench --bench evaluation`.

use std::time::Instant;
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
        "id: BENCH-P-{i:04}\ntitle: Generated policy {i}\nstage: connector\nseverity: medium\ndescription: d\nrationale: r\nreads: {reads}\nparams:\n  max_age:\n    type: duration\n    default: 7d\n    description: x\nviolations: \"{}\"\nmessages:\n  pass: ok\n  fail: '{{{{ count }}}} offending: {{{{ names }}}}'\nremediation:\n  summary: fix {{{{ target.workspace_name }}}}\n  steps:\n    - cli: az rest --method get --url {{{{ target.workspace_id }}}}\n  docs: [https://learn.microsoft.com/]\n",
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

fn main() {
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
