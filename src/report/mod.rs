//! Reports: the one `Report` model every output format is rendered from.
//! Reporters only format findings; they decide nothing.

pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
#[doc(hidden)]
#[doc(hidden)]
pub mod sample;
pub mod sarif;
pub mod table;

use crate::facts::{FactsDocument, Target, ToolInfo};
use crate::model::{Finding, Severity, Status};
use serde::{Deserialize, Serialize};

/// Outcome of a whole run, and the exit code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Exit 0: no fail at or above the threshold, no error.
    Compliant,
    /// Exit 1: a fail at or above the threshold.
    Violations,
    /// Exit 2: no such fail, but some control could not be evaluated.
    Incomplete,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Compliant => 0,
            Verdict::Violations => 1,
            Verdict::Incomplete => 2,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::Violations => "violations",
            Verdict::Incomplete => "incomplete",
        }
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
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
                Status::Skipped => s.skipped += 1,
                Status::Waived => s.waived += 1,
            }
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
    pub generated_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts_collected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub profile: String,
    pub fail_on: Severity,
    pub target: Target,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub summary: Summary,
    pub results: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The verdict: any fail at or above `fail_on` → violations; else any error → incomplete.
pub fn verdict(findings: &[Finding], fail_on: Severity) -> Verdict {
    if findings
        .iter()
        .any(|f| f.status == Status::Fail && f.severity >= fail_on && f.counts_toward_gate())
    {
        Verdict::Violations
    } else if findings.iter().any(|f| f.status == Status::Error) {
        Verdict::Incomplete
    } else {
        Verdict::Compliant
    }
}

impl Report {
    pub fn new(
        findings: Vec<Finding>,
        facts: &FactsDocument,
        profile: &str,
        fail_on: Severity,
        generated_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let verdict = verdict(&findings, fail_on);
        Report {
            tool: ToolInfo::current(),
            generated_at,
            facts_collected_at: Some(facts.collected_at),
            profile: profile.to_string(),
            fail_on,
            target: facts.target.clone(),
            verdict,
            exit_code: verdict.exit_code(),
            summary: Summary::of(&findings),
            results: findings,
            warnings: Vec::new(),
        }
    }

    /// Recompute summary and verdict after findings changed (exceptions, baseline).
    pub fn refresh(&mut self) {
        self.summary = Summary::of(&self.results);
        self.verdict = verdict(&self.results, self.fail_on);
        self.exit_code = self.verdict.exit_code();
    }
}
