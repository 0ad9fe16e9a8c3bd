//! Azure Resource Manager: the workspace, its Sentinel configuration and who may do what on it.
//! Paths and api-versions come from the catalog so the docs and `permissions` cannot drift.

use super::http::CallError;
use super::norm::{arr, int, last_segment, opt_str, ptr_str, req_str, strings};
use crate::facts::apis;
use crate::facts::WorkspaceRef;
use serde_json::{json, Value};

/// The Defender XDR solution's Content Hub id.
pub const XDR_CONTENT_ID: &str = "azuresentinel.azure-sentinel-solution-microsoft365defender";
/// The Defender XDR connector kind (preview api-versions only).
pub const XDR_CONNECTOR_KIND: &str = "MicrosoftThreatProtection";

fn version(section: &str) -> &'static str {
    apis::section(section)
        .map(|s| s.api_version)
        .unwrap_or_else(|| panic!("catalog lacks section {section}"))
}

/// Path + query (relative to the ARM base URL) of every ARM call.
pub struct Paths {
    ws: String,
    si: String,
    sub: String,
}

impl Paths {
    pub fn new(ws: &WorkspaceRef) -> Self {
        let wsp = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}",
            ws.subscription_id, ws.resource_group, ws.name
        );
        Paths {
            si: format!("{wsp}/providers/Microsoft.SecurityInsights"),
            sub: format!("/subscriptions/{}", ws.subscription_id),
            ws: wsp,
        }
    }
    pub fn subscription(&self) -> String {
        format!("{}?api-version={}", self.sub, version("subscription"))
    }
    pub fn workspace(&self) -> String {
        format!("{}?api-version={}", self.ws, version("workspace"))
    }
    pub fn tables(&self) -> String {
        format!("{}/tables?api-version={}", self.ws, version("tables"))
    }
    pub fn onboarding_states(&self) -> String {
        format!(
            "{}/onboardingStates?api-version={}",
            self.si,
            version("sentinel_onboarding")
        )
    }
    pub fn data_connectors(&self) -> String {
        format!(
            "{}/dataConnectors?api-version={}",
            self.si,
            version("data_connectors")
        )
    }
    pub fn alert_rules(&self) -> String {
        format!(
            "{}/alertRules?api-version={}",
            self.si,
            version("alert_rules")
        )
    }
    pub fn content_packages(&self) -> String {
        format!(
            "{}/contentPackages?api-version={}",
            self.si,
            version("content_packages")
        )
    }
    pub fn content_catalog(&self) -> String {
        format!(
            "{}/contentProductPackages?api-version={}&$filter={}",
            self.si,
            version("content_catalog"),
            super::graph::encode(&format!("properties/contentId eq '{XDR_CONTENT_ID}'"))
        )
    }
    pub fn settings(&self) -> String {
        format!("{}/settings?api-version={}", self.si, version("settings"))
    }
    pub fn check_requirements(&self) -> String {
        format!(
            "{}/dataConnectorsCheckRequirements?api-version={}",
            self.si,
            version("connector_requirements")
        )
    }
    pub fn permissions(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/permissions?api-version={}",
            self.ws,
            version("workspace_permissions")
        )
    }
    pub fn role_assignments_of(&self, object_id: &str) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version={}&$filter={}",
            self.ws,
            version("workspace_permissions"),
            super::graph::encode(&format!("assignedTo('{object_id}')"))
        )
    }
    pub fn role_assignments_at_scope(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version={}&$filter={}",
            self.ws,
            version("workspace_role_assignments"),
            super::graph::encode("atScope()")
        )
    }
    pub fn role_definition(&self, guid: &str) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions/{}?api-version={}",
            self.ws,
            super::graph::encode(guid),
            version("workspace_permissions")
        )
    }
}

/// The body of the connector pre-check.
pub fn check_requirements_body(tenant_id: &str) -> Value {
    json!({"kind": XDR_CONNECTOR_KIND, "properties": {"tenantId": tenant_id}})
}

// ---- normalisers -------------------------------------------------------------------------

pub fn subscription(v: &Value) -> Result<Value, CallError> {
    // The resource ID (`/subscriptions/{sub}`), as remediation commands use it.
    let id = opt_str(v, "id")
        .or_else(|| opt_str(v, "subscriptionId").map(|s| format!("/subscriptions/{s}")))
        .ok_or_else(|| CallError::malformed("subscription without `id`"))?;
    Ok(json!({
        "id": id,
        "tenant_id": req_str(v, "tenantId")?,
        "display_name": opt_str(v, "displayName"),
        "state": opt_str(v, "state"),
    }))
}

pub fn workspace(v: &Value) -> Result<Value, CallError> {
    Ok(json!({
        "id": req_str(v, "id")?,
        "name": req_str(v, "name")?,
        "customer_id": ptr_str(v, "/properties/customerId").ok_or_else(|| CallError::malformed("workspace without `properties.customerId`"))?,
        "location": opt_str(v, "location"),
        "retention_in_days": v.pointer("/properties/retentionInDays").and_then(int),
        "sku": ptr_str(v, "/properties/sku/name"),
    }))
}

