//! Baselines: "fail only on new failures". A previous JSON report is the baseline; a failure
//! it already had (same control and scope) is `known` and does not count toward the exit code.
//!
//! Also home of reading a JSON report back, which `diff` shares.

use crate::input::diagnostic::{InputError, SourceFile, Span};
use crate::input::schema;
use crate::model::{BaselineState, Finding, Status};
use crate::report::Report;
use std::collections::HashSet;
use std::path::Path;

/// Identity of a finding across runs: control ID and scope (lowercased; the workspace when the
/// finding has none). Never a display name, a message or evidence, which change on their own.
pub fn fingerprint(f: &Finding, report: &Report) -> String {
    let scope = f
        .scope
        .as_deref()
        .unwrap_or(report.target.workspace_id.as_str());
    format!("{}|{}", f.control, scope.to_ascii_lowercase())
}

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
    failing: HashSet<String>,
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
                .map(|f| fingerprint(f, report))
                .collect(),
        }
    }

    /// Mark every `fail` of `report` `new` or `known`, then refresh the verdict (known failures
    /// do not count toward it).
    pub fn apply(&self, report: &mut Report) {
        let states: Vec<Option<BaselineState>> = report
            .results
            .iter()
            .map(|f| {
                (f.status == Status::Fail).then(|| {
                    if self.failing.contains(&fingerprint(f, report)) {
                        BaselineState::Known
                    } else {
                        BaselineState::New
                    }
                })
            })
            .collect();
        for (f, s) in report.results.iter_mut().zip(states) {
            f.baseline = s;
        }
        report.refresh();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{self, finding, report};

    #[test]
    fn known_failures_do_not_count_new_ones_do() {
        let old = report(vec![
            finding("XDR-A-01", Status::Fail),
            finding("XDR-B-01", Status::Pass),
        ]);
        let base = Baseline::from_report(&old);

        let mut same = report(vec![
            finding("XDR-A-01", Status::Fail),
            finding("XDR-B-01", Status::Pass),
        ]);
        base.apply(&mut same);
        assert_eq!(same.results[0].baseline, Some(BaselineState::Known));
        assert_eq!(same.results[1].baseline, None);
        assert_eq!(same.exit_code, 0);

        let mut worse = report(vec![
            finding("XDR-A-01", Status::Fail),
            finding("XDR-B-01", Status::Fail),
        ]);
        base.apply(&mut worse);
        assert_eq!(worse.results[1].baseline, Some(BaselineState::New));
        assert_eq!(worse.exit_code, 1);
    }

    #[test]
    fn scope_is_part_of_the_identity() {
        let old = report(vec![finding("XDR-A-01", Status::Fail)]);
        let base = Baseline::from_report(&old);
        let mut other = report(vec![finding("XDR-A-01", Status::Fail)]);
        other.results[0].scope = Some("/subscriptions/x/other".into());
        base.apply(&mut other);
        assert_eq!(other.results[0].baseline, Some(BaselineState::New));
        assert_eq!(other.exit_code, 1);
    }

    #[test]
    fn a_waived_failure_in_the_baseline_is_known() {
        let base = Baseline::from_report(&sample::mixed());
        let mut r = report(vec![finding("XDR-CON-05", Status::Fail)]);
        base.apply(&mut r);
        assert_eq!(r.results[0].baseline, Some(BaselineState::Known));
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
