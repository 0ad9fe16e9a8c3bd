//! The data of each facts section, as the collectors write it.
//!
//! One type per section; `schemas/facts.schema.json` is generated from these types (see
//! `facts::schema`), so the file and the code cannot drift. Fields are in the order they are
//! written. An `Option` field is written as `null` when unknown; it is required in the schema
//! only where the schema has always required it (`#[schemars(required)]`).

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Declares the section names and, for each, the type of its data: the one table that ties
/// a name to a shape.
macro_rules! sections {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// The name of a facts section: the keys of `sections`, and what a policy `reads`.
        ///
        /// Declared in the order of the schema's `sections` properties; ordered (for the
        /// document's map) by name, so documents list sections alphabetically.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema,
            strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum SectionName {
            $($(#[$doc])* $variant,)*
        }

        /// The data of one section, typed by its name.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum SectionData {
            $($(#[$doc])* $variant($ty),)*
        }

        impl SectionData {
            /// The section this data belongs in.
            pub fn name(&self) -> SectionName {
                match self {
                    $(SectionData::$variant(_) => SectionName::$variant,)*
                }
            }

            /// Read a section's JSON as the type its name calls for.
            pub fn from_value(name: SectionName, value: Value) -> Result<Self, serde_json::Error> {
                Ok(match name {
                    $(SectionName::$variant => SectionData::$variant(serde_json::from_value(value)?),)*
                })
            }
        }

        impl SectionName {
            /// The JSON Schema of this section's data.
            pub fn data_schema(self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                match self {
                    $(SectionName::$variant => generator.subschema_for::<$ty>(),)*
                }
            }
        }
    };
}

sections! {
    /// The signed-in tenant (`/organization`).
    Tenant(Tenant),
    /// The workspace's subscription, for the workspace's tenant id.
    Subscription(Subscription),
    /// The user who will connect the connector.
    Operator(Operator),
    /// The tenant's subscribed SKUs.
    Licenses(Vec<License>),
    /// The operator's groups.
    OperatorGroups(Vec<Group>),
    /// The operator's active Entra role assignments.
    DirectoryRoleAssignments(Vec<DirectoryRoleAssignment>),
    /// The operator's eligible (PIM) Entra role assignments.
    DirectoryRoleEligibilities(Vec<DirectoryRoleAssignment>),
    /// Defender for Identity sensors.
    MdiSensors(MdiSensors),
    /// Open Defender for Identity health issues.
    MdiHealthIssues(Vec<MdiHealthIssue>),
    /// The Log Analytics workspace.
    Workspace(Workspace),
    /// The workspace's tables.
    Tables(Vec<Table>),
    /// Whether Sentinel is onboarded on the workspace.
    SentinelOnboarding(SentinelOnboarding),
    /// Sentinel data connectors.
    DataConnectors(Vec<DataConnector>),
    /// Sentinel analytics rules.
    AlertRules(Vec<AlertRule>),
    /// Installed Content Hub packages.
    ContentPackages(Vec<ContentPackage>),
    /// The Defender XDR solution in the Content Hub catalog.
    ContentCatalog(Vec<CatalogPackage>),
    /// Sentinel settings (UEBA, entity analytics, …).
    Settings(Vec<Setting>),
    /// The Defender XDR connector's pre-check.
    ConnectorRequirements(ConnectorRequirements),
    /// What the operator may do on the workspace.
    WorkspacePermissions(WorkspacePermissions),
    /// Every role assignment at the workspace's scope.
    WorkspaceRoleAssignments(Vec<WorkspaceRoleAssignment>),
    /// Last record and row count per required table.
    Ingestion(Vec<Ingestion>),
    /// Sentinel automation rules, their conditions flattened (schema 2).
    AutomationRules(Vec<AutomationRule>),
    /// The Defender apps' service principals, whose role assignments show onboarding (schema 2).
    DefenderServicePrincipals(Vec<DefenderServicePrincipal>),
    /// The operator's Azure role assignments at or above the workspace (derived; schema 2).
    OperatorAzureRoles(OperatorAzureRoles),
    /// Whether the workspace is onboarded to the Defender portal, and why (derived; schema 2).
    DefenderPortal(DefenderPortal),
}

impl SectionName {
    /// The name as written in facts documents and policies.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

// Alphabetical, so a document's `sections` keep the order they had as a map of strings.
impl Ord for SectionName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for SectionName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "display_name"))]
pub struct Tenant {
    pub id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The resource ID (`/subscriptions/{sub}`), as remediation commands use it.
    pub id: String,
    pub tenant_id: String,
    pub display_name: Option<String>,
    pub state: Option<String>,
}

/// How the operator was found: as the signed-in user, or looked up by `--operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorSource {
    Me,
    Lookup,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "user_type"))]
#[schemars(transform = |s: &mut Schema| accept_missing(s, "source"))]
pub struct Operator {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub user_type: Option<String>,
    pub source: OperatorSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct License {
    pub sku_id: String,
    pub sku_part_number: Option<String>,
    pub capability_status: String,
    /// Prepaid units enabled (0 when Graph does not say).
    pub prepaid_enabled: i64,
    /// Prepaid units in their grace period after the subscription expired (`capabilityStatus`
    /// `Warning`); still usable until suspended. Optional so older documents load.
    #[serde(default)]
    pub prepaid_warning: i64,
    pub consumed_units: Option<i64>,
    pub service_plans: Vec<ServicePlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "service_plan_name"))]
