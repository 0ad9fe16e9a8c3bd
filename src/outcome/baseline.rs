//! Baselines: "fail only on new failures". A previous JSON report is the baseline; a failure
//! it already had (same [`Fingerprint`]) is `known` and does not count toward the exit code.
//!
//! Also home of reading a JSON report back, which `diff` shares.

use super::fingerprint::Fingerprint;
use super::Report;
use crate::facts::Target;
use crate::input::diagnostic::{InputError, SourceFile, Span};
use crate::input::schema;
use crate::model::{BaselineState, Finding, Status};
use std::collections::HashSet;
use std::path::Path;

/// Whether a baseline finding was a failure: `fail`, or a waived `fail` (still a known problem).
fn was_failing(f: &Finding) -> bool {
    f.status == Status::Fail
        || (f.status == Status::Waived && f.original_status == Some(Status::Fail))
}

/// Read a JSON report written by xdrguard (`--format json` or `--report json=…`).
pub fn load_report(path: &Path) -> Result<Report, InputError> {
    let file = SourceFile::read(path)?;
    let value: serde_json::Value = serde_json::from_str(&file.text).map_err(|e| {
        InputError::at(
            "xdrguard::report::json",
            &file,
            span_at(&file, e.line(), e.column()),
            format!("not valid JSON: {e}"),
            "here",
            "pass a JSON report written by `xdrguard check --format json` (or audit)",
        )
    })?;
    let violations = schema::validate(schema::Kind::Report, &value);
    if let Some(v) = violations.first() {
        return Err(InputError::at(
            "xdrguard::report::schema",
            &file,
            None,
            format!(
                "not an xdrguard JSON report (schemas/report.schema.json): at `{}`: {}{}",
                if v.pointer.is_empty() {
                    "/"
                } else {
                    &v.pointer
                },
                v.message,
                if violations.len() > 1 {
                    format!(" (and {} more problem(s))", violations.len() - 1)
                } else {
                    String::new()
                }
            ),
            "",
            "pass a JSON report written by `xdrguard check --format json` (or audit)",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        InputError::at(
            "xdrguard::report::shape",
            &file,
            None,
            format!("not an xdrguard JSON report: {e}"),
            "",
            "pass a JSON report written by `xdrguard check --format json` (or audit)",
        )
    })
}

/// Byte span of a 1-based line and column, for diagnostics.
fn span_at(file: &SourceFile, line: usize, column: usize) -> Option<Span> {
    if line == 0 {
        return None;
    }
    let start: usize = file
        .text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let offset = (start + column.saturating_sub(1)).min(file.text.len());
    Some(Span { offset, len: 0 })
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
    use crate::outcome::{Gate, Verdict};
    use crate::report::sample::{self, finding, report};

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
