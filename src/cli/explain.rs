//! `xdrguard explain ID`: what a control checks, why, with which params, and how to fix it.

use super::check::write_output;
use crate::facts::apis;
use crate::input::codes::UsageCode;
use crate::input::diagnostic::InputError;
use crate::policy::{load_catalog, ValidConfig};
use clap::Args;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Control ID, e.g. XDR-CON-03
    pub id: String,
    /// Show params as overridden by this config
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the policies in this folder; repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
}

pub fn run(args: ExplainArgs) -> Result<u8, InputError> {
    let catalog = load_catalog(&args.policies, true)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    let wanted = args.id.to_ascii_uppercase();
    let Some(c) = catalog.get(&wanted) else {
        let mut ids: Vec<&str> = catalog
            .controls
            .iter()
            .map(|c| c.policy.id.as_str())
            .collect();
        ids.sort();
        return Err(InputError::plain(
            UsageCode::UnknownControl,
            format!("unknown control ID `{}`", args.id),
        )
        .help(format!("known IDs: {}", ids.join(", "))));
    };
    let p = &c.policy;
    let eff = config.effective(c);
    let mut o = String::new();
    let _ = writeln!(o, "{} — {}", p.id, p.title);
    let sev = if eff.severity != p.severity {
        format!("{} (default {})", eff.severity, p.severity)
    } else {
        eff.severity.to_string()
    };
    let _ = writeln!(
        o,
        "Stage: {}   Severity: {}   Policy: {}",
        p.stage, sev, c.file
    );
    if !p.depends_on.is_empty() {
        let _ = writeln!(
            o,
            "Depends on: {} (skipped as blocked when one fails)",
            p.depends_on.join(", ")
        );
    }
    let _ = writeln!(o, "\nWhat is checked\n  {}", p.description.trim());
    let _ = writeln!(o, "\nWhy\n  {}", p.rationale.trim());
    let _ = writeln!(
        o,
        "\nFacts read (the control is `error` if one cannot be read)"
    );
    for r in &p.reads {
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
    if !p.params.is_empty() {
        let _ = writeln!(
            o,
            "\nParams (current value; override per control ID with --config)"
        );
        for (name, spec) in &p.params {
            let value = eff.params.get(name).cloned().unwrap_or_default();
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
    let r = p.remediation.raw();
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
    write_output(None, &o)?;
    Ok(0)
}
