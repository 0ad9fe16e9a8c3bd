//! The text of `xdrguard explain ID`: what a control checks, why, which facts it reads (and
//! the permission each needs), its params, and how to fix it.

use crate::facts::apis;
use crate::facts::SectionName;
use crate::model::Severity;
use crate::policy::load::Control;
use serde_json::{Map, Value};
use std::fmt::Write;

/// A control with its settings after config overrides.
pub struct Explained<'a> {
    pub control: &'a Control,
    pub severity: Severity,
    pub params: &'a Map<String, Value>,
}

pub fn render(e: &Explained) -> String {
    let mut o = String::new();
    header(&mut o, e);
    let p = &e.control.policy;
    let _ = writeln!(o, "\nWhat is checked\n  {}", p.description.trim());
    let _ = writeln!(o, "\nWhy\n  {}", p.rationale.trim());
    reads(&mut o, &p.reads);
    params(&mut o, e);
    remediation(&mut o, e.control);
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
            s.call,
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

/// The remediation as written (templates unrendered), multi-line steps indented.
fn remediation(o: &mut String, control: &Control) {
    let r = control.policy.remediation.raw();
    let _ = writeln!(o, "\nRemediation\n  {}", r.summary.trim());
    for (i, s) in r.steps.iter().enumerate() {
        let mut lines = s.text.trim_end().lines();
        let _ = writeln!(
            o,
            "  {}. {}: {}",
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
