//! Issue 8 — right verdicts on real tenants. Each test runs the real binary against a fake
//! tenant that behaves as Microsoft documents (see `fake_microsoft::scenarios`, where every
//! behaviour is cited) and asserts the status of every control.
//!

use super::cli::{assert_clean, assert_statuses, xdrguard, Run};
use crate::common::statuses;
use crate::fake_microsoft;

use assert_cmd::Command;
use fake_microsoft::scenarios::{self, Tenant, GROUP};
use fake_microsoft::Fake;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `cli::xdrguard`, without the test token (no credential at all).
fn signed_out(fake: &Fake) -> Command {
    let mut c = xdrguard(fake);
    for v in ["XDRGUARD_ACCESS_TOKEN", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"] {
        c.env_remove(v);
    }
    c
}

/// Run off the async runtime; also how long it took.
async fn run(c: Command, args: &[&str]) -> (Run, Duration) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let r = super::cli::run(c, &args.iter().map(String::as_str).collect::<Vec<_>>());
        (r, t.elapsed())
    })
    .await
    .unwrap()
}

/// `audit --format json` over `tenant` with `workspace` and `extra` → (report, run, fake).
async fn audit_with(tenant: &Tenant, workspace: &str, extra: &[&str]) -> (Value, Run, Fake) {
    let fake = Fake::start(tenant).await;
    let mut a = vec![
        "audit",
        "--workspace",
        workspace,
        "--format",
        "json",
        "--max-retry-wait",
        "10",
    ];
    a.extend_from_slice(extra);
    let (r, _) = run(xdrguard(&fake), &a).await;
    let report: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", r.stdout, r.stderr));
    (report, r, fake)
}

async fn audit(tenant: &Tenant, extra: &[&str]) -> (BTreeMap<String, String>, Value, Run, Fake) {
    let (report, r, fake) = audit_with(tenant, &scenarios::workspace_id(), extra).await;
    (statuses(&report), report, r, fake)
}

fn result<'a>(report: &'a Value, control: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["control"] == control)
        .unwrap()
}

/// The operator's group read was sent as the documented advanced query.
fn assert_groups_read_as_advanced_query(fake: &Fake) {
    let reads: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|l| l.key.contains("/transitiveMemberOf/microsoft.graph.group"))
        .collect();
    assert_eq!(reads.len(), 1, "one group read");
    assert!(reads[0].key.contains("$count=true"), "{}", reads[0].key);
    assert_eq!(
        reads[0]
            .headers
            .get("consistencylevel")
            .map(|v| v.to_ascii_lowercase()),
        Some("eventual".into()),
        "ConsistencyLevel: eventual (inside the $batch body when batched)"
    );
}

// ---- item 1: roles held through a role-assignable group ---------------------------------

