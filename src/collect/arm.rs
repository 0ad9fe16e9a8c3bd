//! Azure Resource Manager: the workspace, its Sentinel configuration and who may do what on it.
//! Paths and api-versions come from the catalog so the docs and `permissions` cannot drift.

use super::http::{CallError, ErrorCode};
use super::norm::{arr, int, last_segment, opt_str, ptr_str, req_str, strings};
use crate::facts::apis;
use crate::facts::sections::{
    AlertRule, CatalogPackage, ConnectorRequirements, ContentPackage, DataConnector,
    PermissionBlock, PermissionsSource, SentinelOnboarding, Setting, Subscription, Table,
    Workspace, WorkspacePermissions, WorkspaceRoleAssignment,
};
use crate::facts::{SectionName, WorkspaceRef};
use serde_json::{json, Value};

/// The Defender XDR solution's Content Hub id.
pub const XDR_CONTENT_ID: &str = "azuresentinel.azure-sentinel-solution-microsoft365defender";
/// The Defender XDR connector kind (preview api-versions only).
pub const XDR_CONNECTOR_KIND: &str = "MicrosoftThreatProtection";

fn version(section: SectionName) -> &'static str {
    apis::section(section).api_version
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
        format!(
            "{}?api-version={}",
            self.sub,
            version(SectionName::Subscription)
        )
    }
    pub fn workspace(&self) -> String {
        format!(
            "{}?api-version={}",
            self.ws,
            version(SectionName::Workspace)
        )
    }
    pub fn tables(&self) -> String {
        format!(
            "{}/tables?api-version={}",
            self.ws,
            version(SectionName::Tables)
        )
    }
    pub fn onboarding_states(&self) -> String {
        format!(
            "{}/onboardingStates?api-version={}",
            self.si,
            version(SectionName::SentinelOnboarding)
        )
    }
    pub fn data_connectors(&self) -> String {
        format!(
            "{}/dataConnectors?api-version={}",
            self.si,
            version(SectionName::DataConnectors)
        )
    }
    pub fn alert_rules(&self) -> String {
        format!(
            "{}/alertRules?api-version={}",
            self.si,
            version(SectionName::AlertRules)
        )
    }
    pub fn automation_rules(&self) -> String {
        format!(
            "{}/automationRules?api-version={}",
            self.si,
            version(SectionName::AutomationRules)
        )
    }
    pub fn content_packages(&self) -> String {
        format!(
            "{}/contentPackages?api-version={}",
            self.si,
            version(SectionName::ContentPackages)
        )
    }
    pub fn content_catalog(&self) -> String {
        format!(
            "{}/contentProductPackages?api-version={}&$filter={}",
            self.si,
            version(SectionName::ContentCatalog),
            super::graph::encode(&format!("properties/contentId eq '{XDR_CONTENT_ID}'"))
        )
    }
    pub fn settings(&self) -> String {
        format!(
            "{}/settings?api-version={}",
            self.si,
            version(SectionName::Settings)
        )
    }
    pub fn check_requirements(&self) -> String {
        format!(
            "{}/dataConnectorsCheckRequirements?api-version={}",
            self.si,
            version(SectionName::ConnectorRequirements)
        )
    }
    pub fn permissions(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/permissions?api-version={}",
            self.ws,
            version(SectionName::WorkspacePermissions)
        )
    }
    pub fn role_assignments_of(&self, object_id: &str) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version={}&$filter={}",
            self.ws,
            version(SectionName::WorkspacePermissions),
            super::graph::encode(&format!("assignedTo('{object_id}')"))
        )
    }
    pub fn role_assignments_at_scope(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version={}&$filter={}",
            self.ws,
            version(SectionName::WorkspaceRoleAssignments),
            super::graph::encode("atScope()")
        )
    }
    pub fn role_definition(&self, guid: &str) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions/{}?api-version={}",
            self.ws,
            super::graph::encode(guid),
            version(SectionName::WorkspacePermissions)
        )
    }
}

/// The body of the connector pre-check.
pub fn check_requirements_body(tenant_id: &str) -> Value {
    json!({"kind": XDR_CONNECTOR_KIND, "properties": {"tenantId": tenant_id}})
}

// ---- normalisers -------------------------------------------------------------------------

pub fn subscription(v: &Value) -> Result<Subscription, CallError> {
    // The resource ID (`/subscriptions/{sub}`), as remediation commands use it.
    let id = opt_str(v, "id")
        .or_else(|| opt_str(v, "subscriptionId").map(|s| format!("/subscriptions/{s}")))
        .ok_or_else(|| CallError::malformed("subscription without `id`"))?;
    Ok(Subscription {
        id,
        tenant_id: req_str(v, "tenantId")?,
        display_name: opt_str(v, "displayName"),
        state: opt_str(v, "state"),
    })
}

