//! What counts: the one room where findings become a verdict. The `--fail-on` threshold,
//! exceptions (waivers), the baseline and its fingerprints, and drift between two reports are
//! decided here; reporters only format the [`Report`] this builds.

pub mod baseline;
pub mod drift;
pub mod exceptions;
pub mod fingerprint;
#[doc(hidden)]
pub mod sample;
pub mod trend;

use crate::facts::{FactsDocument, Target, ToolInfo};
use crate::model::{BaselineState, Finding, Profile, Severity, Status};
use baseline::Baseline;
use chrono::NaiveDate;
use exceptions::Exceptions;
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

/// Outcome of a whole run, and the exit code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Verdict {
    /// Exit 0: no fail at or above the threshold, no error.
    Compliant,
    /// Exit 1: a fail at or above the threshold.
    Violations,
    /// Exit 2: no such fail, but some control could not be evaluated.
    Incomplete,
}

impl Verdict {
    /// Any counting failure → violations; else any error → incomplete; else compliant.
    pub fn of(findings: &[Finding], fail_on: Severity) -> Verdict {
        if findings.iter().any(|f| counts(f, fail_on)) {
            Verdict::Violations
        } else if findings.iter().any(|f| f.status == Status::Error) {
            Verdict::Incomplete
        } else {
            Verdict::Compliant
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Compliant => 0,
            Verdict::Violations => 1,
            Verdict::Incomplete => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Whether `f` fails the gate: a `fail` (a waived one is no longer `fail`) at or above the
/// threshold that the baseline did not already know.
fn counts(f: &Finding, fail_on: Severity) -> bool {
    f.status == Status::Fail && f.severity >= fail_on && f.baseline != Some(BaselineState::Known)
}

/// The failures that do not count toward the verdict, and why: what keeps `7 fail` and
/// `verdict: compliant` from contradicting each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uncounted {
    pub fail_on: Severity,
    /// Failures that count (at or above the threshold and new).
    pub counted: usize,
    /// Failures below the threshold.
    pub below_threshold: usize,
    /// Failures at or above the threshold that the baseline already knew.
    pub known: usize,
}

impl Uncounted {
    pub fn of(findings: &[Finding], fail_on: Severity) -> Uncounted {
        let mut u = Uncounted {
            fail_on,
            counted: 0,
            below_threshold: 0,
            known: 0,
        };
        for f in findings.iter().filter(|f| f.status == Status::Fail) {
            if counts(f, fail_on) {
                u.counted += 1;
            } else if f.severity < fail_on {
                u.below_threshold += 1;
            } else {
                u.known += 1;
            }
        }
        u
    }

    /// Whether some failure does not count.
    pub fn any(&self) -> bool {
        self.below_threshold + self.known > 0
    }
}

impl std::fmt::Display for Uncounted {
    /// Why the failures that do not count do not: `none at or above critical; 3 known in
    /// baseline` (empty when every failure counts).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.below_threshold > 0 {
            parts.push(if self.counted + self.known == 0 {
                format!("none at or above {}", self.fail_on)
            } else {
                format!("{} below {}", self.below_threshold, self.fail_on)
            });
        }
        if self.known > 0 {
            parts.push(format!("{} known in baseline", self.known));
        }
        if self.counted == 0 && self.below_threshold > 0 && self.known > 0 {
            parts.push("none counts".to_string());
        }
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
    pub waived: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = Summary {
            total: findings.len(),
            ..Summary::default()
        };
        for f in findings {
            let n = match f.status {
                Status::Pass => &mut s.pass,
                Status::Fail => &mut s.fail,
                Status::Error => &mut s.error,
                Status::Skipped => &mut s.skipped,
                Status::Waived => &mut s.waived,
            };
            *n += 1;
        }
        s
    }

    pub fn count(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::Error => self.error,
            Status::Skipped => self.skipped,
            Status::Waived => self.waived,
        }
    }
}

/// Everything a reporter may show; serialised as the JSON report (`schemas/report.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub tool: ToolInfo,
    /// The target's name in a fleet (`xdrguard fleet`); absent for a single audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The digest of the policies evaluated (set by `fleet`), so `merge` can refuse to mix
    /// reports judged by different catalogs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts_collected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub profile: Profile,
    pub fail_on: Severity,
    pub target: Target,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub summary: Summary,
    pub results: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// How onboarding to the Defender portal was decided (absent for facts without the section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defender_portal: Option<crate::model::PortalDecision>,
    /// What changed since `--previous`, for the executive summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_previous: Option<trend::SincePrevious>,
    /// The facts' tables with a daily series, for the ingestion charts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingestion: Vec<crate::facts::sections::Ingestion>,
}

/// What decides whether a failure counts: the threshold, and the exceptions and baseline of
/// the run (each loaded once, by the caller).
#[derive(Debug, Clone)]
pub struct Gate {
    pub fail_on: Severity,
    pub exceptions: Option<Exceptions>,
    pub baseline: Option<Baseline>,
}

impl Gate {
    /// Only a threshold: no exceptions, no baseline.
    pub fn threshold(fail_on: Severity) -> Gate {
        Gate {
            fail_on,
            exceptions: None,
            baseline: None,
        }
    }

