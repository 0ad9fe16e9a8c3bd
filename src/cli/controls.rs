//! `xdrguard controls`: the catalog at a glance, filterable by stage.

use super::check::write_output;
use crate::input::diagnostic::InputError;
use crate::model::Stage;
use crate::policy::{load_catalog, ValidConfig};
use crate::report::controls::{render, ListFormat, Row};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ControlsArgs {
    /// Only this stage
    #[arg(long, value_enum)]
    pub stage: Option<StageArg>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Show severities and on/off as this config sets them
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the policies in this folder; repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    Prerequisite,
    Connector,
    Verification,
    DefenderPortal,
}

impl From<StageArg> for Stage {
    fn from(s: StageArg) -> Stage {
        match s {
            StageArg::Prerequisite => Stage::Prerequisite,
            StageArg::Connector => Stage::Connector,
            StageArg::Verification => Stage::Verification,
            StageArg::DefenderPortal => Stage::DefenderPortal,
        }
    }
}

pub fn run(args: ControlsArgs) -> Result<u8, InputError> {
    let catalog = load_catalog(&args.policies, true)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    let stage = args.stage.map(Stage::from);
    let mut rows: Vec<Row> = catalog
        .controls
        .iter()
        .filter(|c| stage.is_none_or(|s| c.policy.stage == s))
        .map(|c| {
            let eff = config.effective(c);
            Row {
                control: c,
                severity: eff.severity,
                enabled: eff.enabled,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Row| (r.control.policy.stage, r.control.policy.id.clone());
        key(a).cmp(&key(b))
    });
    write_output(None, &render(&rows, args.format))?;
    Ok(0)
}
