//! `xdrguard merge`: per-target JSON reports (`fleet --out-dir`) and per-shard fleet reports
//! (`fleet --shard I/N --format json`) combined into one fleet report, built the same way
//! `fleet` builds it. A target given twice, or reports of different catalogs, are refused
//! with the files named: either would make a matrix that compares what is not comparable.

use super::report::{ControlInfo, FleetReport, TargetRow};
use crate::input::codes::FleetCode;
use crate::input::diagnostic::InputError;
use crate::input::kind;
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input};
use crate::input::schema::Kind;
use crate::outcome::Report;
use std::path::{Path, PathBuf};

impl Input for FleetReport {
    const SCHEMA: Kind = Kind::FleetReport;
    const NAME: &'static str = "fleet report";

    fn syntax() -> load::Syntax {
        load::Syntax::Json {
            code: FleetCode::Schema.into(),
            help: "a fleet report is the JSON `xdrguard fleet --format json` or `xdrguard merge --format json` writes",
        }
    }

    fn codes() -> Codes {
        Codes {
            schema: FleetCode::Schema.into(),
            shape: FleetCode::Shape.into(),
        }
    }
}

/// Read a fleet report (for `lint`).
pub fn load_fleet_report(path: &Path) -> Result<FleetReport, InputError> {
    load::file(path, InputKind::Report, load::no_checks)
}

/// The files to merge: files as given, folders' `*.json` except facts (`*.facts.json`), in
/// name order.
pub fn inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| InputError::io(p, &e))?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| {
                    let n = f.file_name().map(|n| n.to_string_lossy().into_owned());
                    f.is_file()
                        && n.is_some_and(|n| n.ends_with(".json") && !n.ends_with(".facts.json"))
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err(InputError::plain(FleetCode::Empty, "nothing to merge: no JSON report found")
            .help("give the --out-dir folders of `fleet` runs, or the JSON fleet reports of its shards"));
    }
    Ok(out)
}

/// One input: the rows it holds, the controls it names, its catalog version.
struct Part {
    path: PathBuf,
    rows: Vec<TargetRow>,
    controls: Vec<ControlInfo>,
    catalog_version: String,
}

fn read(path: &Path) -> Result<Part, InputError> {
    let file = crate::input::limits::read(path, InputKind::Report)?;
    let value: Option<serde_json::Value> = serde_json::from_str(&file.text).ok();
    let is_fleet = value
        .as_ref()
        .and_then(kind::recognise)
        .is_some_and(|(k, _)| k == Kind::FleetReport);
    if is_fleet {
        let r = load_fleet_report(path)?;
        let controls = r
            .controls
            .iter()
            .map(|c| ControlInfo::new(&c.control, &c.title, c.severity))
            .collect();
        return Ok(Part {
            path: path.to_path_buf(),
            rows: r.targets,
            controls,
            catalog_version: r.catalog_version,
        });
    }
    let r: Report = crate::outcome::baseline::load_report(path)?;
    let (Some(name), Some(version)) = (&r.name, &r.catalog_version) else {
        return Err(InputError::plain(
            FleetCode::Shape,
            format!(
                "{}: a JSON report without a target name or catalog version cannot join a fleet report",
                path.display()
            ),
        )
        .help("merge the per-target reports `fleet --out-dir` writes, or fleet reports; a `check`/`audit` report names no fleet target"));
    };
    let controls = r
        .results
        .iter()
        .map(|f| ControlInfo::new(&f.control, &f.title, f.severity))
        .collect();
    Ok(Part {
        path: path.to_path_buf(),
        rows: vec![TargetRow::of_report(name, &r)],
        controls,
        catalog_version: version.clone(),
    })
}

/// Merge the reports at `paths` into one fleet report generated at `now`.
pub fn merge(
    paths: &[PathBuf],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<FleetReport, InputError> {
    let parts = inputs(paths)?
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<Part>, InputError>>()?;
    let first = &parts[0];
    if let Some(other) = parts
        .iter()
        .find(|p| p.catalog_version != first.catalog_version)
    {
        return Err(InputError::plain(
            FleetCode::MixedCatalog,
            format!(
                "reports of different catalogs: {} has {}, {} has {}",
                first.path.display(),
                first.catalog_version,
                other.path.display(),
                other.catalog_version
            ),
        )
        .help("merge only reports of one xdrguard release and the same --policies; run the other targets again with the same catalog"));
    }
    let mut rows: Vec<TargetRow> = Vec::new();
    let mut seen: Vec<(String, &Path)> = Vec::new();
    let mut controls: Vec<ControlInfo> = Vec::new();
    for p in &parts {
        for r in &p.rows {
            let folded = r.name.to_ascii_lowercase();
            if let Some((_, other)) = seen.iter().find(|(n, _)| *n == folded) {
                return Err(InputError::plain(
                    FleetCode::DuplicateTarget,
                    format!(
                        "target `{}` is in {} and in {}",
                        r.name,
                        other.display(),
                        p.path.display()
                    ),
                )
                .help("give each target once: the per-target reports of one --out-dir, or the fleet reports of disjoint shards"));
            }
            seen.push((folded, &p.path));
            rows.push(r.clone());
        }
        for c in &p.controls {
            if !controls.iter().any(|k| k.control == c.control) {
                controls.push(c.clone());
            }
        }
    }
    Ok(FleetReport::new(
        rows,
        &controls,
        first.catalog_version.clone(),
        now,
    ))
}
