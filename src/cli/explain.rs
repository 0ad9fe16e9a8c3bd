//! `xdrguard explain ID`: what a control checks, why, with which params, and how to fix it.

use super::check::write_output;
use crate::input::diagnostic::InputError;
use crate::policy::{load_catalog, ValidConfig};
use crate::report::explain::{render, Explained};
use clap::Args;
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
        let ids = catalog.controls.iter().map(|c| c.policy.id.as_str());
        return Err(super::unknown_control(&args.id, ids));
    };
    let eff = config.effective(c);
    let config_name = args.config.as_ref().map(|p| p.display().to_string());
    let text = render(&Explained {
        control: c,
        severity: eff.severity,
        enabled: eff.enabled,
        config: config_name.as_deref(),
        params: &eff.params,
    });
    write_output(None, &text)?;
    Ok(0)
}
