//! The fleet as SARIF 2.1.0: one rule per control, one result per target where the control
//! fails (`error`/`warning`/`note` by severity) or could not be evaluated, located at the
//! target's workspace as a logical location (SARIF §3.33), so code scanning can list them.

use crate::fleet::FleetReport;
use crate::model::{Severity, Status};
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

pub fn render(report: &FleetReport) -> String {
    let rules: Vec<Value> = report
        .controls
        .iter()
        .map(|c| {
            json!({
                "id": c.control,
                "name": c.control,
                "shortDescription": {"text": c.title},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {"severity": c.severity.as_str()}
            })
        })
        .collect();
    let mut results = Vec::new();
    for (i, c) in report.controls.iter().enumerate() {
        for t in &report.targets {
            let (lvl, text) = match t.results.get(&c.control) {
                Some(Status::Fail) => (
                    level(c.severity),
                    format!("{} fails on target {}: {}", c.control, t.name, c.title),
                ),
                Some(Status::Error) => (
                    "warning",
                    format!("{} could not be evaluated on target {}", c.control, t.name),
                ),
                _ => continue,
            };
            results.push(json!({
                "ruleId": c.control,
                "ruleIndex": i,
                "level": lvl,
                "message": {"text": text},
                "locations": [{"logicalLocations": [{"name": t.name, "fullyQualifiedName": t.workspace_id, "kind": "resource"}]}],
                "partialFingerprints": {"xdrguard/target-control": format!("{}/{}", t.workspace_id.to_ascii_lowercase(), c.control)}
            }));
        }
    }
    let notifications: Vec<Value> = report
        .targets
        .iter()
        .filter_map(|t| t.cause.as_ref().map(|c| (t, c)))
        .map(|(t, cause)| json!({"level": "error", "message": {"text": format!("target {} could not be audited: {cause}", t.name)}}))
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": report.tool.name, "version": report.tool.version, "semanticVersion": report.tool.version, "rules": rules}},
            "results": results,
            "invocations": [{"executionSuccessful": true, "exitCode": report.exit_code, "toolExecutionNotifications": notifications}],
            "properties": {"verdict": report.verdict.to_string(), "catalog_version": report.catalog_version, "generated_at": report.generated_at.to_rfc3339()}
        }]
    });
    let mut s = serde_json::to_string_pretty(&sarif).expect("SARIF serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_per_failing_target_and_control() {
        let v: Value = serde_json::from_str(&render(&super::super::sample::fleet())).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["ruleId"], "XDR-B-01");
        assert_eq!(results[0]["level"], "note");
        assert_eq!(
            results[0]["locations"][0]["logicalLocations"][0]["name"],
            "contoso"
        );
        assert_eq!(v["runs"][0]["invocations"][0]["exitCode"], 1);
        assert_eq!(
            v["runs"][0]["invocations"][0]["toolExecutionNotifications"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
