//! Baselines: "fail only on new failures". A previous JSON report is the baseline; a failure
//! it already had (same [`Fingerprint`]) is `known` and does not count toward the exit code.
//!
//! Also home of reading a JSON report back, which `diff` shares.

use super::fingerprint::Fingerprint;
use super::Report;
use crate::facts::Target;
use crate::input::codes::ReportCode;
use crate::input::diagnostic::InputError;
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input, Shape, Syntax};
use crate::input::schema::{self, Violation};
use crate::input::yaml::Document;
use crate::model::{BaselineState, Finding, Status};
use std::collections::HashSet;
use std::path::Path;

/// Whether a baseline finding was a failure: `fail`, or a waived `fail` (still a known problem).
fn was_failing(f: &Finding) -> bool {
    f.status == Status::Fail
        || (f.status == Status::Waived && f.original_status == Some(Status::Fail))
}

/// What to do about a file that is not an xdrguard JSON report.
const REPORT_HELP: &str = "pass a JSON report written by `xdrguard check --format json` (or audit)";

impl Input for Report {
    const SCHEMA: schema::Kind = schema::Kind::Report;
    const NAME: &'static str = "xdrguard JSON report";

    fn syntax() -> Syntax {
        Syntax::Json {
            code: ReportCode::Json.into(),
            help: REPORT_HELP,
        }
    }

    fn codes() -> Codes {
        Codes {
            schema: ReportCode::Schema.into(),
            shape: ReportCode::Shape.into(),
        }
    }

    /// One diagnostic for the whole file: a report is written by a program, not by hand, so
    /// the first problem says enough.
    fn schema_errors(doc: &Document, violations: &[Violation]) -> Vec<InputError> {
        let v = &violations[0];
        let more = match violations.len() {
            1 => String::new(),
            n => format!(" (and {} more problem(s))", n - 1),
        };
        let at = if v.pointer.is_empty() {
            "/"
        } else {
            &v.pointer
        };
        vec![InputError::at(
            ReportCode::Schema,
            &doc.file,
            None,
            format!(
                "not an {} ({}): at `{at}`: {}{more}",
                Self::NAME,
                Self::SCHEMA.path(),
                v.message
            ),
        )
        .help(REPORT_HELP)]
    }

    fn shape_error(doc: &Document, e: Shape) -> InputError {
        InputError::at(
            ReportCode::Shape,
            &doc.file,
            None,
            format!("not an {}: {}", Self::NAME, e.message),
        )
        .help(REPORT_HELP)
    }
}

/// Read a JSON report written by xdrguard (`--format json` or `--report json=…`).
pub fn load_report(path: &Path) -> Result<Report, InputError> {
    load::file(path, InputKind::Report, load::no_checks)
}

/// The failures of a baseline report, by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    failing: HashSet<Fingerprint>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, InputError> {
        Ok(Baseline::from_report(&load_report(path)?))
    }

    pub fn from_report(report: &Report) -> Baseline {
        Baseline {
            failing: report
                .results
                .iter()
                .filter(|f| was_failing(f))
                .map(|f| Fingerprint::of(f, &report.target))
                .collect(),
        }
    }

    /// Whether `f`, a failure of a run about `target`, is `known` to the baseline or `new`.
    pub fn state(&self, f: &Finding, target: &Target) -> BaselineState {
        if self.failing.contains(&Fingerprint::of(f, target)) {
            BaselineState::Known
        } else {
            BaselineState::New
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample::{self, finding, report};
    use crate::outcome::{Gate, Verdict};

    /// Judge `findings` against `base`: the findings as marked, and the exit code.
    fn judge(base: &Baseline, mut findings: Vec<Finding>) -> (Vec<Finding>, u8) {
        let gate = Gate {
            baseline: Some(base.clone()),
            ..Gate::threshold(crate::model::Severity::Low)
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        gate.judge(&mut findings, &report(vec![]).target, today);
        let code = Verdict::of(&findings, gate.fail_on).exit_code();
        (findings, code)
    }

    #[test]
    fn known_failures_do_not_count_new_ones_do() {
        let old = report(vec![
            finding("XDR-A-01", Status::Fail),
            finding("XDR-B-01", Status::Pass),
        ]);
        let base = Baseline::from_report(&old);

        let (same, code) = judge(
            &base,
            vec![
                finding("XDR-A-01", Status::Fail),
                finding("XDR-B-01", Status::Pass),
            ],
        );
        assert_eq!(same[0].baseline, Some(BaselineState::Known));
        assert_eq!(same[1].baseline, None);
        assert_eq!(code, 0);

        let (worse, code) = judge(
            &base,
            vec![
                finding("XDR-A-01", Status::Fail),
                finding("XDR-B-01", Status::Fail),
            ],
        );
        assert_eq!(worse[1].baseline, Some(BaselineState::New));
        assert_eq!(code, 1);
    }

    #[test]
    fn scope_is_part_of_the_identity() {
        let old = report(vec![finding("XDR-A-01", Status::Fail)]);
        let base = Baseline::from_report(&old);
        let mut other = finding("XDR-A-01", Status::Fail);
        other.scope = Some("/subscriptions/x/other".into());
        let (other, code) = judge(&base, vec![other]);
        assert_eq!(other[0].baseline, Some(BaselineState::New));
        assert_eq!(code, 1);
    }

    #[test]
    fn a_waived_failure_in_the_baseline_is_known() {
        let base = Baseline::from_report(&sample::mixed());
        let (r, _) = judge(&base, vec![finding("XDR-CON-05", Status::Fail)]);
        assert_eq!(r[0].baseline, Some(BaselineState::Known));
    }

    #[test]
    fn load_report_rejects_non_reports_with_location() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.json");
        std::fs::write(&p, "{\n  \"tool\": ,\n}").unwrap();
        let e = load_report(&p).unwrap_err();
        assert!(e.message.contains("r.json:2:"), "{}", e.message);
        std::fs::write(&p, "{\"results\": []}").unwrap();
        let e = load_report(&p).unwrap_err();
        assert!(
            e.message.contains("not an xdrguard JSON report"),
            "{}",
            e.message
        );
        let good = crate::report::json::render(&sample::mixed());
        std::fs::write(&p, good).unwrap();
        assert_eq!(load_report(&p).unwrap(), sample::mixed());
    }
}
