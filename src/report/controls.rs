//! The text of `xdrguard controls`: the catalog at a glance, as a table or JSON.

use crate::model::Severity;
use crate::policy::load::Control;
use comfy_table::{presets, ContentArrangement, Table};

/// How `controls` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// One listed control, with its severity and on/off after config overrides.
pub struct Row<'a> {
    pub control: &'a Control,
    pub severity: Severity,
    pub enabled: bool,
}

pub fn render(rows: &[Row], format: ListFormat) -> String {
    match format {
        ListFormat::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|r| {
                    let p = &r.control.policy;
                    serde_json::json!({
                        "id": p.id, "title": p.title, "stage": p.stage,
                        "severity": r.severity, "enabled": r.enabled, "depends_on": p.depends_on,
                        "reads": p.reads, "file": r.control.file,
                    })
                })
                .collect();
            super::terminal::json_escaped(
                serde_json::to_string_pretty(&items).expect("serialises") + "\n",
            )
        }
        ListFormat::Table => {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.force_no_tty();
            t.set_header(vec![
                "ID",
                "Stage",
                "Severity",
                "Enabled",
                "Title",
                "Depends on",
            ]);
            for r in rows {
                let p = &r.control.policy;
                t.add_row(vec![
                    p.id.clone(),
                    p.stage.to_string(),
                    r.severity.to_string(),
                    if r.enabled { "yes" } else { "no" }.to_string(),
                    p.title.clone(),
                    p.depends_on.join(", "),
                ]);
            }
            let disabled = rows.iter().filter(|r| !r.enabled).count();
            let text = match disabled {
                0 => format!("{t}\n{} controls\n", rows.len()),
                n => format!("{t}\n{} controls, {n} disabled by the config\n", rows.len()),
            };
            super::terminal::visible(&text, super::terminal::Keep::Lines).into_owned()
        }
    }
}
