//! The facts document: everything collection learned about one tenant and workspace.
//!
//! Collection writes it, the evaluator reads it; the two meet nowhere else.

pub mod apis;
pub mod schema;
pub mod sections;

pub use sections::{SectionData, SectionName};

use crate::input::codes::FactsCode;
use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input, Shape, Syntax};
use crate::input::schema::{Kind as SchemaKind, Violation};
use crate::input::yaml::Document;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The version this build writes. Version 2 added `automation_rules`,
/// `defender_service_principals`, `operator_azure_roles` and `defender_portal`; documents of
/// version 1 still load (controls reading those sections are skipped: see `apis::SectionInfo::since_schema`).
pub const SCHEMA_VERSION: u32 = 2;

/// The document envelope: what was audited, when, and each section's data or error.
///
/// Section data is held as the JSON its type in [`sections`] serialises to (or as read from a
/// file): policies evaluate JSON, and a hand-written document must be evaluated exactly as
/// written, absent keys included. `schemas/facts.schema.json` is generated from these types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FactsDocument {
    #[schemars(schema_with = "schema::schema_version")]
    pub schema_version: u32,
    #[schemars(schema_with = "schema::date_time")]
    pub collected_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ToolInfo")]
    pub tool: Option<ToolInfo>,
    pub target: Target,
    #[schemars(schema_with = "schema::sections")]
    pub sections: BTreeMap<SectionName, Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What was audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Target {
    /// ARM resource ID of the Sentinel workspace.
    #[schemars(regex(pattern = schema::WORKSPACE_ID_PATTERN))]
    pub workspace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// One of [`schema::CLOUDS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::cloud")]
    pub cloud: Option<String>,
    /// The operator as given on the command line (UPN or object ID), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// A section's data, or the error that stopped xdrguard from reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Data(Value),
    Error(SectionError),
}

impl From<SectionData> for Section {
    /// Typed data becomes the JSON the document holds (serialising it cannot fail: the
    /// section types are plain data with string keys).
    fn from(data: SectionData) -> Self {
        Section::Data(serde_json::to_value(data).expect("section data serialises"))
    }
}

/// Why a section could not be read, and how to let xdrguard read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SectionError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i64>")]
    pub status: Option<u16>,
    /// The Graph permission or Azure role that would allow the read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

impl SectionError {
    /// One line for a finding's `reason`: cause, then what to grant.
    pub fn describe(&self, section: impl std::fmt::Display) -> String {
        let mut s = format!(
            "could not read `{section}`: {} ({})",
            self.message, self.code
        );
        if let Some(st) = self.status {
            s.push_str(&format!(", HTTP {st}"));
        }
        if let Some(c) = &self.call {
            s.push_str(&format!(" — {c}"));
        }
        if let Some(p) = &self.permission {
            s.push_str(&format!(". Needed: {p}"));
        }
        if let Some(g) = &self.grant {
            s.push_str(&format!(". Grant it: {g}"));
        }
        s
    }
}

/// Parts of the workspace resource ID, for remediation commands.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkspaceRef {
    pub id: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl WorkspaceRef {
    /// Split `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}`.
    pub fn parse(id: &str) -> Option<Self> {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [s, sub, rg_key, rg, p, ns, w, name]
                if s.eq_ignore_ascii_case("subscriptions")
                    && rg_key.eq_ignore_ascii_case("resourceGroups")
                    && p.eq_ignore_ascii_case("providers")
                    && ns.eq_ignore_ascii_case("Microsoft.OperationalInsights")
                    && w.eq_ignore_ascii_case("workspaces")
                    && !sub.is_empty()
                    && !rg.is_empty()
                    && !name.is_empty() =>
            {
                // ARM resource IDs are case-insensitive ("Resource names are case-insensitive
                // unless noted", learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)
                // and `az` often prints them lowercase: one canonical spelling from here on.
                let sub = if is_guid(sub) {
                    sub.to_ascii_lowercase()
                } else {
                    sub.to_string()
                };
                Some(WorkspaceRef {
                    id: format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"),
                    subscription_id: sub,
                    resource_group: rg.to_string(),
                    name: name.to_string(),
                })
            }
            _ => None,
        }
    }
}

/// What to do about a facts document that does not load.
const FACTS_HELP: &str = "a facts document is the JSON that `xdrguard collect` writes";

impl Input for FactsDocument {
    const SCHEMA: SchemaKind = SchemaKind::Facts;
    const NAME: &'static str = "facts document";

    fn syntax() -> Syntax {
        Syntax::Json {
            code: FactsCode::Json.into(),
            help: FACTS_HELP,
        }
    }

    fn codes() -> Codes {
        Codes {
            schema: FactsCode::Schema.into(),
            shape: FactsCode::Shape.into(),
        }
    }

    fn schema_errors(doc: &Document, violations: &[Violation]) -> Vec<InputError> {
        violations
            .iter()
            .map(|v| {
                doc.error_at(
                    FactsCode::Schema,
                    &v.pointer,
                    format!(
                        "facts document does not match schemas/facts.schema.json at `{}`: {}",
                        display_pointer(&v.pointer),
                        v.message
                    ),
                )
                .label("here")
                .help("regenerate the document with `xdrguard collect`, or fix it to match schemas/facts.schema.json")
            })
            .collect()
    }

    fn shape_error(doc: &Document, e: Shape) -> InputError {
        InputError::at(
            FactsCode::Shape,
            &doc.file,
            None,
            format!("facts document has the wrong shape: {}", e.message),
        )
        .help("regenerate the document with `xdrguard collect`")
    }
}

/// A GUID in its 8-4-4-4-12 hex form (any case), as Azure subscription and Entra object ids are.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl FactsDocument {
    /// Read and validate a facts document; any problem is an `InputError` naming line and column.
    pub fn load(path: &Path) -> Result<Self, InputError> {
        load::file(path, InputKind::Facts, load::no_checks)
    }

    pub fn parse(file: SourceFile) -> Result<Self, InputError> {
        load::source(file, load::no_checks)
            .map(|(_, facts)| facts)
            .map_err(load::merged)
    }

    /// The data of a section, if it was read.
    pub fn data(&self, name: SectionName) -> Option<&Value> {
        match self.sections.get(&name) {
            Some(Section::Data(v)) => Some(v),
            _ => None,
        }
    }

    pub fn workspace(&self) -> Option<WorkspaceRef> {
        WorkspaceRef::parse(&self.target.workspace_id)
    }
}

fn display_pointer(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_id_parts() {
        let w = WorkspaceRef::parse("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws").unwrap();
        assert_eq!(
            (
                w.subscription_id.as_str(),
                w.resource_group.as_str(),
                w.name.as_str()
            ),
            ("s1", "rg", "ws")
        );
        assert!(WorkspaceRef::parse("/subscriptions/s1/resourceGroups/rg").is_none());
    }

    #[test]
    fn workspace_ids_of_any_case_become_one_canonical_id() {
        let canonical = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWs";
        for typed in [
            canonical.to_string(),
            canonical
                .to_ascii_lowercase()
                .replace("myrg", "myRg")
                .replace("myws", "myWs"),
            canonical
                .to_ascii_uppercase()
                .replace("MYRG", "myRg")
                .replace("MYWS", "myWs"),
        ] {
            assert_eq!(
                WorkspaceRef::parse(&typed).unwrap().id,
                canonical,
                "{typed}"
            );
        }
        assert!(is_guid("87D349ED-44d7-43e1-9a83-5f2406dee5bd"));
        assert!(!is_guid("AdeleV@contoso.com"));
    }
}
