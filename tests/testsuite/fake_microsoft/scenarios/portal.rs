//! What the move into the Defender portal reads: automation rules, the Defender apps'
//! service principals and the role assignments onboarding makes; and the tenants around it.
//!
//! Automation rules are built from the published example
//! (azure-rest-api-specs specification/securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2025-12-01/examples/automationRules/AutomationRules_List.json,
//! copied to `tests/fixtures/microsoft/securityinsights/automationRules/`) by changing only
//! fields the schema (`.../stable/2025-12-01/AutomationRules.json`) defines, and served over
//! two pages linked by `nextLink` (`x-ms-pageable: {nextLinkName: nextLink}`).

use super::*;

/// Microsoft Threat Protection and WindowsDefenderATP: (app id, object id in the tenant).
pub const MTP_APP: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
pub const MTP_SP: &str = "3c5b7e2f-0a61-4a5f-9d0b-2d7d4c1b9e01";
pub const WDATP_APP: &str = "fc780465-2017-40d4-a0c5-307022471b92";
pub const WDATP_SP: &str = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e102";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const UAA: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
pub const SENTINEL_CONTRIBUTOR: &str = "ab8e14d6-4a74-4a29-9ba8-549422addade";

pub fn automation_rules_path() -> String {
    format!("{}/automationRules?api-version=2025-12-01", si())
}

pub fn service_principal_path(app: &str) -> String {
    format!("/v1.0/servicePrincipals(appId='{app}')?$select=id,appId,displayName")
}

/// The published servicePrincipal (`GET /servicePrincipals(appId='{appId}')?$select=…`,
/// microsoft-graph-docs-contrib api-reference/v1.0/api/serviceprincipal-get.md) for one app.
pub fn service_principal(app: &str, id: &str, name: &str) -> Value {
    let mut sp = fixture("graph/servicePrincipal.get.select.v1.json");
    sp["id"] = json!(id);
    sp["appId"] = json!(app);
    sp["displayName"] = json!(name);
    sp
}

/// The spec example with a new name/id, display name, enabled flag and conditions.
pub fn automation_rule(guid: &str, display: &str, enabled: bool, conditions: Value) -> Value {
    let mut r =
        fixture_items("securityinsights/automationRules/AutomationRules_List.2025-12-01.json")[0]
            .clone();
    r["id"] = json!(format!("{}/automationRules/{guid}", si()));
    r["name"] = json!(guid);
    r["properties"]["displayName"] = json!(display);
    r["properties"]["triggeringLogic"]["isEnabled"] = json!(enabled);
    r["properties"]["triggeringLogic"]["conditions"] = conditions;
    r
}

pub fn property(name: &str, op: &str, values: &[&str]) -> Value {
    json!({"conditionType": "Property", "conditionProperties": {"propertyName": name, "operator": op, "propertyValues": values}})
}

pub fn boolean(op: &str, inner: Vec<Value>) -> Value {
    json!({"conditionType": "Boolean", "conditionProperties": {"operator": op, "innerConditions": inner}})
}

/// Rules a clean move keeps working: the spec example (analytic rule IDs), and a nested
/// rule on severity or alert product with a PropertyArray over custom detail values that
/// runs a playbook.
pub fn clean_rules() -> Vec<Value> {
    let example =
        fixture_items("securityinsights/automationRules/AutomationRules_List.2025-12-01.json")[0]
            .clone();
    let mut nested = automation_rule(
        "2f1d4c6e-8b3a-4e5f-9a7b-1c2d3e4f5a6b",
        "High severity or Defender for Endpoint",
        true,
        json!([boolean(
            "Or",
            vec![
                property("IncidentSeverity", "Equals", &["High"]),
                property(
                    "AlertProductNames",
                    "Contains",
                    &["Microsoft Defender for Endpoint"]
                ),
                json!({"conditionType": "PropertyArray", "conditionProperties": {
                    "arrayType": "CustomDetailValues", "arrayConditionType": "AnyItem",
                    "itemConditions": [property("IncidentCustomDetailsValue", "Equals", &["finance"])]}}),
            ]
        )]),
    );
    nested["properties"]["order"] = json!(2);
    nested["properties"]["actions"] = json!([{"order": 1, "actionType": "RunPlaybook", "actionConfiguration": {
        "logicAppResourceId": format!("/subscriptions/{SUB}/resourceGroups/myRg/providers/Microsoft.Logic/workflows/notify-soc"),
        "tenantId": TENANT}}]);
    vec![example, nested]
}

