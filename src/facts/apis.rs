//! The API/permission table: every facts section, the API call that fills it and the least
//! permission that lets a read-only identity make that call.
//!
//! Collectors, `error` remediation and `xdrguard permissions` all read this one table,
//! so docs and code cannot drift.

/// Which Microsoft API a section comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Api {
    #[strum(serialize = "Microsoft Graph")]
    Graph,
    #[strum(serialize = "Azure Resource Manager")]
    Arm,
    #[strum(serialize = "Log Analytics query API")]
    LogAnalytics,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

use super::SectionName;

/// One section of the facts document.
#[derive(Debug, Clone, Copy)]
pub struct SectionInfo {
    pub name: SectionName,
    pub api: Api,
    /// Method and path (relative to the API's base URL), as documented.
    pub call: &'static str,
    pub api_version: &'static str,
    /// Least Graph application permission, or Azure role, that allows the read.
    pub permission: &'static str,
    /// How to grant it.
    pub grant: &'static str,
    /// The facts schema version that added the section: a document of an older version lacks
    /// it because that xdrguard did not collect it, not because a read failed.
    pub since_schema: u32,
    /// The sections a derived section is computed from (no call of its own; `permissions`
    /// lists what those need); empty for a section read from an API.
    pub derived_from: &'static [SectionName],
}

const GRAPH_GRANT: &str = "Entra admin center > App registrations > (the audit app) > API permissions > Add a permission > Microsoft Graph > Application permissions, then Grant admin consent; for a user, consent to the delegated permission";
const ARM_READER: &str = "az role assignment create --assignee <audit identity object id> --role \"Microsoft Sentinel Reader\" --scope <workspace resource ID>";

