//! Automation rules in content, and the one check over them that content needs before the
//! facts have an `automation_rules` section: XDR-USX-02 of the controls catalog ("no automation
//! rule depends on incident fields that change in the Defender portal": the incident title,
//! description and provider name — Microsoft Learn "Microsoft Sentinel in the Microsoft
//! Defender portal", https://learn.microsoft.com/azure/sentinel/microsoft-sentinel-defender-portal).
//!
//! Interim: once the catalog ships a policy with that ID (issue 9, reading `automation_rules`
//! facts), [`check`] steps aside and these rules should feed that section instead.

use super::expr::Val;
use super::SourceLocation;
use crate::model::{
    Evidence, Finding, Remediation, RemediationStep, Severity, Stage, Status, StepKind,
};
use serde::Serialize;

/// The control this check stands in for.
pub const CONTROL: &str = "XDR-USX-02";

/// Incident properties whose values change when the workspace moves to the Defender portal.
const CHANGED_PROPERTIES: &[&str] = &[
    "IncidentTitle",
    "IncidentDescription",
    "IncidentProviderName",
];

/// An automation rule as written in the content, its conditions flattened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutomationRule {
    pub id: String,
    pub display_name: Option<String>,
    /// `triggeringLogic.isEnabled`; `None` when it could not be resolved.
    pub enabled: Option<bool>,
    pub conditions: Vec<Condition>,
    /// A condition list that could not be resolved (an expression): the rule cannot be judged.
    pub conditions_unknown: bool,
    pub location: SourceLocation,
}

/// One property condition (Boolean conditions contribute their inner conditions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub property: String,
    pub operator: Option<String>,
    pub values: Vec<String>,
}

impl AutomationRule {
    /// Read `properties` of an `automationRules` resource (REST `AutomationRuleProperties`).
    pub fn from_properties(id: String, props: &Val, location: SourceLocation) -> Self {
        let get = |v: &Val, k: &str| match v {
            Val::Object(o) => o
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, x)| x.clone())
                .unwrap_or(Val::Null),
            Val::Unknown => Val::Unknown,
            _ => Val::Null,
        };
        let logic = get(props, "triggeringLogic");
        let enabled = match get(&logic, "isEnabled") {
            Val::Bool(b) => Some(b),
            Val::Null => Some(true),
            _ => None,
        };
        let mut conditions = Vec::new();
        let conditions_unknown = !flatten(&get(&logic, "conditions"), &mut conditions, 0);
        AutomationRule {
            id,
            display_name: get(props, "displayName").as_known_str(),
            enabled,
            conditions,
            conditions_unknown,
            location,
        }
    }
}

/// Flatten conditions into `out`; false when some part could not be resolved.
fn flatten(v: &Val, out: &mut Vec<Condition>, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    match v {
        Val::Null => true,
        Val::Array(items) => items
            .iter()
            // Every condition is flattened, even after one that cannot be.
            .map(|c| flatten_one(c, out, depth))
            .collect::<Vec<bool>>()
            .into_iter()
            .all(|ok| ok),
        _ => false,
    }
}

fn flatten_one(c: &Val, out: &mut Vec<Condition>, depth: usize) -> bool {
    let Val::Object(o) = c else { return false };
    let field = |k: &str| {
        o.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, x)| x.clone())
    };
    let Some(Val::Object(p)) = field("conditionProperties") else {
        return false;
    };
    let pf = |k: &str| {
        p.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, x)| x.clone())
    };
    if let Some(inner) = pf("innerConditions") {
        return flatten(&inner, out, depth + 1);
    }
    let Some(property) = pf("propertyName").and_then(|v| v.as_known_str()) else {
        return false;
    };
    let values = match pf("propertyValues") {
        Some(Val::Array(a)) => a.iter().filter_map(Val::as_known_str).collect(),
        _ => Vec::new(),
    };
    out.push(Condition {
        property,
        operator: pf("operator").and_then(|v| v.as_known_str()),
        values,
    });
    true
}

/// XDR-USX-02 over the content's automation rules: `None` when there are none to judge.
pub fn check(rules: &[AutomationRule]) -> Option<(Finding, Vec<SourceLocation>)> {
    if rules.is_empty() {
        return None;
    }
    let mut evidence = Vec::new();
    let mut locations = Vec::new();
    let mut unknown = Vec::new();
    for r in rules {
        if r.enabled == Some(false) {
            continue;
        }
        let hits: Vec<&Condition> = r
            .conditions
            .iter()
            .filter(|c| {
                CHANGED_PROPERTIES
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&c.property))
            })
            .collect();
        if !hits.is_empty() {
            let detail = hits
                .iter()
                .map(|c| {
                    format!(
                        "condition {} {} {:?}",
                        c.property,
                        c.operator.as_deref().unwrap_or("?"),
                        c.values
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            evidence.push(Evidence {
                id: r.id.clone(),
                name: r.display_name.clone().unwrap_or_default(),
                detail,
            });
            locations.push(r.location.clone());
        } else if r.conditions_unknown || r.enabled.is_none() {
            unknown.push(format!("{} ({})", r.id, r.location));
        }
    }
    let status = if !evidence.is_empty() {
        Status::Fail
    } else if !unknown.is_empty() {
        Status::Error
    } else {
        Status::Pass
    };
    let message = match status {
        Status::Fail => format!(
            "{} automation rule(s) have conditions on incident fields that change in the Defender portal",
            evidence.len()
        ),
        Status::Error => "automation rule conditions could not be resolved from the content".into(),
        _ => "No automation rule in the content depends on the incident title, description or provider name.".into(),
    };
    let notes = if status == Status::Fail && !unknown.is_empty() {
        vec![format!("could not be resolved: {}", unknown.join(", "))]
    } else {
        Vec::new()
    };
    let finding = Finding {
        control: CONTROL.into(),
        title: "No automation rule depends on incident fields that change in the Defender portal".into(),
        severity: Severity::High,
        stage: Stage::Connector,
        status,
        original_status: None,
        message: message.clone(),
        reason: (status == Status::Error).then(|| format!("{message}: {}", unknown.join(", "))),
        evidence,
        notes,
        remediation: Remediation {
            summary: "Key the automation rule on properties that stay the same in the Defender portal (analytics rule name, severity, tactics, entities), not the incident title, description or provider name.".into(),
            steps: vec![RemediationStep {
                kind: StepKind::Note,
                text: "In the Defender portal, incident titles and descriptions are set by Defender XDR's correlation and the provider name is Microsoft XDR; conditions on them stop matching.".into(),
            }],
            docs: vec!["https://learn.microsoft.com/azure/sentinel/microsoft-sentinel-defender-portal".into()],
        },
        scope: None,
        policy_file: None,
        waiver: None,
        baseline: None,
        blocked_by: None,
    };
    Some((finding, locations))
}