impl Tenant {
    /// What every scenario serves for the move (added to `ready`): clean automation rules over
    /// two pages, both Defender apps present, and the operator Owner of the subscription.
    pub fn add_portal_reads(&mut self) {
        self.pages(automation_rules_path(), clean_rules(), 2);
        self.get(
            service_principal_path(MTP_APP),
            vec![Reply::ok(service_principal(
                MTP_APP,
                MTP_SP,
                "Microsoft Threat Protection",
            ))],
        );
        self.get(
            service_principal_path(WDATP_APP),
            vec![Reply::ok(service_principal(
                WDATP_APP,
                WDATP_SP,
                "WindowsDefenderATP",
            ))],
        );
        let mut at_scope = self.items(&paths::at_scope());
        at_scope.push(role_assignment(
            "a-owner",
            OPERATOR,
            OWNER,
            &format!("/subscriptions/{SUB}"),
        ));
        self.list(paths::at_scope(), at_scope);
    }

    /// Onboarded to the Defender portal: Microsoft Sentinel Contributor assigned to both apps
    /// in the subscription ("After onboarding to the Defender portal, the Microsoft Sentinel
    /// Contributor role is assigned to the Microsoft Threat Protection and WindowsDefenderATP
    /// apps in your subscription", learn.microsoft.com/azure/sentinel/move-to-defender), Fusion
    /// disabled and incident creation rules deactivated (as `ready` has them), and the
    /// connector's incident and alert settings off ("turned off and disabled after you onboard").
    pub fn onboarded() -> Tenant {
        let mut t = Tenant::ready();
        let mut at_scope = t.items(&paths::at_scope());
        for (name, sp) in [("a-mtp", MTP_SP), ("a-wdatp", WDATP_SP)] {
            let mut a = role_assignment(
                name,
                sp,
                SENTINEL_CONTRIBUTOR,
                &format!("/subscriptions/{SUB}"),
            );
            a["properties"]["principalType"] = json!("ServicePrincipal");
            at_scope.push(a);
        }
        t.list(paths::at_scope(), at_scope);
        t.list(
            paths::connectors(),
            vec![xdr_connector("Disabled", "Disabled", &[])],
        );
        t
    }

    /// What breaks in the move: rules on incident title and provider name (one nested), an
    /// account-name condition with a full UPN, a disabled rule that must not count, an
    /// enabled incident creation rule, and an operator with only Reader.
    pub fn portal_blocked() -> Tenant {
        let mut t = Tenant::ready();
        let rules = vec![
            automation_rule(
                "7a1b2c3d-0000-4000-8000-000000000001",
                "Phishing triage",
                true,
                json!([property("IncidentTitle", "Contains", &["Phishing"])]),
            ),
            automation_rule(
                "7a1b2c3d-0000-4000-8000-000000000002",
                "MDE or Sentinel",
                true,
                json!([boolean(
                    "Or",
                    vec![
                        property(
                            "IncidentProviderName",
                            "Equals",
                            &["Microsoft 365 Defender"]
                        ),
                        boolean(
                            "And",
                            vec![
                                property("IncidentTitle", "StartsWith", &["Ransom"]),
                                property("IncidentSeverity", "Equals", &["High"])
                            ]
                        ),
                    ]
                )]),
            ),
            automation_rule(
                "7a1b2c3d-0000-4000-8000-000000000003",
                "VIP account",
                true,
                json!([property(
                    "AccountName",
                    "Equals",
                    &["adele.vance@contoso.com"]
                )]),
            ),
            automation_rule(
                "7a1b2c3d-0000-4000-8000-000000000004",
                "Old description rule",
                false,
                json!([property("IncidentDescription", "Contains", &["test"])]),
            ),
        ];
        t.pages(automation_rules_path(), rules, 2);
        let mut alert_rules =
            fixture_items("securityinsights/alertRules/GetAllAlertRules.2025-12-01.json");
        alert_rules[1]["properties"]["productFilter"] = json!("Azure Security Center");
        t.list(paths::alert_rules(), alert_rules);
        let at_scope: Vec<Value> = t
            .items(&paths::at_scope())
            .into_iter()
            .filter(|a| a["name"] != "a-owner")
            .collect();
        t.list(paths::at_scope(), at_scope);
        t
    }
}