pub fn workspace(v: &Value) -> Result<Workspace, CallError> {
    Ok(Workspace {
        id: req_str(v, "id")?,
        name: req_str(v, "name")?,
        customer_id: ptr_str(v, "/properties/customerId")
            .ok_or_else(|| CallError::malformed("workspace without `properties.customerId`"))?,
        location: opt_str(v, "location"),
        retention_in_days: v.pointer("/properties/retentionInDays").and_then(int),
        sku: ptr_str(v, "/properties/sku/name"),
    })
}

pub fn tables(items: &Value) -> Result<Vec<Table>, CallError> {
    arr(items)?
        .iter()
        .map(|t| {
            Ok(Table {
                name: opt_str(t, "name")
                    .or_else(|| ptr_str(t, "/properties/schema/name"))
                    .ok_or_else(|| CallError::malformed("table without `name`"))?,
                plan: ptr_str(t, "/properties/plan"),
                retention_in_days: t.pointer("/properties/retentionInDays").and_then(int),
                total_retention_in_days: t
                    .pointer("/properties/totalRetentionInDays")
                    .and_then(int),
            })
        })
        .collect()
}

pub fn onboarding(items: &Value) -> Result<SentinelOnboarding, CallError> {
    let states: Vec<String> = arr(items)?
        .iter()
        .map(|s| req_str(s, "name"))
        .collect::<Result<_, _>>()?;
    let enabled = states.iter().any(|s| s.eq_ignore_ascii_case("default"));
    Ok(SentinelOnboarding { enabled, states })
}

pub fn data_connectors(items: &Value) -> Result<Vec<DataConnector>, CallError> {
    arr(items)?
        .iter()
        .map(|c| {
            Ok(DataConnector {
                id: req_str(c, "id")?,
                name: req_str(c, "name")?,
                kind: req_str(c, "kind")?,
                tenant_id: ptr_str(c, "/properties/tenantId"),
                incidents_state: ptr_str(c, "/properties/dataTypes/incidents/state"),
                alerts_state: ptr_str(c, "/properties/dataTypes/alerts/state"),
                filtered_alert_providers: strings(
                    c.pointer("/properties/filteredProviders/alerts"),
                ),
            })
        })
        .collect()
}

