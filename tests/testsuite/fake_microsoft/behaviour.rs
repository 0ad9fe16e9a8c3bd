//! Declared in main.rs (not in `fake_microsoft/mod.rs`, which the latency bench also
//! compiles). The fake behaves as Microsoft documents (each behaviour cited where it is implemented in
//! `mod.rs`): these tests drive it over real HTTP, without xdrguard, so a scenario that
//! relies on a behaviour cannot silently lose it.

use crate::fake_microsoft::scenarios::{
    paths, workspace_id, Tenant, GROUP, OPERATOR, SECURITY_ADMIN,
};
use crate::fake_microsoft::{Fake, TOKEN};
use serde_json::{json, Value};

async fn get(fake: &Fake, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .get(format!("{}{}", fake.uri(), path.replace(' ', "%20")))
        .bearer_auth(TOKEN);
    for (n, v) in headers {
        r = r.header(*n, *v);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn principals(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["principalId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn principal_filter_is_direct_only_and_in_reaches_the_group() {
    let fake = Fake::start(&Tenant::group_held_role()).await;
    let (s, direct) = get(&fake, &paths::role_assignments(OPERATOR), &[]).await;
    assert_eq!(
        (s, principals(&direct)),
        (200, vec![]),
        "the group's role is not the user's direct assignment"
    );
    let (s, both) = get(&fake, &paths::role_assignments_in(&[OPERATOR, GROUP]), &[]).await;
    assert_eq!((s, principals(&both)), (200, vec![GROUP.to_string()]));
    let by_role = format!("/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{SECURITY_ADMIN}'");
    let (_, r) = get(&fake, &by_role, &[]).await;
    assert_eq!(principals(&r), vec![GROUP.to_string()]);
    let (_, els) = get(&fake, &paths::eligibilities_in(&[OPERATOR, GROUP]), &[]).await;
    assert_eq!(principals(&els), Vec::<String>::new());
    assert!(fake.misses().is_empty(), "{:?}", fake.misses());
}

#[tokio::test]
async fn eligible_group_role_is_answered_to_the_group_filter_only() {
    let fake = Fake::start(&Tenant::group_eligible_role()).await;
    let (_, direct) = get(&fake, &paths::eligibilities(OPERATOR), &[]).await;
    assert_eq!(principals(&direct), Vec::<String>::new());
    let (_, both) = get(&fake, &paths::eligibilities_in(&[OPERATOR, GROUP]), &[]).await;
    assert_eq!(principals(&both), vec![GROUP.to_string()]);
}

#[tokio::test]
async fn odata_cast_needs_consistency_level_and_count_when_strict() {
    let fake = Fake::start(&Tenant::strict_group_read()).await;
    let (s, e) = get(&fake, &paths::groups(OPERATOR), &[]).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("Request_UnsupportedQuery"))
    );
    let (s, _) = get(&fake, &paths::groups_advanced(OPERATOR), &[]).await;
    assert_eq!(s, 400, "$count=true without the header is still refused");
    let (s, ok) = get(
        &fake,
        &paths::groups_advanced(OPERATOR),
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        ok["@odata.count"],
        json!(ok["value"].as_array().unwrap().len())
    );
    let (s, _) = get(
        &fake,
        &paths::groups_advanced("me"),
        &[("consistencylevel", "Eventual")],
    )
    .await;
    assert_eq!(s, 200, "header names and the value are case-insensitive");
}

#[tokio::test]
async fn consistency_level_inside_a_batch_request_counts() {
    let fake = Fake::start(&Tenant::strict_group_read()).await;
    let rel = paths::groups_advanced(OPERATOR)
        .trim_start_matches("/v1.0")
        .to_string();
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": rel, "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "2", "method": "GET", "url": rel}
    ]});
    let resp: Value = reqwest::Client::new()
        .post(format!("{}/v1.0/$batch", fake.uri()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = |id: &str| {
        resp["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].as_u64().unwrap())
    };
    assert_eq!((status("1"), status("2")), (Some(200), Some(400)));
    let inner = fake.log().into_iter().find(|l| l.in_batch).unwrap();
    assert_eq!(
        inner.headers.get("consistencylevel").map(String::as_str),
        Some("eventual")
    );
}

#[tokio::test]
async fn arm_paths_match_in_any_case() {
    let fake = Fake::start(&Tenant::lowercase_ids()).await;
    let lower = paths::workspace().replace(&workspace_id(), &workspace_id().to_ascii_lowercase());
    let (s, ws) = get(&fake, &lower, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        ws["id"],
        json!(workspace_id().to_ascii_lowercase()),
        "answers carry lowercase IDs"
    );
    let (s, _) = get(&fake, &paths::workspace(), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(
        fake.duplicates().len(),
        1,
        "the two spellings are one resource"
    );
    assert!(fake.misses().is_empty());
}

#[tokio::test]
async fn the_two_mdi_403s_differ_by_body() {
    let not_onboarded = Fake::start(&Tenant::mdi_not_onboarded()).await;
    let forbidden = Fake::start(&Tenant::mdi_forbidden()).await;
    for path in [paths::sensors(), paths::health_issues()] {
        let (s, a) = get(&not_onboarded, &path, &[]).await;
        assert_eq!((s, a["error"]["code"].as_str()), (403, Some("Forbidden")));
        assert!(a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not onboarded"));
        let (s, b) = get(&forbidden, &path, &[]).await;
        assert_eq!(
            (
                s,
                b["error"]["code"].as_str(),
                b["error"]["message"].as_str()
            ),
            (403, Some("UnknownError"), Some(""))
        );
    }
}

#[tokio::test]
async fn grace_period_units_are_in_warning() {
    let fake = Fake::start(&Tenant::grace_period()).await;
    let (_, skus) = get(&fake, &paths::skus(), &[]).await;
    let e5 = &skus["value"][0];
    assert_eq!(
        (
            e5["capabilityStatus"].as_str(),
            e5["prepaidUnits"]["enabled"].as_i64(),
            e5["prepaidUnits"]["warning"].as_i64()
        ),
        (Some("Warning"), Some(0), Some(25))
    );
}
