//! Scenario tenants, each built from Microsoft's example payloads. `ready` passes every
//! control; the others change exactly what their name says.

use super::{fixture, fixture_items, Directory, Reply, Route};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub mod portal;

pub const SUB: &str = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0";
/// The tenant: the id of the published /organization example.
pub const TENANT: &str = "84841066-274d-4ec0-a5c1-276be684bdd3";
/// The operator: the id of the published /me example.
pub const OPERATOR: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
pub const OPERATOR_UPN: &str = "AdeleV@contoso.com";
pub const CUSTOMER_ID: &str = "5b02755b-5bf4-430c-9487-45502a2a7e62";
pub const XDR_CONTENT_ID: &str = "azuresentinel.azure-sentinel-solution-microsoft365defender";
pub const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const SENTINEL_READER: &str = "8d289c81-5878-46d4-8554-54e1e3d8b5cb";
pub const GROUP: &str = "0e226165-c685-41ce-8bfc-df8360ab325d";
pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Service plans of "Microsoft 365 GCC G5" (M365_G5_GCC, skuId
/// e2be619b-b125-455f-8660-fb503e431a5d) that matter to Defender XDR, as Microsoft's "Product
/// names and service plan identifiers for licensing" lists them
/// (https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference).
pub const M365_G5_GCC_DEFENDER_PLANS: &[(&str, &str)] = &[
    ("bf28f719-7844-4079-9c78-c1307898e192", "MTP"),
    ("493ff600-6a2b-4db6-ad37-a7d4eb214516", "ATP_ENTERPRISE_GOV"),
    (
        "900018f1-0cdb-4ecb-94d4-90281760fdc6",
        "THREAT_INTELLIGENCE_GOV",
    ),
    ("871d91ec-ec1a-452b-a83f-bd76c7d770ef", "WINDEFATP"),
    (
        "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2",
        "ADALLOM_S_STANDALONE",
    ),
    ("14ab5db5-e6c4-4b20-b4bc-13e36fd2227f", "ATA"),
];

/// The default `required_tables` of XDR-EVT-01.
pub const REQUIRED_TABLES: &[&str] = &[
    "DeviceInfo",
    "DeviceNetworkInfo",
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceLogonEvents",
    "DeviceImageLoadEvents",
    "DeviceEvents",
    "DeviceFileCertificateInfo",
    "EmailAttachmentInfo",
    "EmailEvents",
    "EmailPostDeliveryEvents",
    "EmailUrlInfo",
    "UrlClickEvents",
    "IdentityDirectoryEvents",
    "IdentityLogonEvents",
    "IdentityQueryEvents",
    "CloudAppEvents",
    "AlertInfo",
    "AlertEvidence",
];

pub fn workspace_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace")
}

fn si() -> String {
    format!("{}/providers/Microsoft.SecurityInsights", workspace_id())
}

