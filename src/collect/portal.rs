//! What the move into the Microsoft Defender portal needs: automation rules (their conditions
//! flattened), the Defender apps' service principals, and two sections derived from what is
//! already read — the operator's Azure roles and whether the workspace is onboarded.
//!
//! The derived sections cost no request: they are computed from other sections once those
//! have arrived, and are an error naming the input that could not be read.

use super::http::CallError;
use super::norm::{arr, int, last_segment, req_str};
use crate::facts::sections::{
    AlertRule, AutomationRule, AutomationRuleAction, AutomationRuleCondition, DecidedBy,
    DecisionSource, DefenderPortal, DefenderServicePrincipal, Group, Operator, OperatorAzureRoles,
    OperatorRoleAssignment, PortalSignal, Via, WorkspaceRoleAssignment,
};
use serde_json::Value;

/// The two first-party apps onboarding gives Microsoft Sentinel Contributor: "After onboarding
/// to the Defender portal, the Microsoft Sentinel Contributor role is assigned to the Microsoft
/// Threat Protection and WindowsDefenderATP apps in your subscription"
/// (https://learn.microsoft.com/azure/sentinel/move-to-defender, Plan and set up). Their app
/// IDs are the well-known first-party ones (Microsoft publishes them in API permission tables,
/// not on that page).
pub const DEFENDER_APPS: [(&str, &str); 2] = [
    (
        "8ee8fdad-f234-4243-8f3b-15c294843740",
        "Microsoft Threat Protection",
    ),
    ("fc780465-2017-40d4-a0c5-307022471b92", "WindowsDefenderATP"),
];

/// Microsoft Sentinel Contributor (built-in role definition GUID).
pub const SENTINEL_CONTRIBUTOR: &str = "ab8e14d6-4a74-4a29-9ba8-549422addade";

/// Deeper nesting than this is refused (the spec allows 2..10 inner conditions per Boolean
/// node but sets no depth; the portal's editor nests one level, and hostile input must not
/// recurse unbounded — the JSON parser's own limit of 128 levels comes later than this).
pub const MAX_CONDITION_DEPTH: usize = 16;

/// The Graph GET of one app's service principal in the tenant.
pub fn service_principal_path(app_id: &str) -> String {
    format!("/servicePrincipals(appId='{app_id}')?$select=id,appId,displayName")
}

// ---- automation rules --------------------------------------------------------------------

/// `AutomationRules_List` items (azure-rest-api-specs
/// specification/securityinsights/resource-manager/Microsoft.SecurityInsights/stable/2025-12-01/AutomationRules.json).
pub fn automation_rules(items: &Value) -> Result<Vec<AutomationRule>, CallError> {
    arr(items)?.iter().map(automation_rule).collect()
}

fn automation_rule(r: &Value) -> Result<AutomationRule, CallError> {
    let id = req_str(r, "id")?;
    let bad = |what: &str| CallError::malformed(format!("automation rule {id}: {what}"));
    let props = r.get("properties").ok_or_else(|| bad("no `properties`"))?;
    let logic = props
        .get("triggeringLogic")
        .ok_or_else(|| bad("no `properties.triggeringLogic`"))?;
    let enabled = logic
        .get("isEnabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| bad("`triggeringLogic.isEnabled` is not a boolean"))?;
    let expiration_time_utc = match text(logic, "expirationTimeUtc").map_err(|e| bad(&e))? {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|e| bad(&format!("`expirationTimeUtc` {t:?} is not RFC 3339: {e}")))?
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ),
    };
    let required = |k: &str| {
        text(logic, k)
            .map_err(|e| bad(&e))?
            .ok_or_else(|| bad(&format!("no `triggeringLogic.{k}`")))
    };
    let mut conditions = Vec::new();
    flatten(
        logic.get("conditions"),
        "/conditions",
        &mut Vec::new(),
        None,
        0,
        &mut conditions,
    )
    .map_err(|e| bad(&e))?;
    Ok(AutomationRule {
        name: req_str(r, "name")?,
        display_name: text(props, "displayName").map_err(|e| bad(&e))?,
        order: props.get("order").and_then(int),
        enabled,
        expiration_time_utc,
        triggers_on: required("triggersOn")?,
        triggers_when: required("triggersWhen")?,
        conditions,
        actions: actions(props.get("actions")).map_err(|e| bad(&e))?,
        id,
    })
}

