//! Policy test cases, as `opa test` / `conftest verify` run them: a case is a base facts
//! document + a JSON merge patch + the expected status (and evidence) of one control.

use crate::eval::{self, Profile};
use crate::facts::FactsDocument;
use crate::input::codes::TestCode;
use crate::input::diagnostic::{InputError, SourceFile, MAX_INPUT_BYTES};
use crate::input::load::{self, Codes, Input};
use crate::input::schema;
use crate::input::yaml::Document;
use crate::model::Status;
use crate::policy::config::{Config, ControlOverride};
use crate::policy::load::policy_files;
use crate::policy::Catalog;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    base: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    control: String,
    #[serde(default)]
    patch: Option<serde_json::Value>,
    /// JSON Patch (RFC 6902) operations, applied after `patch`: can set a value to null.
    #[serde(default)]
    ops: Option<json_patch::Patch>,
    #[serde(default)]
    params: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    profile: Option<String>,
    expect: Status,
    #[serde(default)]
    evidence: Option<Vec<String>>,
    #[serde(default)]
    reason_contains: Option<String>,
    #[serde(default)]
    message_contains: Option<String>,
    #[serde(default)]
    notes_contains: Option<String>,
}

/// Outcome of running a folder of cases.
#[derive(Debug, Default)]
pub struct Outcome {
    pub passed: usize,
    pub failed: Vec<String>,
    /// `CONTROL:status` for every passing case, to check each control has pass and fail cases.
    pub covered: BTreeSet<String>,
}

/// Run every case file in `dir` against `catalog`.
pub fn run_dir(
    catalog: &Catalog,
    dir: &Path,
    only: Option<&str>,
    verbose: bool,
) -> Result<Outcome, InputError> {
    let mut outcome = Outcome::default();
    let files = policy_files(dir)?;
    if files.is_empty() {
        return Err(InputError::plain(
            TestCode::None,
            format!("{}: no test files (*.yaml)", dir.display()),
        )
        .help("write cases as in tests/policies/ of the xdrguard repository"));
    }
    for path in files {
        let source = SourceFile::read_at_most(&path, MAX_INPUT_BYTES)?;
        let (doc, file) = load::source(source, load::no_checks).map_err(load::merged)?;
        run_file(catalog, &path, &doc, file, only, verbose, &mut outcome)?;
    }
    Ok(outcome)
}

impl Input for TestFile {
    const SCHEMA: schema::Kind = schema::Kind::PolicyTest;
    const NAME: &'static str = "test file";

    fn codes() -> Codes {
        Codes {
            schema: TestCode::Schema.into(),
            shape: TestCode::Shape.into(),
        }
    }
}

fn run_file(
    catalog: &Catalog,
    path: &Path,
    doc: &Document,
    file: TestFile,
    only: Option<&str>,
    verbose: bool,
    outcome: &mut Outcome,
) -> Result<(), InputError> {
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&file.base);
    let base = FactsDocument::load(&base_path)?;
    let base_json = serde_json::to_value(&base).expect("facts serialise");
    for (i, case) in file.cases.iter().enumerate() {
        if only.is_some_and(|o| o != case.control) {
            continue;
        }
        let at = format!("/cases/{i}");
        let Some(control) = catalog.get(&case.control) else {
            return Err(doc
                .error_at(
                    TestCode::UnknownControl,
                    &format!("{at}/control"),
                    format!("unknown control `{}`", case.control),
                )
                .label("not a control")
                .help("run `xdrguard controls`"));
        };
        let mut facts_json = base_json.clone();
        if let Some(p) = &case.patch {
            json_patch::merge(&mut facts_json, p);
        }
        if let Some(ops) = &case.ops {
            json_patch::patch(&mut facts_json, ops).map_err(|e| {
                doc.error_at(
                    TestCode::Ops,
                    &format!("{at}/ops"),
                    format!("JSON Patch does not apply to the base facts: {e}"),
                )
                .label("here")
                .help("ops are RFC 6902 operations: {op: replace, path: /sections/…, value: …}")
            })?;
        }
        let facts = FactsDocument::parse(SourceFile::new(
            format!("{} (case {:?} patched)", base_path.display(), case.name),
            serde_json::to_string_pretty(&facts_json).expect("serialises"),
        ))?;
        let mut config = Config::default();
        if !case.params.is_empty() {
            for (name, v) in &case.params {
                let Some(spec) = control.policy.params.get(name) else {
                    return Err(doc
                        .error_at_key(
                            TestCode::UnknownParam,
                            &format!("{at}/params/{name}"),
                            format!("`{}` has no param `{name}`", case.control),
                        )
                        .label("unknown param"));
                };
                let owner = spec
                    .shared_with
                    .clone()
                    .unwrap_or_else(|| case.control.clone());
                config
                    .controls
                    .entry(owner)
                    .or_insert_with(ControlOverride::default)
                    .params
                    .insert(name.clone(), v.clone());
            }
        }
        let profile = match case.profile.as_deref() {
            Some("pre-onboarding") => Profile::PreOnboarding,
            _ => Profile::Full,
        };
        let findings = eval::evaluate(catalog, &config, &facts, profile);
        let f = findings
            .iter()
            .find(|f| f.control == case.control)
            .expect("control evaluated");
        let mut problems = Vec::new();
        if f.status != case.expect {
            problems.push(format!(
                "expected {}, got {} ({}{})",
                case.expect,
                f.status,
                f.message,
                f.reason
                    .as_deref()
                    .filter(|r| *r != f.message)
                    .map(|r| format!("; {r}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(want) = &case.evidence {
            let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
            let got: BTreeSet<&str> = f.evidence.iter().map(|e| e.id.as_str()).collect();
            if want != got {
                problems.push(format!("evidence: expected {want:?}, got {got:?}"));
            }
        }
        if let Some(s) = &case.reason_contains {
            if !f.reason.as_deref().unwrap_or_default().contains(s.as_str()) {
                problems.push(format!("reason {:?} does not contain {s:?}", f.reason));
            }
        }
        if let Some(s) = &case.message_contains {
            if !f.message.contains(s.as_str()) {
                problems.push(format!("message {:?} does not contain {s:?}", f.message));
            }
        }
        if let Some(s) = &case.notes_contains {
            if !f.notes.iter().any(|n| n.contains(s.as_str())) {
                problems.push(format!("notes {:?} do not contain {s:?}", f.notes));
            }
        }
        let rendered = serde_json::to_string(f).expect("finding serialises");
        if rendered.contains(eval::TEMPLATE_ERROR) {
            problems.push(format!(
                "a message or remediation template failed to render: {rendered}"
            ));
        }
        let label = format!("{} {}: {}", path.display(), case.control, case.name);
        if problems.is_empty() {
            outcome.passed += 1;
            outcome
                .covered
                .insert(format!("{}:{}", case.control, case.expect));
            if verbose {
                println!("ok     {label}");
            }
        } else {
            outcome
                .failed
                .push(format!("{label}\n       {}", problems.join("\n       ")));
        }
    }
    Ok(())
}
