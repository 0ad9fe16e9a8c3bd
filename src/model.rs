//! The outcome of evaluating one control: what reporters format and exit codes depend on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Default severity of a control; users may override it per control ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// GitHub code scanning's `security-severity` scale (0.0–10.0).
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity `{s}` (expected low, medium, high or critical)"
            )),
        }
    }
}

/// The closed set of outcomes; reports and exit codes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skipped,
    Waived,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Error,
        Status::Skipped,
        Status::Waived,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Waived => "waived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status `{s}` (expected pass, fail, error, skipped or waived)")
            })
    }
}

/// Stage of the onboarding journey a control belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Prerequisite,
    Connector,
    Verification,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Prerequisite, Stage::Connector, Stage::Verification];
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Prerequisite => "prerequisite",
            Stage::Connector => "connector",
            Stage::Verification => "verification",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The prerequisite stage: what stops us from connecting today?
    PreOnboarding,
    /// All stages.
    #[default]
    Full,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::PreOnboarding => "pre-onboarding",
            Profile::Full => "full",
        }
    }
    pub fn includes(self, stage: Stage) -> bool {
        match self {
            Profile::PreOnboarding => stage == Stage::Prerequisite,
            Profile::Full => true,
        }
    }
}

/// One offending (or, for notes, noteworthy) item, named by ID so users can act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Stable identifier: ARM resource ID, object ID, table name, SKU ID…
    pub id: String,
    /// Human name (display name, UPN, table name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What is wrong with this item.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl fmt::Display for Evidence {
    /// `name (id): detail`, leaving out what is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.name.is_empty() {
            write!(f, "{} ", self.name)?;
        }
        write!(f, "({})", self.id)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// How to fix a failing control: steps in order and the Microsoft Learn page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Remediation {
    pub summary: String,
    pub steps: Vec<RemediationStep>,
    pub docs: Vec<String>,
}

/// One remediation step: where (portal, cli, api, powershell, note) and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationStep {
    pub kind: String,
    pub text: String,
}

/// The exception (waiver) that covers a finding; the original status stays beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    pub justification: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The result of one control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub stage: Stage,
    pub status: Status,
    /// For `waived`: the status the control had before the exception applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_status: Option<Status>,
    pub message: String,
    /// Why the control is `skipped` or `error` (and, for `error`, what to grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Remarks that do not change the status (e.g. a license in Warning state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub remediation: Remediation,
    /// What the finding is about: the workspace resource ID or tenant ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Path of the policy file that defines the control (SARIF artifact location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// With `--baseline`: `new`, or `known` when the baseline already had this failure
    /// (known failures do not count toward the exit code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

/// Whether a failure was already present in the baseline report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Known,
}

impl Finding {
    /// False for a failure the baseline already knew: it is shown but does not fail the gate.
    pub fn counts_toward_gate(&self) -> bool {
        self.baseline != Some(BaselineState::Known)
    }
}
