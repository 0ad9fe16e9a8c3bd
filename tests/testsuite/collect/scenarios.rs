//! Collection against the fake Microsoft: the facts document, the request log (read-only, no
//! duplicates, paging followed, batching), faults (throttling, 5xx, 403, malformed bodies).

use crate::fake_microsoft;

use fake_microsoft::scenarios::{
    self, paths, Tenant, OPERATOR, OPERATOR_UPN, REQUIRED_TABLES, TENANT,
};
use fake_microsoft::{Fake, Reply, TOKEN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use xdrguard::collect::auth::Tokens;
use xdrguard::collect::cloud::{Cloud, Endpoints};
use xdrguard::collect::http::{Http, RetryPolicy};
use xdrguard::collect::progress::Progress;
use xdrguard::collect::{collect, Options};
use xdrguard::facts::{FactsDocument, Section, SectionError, SectionName, WorkspaceRef};

fn http_for(fake: &Fake, policy: RetryPolicy) -> Http {
    let e = Endpoints::new(
        Cloud::Public,
        Some(&fake.uri()),
        Some(&fake.uri()),
        Some(&fake.uri()),
    )
    .unwrap();
    Http::new(
        e.clone(),
        Tokens::fixed(TOKEN, e),
        16,
        policy,
        Progress::hidden(),
    )
    .unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(10),
        ..RetryPolicy::default()
    }
}

fn options(operator: Option<&str>) -> Options {
    Options {
        workspace: WorkspaceRef::parse(&scenarios::workspace_id()).unwrap(),
        operator: operator.map(str::to_string),
        required_tables: REQUIRED_TABLES.iter().map(|s| s.to_string()).collect(),
        ingestion_lookback: chrono::Duration::days(7),
        accepted_roles: vec![
            scenarios::SECURITY_ADMIN.into(),
            scenarios::GLOBAL_ADMIN.into(),
        ],
        redact: false,
    }
}

pub(super) async fn run(tenant: &Tenant, operator: Option<&str>) -> (FactsDocument, Fake, Http) {
    let fake = Fake::start(tenant).await;
    let http = http_for(&fake, fast());
    let facts = collect(&http, &options(operator)).await;
    (facts, fake, http)
}

/// Whether some item of a list section satisfies `pred`.
fn any_item(facts: &FactsDocument, section: SectionName, pred: impl Fn(&Value) -> bool) -> bool {
    data(facts, section).as_array().unwrap().iter().any(pred)
}

pub(super) fn data(f: &FactsDocument, name: SectionName) -> &Value {
    match f.sections.get(&name) {
        Some(Section::Data(v)) => v,
        other => panic!("section {name} is not data: {other:?}"),
    }
}

pub(super) fn error(f: &FactsDocument, name: SectionName) -> &SectionError {
    match f.sections.get(&name) {
        Some(Section::Error(e)) => e,
        other => panic!("section {name} is not an error: {other:?}"),
    }
}

/// Every request was a read, carried the token, matched a route and was made once.
pub(super) fn assert_clean_log(fake: &Fake) {
    assert_eq!(fake.writes(), Vec::<String>::new(), "only reads");
    assert_eq!(
        fake.misses(),
        Vec::<String>::new(),
        "every call is one the docs list, with its api-version"
    );
    assert!(
        fake.duplicates().is_empty(),
        "duplicates: {:?}",
        fake.duplicates()
    );
    for l in fake.log() {
        assert_eq!(
            l.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            l.key
        );
    }
}

pub(super) fn assert_valid(facts: &FactsDocument) {
    let v = serde_json::to_value(facts).unwrap();
    let violations = xdrguard::input::schema::validate(xdrguard::input::schema::Kind::Facts, &v);
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(
        facts.sections.len(),
        xdrguard::facts::apis::SECTIONS.len(),
        "every catalog section is present"
    );
}