    /// Waive what a live exception covers, then mark each remaining `fail` `new` or `known`;
    /// returns the warnings about the exceptions. Exceptions go first: a waived failure is not
    /// a failure the baseline needs to judge. `today` judges expiry (injected for tests).
    pub fn judge(
        &self,
        findings: &mut [Finding],
        target: &Target,
        today: NaiveDate,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(ex) = &self.exceptions {
            let decided = ex.decide(findings, target, today);
            for (f, waiver) in findings.iter_mut().zip(decided.waivers) {
                if let Some(w) = waiver {
                    f.original_status = Some(f.status);
                    f.status = Status::Waived;
                    f.waiver = Some(w);
                }
            }
            warnings = decided.warnings;
        }
        if let Some(b) = &self.baseline {
            for f in findings.iter_mut() {
                f.baseline = (f.status == Status::Fail).then(|| b.state(f, target));
            }
        }
        warnings
    }
}

impl Report {
    /// Which failures do not count toward this report's verdict, and why.
    pub fn uncounted(&self) -> Uncounted {
        Uncounted::of(&self.results, self.fail_on)
    }

    /// The report of a run: `gate` judges the findings once (expiry against the day of
    /// `generated_at`), then the summary and verdict follow from them.
    pub fn new(
        mut findings: Vec<Finding>,
        facts: &FactsDocument,
        profile: Profile,
        gate: &Gate,
        generated_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let warnings = gate.judge(&mut findings, &facts.target, generated_at.date_naive());
        let verdict = Verdict::of(&findings, gate.fail_on);
        Report {
            tool: ToolInfo::current(),
            name: None,
            catalog_version: None,
            generated_at,
            facts_collected_at: Some(facts.collected_at),
            profile,
            fail_on: gate.fail_on,
            target: facts.target.clone(),
            verdict,
            exit_code: verdict.exit_code(),
            summary: Summary::of(&findings),
            results: findings,
            warnings,
            defender_portal: portal_decision(facts),
            since_previous: None,
            ingestion: trend::ingestion_series(facts),
        }
    }
}

/// The facts' `defender_portal` section as the reports state it.
fn portal_decision(facts: &FactsDocument) -> Option<crate::model::PortalDecision> {
    use crate::facts::{sections::DefenderPortal, Section, SectionName};
    let decision = |onboarded, source: &str, reason: String| crate::model::PortalDecision {
        onboarded,
        source: source.into(),
        reason,
    };
    match facts.sections.get(&SectionName::DefenderPortal)? {
        Section::Data(v) => {
            let d: DefenderPortal = serde_json::from_value(v.clone()).ok()?;
            let source = serde_json::to_value(d.decided_by.source).ok()?;
            Some(decision(d.onboarded, source.as_str()?, d.decided_by.reason))
        }
        Section::Error(e) => Some(decision(
            None,
            "error",
            e.describe(SectionName::DefenderPortal),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample::finding;

    #[test]
    fn threshold_known_failures_and_errors_decide_the_verdict() {
        let mut low = finding("XDR-A-01", Status::Fail);
        low.severity = Severity::Low;
        assert_eq!(
            Verdict::of(std::slice::from_ref(&low), Severity::Low),
            Verdict::Violations
        );
        assert_eq!(
            Verdict::of(std::slice::from_ref(&low), Severity::Medium),
            Verdict::Compliant
        );
        let error = finding("XDR-B-01", Status::Error);
        assert_eq!(
            Verdict::of(&[low.clone(), error.clone()], Severity::High),
            Verdict::Incomplete
        );
        low.baseline = Some(BaselineState::Known);
        assert_eq!(Verdict::of(&[low], Severity::Low), Verdict::Compliant);
        assert_eq!(Verdict::Incomplete.exit_code(), 2);
    }

    #[test]
    fn uncounted_failures_say_why() {
        let mut low = finding("XDR-A-01", Status::Fail);
        low.severity = Severity::Low;
        let mut known = finding("XDR-B-01", Status::Fail);
        known.severity = Severity::Critical;
        known.baseline = Some(BaselineState::Known);
        let new = finding("XDR-C-01", Status::Fail);
        let all_low = Uncounted::of(std::slice::from_ref(&low), Severity::Critical);
        assert_eq!(all_low.to_string(), "none at or above critical");
        let both = Uncounted::of(&[low.clone(), known.clone()], Severity::High);
        assert_eq!(
            both.to_string(),
            "1 below high; 1 known in baseline; none counts"
        );
        let mixed = Uncounted::of(&[low.clone(), known, new], Severity::Medium);
        assert_eq!(
            (mixed.counted, mixed.below_threshold, mixed.known),
            (1, 1, 1)
        );
        assert_eq!(mixed.to_string(), "1 below medium; 1 known in baseline");
        assert!(!Uncounted::of(&[low], Severity::Low).any());
    }

    #[test]
    fn summary_counts_each_status() {
        let s = Summary::of(&[
            finding("XDR-A-01", Status::Fail),
            finding("XDR-A-02", Status::Fail),
            finding("XDR-A-03", Status::Skipped),
        ]);
        assert_eq!((s.total, s.fail, s.skipped, s.pass), (3, 2, 1, 0));
        assert_eq!(s.count(Status::Fail), 2);
    }
}
