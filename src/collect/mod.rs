//! Live collection: read the tenant (Graph), the workspace (ARM) and its ingestion (Log
//! Analytics) and write the facts document. Knows nothing of policies: the tables to query
//! come in as plain data.
//!
//! Everything independent starts at once; Graph GETs share `$batch`es; a call that needs
//! another's answer (operator id → groups and roles, workspace → customerId → query,
//! subscription → tenant → connector pre-check) starts as soon as that answer arrives.
//! A failed call becomes that section's error; collection itself never fails.

pub mod arm;
pub mod auth;
pub mod cloud;
mod derived;
pub mod graph;
pub mod http;
pub mod log_analytics;
pub mod norm;
pub mod portal;
pub mod progress;
pub mod redact;
pub mod secrets;

use crate::facts::apis::{self, Api};
use crate::facts::sections::{MdiSensors, OperatorSource, WorkspacePermissions};
use crate::facts::{
    is_guid, FactsDocument, Section, SectionData, SectionError, SectionName, Target, ToolInfo,
    WorkspaceRef,
};
use futures::future::join_all;
use graph::GraphGet;
use http::{CallError, ErrorCode, Http};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// What to collect.
#[derive(Debug, Clone)]
pub struct Options {
    pub workspace: WorkspaceRef,
    /// UPN or object id; `None` = the signed-in user (`/me`).
    pub operator: Option<String>,
    /// Tables whose ingestion the query reports (from the policy params, via the CLI).
    pub required_tables: Vec<String>,
    /// How far back the ingestion query looks (the longest age a policy judges, via the CLI).
    pub ingestion_lookback: chrono::Duration,
    /// Directory role template ids whose assignments and eligibilities to read (the policy
    /// params, via the CLI).
    pub accepted_roles: Vec<String>,
    pub redact: bool,
}

type Res = Result<Value, CallError>;

/// One section's outcome and the call that produced it.
struct Got {
    name: SectionName,
    result: Result<SectionData, CallError>,
    call: String,
}

fn got<T>(
    name: SectionName,
    result: Result<T, CallError>,
    data: fn(T) -> SectionData,
    call: impl Into<String>,
) -> Got {
    Got {
        name,
        result: result.map(data),
        call: call.into(),
    }
}

/// Collect every section. Never fails: each failure is recorded in its section.
pub async fn collect(http: &Http, opts: &Options) -> FactsDocument {
    let paths = arm::Paths::new(&opts.workspace);
    let (op_tx, op_rx) = oneshot::channel();
    let (tenant_tx, tenant_rx) = oneshot::channel();
    let (graph, arm_lists, (sub, req), (ws, ing), perms) = futures::join!(
        graph_sections(http, opts, op_tx, tenant_tx),
        arm_lists(http, &paths),
        subscription_and_requirements(http, &paths, tenant_rx),
        workspace_and_ingestion(http, &paths, &opts.required_tables, opts.ingestion_lookback),
        workspace_permissions(http, &paths, opts, op_rx),
    );
    let tenant_id = match &sub.result {
        Ok(SectionData::Subscription(s)) => Some(s.tenant_id.clone()),
        _ => graph.iter().find_map(|g| match &g.result {
            Ok(SectionData::Tenant(t)) => Some(t.id.clone()),
            _ => None,
        }),
    };

    let mut sections = BTreeMap::new();
    for g in graph
        .into_iter()
        .chain(arm_lists)
        .chain([sub, req, ws, ing, perms])
    {
        let section = match g.result {
            Ok(data) => {
                debug_assert_eq!(data.name(), g.name, "data filed under another section");
                Section::from(data)
            }
            Err(e) => Section::Error(section_error(g.name, e, g.call, http)),
        };
        sections.insert(g.name, section);
    }
    derived::add(&mut sections);
    let mut doc = FactsDocument {
        schema_version: crate::facts::SCHEMA_VERSION,
        collected_at: chrono::Utc::now(),
        tool: Some(ToolInfo::current()),
        target: Target {
            workspace_id: opts.workspace.id.clone(),
            tenant_id,
            cloud: Some(http.endpoints.cloud.as_str().to_string()),
            operator: opts.operator.clone(),
            redacted: false,
        },
        sections,
    };
    scrub(&mut doc);
    if opts.redact {
        redact::facts(&mut doc);
    }
    doc
}