#[tokio::test]
async fn ready_tenant_gives_a_complete_valid_facts_document() {
    let (facts, fake, http) = run(&Tenant::ready(), None).await;
    assert_valid(&facts);
    for (name, s) in &facts.sections {
        assert!(matches!(s, Section::Data(_)), "{name}: {s:?}");
    }
    assert_eq!(facts.target.tenant_id.as_deref(), Some(TENANT));
    assert_eq!(data(&facts, SectionName::Tenant)["id"], TENANT);
    assert_eq!(data(&facts, SectionName::Subscription)["tenant_id"], TENANT);
    assert_eq!(data(&facts, SectionName::Operator)["id"], OPERATOR);
    assert_eq!(data(&facts, SectionName::Operator)["source"], "me");
    assert_eq!(data(&facts, SectionName::Operator)["user_type"], "Member");
    assert_eq!(
        data(&facts, SectionName::Workspace)["customer_id"],
        scenarios::CUSTOMER_ID
    );
    assert_eq!(
        data(&facts, SectionName::SentinelOnboarding),
        &json!({"enabled": true, "states": ["default"]})
    );
    assert_eq!(data(&facts, SectionName::MdiSensors)["provisioned"], true);
    assert_eq!(
        data(&facts, SectionName::MdiSensors)["sensors"][0]["health_status"],
        "healthy"
    );
    assert_eq!(
        data(&facts, SectionName::MdiHealthIssues)[0]["id"],
        "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"
    );
    let xdr = &data(&facts, SectionName::DataConnectors)[0];
    assert_eq!(
        (
            xdr["kind"].as_str(),
            xdr["incidents_state"].as_str(),
            xdr["tenant_id"].as_str()
        ),
        (
            Some("MicrosoftThreatProtection"),
            Some("Enabled"),
            Some(TENANT)
        )
    );
    assert_eq!(
        data(&facts, SectionName::ConnectorRequirements),
        &json!({"authorization_state": "Valid", "license_state": "Valid"})
    );
    let perms = data(&facts, SectionName::WorkspacePermissions);
    assert_eq!(
        (
            perms["source"].as_str(),
            perms["operator_is_caller"].as_bool()
        ),
        (Some("permissions_api"), Some(true))
    );
    assert_eq!(perms["permissions"][0]["actions"], json!(["*"]));
    let ing = data(&facts, SectionName::Ingestion).as_array().unwrap();
    assert_eq!(ing.len(), REQUIRED_TABLES.len() + 2);
    assert!(
        ing.iter()
            .all(|r| r["rows"].is_i64() && r["last_received"].is_string()),
        "string counts become integers"
    );
    assert_eq!(
        data(&facts, SectionName::Tables).as_array().unwrap().len(),
        REQUIRED_TABLES.len()
    );
    let ras = data(&facts, SectionName::WorkspaceRoleAssignments)
        .as_array()
        .unwrap();
    assert!(ras.iter().any(|a| a["role_definition_id"]
        .as_str()
        .unwrap()
        .ends_with(scenarios::SENTINEL_READER)));

    assert_clean_log(&fake);
    // Graph: one $batch: what the operator holds is read by role, so it needs no operator id.
    assert_eq!(fake.hits("POST", "/v1.0/$batch"), 1);
    let groups_read = fake
        .log()
        .into_iter()
        .find(|l| l.key.contains("/transitiveMemberOf/microsoft.graph.group"))
        .expect("the groups were read");
    assert!(groups_read.in_batch && groups_read.key.contains("$count=true"));
    assert_eq!(
        groups_read
            .headers
            .get("consistencylevel")
            .map(String::as_str),
        Some("eventual"),
        "the advanced query's header rides inside the $batch body"
    );
    assert_eq!(
        fake.log()
            .iter()
            .filter(|l| l.key.starts_with("GET /v1.0/") && !l.in_batch)
            .count(),
        0,
        "independent Graph GETs travel in $batch"
    );
    assert!(
        fake.http_requests() <= 25,
        "{} requests",
        fake.http_requests()
    );
    assert_eq!(
        http.counters.total_requests(),
        fake.http_requests(),
        "the client counts what it sends"
    );
    assert_eq!(
        http.tokens().fetches(),
        3,
        "one token per audience, fetched once"
    );

    // The single ingestion query: the documented columns, every required table, fuzzy union.
    let q = fake
        .log()
        .into_iter()
        .find(|l| l.key.contains("/query"))
        .unwrap()
        .body
        .unwrap();
    assert_eq!(q["timespan"], "P14D");
    let text = q["query"].as_str().unwrap();
    assert!(text.contains("union withsource=TableName isfuzzy=true"));
    assert!(text.contains("project TableName, LastReceived, Rows"));
    for t in REQUIRED_TABLES {
        assert!(text.contains(t), "{t} missing from query");
    }
    // The pre-check body is exactly the documented one, for the workspace's tenant.
    let check = fake
        .log()
        .into_iter()
        .find(|l| l.key.contains("dataConnectorsCheckRequirements"))
        .unwrap();
    assert_eq!(
        check.body.unwrap(),
        json!({"kind": "MicrosoftThreatProtection", "properties": {"tenantId": TENANT}})
    );
}