pub fn alert_rules(items: &Value) -> Result<Vec<AlertRule>, CallError> {
    arr(items)?
        .iter()
        .map(|r| {
            Ok(AlertRule {
                id: req_str(r, "id")?,
                name: req_str(r, "name")?,
                kind: req_str(r, "kind")?,
                display_name: ptr_str(r, "/properties/displayName"),
                enabled: r
                    .pointer("/properties/enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                product_filter: ptr_str(r, "/properties/productFilter"),
                create_incident: super::portal::create_incident(r),
            })
        })
        .collect()
}

/// `properties.contentId` of a Content Hub package (what identifies the solution).
fn content_id(p: &Value, what: &str) -> Result<String, CallError> {
    ptr_str(p, "/properties/contentId")
        .ok_or_else(|| CallError::malformed(format!("{what} without `properties.contentId`")))
}

pub fn content_packages(items: &Value) -> Result<Vec<ContentPackage>, CallError> {
    arr(items)?
        .iter()
        .map(|p| {
            Ok(ContentPackage {
                id: req_str(p, "id")?,
                content_id: content_id(p, "content package")?,
                content_kind: ptr_str(p, "/properties/contentKind"),
                display_name: ptr_str(p, "/properties/displayName"),
                version: ptr_str(p, "/properties/version"),
            })
        })
        .collect()
}

pub fn content_catalog(items: &Value) -> Result<Vec<CatalogPackage>, CallError> {
    arr(items)?
        .iter()
        .map(|p| {
            Ok(CatalogPackage {
                content_id: content_id(p, "catalog package")?,
                display_name: ptr_str(p, "/properties/displayName"),
                version: ptr_str(p, "/properties/version"),
                installed_version: ptr_str(p, "/properties/installedVersion"),
            })
        })
        .collect()
}

pub fn settings(items: &Value) -> Result<Vec<Setting>, CallError> {
    arr(items)?
        .iter()
        .map(|s| {
            Ok(Setting {
                name: req_str(s, "name")?,
                kind: req_str(s, "kind")?,
                is_enabled: s.pointer("/properties/isEnabled").and_then(Value::as_bool),
                entity_providers: strings(s.pointer("/properties/entityProviders")),
                data_sources: strings(s.pointer("/properties/dataSources")),
            })
        })
        .collect()
}

pub fn connector_requirements(v: &Value) -> Result<ConnectorRequirements, CallError> {
    // The spec example answers at the top level; tolerate a `properties` wrapper too.
    let get = |k: &str| {
        opt_str(v, k)
            .or_else(|| ptr_str(v, &format!("/properties/{k}")))
            .ok_or_else(|| CallError::malformed(format!("missing `{k}`")))
    };
    let authorization_state = get("authorizationState")?;
    let license_state = get("licenseState")?;
    // The spec lists licenseState `Unknown` without a meaning: the pre-check could not tell,
    // which is neither pass nor fail. With authorization Valid nothing else decides, so the
    // section is an error (XDR-REQ-01 `error`); an Invalid authorization still fails.
    if license_state.eq_ignore_ascii_case("unknown")
        && authorization_state.eq_ignore_ascii_case("valid")
    {
        return Err(CallError::new(
            ErrorCode::LicenseStateUnknown,
            format!("Microsoft's pre-check could not determine the license state (licenseState {license_state}, authorizationState {authorization_state}); run it again later or as the operator"),
            None,
        ));
    }
    Ok(ConnectorRequirements {
        authorization_state,
        license_state,
    })
}

/// One `actions`/`notActions` block of the permissions API or of a role definition.
fn permission_block(
    b: &Value,
    role_definition_id: Option<String>,
    role_name: Option<String>,
    scope: Option<String>,
) -> PermissionBlock {
    PermissionBlock {
        actions: strings(b.get("actions")),
        not_actions: strings(b.get("notActions")),
        role_definition_id,
        role_name,
        scope,
    }
}

/// The permissions API: the caller's effective actions on the workspace.
pub fn caller_permissions(items: &Value) -> Result<WorkspacePermissions, CallError> {
    let permissions = arr(items)?
        .iter()
        .map(|p| permission_block(p, None, None, None))
        .collect();
    Ok(WorkspacePermissions {
        operator_is_caller: true,
        source: PermissionsSource::PermissionsApi,
        permissions,
    })
}

/// One role assignment, as facts.
pub fn role_assignment(a: &Value) -> Result<WorkspaceRoleAssignment, CallError> {
    let prop = |k: &str| {
        ptr_str(a, &format!("/properties/{k}")).ok_or_else(|| {
            CallError::malformed(format!("role assignment without `properties.{k}`"))
        })
    };
    Ok(WorkspaceRoleAssignment {
        id: req_str(a, "id")?,
        principal_id: prop("principalId")?,
        principal_type: ptr_str(a, "/properties/principalType"),
        // Kept as ARM returns it (a full role definition ID); policies match on its GUID suffix.
        role_definition_id: prop("roleDefinitionId")?,
        role_name: None,
        scope: prop("scope")?,
        condition: ptr_str(a, "/properties/condition"),
        condition_version: ptr_str(a, "/properties/conditionVersion"),
    })
}

pub fn role_assignments(items: &Value) -> Result<Vec<WorkspaceRoleAssignment>, CallError> {
    arr(items)?.iter().map(role_assignment).collect()
}

/// The role definition GUIDs of assignments, each once, in first-seen order (a set, not a
/// scan of the list: a server may list a million assignments).
pub fn distinct_definitions(assignments: &[WorkspaceRoleAssignment]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    assignments
        .iter()
        .map(|a| last_segment(&a.role_definition_id))
        .filter(|g| seen.insert(g.clone()))
        .collect()
}

/// The operator's permissions: each assignment's role definition permission blocks.
pub fn assigned_permissions(
    assignments: &[WorkspaceRoleAssignment],
    definitions: &[(String, Value)],
) -> Result<WorkspacePermissions, CallError> {
    let mut permissions = Vec::new();
    for a in assignments {
        let rid = &a.role_definition_id;
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
            permissions.push(permission_block(
                b,
                Some(rid.clone()),
                ptr_str(def, "/properties/roleName"),
                Some(a.scope.clone()),
            ));
        }
    }
    Ok(WorkspacePermissions {
        operator_is_caller: false,
        source: PermissionsSource::RoleAssignments,
        permissions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_license_state_is_an_error_unless_authorization_already_fails() {
        let e = connector_requirements(
            &json!({"authorizationState": "Valid", "licenseState": "Unknown"}),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::LicenseStateUnknown);
        assert!(e.message.contains("could not determine the license state"));
        let r = connector_requirements(
            &json!({"authorizationState": "Invalid", "licenseState": "Unknown"}),
        )
        .unwrap();
        assert_eq!(r.license_state, "Unknown");
    }
}
