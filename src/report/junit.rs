//! JUnit XML for CI test-report views (Azure DevOps `PublishTestResults`, GitLab
//! `artifacts:reports:junit`): a testsuite per stage, a testcase per control.
//! fail → `<failure>` (message and remediation), error → `<error>`, skipped and waived →
//! `<skipped>` with the reason. quick-junit does the XML escaping.

use crate::model::{BaselineState, Finding, Stage, Status};
use crate::outcome::Report;
use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};
use strum::VariantArray;

fn failure_text(f: &Finding) -> String {
    let mut s = String::new();
    if f.baseline == Some(BaselineState::Known) {
        s.push_str("Known failure: already in the baseline report.\n\n");
    }
    if !f.evidence.is_empty() {
        s.push_str("Evidence:\n");
        for e in &f.evidence {
            s.push_str(&format!("  - {e}\n"));
        }
        s.push('\n');
    }
    s.push_str(&format!("Remediation: {}\n", f.remediation.summary));
    for (i, step) in f.remediation.steps.iter().enumerate() {
        s.push_str(&format!("  {}. {}: {}\n", i + 1, step.kind, step.text));
    }
    for d in &f.remediation.docs {
        s.push_str(&format!("Learn: {d}\n"));
    }
    s
}

fn status_of(f: &Finding) -> TestCaseStatus {
    match f.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(f.message.clone())
                .set_type(f.severity.as_str())
                .set_description(failure_text(f));
            s
        }
        Status::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            let reason = f.reason.clone().unwrap_or_else(|| f.message.clone());
            s.set_message(format!("could not be evaluated: {reason}"))
                .set_type("error")
                .set_description(format!(
                    "{reason}\n\nGrant the missing permission to the identity running xdrguard, then run it again.\n"
                ));
            s
        }
        Status::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(f.reason.clone().unwrap_or_else(|| f.message.clone()))
                .set_type("skipped");
            s
        }
        Status::Waived => {
            let mut s = TestCaseStatus::skipped();
            let was = f.original_status.map_or("", |o| o.as_str());
            let msg = match &f.waiver {
                Some(w) => format!(
                    "waived ({was}) until {} by {}: {}{}",
                    w.expires,
                    w.owner,
                    w.justification,
                    w.ticket
                        .as_deref()
                        .map(|t| format!(" [{t}]"))
                        .unwrap_or_default()
                ),
                None => format!("waived ({was})"),
            };
            s.set_message(msg)
                .set_type("waived")
                .set_description(failure_text(f));
            s
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut junit = JUnitReport::new("xdrguard");
    junit.set_timestamp(report.generated_at);
    for &stage in Stage::VARIANTS {
        let findings: Vec<&Finding> = report.results.iter().filter(|f| f.stage == stage).collect();
        if findings.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(format!("xdrguard.{stage}"));
        suite.set_timestamp(report.generated_at);
        suite.add_property(("workspace_id", report.target.workspace_id.as_str()));
        if let Some(t) = &report.target.tenant_id {
            suite.add_property(("tenant_id", t.as_str()));
        }
        if let Some(d) = &report.defender_portal {
            suite.add_property(("defender_portal", d.line().as_str()));
        }
        for f in findings {
            let mut case = TestCase::new(format!("{}: {}", f.control, f.title), status_of(f));
            case.set_classname(format!("xdrguard.{stage}.{}", f.control));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    finish(&junit)
}

/// The XML of `junit`, ending in a newline.
pub(crate) fn finish(junit: &JUnitReport) -> String {
    let mut s = junit.to_string().expect("JUnit serialises");
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample;

    #[test]
    fn a_suite_per_stage_and_the_right_element_per_status() {
        let xml = render(&sample::mixed());
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "xdrguard.prerequisite",
                "xdrguard.connector",
                "xdrguard.verification"
            ]
        );
        assert_eq!(parsed.tests, 5);
        assert_eq!(parsed.failures, 1);
        assert_eq!(parsed.errors, 1);
        assert!(
            xml.contains("<skipped message=\"waived (fail) until 2026-06-30 by secops@contoso.com"),
            "{xml}"
        );
        assert!(xml.contains("Remediation: Fix XDR-CON-03."));
    }

    #[test]
    fn hostile_text_is_escaped_and_round_trips() {
        let r = sample::hostile();
        let xml = render(&r);
        assert!(!xml.contains("<script>"));
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let case = &parsed.test_suites[1].test_cases[0];
        assert!(case.name.as_str().ends_with(&r.results[1].title));
        match &case.status {
            TestCaseStatus::NonSuccess { message, .. } => {
                assert_eq!(message.as_ref().unwrap().as_str(), sample::HOSTILE)
            }
            other => panic!("{other:?}"),
        }
    }
}
