//! Benchmark: `xdrguard fleet` of 200 targets against one fake Microsoft server with 50 ms
//! added to every answer, from one process. Prints wall time, peak memory (VmHWM of the
//! xdrguard process), HTTP requests per target against a single `audit` of the same tenant,
//! and the evaluation share: 200 × the in-process evaluation of one target's facts, over the
//! wall time. Run: `cargo bench --bench fleet` (`FLEET_TARGETS`, `FLEET_PARALLEL` override
//! the 200 targets and `--parallel-targets 32`).

#[path = "../tests/testsuite/fake_microsoft/mod.rs"]
mod fake_microsoft;

use fake_microsoft::scenarios::{self, Tenant};
use fake_microsoft::{Fake, TOKEN};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run the binary to completion, sampling its peak RSS; returns (wall, peak KiB, exit code).
fn run(args: &[String], env: &[(&str, String)]) -> (Duration, Option<u64>, i32) {
    let started = Instant::now();
    let mut c = Command::new(env!("CARGO_BIN_EXE_xdrguard"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("run xdrguard");
    let pid = child.id();
    let mut peak = None;
    let code = loop {
        if let Some(k) = vm_hwm(pid) {
            peak = Some(k);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (started.elapsed(), peak, code)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let targets = env_or("FLEET_TARGETS", 200);
    let parallel = env_or("FLEET_PARALLEL", 32);
    let dir = tempfile::tempdir().unwrap();
    let ws = scenarios::workspace_id();

    // One audit of the tenant: the requests a fleet target may not exceed.
    let single = Fake::start(&Tenant::ready()).await;
    single.set_delay(LATENCY);
    let uri = single.uri();
    let env = vec![
        ("XDRGUARD_ACCESS_TOKEN", TOKEN.to_string()),
        ("XDRGUARD_GRAPH_URL", uri.clone()),
        ("XDRGUARD_ARM_URL", uri.clone()),
        ("XDRGUARD_LOG_ANALYTICS_URL", uri.clone()),
    ];
    let args: Vec<String> = [
        "audit",
        "--workspace",
        &ws,
        "--format",
        "json",
        "--save-facts",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.path().join("one.facts.json").display().to_string()])
    .collect();
    let (audit_wall, _, _) = tokio::task::spawn_blocking({
        let env = env.clone();
        move || run(&args, &env)
    })
    .await
    .unwrap();
    let per_audit = single.http_requests();

    let fake = Fake::start(&Tenant::ready()).await;
    fake.set_delay(LATENCY);
    let mut yaml = format!(
        "defaults:\n  workspace: {ws}\n  graph_url: {u}\n  arm_url: {u}\n  log_analytics_url: {u}\n  access_token_env: FLEET_TOKEN\ntargets:\n",
        u = fake.uri()
    );
    for i in 0..targets {
        yaml.push_str(&format!("  - name: tenant-{i:03}\n"));
    }
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, yaml).unwrap();
    let args: Vec<String> = vec![
        "fleet".into(),
        file.display().to_string(),
        "--parallel-targets".into(),
        parallel.to_string(),
        "--format".into(),
        "json".into(),
        "--out-dir".into(),
        dir.path().join("out").display().to_string(),
        "--quiet".into(),
    ];
    let (wall, peak, code) =
        tokio::task::spawn_blocking(move || run(&args, &[("FLEET_TOKEN", TOKEN.to_string())]))
            .await
            .unwrap();
    assert_eq!(code, 0, "the fleet of ready tenants is compliant");
    let requests = fake.http_requests();

    // Evaluation of one target's facts, in process, as the fleet runs it.
    let catalog = xdrguard::policy::load_catalog(&[], true).unwrap();
    let config = xdrguard::policy::ValidConfig::load(None, &catalog).unwrap();
    let facts = xdrguard::facts::FactsDocument::load(&dir.path().join("one.facts.json")).unwrap();
    let runs = 50;
    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(xdrguard::eval::evaluate(
            &catalog,
            &config,
            &facts,
            xdrguard::model::Profile::Full,
        ));
    }
    let eval_one = started.elapsed() / runs;
    let eval_total = eval_one * targets as u32;

    println!(
        "fleet of {targets} targets, --parallel-targets {parallel}, {} ms added per answer",
        LATENCY.as_millis()
    );
    println!("  wall                 {:.2} s", wall.as_secs_f64());
    println!(
        "  peak RSS             {}",
        peak.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );
    println!(
        "  HTTP requests        {requests} = {:.1} per target (a single audit: {per_audit}, {:.0} ms)",
        requests as f64 / targets as f64,
        audit_wall.as_secs_f64() * 1000.0
    );
    println!(
        "  evaluation           {:.2} ms per target, {:.2} s in all = {:.0}% of the wall",
        eval_one.as_secs_f64() * 1000.0,
        eval_total.as_secs_f64(),
        100.0 * eval_total.as_secs_f64() / wall.as_secs_f64()
    );
    assert!(
        requests <= per_audit * targets,
        "no target makes more requests than one audit"
    );
}
