//! SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//!
//! One rule per control (help = remediation, helpUri = the Learn page, `security-severity`),
//! one result per `fail` (and per `error`, as a note), with a `partialFingerprints` entry
//! derived from control + scope so alerts stay the same alert from run to run. Waived findings
//! are results with an accepted external suppression, so code scanning shows them as dismissed.
//! The policy file is the artifact location: code scanning rejects results without one.

use super::markdown;
use crate::model::{BaselineState, Finding, Severity, Status};
use crate::outcome::fingerprint::Fingerprint;
use crate::outcome::Report;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};
use std::collections::BTreeMap;

/// Key of our entry in `partialFingerprints`; bump the version if the inputs ever change.
pub const FINGERPRINT_KEY: &str = "xdrguard/v1";

fn level_of(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn level_json(level: ResultLevel) -> Value {
    json!(level.to_string())
}

/// What a URI path segment may hold as is: RFC 3986 unreserved characters and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A relative path as a URI reference: `/` separators, everything else percent-encoded.
pub fn uri_reference(path: &str) -> String {
    utf8_percent_encode(&path.replace('\\', "/"), PATH).to_string()
}

fn help_text(f: &Finding) -> String {
    let mut s = f.remediation.summary.clone();
    for (i, step) in f.remediation.steps.iter().enumerate() {
        s.push_str(&format!("\n{}. {}: {}", i + 1, step.kind, step.text));
    }
    for d in &f.remediation.docs {
        s.push_str(&format!("\nLearn: {d}"));
    }
    s
}

fn rule(f: &Finding) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_string(),
        json!(f.severity.security_severity()),
    );
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    props.insert("stage".to_string(), json!(f.stage.as_str()));
    props.insert("precision".to_string(), json!("very-high"));
    let properties = PropertyBag::builder()
        .tags(vec![
            "security".to_string(),
            "xdrguard".to_string(),
            f.stage.as_str().to_string(),
        ])
        .additional_properties(props)
        .build();
    let help = MultiformatMessageString::builder()
        .text(help_text(f))
        .markdown(markdown::remediation(f))
        .build();
    let short = MultiformatMessageString::builder()
        .text(f.title.clone())
        .build();
    let config = ReportingConfiguration::builder()
        .level(level_json(level_of(f.severity)))
        .build();
    let builder = ReportingDescriptor::builder()
        .id(f.control.clone())
        .name(f.control.replace('-', ""))
        .short_description(short)
        .help(help)
        .default_configuration(config)
        .properties(properties);
    // helpUri must be an absolute URI; a malformed docs entry is left out, not emitted.
    let help_uri = f
        .remediation
        .docs
        .iter()
        .find(|d| url::Url::parse(d).is_ok_and(|u| matches!(u.scheme(), "https" | "http")));
    match help_uri {
        Some(uri) => builder.help_uri(uri.clone()).build(),
        None => builder.build(),
    }
}

fn message(f: &Finding) -> String {
    let mut m = match f.status {
        Status::Error => format!(
            "{} could not be evaluated: {}",
            f.control,
            f.reason.as_deref().unwrap_or(&f.message)
        ),
        _ => f.message.clone(),
    };
    for e in f.evidence.iter().take(20) {
        m.push_str("\n- ");
        if !e.name.is_empty() {
            m.push_str(&format!("{} ", e.name));
        }
        m.push_str(&format!("({})", e.id));
        if !e.detail.is_empty() {
            m.push_str(&format!(": {}", e.detail));
        }
    }
    if f.evidence.len() > 20 {
        m.push_str(&format!("\n… and {} more", f.evidence.len() - 20));
    }
    m
}

