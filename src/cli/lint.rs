//! `xdrguard lint [PATH…]`: validate xdrguard's own files — policies, configs, exceptions,
//! policy tests, facts documents and JSON reports — by schema and by meaning, with
//! diagnostics at file, line and column. Folders are searched recursively; each file's kind
//! is told by its top-level keys (`input::kind`), so a folder may mix them.

use crate::facts::FactsDocument;
use crate::input::codes::{LintCode, TestCode};
use crate::input::diagnostic::{closest, InputError, SourceFile};
use crate::input::kind;
use crate::input::schema::{self, Kind};
use crate::input::{json, yaml};
use crate::outcome::baseline::load_report;
use crate::outcome::exceptions::Exceptions;
use crate::policy::config::Config;
use crate::policy::{load_catalog, Catalog};
use clap::Args;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or folders (searched recursively) to check; none checks the shipped policies
    pub paths: Vec<PathBuf>,
    /// Also load the policies in this folder (or file) into the catalog; repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Check the given policies without the shipped catalog
    #[arg(long)]
    pub no_builtin: bool,
    #[command(flatten)]
    pub limits: crate::policy::limits::LimitArgs,
}

/// The files named on the command line: given files as they are, folders walked for
/// `.yaml`, `.yml` and `.json` (hidden folders left out); what else a folder holds is
/// returned apart, to be noted as skipped.
#[derive(Debug, Default)]
struct Found {
    /// (path, named on the command line itself)
    files: Vec<(PathBuf, bool)>,
    skipped: Vec<PathBuf>,
}

fn is_input(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
}

fn walk(dir: &Path, found: &mut Found, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return errors.push(InputError::io(dir, &e)),
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        // Not following links to folders: a link loop cannot make the walk endless.
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                walk(&path, found, errors);
            }
        } else if is_input(&path) && path.is_file() {
            found.files.push((path, false));
        } else {
            found.skipped.push(path);
        }
    }
}