/// Every path the collector should call, as a test writes it.
pub mod paths {
    use super::*;
    pub fn organization() -> String {
        "/v1.0/organization".into()
    }
    pub fn skus() -> String {
        "/v1.0/subscribedSkus".into()
    }
    pub const SELECT: &str = "$select=id,userPrincipalName,userType,displayName";
    pub fn me() -> String {
        format!("/v1.0/me?{SELECT}")
    }
    pub fn user(id_or_upn: &str) -> String {
        format!("/v1.0/users/{id_or_upn}?{SELECT}")
    }
    pub fn groups(id: &str) -> String {
        format!("/v1.0/users/{id}/transitiveMemberOf/microsoft.graph.group?$select=id,isAssignableToRole")
    }
    /// The operator's groups as the advanced query Graph documents for an OData cast
    /// (`$count=true`, sent with `ConsistencyLevel: eventual`); `who` is `me`, an object id or
    /// a UPN (`GET /users/{id | userPrincipalName}/transitiveMemberOf`,
    /// microsoft-graph-docs-contrib api-reference/v1.0/api/user-list-transitivememberof.md).
    pub fn groups_advanced(who: &str) -> String {
        let base = if who == "me" {
            "/v1.0/me".to_string()
        } else {
            format!("/v1.0/users/{who}")
        };
        format!("{base}/transitiveMemberOf/microsoft.graph.group?$count=true&$select=id,isAssignableToRole")
    }
    /// Active assignments of any of `principals` (the operator and their groups) in one read.
    pub fn role_assignments_in(principals: &[&str]) -> String {
        format!(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId in ({})",
            quoted(principals)
        )
    }
    pub fn eligibilities_in(principals: &[&str]) -> String {
        format!(
            "/v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=principalId in ({})",
            quoted(principals)
        )
    }
    fn quoted(ids: &[&str]) -> String {
        ids.iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    }
    /// Everyone's active assignments of one role (`roleDefinitionId eq`, documented for the
    /// list: api-reference/v1.0/api/rbacapplication-list-roleassignments.md).
    pub fn role_holders(role: &str) -> String {
        format!(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{role}'"
        )
    }
    pub fn role_assignments(id: &str) -> String {
        format!("/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'")
    }
    pub fn eligibilities(id: &str) -> String {
        format!(
            "/v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '{id}'"
        )
    }
    pub fn sensors() -> String {
        "/v1.0/security/identities/sensors".into()
    }
    pub fn health_issues() -> String {
        "/v1.0/security/identities/healthIssues?$filter=status eq 'open'".into()
    }
    pub fn subscription() -> String {
        format!("/subscriptions/{SUB}?api-version=2022-12-01")
    }
    pub fn workspace() -> String {
        format!("{}?api-version=2025-02-01", workspace_id())
    }
    pub fn tables() -> String {
        format!("{}/tables?api-version=2025-02-01", workspace_id())
    }
    pub fn onboarding() -> String {
        format!("{}/onboardingStates?api-version=2025-12-01", si())
    }
    pub fn connectors() -> String {
        format!("{}/dataConnectors?api-version=2025-10-01-preview", si())
    }
    pub fn alert_rules() -> String {
        format!("{}/alertRules?api-version=2025-12-01", si())
    }
    pub fn content_packages() -> String {
        format!("{}/contentPackages?api-version=2025-12-01", si())
    }
    pub fn content_catalog() -> String {
        format!("{}/contentProductPackages?api-version=2025-12-01&$filter=properties/contentId eq '{XDR_CONTENT_ID}'", si())
    }
    pub fn settings() -> String {
        format!("{}/settings?api-version=2025-10-01-preview", si())
    }
    pub fn check_requirements() -> String {
        format!(
            "{}/dataConnectorsCheckRequirements?api-version=2025-10-01-preview",
            si()
        )
    }
    pub fn permissions() -> String {
        format!(
            "{}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
            workspace_id()
        )
    }
    pub fn assigned_to(id: &str) -> String {
        format!("{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=assignedTo('{id}')", workspace_id())
    }
    pub fn at_scope() -> String {
        format!("{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", workspace_id())
    }
    pub fn role_definition(guid: &str) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}?api-version=2022-04-01",
            workspace_id()
        )
    }
    pub fn query() -> String {
        format!("/v1/workspaces/{CUSTOMER_ID}/query")
    }
}

/// A tenant: route → answers.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub routes: BTreeMap<(String, String), Route>,
    /// Role assignments and eligibilities answered for any documented `$filter` no route
    /// matches (see [`Directory`]).
    pub directory: Option<Directory>,
    /// Answer an OData cast on a membership list sent without `ConsistencyLevel: eventual`
    /// and `$count=true` with Graph's 400 `Request_UnsupportedQuery`. On in every scenario;
    /// a scenario may turn it off to model Graph answering a cast without the header.
    pub strict_advanced_queries: bool,
}

impl Tenant {
    pub fn get(&mut self, path: String, replies: Vec<Reply>) -> &mut Self {
        self.routes
            .insert(("GET".into(), path), Route::Replies(replies));
        self
    }
    pub fn post(&mut self, path: String, replies: Vec<Reply>) -> &mut Self {
        self.routes
            .insert(("POST".into(), path), Route::Replies(replies));
        self
    }
    pub fn list(&mut self, path: String, items: Vec<Value>) -> &mut Self {
        self.get(path, vec![Reply::ok(json!({"value": items}))])
    }
    /// Serve a list over `pages` pages, linked by nextLink / @odata.nextLink.
    pub fn pages(&mut self, path: String, items: Vec<Value>, pages: usize) -> &mut Self {
        let graph = path.starts_with("/v1.0/");
        self.routes.insert(
            ("GET".into(), path),
            Route::Pages {
                items,
                pages,
                graph,
            },
        );
        self
    }
    /// The items a list route serves (for scenarios that alter them).
    pub fn items(&self, path: &str) -> Vec<Value> {
        match self.routes.get(&("GET".to_string(), path.to_string())) {
            Some(Route::Pages { items, .. }) => items.clone(),
            Some(Route::Replies(r)) => match &r.last().map(|r| &r.body) {
                Some(super::Body::Json(v)) => v["value"].as_array().cloned().unwrap_or_default(),
                _ => vec![],
            },
            None => vec![],
        }
    }