pub struct ServicePlan {
    pub service_plan_id: String,
    pub service_plan_name: Option<String>,
    pub provisioning_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub display_name: Option<String>,
    pub is_assignable_to_role: Option<bool>,
}

/// An active role assignment or an eligibility schedule: Graph gives both one shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryRoleAssignment {
    pub id: String,
    pub role_definition_id: String,
    pub principal_id: String,
    /// `/` (the whole directory) when Graph does not say.
    pub directory_scope_id: String,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MdiSensors {
    /// False when Defender for Identity was never set up for the tenant.
    pub provisioned: bool,
    pub sensors: Vec<MdiSensor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MdiSensor {
    pub id: String,
    pub display_name: Option<String>,
    pub domain_name: Option<String>,
    pub sensor_type: Option<String>,
    pub health_status: String,
    pub deployment_status: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MdiHealthIssue {
    pub id: String,
    pub display_name: Option<String>,
    pub severity: String,
    pub status: String,
    pub health_issue_type: Option<String>,
    #[serde(default)]
    pub sensor_dns_names: Vec<String>,
    #[serde(default)]
    pub recommendations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    /// The workspace GUID the Log Analytics query API addresses.
    pub customer_id: String,
    pub location: Option<String>,
    pub retention_in_days: Option<i64>,
    pub sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "plan"))]
pub struct Table {
    pub name: String,
    /// `Analytics`, `Basic` or `Auxiliary`.
    pub plan: Option<String>,
    pub retention_in_days: Option<i64>,
    pub total_retention_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentinelOnboarding {
    /// An onboarding state named `default` exists.
    pub enabled: bool,
    #[serde(default)]
    pub states: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataConnector {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub tenant_id: Option<String>,
    pub incidents_state: Option<String>,
    pub alerts_state: Option<String>,
    #[serde(default)]
    pub filtered_alert_providers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub display_name: Option<String>,
    /// False when ARM does not say.
    pub enabled: bool,
    pub product_filter: Option<String>,
    /// `incidentConfiguration.createIncident` of a Scheduled or NRT rule; `null` for other
    /// kinds or when ARM does not say. Optional so documents of schema 1 load.
    #[serde(default)]
    pub create_incident: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentPackage {
    pub id: String,
    pub content_id: String,
    pub content_kind: Option<String>,
    pub display_name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogPackage {
    pub content_id: String,
    pub display_name: Option<String>,
    pub version: Option<String>,
    pub installed_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub name: String,
    pub kind: String,
    pub is_enabled: Option<bool>,
    #[serde(default)]
    pub entity_providers: Vec<String>,
    #[serde(default)]
    pub data_sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRequirements {
    pub authorization_state: String,
    pub license_state: String,
}

/// Where the operator's workspace permissions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PermissionsSource {
    // The permissions API: the caller's own effective actions. (Not a doc comment: a
    // described variant would turn the schema's `enum` into a `oneOf`.)
    PermissionsApi,
    // The operator's role assignments and those roles' definitions.
    RoleAssignments,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| accept_missing(s, "operator_is_caller"))]
pub struct WorkspacePermissions {
    pub operator_is_caller: bool,
    pub source: PermissionsSource,
    pub permissions: Vec<PermissionBlock>,
}

/// One `actions`/`notActions` block, and the role it came from when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionBlock {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub role_definition_id: Option<String>,
    pub role_name: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    /// As ARM returns it (a full role definition ID); policies match on its GUID suffix.
    pub role_definition_id: String,
    pub role_name: Option<String>,
    pub scope: String,
    /// `properties.condition` (ABAC); `null` for an unconditional assignment. Optional so
    /// documents of schema 1 load.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub condition_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "last_received"))]
pub struct Ingestion {
    pub table: String,
    /// RFC 3339 in UTC; `null` when the table has no record in the look-back.
    #[schemars(extend("format" = "date-time"))]
    pub last_received: Option<String>,
    pub rows: i64,
    /// Rows per day of the last 14 days (UTC days, oldest first, today's so far last), for
    /// the reports' ingestion charts; absent in facts collected before it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<i64>>,
}

/// An automation rule: when it triggers and every leaf of its conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationRule {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub order: Option<i64>,
    /// `triggeringLogic.isEnabled`.
    pub enabled: bool,
    /// RFC 3339; after it the rule no longer runs.
    #[schemars(extend("format" = "date-time"))]
    pub expiration_time_utc: Option<String>,
    /// `Incidents` or `Alerts` (kept as ARM writes it: the enum is open).
    pub triggers_on: String,
    /// `Created` or `Updated`.
    pub triggers_when: String,
    /// The leaves of the condition tree, depth-first in document order.
    pub conditions: Vec<AutomationRuleCondition>,
    pub actions: Vec<AutomationRuleAction>,
}

/// One leaf condition; `Boolean` and `PropertyArray` nodes are not leaves, their children are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationRuleCondition {
    /// JSON pointer of the leaf under `properties.triggeringLogic`: stable evidence IDs.
    pub path: String,
    /// `Property`, `PropertyChanged`, `PropertyArrayChanged`, `PropertyArray` (without
    /// items), or a type ARM added since.
    pub condition_type: String,
    pub property: Option<String>,
    pub operator: Option<String>,
    pub values: Vec<String>,
    pub change_type: Option<String>,
    pub array_type: Option<String>,
    /// The enclosing `Boolean` operators (`And`, `Or`) and `PropertyArray:<arrayConditionType>`
    /// nodes, outermost first.
    pub inside: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationRuleAction {
    pub order: Option<i64>,
    pub action_type: String,
    /// The playbook a `RunPlaybook` action runs.
    pub logic_app_resource_id: Option<String>,
    pub tenant_id: Option<String>,
}

/// A Defender app's service principal in the tenant; `id` is `null` when the tenant has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefenderServicePrincipal {
    pub app_id: String,
    pub display_name: Option<String>,
    pub id: Option<String>,
}

/// The operator's (and their groups') Azure role assignments among the workspace's
/// `atScope()` ones: at the workspace or above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorAzureRoles {
    pub operator_id: String,
    /// The operator and every group of theirs.
    pub principal_ids: Vec<String>,
    pub assignments: Vec<OperatorRoleAssignment>,
}