#[tokio::test]
async fn operator_by_upn_is_looked_up_and_role_definitions_fetched_once() {
    let mut t = Tenant::ready();
    // Two assignments of the same role: its definition must still be read only once.
    let mut two = t.items(&paths::assigned_to(OPERATOR));
    let mut other = two[0].clone();
    other["id"] = json!(format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/a3",
        scenarios::workspace_id()
    ));
    other["properties"]["scope"] = json!(scenarios::workspace_id());
    two.push(other);
    t.list(paths::assigned_to(OPERATOR), two);
    let (facts, fake, _) = run(&t, Some(OPERATOR_UPN)).await;
    assert_valid(&facts);
    assert_eq!(data(&facts, SectionName::Operator)["source"], "lookup");
    let perms = data(&facts, SectionName::WorkspacePermissions);
    assert_eq!(
        (
            perms["source"].as_str(),
            perms["operator_is_caller"].as_bool()
        ),
        (Some("role_assignments"), Some(false))
    );
    assert_eq!(perms["permissions"].as_array().unwrap().len(), 2);
    assert_eq!(perms["permissions"][0]["role_name"], "Contributor");
    assert!(perms["permissions"][0]["role_definition_id"]
        .as_str()
        .unwrap()
        .ends_with(scenarios::CONTRIBUTOR));
    assert_eq!(
        data(&facts, SectionName::Subscription)["id"],
        format!("/subscriptions/{}", scenarios::SUB)
    );
    assert_eq!(
        fake.hits("GET", &paths::role_definition(scenarios::CONTRIBUTOR)),
        1
    );
    assert_eq!(fake.hits("GET", &paths::user(OPERATOR_UPN)), 1);
    assert_eq!(
        fake.hits("GET", &paths::permissions()),
        0,
        "the permissions API speaks for the caller only"
    );
    assert_clean_log(&fake);
}