/// An optional string field: absent or `null` → `None`; any other type is malformed (a
/// value xdrguard cannot read must not become "no condition").
fn text(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{key}` is {other}, not a string")),
    }
}

/// A list field: absent or `null` → empty.
fn list<'v>(v: Option<&'v Value>, what: &str) -> Result<&'v [Value], String> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("`{what}` is {other}, not a list")),
    }
}

/// Append the leaves of `conditions` (at JSON pointer `path`) to `out`, depth-first.
/// `Boolean` nodes and `PropertyArray` nodes with items are walked into (`inside` records
/// them, outermost first); every other node — an unknown `conditionType` too, since the
/// spec's enums are `modelAsString` — is a leaf.
fn flatten(
    conditions: Option<&Value>,
    path: &str,
    inside: &mut Vec<String>,
    array_type: Option<&str>,
    depth: usize,
    out: &mut Vec<AutomationRuleCondition>,
) -> Result<(), String> {
    if depth > MAX_CONDITION_DEPTH {
        return Err(format!(
            "conditions nested deeper than {MAX_CONDITION_DEPTH} levels"
        ));
    }
    for (i, c) in list(conditions, "conditions")?.iter().enumerate() {
        let here = format!("{path}/{i}");
        let kind =
            text(c, "conditionType")?.ok_or_else(|| format!("{here}: no `conditionType`"))?;
        let props = c.get("conditionProperties").unwrap_or(&Value::Null);
        let nested = |key: &str| {
            props
                .get(key)
                .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        };
        let (children, key, marker) = if kind.eq_ignore_ascii_case("Boolean") {
            let op = text(props, "operator")?.unwrap_or_else(|| "?".into());
            (nested("innerConditions"), "innerConditions", op)
        } else if kind.eq_ignore_ascii_case("PropertyArray") {
            let how = text(props, "arrayConditionType")?.unwrap_or_else(|| "?".into());
            (
                nested("itemConditions"),
                "itemConditions",
                format!("PropertyArray:{how}"),
            )
        } else {
            (None, "", String::new())
        };
        let own_array = text(props, "arrayType")?;
        if let Some(children) = children {
            inside.push(marker);
            let inherited = own_array.as_deref().or(array_type);
            let child_path = format!("{here}/conditionProperties/{key}");
            flatten(
                Some(children),
                &child_path,
                inside,
                inherited,
                depth + 1,
                out,
            )?;
            inside.pop();
            continue;
        }
        let values = list(props.get("propertyValues"), "propertyValues")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{here}: a propertyValues item is {v}, not a string"))
            })
            .collect::<Result<_, _>>()?;
        out.push(AutomationRuleCondition {
            path: here,
            condition_type: kind,
            property: text(props, "propertyName")?,
            operator: text(props, "operator")?,
            values,
            change_type: text(props, "changeType")?,
            array_type: own_array.or(array_type.map(str::to_string)),
            inside: inside.clone(),
        });
    }
    Ok(())
}

fn actions(v: Option<&Value>) -> Result<Vec<AutomationRuleAction>, String> {
    list(v, "actions")?
        .iter()
        .map(|a| {
            let config = a.get("actionConfiguration").unwrap_or(&Value::Null);
            Ok(AutomationRuleAction {
                order: a.get("order").and_then(int),
                action_type: text(a, "actionType")?.ok_or("an action without `actionType`")?,
                logic_app_resource_id: text(config, "logicAppResourceId")?,
                tenant_id: text(config, "tenantId")?,
            })
        })
        .collect()
}

// ---- analytics rules ---------------------------------------------------------------------

/// `properties.incidentConfiguration.createIncident` of a Scheduled or NRT rule (the kinds
/// whose spec has it); `None` for other kinds or when absent.
pub fn create_incident(rule: &Value) -> Option<bool> {
    let kind = rule.get("kind").and_then(Value::as_str)?;
    if !(kind.eq_ignore_ascii_case("Scheduled") || kind.eq_ignore_ascii_case("NRT")) {
        return None;
    }
    rule.pointer("/properties/incidentConfiguration/createIncident")
        .and_then(Value::as_bool)
}

// ---- Defender service principals ---------------------------------------------------------

/// The answers to [`service_principal_path`] for each of [`DEFENDER_APPS`], in order. A 404
/// means the tenant has no service principal for the app (so nothing was ever assigned to
/// it); any other failure leaves the section unreadable.
pub fn defender_service_principals(
    answers: Vec<Result<Value, CallError>>,
) -> Result<Vec<DefenderServicePrincipal>, CallError> {
    DEFENDER_APPS
        .iter()
        .zip(answers)
        .map(|((app_id, name), answer)| match answer {
            Ok(sp) => Ok(DefenderServicePrincipal {
                app_id: app_id.to_string(),
                display_name: sp
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| Some(name.to_string())),
                id: Some(req_str(&sp, "id")?),
            }),
            Err(e) if e.status == Some(404) => Ok(DefenderServicePrincipal {
                app_id: app_id.to_string(),
                display_name: Some(name.to_string()),
                id: None,
            }),
            Err(e) => Err(e),
        })
        .collect()
}

// ---- derived: the operator's Azure roles -------------------------------------------------

/// The workspace's `atScope()` assignments held by the operator or one of their groups.
pub fn operator_azure_roles(
    operator: &Operator,
    groups: &[Group],
    assignments: &[WorkspaceRoleAssignment],
) -> OperatorAzureRoles {
    let mut principal_ids = vec![operator.id.clone()];
    principal_ids.extend(groups.iter().map(|g| g.id.clone()));
    let held = assignments
        .iter()
        .filter_map(|a| {
            let via = if a.principal_id.eq_ignore_ascii_case(&operator.id) {
                Via::User
            } else if groups
                .iter()
                .any(|g| g.id.eq_ignore_ascii_case(&a.principal_id))
            {
                Via::Group
            } else {
                return None;
            };
            Some(OperatorRoleAssignment {
                id: a.id.clone(),
                principal_id: a.principal_id.clone(),
                via,
                role_definition_id: a.role_definition_id.clone(),
                role_name: a.role_name.clone(),
                scope: a.scope.clone(),
                condition: a.condition.clone(),
                condition_version: a.condition_version.clone(),
            })
        })
        .collect();
    OperatorAzureRoles {
        operator_id: operator.id.clone(),
        principal_ids,
        assignments: held,
    }
}

// ---- derived: is the workspace onboarded to the Defender portal? -------------------------

/// Said in every decision: what the evidence can and cannot tell.
pub const CAVEAT: &str = "Microsoft documents no API for this; the role assignment is per subscription, so another workspace of the subscription may be the onboarded one.";

/// Decide from evidence whether the workspace is onboarded. Microsoft publishes no API for
/// the state (research: `onboardingStates` holds only `customerManagedKey`), so the answer
/// rests on what onboarding is documented to do (move-to-defender): assign Microsoft
/// Sentinel Contributor to the two Defender apps in the subscription, disable the Fusion
/// rule, deactivate Microsoft incident creation rules. Unreadable inputs give `None`, never
/// a guess; so do signals that contradict each other.
pub fn decide(
    sps: Result<&[DefenderServicePrincipal], String>,
    assignments: Result<&[WorkspaceRoleAssignment], String>,
    rules: Result<&[AlertRule], String>,
) -> DefenderPortal {
    let unknown = |reason: String, evidence| DefenderPortal {
        onboarded: None,
        decided_by: DecidedBy {
            source: DecisionSource::Evidence,
            reason: format!("{reason} {CAVEAT}"),
            evidence,
        },
    };
    let (sps, assignments) = match (sps, assignments) {
        (Ok(s), Ok(a)) => (s, a),
        (Err(why), _) | (_, Err(why)) => return unknown(format!("{why}."), Vec::new()),
    };
    let app_roles: Vec<&WorkspaceRoleAssignment> = assignments
        .iter()
        .filter(|a| {
            last_segment(&a.role_definition_id) == SENTINEL_CONTRIBUTOR
                && sps.iter().any(|sp| {
                    sp.id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&a.principal_id))
                })
        })
        .collect();
    let mut evidence = vec![PortalSignal {
        signal: "defender_apps_sentinel_contributor".into(),
        observed: Some(!app_roles.is_empty()),
        detail: if app_roles.is_empty() {
            "no Microsoft Sentinel Contributor assignment to the Microsoft Threat Protection or WindowsDefenderATP app at or above the workspace".into()
        } else {
            format!("Microsoft Sentinel Contributor is assigned to the Defender apps ({} assignment(s))", app_roles.len())
        },
        ids: app_roles.iter().map(|a| a.id.clone()).collect(),
    }];
    let enabled = |k: &str| -> Vec<&AlertRule> {
        rules
            .as_ref()
            .map(|r| {
                r.iter()
                    .filter(|r| r.kind.eq_ignore_ascii_case(k) && r.enabled)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (fusion_on, creation_on) = (
        enabled("Fusion"),
        enabled("MicrosoftSecurityIncidentCreation"),
    );
    let readable = rules.as_ref().err().cloned();
    evidence.push(signal(
        "fusion_rule_disabled",
        &fusion_on,
        readable.as_deref(),
        [
            "the Fusion rule is disabled or absent (onboarding disables it)",
            "the Fusion rule is enabled",
        ],
    ));
    evidence.push(signal(
        "incident_creation_rules_deactivated",
        &creation_on,
        readable.as_deref(),
        [
            "no Microsoft incident creation rule is enabled (onboarding deactivates them)",
            "Microsoft incident creation rule(s) are enabled",
        ],
    ));
    let decided = |onboarded, reason: &str| DefenderPortal {
        onboarded,
        decided_by: DecidedBy {
            source: DecisionSource::Evidence,
            reason: format!("{reason} {CAVEAT}"),
            evidence: evidence.clone(),
        },
    };
    if app_roles.is_empty() {
        return decided(Some(false), "onboarding assigns Microsoft Sentinel Contributor to the Microsoft Threat Protection and WindowsDefenderATP apps in the subscription, and no such assignment exists at or above the workspace.");
    }
    if let Some(why) = readable {
        return decided(
            None,
            &format!("the Defender apps hold Microsoft Sentinel Contributor, but {why}."),
        );
    }
    if fusion_on.is_empty() && creation_on.is_empty() {
        return decided(Some(true), "the Defender apps hold Microsoft Sentinel Contributor, the Fusion rule is off and no Microsoft incident creation rule is enabled.");
    }
    decided(None, "the Defender apps hold Microsoft Sentinel Contributor, but an enabled Fusion or Microsoft incident creation rule says this workspace was not onboarded (another workspace of the subscription may be); set `defender_portal` in --config.")
}

/// A rule signal: observed when no offending rule is enabled; unknown when the rules could
/// not be read (`unreadable` says why).
fn signal(
    name: &str,
    on: &[&AlertRule],
    unreadable: Option<&str>,
    [yes, no]: [&str; 2],
) -> PortalSignal {
    let (observed, detail) = match unreadable {
        Some(why) => (None, why.to_string()),
        None if on.is_empty() => (Some(true), yes.to_string()),
        None => (Some(false), no.to_string()),
    };
    PortalSignal {
        signal: name.into(),
        observed,
        detail,
        ids: on.iter().map(|r| r.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaf(prop: &str, op: &str, values: &[&str]) -> Value {
        json!({"conditionType": "Property", "conditionProperties": {"propertyName": prop, "operator": op, "propertyValues": values}})
    }

    fn rule(conditions: Value) -> Value {
        json!({"id": "/x/automationRules/r1", "name": "r1", "properties": {
            "displayName": "R", "order": 1, "actions": [],
            "triggeringLogic": {"isEnabled": true, "triggersOn": "Incidents", "triggersWhen": "Created", "conditions": conditions}}})
    }

    #[test]
    fn nested_conditions_are_flattened_with_paths_and_enclosing_nodes() {
        let r = rule(json!([
            leaf("IncidentSeverity", "Equals", &["High"]),
            {"conditionType": "Boolean", "conditionProperties": {"operator": "Or", "innerConditions": [
                leaf("IncidentTitle", "Contains", &["Phishing"]),
                {"conditionType": "PropertyArray", "conditionProperties": {"arrayType": "CustomDetailValues", "arrayConditionType": "AnyItem",
                  "itemConditions": [leaf("IncidentCustomDetailsValue", "Equals", &["x"])]}}
            ]}},
            {"conditionType": "SomethingNew", "conditionProperties": {"propertyName": "P"}}
        ]));
        let got = automation_rules(&json!([r])).unwrap();
        let c = &got[0].conditions;
        assert_eq!(c.len(), 4);
        assert_eq!(
            c[1].path,
            "/conditions/1/conditionProperties/innerConditions/0"
        );
        assert_eq!(c[1].inside, ["Or"]);
        assert_eq!(c[1].values, ["Phishing"]);
        assert_eq!(c[2].inside, ["Or", "PropertyArray:AnyItem"]);
        assert_eq!(c[2].array_type.as_deref(), Some("CustomDetailValues"));
        assert_eq!(c[3].condition_type, "SomethingNew");
    }

    #[test]
    fn hostile_conditions_are_errors_not_panics() {
        let mut deep = leaf("IncidentTitle", "Contains", &["x"]);
        for _ in 0..200 {
            deep = json!({"conditionType": "Boolean", "conditionProperties": {"operator": "And", "innerConditions": [deep]}});
        }
        let e = automation_rules(&json!([rule(json!([deep]))])).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{}", e.message);
        let e = automation_rules(&json!([rule(json!([{"conditionType": "Property", "conditionProperties": {"propertyName": "IncidentTitle", "propertyValues": [1]}}]))])).unwrap_err();
        assert!(e.message.contains("not a string"), "{}", e.message);
        let mut r = rule(json!([]));
        r["properties"]["triggeringLogic"]["isEnabled"] = json!("yes");
        assert!(automation_rules(&json!([r])).is_err());
        let mut r = rule(json!([]));
        r["properties"]["triggeringLogic"]["expirationTimeUtc"] = json!("tomorrow");
        assert!(automation_rules(&json!([r])).is_err());
    }

    fn ra(id: &str, principal: &str, role: &str) -> WorkspaceRoleAssignment {
        WorkspaceRoleAssignment {
            id: id.into(),
            principal_id: principal.into(),
            principal_type: None,
            role_definition_id: format!(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{role}"
            ),
            role_name: None,
            scope: "/subscriptions/s".into(),
            condition: None,
            condition_version: None,
        }
    }

    fn alert(kind: &str, enabled: bool) -> AlertRule {
        AlertRule {
            id: format!("/x/alertRules/{kind}"),
            name: kind.into(),
            kind: kind.into(),
            display_name: None,
            enabled,
            product_filter: None,
            create_incident: None,
        }
    }

    #[test]
    fn decision_branches() {
        let sps = [DefenderServicePrincipal {
            app_id: DEFENDER_APPS[0].0.into(),
            display_name: None,
            id: Some("SP1".into()),
        }];
        let onboarded = [ra("a1", "sp1", &SENTINEL_CONTRIBUTOR.to_uppercase())];
        let quiet = [alert("Fusion", false), alert("Scheduled", true)];
        // 1. unreadable input
        let d = decide(
            Err("`defender_service_principals` could not be read".into()),
            Ok(&onboarded),
            Ok(&quiet),
        );
        assert_eq!(d.onboarded, None);
        assert!(d.decided_by.reason.contains("could not be read"));
        // 2. no assignment
        let d = decide(
            Ok(&sps),
            Ok(&[ra("a2", "someone", SENTINEL_CONTRIBUTOR)]),
            Ok(&quiet),
        );
        assert_eq!(d.onboarded, Some(false));
        // 3. assignment, Fusion off, no creation rule
        let d = decide(Ok(&sps), Ok(&onboarded), Ok(&quiet));
        assert_eq!(d.onboarded, Some(true));
        assert_eq!(d.decided_by.evidence[0].ids, ["a1"]);
        // 4. conflicting signals, or rules unreadable
        let d = decide(
            Ok(&sps),
            Ok(&onboarded),
            Ok(&[alert("MicrosoftSecurityIncidentCreation", true)]),
        );
        assert_eq!(d.onboarded, None);
        assert_eq!(d.decided_by.evidence[2].observed, Some(false));
        let d = decide(
            Ok(&sps),
            Ok(&onboarded),
            Err("`alert_rules` could not be read".into()),
        );
        assert_eq!(d.onboarded, None);
        assert!(d.decided_by.reason.ends_with(CAVEAT));
    }

    #[test]
    fn service_principal_404_is_none_other_errors_are_errors() {
        use crate::collect::http::ErrorCode;
        let nf = CallError::new(
            ErrorCode::Api("Request_ResourceNotFound".into()),
            "gone",
            Some(404),
        );
        let got = defender_service_principals(vec![Ok(json!({"id": "o1", "appId": DEFENDER_APPS[0].0, "displayName": "Microsoft Threat Protection"})), Err(nf)]).unwrap();
        assert_eq!(
            (got[0].id.as_deref(), got[1].id.as_deref()),
            (Some("o1"), None)
        );
        let denied = CallError::new(
            ErrorCode::Api("Authorization_RequestDenied".into()),
            "no",
            Some(403),
        );
        assert!(defender_service_principals(vec![Err(denied), Ok(json!({"id": "x"}))]).is_err());
    }
}