/// Every field of the facts, scrubbed of every secret held: whatever a server echoed
/// (a display name, an error code, a nextLink in a message) never reaches a file or report.
fn scrub(doc: &mut FactsDocument) {
    use secrets::scrub_string;
    let t = &mut doc.target;
    for s in [&mut t.tenant_id, &mut t.operator, &mut t.cloud]
        .into_iter()
        .flatten()
    {
        scrub_string(s);
    }
    for section in doc.sections.values_mut() {
        match section {
            Section::Data(v) => secrets::scrub_value(v),
            Section::Error(e) => {
                scrub_string(&mut e.code);
                scrub_string(&mut e.message);
                for s in [&mut e.call, &mut e.permission, &mut e.grant]
                    .into_iter()
                    .flatten()
                {
                    scrub_string(s);
                }
            }
        }
    }
}

/// The error of a section, with the permission that would allow the read and how to grant it.
fn section_error(name: SectionName, e: CallError, call: String, http: &Http) -> SectionError {
    let info = apis::section(name);
    let mut message = http.scrub(&e.message);
    // Nothing was refused (no connection, no sign-in, an answer that could not tell, or one
    // over xdrguard's own limits): no permission to grant.
    if e.code.is_limit()
        || matches!(
            e.code,
            ErrorCode::ConnectionFailed
                | ErrorCode::AuthenticationFailed
                | ErrorCode::LicenseStateUnknown
        )
    {
        return SectionError {
            code: e.code.to_string(),
            message,
            status: e.status,
            permission: None,
            call: Some(call),
            grant: None,
        };
    }
    // Only for the call's own 403, not for one inherited from the operator lookup.
    if !e.code.is_inherited() && e.status == Some(403) && info.api == Api::Graph {
        message.push_str(" (Graph answers 403 for a missing permission or a missing license)");
    }
    SectionError {
        code: e.code.to_string(),
        message,
        status: e.status,
        permission: Some(info.permission.to_string()),
        // As a person reads it: `$filter=principalId eq '{operator id}'`, not `%27%7B…`.
        call: Some(
            percent_encoding::percent_decode_str(&call)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        grant: Some(info.grant.to_string()),
    }
}

/// The Graph sections: tenant, licenses, MDI, the operator and what the operator holds, all
/// in one `$batch` round trip. What the operator holds is read by role, not by principal: a
/// `principalId eq` filter is direct-only ("if a user is assigned a Microsoft Entra role
/// through group membership ... this request will list the group's ID as the principalId",
/// microsoft-graph-docs-contrib api-reference/beta/api/rbacapplication-list-transitiveroleassignments.md),
/// and a filter by the operator's groups would need their ids first (another round trip).
/// `roleDefinitionId eq` is documented for both lists and needs neither; the answers are
/// narrowed to the operator and their role-assignable groups ([`graph::role_assignments`]).
async fn graph_sections(
    http: &Http,
    opts: &Options,
    op_tx: oneshot::Sender<Result<String, CallError>>,
    tenant_tx: oneshot::Sender<Option<String>>,
) -> Vec<Got> {
    let (who, op_source) = match &opts.operator {
        None => ("/me".to_string(), OperatorSource::Me),
        Some(o) => (
            format!("/users/{}", graph::encode(o)),
            OperatorSource::Lookup,
        ),
    };
    let op_path = format!("{who}?{}", graph::OPERATOR_SELECT);
    let groups_path = format!(
        "{who}/transitiveMemberOf/microsoft.graph.group?$count=true&$select=id,isAssignableToRole"
    );
    let mut gets = vec![
        GraphGet::list("/organization"),
        GraphGet::list("/subscribedSkus"),
        GraphGet::one(op_path.clone()),
        GraphGet::list("/security/identities/sensors"),
        GraphGet::list(format!(
            "/security/identities/healthIssues?$filter={}",
            graph::encode("status eq 'open'")
        )),
        GraphGet::advanced_list(groups_path.clone()),
    ];
    let roles = &opts.accepted_roles;
    gets.extend(
        roles
            .iter()
            .map(|r| GraphGet::list(role_path(ROLE_ASSIGNMENTS, r))),
    );
    gets.extend(
        roles
            .iter()
            .map(|r| GraphGet::list(role_path(ROLE_ELIGIBILITIES, r))),
    );
    gets.extend(
        portal::DEFENDER_APPS
            .iter()
            .map(|(app, _)| GraphGet::one(portal::service_principal_path(app))),
    );
    let mut r = graph::batch(http, &gets).await.into_iter();
    let mut next = || {
        r.next()
            .unwrap_or_else(|| Err(CallError::malformed("no answer")))
    };
    let tenant = next().and_then(|v| graph::tenant(&v));
    let _ = tenant_tx.send(tenant.as_ref().ok().map(|t| t.id.clone()));
    let mut out = vec![
        got(
            SectionName::Tenant,
            tenant,
            SectionData::Tenant,
            batched_call(&gets[0].path),
        ),
        got(
            SectionName::Licenses,
            next().and_then(|v| graph::licenses(&v)),
            SectionData::Licenses,
            batched_call(&gets[1].path),
        ),
    ];
    let operator = next()
        .and_then(|v| graph::operator(&v, op_source))
        .map_err(|e| explain_operator_error(e, opts));
    let (sensors, issues) = (next(), next());
    out.extend(mdi_sections(
        sensors,
        issues,
        [&gets[3].path, &gets[4].path],
    ));

    let op_id: Result<String, CallError> = operator
        .as_ref()
        .map(|o| o.id.clone())
        .map_err(Clone::clone);
    let _ = op_tx.send(op_id.clone());
    out.push(got(
        SectionName::Operator,
        operator,
        SectionData::Operator,
        batched_call(&op_path),
    ));
    let groups = next();
    let assignments: Vec<Res> = roles.iter().map(|_| next()).collect();
    let eligibilities: Vec<Res> = roles.iter().map(|_| next()).collect();
    // An operator given by object id is known even when its lookup failed.
    let known_id = opts.operator.clone().filter(|o| is_guid(o));
    let id = op_id.or_else(|e| known_id.ok_or(e));
    out.extend(membership_sections(
        id,
        groups,
        [assignments, eligibilities],
        &groups_path,
    ));
    let apps: Vec<Res> = portal::DEFENDER_APPS.iter().map(|_| next()).collect();
    out.push(got(
        SectionName::DefenderServicePrincipals,
        portal::defender_service_principals(apps),
        SectionData::DefenderServicePrincipals,
        batched_call(&portal::service_principal_path("{app id}")),
    ));
    out
}

const ROLE_ASSIGNMENTS: &str = "/roleManagement/directory/roleAssignments";
const ROLE_ELIGIBILITIES: &str = "/roleManagement/directory/roleEligibilitySchedules";

/// Everyone's assignments (or eligibilities) of one role: `roleDefinitionId eq` is a
/// documented filter of both lists (rbacapplication-list-roleassignments.md,
/// unifiedroleeligibilityschedule resource).
fn role_path(list: &str, role: &str) -> String {
    let filter = graph::encode(&format!(
        "roleDefinitionId eq '{}'",
        role.replace('\'', "''")
    ));
    format!("{list}?$filter={filter}")
}

/// The call named in a section error for a GET that went in a `$batch`.
fn batched_call(path: &str) -> String {
    format!("GET /v1.0{path} (in $batch)")
}

/// Defender for Identity: an answer that says it was never set up is data (not onboarded,
/// nothing open), not an error.
fn mdi_sections(sensors: Res, issues: Res, paths: [&str; 2]) -> [Got; 2] {
    let sensors = match sensors {
        Err(e) if graph::mdi_not_onboarded(&e) => Ok(MdiSensors {
            provisioned: false,
            sensors: Vec::new(),
        }),
        other => other.and_then(|v| graph::mdi_sensors(&v)),
    };
    let issues = match issues {
        Err(e) if graph::mdi_not_onboarded(&e) => Ok(Vec::new()),
        other => other.and_then(|v| graph::mdi_health_issues(&v)),
    };
    [
        got(
            SectionName::MdiSensors,
            sensors,
            SectionData::MdiSensors,
            batched_call(paths[0]),
        ),
        got(
            SectionName::MdiHealthIssues,
            issues,
            SectionData::MdiHealthIssues,
            batched_call(paths[1]),
        ),
    ]
}

/// The operator's groups, and the role assignments and eligibilities (one answer per accepted
/// role each) narrowed to the operator and their role-assignable groups. Without the operator
/// none of the three can be told; without the groups, only the operator's own roles count
/// (and the groups section is an error, so no verdict rests on them).
fn membership_sections(
    operator_id: Result<String, CallError>,
    groups: Res,
    [assignments, eligibilities]: [Vec<Res>; 2],
    groups_path: &str,
) -> [Got; 3] {
    let role_call =
        |list: &str| format!("GET /v1.0{list}?$filter=roleDefinitionId eq '…' (in $batch)");
    let (groups, principals) = match operator_id {
        Err(e) => {
            let e = operator_unknown(&e);
            (Err(e.clone()), Err(e))
        }
        Ok(id) => {
            let groups = groups.and_then(|v| graph::groups(&v));
            let mut principals = vec![id];
            if let Ok(gs) = &groups {
                principals.extend(
                    gs.iter()
                        .filter(|g| g.is_assignable_to_role == Some(true))
                        .map(|g| g.id.clone()),
                );
            }
            (groups, Ok(principals))
        }
    };
    let held = |answers: Vec<Res>| {
        let principals = principals.as_ref().map_err(Clone::clone)?;
        let mut all: Vec<crate::facts::sections::DirectoryRoleAssignment> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for a in answers {
            for item in graph::role_assignments(&a?, principals)? {
                if seen.insert(item.id.clone()) {
                    all.push(item);
                }
            }
        }
        Ok(all)
    };
    [
        got(
            SectionName::OperatorGroups,
            groups,
            SectionData::OperatorGroups,
            batched_call(groups_path),
        ),
        got(
            SectionName::DirectoryRoleAssignments,
            held(assignments),
            SectionData::DirectoryRoleAssignments,
            role_call(ROLE_ASSIGNMENTS),
        ),
        got(
            SectionName::DirectoryRoleEligibilities,
            held(eligibilities),
            SectionData::DirectoryRoleEligibilities,
            role_call(ROLE_ELIGIBILITIES),
        ),
    ]
}

/// A service principal cannot be `/me`: say what to do instead.
fn explain_operator_error(mut e: CallError, opts: &Options) -> CallError {
    if opts.operator.is_none() && matches!(e.status, Some(400) | Some(403) | Some(404)) {
        e.message = format!(
            "{} — /me only works when a user signs in; when xdrguard runs as an application (service principal), pass --operator <UPN or object id>",
            e.message
        );
    } else if opts.operator.is_some() && e.status == Some(404) {
        e.message = format!(
            "{} — no user {} in this tenant",
            e.message,
            opts.operator.as_deref().unwrap_or_default()
        );
    }
    e
}

fn operator_unknown(e: &CallError) -> CallError {
    CallError {
        code: ErrorCode::OperatorUnknown,
        message: format!(
            "the operator could not be read, so neither could what they hold: {} ({})",
            e.message, e.code
        ),
        status: e.status,
    }
}

/// ARM lists that depend on nothing but the workspace.
async fn arm_lists(http: &Http, p: &arm::Paths) -> Vec<Got> {
    type Norm = fn(&Value) -> Result<SectionData, CallError>;
    let lists: [(SectionName, String, Norm); 9] = [
        (SectionName::Tables, p.tables(), |v| {
            arm::tables(v).map(SectionData::Tables)
        }),
        (
            SectionName::SentinelOnboarding,
            p.onboarding_states(),
            |v| arm::onboarding(v).map(SectionData::SentinelOnboarding),
        ),
        (SectionName::DataConnectors, p.data_connectors(), |v| {
            arm::data_connectors(v).map(SectionData::DataConnectors)
        }),
        (SectionName::AlertRules, p.alert_rules(), |v| {
            arm::alert_rules(v).map(SectionData::AlertRules)
        }),
        (SectionName::AutomationRules, p.automation_rules(), |v| {
            portal::automation_rules(v).map(SectionData::AutomationRules)
        }),
        (SectionName::ContentPackages, p.content_packages(), |v| {
            arm::content_packages(v).map(SectionData::ContentPackages)
        }),
        (SectionName::ContentCatalog, p.content_catalog(), |v| {
            arm::content_catalog(v).map(SectionData::ContentCatalog)
        }),
        (SectionName::Settings, p.settings(), |v| {
            arm::settings(v).map(SectionData::Settings)
        }),
        (
            SectionName::WorkspaceRoleAssignments,
            p.role_assignments_at_scope(),
            |v| arm::role_assignments(v).map(SectionData::WorkspaceRoleAssignments),
        ),
    ];
    join_all(lists.into_iter().map(|(name, path, norm)| async move {
        let res = arm_list(http, &path).await;
        let res = match res {
            // No onboarding state (or no Sentinel resource provider at all): Sentinel is off.
            Err(e) if name == SectionName::SentinelOnboarding && e.status == Some(404) => {
                Ok(Value::Array(Vec::new()))
            }
            other => other,
        };
        got(
            name,
            res.and_then(|v| norm(&v)),
            std::convert::identity,
            format!("GET {path}"),
        )
    }))
    .await
}

async fn arm_list(http: &Http, path: &str) -> Res {
    let url = http
        .endpoints
        .url(Api::Arm, path)
        .map_err(CallError::bad_url)?;
    http.list(Api::Arm, &url).await.map(Value::Array)
}

async fn arm_get(http: &Http, path: &str) -> Res {
    let url = http
        .endpoints
        .url(Api::Arm, path)
        .map_err(CallError::bad_url)?;
    http.get(Api::Arm, &url).await
}

/// The subscription (for the workspace's tenant id), then the connector pre-check for that
/// tenant. Without the subscription (no Reader on it), the signed-in tenant from Graph is
/// the best remaining answer: the connector can only connect that tenant anyway.
async fn subscription_and_requirements(
    http: &Http,
    p: &arm::Paths,
    graph_tenant: oneshot::Receiver<Option<String>>,
) -> (Got, Got) {
    let path = p.subscription();
    let sub = arm_get(http, &path)
        .await
        .and_then(|v| arm::subscription(&v));
    let check_path = p.check_requirements();
    let tenant = match &sub {
        Ok(s) => Ok(s.tenant_id.clone()),
        Err(e) => match graph_tenant.await {
            Ok(Some(t)) => Ok(t),
            _ => Err(CallError {
                code: ErrorCode::DependencyFailed,
                message: format!(
                    "the tenant id comes from the subscription or /organization, and neither could be read: {} ({})",
                    e.message, e.code
                ),
                status: e.status,
            }),
        },
    };
    let req = match tenant {
        Ok(tenant) => {
            let body = arm::check_requirements_body(&tenant);
            match http.endpoints.url(Api::Arm, &check_path) {
                Ok(url) => match http.json(Api::Arm, Method::POST, &url, Some(&body)).await {
                    Ok(Some(v)) => arm::connector_requirements(&v),
                    Ok(None) => Err(CallError::malformed("empty body")),
                    Err(e) => Err(e),
                },
                Err(e) => Err(CallError::bad_url(e)),
            }
        }
        Err(e) => Err(e),
    };
    (
        got(
            SectionName::Subscription,
            sub,
            SectionData::Subscription,
            format!("GET {path}"),
        ),
        got(
            SectionName::ConnectorRequirements,
            req,
            SectionData::ConnectorRequirements,
            format!("POST {check_path}"),
        ),
    )
}

/// The workspace (for its customerId), then the one ingestion query.
async fn workspace_and_ingestion(
    http: &Http,
    p: &arm::Paths,
    tables: &[String],
    lookback: chrono::Duration,
) -> (Got, Got) {
    let path = p.workspace();
    let ws = arm_get(http, &path).await.and_then(|v| arm::workspace(&v));
    let mut call = "POST /v1/workspaces/{customerId}/query".to_string();
    let ing = match &ws {
        Ok(w) => {
            call = format!(
                "POST /v1/workspaces/{}/query",
                graph::encode(&w.customer_id)
            );
            match log_analytics::query(tables) {
                Ok(q) => match http.endpoints.url(Api::LogAnalytics, &call[5..]) {
                    Ok(url) => http
                        .json(Api::LogAnalytics, Method::POST, &url, Some(&log_analytics::body(&q, lookback)))
                        .await
                        .and_then(|v| log_analytics::ingestion(v.as_ref())),
                    Err(e) => Err(CallError::bad_url(e)),
                },
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(CallError {
            code: ErrorCode::DependencyFailed,
            message: format!("the query needs the workspace's customerId, and the workspace could not be read: {} ({})", e.message, e.code),
            status: e.status,
        }),
    };
    (
        got(
            SectionName::Workspace,
            ws,
            SectionData::Workspace,
            format!("GET {path}"),
        ),
        got(SectionName::Ingestion, ing, SectionData::Ingestion, call),
    )
}

/// What the operator may do on the workspace: the permissions API when the operator is the
/// caller, else their role assignments and those roles' definitions (each fetched once).
async fn workspace_permissions(
    http: &Http,
    p: &arm::Paths,
    opts: &Options,
    op_rx: oneshot::Receiver<Result<String, CallError>>,
) -> Got {
    let operator_id = |rx: oneshot::Receiver<Result<String, CallError>>| async move {
        match rx.await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(operator_unknown(&e)),
            Err(_) => Err(CallError::new(
                ErrorCode::OperatorUnknown,
                "the operator lookup did not finish",
                None,
            )),
        }
    };
    let (result, call) = if opts.operator.is_none() {
        let path = p.permissions();
        // Ask now; the answer only counts if the caller turns out to be a user (/me works).
        let (perms, op) = futures::join!(arm_list(http, &path), operator_id(op_rx));
        let res = op.and(perms).and_then(|v| arm::caller_permissions(&v));
        (res, format!("GET {path}"))
    } else {
        let given = opts.operator.clone().unwrap_or_default();
        let id = if is_guid(&given) {
            Ok(given)
        } else {
            operator_id(op_rx).await
        };
        match id {
            Ok(id) => assigned_permissions(http, p, &id).await,
            Err(e) => (
                Err(e),
                format!("GET {}", p.role_assignments_of("{operator id}")),
            ),
        }
    };
    got(
        SectionName::WorkspacePermissions,
        result,
        SectionData::WorkspacePermissions,
        call,
    )
}

/// The operator's role assignments on the workspace and those roles' definitions (each
/// fetched once); the call named is the one that failed, else the assignments list.
async fn assigned_permissions(
    http: &Http,
    p: &arm::Paths,
    operator_id: &str,
) -> (Result<WorkspacePermissions, CallError>, String) {
    let path = p.role_assignments_of(operator_id);
    let assignments = match arm_list(http, &path)
        .await
        .and_then(|v| arm::role_assignments(&v))
    {
        Ok(a) => a,
        Err(e) => return (Err(e), format!("GET {path}")),
    };
    let guids = arm::distinct_definitions(&assignments);
    let max = http.limits().fan_out;
    if guids.len() > max {
        let e = http::Limits::exceeded(
            ErrorCode::FanOutTooLarge,
            format!(
                "the operator's role assignments name {} distinct role definitions, more than the {max} xdrguard reads one by one",
                guids.len()
            ),
            "--max-fan-out",
        );
        return (Err(e), format!("GET {path}"));
    }
    let defs = join_all(
        guids
            .iter()
            .map(|g| async move { (g.clone(), arm_get(http, &p.role_definition(g)).await) }),
    )
    .await;
    let mut definitions = Vec::new();
    for (g, d) in defs {
        match d {
            Ok(d) => definitions.push((g, d)),
            Err(e) => return (Err(e), format!("GET {}", p.role_definition(&g))),
        }
    }
    (
        arm::assigned_permissions(&assignments, &definitions),
        format!("GET {path}"),
    )
}
