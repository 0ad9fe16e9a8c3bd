//! Analytics rules in the Azure-Sentinel repository's YAML format (`id`, `name`, `kind`,
//! `severity`, `queryFrequency`, `query`, … — e.g. Azure/Azure-Sentinel
//! `Solutions/Microsoft Defender XDR/Analytic Rules/Execution/BITSAdminActivity.yaml`).
//!
//! The format has no enabled state (it is set when a rule is created from it), so `enabled`
//! is unresolved unless the file carries a non-standard `enabled` key. YAML that is not a
//! rule (workflows, configs) is skipped silently: it is everywhere in a repository.

use super::{ContentItem, ScanOptions, SourceLocation, Unresolved, UnresolvedCause};
use crate::facts::SectionName;
use crate::input::codes::ContentCode;
use crate::input::diagnostic::InputError;
use crate::input::yaml;
use serde_json::{json, Value};
use std::path::Path;

/// Kinds whose rules must carry a `query`.
const QUERY_KINDS: &[&str] = &["scheduled", "nrt"];

/// Read a YAML file; `Some` when it is an analytics rule.
pub fn read_rule(path: &Path, opts: &ScanOptions) -> Result<Option<ContentItem>, InputError> {
    let file = super::read_file(path, opts)?;
    let doc = yaml::parse(file).map_err(|mut e| {
        e.code = ContentCode::Yaml.into();
        e
    })?;
    let Some(o) = doc.value.as_object() else {
        return Ok(None);
    };
    let (Some(id), Some(name), Some(kind)) = (o.get("id"), o.get("name"), o.get("kind")) else {
        return Ok(None);
    };
    let kind_text = kind.as_str().map(str::to_ascii_lowercase);
    let looks_like_rule = o.contains_key("query")
        || kind_text
            .as_deref()
            .is_some_and(|k| !QUERY_KINDS.contains(&k));
    if !looks_like_rule {
        return Ok(None);
    }
    let wrong = |key: &str, what: &str| {
        doc.error_at(
            ContentCode::Rule,
            &format!("/{key}"),
            format!("analytics rule `{key}` must be {what}"),
        )
        .label("here")
        .help("the Azure-Sentinel YAML rule format: https://github.com/Azure/Azure-Sentinel/wiki/Query-Style-Guide")
    };
    let id = id
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| wrong("id", "a string (the rule's GUID)"))?;
    let name = name.as_str().ok_or_else(|| wrong("name", "a string"))?;
    let kind = kind
        .as_str()
        .ok_or_else(|| wrong("kind", "a string (Scheduled, NRT, …)"))?;
    for key in [
        "severity",
        "query",
        "queryFrequency",
        "queryPeriod",
        "triggerOperator",
    ] {
        if o.get(key).is_some_and(|v| !v.is_string()) {
            return Err(wrong(key, "a string"));
        }
    }
    let offset = doc.spans.key("/id").map_or(0, |s| s.offset);
    let (line, column) = doc.file.line_col(offset);
    let location = SourceLocation {
        path: doc.file.path.clone(),
        line,
        column,
    };
    let mut unresolved = Vec::new();
    let enabled = match o.get("enabled") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong("enabled", "true or false")),
        None => {
            unresolved.push(Unresolved {
                field: "enabled",
                expression: "the Azure-Sentinel YAML format has no enabled state; it is set when the rule is created".into(),
                location: location.clone(),
                cause: UnresolvedCause::NotInFormat,
            });
            false
        }
    };
    let full = format!(
        "{}/providers/Microsoft.SecurityInsights/alertRules/{id}",
        opts.target.workspace()
    );
    Ok(Some(ContentItem {
        section: SectionName::AlertRules,
        key: full.clone(),
        value: json!({
            "id": full,
            "name": id,
            "kind": kind,
            "display_name": name,
            "enabled": enabled,
            "product_filter": null,
        }),
        location,
        unresolved,
    }))
}
