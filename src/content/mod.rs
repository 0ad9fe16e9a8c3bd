//! Sentinel content as code (what a pull request changes), read into the facts sections the
//! live collector writes, so the same policies judge it (`xdrguard scan`).
//!
//! Data flows one way: select the files (`select`: paths, folders, a changed-file list) →
//! parse with offsets (`json`, `yaml_rules`) → templates (`arm`: parameters, variables,
//! `expr`essions) → content items tagged with their source location (`ContentSet`) → facts,
//! evaluation and the not-in-content / unknown rules (`judge`), optionally over live facts.

pub mod arm;
pub mod automation;
pub mod expr;
pub mod json;
pub mod judge;
pub mod select;
pub mod yaml_rules;

use crate::facts::SectionName;
use crate::input::codes::ContentCode;
use crate::input::diagnostic::{InputError, SourceFile};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest content file read by default (`--max-file-size`). The Defender XDR solution's real
/// mainTemplate is 1.4 MB, so this stays well above what Content Hub ships.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;
/// Most content files one scan reads by default (`--max-files`).
pub const DEFAULT_MAX_FILES: usize = 20_000;
/// Most resources one template may declare (nested ones included).
pub const MAX_RESOURCES_PER_TEMPLATE: usize = 10_000;

/// Where a content resource is written: path relative to the repository root, `/`-separated,
/// and the 1-based line and column of the resource (its `{`, or a YAML rule's `id` key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLocation {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

/// Why a value is not known from the content alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnresolvedCause {
    /// A template function xdrguard does not evaluate (`reference()`, `uniqueString()`, …).
    Expression,
    /// Known only at deployment: `subscription()`, `resourceGroup()`, the workspace name.
    DeploymentTarget,
    /// The format has no such value (Azure-Sentinel YAML rules carry no enabled state).
    NotInFormat,
}

/// A facts field of a content item whose value could not be resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unresolved {
    /// The facts field name (`enabled`, `filtered_alert_providers`, …).
    pub field: &'static str,
    /// The expression as written, or what the format lacks.
    pub expression: String,
    pub location: SourceLocation,
    pub cause: UnresolvedCause,
}

/// One resource of the content as a facts item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentItem {
    pub section: SectionName,
    /// Full ARM ID (alert rules, connectors, packages) or name (tables, settings): what
    /// evidence names and what overlays match on.
    pub key: String,
    /// The item as the facts section holds it; unresolved fields hold a placeholder.
    pub value: Value,
    pub location: SourceLocation,
    pub unresolved: Vec<Unresolved>,
}

/// What a scan read but does not judge, or read with a caveat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentNote {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Bicep,
    NotTemplate,
    NotJudged,
    Parameters,
    Template,
    Deleted,
}

/// A Content Hub content template (inventory: installing a package creates templates, not
/// rules — Learn "Content Template – Install", REST 2025-03-01).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryEntry {
    pub location: SourceLocation,
    pub resource_type: String,
    pub content_kind: Option<String>,
    pub display_name: Option<String>,
    pub nested: Vec<NestedResource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NestedResource {
    pub resource_type: String,
    pub kind: Option<String>,
    pub location: SourceLocation,
}

/// Everything one scan read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContentSet {
    pub items: Vec<ContentItem>,
    pub automation_rules: Vec<automation::AutomationRule>,
    pub templates: Vec<InventoryEntry>,
    pub notes: Vec<ContentNote>,
    pub files_scanned: usize,
}

/// Where the content would be deployed: known from `--workspace` or `--facts`, else
/// placeholders (then `subscription()` and the workspace name are unknown).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub workspace_id: Option<String>,
    pub workspace_name: Option<String>,
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    pub tenant_id: Option<String>,
}

/// The workspace ID used when no target is given (matches the facts `target` pattern).
pub const PLACEHOLDER_WORKSPACE: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/{workspace}";

impl Target {
    /// The full workspace resource ID, or the placeholder.
    pub fn workspace(&self) -> &str {
        self.workspace_id
            .as_deref()
            .unwrap_or(PLACEHOLDER_WORKSPACE)
    }
}

/// How to read the content.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub repo_root: PathBuf,
    pub max_file_size: u64,
    pub max_files: usize,
    /// The Log Analytics workspace GUID: picks `*.parameters-<GUID>.json`.
    pub workspace_guid: Option<String>,
    pub target: Target,
}

/// Read every selected file into a [`ContentSet`]; bad content is an [`InputError`].
pub fn scan(files: &[select::Candidate], opts: &ScanOptions) -> Result<ContentSet, InputError> {
    let mut set = ContentSet::default();
    for c in files {
        match c {
            select::Candidate::Json(p) => {
                set.files_scanned += 1;
                arm::read_template(p, opts, &mut set)?;
            }
            select::Candidate::Yaml(p) => {
                if let Some(item) = yaml_rules::read_rule(p, opts)? {
                    set.files_scanned += 1;
                    set.items.push(item);
                }
            }
            select::Candidate::Bicep(p) => {
                let rel = relative(&opts.repo_root, p);
                set.notes.push(ContentNote {
                    message: format!(
                        "Bicep is not parsed: compile it with `az bicep build --file {rel}` (or `bicep build {rel}`) and scan the JSON"
                    ),
                    path: rel,
                    line: None,
                    kind: NoteKind::Bicep,
                });
            }
        }
    }
    Ok(set)
}

/// `path` relative to `root`, `/`-separated (as it stands when not under `root`).
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = rel.strip_prefix(".").unwrap_or(rel);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Read a content file, refusing one over the size limit.
pub fn read_file(path: &Path, opts: &ScanOptions) -> Result<SourceFile, InputError> {
    let rel = relative(&opts.repo_root, path);
    let limit = opts.max_file_size;
    let too_large = || {
        InputError::plain(
            ContentCode::TooLarge,
            format!(
                "{rel}:1:1: over the content size limit of {} (--max-file-size)",
                select::human_size(limit)
            ),
        )
        .help("raise the limit with --max-file-size (e.g. 64MiB) if the file is real content, or --exclude it")
    };
    // A hard cap on the bytes read (a pipe or device has no size to trust), checked early
    // against a regular file's size.
    let mut file = SourceFile::read_at_most(path, limit).map_err(|e| {
        if e.code == <&str>::from(crate::input::codes::InputCode::TooLarge) {
            too_large()
        } else {
            e
        }
    })?;
    file.path = rel;
    Ok(file)
}