fn result(f: &Finding, rule_index: usize, report: &Report) -> SarifResult {
    let effective = match f.status {
        Status::Waived => f.original_status.unwrap_or(Status::Fail),
        s => s,
    };
    let level = match effective {
        Status::Error => ResultLevel::Note,
        _ => level_of(f.severity),
    };
    let uri = f
        .policy_file
        .clone()
        .unwrap_or_else(|| format!("policies/{}.yaml", f.control));
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(uri_reference(&uri)).build())
                .region(Region::builder().start_line(1).build())
                .build(),
        )
        .build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        FINGERPRINT_KEY.to_string(),
        Fingerprint::of(f, &report.target).sha256_hex(),
    );
    let mut props = BTreeMap::new();
    props.insert("status".to_string(), json!(f.status.as_str()));
    if let Some(o) = f.original_status {
        props.insert("original_status".to_string(), json!(o.as_str()));
    }
    if let Some(scope) = &f.scope {
        props.insert("scope".to_string(), json!(scope));
    }
    let mut r = SarifResult::builder()
        .rule_id(f.control.clone())
        .rule_index(rule_index as i64)
        .level(level)
        .message(Message::builder().text(message(f)).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    if let Some(b) = f.baseline {
        r.baseline_state = Some(json!(match b {
            BaselineState::New => "new",
            BaselineState::Known => "unchanged",
        }));
    }
    if let Some(w) = &f.waiver {
        let mut justification = format!(
            "{} (owner {}, expires {}",
            w.justification, w.owner, w.expires
        );
        if let Some(t) = &w.ticket {
            justification.push_str(&format!(", ticket {t}"));
        }
        justification.push(')');
        r.suppressions = Some(vec![Suppression::builder()
            .kind(json!("external"))
            .status(json!("accepted"))
            .justification(justification)
            .build()]);
    }
    r
}

/// Whether a finding becomes a SARIF result: fail, error, and waived fail/error.
fn reported(f: &Finding) -> bool {
    matches!(f.status, Status::Fail | Status::Error | Status::Waived)
}

pub fn render(report: &Report) -> String {
    // One rule per control, in report order, even for passing controls: viewers can then
    // show what was checked, and rule indices do not shift when a result appears.
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.results {
        if !index.contains_key(f.control.as_str()) {
            index.insert(&f.control, rules.len());
            rules.push(rule(f));
        }
    }
    let results: Vec<SarifResult> = report
        .results
        .iter()
        .filter(|f| reported(f))
        .map(|f| result(f, index[f.control.as_str()], report))
        .collect();
    let driver = ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .rules(rules)
        .build();
    let notifications: Vec<Notification> = report
        .warnings
        .iter()
        .map(|w| {
            Notification::builder()
                .level(json!("warning"))
                .message(Message::builder().text(w.clone()).build())
                .build()
        })
        .collect();
    let mut invocation = Invocation::builder()
        .execution_successful(true)
        .exit_code(i64::from(report.exit_code))
        .build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let mut run_props = BTreeMap::new();
    run_props.insert("verdict".to_string(), json!(report.verdict.as_str()));
    run_props.insert("profile".to_string(), json!(report.profile));
    run_props.insert("fail_on".to_string(), json!(report.fail_on.as_str()));
    let uncounted = report.uncounted();
    if uncounted.any() {
        // Why the failures listed as results do not make the verdict violations.
        run_props.insert(
            "uncounted_failures".to_string(),
            json!(uncounted.to_string()),
        );
    }
    run_props.insert(
        "workspace_id".to_string(),
        json!(report.target.workspace_id),
    );
    if let Some(t) = &report.target.tenant_id {
        run_props.insert("tenant_id".to_string(), json!(t));
    }
    run_props.insert(
        "generated_at".to_string(),
        json!(report.generated_at.to_rfc3339()),
    );
    if let Some(d) = &report.defender_portal {
        run_props.insert("defenderPortal".to_string(), json!(d));
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .properties(
            PropertyBag::builder()
                .additional_properties(run_props)
                .build(),
        )
        .build();
    let sarif = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut s = serde_json::to_string_pretty(&sarif).expect("SARIF serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    fn parsed(report: &Report) -> Value {
        serde_json::from_str(&render(report)).unwrap()
    }

    #[test]
    fn one_rule_per_control_and_results_for_fail_error_waived() {
        let v = parsed(&sample::mixed());
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 5);
        let results = run["results"].as_array().unwrap();
        let ids: Vec<&str> = results
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["XDR-CON-03", "XDR-LIC-01", "XDR-CON-05"]);
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[1]["level"], "note");
        assert_eq!(results[2]["suppressions"][0]["status"], "accepted");
        let rule = &run["tool"]["driver"]["rules"][1];
        assert_eq!(rule["id"], "XDR-CON-03");
        assert_eq!(rule["properties"]["security-severity"], "8.0");
        assert_eq!(
            rule["helpUri"],
            "https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "policies/XDR-CON-03.yaml"
        );
    }

    #[test]
    fn uri_reference_encodes_what_uris_cannot_hold() {
        assert_eq!(
            uri_reference("my policies\\a b.yaml"),
            "my%20policies/a%20b.yaml"
        );
        assert_eq!(uri_reference("<x>"), "%3Cx%3E");
        assert_eq!(uri_reference("règles/ü.yaml"), "r%C3%A8gles/%C3%BC.yaml");
    }
}
