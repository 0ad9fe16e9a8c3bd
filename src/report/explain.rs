//! The text of `xdrguard explain ID`: what a control checks, why, which facts it reads (and
//! the permission each needs), its params, and how to fix it.

use crate::facts::apis;
use crate::facts::SectionName;
use crate::model::Severity;
use crate::policy::load::Control;
use crate::policy::template::render_or_flag;
use serde_json::{json, Map, Value};
use std::fmt::Write;

/// A control with its settings after config overrides.
pub struct Explained<'a> {
    pub control: &'a Control,
    pub severity: Severity,
    /// Whether it runs; `false` when a config turns it off.
    pub enabled: bool,
    /// The config that set severity, enabled or params, when one was given.
    pub config: Option<&'a str>,
    pub params: &'a Map<String, Value>,
}

/// The text, every control character from the policy or its params made visible.
pub fn render(e: &Explained) -> String {
    let o = text(e);
    super::terminal::visible(&o, super::terminal::Keep::Lines).into_owned()
}

fn text(e: &Explained) -> String {
    let mut o = String::new();
    header(&mut o, e);
    let p = &e.control.policy;
    let _ = writeln!(o, "\nWhat is checked\n  {}", p.description.trim());
    let _ = writeln!(o, "\nWhy\n  {}", p.rationale.trim());
    reads(&mut o, &p.reads);
    params(&mut o, e);
    remediation(&mut o, e);
    o
}

/// Title, stage, severity (and its default when overridden), policy file, dependencies.
fn header(o: &mut String, e: &Explained) {
    let p = &e.control.policy;
    let _ = writeln!(o, "{} — {}", p.id, p.title);
    let sev = if e.severity != p.severity {
        format!("{} (default {})", e.severity, p.severity)
    } else {
        e.severity.to_string()
    };
    let _ = writeln!(
        o,
        "Stage: {}   Severity: {}   Policy: {}",
        p.stage, sev, e.control.file
    );
    if !e.enabled {
        let _ = writeln!(
            o,
            "Disabled by {}: the control does not run (its result is `skipped`)",
            e.config.unwrap_or("the config")
        );
    }
    if !p.depends_on.is_empty() {
        let _ = writeln!(
            o,
            "Depends on: {} (skipped as blocked when one fails)",
            p.depends_on.join(", ")
        );
    }
}

/// Each facts section read, with the call and the permission it needs.
fn reads(o: &mut String, reads: &[SectionName]) {
    let _ = writeln!(
        o,
        "\nFacts read (the control is `error` if one cannot be read)"
    );
    for r in reads {
        let s = apis::section(*r);
        let _ = writeln!(
            o,
            "  {r}: {} {} (api-version {}); needs {}",
            s.api.as_str(),
            readable_call(s.call),
            s.api_version,
            s.permission
        );
    }
}

fn params(o: &mut String, e: &Explained) {
    let p = &e.control.policy;
    if p.params.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\nParams (current value; override per control ID with --config)"
    );
    for (name, spec) in &p.params {
        let value = e.params.get(name).cloned().unwrap_or_default();
        let shared = spec
            .shared_with
            .as_deref()
            .map(|s| format!(" [shared with {s}: set it there]"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {name} ({}){shared}: {}\n    = {}",
            spec.kind.as_str(),
            spec.description.trim(),
            value
        );
    }
}

/// A catalog call with its placeholders spelled out: `{si}/dataConnectors` reads as
/// `<workspace>/providers/Microsoft.SecurityInsights/dataConnectors`.
fn readable_call(call: &str) -> String {
    call.replace("{si}", "{ws}/providers/Microsoft.SecurityInsights")
        .replace("{ws}", "<workspace>")
        .replace("{sub}", "<subscription ID>")
        .replace("{upn-or-id}", "<operator UPN or object ID>")
        .replace("{operator}", "<operator object ID>")
        .replace("{id}", "<operator object ID>")
}

/// Example values the remediation is rendered with: each names the fact it stands for, so
/// the steps read as they will in a report, not as template source.
fn example_context(params: &Map<String, Value>) -> Value {
    json!({
        "target": {
            "workspace_id": "/subscriptions/<subscription ID>/resourceGroups/<resource group>/providers/Microsoft.OperationalInsights/workspaces/<workspace name>",
            "subscription_id": "<subscription ID>",
            "resource_group": "<resource group>",
            "workspace_name": "<workspace name>",
            "tenant_id": "<tenant ID>",
            "cloud": "public",
            "operator": "<operator UPN>",
            "operator_id": "<operator object ID>",
        },
        "params": params,
        "violations": [{
            "id": "<ID of an offending item>",
            "name": "<name of an offending item>",
            "detail": "<what is wrong with it>",
        }],
        "count": 1,
        "names": "<names of the offending items>",
    })
}

/// The remediation as a report shows it, rendered over [`example_context`] (with the current
/// params), multi-line steps indented.
fn remediation(o: &mut String, e: &Explained) {
    let r = e.control.policy.remediation.raw();
    let ctx = example_context(e.params);
    let render = |t: &str| render_or_flag(t, &ctx);
    let _ = writeln!(
        o,
        "\nRemediation (as a report shows it; <…> is filled in from the facts)\n  {}",
        render(&r.summary).trim()
    );
    for (i, s) in r.steps.iter().enumerate() {
        let text = render(&s.text);
        let mut lines = text.trim_end().lines();
        let each = if s.text.contains("{% for") {
            " (for each offending item)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  {}. {}{each}: {}",
            i + 1,
            s.kind,
            lines.next().unwrap_or_default()
        );
        for l in lines {
            let _ = writeln!(o, "       {l}");
        }
    }
    for d in &r.docs {
        let _ = writeln!(o, "  Learn: {d}");
    }
}