#[tokio::test]
async fn operator_by_object_id_needs_a_single_batch() {
    let (facts, fake, _) = run(&Tenant::ready(), Some(OPERATOR)).await;
    assert_valid(&facts);
    assert_eq!(
        fake.hits("POST", "/v1.0/$batch"),
        1,
        "lookup and memberships share one $batch"
    );
    assert_eq!(
        data(&facts, SectionName::DirectoryRoleAssignments)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_clean_log(&fake);
}

#[tokio::test]
async fn service_principal_without_operator_reports_why() {
    let mut t = Tenant::ready();
    t.get(
        paths::me(),
        vec![Reply::error(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )],
    );
    let (facts, fake, _) = run(&t, None).await;
    assert_valid(&facts);
    let e = error(&facts, SectionName::Operator);
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("--operator"), "{}", e.message);
    assert_eq!(e.permission.as_deref(), Some("User.Read.All"));
    for s in [
        SectionName::OperatorGroups,
        SectionName::DirectoryRoleAssignments,
        SectionName::DirectoryRoleEligibilities,
        SectionName::WorkspacePermissions,
    ] {
        assert_eq!(error(&facts, s).code, "OperatorUnknown", "{s}");
    }
    // The rest of the audit is unaffected.
    assert!(matches!(
        facts.sections[&SectionName::Licenses],
        Section::Data(_)
    ));
    assert_eq!(fake.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn paged_lists_are_followed_to_the_last_page() {
    let (facts, fake, _) = run(&Tenant::paged(), None).await;
    assert_valid(&facts);
    assert_clean_log(&fake);
    // The decisive item of each list sits on page 3.
    assert!(any_item(&facts, SectionName::DataConnectors, |c| c["kind"]
        == "MicrosoftThreatProtection"));
    assert!(any_item(&facts, SectionName::ContentPackages, |p| p
        ["content_id"]
        == scenarios::XDR_CONTENT_ID));
    assert!(any_item(&facts, SectionName::Licenses, |s| s
        ["sku_part_number"]
        == "ENTERPRISEPREMIUM"));
    assert!(any_item(
        &facts,
        SectionName::DirectoryRoleAssignments,
        |r| r["role_definition_id"] == scenarios::SECURITY_ADMIN
    ));
    assert_eq!(
        data(&facts, SectionName::OperatorGroups)
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        data(&facts, SectionName::MdiSensors)["sensors"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(any_item(
        &facts,
        SectionName::WorkspaceRoleAssignments,
        |a| a["role_definition_id"]
            .as_str()
            .unwrap()
            .ends_with(scenarios::SENTINEL_READER)
    ));
    assert_eq!(
        data(&facts, SectionName::WorkspacePermissions)["permissions"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // Pages 2 and 3 of an ARM and a Graph list were each read once.
    for p in [
        format!("{}&$skipToken=page3", paths::connectors()),
        format!("{}?$skiptoken=page3", paths::skus()),
    ] {
        assert_eq!(fake.hits("GET", &p), 1, "{p}");
    }
}

#[tokio::test]
async fn throttling_is_retried_after_retry_after() {
    let started = Instant::now();
    let (facts, fake, http) = run(&Tenant::throttled(), None).await;
    assert_valid(&facts);
    for (name, s) in &facts.sections {
        assert!(matches!(s, Section::Data(_)), "{name}: {s:?}");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(fake.hits("GET", &paths::connectors()), 2);
    assert_eq!(
        fake.hits("GET", &paths::organization()),
        2,
        "the throttled inner request went again in a later batch"
    );
    assert_eq!(fake.hits("POST", &paths::query()), 2);
    assert_eq!(
        fake.hits("GET", &paths::skus()),
        1,
        "only the throttled inner request is repeated"
    );
    assert_eq!(fake.writes(), Vec::<String>::new());
    let retries: usize = [
        xdrguard::facts::apis::Api::Graph,
        xdrguard::facts::apis::Api::Arm,
        xdrguard::facts::apis::Api::LogAnalytics,
    ]
    .iter()
    .map(|a| http.counters.retries(*a))
    .sum();
    assert_eq!(retries, 3);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_gives_up_at_once() {
    let mut t = Tenant::ready();
    t.get(paths::alert_rules(), vec![Reply::throttled(3600)]);
    let fake = Fake::start(&t).await;
    let http = http_for(
        &fake,
        RetryPolicy {
            max_wait: Duration::from_secs(5),
            ..fast()
        },
    );
    let started = Instant::now();
    let facts = collect(&http, &options(None)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = error(&facts, SectionName::AlertRules);
    assert_eq!((e.code.as_str(), e.status), ("TooManyRequests", Some(429)));
    assert!(e.message.contains("retry budget"), "{}", e.message);
    assert_eq!(fake.hits("GET", &paths::alert_rules()), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let mut t = Tenant::ready();
    t.get(
        paths::settings(),
        vec![Reply::error(500, "InternalServerError", "boom")],
    );
    t.get(
        paths::tables(),
        vec![
            Reply::error(502, "BadGateway", "upstream"),
            Reply::ok(json!({"value": []})),
        ],
    );
    let (facts, fake, _) = run(&t, None).await;
    let e = error(&facts, SectionName::Settings);
    assert_eq!(
        (e.code.as_str(), e.status),
        ("InternalServerError", Some(500))
    );
    assert!(
        e.message.contains("gave up after 4 attempts"),
        "{}",
        e.message
    );
    assert_eq!(fake.hits("GET", &paths::settings()), 4);
    assert_eq!(data(&facts, SectionName::Tables), &json!([]));
    assert_eq!(fake.hits("GET", &paths::tables()), 2);
}

#[tokio::test]
async fn forbidden_calls_become_errors_naming_the_permission() {
    let (facts, fake, _) = run(&Tenant::forbidden(), None).await;
    assert_valid(&facts);
    let e = error(&facts, SectionName::DirectoryRoleAssignments);
    assert_eq!(
        (e.status, e.permission.as_deref()),
        (Some(403), Some("RoleManagement.Read.Directory"))
    );
    assert!(e.grant.as_deref().unwrap().contains("Grant admin consent"));
    assert!(e
        .call
        .as_deref()
        .unwrap()
        .contains("/roleManagement/directory/roleAssignments"));
    let e = error(&facts, SectionName::AlertRules);
    assert_eq!(
        (e.code.as_str(), e.status),
        ("AuthorizationFailed", Some(403))
    );
    assert_eq!(
        e.permission.as_deref(),
        Some("Microsoft Sentinel Reader on the workspace")
    );
    assert!(e
        .grant
        .as_deref()
        .unwrap()
        .starts_with("az role assignment create"));
    let e = error(&facts, SectionName::Ingestion);
    assert_eq!(
        (e.code.as_str(), e.status),
        ("InsufficientAccessError", Some(403))
    );
    let e = error(&facts, SectionName::ConnectorRequirements);
    assert_eq!(
        (e.code.as_str(), e.status, e.message.as_str()),
        ("InvalidLicense", Some(401), "Missing consent")
    );
    // A 403 is never an empty result: nothing else broke, and it was not retried.
    assert!(matches!(
        facts.sections[&SectionName::OperatorGroups],
        Section::Data(_)
    ));
    assert_eq!(fake.hits("GET", &paths::alert_rules()), 1);
    assert_clean_log(&fake);
}

#[tokio::test]
async fn malformed_bodies_become_errors_not_panics() {
    let (facts, fake, _) = run(&Tenant::malformed(), None).await;
    assert_valid(&facts);
    for s in [
        SectionName::Workspace,
        SectionName::Tables,
        SectionName::MdiSensors,
        SectionName::Settings,
    ] {
        assert_eq!(error(&facts, s).code, "MalformedResponse", "{s}");
    }
    assert_eq!(
        error(&facts, SectionName::Ingestion).code,
        "DependencyFailed"
    );
    assert!(matches!(
        facts.sections[&SectionName::DataConnectors],
        Section::Data(_)
    ));
    assert_eq!(
        fake.hits("POST", &paths::query()),
        0,
        "no query without a customerId"
    );
    assert_clean_log(&fake);
}

#[tokio::test]
async fn ingestion_partial_error_and_no_content() {
    let mut t = Tenant::ready();
    let mut partial = scenarios::ingestion(REQUIRED_TABLES, 1);
    partial["error"] = json!({"code": "PartialError", "message": "There were some errors when processing your query."});
    t.post(paths::query(), vec![Reply::ok(partial)]);
    let (facts, _, _) = run(&t, None).await;
    assert_eq!(error(&facts, SectionName::Ingestion).code, "PartialError");

    let mut t = Tenant::ready();
    t.post(paths::query(), vec![Reply::empty(204)]);
    let (facts, _, _) = run(&t, None).await;
    assert_eq!(data(&facts, SectionName::Ingestion), &json!([]));
}

#[tokio::test]
async fn mdi_not_provisioned_and_sentinel_off_are_data() {
    let (facts, fake, _) = run(&Tenant::not_ready(), None).await;
    assert_valid(&facts);
    assert_eq!(
        data(&facts, SectionName::MdiSensors),
        &json!({"provisioned": false, "sensors": []})
    );
    assert_eq!(data(&facts, SectionName::MdiHealthIssues), &json!([]));
    assert_eq!(
        data(&facts, SectionName::SentinelOnboarding),
        &json!({"enabled": false, "states": []})
    );
    assert_clean_log(&fake);
}

#[tokio::test]
async fn next_link_to_another_host_is_refused() {
    let mut t = Tenant::ready();
    t.get(
        paths::alert_rules(),
        vec![Reply::ok(
            json!({"value": [], "nextLink": "https://evil.example.com/steal"}),
        )],
    );
    let (facts, _, _) = run(&t, None).await;
    assert_eq!(
        error(&facts, SectionName::AlertRules).code,
        "UnexpectedNextLink"
    );
}

#[tokio::test]
async fn redact_hides_upns_emails_and_names() {
    let fake = Fake::start(&Tenant::ready()).await;
    let http = http_for(&fake, fast());
    let mut opts = options(Some(OPERATOR_UPN));
    opts.redact = true;
    let facts = collect(&http, &opts).await;
    assert_valid(&facts);
    let text = serde_json::to_string(&facts).unwrap();
    for needle in ["AdeleV", "Adele Vance"] {
        assert!(!text.contains(needle), "{needle} leaked");
    }
    assert!(facts.target.redacted);
    assert_eq!(
        facts.target.operator.as_deref(),
        Some(xdrguard::collect::redact::hash(OPERATOR_UPN).as_str())
    );
    assert_eq!(
        data(&facts, SectionName::Operator)["id"],
        OPERATOR,
        "ids stay: policies key on them"
    );
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let mut t = Tenant::ready();
    let rules = Reply::ok(json!({"value": t.items(&paths::alert_rules())}));
    t.get(
        paths::alert_rules(),
        vec![rules.clone().after(Duration::from_secs(2)), rules],
    );
    t.get(
        paths::settings(),
        vec![Reply::ok(json!({"value": []})).after(Duration::from_secs(2))],
    );
    let fake = Fake::start(&t).await;
    let policy = RetryPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 2,
        ..fast()
    };
    let facts = collect(&http_for(&fake, policy), &options(None)).await;
    assert_eq!(
        data(&facts, SectionName::AlertRules)
            .as_array()
            .unwrap()
            .len(),
        3,
        "second attempt in time"
    );
    let e = error(&facts, SectionName::Settings);
    assert_eq!(e.code, "Timeout");
    assert!(
        e.message.contains("gave up after 2 attempts"),
        "{}",
        e.message
    );
    assert_eq!(fake.hits("GET", &paths::settings()), 2);
}

#[tokio::test]
async fn no_credential_means_every_section_errors_without_a_request() {
    let fake = Fake::start(&Tenant::ready()).await;
    let e = Endpoints::new(
        Cloud::Public,
        Some(&fake.uri()),
        Some(&fake.uri()),
        Some(&fake.uri()),
    )
    .unwrap();
    // Client-secret auth with none of its variables set: no credential can be built.
    for v in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        xdrguard::collect::auth::TOKEN_ENV,
    ] {
        assert!(
            std::env::var_os(v).is_none(),
            "{v} set in the test environment"
        );
    }
    let tokens = Tokens::from_env(xdrguard::collect::auth::AuthMethod::ClientSecret, e.clone());
    let http = Http::new(e, tokens, 16, fast(), Progress::hidden()).unwrap();
    let facts = collect(&http, &options(None)).await;
    assert_valid(&facts);
    for (name, s) in &facts.sections {
        match s {
            Section::Error(err) => assert!(
                err.code == "AuthenticationFailed"
                    || err.code == "OperatorUnknown"
                    || err.code == "DependencyFailed",
                "{name}: {err:?}"
            ),
            Section::Data(_) => panic!("{name} read without a token"),
        }
    }
    assert!(error(&facts, SectionName::Tenant)
        .message
        .contains("AZURE_CLIENT_SECRET"));
    assert_eq!(fake.http_requests(), 0);
}

#[tokio::test]
async fn without_the_subscription_the_pre_check_uses_the_graph_tenant() {
    let mut t = Tenant::ready();
    t.get(
        paths::subscription(),
        vec![Reply::error(403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Resources/subscriptions/read'")],
    );
    let (facts, fake, _) = run(&t, None).await;
    let e = error(&facts, SectionName::Subscription);
    assert_eq!(
        e.permission.as_deref(),
        Some(xdrguard::facts::apis::section(SectionName::Subscription).permission)
    );
    assert_eq!(
        data(&facts, SectionName::ConnectorRequirements)["license_state"],
        "Valid"
    );
    let check = fake
        .log()
        .into_iter()
        .find(|l| l.key.contains("dataConnectorsCheckRequirements"))
        .unwrap();
    assert_eq!(check.body.unwrap()["properties"]["tenantId"], TENANT);
    assert_eq!(facts.target.tenant_id.as_deref(), Some(TENANT));
}

#[tokio::test]
async fn batches_hold_at_most_twenty_requests() {
    use xdrguard::collect::graph::{batch, GraphGet};
    let mut t = Tenant::ready();
    for i in 0..25 {
        t.get(
            format!("/v1.0/users/u{i}"),
            vec![Reply::ok(json!({"id": format!("u{i}")}))],
        );
    }
    let fake = Fake::start(&t).await;
    let http = http_for(&fake, fast());
    let gets: Vec<GraphGet> = (0..25)
        .map(|i| GraphGet::one(format!("/users/u{i}")))
        .collect();
    let answers = batch(&http, &gets).await;
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(
            a.as_ref().unwrap()["id"],
            format!("u{i}"),
            "answers keep request order"
        );
    }
    let sizes: Vec<usize> = fake
        .log()
        .iter()
        .filter(|l| l.key == "POST /v1.0/$batch")
        .map(|l| {
            l.body.as_ref().unwrap()["requests"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 25);
    assert!(sizes.iter().all(|n| *n <= 20), "{sizes:?}");
    assert!(fake.duplicates().is_empty());
}

#[tokio::test]
async fn redact_also_covers_error_messages_and_calls() {
    // A failed lookup by UPN puts the UPN in the error's call and message.
    let mut t = Tenant::ready();
    t.get(
        paths::user(OPERATOR_UPN),
        vec![Reply::error(
            404,
            "Request_ResourceNotFound",
            "Resource 'AdeleV@contoso.com' does not exist",
        )],
    );
    let fake = Fake::start(&t).await;
    let http = http_for(&fake, fast());
    let mut opts = options(Some(OPERATOR_UPN));
    opts.redact = true;
    let facts = collect(&http, &opts).await;
    let text = serde_json::to_string(&facts).unwrap();
    assert!(!text.contains("AdeleV"), "{text}");
    let e = error(&facts, SectionName::Operator);
    assert!(
        e.message.starts_with("Resource 'redacted:"),
        "{}",
        e.message
    );
    assert!(e.call.as_deref().unwrap().contains("/users/redacted:"));
}
