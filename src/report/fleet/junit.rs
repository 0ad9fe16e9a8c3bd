//! The fleet as JUnit XML: a testsuite per target, a testcase per control (fail →
//! `<failure>`, error → `<error>`, skipped/waived → `<skipped>`); a target that could not be
//! audited is one `<error>` testcase with its cause. quick-junit escapes the XML.

use crate::fleet::FleetReport;
use crate::model::Status;
use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};

fn status(s: Status, control: &str, target: &str) -> TestCaseStatus {
    match s {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail => {
            let mut t = TestCaseStatus::non_success(NonSuccessKind::Failure);
            t.set_message(format!("{control} fails on {target}"));
            t
        }
        Status::Error => {
            let mut t = TestCaseStatus::non_success(NonSuccessKind::Error);
            t.set_message(format!("{control} could not be evaluated on {target}"));
            t
        }
        Status::Skipped | Status::Waived => {
            let mut t = TestCaseStatus::skipped();
            t.set_message(s.as_str());
            t
        }
    }
}

pub fn render(report: &FleetReport) -> String {
    let mut junit = JUnitReport::new("xdrguard-fleet");
    junit.set_timestamp(report.generated_at);
    for t in &report.targets {
        let mut suite = TestSuite::new(format!("xdrguard.{}", t.name));
        suite.set_timestamp(report.generated_at);
        suite.add_property(("workspace_id", t.workspace_id.as_str()));
        suite.add_property(("verdict", t.verdict.to_string().as_str()));
        if let Some(cause) = &t.cause {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("could not be audited: {cause}"));
            suite.add_test_case(TestCase::new("audit", s));
        }
        for c in &report.controls {
            if let Some(s) = t.results.get(&c.control) {
                let mut case = TestCase::new(
                    format!("{}: {}", c.control, c.title),
                    status(*s, &c.control, &t.name),
                );
                case.set_classname(format!("xdrguard.{}.{}", t.name, c.control));
                suite.add_test_case(case);
            }
        }
        junit.add_test_suite(suite);
    }
    crate::report::junit::finish(&junit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_per_target() {
        let xml = render(&super::super::sample::fleet());
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.test_suites.len(), 3);
        let text = xml;
        assert!(
            text.contains("could not be audited: cannot connect to &lt;script&gt;"),
            "{text}"
        );
        assert!(text.contains("XDR-B-01 fails on contoso"), "{text}");
    }
}
