//! The `audit`, `collect` and `permissions` commands, run as the real binary against the
//! fake Microsoft: the expected status of every control per scenario tenant, read-only and
//! duplicate-free request logs, and no secret in any output.

use crate::common;
use crate::fake_microsoft;

use common::{statuses, CONTROLS};

use assert_cmd::Command;
use fake_microsoft::scenarios::{self, Tenant};
use fake_microsoft::{Fake, Reply, TOKEN};
use serde_json::Value;
use std::collections::BTreeMap;

/// The binary, pointed at the fake with the test token; no Azure credential variables leak in.
pub(super) fn xdrguard(fake: &Fake) -> Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("xdrguard"));
    fake.point(&mut c);
    Command::from_std(c)
}

pub(super) struct Run {
    pub(super) code: i32,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

pub(super) fn run(mut c: Command, args: &[&str]) -> Run {
    let out = c.args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `audit --format json` → control → status.
async fn audit(tenant: &Tenant, extra: &[&str]) -> (BTreeMap<String, String>, Run, Fake) {
    let fake = Fake::start(tenant).await;
    let ws = scenarios::workspace_id();
    let mut args = vec![
        "audit",
        "--workspace",
        ws.as_str(),
        "--format",
        "json",
        "--max-retry-wait",
        "10",
    ];
    args.extend_from_slice(extra);
    let c = xdrguard(&fake);
    let r = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || run(c, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", r.stdout, r.stderr));
    let statuses = statuses(&report);
    (statuses, r, fake)
}

/// Every control of the catalog has exactly the expected status (`pass` unless listed).
pub(super) fn assert_statuses(actual: &BTreeMap<String, String>, exceptions: &[(&str, &str)]) {
    let mut expected: BTreeMap<String, String> = CONTROLS
        .iter()
        .map(|c| (c.to_string(), "pass".to_string()))
        .collect();
    for (c, s) in exceptions {
        expected.insert(c.to_string(), s.to_string());
    }
    let diff: Vec<String> = expected
        .iter()
        .filter(|(c, s)| actual.get(*c) != Some(*s))
        .map(|(c, s)| format!("{c}: expected {s}, got {:?}", actual.get(c)))
        .chain(
            actual
                .keys()
                .filter(|c| !expected.contains_key(*c))
                .map(|c| format!("{c}: unexpected control")),
        )
        .collect();
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}

pub(super) fn assert_clean(fake: &Fake) {
    assert_eq!(fake.writes(), Vec::<String>::new(), "read-only");
    assert!(
        fake.duplicates().is_empty(),
        "duplicates: {:?}",
        fake.duplicates()
    );
    assert_eq!(fake.misses(), Vec::<String>::new());
}

#[tokio::test]
async fn audit_ready_tenant_passes_everything() {
    let (s, r, fake) = audit(&Tenant::ready(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_clean(&fake);
}

#[tokio::test]
async fn audit_not_ready_tenant() {
    let (s, r, fake) = audit(&Tenant::not_ready(), &[]).await;
    assert_statuses(
        &s,
        &[
            ("XDR-LIC-01", "fail"),
            ("XDR-LIC-02", "fail"),
            ("XDR-ID-01", "fail"),
            ("XDR-ID-02", "fail"),
            ("XDR-WS-01", "fail"),
            ("XDR-WS-02", "fail"),
            ("XDR-SOL-01", "fail"),
            ("XDR-SOL-02", "skipped"),
            ("XDR-MDI-01", "fail"),
            ("XDR-MDI-02", "skipped"),
            ("XDR-REQ-01", "fail"),
            ("XDR-CON-01", "skipped"),
            ("XDR-CON-02", "skipped"),
            ("XDR-CON-03", "skipped"),
            ("XDR-CON-04", "skipped"),
            ("XDR-ENT-01", "skipped"),
            ("XDR-EVT-01", "skipped"),
            ("XDR-EVT-02", "skipped"),
            ("XDR-EVT-03", "skipped"),
            ("XDR-ING-01", "skipped"),
            ("XDR-ING-02", "skipped"),
            ("XDR-USX-01", "skipped"),
            ("XDR-USX-02", "skipped"),
            ("XDR-USX-03", "skipped"),
            ("XDR-USX-04", "skipped"),
            ("XDR-USX-05", "skipped"),
        ],
    );
    assert_eq!(r.code, 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn audit_misconfigured_tenant() {
    let (s, r, fake) = audit(&Tenant::misconfigured(), &[]).await;
    assert_statuses(
        &s,
        &[
            ("XDR-SOL-02", "fail"),
            ("XDR-CON-01", "fail"),
            // CON-02 depends on CON-01: blocked, not judged.
            ("XDR-CON-02", "skipped"),
            ("XDR-CON-03", "fail"),
            ("XDR-CON-04", "fail"),
            ("XDR-ENT-01", "fail"),
            ("XDR-EVT-01", "fail"),
            ("XDR-EVT-02", "skipped"),
            ("XDR-EVT-03", "skipped"),
            ("XDR-ING-01", "skipped"),
            ("XDR-ING-02", "skipped"),
            ("XDR-USX-03", "fail"),
        ],
    );
    assert_eq!(r.code, 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn audit_throttled_tenant_still_passes() {
    let (s, r, fake) = audit(&Tenant::throttled(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fake.writes(), Vec::<String>::new());
    assert_eq!(
        fake.hits("GET", &scenarios::paths::connectors()),
        2,
        "retried once after Retry-After"
    );
}

#[tokio::test]
async fn audit_paged_tenant_reads_every_page() {
    let (s, r, fake) = audit(&Tenant::paged(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_clean(&fake);
}

#[tokio::test]
async fn audit_forbidden_tenant_reports_errors_with_the_permission() {
    let (s, r, fake) = audit(&Tenant::forbidden(), &[]).await;
    assert_statuses(
        &s,
        &[
            ("XDR-ID-02", "error"),
            ("XDR-REQ-01", "error"),
            ("XDR-CON-03", "error"),
            ("XDR-EVT-02", "error"),
            ("XDR-ING-01", "error"),
            ("XDR-ING-02", "error"),
            ("XDR-USX-03", "error"),
            ("XDR-USX-05", "error"),
        ],
    );
    assert_eq!(r.code, 2, "errors but no fail → incomplete");
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let reason = |id: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["control"] == id)
            .unwrap()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        reason("XDR-ID-02").contains("RoleManagement.Read.Directory"),
        "{}",
        reason("XDR-ID-02")
    );
    assert!(
        reason("XDR-CON-03").contains("Microsoft Sentinel Reader"),
        "{}",
        reason("XDR-CON-03")
    );
    assert!(
        reason("XDR-ING-01").contains("Log Analytics Reader"),
        "{}",
        reason("XDR-ING-01")
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn audit_malformed_tenant_finishes_and_reports_every_control() {
    let (s, r, fake) = audit(&Tenant::malformed(), &[]).await;
    assert_statuses(
        &s,
        &[
            ("XDR-MDI-01", "error"),
            ("XDR-MDI-02", "error"),
            ("XDR-ENT-01", "error"),
            ("XDR-EVT-01", "error"),
            ("XDR-EVT-02", "error"),
            ("XDR-EVT-03", "error"),
            ("XDR-ING-01", "error"),
            ("XDR-ING-02", "error"),
        ],
    );
    assert_eq!(r.code, 2);
    assert_eq!(fake.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn audit_as_service_principal_without_operator() {
    let mut t = Tenant::ready();
    t.get(
        scenarios::paths::me(),
        vec![Reply::error(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )],
    );
    let (s, r, _) = audit(&t, &[]).await;
    assert_statuses(
        &s,
        &[
            ("XDR-ID-01", "error"),
            ("XDR-ID-02", "error"),
            ("XDR-WS-01", "error"),
            // The operator's Azure roles need the operator.
            ("XDR-USX-01", "error"),
        ],
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let id01 = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == "XDR-ID-01")
        .unwrap();
    assert!(
        id01["reason"].as_str().unwrap().contains("--operator"),
        "{id01}"
    );
}

#[tokio::test]
async fn audit_with_operator_upn_uses_role_assignments() {
    let (s, r, fake) = audit(&Tenant::ready(), &["--operator", scenarios::OPERATOR_UPN]).await;
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let ws01 = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == "XDR-WS-01")
        .unwrap();
    assert_eq!(ws01["status"], "pass", "{ws01}");
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fake.hits("GET", &scenarios::paths::assigned_to(scenarios::OPERATOR)),
        1
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn collect_then_check_equals_audit() {
    let fake = Fake::start(&Tenant::misconfigured()).await;
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let ws = scenarios::workspace_id();
    let c = xdrguard(&fake);
    let f = facts.clone();
    let r = tokio::task::spawn_blocking(move || {
        run(
            c,
            &["collect", "--workspace", &ws, "-o", f.to_str().unwrap()],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("collected 25 sections"), "{}", r.stderr);
    let mut check = Command::cargo_bin("xdrguard").unwrap();
    let out = check
        .args([
            "check",
            "--facts",
            facts.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_file: BTreeMap<String, String> = statuses(&report);
    let (live, _, _) = audit(&Tenant::misconfigured(), &[]).await;
    assert_eq!(from_file, live);
}

/// The token never shows: not on stdout, stderr (-vv logs included), facts, reports or errors.
#[tokio::test]
async fn no_secret_in_any_output() {
    for tenant in [
        Tenant::ready(),
        Tenant::forbidden(),
        Tenant::throttled(),
        Tenant::malformed(),
    ] {
        let fake = Fake::start(&tenant).await;
        let dir = tempfile::tempdir().unwrap();
        let facts = dir.path().join("facts.json");
        let report = dir.path().join("report.txt");
        let ws = scenarios::workspace_id();
        let c = xdrguard(&fake);
        let (f, rp) = (facts.clone(), report.clone());
        let r = tokio::task::spawn_blocking(move || {
            run(
                c,
                &[
                    "audit",
                    "--workspace",
                    &ws,
                    "-vv",
                    "--save-facts",
                    f.to_str().unwrap(),
                    "-o",
                    rp.to_str().unwrap(),
                    "--max-retry-wait",
                    "10",
                ],
            )
        })
        .await
        .unwrap();
        assert!(
            r.stderr.contains("request"),
            "-vv logs requests: {}",
            r.stderr
        );
        let files = [
            std::fs::read_to_string(&facts).unwrap(),
            std::fs::read_to_string(&report).unwrap(),
        ];
        for (what, text) in [
            ("stdout", &r.stdout),
            ("stderr", &r.stderr),
            ("facts", &files[0]),
            ("report", &files[1]),
        ] {
            assert!(!text.contains(TOKEN), "token in {what}");
            assert!(!text.contains("test-token"), "token fragment in {what}");
            assert!(
                !text.to_ascii_lowercase().contains("bearer"),
                "authorization header in {what}"
            );
        }
        // Every request did carry it, so the search above was meaningful.
        assert!(fake
            .log()
            .iter()
            .all(|l| l.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))));
    }
}

#[tokio::test]
async fn redact_keeps_people_out_of_facts_and_reports() {
    let fake = Fake::start(&Tenant::ready()).await;
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let ws = scenarios::workspace_id();
    let c = xdrguard(&fake);
    let f = facts.clone();
    let r = tokio::task::spawn_blocking(move || {
        run(
            c,
            &[
                "audit",
                "--workspace",
                &ws,
                "--operator",
                scenarios::OPERATOR_UPN,
                "--redact",
                "--format",
                "json",
                "--save-facts",
                f.to_str().unwrap(),
            ],
        )
    })
    .await
    .unwrap();
    let facts = std::fs::read_to_string(&facts).unwrap();
    for text in [&r.stdout, &facts] {
        for needle in ["AdeleV", "Adele Vance"] {
            assert!(!text.contains(needle), "{needle} leaked");
        }
    }
    assert!(facts.contains("\"redacted\": true"));
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    let mut c = Command::cargo_bin("xdrguard").unwrap();
    let ws = scenarios::workspace_id();
    let out = c
        .env("XDRGUARD_ACCESS_TOKEN", TOKEN)
        .args([
            "collect",
            "--workspace",
            &ws,
            "--arm-url",
            "http://management.example.com",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn bad_workspace_id_is_bad_input() {
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .args(["audit", "--workspace", "/subscriptions/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn permissions_come_from_the_catalog() {
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .args(["permissions"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for s in xdrguard::facts::apis::SECTIONS {
        assert!(text.contains(s.permission), "{}", s.permission);
    }
    let out = Command::cargo_bin("xdrguard")
        .unwrap()
        .args(["permissions", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        xdrguard::facts::apis::SECTIONS.len()
    );
}

/// `audit` flattens `check`'s options next to the source options: clap must find no clash
/// (a future option of `check` with the same name as a source option would fail here).
#[test]
fn audit_takes_every_option_of_check() {
    use clap::CommandFactory;
    let cmd = xdrguard::cli::Cli::command();
    cmd.clone().debug_assert();
    let long = |name: &str| -> Vec<String> {
        let sub = cmd
            .get_subcommands()
            .find(|c| c.get_name() == name)
            .unwrap();
        sub.get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect()
    };
    let audit = long("audit");
    for opt in long("check").into_iter().filter(|o| o != "facts") {
        assert!(audit.contains(&opt), "audit lacks --{opt}");
    }
}

/// `audit --quiet` with `--report` writes the reports and prints nothing on stdout.
#[tokio::test]
async fn audit_quiet_writes_reports_only() {
    let fake = Fake::start(&Tenant::ready()).await;
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("r.sarif");
    let ws = scenarios::workspace_id();
    let c = xdrguard(&fake);
    let path = sarif.clone();
    let r = tokio::task::spawn_blocking(move || {
        let report = format!("sarif={}", path.display());
        run(
            c,
            &["audit", "--workspace", &ws, "--quiet", "--report", &report],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

/// The ingestion query looks back as far as the longest age a policy judges: a config that
/// accepts 30-day-old data must not have it judged on 14 days of results.
#[tokio::test]
async fn ingestion_lookback_follows_the_policies() {
    let fake = Fake::start(&Tenant::ready()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("xdrguard.yaml");
    std::fs::write(
        &cfg,
        "controls:\n  XDR-EVT-02:\n    params:\n      max_age: 30d\n",
    )
    .unwrap();
    let out = dir.path().join("facts.json");
    let ws = scenarios::workspace_id();
    let c = xdrguard(&fake);
    let (cfg_s, out_s) = (cfg.display().to_string(), out.display().to_string());
    let r = tokio::task::spawn_blocking(move || {
        run(
            c,
            &[
                "collect",
                "--workspace",
                &ws,
                "--config",
                &cfg_s,
                "-o",
                &out_s,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let query = fake
        .log()
        .into_iter()
        .find(|l| l.key.contains("/query"))
        .and_then(|l| l.body)
        .unwrap();
    assert_eq!(query["timespan"], "P30D");
}

/// On a terminal, stderr shows per-API progress (requests, retries); `--quiet` shows none.
/// `script` gives the command a real pseudo-terminal.
#[tokio::test]
async fn progress_on_a_terminal_only() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").is_err(),
            "`script` (util-linux) is needed under CI"
        );
        eprintln!("skipped: no `script` to give the command a terminal");
        return;
    }
    let fake = Fake::start(&Tenant::throttled()).await;
    let bin = assert_cmd::cargo::cargo_bin("xdrguard");
    let ws = scenarios::workspace_id();
    let uri = fake.uri();
    let on_tty = |quiet: bool| {
        let cmd = format!(
            "{} collect --workspace {ws} -o /dev/null {} > /dev/null",
            bin.display(),
            if quiet { "--quiet" } else { "" }
        );
        let uri = uri.clone();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("script")
                .args(["-qec", &cmd, "/dev/null"])
                .env("XDRGUARD_ACCESS_TOKEN", TOKEN)
                .env("XDRGUARD_GRAPH_URL", &uri)
                .env("XDRGUARD_ARM_URL", &uri)
                .env("XDRGUARD_LOG_ANALYTICS_URL", &uri)
                .env("NO_COLOR", "1")
                .env_remove("AZURE_CLIENT_SECRET")
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    let shown = on_tty(false).await.unwrap();
    // The live display's "N requests, M retries" (the closing summary says "N requests/M retries").
    assert!(shown.contains("Azure Resource Manager"), "{shown}");
    assert!(shown.contains(" requests, "), "{shown}");
    assert!(!shown.contains(TOKEN));
    let quiet = on_tty(true).await.unwrap();
    assert!(!quiet.contains("requests"), "{quiet}");
}
