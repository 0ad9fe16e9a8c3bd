//! `xdrguard scan`: judge the Sentinel content a repository (or a pull request's change)
//! holds, with the same policies `check` runs on live facts. Arguments and dispatch only.

use super::check::{load_inputs, now, write_output, EvalArgs};
use crate::content::{self, judge, select, ScanOptions, Target};
use crate::facts::{FactsDocument, SectionName, WorkspaceRef};
use crate::input::codes::ContentCode;
use crate::input::diagnostic::{InputError, SourceFile, MAX_INPUT_BYTES};
use crate::model::Status;
use crate::outcome::Report;
use crate::report::{self, Format};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders of Sentinel content (ARM JSON, Azure-Sentinel YAML rules); folders
    /// recurse, honouring .gitignore
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Locations are relative to this folder (default: the git top level of the first PATH)
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// Leave out files matching this glob (gitignore syntax, relative to the repo root); repeatable
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Only the files changed since this git revision (`git diff REF...HEAD`), under PATH
    #[arg(long, value_name = "REF", conflicts_with = "paths_from")]
    pub changed_from: Option<String>,
    /// Only the files listed in this file, one a line (`-` reads stdin), under PATH
    #[arg(long, value_name = "FILE")]
    pub paths_from: Option<PathBuf>,
    /// Largest content file read (bytes, or with KiB/MiB/GiB)
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = super::limits::parse_bytes)]
    pub max_file_size: u64,
    /// Most content files read
    #[arg(long, value_name = "N", default_value_t = content::DEFAULT_MAX_FILES)]
    pub max_files: usize,
    /// Live facts (from `xdrguard collect`): judge the workspace as it will be after the merge
    #[arg(long, value_name = "FILE", conflicts_with = "workspace")]
    pub facts: Option<PathBuf>,
    /// The workspace the content deploys to (ARM resource ID), without live facts
    #[arg(long, value_name = "ARM-ID")]
    pub workspace: Option<String>,
    /// The Log Analytics workspace ID (GUID): picks `*.parameters-<GUID>.json` files
    #[arg(long, value_name = "GUID")]
    pub workspace_id: Option<String>,
    /// Also print GitHub workflow commands (`::error file=…,line=…::`) on stdout, so a
    /// pull request's diff is annotated without code scanning
    #[arg(long)]
    pub annotations: bool,
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Print nothing on stdout (--output and --report files are still written)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(mut args: ScanArgs) -> Result<u8, InputError> {
    args.eval.quiet = args.quiet;
    let inputs = load_inputs(&args.eval)?;
    let live = args.facts.as_deref().map(FactsDocument::load).transpose()?;
    let target = target(&args, live.as_ref())?;
    let set = read_content(&args, live.as_ref(), &target)?;
    let now = now()?;
    let judged = judge::judge(
        &inputs.catalog,
        &inputs.config,
        args.eval.profile,
        &set,
        live.as_ref(),
        &target,
        now,
    );
    let report = Report::new(
        judged.findings,
        &judged.facts,
        args.eval.profile,
        &inputs.gate,
        now,
    );
    let e = &args.eval;
    if e.output.is_some() || !e.quiet {
        let text = report::render(&report, e.format, e.output.is_none());
        write_output(e.output.as_deref(), &text)?;
    }
    for spec in &e.reports {
        write_output(
            Some(&spec.path),
            &report::render(&report, spec.format, false),
        )?;
    }
    if args.annotations && !e.quiet {
        write_output(None, &annotations(&report, &set, &judged.locations))?;
    }
    let table_on_stdout = e.format == Format::Table && e.output.is_none() && !e.quiet;
    if !table_on_stdout {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
    }
    if !e.quiet {
        for n in &set.notes {
            let at = n.line.map(|l| format!(":{l}")).unwrap_or_default();
            eprintln!("note: {}{at}: {}", n.path, n.message);
        }
        let replaced = if live.is_some() {
            format!("; {} live item(s) replaced", judged.replaced.len())
        } else {
            String::new()
        };
        eprintln!(
            "scanned {} content file(s): {} item(s), {} automation rule(s), {} content template(s){replaced}",
            set.files_scanned,
            // Automation rules are counted on their own (those that resolve are items too).
            set.items
                .iter()
                .filter(|i| i.section != crate::facts::SectionName::AutomationRules)
                .count(),
            set.automation_rules.len(),
            set.templates.len(),
        );
    }
    Ok(report.exit_code)
}