    /// Everything in order: licensed, operator is a member Global/Security admin, Sentinel on,
    /// solution current, MDI healthy, connector on with incidents and alerts, data flowing.
    pub fn ready() -> Tenant {
        let mut t = Tenant {
            routes: BTreeMap::new(),
            directory: None,
            strict_advanced_queries: true,
        };
        let mut directory = Directory::default();

        // Graph
        t.list(
            paths::organization(),
            fixture_items("graph/organization.list.v1.json"),
        );
        let mut skus = fixture_items("graph/subscribedSkus.list.v1.json");
        let plans = skus[0]["servicePlans"].as_array_mut().unwrap();
        for (id, name) in [
            ("bf28f719-7844-4079-9c78-c1307898e192", "MTP"),
            ("871d91ec-ec1a-452b-a83f-bd76c7d770ef", "WINDEFATP"),
            (
                "8e0c0a52-6a6c-4d40-8370-dd62790dcd70",
                "THREAT_INTELLIGENCE",
            ),
            ("14ab5db5-e6c4-4b20-b4bc-13e36fd2227f", "ATA"),
            (
                "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2",
                "ADALLOM_S_STANDALONE",
            ),
        ] {
            plans.push(json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"}));
        }
        t.list(paths::skus(), skus);
        let mut me = fixture("graph/me.get.v1.json");
        me["userType"] = json!("Member");
        t.get(paths::me(), vec![Reply::ok(me.clone())]);
        t.get(paths::user(OPERATOR), vec![Reply::ok(me.clone())]);
        t.get(paths::user(OPERATOR_UPN), vec![Reply::ok(me)]);
        for id in [OPERATOR] {
            let mut ras = fixture_items(
                "graph/roleManagement.directory.roleAssignments.list.byPrincipal.v1.json",
            );
            for r in &mut ras {
                r["principalId"] = json!(id);
            }
            ras[1]["roleDefinitionId"] = json!(SECURITY_ADMIN);
            directory.role_assignments.extend(ras.iter().cloned());
            t.list(paths::role_assignments(id), ras);
            let mut els = fixture_items(
                "graph/roleManagement.directory.roleEligibilitySchedules.list.v1.json",
            );
            for e in &mut els {
                e["principalId"] = json!(id);
            }
            directory.role_eligibilities.extend(els.iter().cloned());
            t.list(paths::eligibilities(id), els);
        }
        t.directory = Some(directory);
        t.operator_groups(vec![json!({"@odata.type": "#microsoft.graph.group", "id": GROUP, "isAssignableToRole": true})]);
        t.list(
            paths::sensors(),
            fixture_items("graph/security.identities.sensors.list.beta.json"),
        );
        t.list(
            paths::health_issues(),
            fixture_items("graph/security.identities.healthIssues.list.beta.json"),
        );

        // ARM
        let mut sub = fixture("resources/GetSubscription.2022-12-01.json");
        sub["id"] = json!(format!("/subscriptions/{SUB}"));
        sub["subscriptionId"] = json!(SUB);
        sub["tenantId"] = json!(TENANT);
        t.get(paths::subscription(), vec![Reply::ok(sub)]);
        let mut ws = fixture("operationalinsights/WorkspacesGet.2025-02-01.json");
        ws["id"] = json!(workspace_id());
        ws["name"] = json!("myWorkspace");
        ws["properties"]["retentionInDays"] = json!(90);
        t.get(paths::workspace(), vec![Reply::ok(ws)]);
        t.list(
            paths::tables(),
            REQUIRED_TABLES
                .iter()
                .map(|n| table(n, "Analytics", 90, 90))
                .collect(),
        );
        t.list(
            paths::onboarding(),
            fixture_items(
                "securityinsights/onboardingStates/GetAllSentinelOnboardingStates.2025-12-01.json",
            ),
        );
        t.list(
            paths::connectors(),
            vec![xdr_connector("Enabled", "Enabled", &[])],
        );
        let mut rules =
            fixture_items("securityinsights/alertRules/GetAllAlertRules.2025-12-01.json");
        rules[1]["properties"]["enabled"] = json!(false);
        t.list(paths::alert_rules(), rules);
        let mut pkgs =
            fixture_items("securityinsights/contentPackages/GetPackages.2025-12-01.json");
        pkgs.push(xdr_package("3.0.18"));
        t.list(paths::content_packages(), pkgs);
        t.list(
            paths::content_catalog(),
            vec![xdr_catalog("3.0.18", Some("3.0.18"))],
        );
        let mut settings =
            fixture_items("securityinsights/settings/GetAllSettings.2025-10-01-preview.json");
        settings.push(setting(
            "EntityAnalytics",
            json!({"entityProviders": ["ActiveDirectory", "AzureActiveDirectory"]}),
        ));
        settings.push(setting(
            "Ueba",
            json!({"dataSources": ["AuditLogs", "AzureActivity", "SecurityEvent", "SigninLogs"]}),
        ));
        t.list(paths::settings(), settings);
        t.post(paths::check_requirements(), vec![Reply::ok(fixture("securityinsights/dataConnectors/CheckRequirementsMicrosoftThreatProtection.2025-07-01-preview.json"))]);
        let mut perms =
            fixture_items("authorization/GetResourcePermissions.2022-05-01-preview.json");
        perms[0]["actions"] = json!(["*"]);
        t.list(paths::permissions(), perms);
        let mut at_scope =
            fixture_items("authorization/RoleAssignments_ListForScope.2022-04-01.json");
        at_scope.push(role_assignment(
            "a1",
            "ce2ce14e-85d7-4629-bdbc-454d0519d987",
            SENTINEL_READER,
            &workspace_id(),
        ));
        t.list(paths::at_scope(), at_scope);
        t.list(
            paths::assigned_to(OPERATOR),
            vec![role_assignment(
                "a2",
                OPERATOR,
                CONTRIBUTOR,
                &format!("/subscriptions/{SUB}"),
            )],
        );
        t.get(
            paths::role_definition(CONTRIBUTOR),
            vec![Reply::ok(contributor_definition())],
        );

        t.add_portal_reads();

        // Log Analytics: fresh rows for every required table, plus Defender incidents and alerts.
        t.post(
            paths::query(),
            vec![Reply::ok(ingestion(REQUIRED_TABLES, 1))],
        );
        t
    }

    /// Nothing in place yet: no license, a guest operator who is only PIM-eligible, Sentinel
    /// off (404), no solution, MDI not provisioned, pre-check invalid, no connector, no data.
    pub fn not_ready() -> Tenant {
        let mut t = Tenant::ready();
        let mut skus = fixture_items("graph/subscribedSkus.list.v1.json");
        skus.truncate(2);
        skus.retain(|s| s["skuPartNumber"] != "ENTERPRISEPREMIUM");
        t.list(paths::skus(), skus);
        let mut me = fixture("graph/me.get.v1.json");
        me["userType"] = json!("Guest");
        t.get(paths::me(), vec![Reply::ok(me)]);
        let mut els =
            fixture_items("graph/roleManagement.directory.roleEligibilitySchedules.list.v1.json");
        els[0]["principalId"] = json!(OPERATOR);
        els[0]["roleDefinitionId"] = json!(SECURITY_ADMIN);
        t.directory_roles(vec![], els);
        t.operator_groups(vec![]);
        t.get(
            paths::onboarding(),
            vec![Reply::error(
                404,
                "NotFound",
                "Resource 'default' not found",
            )],
        );
        t.list(
            paths::content_packages(),
            fixture_items("securityinsights/contentPackages/GetPackages.2025-12-01.json"),
        );
        t.list(paths::content_catalog(), vec![xdr_catalog("3.0.18", None)]);
        t.get(
            paths::sensors(),
            vec![Reply::error(
                400,
                "BadRequest",
                "Microsoft Defender for Identity is not provisioned for this tenant",
            )],
        );
        t.get(
            paths::health_issues(),
            vec![Reply::error(
                400,
                "BadRequest",
                "Microsoft Defender for Identity is not provisioned for this tenant",
            )],
        );
        t.post(
            paths::check_requirements(),
            vec![Reply::ok(
                json!({"authorizationState": "Valid", "licenseState": "Invalid"}),
            )],
        );
        t.list(paths::connectors(), vec![]);
        t.list(
            paths::permissions(),
            vec![json!({"actions": ["*/read"], "notActions": []})],
        );
        t.list(paths::tables(), vec![]);
        t.post(paths::query(), vec![Reply::ok(ingestion(&[], 0))]);
        t
    }

    /// Prerequisites met but the connector set up wrongly: incidents off, providers filtered,
    /// a duplicate incident creation rule, a stale OfficeATP connector, no AD entities, a
    /// Basic-plan table, short retention, a table gone quiet, an outdated solution.
    pub fn misconfigured() -> Tenant {
        let mut t = Tenant::ready();
        let mut office = fixture("securityinsights/dataConnectors/GetOffice365AdvancedThreatProtectionById.2025-10-01-preview.json");
        office["properties"]["tenantId"] = json!(TENANT);
        t.list(
            paths::connectors(),
            vec![
                xdr_connector("Disabled", "Enabled", &["microsoftDefenderForCloudApps"]),
                office,
            ],
        );
        t.list(
            paths::alert_rules(),
            fixture_items("securityinsights/alertRules/GetAllAlertRules.2025-12-01.json"),
        );
        t.list(
            paths::settings(),
            fixture_items("securityinsights/settings/GetAllSettings.2025-10-01-preview.json"),
        );
        let mut tables: Vec<Value> = REQUIRED_TABLES
            .iter()
            .map(|n| table(n, "Analytics", -1, -1))
            .collect();
        tables[0] = table("DeviceInfo", "Basic", 30, 30);
        t.list(paths::tables(), tables);
        let mut ws = fixture("operationalinsights/WorkspacesGet.2025-02-01.json");
        ws["id"] = json!(workspace_id());
        ws["name"] = json!("myWorkspace");
        t.get(paths::workspace(), vec![Reply::ok(ws)]);
        let mut pkgs =
            fixture_items("securityinsights/contentPackages/GetPackages.2025-12-01.json");
        pkgs.push(xdr_package("3.0.9"));
        t.list(paths::content_packages(), pkgs);
        t.list(
            paths::content_catalog(),
            vec![xdr_catalog("3.0.18", Some("3.0.9"))],
        );
        t.post(
            paths::query(),
            vec![Reply::ok(ingestion(REQUIRED_TABLES, 24 * 30))],
        );
        t
    }

    /// Ready, but throttled: ARM and Log Analytics answer 429/503 with Retry-After first, and
    /// a Graph `$batch` inner request is throttled once.
    pub fn throttled() -> Tenant {
        let mut t = Tenant::ready();
        let ok = |t: &Tenant, p: String| Reply::ok(json!({"value": t.items(&p)}));
        let connectors = ok(&t, paths::connectors());
        t.get(paths::connectors(), vec![Reply::throttled(1), connectors]);
        let orgs = ok(&t, paths::organization());
        t.get(paths::organization(), vec![Reply::throttled(1), orgs]);
        let mut unavailable = Reply::error(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable",
        );
        unavailable.headers.push(("Retry-After".into(), "1".into()));
        t.post(
            paths::query(),
            vec![unavailable, Reply::ok(ingestion(REQUIRED_TABLES, 1))],
        );
        t
    }

    /// Ready, but the audit identity lacks some rights: 403 on Graph role assignments, ARM
    /// alert rules and the Log Analytics query, 401 on the connector pre-check.
    pub fn forbidden() -> Tenant {
        let mut t = Tenant::ready();
        // Without RoleManagement.Read.Directory every filter of the list is refused.
        for path in [
            paths::role_assignments(OPERATOR),
            paths::role_holders(SECURITY_ADMIN),
            paths::role_holders(GLOBAL_ADMIN),
        ] {
            t.get(
                path,
                vec![Reply::error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                )],
            );
        }
        t.get(paths::alert_rules(), vec![Reply::error(403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.SecurityInsights/alertRules/read'")]);
        t.post(
            paths::query(),
            vec![Reply::json(
                403,
                fixture("errors/loganalytics.403.InsufficientAccessError.json"),
            )],
        );
        t.post(
            paths::check_requirements(),
            vec![Reply::json(
                401,
                fixture("errors/arm.securityinsights.InvalidLicense.MissingConsent.json"),
            )],
        );
        t
    }

    /// Ready, but every list spans three pages and the item that decides the control is on
    /// the last page.
    pub fn paged() -> Tenant {
        let mut t = Tenant::ready();
        let filler = |n: usize, f: &dyn Fn(usize) -> Value| (0..n).map(f).collect::<Vec<_>>();
        // Graph
        let mut skus = filler(4, &|i| {
            let mut s = fixture_items("graph/subscribedSkus.list.v1.json")[1].clone();
            s["skuId"] = json!(format!("00000000-0000-0000-0000-00000000000{i}"));
            s
        });
        skus.extend(t.items(&paths::skus()));
        t.pages(paths::skus(), skus, 3);
        let mut ras = filler(
            4,
            &|i| json!({"id": format!("filler-{i}"), "principalId": OPERATOR, "directoryScopeId": "/", "roleDefinitionId": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}),
        );
        ras.extend(t.items(&paths::role_assignments(OPERATOR)));
        t.pages(paths::role_assignments(OPERATOR), ras, 3);
        // Read by role, the operator's Security Administrator assignment follows other holders'.
        let mut holders = filler(
            4,
            &|i| json!({"id": format!("other-{i}"), "principalId": format!("00000000-0000-0000-0000-00000000000{i}"), "directoryScopeId": "/", "roleDefinitionId": SECURITY_ADMIN}),
        );
        holders.extend(
            t.items(&paths::role_assignments(OPERATOR))
                .into_iter()
                .filter(|a| a["roleDefinitionId"] == SECURITY_ADMIN),
        );
        t.pages(paths::role_holders(SECURITY_ADMIN), holders, 3);
        let groups = filler(
            5,
            &|i| json!({"@odata.type": "#microsoft.graph.group", "id": format!("00000000-0000-0000-0000-0000000000g{i}"), "isAssignableToRole": false}),
        );
        for who in ["me", OPERATOR, OPERATOR_UPN] {
            t.pages(paths::groups_advanced(who), groups.clone(), 3);
        }
        let mut sensors = t.items(&paths::sensors());
        for i in 0..4 {
            let mut s = sensors[0].clone();
            s["id"] = json!(format!("sensor-{i}"));
            sensors.insert(0, s);
        }
        t.pages(paths::sensors(), sensors, 3);
        // ARM
        let mut connectors = filler(4, &|i| {
            let mut c = fixture("securityinsights/dataConnectors/GetMicrosoftThreatProtectionById.2025-10-01-preview.json");
            c["kind"] = json!("AzureActiveDirectory");
            c["name"] = json!(format!("aad-{i}"));
            c["id"] = json!(format!("{}/dataConnectors/aad-{i}", si()));
            c
        });
        connectors.extend(t.items(&paths::connectors()));
        t.pages(paths::connectors(), connectors, 3);
        let mut pkgs = filler(4, &|i| {
            let mut p =
                fixture_items("securityinsights/contentPackages/GetPackages.2025-12-01.json")[0]
                    .clone();
            p["name"] = json!(format!("other-{i}"));
            p["properties"]["contentId"] = json!(format!("other-{i}"));
            p
        });
        pkgs.push(xdr_package("3.0.18"));
        t.pages(paths::content_packages(), pkgs, 3);
        let rules = t.items(&paths::alert_rules());
        t.pages(paths::alert_rules(), rules, 3);
        let mut at_scope = filler(4, &|i| {
            role_assignment(
                &format!("f{i}"),
                "ce2ce14e-85d7-4629-bdbc-454d0519d987",
                "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                &workspace_id(),
            )
        });
        at_scope.extend(t.items(&paths::at_scope()));
        t.pages(paths::at_scope(), at_scope, 3);
        let mut perms = vec![
            json!({"actions": ["Microsoft.OperationalInsights/workspaces/read"], "notActions": []});
            4
        ];
        perms.extend(t.items(&paths::permissions()));
        t.pages(paths::permissions(), perms, 3);
        t
    }

    /// Ready, but some answers are broken: the workspace body is not JSON, the tables list
    /// is not a list, a Graph inner body lacks required fields, a query cell is not a number.
    pub fn malformed() -> Tenant {
        let mut t = Tenant::ready();
        t.get(
            paths::workspace(),
            vec![Reply::raw(200, "{\"properties\": {\"customerId\": ")],
        );
        t.get(paths::tables(), vec![Reply::ok(json!({"value": "oops"}))]);
        t.list(
            paths::sensors(),
            vec![json!({"id": "s1", "displayName": "DC1"})],
        );
        t.get(
            paths::settings(),
            vec![Reply::raw(200, "<html>Service Unavailable</html>")],
        );
        t
    }

    /// Replace the tenant's directory roles; the operator's direct-only routes
    /// (`principalId eq '{operator}'`) answer the items whose principal is the operator.
    pub fn directory_roles(
        &mut self,
        assignments: Vec<Value>,
        eligibilities: Vec<Value>,
    ) -> &mut Self {
        let own = |items: &[Value]| -> Vec<Value> {
            items
                .iter()
                .filter(|a| a["principalId"] == OPERATOR)
                .cloned()
                .collect()
        };
        self.list(paths::role_assignments(OPERATOR), own(&assignments));
        self.list(paths::eligibilities(OPERATOR), own(&eligibilities));
        self.directory = Some(Directory {
            role_assignments: assignments,
            role_eligibilities: eligibilities,
        });
        self
    }

    /// The operator's groups, served as the documented advanced query (for `me`, the
    /// operator's id and UPN).
    fn operator_groups(&mut self, groups: Vec<Value>) -> &mut Self {
        for who in ["me", OPERATOR, OPERATOR_UPN] {
            self.list(paths::groups_advanced(who), groups.clone());
        }
        self
    }

    /// Security Administrator held through a role-assignable group only (active). Graph's
    /// `principalId eq '{operator}'` is direct-only, so it answers no assignment; the group's
    /// assignment is answered to `principalId in ('{operator}','{group}')` (or a filter on
    /// `roleDefinitionId`). Advanced queries are strict. Every control passes once the
    /// collector reads the group's assignments.
    pub fn group_held_role() -> Tenant {
        let mut t = Tenant::ready();
        t.strict_advanced_queries = true;
        t.operator_groups(vec![json!({"@odata.type": "#microsoft.graph.group", "id": GROUP, "isAssignableToRole": true})]);
        t.directory_roles(
            vec![directory_role("group-sa-active", GROUP, SECURITY_ADMIN)],
            vec![],
        );
        t
    }

    /// As [`Tenant::group_held_role`], but the group is only PIM-eligible for Security
    /// Administrator (PIM for Groups / eligible group assignment): XDR-ID-02 fails and asks to
    /// activate it.
    pub fn group_eligible_role() -> Tenant {
        let mut t = Tenant::group_held_role();
        t.directory_roles(
            vec![],
            vec![directory_role("group-sa-eligible", GROUP, SECURITY_ADMIN)],
        );
        t
    }

    /// Ready, with the operator's groups served only as the documented advanced query (as in
    /// every scenario now): the plain OData-cast read gets Graph's 400 `Request_UnsupportedQuery`.
    pub fn strict_group_read() -> Tenant {
        let mut t = Tenant::ready();
        t.strict_advanced_queries = true;
        t
    }

    /// The tenant was never onboarded to Defender for Identity: both MDI calls answer 403
    /// `Forbidden` "Tenant is not onboarded to Microsoft Defender for Identity" (observed on a
    /// real tenant: microsoft/zerotrustassessment PR #1352 and
    /// src/powershell/tests/Test-Assessment.41018.ps1, which tells it from a missing
    /// permission by this body). XDR-MDI-01 fails; XDR-MDI-02 is blocked by it.
    pub fn mdi_not_onboarded() -> Tenant {
        let mut t = Tenant::ready();
        let body = Reply::error(
            403,
            "Forbidden",
            "Tenant is not onboarded to Microsoft Defender for Identity",
        );
        t.get(paths::sensors(), vec![body.clone()]);
        t.get(paths::health_issues(), vec![body]);
        t
    }

    /// The audit identity lacks the MDI permissions: both MDI calls answer the other 403,
    /// code `UnknownError` with an empty message (same sources as
    /// [`Tenant::mdi_not_onboarded`]). XDR-MDI-01 and XDR-MDI-02 are `error`.
    pub fn mdi_forbidden() -> Tenant {
        let mut t = Tenant::ready();
        let body = Reply::error(403, "UnknownError", "");
        t.get(paths::sensors(), vec![body.clone()]);
        t.get(paths::health_issues(), vec![body]);
        t
    }

    /// The E5 subscription lapsed and is in its grace period: capabilityStatus `Warning`,
    /// its units moved from prepaidUnits.enabled to prepaidUnits.warning ("The number of
    /// units that are in warning status. When the subscription of the service SKU has
    /// expired, the customer has a grace period to renew", Graph licenseUnitsDetail). Every
    /// control passes; XDR-LIC-01 notes the grace period.
    pub fn grace_period() -> Tenant {
        let mut t = Tenant::ready();
        let mut skus = t.items(&paths::skus());
        skus[0]["capabilityStatus"] = json!("Warning");
        skus[0]["prepaidUnits"] =
            json!({"enabled": 0, "lockedOut": 0, "suspended": 0, "warning": 25});
        t.list(paths::skus(), skus);
        t
    }

    /// A US Government (GCC) tenant licensed with Microsoft 365 GCC G5, whose Defender for
    /// Office 365 plan is THREAT_INTELLIGENCE_GOV, not THREAT_INTELLIGENCE. Collected with
    /// `--cloud usgov`, every control passes.
    pub fn gcc() -> Tenant {
        let mut t = Tenant::ready();
        let mut sku = fixture_items("graph/subscribedSkus.list.v1.json")[0].clone();
        sku["skuId"] = json!("e2be619b-b125-455f-8660-fb503e431a5d");
        sku["skuPartNumber"] = json!("M365_G5_GCC");
        sku["servicePlans"] = M365_G5_GCC_DEFENDER_PLANS
            .iter()
            .map(|(id, name)| json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"}))
            .collect();
        t.list(paths::skus(), vec![sku]);
        t
    }

    /// Ready, but ARM answers every resource ID in lowercase (as `az` prints them); requests
    /// in any case match (see [`super::route_key`]). Every control passes.
    pub fn lowercase_ids() -> Tenant {
        let mut t = Tenant::ready();
        let lower_ids = |v: &mut Value| lowercase_id_fields(v);
        for p in [
            paths::tables(),
            paths::connectors(),
            paths::alert_rules(),
            paths::content_packages(),
            paths::content_catalog(),
            paths::settings(),
            paths::at_scope(),
            paths::assigned_to(OPERATOR),
        ] {
            let mut items = t.items(&p);
            items.iter_mut().for_each(lower_ids);
            t.list(p, items);
        }
        for p in [paths::workspace(), paths::subscription()] {
            if let Some(Route::Replies(r)) = t.routes.get(&("GET".to_string(), p.clone())) {
                let mut r = r.clone();
                for reply in &mut r {
                    if let super::Body::Json(v) = &mut reply.body {
                        lowercase_id_fields(v);
                    }
                }
                t.get(p, r);
            }
        }
        t
    }

    /// Microsoft's pre-check answers licenseState `Unknown`, a value the spec lists without
    /// giving it a meaning: XDR-REQ-01 is `error` (could not determine), not `fail`.
    pub fn license_state_unknown() -> Tenant {
        let mut t = Tenant::ready();
        t.post(
            paths::check_requirements(),
            vec![Reply::ok(
                json!({"authorizationState": "Valid", "licenseState": "Unknown"}),
            )],
        );
        t
    }

    /// A sensor whose domain controller was deleted: deploymentStatus `unreachable` ("You can
    /// safely delete this entry", Graph security sensor resource). Every control passes;
    /// XDR-MDI-02 notes the entry.
    pub fn unreachable_sensor() -> Tenant {
        let mut t = Tenant::ready();
        let mut sensors = t.items(&paths::sensors());
        let mut gone = sensors[0].clone();
        gone["id"] = json!("5ac2e7b0-6b2f-4c8e-9f3a-2d1e0c9b8a77");
        gone["displayName"] = json!("DC2");
        gone["deploymentStatus"] = json!("unreachable");
        gone["healthStatus"] = json!("notHealthyHigh");
        sensors.push(gone);
        t.list(paths::sensors(), sensors);
        t
    }
}

/// A tenant-wide directory role assignment or eligibility (unifiedRoleAssignment shape).
fn directory_role(id: &str, principal: &str, role: &str) -> Value {
    json!({"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/", "status": "Provisioned"})
}

/// Lowercase every `id` (and `properties.scope`, `properties.roleDefinitionId`) below `v`.
fn lowercase_id_fields(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s)
                        if ["id", "scope", "roleDefinitionId"].contains(&k.as_str())
                            && s.starts_with('/') =>
                    {
                        *s = s.to_ascii_lowercase();
                    }
                    _ => lowercase_id_fields(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(lowercase_id_fields),
        _ => {}
    }
}

fn table(name: &str, plan: &str, retention: i64, total: i64) -> Value {
    let mut t = fixture_items("operationalinsights/TablesList.2025-02-01.json")[0].clone();
    t["name"] = json!(name);
    t["id"] = json!(format!("{}/tables/{name}", workspace_id()));
    t["properties"]["schema"]["name"] = json!(name);
    t["properties"]["plan"] = json!(plan);
    t["properties"]["retentionInDays"] = json!(retention);
    t["properties"]["totalRetentionInDays"] = json!(total);
    t["properties"]["retentionInDaysAsDefault"] = json!(retention == -1);
    t
}

fn xdr_connector(incidents: &str, alerts: &str, filtered: &[&str]) -> Value {
    let mut c = fixture(
        "securityinsights/dataConnectors/GetMicrosoftThreatProtectionById.2025-10-01-preview.json",
    );
    c["id"] = json!(format!(
        "{}/dataConnectors/c345bf40-8509-4ed2-b947-50cb773aaf04",
        si()
    ));
    c["properties"]["tenantId"] = json!(TENANT);
    c["properties"]["dataTypes"]["incidents"]["state"] = json!(incidents);
    c["properties"]["dataTypes"]["alerts"]["state"] = json!(alerts);
    c["properties"]["filteredProviders"]["alerts"] = json!(filtered);
    c
}

fn xdr_package(version: &str) -> Value {
    let mut p =
        fixture_items("securityinsights/contentPackages/GetPackages.2025-12-01.json")[0].clone();
    p["id"] = json!(format!("{}/contentPackages/{XDR_CONTENT_ID}", si()));
    p["name"] = json!(XDR_CONTENT_ID);
    p["properties"]["contentId"] = json!(XDR_CONTENT_ID);
    p["properties"]["contentProductId"] = json!(format!("{XDR_CONTENT_ID}-sl-abc"));
    p["properties"]["displayName"] = json!("Microsoft Defender XDR");
    p["properties"]["version"] = json!(version);
    p
}

fn xdr_catalog(version: &str, installed: Option<&str>) -> Value {
    let mut p =
        fixture_items("securityinsights/contentProductPackages/GetProductPackages.2025-12-01.json")
            [0]
        .clone();
    p["id"] = json!(format!("{}/contentProductPackages/{XDR_CONTENT_ID}", si()));
    p["name"] = json!(XDR_CONTENT_ID);
    p["properties"]["contentId"] = json!(XDR_CONTENT_ID);
    p["properties"]["displayName"] = json!("Microsoft Defender XDR");
    p["properties"]["version"] = json!(version);
    p["properties"]["installedVersion"] = json!(installed);
    p
}

fn setting(kind: &str, properties: Value) -> Value {
    json!({
        "id": format!("{}/settings/{kind}", si()),
        "name": kind,
        "type": "Microsoft.SecurityInsights/settings",
        "kind": kind,
        "properties": properties,
    })
}

pub fn role_assignment(name: &str, principal: &str, role: &str, scope: &str) -> Value {
    let mut a =
        fixture_items("authorization/RoleAssignments_ListForScope.2022-04-01.json")[0].clone();
    a["id"] = json!(format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    ));
    a["name"] = json!(name);
    a["properties"]["principalId"] = json!(principal);
    a["properties"]["roleDefinitionId"] = json!(format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    ));
    a["properties"]["scope"] = json!(scope);
    a
}

fn contributor_definition() -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"),
        "name": CONTRIBUTOR,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": "Contributor",
            "type": "BuiltInRole",
            "description": "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": ["*"],
                "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"],
                "dataActions": [],
                "notDataActions": []
            }]
        }
    })
}

/// A query answer shaped like the published one: a row per table, `age_hours` old. Every
/// other row count arrives as a string, as the API may send it.
pub fn ingestion(tables: &[&str], age_hours: i64) -> Value {
    let when = (chrono::Utc::now() - chrono::Duration::hours(age_hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut rows: Vec<Value> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 2 == 0 {
                json!([t, when, 1200 + i])
            } else {
                json!([t, when, format!("{}", 1200 + i)])
            }
        })
        .collect();
    let (inc, alerts) = if tables.is_empty() {
        (
            json!(["SecurityIncident", null, 0]),
            json!(["SecurityAlert", null, "0"]),
        )
    } else {
        (
            json!(["SecurityIncident", when, 17]),
            json!(["SecurityAlert", when, "240"]),
        )
    };
    rows.push(inc);
    rows.push(alerts);
    let mut v = fixture("loganalytics-query/response-format.doc.json");
    v["tables"][0]["columns"] = json!([
        {"name": "TableName", "type": "string"},
        {"name": "LastReceived", "type": "datetime"},
        {"name": "Rows", "type": "long"}
    ]);
    v["tables"][0]["rows"] = Value::Array(rows);
    v
}
