//! `xdrguard controls`: the catalog at a glance, filterable by stage.

use super::check::write_output;
use crate::input::diagnostic::InputError;
use crate::model::Stage;
use crate::policy::{load_catalog, ValidConfig};
use clap::{Args, ValueEnum};
use comfy_table::{presets, ContentArrangement, Table};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ControlsArgs {
    /// Only this stage
    #[arg(long, value_enum)]
    pub stage: Option<StageArg>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
    /// Show severities as overridden by this config
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
}

impl From<StageArg> for Stage {
    fn from(s: StageArg) -> Stage {
        match s {
            StageArg::Prerequisite => Stage::Prerequisite,
            StageArg::Connector => Stage::Connector,
            StageArg::Verification => Stage::Verification,
        }
    }
}

pub fn run(args: ControlsArgs) -> Result<u8, InputError> {
    let catalog = load_catalog(&args.policies, true)?;
    let config = ValidConfig::load(args.config.as_deref(), &catalog)?;
    let stage = args.stage.map(Stage::from);
    let mut rows: Vec<_> = catalog
        .controls
        .iter()
        .filter(|c| stage.is_none_or(|s| c.policy.stage == s))
        .map(|c| (c, config.effective(c)))
        .collect();
    rows.sort_by(|a, b| {
        (a.0.policy.stage, &a.0.policy.id).cmp(&(b.0.policy.stage, &b.0.policy.id))
    });
    let text = match args.format {
        ListFormat::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|(c, e)| {
                    serde_json::json!({
                        "id": c.policy.id, "title": c.policy.title, "stage": c.policy.stage,
                        "severity": e.severity, "depends_on": c.policy.depends_on,
                        "reads": c.policy.reads, "file": c.file,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&items).expect("serialises") + "\n"
        }
        ListFormat::Table => {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.force_no_tty();
            t.set_header(vec!["ID", "Stage", "Severity", "Title", "Depends on"]);
            for (c, e) in &rows {
                t.add_row(vec![
                    c.policy.id.clone(),
                    c.policy.stage.to_string(),
                    e.severity.to_string(),
                    c.policy.title.clone(),
                    c.policy.depends_on.join(", "),
                ]);
            }
            format!("{t}\n{} controls\n", rows.len())
        }
    };
    write_output(None, &text)?;
    Ok(0)
}
