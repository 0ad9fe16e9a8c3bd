//! Class 1: a server that echoes the bearer token back, in every place an answer has: error
//! codes and messages of ARM, of a Graph `$batch` inner answer and of a Log Analytics partial
//! error, a non-JSON error body cut where the token sits, data fields (display names), and a
//! same-origin nextLink that the `-vv` log prints. A too-short token is refused before any
//! request.

use super::{against, audit_args, collect_args, SECRETS};
use crate::fake_microsoft::scenarios::{paths, Tenant};
use crate::fake_microsoft::{Fake, Reply, TOKEN};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_token_echoed_in_error_codes_and_messages_never_reaches_an_output() {
    let mut t = Tenant::ready();
    t.get(
        paths::alert_rules(),
        vec![Reply::error(
            403,
            &format!("Bearer {TOKEN}"),
            &format!("denied for {TOKEN}"),
        )],
    );
    // Inside $batch: the code alone is the token.
    t.get(paths::skus(), vec![Reply::error(400, TOKEN, "bad")]);
    // A non-JSON body whose first 200 characters end inside the token.
    let raw = format!("{}{TOKEN} trailing", "x".repeat(180));
    t.get(paths::settings(), vec![Reply::raw(500, &raw)]);
    // Log Analytics: a partial-result error whose code is the token.
    t.post(
        paths::query(),
        vec![Reply::ok(
            json!({"tables": [], "error": {"code": TOKEN, "message": TOKEN}}),
        )],
    );
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(&fake, audit_args, &[], Duration::from_secs(60)).await;
    out.assert_bounded(2, 60, 400).assert_clean(SECRETS);
    // The errors are still there, scrubbed, not dropped.
    assert_eq!(
        out.section_code("alert_rules").as_deref(),
        Some("Bearer [REDACTED]")
    );
    assert_eq!(out.section_code("licenses").as_deref(), Some("[REDACTED]"));
    assert_eq!(out.section_code("ingestion").as_deref(), Some("[REDACTED]"));
    assert!(
        out.stderr.contains("[REDACTED]"),
        "the -vv log shows the scrubbed code"
    );
}

#[tokio::test]
async fn a_token_in_data_fields_and_a_next_link_is_scrubbed_everywhere() {
    let mut t = Tenant::ready();
    let mut orgs = t.items(&paths::organization());
    orgs[0]["displayName"] = json!(format!("Contoso {TOKEN}"));
    t.list(paths::organization(), orgs);
    // ARM: a same-origin nextLink carrying the token in its query (logged by -vv).
    let rules = t.items(&paths::alert_rules());
    let page2 = format!("{}&$skipToken={TOKEN}", paths::alert_rules());
    let mut first = rules.clone();
    for r in &mut first {
        r["properties"]["displayName"] = json!(format!("rule {TOKEN}"));
    }
    t.get(page2.clone(), vec![Reply::ok(json!({"value": []}))]);
    let fake = Fake::start(&t).await;
    let next = format!("{}{page2}", fake.uri());
    fake.set_route(
        "GET",
        &paths::alert_rules(),
        vec![Reply::ok(json!({"value": first, "nextLink": next}))],
    );
    let (out, _dir) = against(&fake, collect_args, &[], Duration::from_secs(60)).await;
    out.assert_bounded(0, 60, 400).assert_clean(SECRETS);
    assert_eq!(fake.hits("GET", &page2), 1, "page 2 was read");
    let facts = out.facts();
    assert_eq!(
        facts["sections"]["tenant"]["data"]["display_name"],
        "Contoso [REDACTED]"
    );
    assert!(
        out.stderr.contains("$skipToken=[REDACTED]"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_token_under_16_characters_is_refused_before_any_request() {
    let fake = Fake::start(&Tenant::ready()).await;
    let mut cmd = super::xdrguard();
    fake.point(&mut cmd);
    cmd.env("XDRGUARD_ACCESS_TOKEN", "short-tok");
    let (out, _dir) = super::launch(cmd, collect_args, &[], Duration::from_secs(30)).await;
    out.assert_bounded(3, 30, 200).assert_clean(&["short-tok"]);
    assert!(out.stderr.contains("under 16 characters"), "{}", out.stderr);
    assert_eq!(fake.log().len(), 0, "nothing was sent");
    // The same for a client secret.
    let mut cmd = super::xdrguard();
    cmd.env("AZURE_CLIENT_SECRET", "tiny")
        .env("AZURE_TENANT_ID", "t")
        .env("AZURE_CLIENT_ID", "c");
    let (out, _dir) = super::launch(cmd, collect_args, &[], Duration::from_secs(30)).await;
    out.assert_bounded(3, 30, 200);
    assert!(
        out.stderr.contains("AZURE_CLIENT_SECRET is 4 characters"),
        "{}",
        out.stderr
    );
}
