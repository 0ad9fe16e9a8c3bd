//! The JSON report (`schemas/report.schema.json`): the machine-readable source for
//! baselines, drift and dashboards.

use super::terminal::VisibleJson;
use crate::outcome::Report;
use std::io::Write;

pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    write(report, &mut out).expect("a Vec takes every write");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Stream the report (pretty, with a final newline) to `out` through a buffer, so a large
/// report is never held in memory a second time as one string; strings are escaped as
/// [`VisibleJson`] does (no raw control character in the file).
pub fn write(report: &Report, out: impl Write) -> std::io::Result<()> {
    use serde::Serialize;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let formatter = VisibleJson(serde_json::ser::PrettyFormatter::new());
    report
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, formatter,
        ))
        .map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
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
            defender_portal: None,
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
