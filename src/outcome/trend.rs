//! What a periodic report shows beyond this run's verdict: what changed since the previous
//! run (`--previous REPORT.json`: newly failing, resolved), and the daily ingestion of each
//! table the facts hold, for the charts. Decided here so the reporters only draw them.

use super::drift::{self, ChangeKind};
use super::Report;
use crate::facts::sections::Ingestion;
use crate::facts::{FactsDocument, Section, SectionName};
use crate::model::Severity;
use serde::{Deserialize, Serialize};

/// A control named in the summary of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedControl {
    pub control: String,
    pub title: String,
    pub severity: Severity,
}

/// What changed since the previous run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SincePrevious {
    /// When the previous report was generated.
    pub previous_generated_at: chrono::DateTime<chrono::Utc>,
    /// Fail now, did not before; most severe first.
    pub newly_failing: Vec<ChangedControl>,
    /// Failed before, pass now; most severe first.
    pub resolved: Vec<ChangedControl>,
}

impl SincePrevious {
    /// The changes from `previous` to `current`, by the same fingerprints as `diff`.
    pub fn of(previous: &Report, current: &Report) -> SincePrevious {
        let d = drift::diff(previous, current);
        let pick = |kind: ChangeKind| {
            let mut v: Vec<ChangedControl> = d
                .changes
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| ChangedControl {
                    control: c.control.clone(),
                    title: c.title.clone(),
                    severity: c.severity,
                })
                .collect();
            v.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.control.cmp(&b.control)));
            v.dedup();
            v
        };
        SincePrevious {
            previous_generated_at: previous.generated_at,
            newly_failing: pick(ChangeKind::NewlyFailing),
            resolved: pick(ChangeKind::Resolved),
        }
    }
}

/// The tables of the facts' ingestion section that carry a daily series, as collected (an
/// unreadable section, or facts from before the series, give none: no chart).
pub fn ingestion_series(facts: &FactsDocument) -> Vec<Ingestion> {
    match facts.sections.get(&SectionName::Ingestion) {
        Some(Section::Data(v)) => serde_json::from_value::<Vec<Ingestion>>(v.clone())
            .map(|rows| rows.into_iter().filter(|r| r.daily.is_some()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::outcome::sample;

    #[test]
    fn newly_failing_and_resolved_most_severe_first() {
        let mut old = sample::report(vec![
            sample::finding("XDR-A-01", Status::Fail),
            sample::finding("XDR-B-01", Status::Pass),
            sample::finding("XDR-C-01", Status::Pass),
        ]);
        old.generated_at = "2026-01-08T08:00:00Z".parse().unwrap();
        let mut b = sample::finding("XDR-B-01", Status::Fail);
        b.severity = Severity::Low;
        let mut c = sample::finding("XDR-C-01", Status::Fail);
        c.severity = Severity::Critical;
        let new = sample::report(vec![sample::finding("XDR-A-01", Status::Pass), b, c]);
        let s = SincePrevious::of(&old, &new);
        let ids = |v: &[ChangedControl]| v.iter().map(|c| c.control.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&s.newly_failing), ["XDR-C-01", "XDR-B-01"]);
        assert_eq!(ids(&s.resolved), ["XDR-A-01"]);
        assert_eq!(s.previous_generated_at, old.generated_at);
    }
}
