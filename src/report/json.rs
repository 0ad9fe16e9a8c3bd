//! The JSON report (`schemas/report.schema.json`): the machine-readable source for
//! baselines, drift and dashboards.

use crate::outcome::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("report serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::outcome::{Summary, Verdict};

    #[test]
    fn validates_against_schema() {
        let f = Finding {
            control: "XDR-X-01".into(),
            title: "t".into(),
            severity: Severity::High,
            stage: Stage::Connector,
            status: Status::Skipped,
            original_status: None,
            message: "m".into(),
            reason: Some("blocked by XDR-WS-02: XDR-WS-02 failed".into()),
            evidence: vec![],
            notes: vec![],
            remediation: Remediation {
                summary: "s".into(),
                steps: vec![],
                docs: vec![],
            },
            scope: None,
            policy_file: None,
            waiver: None,
            baseline: None,
            blocked_by: None,
        };
        let report = Report {
            tool: crate::facts::ToolInfo::current(),
            name: None,
            catalog_version: None,
            generated_at: chrono::Utc::now(),
            facts_collected_at: None,
            profile: Profile::Full,
            fail_on: Severity::Low,
            target: crate::facts::Target {
                workspace_id: "/x".into(),
                tenant_id: None,
                cloud: None,
                operator: None,
                redacted: false,
            },
            verdict: Verdict::Compliant,
            exit_code: 0,
            summary: Summary::of(std::slice::from_ref(&f)),
            results: vec![f],
            warnings: vec![],
            since_previous: None,
            ingestion: vec![],
        };
        let v: serde_json::Value = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(
            crate::input::schema::validate(crate::input::schema::Kind::Report, &v),
            vec![]
        );
    }
}
