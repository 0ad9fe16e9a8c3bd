//! `xdrguard fleet` and `xdrguard merge`, run as the real binary against several fake
//! Microsoft tenants at once (each its own wiremock server on 127.0.0.1): every target's
//! statuses equal its single `audit`, the matrix and ranking follow from them, the exit code
//! is the worst target's (3 > 1 > 2 > 0), a throttled, slow or unreachable tenant fails only
//! itself, shards partition the fleet, and `merge` of the shards equals the unsharded report.

mod examples;
mod periodic_report;

use crate::common::statuses;
use crate::fake_microsoft::scenarios::{self, Tenant};
use crate::fake_microsoft::{Fake, TOKEN};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fixed "now", so two runs produce byte-identical reports.
pub(crate) const NOW: &str = "2026-11-30T08:00:00Z";

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with no Microsoft or Azure variable of the test's environment: each target
/// brings its own URLs and token (`env` adds variables, e.g. the targets' tokens).
pub(crate) fn xdrguard(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("xdrguard"));
    c.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("XDRGUARD_NOW", NOW);
    for v in [
        "XDRGUARD_ACCESS_TOKEN",
        "XDRGUARD_GRAPH_URL",
        "XDRGUARD_ARM_URL",
        "XDRGUARD_LOG_ANALYTICS_URL",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "JOB_COMPLETION_INDEX",
        "RUST_LOG",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run off the async test's thread, so the fakes keep answering.
pub(crate) async fn xdrguard_async(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        xdrguard(&dir, &args, &env)
    })
    .await
    .unwrap()
}

/// A base URL nothing listens on: a port bound and released.
pub(crate) fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// One target of a generated fleet file.
pub(crate) struct T<'a> {
    pub name: &'a str,
    pub url: String,
    pub token_env: &'a str,
    pub extra: &'a str,
}

/// A fleet file of `targets`, every one with its own URLs and token variable.
pub(crate) fn fleet_yaml(targets: &[T]) -> String {
    let ws = scenarios::workspace_id();
    let mut s = String::from("defaults:\n  max_retry_wait: 10\n  timeout: 5\ntargets:\n");
    for t in targets {
        s.push_str(&format!(
            "  - name: {}\n    workspace: {ws}\n    graph_url: {u}\n    arm_url: {u}\n    log_analytics_url: {u}\n    access_token_env: {}\n{}",
            t.name, t.token_env, t.extra, u = t.url
        ));
    }
    s
}

/// `audit --format json` of one fake: its statuses (what the fleet must reproduce).
async fn single_audit(fake: &Fake, dir: &Path) -> BTreeMap<String, String> {
    let ws = scenarios::workspace_id();
    let u = fake.uri();
    let r = xdrguard_async(
        dir,
        &[
            "audit",
            "--workspace",
            &ws,
            "--format",
            "json",
            "--max-retry-wait",
            "10",
            "--timeout",
            "5",
        ],
        &[
            ("XDRGUARD_ACCESS_TOKEN", TOKEN),
            ("XDRGUARD_GRAPH_URL", &u),
            ("XDRGUARD_ARM_URL", &u),
            ("XDRGUARD_LOG_ANALYTICS_URL", &u),
        ],
    )
    .await;
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", r.stdout, r.stderr));
    statuses(&v)
}

fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {report}"))
}