#[tokio::test]
async fn security_administrator_held_through_a_group_passes_without_an_extra_round_trip() {
    let (s, _, r, fake) = audit(&Tenant::group_held_role(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_clean(&fake);
    assert_groups_read_as_advanced_query(&fake);
    // /me → {groups, roles} today is two $batch calls; reading the group's roles must not add one.
    assert!(
        fake.hits("POST", "/v1.0/$batch") <= 2,
        "{} batches",
        fake.hits("POST", "/v1.0/$batch")
    );
    // The group's assignment was read (by principalId in (…) or by roleDefinitionId).
    assert!(
        fake.log().iter().any(|l| l.key.contains("roleAssignments")
            && (l.key.contains(GROUP) || l.key.contains("roleDefinitionId"))),
        "the group-held assignment must be asked for"
    );
}

#[tokio::test]
async fn security_administrator_only_eligible_through_a_group_fails_and_asks_to_activate() {
    let (s, report, r, fake) = audit(&Tenant::group_eligible_role(), &[]).await;
    assert_statuses(&s, &[("XDR-ID-02", "fail"), ("XDR-USX-01", "skipped")]);
    assert_eq!(r.code, 1);
    let id02 = result(&report, "XDR-ID-02").to_string();
    assert!(
        id02.contains("through group") && id02.contains(GROUP),
        "{id02}"
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn operator_by_upn_with_a_group_held_role_batches_user_and_groups_together() {
    let (s, _, r, fake) = audit(
        &Tenant::group_held_role(),
        &["--operator", scenarios::OPERATOR_UPN],
    )
    .await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_clean(&fake);
    // GET /users/{upn} and GET /users/{upn}/transitiveMemberOf/… travel in the same $batch.
    assert!(fake.hits("POST", "/v1.0/$batch") <= 2);
}

// ---- item 4: ConsistencyLevel for the OData cast ------------------------------------------

#[tokio::test]
async fn operator_groups_are_read_with_consistency_level_eventual() {
    let (s, _, r, fake) = audit(&Tenant::strict_group_read(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_groups_read_as_advanced_query(&fake);
    assert_clean(&fake);
}

// ---- item 2: the two MDI 403s -------------------------------------------------------------

#[tokio::test]
async fn mdi_not_onboarded_403_fails_mdi_01_and_blocks_mdi_02() {
    let (s, report, r, fake) = audit(&Tenant::mdi_not_onboarded(), &[]).await;
    assert_statuses(&s, &[("XDR-MDI-01", "fail"), ("XDR-MDI-02", "skipped")]);
    assert_eq!(r.code, 1);
    let mdi01 = result(&report, "XDR-MDI-01").to_string();
    assert!(
        !mdi01.contains("SecurityIdentitiesSensors.Read.All"),
        "no permission hint: {mdi01}"
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn mdi_permission_403_stays_an_error_with_the_permission() {
    let (s, report, r, fake) = audit(&Tenant::mdi_forbidden(), &[]).await;
    assert_statuses(&s, &[("XDR-MDI-01", "error"), ("XDR-MDI-02", "error")]);
    assert_eq!(r.code, 2);
    let reason = result(&report, "XDR-MDI-01")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("SecurityIdentitiesSensors.Read.All"),
        "{reason}"
    );
    assert_clean(&fake);
}

// ---- item 3: licenses in their grace period -----------------------------------------------

#[tokio::test]
async fn grace_period_license_passes_with_a_note_and_the_facts_keep_warning_units() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let (s, report, _, fake) = audit(
        &Tenant::grace_period(),
        &["--save-facts", facts.to_str().unwrap()],
    )
    .await;
    assert_statuses(&s, &[]);
    assert!(result(&report, "XDR-LIC-01")
        .to_string()
        .contains("grace period"));
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap();
    let sku = &facts["sections"]["licenses"]["data"][0];
    assert_eq!(
        (
            sku["prepaid_enabled"].as_i64(),
            sku["prepaid_warning"].as_i64()
        ),
        (Some(0), Some(25))
    );
    assert_clean(&fake);
}

// ---- item 5: US Government plans ---------------------------------------------------------

#[tokio::test]
async fn gcc_tenant_with_m365_g5_gcc_passes_in_the_usgov_cloud() {
    let (s, report, r, fake) = audit(&Tenant::gcc(), &["--cloud", "usgov"]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(report["target"]["cloud"], "usgov");
    assert_clean(&fake);
}

// ---- item 7: Unknown license state, removable sensors ------------------------------------

#[tokio::test]
async fn unknown_license_state_is_an_error_not_a_fail() {
    let (s, report, r, _) = audit(&Tenant::license_state_unknown(), &[]).await;
    assert_statuses(&s, &[("XDR-REQ-01", "error")]);
    assert_eq!(r.code, 2);
    assert!(result(&report, "XDR-REQ-01")
        .to_string()
        .contains("could not determine the license state"));
}

#[tokio::test]
async fn unreachable_sensor_of_a_deleted_domain_controller_does_not_fail() {
    let (s, report, r, _) = audit(&Tenant::unreachable_sensor(), &[]).await;
    assert_statuses(&s, &[]);
    assert_eq!(r.code, 0);
    assert!(result(&report, "XDR-MDI-02").to_string().contains("DC2"));
}

// ---- item 8: lowercase workspace IDs, bad subscription -----------------------------------

#[tokio::test]
async fn lowercase_workspace_id_is_accepted_and_normalised() {
    let lower = scenarios::workspace_id().to_ascii_lowercase();
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let (report, r, fake) = audit_with(
        &Tenant::lowercase_ids(),
        &lower,
        &["--save-facts", facts.to_str().unwrap()],
    )
    .await;
    assert_statuses(&statuses(&report), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
    // Normalised once: canonical segment names and a lowercase subscription GUID; the
    // resource group and workspace names stay as typed (ARM matches them case-insensitively,
    // and nothing in the answers says how they were first spelled).
    let canonical = format!(
        "/subscriptions/{}/resourceGroups/myrg/providers/Microsoft.OperationalInsights/workspaces/myworkspace",
        scenarios::SUB.to_ascii_lowercase()
    );
    assert_eq!(saved["target"]["workspace_id"], canonical);
    assert_clean(&fake);
}

#[tokio::test]
async fn non_guid_subscription_is_rejected_before_any_request() {
    let fake = Fake::start(&Tenant::ready()).await;
    let ws = "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w";
    for cmd in ["audit", "collect"] {
        let (r, _) = run(
            xdrguard(&fake),
            &[cmd, "--workspace", ws, "-o", "/dev/null"],
        )
        .await;
        assert_eq!(r.code, 3, "{cmd}: {}", r.stderr);
        assert!(r.stderr.contains("not-a-guid"), "{}", r.stderr);
    }
    assert!(fake.log().is_empty(), "nothing is collected");
}

// ---- item 9: no credential; collect's exit code ------------------------------------------

#[tokio::test]
async fn no_credential_is_one_message_exit_3_before_any_request() {
    let fake = Fake::start(&Tenant::ready()).await;
    let ws = scenarios::workspace_id();
    for auth in ["client-secret", "cli"] {
        let mut c = signed_out(&fake);
        c.env("PATH", ""); // no `az`
        let (r, _) = run(c, &["audit", "--workspace", &ws, "--auth", auth]).await;
        assert_eq!(r.code, 3, "--auth {auth}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "no report rows: {}", r.stdout);
        assert!(!r.stderr.contains("Graph permission"), "{}", r.stderr);
        assert!(
            r.stderr.contains("AZURE_CLIENT_SECRET") || r.stderr.contains("az login"),
            "names how to sign in: {}",
            r.stderr
        );
    }
    assert!(fake.log().is_empty(), "no request without a credential");
}

#[tokio::test]
async fn collect_exits_2_when_a_section_is_an_error() {
    let fake = Fake::start(&Tenant::forbidden()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.json");
    let ws = scenarios::workspace_id();
    let (r, _) = run(
        xdrguard(&fake),
        &[
            "collect",
            "--workspace",
            &ws,
            "-o",
            out.to_str().unwrap(),
            "--max-retry-wait",
            "10",
        ],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(out.exists(), "the facts are still written");
}

// ---- item 10: no network -----------------------------------------------------------------

#[tokio::test]
async fn connection_refused_is_one_cause_reported_once_quickly() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let fake = Fake::start(&Tenant::ready()).await;
    let mut c = xdrguard(&fake);
    for api in ["GRAPH", "ARM", "LOG_ANALYTICS"] {
        c.env(format!("XDRGUARD_{api}_URL"), &base);
    }
    let ws = scenarios::workspace_id();
    let (r, took) = run(c, &["audit", "--workspace", &ws, "--format", "json"]).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.matches("127.0.0.1").count(),
        1,
        "one cause, once: {}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("grant"),
        "no permission advice for a connection failure"
    );
}
