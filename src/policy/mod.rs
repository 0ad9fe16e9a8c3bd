//! A control as written in its YAML policy file, the catalog of them, and everything that
//! decides what a control means before facts are seen: loading, ordering, params, config
//! resolution, the CEL environment, templates, the ingestion plan and policy test cases.

pub mod cel;
pub mod config;
pub mod ingestion;
pub mod limits;
pub mod load;
mod params;
pub mod resolve;
pub mod template;
pub mod test_cases;

pub use ingestion::IngestionPlan;
pub use load::{builtin_sources, load_catalog, load_policy_file, Catalog};
pub use params::{parse_duration, ParamSpec, ParamType};
pub use resolve::{Effective, ValidConfig};

use crate::facts::SectionName;
use crate::model::{Remediation, Severity, Stage};
use indexmap::IndexMap;
use serde::Deserialize;

/// One control: its metadata, the CEL that finds offending items, its remediation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
    pub title: String,
    pub stage: Stage,
    pub severity: Severity,
    /// Exactly what is checked (no more than the expression verifies).
    pub description: String,
    /// Why it matters.
    pub rationale: String,
    /// Facts sections the expressions read; if one could not be collected the control is `error`.
    #[serde(deserialize_with = "known_sections")]
    pub reads: Vec<SectionName>,
    /// Sections the expressions use when they were read and do without otherwise (guarded by
    /// `has(facts.X)`): an unreadable one is left out of `facts` and noted, never an `error`.
    #[serde(default, deserialize_with = "known_sections")]
    pub optional_reads: Vec<SectionName>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub params: IndexMap<String, ParamSpec>,
    /// CEL → bool; false makes the control `skipped` as not applicable.
    #[serde(default)]
    pub applies_when: Option<String>,
    /// CEL → list of maps `{id, name, detail}`; empty list passes.
    pub violations: String,
    /// CEL → list of strings: remarks that do not change the status.
    #[serde(default)]
    pub notes: Option<String>,
    pub messages: Messages,
    pub remediation: RemediationSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    pub pass: String,
    pub fail: String,
    /// Shown when `applies_when` is false.
    #[serde(default)]
    pub not_applicable: Option<String>,
}

/// Remediation as written: templated text, rendered against the target and the violations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationSpec {
    pub summary: String,
    pub steps: Vec<IndexMap<crate::model::StepKind, String>>,
    pub docs: Vec<String>,
}

impl RemediationSpec {
    /// The unrendered remediation (for `explain` and SARIF rule help).
    pub fn raw(&self) -> Remediation {
        Remediation {
            summary: self.summary.clone(),
            steps: self
                .steps
                .iter()
                .flat_map(|m| {
                    m.iter().map(|(k, v)| crate::model::RemediationStep {
                        kind: *k,
                        text: v.clone(),
                    })
                })
                .collect(),
            docs: self.docs.clone(),
        }
    }
}

/// `reads` as section names. A name that is not a section is left out here and reported by
/// the policy's load checks (`unknown_section`, at its node), which read the document as
/// written — so no policy naming one ever loads, and its other problems are reported too.
fn known_sections<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SectionName>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}