pub const SECTIONS: &[SectionInfo] = &[
    SectionInfo {
        name: SectionName::Tenant,
        api: Api::Graph,
        call: "GET /v1.0/organization",
        api_version: "v1.0",
        permission: "Organization.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Licenses,
        api: Api::Graph,
        call: "GET /v1.0/subscribedSkus",
        api_version: "v1.0",
        permission: "Organization.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Operator,
        api: Api::Graph,
        call: "GET /v1.0/me (or /v1.0/users/{upn-or-id})",
        api_version: "v1.0",
        permission: "User.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::OperatorGroups,
        api: Api::Graph,
        call: "GET /v1.0/me (or /users/{upn-or-id})/transitiveMemberOf/microsoft.graph.group?$count=true (ConsistencyLevel: eventual)",
        api_version: "v1.0",
        permission: "GroupMember.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::DirectoryRoleAssignments,
        api: Api::Graph,
        call: "GET /v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{accepted role}' (tenant-wide; kept: the operator's and their role-assignable groups')",
        api_version: "v1.0",
        permission: "RoleManagement.Read.Directory",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::DirectoryRoleEligibilities,
        api: Api::Graph,
        call: "GET /v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=roleDefinitionId eq '{accepted role}' (tenant-wide; kept: the operator's and their role-assignable groups')",
        api_version: "v1.0",
        permission: "RoleEligibilitySchedule.Read.Directory",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::MdiSensors,
        api: Api::Graph,
        call: "GET /v1.0/security/identities/sensors",
        api_version: "v1.0",
        permission: "SecurityIdentitiesSensors.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::MdiHealthIssues,
        api: Api::Graph,
        call: "GET /v1.0/security/identities/healthIssues?$filter=status eq 'open'",
        api_version: "v1.0",
        permission: "SecurityIdentitiesHealth.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Subscription,
        api: Api::Arm,
        call: "GET /subscriptions/{sub}",
        api_version: "2022-12-01",
        permission: "Reader on the subscription (or any role at or below it that includes Microsoft.Resources/subscriptions/read)",
        grant: "az role assignment create --assignee <audit identity object id> --role Reader --scope /subscriptions/<sub>",
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Workspace,
        api: Api::Arm,
        call: "GET {ws}",
        api_version: "2025-02-01",
        permission: "Microsoft Sentinel Reader (or Log Analytics Reader) on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Tables,
        api: Api::Arm,
        call: "GET {ws}/tables",
        api_version: "2025-02-01",
        permission: "Microsoft Sentinel Reader (or Log Analytics Reader) on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::SentinelOnboarding,
        api: Api::Arm,
        call: "GET {si}/onboardingStates",
        api_version: "2025-12-01",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::DataConnectors,
        api: Api::Arm,
        call: "GET {si}/dataConnectors",
        api_version: "2025-10-01-preview",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::AlertRules,
        api: Api::Arm,
        call: "GET {si}/alertRules",
        api_version: "2025-12-01",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::ContentPackages,
        api: Api::Arm,
        call: "GET {si}/contentPackages",
        api_version: "2025-12-01",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::ContentCatalog,
        api: Api::Arm,
        call: "GET {si}/contentProductPackages?$filter=properties/contentId eq 'azuresentinel.azure-sentinel-solution-microsoft365defender'",
        api_version: "2025-12-01",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Settings,
        api: Api::Arm,
        call: "GET {si}/settings",
        api_version: "2025-10-01-preview",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::ConnectorRequirements,
        api: Api::Arm,
        call: "POST {si}/dataConnectorsCheckRequirements (kind MicrosoftThreatProtection; read-only pre-check)",
        api_version: "2025-10-01-preview",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::WorkspacePermissions,
        api: Api::Arm,
        call: "GET {ws}/providers/Microsoft.Authorization/permissions, or roleAssignments?$filter=assignedTo('{operator}') + roleDefinitions",
        api_version: "2022-04-01",
        permission: "Reader on the workspace (Microsoft.Authorization/*/read)",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::WorkspaceRoleAssignments,
        api: Api::Arm,
        call: "GET {ws}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()",
        api_version: "2022-04-01",
        permission: "Reader on the workspace (Microsoft.Authorization/roleAssignments/read)",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::Ingestion,
        api: Api::LogAnalytics,
        call: "POST /v1/workspaces/{customerId}/query (one union query over the required tables)",
        api_version: "v1",
        permission: "Log Analytics Reader (or Microsoft Sentinel Reader) on the workspace",
        grant: ARM_READER,
        since_schema: 1,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::AutomationRules,
        api: Api::Arm,
        call: "GET {si}/automationRules",
        api_version: "2025-12-01",
        permission: "Microsoft Sentinel Reader on the workspace",
        grant: ARM_READER,
        since_schema: 2,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::DefenderServicePrincipals,
        api: Api::Graph,
        call: "GET /v1.0/servicePrincipals(appId='{Microsoft Threat Protection | WindowsDefenderATP app id}')?$select=id,appId,displayName",
        api_version: "v1.0",
        permission: "Application.Read.All",
        grant: GRAPH_GRANT,
        since_schema: 2,
        derived_from: &[],
    },
    SectionInfo {
        name: SectionName::OperatorAzureRoles,
        api: Api::Arm,
        call: "derived from workspace_role_assignments, operator and operator_groups (no call of its own)",
        api_version: "2022-04-01",
        permission: "what its inputs need: Reader on the workspace (Microsoft.Authorization/roleAssignments/read), User.Read.All, GroupMember.Read.All",
        grant: ARM_READER,
        since_schema: 2,
        derived_from: &[
            SectionName::Operator,
            SectionName::OperatorGroups,
            SectionName::WorkspaceRoleAssignments,
        ],
    },
    SectionInfo {
        name: SectionName::DefenderPortal,
        api: Api::Arm,
        call: "derived from defender_service_principals, workspace_role_assignments and alert_rules (no call of its own; overridable with --config defender_portal)",
        api_version: "2022-04-01",
        permission: "what its inputs need: Application.Read.All, Reader on the workspace (Microsoft.Authorization/roleAssignments/read), Microsoft Sentinel Reader",
        grant: ARM_READER,
        since_schema: 2,
        derived_from: &[
            SectionName::DefenderServicePrincipals,
            SectionName::WorkspaceRoleAssignments,
            SectionName::AlertRules,
        ],
    },
];

/// The table's entry of a section (every section has one: a test says so).
pub fn section(name: SectionName) -> &'static SectionInfo {
    SECTIONS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("the API table lacks section {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_complete() {
        use strum::VariantArray;
        let mut names: Vec<_> = SECTIONS.iter().map(|s| s.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for name in SectionName::VARIANTS {
            assert_eq!(section(*name).name, *name);
        }
        for s in SECTIONS {
            assert!(!s.permission.is_empty() && !s.grant.is_empty() && !s.call.is_empty());
        }
    }
}
