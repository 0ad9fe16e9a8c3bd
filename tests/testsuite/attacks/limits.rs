//! Class 3: answers without end. A gzip bomb (ARM list, Log Analytics query), a chunked body
//! that never ends, a list whose every page links to a new one, a list of too many items
//! (inside `$batch`), and one page of role assignments naming hundreds of role definitions.
//! Each stops at its limit as a section error naming the limit and its flag.

use super::raw_server::{Answer, RawServer};
use super::{against, collect_args, launch, SECRETS};
use crate::fake_microsoft::scenarios::{self, paths, Tenant, OPERATOR, SUB};
use crate::fake_microsoft::{Fake, Reply};
use serde_json::json;
use std::io::Write;
use std::time::Duration;

/// `inflated` bytes of zeros, gzip-compressed (about a thousandth of the size).
fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..inflated >> 20 {
        gz.write_all(&block).unwrap();
    }
    gz.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_response_limit_on_arm_and_log_analytics() {
    let bomb = gzip_bomb(256 << 20);
    assert!(bomb.len() < 2 << 20, "{} bytes on the wire", bomb.len());
    let gz = [("Content-Encoding", "gzip")];
    let mut t = Tenant::ready();
    t.get(
        paths::alert_rules(),
        vec![Reply::bytes(200, bomb.clone(), &gz)],
    );
    t.post(paths::query(), vec![Reply::bytes(200, bomb, &gz)]);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(
        &fake,
        collect_args,
        &["--max-response-bytes", "16MiB"],
        Duration::from_secs(90),
    )
    .await;
    // Two bodies of at most 16 MiB (and their growth), not 512 MiB.
    out.assert_bounded(2, 90, 250).assert_clean(SECRETS);
    for s in ["alert_rules", "ingestion"] {
        assert_eq!(
            out.section_code(s).as_deref(),
            Some("ResponseTooLarge"),
            "{s}"
        );
    }
    let msg = out.facts()["sections"]["alert_rules"]["error"]["message"].to_string();
    assert!(
        msg.contains("16777216 bytes") && msg.contains("--max-response-bytes"),
        "{msg}"
    );
    assert_eq!(
        fake.hits("GET", &paths::alert_rules()),
        1,
        "a limit is not retried"
    );
    assert!(
        out.facts()["sections"]["alert_rules"]["error"]["permission"].is_null(),
        "no permission would help"
    );
}

/// `collect` with the APIs at the fake but the one whose base URL variable is `api`, which is
/// at a raw server answering with `answer`.
async fn api_at(
    api: &str,
    answer: fn(&str, &str, &str) -> Answer,
    extra: &[&str],
) -> (super::Outcome, RawServer) {
    let raw = RawServer::start(answer);
    let fake = Fake::start(&Tenant::ready()).await;
    let mut cmd = super::xdrguard();
    fake.point(&mut cmd);
    cmd.env(api, &raw.base);
    let (out, _dir) = launch(cmd, collect_args, extra, Duration::from_secs(90)).await;
    (out, raw)
}

/// ARM at a server whose every answer is a JSON list that never ends.
fn endless(_: &str, _: &str, _: &str) -> Answer {
    Answer::Endless
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_response_limit() {
    let (out, raw) = api_at(
        "XDRGUARD_ARM_URL",
        endless,
        &["--max-response-bytes", "4MiB"],
    )
    .await;
    out.assert_bounded(2, 90, 300).assert_clean(SECRETS);
    for s in ["alert_rules", "tables", "workspace", "settings"] {
        assert_eq!(
            out.section_code(s).as_deref(),
            Some("ResponseTooLarge"),
            "{s}"
        );
    }
    assert!(raw.requests() < 20, "{} requests", raw.requests());
    // The same from Graph: the `$batch` answer itself never ends.
    let (out, raw) = api_at(
        "XDRGUARD_GRAPH_URL",
        endless,
        &["--max-response-bytes", "4MiB"],
    )
    .await;
    out.assert_bounded(2, 90, 300).assert_clean(SECRETS);
    for s in ["tenant", "licenses", "operator", "mdi_sensors"] {
        assert_eq!(
            out.section_code(s).as_deref(),
            Some("ResponseTooLarge"),
            "{s}"
        );
    }
    assert_eq!(raw.requests(), 1, "one $batch, not retried");
}

/// ARM at a server whose every list page links to the next page, forever.
fn pages_forever(_: &str, target: &str, base: &str) -> Answer {
    let n: usize = target
        .rsplit_once("page=")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0);
    let path = target.split("&page=").next().unwrap_or(target);
    let body = json!({
        "value": [{"id": format!("/x/{n}"), "name": format!("n{n}")}],
        "nextLink": format!("{base}{path}&page={}", n + 1),
    });
    Answer::Json(200, body.to_string())
}