fn row_statuses(row: &Value) -> BTreeMap<String, String> {
    row["results"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The scenario tenants of the fleet tests, each started on its own server.
struct Fleet {
    ready: Fake,
    not_ready: Fake,
    misconfigured: Fake,
    throttled: Fake,
}

impl Fleet {
    async fn start() -> Fleet {
        Fleet {
            ready: Fake::start(&Tenant::ready()).await,
            not_ready: Fake::start(&Tenant::not_ready()).await,
            misconfigured: Fake::start(&Tenant::misconfigured()).await,
            throttled: Fake::start(&Tenant::throttled()).await,
        }
    }

    /// Every tenant plus an unreachable one, each with its own token variable.
    fn targets(&self, unreachable: &str) -> Vec<T<'static>> {
        vec![
            T {
                name: "ready",
                url: self.ready.uri(),
                token_env: "TOKEN_READY",
                extra: "",
            },
            T {
                name: "not-ready",
                url: self.not_ready.uri(),
                token_env: "TOKEN_NOT_READY",
                extra: "",
            },
            T {
                name: "misconfigured",
                url: self.misconfigured.uri(),
                token_env: "TOKEN_MISCONFIGURED",
                extra: "",
            },
            T {
                name: "throttled",
                url: self.throttled.uri(),
                token_env: "TOKEN_THROTTLED",
                extra: "",
            },
            T {
                name: "unreachable",
                url: unreachable.to_string(),
                token_env: "TOKEN_UNREACHABLE",
                extra: "",
            },
        ]
    }
}

/// Each target's own token, so a test can tell which tenant got which.
const TOKENS: [(&str, &str); 5] = [
    ("TOKEN_READY", "fleet-token-ready-0123456789"),
    ("TOKEN_NOT_READY", "fleet-token-not-ready-0123456789"),
    (
        "TOKEN_MISCONFIGURED",
        "fleet-token-misconfigured-0123456789",
    ),
    ("TOKEN_THROTTLED", "fleet-token-throttled-0123456789"),
    ("TOKEN_UNREACHABLE", "fleet-token-unreachable-0123456789"),
];

#[tokio::test]
async fn each_target_reports_what_its_single_audit_does() {
    let f = Fleet::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.yaml"),
        fleet_yaml(&f.targets(&closed_port_url())),
    )
    .unwrap();
    let r = xdrguard_async(
        dir.path(),
        &[
            "fleet",
            "fleet.yaml",
            "--format",
            "json",
            "--out-dir",
            "out",
            "--parallel-targets",
            "5",
        ],
        &TOKENS,
    )
    .await;
    // A violating target makes the fleet exit 1, though another could not be audited (2).
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    assert_eq!(validate_fleet_report(&report), Vec::<String>::new());
    // Each tenant got its own token, and only reads.
    for (fake, token) in [
        (&f.ready, "fleet-token-ready-0123456789"),
        (&f.not_ready, "fleet-token-not-ready-0123456789"),
        (&f.misconfigured, "fleet-token-misconfigured-0123456789"),
        (&f.throttled, "fleet-token-throttled-0123456789"),
    ] {
        let log = fake.log();
        assert!(!log.is_empty());
        assert!(log
            .iter()
            .all(|l| l.authorization.as_deref() == Some(&format!("Bearer {token}"))));
        assert_eq!(fake.writes(), Vec::<String>::new());
    }
    // Statuses equal each tenant's single audit (of a fresh fake of the same scenario, so
    // a throttled tenant throttles again), in the fleet report and in --out-dir.
    for (name, fake, tenant) in [
        ("ready", &f.ready, Tenant::ready()),
        ("not-ready", &f.not_ready, Tenant::not_ready()),
        ("misconfigured", &f.misconfigured, Tenant::misconfigured()),
        ("throttled", &f.throttled, Tenant::throttled()),
    ] {
        let fresh = Fake::start(&tenant).await;
        let single = single_audit(&fresh, dir.path()).await;
        assert_eq!(row_statuses(row(&report, name)), single, "{name}");
        let kept =
            json(&std::fs::read_to_string(dir.path().join(format!("out/{name}.json"))).unwrap());
        assert_eq!(statuses(&kept), single, "{name}");
        assert_eq!(kept["name"], name);
        assert_eq!(kept["catalog_version"], report["catalog_version"]);
        assert!(dir.path().join(format!("out/{name}.facts.json")).is_file());
        // No more requests than a single audit of the same tenant.
        assert_eq!(fake.http_requests(), fresh.http_requests(), "{name}");
        assert!(
            fake.duplicates().is_empty() || name == "throttled",
            "{name}: {:?}",
            fake.duplicates()
        );
    }
    let ready = row(&report, "ready");
    assert_eq!(
        (
            ready["verdict"].as_str(),
            ready["exit_code"].as_u64(),
            ready["score"].as_u64()
        ),
        (Some("compliant"), Some(0), Some(100))
    );
    assert_eq!(row(&report, "throttled")["verdict"], "compliant");
    assert_eq!(row(&report, "not-ready")["verdict"], "violations");
    let down = row(&report, "unreachable");
    assert_eq!(
        (down["verdict"].as_str(), down["exit_code"].as_u64()),
        (Some("error"), Some(2))
    );
    assert!(
        down["cause"]
            .as_str()
            .unwrap()
            .contains("cannot connect to http://127.0.0.1:"),
        "{down}"
    );
    assert!(!dir.path().join("out/unreachable.json").exists());
    assert_eq!(
        report["summary"],
        serde_json::json!({"targets": 5, "compliant": 2, "violations": 2, "incomplete": 0, "error": 1})
    );
    // The ranking: counts follow from the rows, most widely failing first.
    let controls = report["controls"].as_array().unwrap();
    let rows = report["targets"].as_array().unwrap();
    for c in controls {
        let id = c["control"].as_str().unwrap();
        let failing: Vec<&str> = rows
            .iter()
            .filter(|t| t["results"][id] == "fail")
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(c["failing"], serde_json::json!(failing), "{id}");
        assert_eq!(c["fail"].as_u64().unwrap() as usize, failing.len());
    }
    let fails: Vec<u64> = controls
        .iter()
        .map(|c| c["fail"].as_u64().unwrap())
        .collect();
    assert!(fails.windows(2).all(|w| w[0] >= w[1]), "{fails:?}");
    assert!(fails[0] > 0, "a failing control leads: {fails:?}");
    assert!(!TOKENS
        .iter()
        .any(|(_, t)| r.stdout.contains(t) || r.stderr.contains(t)));
}

