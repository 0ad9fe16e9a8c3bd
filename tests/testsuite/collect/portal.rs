//! Collection of what the move into the Defender portal needs: automation rules (paged,
//! conditions flattened), the alert rules read once, the Defender apps' service principals in
//! the one `$batch`, and the derived `operator_azure_roles` and `defender_portal`.

use super::scenarios::{assert_clean_log, assert_valid, data, error, run};
use crate::fake_microsoft::scenarios::portal::{
    automation_rules_path, service_principal_path, MTP_APP, MTP_SP, OWNER, WDATP_APP,
};
use crate::fake_microsoft::scenarios::{paths, Tenant, OPERATOR};
use crate::fake_microsoft::Reply;
use serde_json::{json, Value};
use xdrguard::facts::SectionName;

#[tokio::test]
async fn automation_rules_are_read_over_every_page_and_alert_rules_once() {
    let (facts, fake, _) = run(&Tenant::ready(), None).await;
    assert_valid(&facts);
    assert_clean_log(&fake);
    // One alertRules GET serves XDR-CON-03, XDR-USX-03, XDR-USX-05 and the onboarding decision.
    assert_eq!(fake.hits("GET", &paths::alert_rules()), 1);
    let pages: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|l| l.key.contains("/automationRules"))
        .map(|l| l.key)
        .collect();
    assert_eq!(pages.len(), 2, "both pages, once each: {pages:?}");
    assert!(fake.hits("GET", &automation_rules_path()) >= 1);
    let rules = data(&facts, SectionName::AutomationRules)
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 2);
    // The published example, normalised.
    assert_eq!(rules[0]["display_name"], "Suspicious user sign-in events");
    assert_eq!(rules[0]["triggers_on"], "Incidents");
    assert_eq!(
        rules[0]["conditions"][0]["property"],
        "IncidentRelatedAnalyticRuleIds"
    );
    assert_eq!(
        rules[0]["conditions"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(rules[0]["actions"][0]["action_type"], "AddIncidentTask");
    // The nested rule: every leaf under the Or, the PropertyArray's item with its array type.
    let leaves = rules[1]["conditions"].as_array().unwrap();
    let props: Vec<&str> = leaves
        .iter()
        .map(|c| c["property"].as_str().unwrap())
        .collect();
    assert_eq!(
        props,
        [
            "IncidentSeverity",
            "AlertProductNames",
            "IncidentCustomDetailsValue"
        ]
    );
    assert_eq!(leaves[2]["inside"], json!(["Or", "PropertyArray:AnyItem"]));
    assert_eq!(leaves[2]["array_type"], "CustomDetailValues");
    assert_eq!(
        leaves[1]["path"],
        "/conditions/0/conditionProperties/innerConditions/1"
    );
    assert!(rules[1]["actions"][0]["logic_app_resource_id"]
        .as_str()
        .unwrap()
        .ends_with("/workflows/notify-soc"));

    // Scheduled rules keep createIncident; other kinds have none.
    let alert_rules = data(&facts, SectionName::AlertRules).as_array().unwrap();
    let by_kind =
        |k: &str| alert_rules.iter().find(|r| r["kind"] == k).unwrap()["create_incident"].clone();
    assert_eq!(by_kind("Scheduled"), json!(true));
    assert_eq!(by_kind("Fusion"), Value::Null);

    // The service principals rode in the one $batch.
    assert_eq!(fake.hits("POST", "/v1.0/$batch"), 1);
    for app in [MTP_APP, WDATP_APP] {
        let l = fake
            .log()
            .into_iter()
            .find(|l| l.key.contains(app))
            .expect("read");
        assert!(l.in_batch, "{}", l.key);
    }
    let sps = data(&facts, SectionName::DefenderServicePrincipals);
    assert_eq!(sps[0]["id"], MTP_SP);

    // Derived: the operator's Owner on the subscription; not onboarded, by evidence.
    let roles = data(&facts, SectionName::OperatorAzureRoles);
    assert_eq!(roles["operator_id"], OPERATOR);
    assert!(roles["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["via"] == "user" && a["role_definition_id"].as_str().unwrap().ends_with(OWNER)));
    let portal = data(&facts, SectionName::DefenderPortal);
    assert_eq!(portal["onboarded"], false);
    assert_eq!(portal["decided_by"]["source"], "evidence");
    assert!(portal["decided_by"]["reason"]
        .as_str()
        .unwrap()
        .contains("Microsoft documents no API"));
}

#[tokio::test]
async fn an_onboarded_workspace_is_recognised_with_its_evidence() {
    let (facts, fake, _) = run(&Tenant::onboarded(), None).await;
    assert_clean_log(&fake);
    let portal = data(&facts, SectionName::DefenderPortal);
    assert_eq!(portal["onboarded"], true, "{portal}");
    let evidence = portal["decided_by"]["evidence"].as_array().unwrap();
    let signals: Vec<&str> = evidence
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert_eq!(
        signals,
        [
            "defender_apps_sentinel_contributor",
            "fusion_rule_disabled",
            "incident_creation_rules_deactivated"
        ]
    );
    assert_eq!(evidence[0]["ids"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_service_principal_is_data_a_refused_read_is_an_error() {
    // No WindowsDefenderATP in the tenant: Graph answers the inner GET 404.
    let mut t = Tenant::onboarded();
    t.get(
        service_principal_path(WDATP_APP),
        vec![Reply::error(404, "Request_ResourceNotFound", "Resource 'fc780465-2017-40d4-a0c5-307022471b92' does not exist or one of its queried reference-property objects are not present.")],
    );
    let (facts, _, _) = run(&t, None).await;
    assert_eq!(
        data(&facts, SectionName::DefenderServicePrincipals)[1]["id"],
        Value::Null
    );
    // The other app's assignment still counts.
    assert_eq!(data(&facts, SectionName::DefenderPortal)["onboarded"], true);

    let mut t = Tenant::ready();
    t.get(
        service_principal_path(MTP_APP),
        vec![Reply::error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )],
    );
    let (facts, _, _) = run(&t, None).await;
    let e = error(&facts, SectionName::DefenderServicePrincipals);
    assert_eq!(e.permission.as_deref(), Some("Application.Read.All"));
    let d = error(&facts, SectionName::DefenderPortal);
    assert_eq!(d.code, "DependencyFailed");
    assert!(
        d.message.contains("defender_service_principals"),
        "{}",
        d.message
    );
    assert_eq!(d.permission.as_deref(), Some("Application.Read.All"));
}

#[tokio::test]
async fn hostile_automation_rules_make_the_section_an_error() {
    let mut t = Tenant::ready();
    let mut deep = json!({"conditionType": "Property", "conditionProperties": {"propertyName": "IncidentTitle", "operator": "Contains", "propertyValues": ["x"]}});
    // 20 levels: well within the JSON parser's limit, beyond the collector's.
    for _ in 0..20 {
        deep = json!({"conditionType": "Boolean", "conditionProperties": {"operator": "And", "innerConditions": [deep]}});
    }
    let rule = crate::fake_microsoft::scenarios::portal::automation_rule(
        "r-deep",
        "Deep",
        true,
        json!([deep]),
    );
    t.list(automation_rules_path(), vec![rule]);
    let (facts, _, _) = run(&t, None).await;
    let e = error(&facts, SectionName::AutomationRules);
    assert_eq!(e.code, "MalformedResponse", "{e:?}");
    assert!(e.message.contains("nested deeper"), "{}", e.message);
    assert!(e.permission.is_some());
}