fn find(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Found {
    let mut found = Found::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut found, errors);
        } else if p.exists() {
            found.files.push((p.clone(), true));
        } else {
            errors.push(InputError::io(
                p,
                &std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
    }
    // A file named twice (a folder and its subfolder) is checked once.
    let mut seen = BTreeSet::new();
    found
        .files
        .retain(|(p, _)| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    found
}

/// A file to check, by kind.
#[derive(Default)]
struct Sorted {
    policies: Vec<PathBuf>,
    configs: Vec<PathBuf>,
    exceptions: Vec<yaml::Document>,
    tests: Vec<yaml::Document>,
    facts: Vec<SourceFile>,
    reports: Vec<PathBuf>,
    fleets: Vec<yaml::Document>,
    fleet_reports: Vec<PathBuf>,
    /// Files of no kind of xdrguard's, found in a folder.
    foreign: Vec<PathBuf>,
}

impl Sorted {
    fn count(&self) -> usize {
        self.policies.len()
            + self.configs.len()
            + self.exceptions.len()
            + self.tests.len()
            + self.facts.len()
            + self.reports.len()
            + self.fleets.len()
            + self.fleet_reports.len()
    }
}

/// Read each file and sort it by its kind. A file of no recognisable kind is a policy when
/// named on the command line or when it looks like one (an `id`), so a broken policy still
/// gets its schema errors; found in a folder otherwise, it is not one of xdrguard's.
fn sort(files: Vec<(PathBuf, bool)>, errors: &mut Vec<InputError>) -> Sorted {
    let mut s = Sorted::default();
    for (path, named) in files {
        let parsed = crate::input::limits::read(&path, crate::input::limits::InputKind::Policy)
            .and_then(|f| {
                if path.extension().is_some_and(|x| x == "json") {
                    json::parse(f, LintCode::Schema.into(), "fix the JSON syntax")
                } else {
                    yaml::parse(f)
                }
            });
        let doc = match parsed {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match kind::recognise(&doc.value).map(|(k, _)| k) {
            Some(Kind::Policy) => s.policies.push(path),
            Some(Kind::Config) => s.configs.push(path),
            Some(Kind::Exceptions) => s.exceptions.push(doc),
            Some(Kind::PolicyTest) => s.tests.push(doc),
            Some(Kind::Facts) => s.facts.push(doc.file),
            Some(Kind::Report) => s.reports.push(path),
            Some(Kind::Fleet) => s.fleets.push(doc),
            Some(Kind::FleetReport) => s.fleet_reports.push(path),
            None if named || doc.value.get("id").is_some() => s.policies.push(path),
            None => s.foreign.push(path),
        }
    }
    s
}

fn schema_errors(doc: &yaml::Document, kind: schema::Kind) -> Vec<InputError> {
    schema::validate(kind, &doc.value)
        .into_iter()
        .map(|v| {
            doc.error_at_key(
                LintCode::Schema,
                &v.pointer,
                format!("does not match its schema: {}", v.message),
            )
            .label("here")
            .help(format!("see {} for the format", kind.path()))
        })
        .collect()
}

/// What a policy test file can be wrong about beyond its schema: a base that is no facts
/// document, and cases of controls the catalog does not have.
fn test_file_errors(doc: &yaml::Document, catalog: Option<&Catalog>) -> Vec<InputError> {
    let mut errors = schema_errors(doc, Kind::PolicyTest);
    if !errors.is_empty() {
        return errors;
    }
    if let Some(base) = doc.value["base"].as_str() {
        let dir = Path::new(&doc.file.path).parent().unwrap_or(Path::new("."));
        if let Err(e) = FactsDocument::load(&dir.join(base)) {
            errors.push(
                doc.error_at(
                    TestCode::Schema,
                    "/base",
                    format!("base `{base}` cannot be used: {}", e.message),
                )
                .label("here")
                .help("`base` is a facts document, relative to this file"),
            );
        }
    }
    let Some(catalog) = catalog else {
        return errors;
    };
    let cases = doc.value["cases"].as_array().map_or(&[][..], Vec::as_slice);
    for (i, case) in cases.iter().enumerate() {
        let Some(id) = case["control"].as_str() else {
            continue;
        };
        if catalog.get(id).is_some() {
            continue;
        }
        let ids = catalog.controls.iter().map(|c| c.policy.id.as_str());
        let help = match closest(id, ids) {
            Some(c) => format!("did you mean {c}?"),
            None => "a case tests a control of the catalog: load its policy with --policies DIR (or lint the policy's folder too)".to_string(),
        };
        errors.push(
            doc.error_at(
                TestCode::UnknownControl,
                &format!("/cases/{i}/control"),
                format!("unknown control `{id}`"),
            )
            .label("not in the catalog")
            .help(help),
        );
    }
    errors
}

/// Say on stderr which files were left out, naming the first few.
fn note_skipped(what: &str, files: &[PathBuf]) {
    if files.is_empty() {
        return;
    }
    let shown: Vec<String> = files
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    let more = if files.len() > 5 { ", …" } else { "" };
    eprintln!(
        "lint: skipped {} file(s) {what}: {}{more}",
        files.len(),
        shown.join(", ")
    );
}

pub fn run(args: LintArgs) -> Result<u8, InputError> {
    args.limits.apply();
    let mut errors = Vec::new();
    let found = find(&args.paths, &mut errors);
    let sorted = sort(found.files, &mut errors);
    note_skipped("that are not YAML or JSON", &found.skipped);
    note_skipped("that are none of xdrguard's kinds", &sorted.foreign);
    let checked = sorted.count();

    let mut policy_dirs = sorted.policies.clone();
    policy_dirs.extend(args.policies.iter().cloned());
    let catalog = match load_catalog(&policy_dirs, !args.no_builtin) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Some(catalog) = &catalog {
        for c in &sorted.configs {
            if let Err(e) = Config::load(c, catalog) {
                errors.push(e);
            }
        }
    }
    let today = super::check::now()?.date_naive();
    for doc in &sorted.exceptions {
        // Schema and meaning (known control IDs, real dates, no duplicates); expiry is
        // a state, not a mistake in the file, so it is a warning.
        match &catalog {
            Some(catalog) => match Exceptions::from_document(doc, catalog) {
                Ok(ex) => {
                    for w in ex.expiry_warnings(today) {
                        eprintln!("warning: {w}");
                    }
                }
                Err(e) => errors.push(e),
            },
            None => errors.extend(schema_errors(doc, Kind::Exceptions)),
        }
    }
    for doc in &sorted.tests {
        errors.extend(test_file_errors(doc, catalog.as_ref()));
    }
    for f in sorted.facts {
        if let Err(e) = FactsDocument::parse(f) {
            errors.push(e);
        }
    }
    for r in &sorted.reports {
        if let Err(e) = load_report(r) {
            errors.push(e);
        }
    }
    for doc in &sorted.fleets {
        if let Err(e) = crate::fleet::Fleet::check_document(doc) {
            errors.push(e);
        }
    }
    for r in &sorted.fleet_reports {
        if let Err(e) = crate::fleet::merge::load_fleet_report(r) {
            errors.push(e);
        }
    }
    let problems: usize = errors.iter().map(InputError::count).sum();
    let controls = catalog.as_ref().map_or(0, |c| c.controls.len());
    match InputError::many(errors) {
        Some(e) => {
            super::print_error(e);
            eprintln!("lint: {problems} problem(s) in {checked} file(s)");
            Ok(super::exit::BAD_INPUT)
        }
        None => {
            println!("lint: {checked} file(s) checked, {controls} control(s) in the catalog, no problems");
            Ok(0)
        }
    }
}
