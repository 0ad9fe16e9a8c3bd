//! The outcome of evaluating one control: what reporters format and exit codes depend on.
//!
//! The closed enums derive their names: serde and strum spell each variant the same way, so
//! `as_str`, `Display`, `FromStr` and `VARIANTS` (declaration order) always agree.

use serde::{Deserialize, Serialize};
use std::fmt;
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

/// Default severity of a control; users may override it per control ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        self.into()
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

/// The closed set of outcomes; reports and exit codes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skipped,
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Stage of the onboarding journey a control belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum Stage {
    Prerequisite,
    Connector,
    Verification,
    /// Moving the workspace into the Microsoft Defender portal.
    #[serde(rename = "defender-portal")]
    #[strum(serialize = "defender-portal")]
    DefenderPortal,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Which stages run (`--profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Profile {
    /// The prerequisite stage: what stops us from connecting today?
    PreOnboarding,
    /// The prerequisite and defender-portal stages: what stops us from moving into the
    /// Defender portal, and what will break when we do?
    DefenderPortal,
    /// All stages.
    #[default]
    Full,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    pub fn includes(self, stage: Stage) -> bool {
        match self {
            Profile::PreOnboarding => stage == Stage::Prerequisite,
            Profile::DefenderPortal => {
                matches!(stage, Stage::Prerequisite | Stage::DefenderPortal)
            }
            Profile::Full => true,
        }
    }
}

/// How "is the workspace onboarded to the Defender portal?" was answered: every report says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalDecision {
    /// `null` when it could not be told.
    pub onboarded: Option<bool>,
    /// `evidence`, `config`, or `error` (the section could not be read).
    pub source: String,
    pub reason: String,
}

impl PortalDecision {
    /// "not onboarded (evidence: …)": the answer and how it was reached.
    pub fn summary(&self) -> String {
        let state = match self.onboarded {
            Some(true) => "onboarded",
            Some(false) => "not onboarded",
            None => "undetermined",
        };
        format!("{state} ({}: {})", self.source, self.reason)
    }

    /// One line: "Defender portal: not onboarded (evidence: …)".
    pub fn line(&self) -> String {
        format!("Defender portal: {}", self.summary())
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

impl Evidence {
    /// What a message calls this item: its name, or its id when it has none.
    pub fn label(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
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

/// One remediation step: where to do it and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationStep {
    pub kind: StepKind,
    pub text: String,
}

/// Where a remediation step is carried out (the keys `policy.schema.json` allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, EnumString, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum StepKind {
    Portal,
    Cli,
    Api,
    Powershell,
    Note,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    /// Whether the text is code to run (shown in a code block), not prose.
    pub fn is_code(self) -> bool {
        matches!(self, StepKind::Cli | StepKind::Powershell | StepKind::Api)
    }
}

/// The exception (waiver) that covers a finding; the original status stays beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiver {
    pub justification: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Last day the exception applies (inclusive); serialised as `YYYY-MM-DD`.
    pub expires: chrono::NaiveDate,
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
    /// For a control skipped because a dependency failed: the failed control at the root of
    /// the chain (fixing it unblocks this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

impl Finding {
    /// Whether the remediation is for this finding: a failure (or a failure waived for now).
    /// A passing, skipped or unevaluated control has nothing to fix, so no write command.
    pub fn needs_remediation(&self) -> bool {
        self.status == Status::Fail
            || (self.status == Status::Waived && self.original_status == Some(Status::Fail))
    }
}

/// Whether a failure was already present in the baseline report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(Display, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum BaselineState {
    New,
    Known,
}
