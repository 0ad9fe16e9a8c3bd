//! JUnit XML parses, with the structure CI test views need: a testsuite per stage, a testcase
//! per control, `<failure>`/`<error>`/`<skipped>` by status, and counts that add up.

use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use xdrguard::model::Status;
use xdrguard::outcome::sample;
use xdrguard::report::junit;

fn parse(xml: &str) -> Report {
    Report::deserialize_from_str(xml).expect("JUnit XML parses")
}

#[test]
fn statuses_map_to_junit_elements() {
    let report = sample::mixed();
    let xml = junit::render(&report);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let parsed = parse(&xml);
    assert_eq!(parsed.tests, report.results.len());
    let cases: Vec<_> = parsed
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .collect();
    assert_eq!(cases.len(), report.results.len());
    for f in &report.results {
        let case = cases
            .iter()
            .find(|c| c.name.as_str().starts_with(&format!("{}: ", f.control)))
            .unwrap_or_else(|| panic!("no testcase for {}", f.control));
        match (f.status, &case.status) {
            (Status::Pass, TestCaseStatus::Success { .. }) => {}
            (
                Status::Fail,
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    message,
                    description,
                    ..
                },
            ) => {
                assert_eq!(message.as_ref().unwrap().as_str(), f.message);
                let d = description.as_ref().unwrap().as_str();
                assert!(d.contains(&f.remediation.summary), "{d}");
                assert!(d.contains(&f.evidence[0].id), "{d}");
            }
            (
                Status::Error,
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Error,
                    message,
                    ..
                },
            ) => assert!(message
                .as_ref()
                .unwrap()
                .as_str()
                .contains(f.reason.as_deref().unwrap())),
            (Status::Skipped, TestCaseStatus::Skipped { message, .. }) => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    f.reason.as_deref().unwrap()
                )
            }
            (Status::Waived, TestCaseStatus::Skipped { message, .. }) => {
                let m = message.as_ref().unwrap().as_str();
                assert!(m.starts_with("waived (fail) until 2026-06-30"), "{m}");
            }
            (s, other) => panic!("{}: status {s} rendered as {other:?}", f.control),
        }
    }
    for suite in &parsed.test_suites {
        let n = suite.test_cases.len();
        assert_eq!(suite.tests, n);
        assert!(suite.name.as_str().starts_with("xdrguard."));
    }
}

#[test]
fn hostile_text_survives_as_text() {
    let xml = junit::render(&sample::hostile());
    let parsed = parse(&xml);
    for suite in &parsed.test_suites {
        for case in &suite.test_cases {
            assert!(
                case.name.as_str().ends_with(sample::HOSTILE),
                "{}",
                case.name.as_str()
            );
        }
    }
}
