//! The text of `xdrguard permissions`: the least Graph permissions and Azure roles a
//! read-only audit identity needs, from the same table the collectors use for their errors.

use crate::facts::apis::{Api, SectionInfo, SECTIONS};
use serde_json::json;

/// How `permissions` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PermFormat {
    Text,
    Markdown,
    Json,
}

const APIS: [(Api, &str); 3] = [
    (
        Api::Graph,
        "application permissions (or delegated, for a signed-in user); admin consent required",
    ),
    (Api::Arm, "Azure roles"),
    (Api::LogAnalytics, "Azure roles"),
];

/// Distinct permissions of one API, each with the sections that need it, in catalog order.
fn grouped(api: Api) -> Vec<(&'static str, Vec<&'static SectionInfo>)> {
    let mut out: Vec<(&'static str, Vec<&'static SectionInfo>)> = Vec::new();
    // A derived section needs what its inputs need, listed under them.
    for s in SECTIONS
        .iter()
        .filter(|s| s.api == api && s.derived_from.is_empty())
    {
        match out.iter_mut().find(|(p, _)| *p == s.permission) {
            Some((_, v)) => v.push(s),
            None => out.push((s.permission, vec![s])),
        }
    }
    out
}

/// Sections computed from others (their inputs' permissions cover them).
fn derived() -> impl Iterator<Item = &'static SectionInfo> {
    SECTIONS.iter().filter(|s| !s.derived_from.is_empty())
}

fn grants(api: Api) -> Vec<&'static str> {
    let mut g: Vec<&'static str> = Vec::new();
    for s in SECTIONS.iter().filter(|s| s.api == api) {
        if !g.contains(&s.grant) {
            g.push(s.grant);
        }
    }
    g
}

pub fn render(format: PermFormat) -> String {
    match format {
        PermFormat::Json => {
            let v: Vec<_> = SECTIONS
                .iter()
                .map(|s| {
                    json!({"section": s.name, "api": s.api.as_str(), "call": s.call, "api_version": s.api_version,
                           "permission": s.permission, "grant": s.grant})
                })
                .collect();
            serde_json::to_string_pretty(&v).expect("json") + "\n"
        }
        PermFormat::Text => {
            let mut out = String::from(
                "A read-only audit identity needs exactly these (nothing that can write):\n",
            );
            for (api, kind) in APIS {
                out.push_str(&format!("\n{} — {kind}:\n", api.as_str()));
                for (perm, sections) in grouped(api) {
                    let names: Vec<_> = sections.iter().map(|s| s.name.as_str()).collect();
                    out.push_str(&format!("  {perm}\n      for: {}\n", names.join(", ")));
                }
                out.push_str("  grant:\n");
                for g in grants(api) {
                    out.push_str(&format!("      {g}\n"));
                }
            }
            out.push_str("\nDerived (computed from other sections, no call of their own):\n");
            for s in derived() {
                let from: Vec<_> = s.derived_from.iter().map(|n| n.as_str()).collect();
                out.push_str(&format!(
                    "  {}: from {}; needs {}\n",
                    s.name,
                    from.join(", "),
                    s.permission
                ));
            }
            out
        }
        PermFormat::Markdown => {
            let mut out = String::new();
            for (api, kind) in APIS {
                out.push_str(&format!(
                    "### {} — {kind}\n\n| Permission | Facts sections | Calls |\n|---|---|---|\n",
                    api.as_str()
                ));
                for (perm, sections) in grouped(api) {
                    let names: Vec<_> = sections.iter().map(|s| format!("`{}`", s.name)).collect();
                    let calls: Vec<_> = sections
                        .iter()
                        .map(|s| format!("`{}` ({})", s.call.replace('|', "\\|"), s.api_version))
                        .collect();
                    out.push_str(&format!(
                        "| {perm} | {} | {} |\n",
                        names.join(", "),
                        calls.join("<br>")
                    ));
                }
                out.push_str("\nGrant: ");
                out.push_str(&grants(api).join("; or "));
                out.push_str("\n\n");
            }
            out.push_str("Derived sections (no call of their own): ");
            let derived: Vec<_> = derived()
                .map(|s| format!("`{}` ({})", s.name, s.permission))
                .collect();
            out.push_str(&derived.join("; "));
            out.push_str("\n\n");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_permission_is_printed() {
        let text = render(PermFormat::Text);
        for s in SECTIONS {
            assert!(text.contains(s.permission), "{} missing", s.permission);
            assert!(text.contains(s.name.as_str()));
        }
        assert!(text.contains("SecurityIdentitiesSensors.Read.All"));
        let v: serde_json::Value = serde_json::from_str(&render(PermFormat::Json)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), SECTIONS.len());
    }
}
