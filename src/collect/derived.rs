//! Sections computed from others once those are collected: no request of their own, so the
//! facts say what the inputs say and nothing more. An unreadable input makes the derived
//! section an error naming that input (or, for `defender_portal`, an undetermined answer).

use super::http::ErrorCode;
use super::portal;
use crate::facts::apis;
use crate::facts::sections::{
    AlertRule, DefenderServicePrincipal, Group, Operator, WorkspaceRoleAssignment,
};
use crate::facts::{Section, SectionData, SectionError, SectionName};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Add `operator_azure_roles` and `defender_portal` to the collected sections.
pub fn add(sections: &mut BTreeMap<SectionName, Section>) {
    let roles = operator_azure_roles(sections);
    sections.insert(SectionName::OperatorAzureRoles, roles);
    let portal = defender_portal(sections);
    sections.insert(SectionName::DefenderPortal, portal);
}

/// Without the service principals or the role assignments nothing can be told: the section
/// is then an error (fail closed), not a guess.
fn defender_portal(sections: &BTreeMap<SectionName, Section>) -> Section {
    let sps =
        input::<Vec<DefenderServicePrincipal>>(sections, SectionName::DefenderServicePrincipals);
    let ras =
        input::<Vec<WorkspaceRoleAssignment>>(sections, SectionName::WorkspaceRoleAssignments);
    let (sps, ras) = match (sps, ras) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(u), _) | (_, Err(u)) => {
            return dependency_error(
                SectionName::DefenderPortal,
                "whether the workspace is onboarded is decided from `defender_service_principals`, `workspace_role_assignments` and `alert_rules`",
                &u,
            )
        }
    };
    let rules = input::<Vec<AlertRule>>(sections, SectionName::AlertRules);
    let decision = portal::decide(Ok(&sps), Ok(&ras), rules.as_deref().map_err(describe));
    Section::from(SectionData::DefenderPortal(decision))
}

/// A derived section's error: the input's cause, and what would let xdrguard read that input
/// (nothing to grant when the input failed without a refusal, e.g. no connection).
fn dependency_error(name: SectionName, what: &str, u: &Unusable) -> Section {
    let info = apis::section(u.0);
    let (permission, grant) = match &u.1 {
        Some(e) => (e.permission.clone(), e.grant.clone()),
        None => (
            Some(info.permission.to_string()),
            Some(info.grant.to_string()),
        ),
    };
    Section::Error(SectionError {
        code: ErrorCode::DependencyFailed.to_string(),
        message: format!("{what}: {}", describe(u)),
        status: u.1.as_ref().and_then(|e| e.status),
        permission,
        call: Some(apis::section(name).call.to_string()),
        grant,
    })
}

/// Why an input is unusable: its section error, or that it is missing or unreadable.
struct Unusable(SectionName, Option<SectionError>);

fn describe(u: &Unusable) -> String {
    match &u.1 {
        Some(e) => e.describe(u.0),
        None => format!("`{}` is missing or has the wrong shape", u.0),
    }
}

fn input<T: DeserializeOwned>(
    sections: &BTreeMap<SectionName, Section>,
    name: SectionName,
) -> Result<T, Unusable> {
    match sections.get(&name) {
        Some(Section::Data(v)) => {
            serde_json::from_value(v.clone()).map_err(|_| Unusable(name, None))
        }
        Some(Section::Error(e)) => Err(Unusable(name, Some(e.clone()))),
        None => Err(Unusable(name, None)),
    }
}

fn operator_azure_roles(sections: &BTreeMap<SectionName, Section>) -> Section {
    let read = || -> Result<_, Unusable> {
        let operator: Operator = input(sections, SectionName::Operator)?;
        let groups: Vec<Group> = input(sections, SectionName::OperatorGroups)?;
        let assignments: Vec<WorkspaceRoleAssignment> =
            input(sections, SectionName::WorkspaceRoleAssignments)?;
        Ok(portal::operator_azure_roles(
            &operator,
            &groups,
            &assignments,
        ))
    };
    match read() {
        Ok(roles) => Section::from(SectionData::OperatorAzureRoles(roles)),
        Err(u) => dependency_error(
            SectionName::OperatorAzureRoles,
            "the operator's Azure roles come from `operator`, `operator_groups` and `workspace_role_assignments`",
            &u,
        ),
    }
}