/// Select the files (paths, or a change list) and read them.
fn read_content(
    args: &ScanArgs,
    live: Option<&FactsDocument>,
    target: &Target,
) -> Result<content::ContentSet, InputError> {
    let workspace_guid = args.workspace_id.clone().or_else(|| {
        live.and_then(|l| l.data(SectionName::Workspace))
            .and_then(|w| w.get("customer_id"))
            .and_then(|v| v.as_str())
            .map(String::from)
    });
    let first = args.paths.first().cloned().unwrap_or_else(|| ".".into());
    let repo_root = match &args.repo_root {
        Some(r) => std::fs::canonicalize(r).map_err(|e| InputError::io(r, &e))?,
        None => select::repo_root(&first),
    };
    let paths: Vec<PathBuf> = args
        .paths
        .iter()
        .map(|p| std::fs::canonicalize(p).map_err(|e| InputError::io(p, &e)))
        .collect::<Result<_, _>>()?;
    let changed = match (&args.changed_from, &args.paths_from) {
        (Some(base), _) => Some(select::changed_since(&repo_root, base)?),
        (None, Some(list)) => {
            let file = if list.as_os_str() == "-" {
                SourceFile::read_stdin(MAX_INPUT_BYTES)?
            } else {
                SourceFile::read(list)?
            };
            Some(select::paths_from_text(&file.text))
        }
        (None, None) => None,
    };
    let is_change = changed.is_some();
    let selection = select::Selection {
        paths,
        excludes: args.exclude.clone(),
        changed,
    };
    let (files, select_notes) = select::select(&selection, &repo_root, args.max_files)?;
    if files.is_empty() && !is_change {
        return Err(InputError::plain(
            ContentCode::Selection,
            format!("no Sentinel content under {}", first.display()),
        )
        .help("scan a folder of ARM templates (*.json) or Azure-Sentinel YAML rules (*.yaml)"));
    }
    let opts = ScanOptions {
        repo_root,
        max_file_size: args.max_file_size,
        max_files: args.max_files,
        workspace_guid,
        target: target.clone(),
    };
    let mut set = content::scan(&files, &opts)?;
    set.notes.extend(select_notes);
    Ok(set)
}

/// Where the content deploys: `--workspace`, or the live facts' target.
fn target(args: &ScanArgs, live: Option<&FactsDocument>) -> Result<Target, InputError> {
    let from_id = |id: &str| WorkspaceRef::parse(id);
    if let Some(id) = &args.workspace {
        let w = from_id(id).ok_or_else(|| {
            InputError::plain(
                ContentCode::Selection,
                format!("--workspace `{id}` is not a workspace resource ID"),
            )
            .help("give /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>")
        })?;
        return Ok(Target {
            workspace_id: Some(w.id),
            workspace_name: Some(w.name),
            subscription_id: Some(w.subscription_id),
            resource_group: Some(w.resource_group),
            tenant_id: None,
        });
    }
    let Some(l) = live else {
        return Ok(Target::default());
    };
    let w = l.workspace().unwrap_or_default();
    let tenant = l
        .data(SectionName::Subscription)
        .and_then(|s| s.get("tenant_id"))
        .and_then(|v| v.as_str())
        .map(String::from)
        .or_else(|| l.target.tenant_id.clone());
    Ok(Target {
        workspace_id: Some(l.target.workspace_id.clone()),
        workspace_name: (!w.name.is_empty()).then_some(w.name),
        subscription_id: (!w.subscription_id.is_empty()).then_some(w.subscription_id),
        resource_group: (!w.resource_group.is_empty()).then_some(w.resource_group),
        tenant_id: tenant,
    })
}

/// GitHub workflow commands: one per located evidence of a fail (`error` at high/critical,
/// `warning` below), a `warning` per `error` finding, a `notice` per content note.
/// Escaping per GitHub's "Workflow commands" page: `%`, CR, LF in the message; also `:` and
/// `,` in properties.
fn annotations(
    report: &Report,
    set: &content::ContentSet,
    locations: &std::collections::HashMap<(String, String), content::SourceLocation>,
) -> String {
    let mut out = String::new();
    for f in &report.results {
        match f.status {
            Status::Fail => {
                let level = if f.severity >= crate::model::Severity::High {
                    "error"
                } else {
                    "warning"
                };
                for e in &f.evidence {
                    let title = format!("{} ({})", f.control, f.severity.as_str());
                    let file = locations
                        .get(&(f.control.clone(), e.id.clone()))
                        .map(|l| {
                            format!("file={},line={},col={},", prop(&l.path), l.line, l.column)
                        })
                        .unwrap_or_default();
                    out += &format!(
                        "::{level} {file}title={}::{}\n",
                        prop(&title),
                        data(&format!("{}: {e}", f.title))
                    );
                }
            }
            Status::Error => {
                out += &format!(
                    "::warning title={}::{}\n",
                    prop(&format!("{} could not be evaluated", f.control)),
                    data(f.reason.as_deref().unwrap_or(&f.message))
                );
            }
            _ => {}
        }
    }
    for n in &set.notes {
        let line = n.line.map(|l| format!(",line={l}")).unwrap_or_default();
        out += &format!(
            "::notice file={}{line}::{}\n",
            prop(&n.path),
            data(&n.message)
        );
    }
    out
}

fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(prop("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