/// How a role assignment reaches the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    User,
    Group,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub via: Via,
    pub role_definition_id: String,
    pub role_name: Option<String>,
    pub scope: String,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
}

/// Whether the workspace is onboarded to the Defender portal: `null` when it cannot be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "onboarded"))]
pub struct DefenderPortal {
    pub onboarded: Option<bool>,
    pub decided_by: DecidedBy,
}

/// Where the onboarding answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    Evidence,
    Config,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecidedBy {
    pub source: DecisionSource,
    /// One sentence every report prints.
    pub reason: String,
    pub evidence: Vec<PortalSignal>,
}

/// One observation the decision rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = |s: &mut Schema| require(s, "observed"))]
pub struct PortalSignal {
    /// `defender_apps_sentinel_contributor`, `fusion_rule_disabled` or
    /// `incident_creation_rules_deactivated`.
    pub signal: String,
    pub observed: Option<bool>,
    pub detail: String,
    pub ids: Vec<String>,
}

/// A field every document written has, but that a document read may leave out: the schema
/// has never required it.
fn accept_missing(schema: &mut Schema, field: &str) {
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|r| r != field);
    }
}

/// An `Option` field that must be present, if only as `null` (the schema has always required
/// it). `required` stays in field order.
fn require(schema: &mut Schema, field: &str) {
    let order: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let Some(Value::Array(required)) = schema.get_mut("required") else {
        schema.insert("required".into(), Value::Array(vec![field.into()]));
        return;
    };
    required.push(field.into());
    required.sort_by_key(|r| order.iter().position(|o| r == o));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FactsDocument, Section};
    use crate::input::diagnostic::SourceFile;

    /// `written` holds everything `read` does, unchanged; it may add keys (`null`, `[]`) that
    /// a hand-written document leaves out.
    fn holds(written: &Value, read: &Value) -> bool {
        match (written, read) {
            (Value::Object(w), Value::Object(r)) => r
                .iter()
                .all(|(k, v)| w.get(k).is_some_and(|wv| holds(wv, v))),
            (Value::Array(w), Value::Array(r)) => {
                w.len() == r.len() && w.iter().zip(r).all(|(a, b)| holds(a, b))
            }
            _ => written == read,
        }
    }

    /// Every shipped example document: each section's data reads as its type and writes back
    /// with nothing lost or changed, so the types describe what the examples (and the
    /// policies run over them) rely on.
    #[test]
    fn example_documents_round_trip_through_the_types() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/snapshots");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("examples/snapshots") {
            let path = entry.expect("dir entry").path();
            let doc = FactsDocument::parse(SourceFile::read(&path).expect("readable"))
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            for (name, section) in &doc.sections {
                let Section::Data(v) = section else { continue };
                let data = SectionData::from_value(*name, v.clone())
                    .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
                assert_eq!(data.name(), *name);
                assert!(
                    holds(&serde_json::to_value(&data).unwrap(), v),
                    "{}: {name} does not write back as read",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen > 50, "only {seen} sections checked");
    }

    #[test]
    fn names_read_and_order_as_written() {
        use strum::VariantArray;
        for name in SectionName::VARIANTS {
            assert_eq!(name.as_str().parse::<SectionName>().unwrap(), *name);
            assert_eq!(
                serde_json::to_value(name).unwrap(),
                Value::String(name.to_string())
            );
        }
        assert!("operators".parse::<SectionName>().is_err());
        let mut sorted = SectionName::VARIANTS.to_vec();
        sorted.sort();
        let names: Vec<&str> = sorted.iter().map(|n| n.as_str()).collect();
        let mut alphabetical = names.clone();
        alphabetical.sort_unstable();
        assert_eq!(names, alphabetical);
    }
}