#[tokio::test]
async fn endless_paging_stops_at_the_page_limit() {
    let (out, raw) = api_at("XDRGUARD_ARM_URL", pages_forever, &["--max-pages", "25"]).await;
    out.assert_bounded(2, 90, 300).assert_clean(SECRETS);
    for s in ["alert_rules", "tables", "data_connectors", "settings"] {
        assert_eq!(out.section_code(s).as_deref(), Some("TooManyPages"), "{s}");
    }
    let msg = out.facts()["sections"]["tables"]["error"]["message"].to_string();
    assert!(
        msg.contains("more than 25 pages") && msg.contains("--max-pages"),
        "{msg}"
    );
    // Ten lists (the nine of the workspace, automation rules included, and the caller's
    // permissions) of 25 pages each, plus the few single GETs.
    assert!(
        raw.requests() <= 10 * 25 + 10,
        "{} requests",
        raw.requests()
    );
}

#[tokio::test]
async fn a_graph_list_over_the_item_or_page_limit_inside_batch_is_an_error() {
    let mut t = Tenant::ready();
    let sensor = t.items(&paths::sensors())[0].clone();
    t.list(paths::sensors(), vec![sensor; 3000]);
    let issues: Vec<_> = (0..40)
        .map(|i| json!({"id": format!("h{i}"), "severity": "low", "status": "open"}))
        .collect();
    t.pages(paths::health_issues(), issues, 40);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(
        &fake,
        collect_args,
        &["--max-items", "1000", "--max-pages", "10"],
        Duration::from_secs(60),
    )
    .await;
    out.assert_bounded(2, 60, 300).assert_clean(SECRETS);
    assert_eq!(
        out.section_code("mdi_sensors").as_deref(),
        Some("TooManyItems")
    );
    assert_eq!(
        out.section_code("mdi_health_issues").as_deref(),
        Some("TooManyPages")
    );
    let graph_gets = fake
        .log()
        .iter()
        .filter(|l| l.key.contains("healthIssues"))
        .count();
    assert!(graph_gets <= 10, "{graph_gets} pages read");
}

#[tokio::test]
async fn role_assignments_naming_hundreds_of_definitions_do_not_fan_out() {
    let mut t = Tenant::ready();
    let many: Vec<_> = (0..500)
        .map(|i| {
            let role = format!("00000000-0000-0000-0000-{i:012}");
            scenarios::role_assignment(
                &format!("a{i}"),
                OPERATOR,
                &role,
                &format!("/subscriptions/{SUB}"),
            )
        })
        .collect();
    t.list(paths::assigned_to(OPERATOR), many);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(
        &fake,
        collect_args,
        &["--operator", OPERATOR],
        Duration::from_secs(60),
    )
    .await;
    out.assert_bounded(2, 60, 300).assert_clean(SECRETS);
    assert_eq!(
        out.section_code("workspace_permissions").as_deref(),
        Some("FanOutTooLarge")
    );
    let msg = out.facts()["sections"]["workspace_permissions"]["error"]["message"].to_string();
    assert!(
        msg.contains("500 distinct role definitions") && msg.contains("--max-fan-out"),
        "{msg}"
    );
    let defs = fake
        .log()
        .iter()
        .filter(|l| l.key.contains("roleDefinitions/"))
        .count();
    assert_eq!(defs, 0, "no role definition was fetched");
}
