//! Benchmark: `xdrguard audit` of one tenant against the fake Microsoft with 50 ms added to
//! every answer. Prints wall time (and how many 50 ms round trips that is), HTTP requests and
//! peak memory (VmHWM of the xdrguard process). Also runs the same audit with
//! `--concurrency 1` to show what calling one after another costs, and the audit of a tenant
//! whose operator holds Security Administrator through a role-assignable group, with Graph's
//! advanced-query rule enforced (`Tenant::group_held_role`): the dependency chain a real
//! tenant has (operator → groups → role assignments; workspace → customerId → query).
//! Run: `cargo bench --bench collect_latency`.

#[path = "../tests/testsuite/fake_microsoft/mod.rs"]
mod fake_microsoft;

use fake_microsoft::scenarios::{self, Tenant};
use fake_microsoft::{Fake, TOKEN};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RUNS: usize = 5;

struct Sample {
    wall: Duration,
    /// Collection alone (sign-in to facts), as the summary line on stderr reports it.
    collect: Option<Duration>,
    http_requests: usize,
    logical_calls: usize,
    peak_rss_kib: Option<u64>,
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn once(tenant: &Tenant, concurrency: &str) -> Sample {
    let fake = Fake::start(tenant).await;
    fake.set_delay(LATENCY);
    let ws = scenarios::workspace_id();
    let uri = fake.uri();
    let concurrency = concurrency.to_string();
    let (wall, peak, collect) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_xdrguard"))
            // Not --quiet: stderr carries the summary line with collection's own time.
            .args([
                "audit",
                "--workspace",
                &ws,
                "--format",
                "json",
                "--concurrency",
                &concurrency,
            ])
            .env("XDRGUARD_ACCESS_TOKEN", TOKEN)
            .env("XDRGUARD_GRAPH_URL", &uri)
            .env("XDRGUARD_ARM_URL", &uri)
            .env("XDRGUARD_LOG_ANALYTICS_URL", &uri)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run xdrguard");
        let pid = child.id();
        // VmHWM only grows: the last reading before exit is the peak (to within 1 ms of work).
        let mut peak = None;
        loop {
            if let Some(k) = vm_hwm(pid) {
                peak = Some(k);
            }
            if let Some(status) = child.try_wait().expect("wait") {
                assert!(
                    status.code().is_some_and(|c| c <= 2),
                    "audit failed: {status}"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let wall = started.elapsed();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().expect("piped"), &mut stderr)
            .expect("stderr");
        (wall, peak, collect_time(&stderr))
    })
    .await
    .unwrap();
    assert!(fake.writes().is_empty() && fake.duplicates().is_empty() && fake.misses().is_empty());
    Sample {
        wall,
        collect,
        http_requests: fake.http_requests(),
        logical_calls: fake
            .log()
            .iter()
            .filter(|l| l.key != "POST /v1.0/$batch")
            .count(),
        peak_rss_kib: peak,
    }
}

fn report(title: &str, samples: &[Sample]) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let median = walls[walls.len() / 2];
    let peak = samples.iter().filter_map(|s| s.peak_rss_kib).max();
    let mut collects: Vec<Duration> = samples.iter().filter_map(|s| s.collect).collect();
    collects.sort();
    println!("{title}");
    println!(
        "  wall time (median of {RUNS}): {:>7.1} ms  (min {:.1}, max {:.1})",
        ms(median),
        ms(walls[0]),
        ms(walls[walls.len() - 1])
    );
    println!(
        "  = round trips of {} ms:      {:>7.1}",
        LATENCY.as_millis(),
        median.as_secs_f64() / LATENCY.as_secs_f64()
    );
    if let Some(c) = collects.get(collects.len() / 2) {
        println!(
            "  of which collection:         {:>7.1} ms  = {:.1} round trips (the rest: process start, policies, report)",
            ms(*c),
            c.as_secs_f64() / LATENCY.as_secs_f64()
        );
    }
    println!(
        "  HTTP requests:               {:>7}",
        samples[0].http_requests
    );
    println!(
        "  API calls ($batch inner incl.): {:>4}",
        samples[0].logical_calls
    );
    match peak {
        Some(k) => println!(
            "  peak RSS of xdrguard:        {:>7.1} MiB",
            k as f64 / 1024.0
        ),
        None => println!("  peak RSS: unavailable (no /proc)"),
    }
}

/// `collected 21 sections in 0.12s (…)` → 0.12 s.
fn collect_time(stderr: &str) -> Option<Duration> {
    let rest = stderr.split(" sections in ").nth(1)?;
    let secs: f64 = rest.split('s').next()?.parse().ok()?;
    Some(Duration::from_secs_f64(secs))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means "not me".
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "collect_latency")
    {
        return;
    }
    println!(
        "xdrguard collection benchmark: `audit` of the ready tenant, {} ms per answer\n",
        LATENCY.as_millis()
    );
    let ready = Tenant::ready();
    let runs: [(&str, &Tenant, &str); 3] = [
        (
            "concurrent (default --concurrency 16, Graph $batch)",
            &ready,
            "16",
        ),
        (
            "one request at a time (--concurrency 1, still batched)",
            &ready,
            "1",
        ),
        (
            "role held through a group, advanced queries enforced (--concurrency 16)",
            &Tenant::group_held_role(),
            "16",
        ),
    ];
    for (i, (title, tenant, concurrency)) in runs.into_iter().enumerate() {
        let mut samples = Vec::new();
        for _ in 0..RUNS {
            samples.push(once(tenant, concurrency).await);
        }
        if i > 0 {
            println!();
        }
        report(title, &samples);
    }
}