#[tokio::test]
async fn exit_code_is_the_worst_target_and_one_slow_tenant_holds_up_no_one() {
    let ready = Fake::start(&Tenant::ready()).await;
    let slow = Fake::start(&Tenant::ready()).await;
    slow.set_delay(Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = |name: &'static str, url: String, extra: &'static str| T {
        name,
        url,
        token_env: "TOKEN_READY",
        extra,
    };
    let cases: Vec<(Vec<T>, i32)> = vec![
        (vec![t("a", ready.uri(), ""), t("b", ready.uri(), "")], 0),
        (
            vec![t("a", ready.uri(), ""), t("down", closed_port_url(), "")],
            2,
        ),
        // The slow tenant's time limit makes it an error while the other finishes.
        (
            vec![
                t("a", ready.uri(), ""),
                t("slow", slow.uri(), "    time_limit: 2\n"),
            ],
            2,
        ),
        // A target whose token variable is unset cannot sign in: exit 3, like one audit.
        (
            vec![
                t("a", ready.uri(), ""),
                t("down", closed_port_url(), ""),
                T {
                    name: "nosignin",
                    url: ready.uri(),
                    token_env: "UNSET_TOKEN",
                    extra: "",
                },
            ],
            3,
        ),
    ];
    for (i, (targets, want)) in cases.into_iter().enumerate() {
        let file = format!("fleet{i}.yaml");
        std::fs::write(d.join(&file), fleet_yaml(&targets)).unwrap();
        let started = Instant::now();
        let r = xdrguard_async(d, &["fleet", &file, "--format", "json"], &TOKENS).await;
        assert_eq!(r.code, want, "case {i}: {}\n{}", r.stdout, r.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "case {i} took {:?}",
            started.elapsed()
        );
        let report = json(&r.stdout);
        assert_eq!(row(&report, "a")["verdict"], "compliant", "case {i}");
        if i == 2 {
            assert!(row(&report, "slow")["cause"]
                .as_str()
                .unwrap()
                .contains("time limit of 2s"));
        }
        if i == 3 {
            let cause = row(&report, "nosignin")["cause"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(cause.contains("UNSET_TOKEN is not set"), "{cause}");
            assert_eq!(row(&report, "nosignin")["exit_code"], 3);
        }
    }
}

#[tokio::test]
async fn shards_partition_the_fleet_and_merge_equals_the_unsharded_report() {
    let f = Fleet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("fleet.yaml"),
        fleet_yaml(&f.targets(&closed_port_url())),
    )
    .unwrap();
    let whole = xdrguard_async(
        d,
        &[
            "fleet",
            "fleet.yaml",
            "--format",
            "json",
            "-o",
            "whole.json",
            "--quiet",
        ],
        &TOKENS,
    )
    .await;
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    let mut names: Vec<String> = Vec::new();
    let n = 3;
    for i in 0..n {
        // The index from JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job gives it.
        let idx = i.to_string();
        let env: Vec<(&str, &str)> = TOKENS
            .iter()
            .copied()
            .chain([("JOB_COMPLETION_INDEX", idx.as_str())])
            .collect();
        let out = format!("shard-{i}.json");
        let r = xdrguard_async(
            d,
            &[
                "fleet",
                "fleet.yaml",
                "--shard",
                &n.to_string(),
                "--format",
                "json",
                "-o",
                &out,
                "--out-dir",
                "out",
                "--quiet",
            ],
            &env,
        )
        .await;
        assert!([0, 1, 2].contains(&r.code), "{}", r.stderr);
        let shard = json(&std::fs::read_to_string(d.join(&out)).unwrap());
        names.extend(
            shard["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        // I/N names the same shard as N with the index in the environment.
        let again = xdrguard_async(
            d,
            &[
                "fleet",
                "fleet.yaml",
                "--shard",
                &format!("{i}/{n}"),
                "--format",
                "json",
            ],
            &TOKENS,
        )
        .await;
        assert_eq!(json(&again.stdout), shard);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "misconfigured",
            "not-ready",
            "ready",
            "throttled",
            "unreachable"
        ]
    );
    let merged = xdrguard_async(
        d,
        &[
            "merge",
            "shard-0.json",
            "shard-1.json",
            "shard-2.json",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(merged.code, whole.code);
    assert_eq!(
        json(&merged.stdout),
        json(&std::fs::read_to_string(d.join("whole.json")).unwrap())
    );
    // The per-target reports of the out-dir hold every audited target (not the unreachable one).
    let from_dir = xdrguard_async(d, &["merge", "out", "--format", "json"], &[]).await;
    let from_dir = json(&from_dir.stdout);
    assert_eq!(from_dir["summary"]["targets"], 4);
    assert_eq!(
        row(&from_dir, "misconfigured"),
        row(&json(&merged.stdout), "misconfigured")
    );
    // The same target twice, and reports of another catalog, are refused.
    let dup = xdrguard_async(d, &["merge", "shard-0.json", "whole.json"], &[]).await;
    assert_eq!(dup.code, 3);
    assert!(
        dup.stderr.contains("is in shard-0.json and in whole.json"),
        "{}",
        dup.stderr
    );
    let mut other = json(&std::fs::read_to_string(d.join("shard-1.json")).unwrap());
    other["catalog_version"] = "sha256:ffffffffffffffff".into();
    std::fs::write(d.join("other.json"), other.to_string()).unwrap();
    let mixed = xdrguard_async(d, &["merge", "shard-0.json", "other.json"], &[]).await;
    assert_eq!(mixed.code, 3);
    assert!(
        mixed.stderr.contains("reports of different catalogs"),
        "{}",
        mixed.stderr
    );
    // Every format of the fleet report renders from the merge.
    for format in ["table", "markdown", "html", "csv", "junit", "sarif"] {
        let r = xdrguard_async(
            d,
            &[
                "merge",
                "shard-0.json",
                "shard-1.json",
                "shard-2.json",
                "--format",
                format,
            ],
            &[],
        )
        .await;
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        assert!(r.stdout.contains("not-ready"), "{format}: {}", r.stdout);
    }
}

#[test]
fn bad_fleet_files_are_exit_3_at_file_line_column_and_lint_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ws = scenarios::workspace_id();
    let cases = [
        (
            format!("targets:\n  - name: a\n    workspace: {ws}\n    colour: red\n"),
            "bad.yaml:4:5",
            "colour",
        ),
        (
            format!(
                "targets:\n  - name: a\n    workspace: {ws}\n  - name: A\n    workspace: {ws}\n"
            ),
            "bad.yaml:4:11",
            "a second target named `A`",
        ),
        (
            format!("defaults:\n  conurrency: 4\ntargets:\n  - name: a\n    workspace: {ws}\n"),
            "bad.yaml:2:3",
            "conurrency",
        ),
        (
            "targets:\n  - name: a\n    workspace: /subscriptions/x\n".to_string(),
            "bad.yaml:3:16",
            "not a workspace",
        ),
        (
            format!("targets:\n  - name: a\n    workspace: {ws}\n    config: missing.yaml\n"),
            "missing.yaml",
            "",
        ),
        ("targets: [\n".to_string(), "bad.yaml:", ""),
    ];
    for (text, at, what) in cases {
        std::fs::write(d.join("bad.yaml"), &text).unwrap();
        let r = xdrguard(d, &["fleet", "bad.yaml"], &[]);
        assert_eq!(r.code, 3, "{text}\n{}", r.stderr);
        assert!(
            r.stderr.contains(at) && r.stderr.contains(what),
            "{text}\n{}",
            r.stderr
        );
        if !text.contains("missing.yaml") {
            let l = xdrguard(d, &["lint", "bad.yaml"], &[]);
            assert_eq!(l.code, 3, "lint {text}\n{}", l.stderr);
            assert!(l.stderr.contains(at), "lint {text}\n{}", l.stderr);
        }
    }
    std::fs::write(
        d.join("good.yaml"),
        format!("targets:\n  - name: a\n    workspace: {ws}\n"),
    )
    .unwrap();
    let l = xdrguard(d, &["lint", "good.yaml"], &[]);
    assert_eq!(l.code, 0, "{}", l.stderr);
    for shard in ["2/2", "x/2", "2"] {
        let r = xdrguard(d, &["fleet", "good.yaml", "--shard", shard], &[]);
        assert_eq!(r.code, 3, "{shard}: {}", r.stderr);
        assert!(r.stderr.contains("--shard"), "{}", r.stderr);
    }
    // merge: nothing to merge, a report that is not JSON, a check report naming no target.
    std::fs::create_dir(d.join("empty")).unwrap();
    assert_eq!(xdrguard(d, &["merge", "empty"], &[]).code, 3);
    std::fs::write(d.join("broken.json"), "{\"targets\": [").unwrap();
    let r = xdrguard(d, &["merge", "broken.json"], &[]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("broken.json:1:"), "{}", r.stderr);
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/snapshots/ready.json");
    let check = xdrguard(
        d,
        &[
            "check",
            "--facts",
            snapshot,
            "--format",
            "json",
            "-o",
            "single.json",
        ],
        &[],
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    let r = xdrguard(d, &["merge", "single.json"], &[]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("without a target name"), "{}", r.stderr);
}

/// Violations of the JSON fleet report's own schema (what `merge` and `lint` read back).
pub(crate) fn validate_fleet_report(v: &Value) -> Vec<String> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/fleet-report.schema.json"
    ));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