pub fn tables(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|t| {
            Ok(json!({
                "name": opt_str(t, "name").or_else(|| ptr_str(t, "/properties/schema/name")).ok_or_else(|| CallError::malformed("table without `name`"))?,
                "plan": ptr_str(t, "/properties/plan"),
                "retention_in_days": t.pointer("/properties/retentionInDays").and_then(int),
                "total_retention_in_days": t.pointer("/properties/totalRetentionInDays").and_then(int),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn onboarding(items: &Value) -> Result<Value, CallError> {
    let states: Vec<String> = arr(items)?
        .iter()
        .map(|s| req_str(s, "name"))
        .collect::<Result<_, _>>()?;
    let enabled = states.iter().any(|s| s.eq_ignore_ascii_case("default"));
    Ok(json!({"enabled": enabled, "states": states}))
}

pub fn data_connectors(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|c| {
            Ok(json!({
                "id": req_str(c, "id")?,
                "name": req_str(c, "name")?,
                "kind": req_str(c, "kind")?,
                "tenant_id": ptr_str(c, "/properties/tenantId"),
                "incidents_state": ptr_str(c, "/properties/dataTypes/incidents/state"),
                "alerts_state": ptr_str(c, "/properties/dataTypes/alerts/state"),
                "filtered_alert_providers": strings(c.pointer("/properties/filteredProviders/alerts")),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn alert_rules(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|r| {
            Ok(json!({
                "id": req_str(r, "id")?,
                "name": req_str(r, "name")?,
                "kind": req_str(r, "kind")?,
                "display_name": ptr_str(r, "/properties/displayName"),
                "enabled": r.pointer("/properties/enabled").and_then(Value::as_bool).unwrap_or(false),
                "product_filter": ptr_str(r, "/properties/productFilter"),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn content_packages(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|p| {
            Ok(json!({
                "id": req_str(p, "id")?,
                "content_id": ptr_str(p, "/properties/contentId").ok_or_else(|| CallError::malformed("content package without `properties.contentId`"))?,
                "content_kind": ptr_str(p, "/properties/contentKind"),
                "display_name": ptr_str(p, "/properties/displayName"),
                "version": ptr_str(p, "/properties/version"),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn content_catalog(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|p| {
            Ok(json!({
                "content_id": ptr_str(p, "/properties/contentId").ok_or_else(|| CallError::malformed("catalog package without `properties.contentId`"))?,
                "display_name": ptr_str(p, "/properties/displayName"),
                "version": ptr_str(p, "/properties/version"),
                "installed_version": ptr_str(p, "/properties/installedVersion"),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn settings(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|s| {
            Ok(json!({
                "name": req_str(s, "name")?,
                "kind": req_str(s, "kind")?,
                "is_enabled": s.pointer("/properties/isEnabled").and_then(Value::as_bool),
                "entity_providers": strings(s.pointer("/properties/entityProviders")),
                "data_sources": strings(s.pointer("/properties/dataSources")),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn connector_requirements(v: &Value) -> Result<Value, CallError> {
    // The spec example answers at the top level; tolerate a `properties` wrapper too.
    let get = |k: &str| opt_str(v, k).or_else(|| ptr_str(v, &format!("/properties/{k}")));
    Ok(json!({
        "authorization_state": get("authorizationState").ok_or_else(|| CallError::malformed("missing `authorizationState`"))?,
        "license_state": get("licenseState").ok_or_else(|| CallError::malformed("missing `licenseState`"))?,
    }))
}

/// The permissions API: the caller's effective actions on the workspace.
pub fn caller_permissions(items: &Value) -> Result<Value, CallError> {
    let perms = arr(items)?
        .iter()
        .map(|p| {
            json!({
                "actions": strings(p.get("actions")),
                "not_actions": strings(p.get("notActions")),
                "role_definition_id": null,
                "role_name": null,
                "scope": null,
            })
        })
        .collect::<Vec<_>>();
    Ok(json!({"operator_is_caller": true, "source": "permissions_api", "permissions": perms}))
}

/// One role assignment, as facts.
pub fn role_assignment(a: &Value) -> Result<Value, CallError> {
    Ok(json!({
        "id": req_str(a, "id")?,
        "principal_id": ptr_str(a, "/properties/principalId").ok_or_else(|| CallError::malformed("role assignment without `properties.principalId`"))?,
        "principal_type": ptr_str(a, "/properties/principalType"),
        // Kept as ARM returns it (a full role definition ID); policies match on its GUID suffix.
        "role_definition_id": ptr_str(a, "/properties/roleDefinitionId").ok_or_else(|| CallError::malformed("role assignment without `properties.roleDefinitionId`"))?,
        "role_name": null,
        "scope": ptr_str(a, "/properties/scope").ok_or_else(|| CallError::malformed("role assignment without `properties.scope`"))?,
    }))
}

pub fn role_assignments(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(role_assignment)
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The role definition GUIDs of assignments, each once, in first-seen order.
pub fn distinct_definitions(assignments: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in assignments {
        if let Some(id) = a.get("role_definition_id").and_then(Value::as_str) {
            let guid = last_segment(id);
            if !out.contains(&guid) {
                out.push(guid);
            }
        }
    }
    out
}

/// The operator's permissions: each assignment's role definition permission blocks.
pub fn assigned_permissions(
    assignments: &[Value],
    definitions: &[(String, Value)],
) -> Result<Value, CallError> {
    let mut perms = Vec::new();
    for a in assignments {
        let rid = a
            .get("role_definition_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let guid = last_segment(rid);
        let def = definitions
            .iter()
            .find(|(g, _)| *g == guid)
            .map(|(_, d)| d)
            .ok_or_else(|| CallError::malformed(format!("no role definition {rid}")))?;
        let blocks = def
            .pointer("/properties/permissions")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                CallError::malformed("role definition without `properties.permissions`")
            })?;
        for b in blocks {
            perms.push(json!({
                "actions": strings(b.get("actions")),
                "not_actions": strings(b.get("notActions")),
                "role_definition_id": rid,
                "role_name": ptr_str(def, "/properties/roleName"),
                "scope": a.get("scope").cloned().unwrap_or(Value::Null),
            }));
        }
    }
    Ok(json!({"operator_is_caller": false, "source": "role_assignments", "permissions": perms}))
}
