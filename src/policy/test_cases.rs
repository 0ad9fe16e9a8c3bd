//! Policy test cases, as `opa test` / `conftest verify` run them: a case is a base facts
//! document + a JSON merge patch + the expected status (and evidence) of one control.
//!
//! This module prepares each case (patched facts, params, profile) and judges the findings;
//! the evaluator that makes them is the caller's, so policy/ does not depend on eval/.
//! Nothing is printed here: the results go back to `xdrguard test`.

use crate::facts::FactsDocument;
use crate::input::codes::TestCode;
use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::limits::{self, InputKind};
use crate::input::load::{self, Codes, Input};
use crate::input::schema;
use crate::input::yaml::Document;
use crate::model::{Finding, Profile, Status};
use crate::policy::config::{Config, ControlOverride};
use crate::policy::load::{policy_files, Control};
use crate::policy::template::TEMPLATE_ERROR;
use crate::policy::{Catalog, ValidConfig};
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
    /// A typo is an error at its line (the schema lists the profiles), never a silent `full`.
    #[serde(default)]
    profile: Profile,
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

/// The evaluator a run of cases uses: `xdrguard::eval::evaluate`.
pub type Evaluate<'e> = &'e dyn Fn(&Catalog, &ValidConfig, &FactsDocument, Profile) -> Vec<Finding>;

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// `FILE CONTROL: name`.
    pub label: String,
    pub control: String,
    pub expect: Status,
    /// What did not match; empty when the case passed.
    pub problems: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Outcome of running a folder of cases: every case's result, in file and case order.
#[derive(Debug, Default)]
pub struct Outcome {
    pub cases: Vec<CaseResult>,
}

impl Outcome {
    pub fn passed(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| c.passed())
    }

    pub fn failed(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.passed())
    }

    /// Whether a passing case expects `status` of `control` (each control needs pass and fail cases).
    pub fn covers(&self, control: &str, status: Status) -> bool {
        self.passed()
            .any(|c| c.control == control && c.expect == status)
    }
}

/// Run every case file in `dir` against `catalog`, evaluating with `evaluate`.
pub fn run_dir(
    catalog: &Catalog,
    dir: &Path,
    only: Option<&str>,
    evaluate: Evaluate,
) -> Result<Outcome, InputError> {
    let files = policy_files(dir)?;
    if files.is_empty() {
        return Err(InputError::plain(
            TestCode::None,
            format!("{}: no test files (*.yaml)", dir.display()),
        )
        .help("write cases as in tests/policies/ of the xdrguard repository"));
    }
    let sources = files
        .iter()
        .map(|p| limits::read(p, InputKind::PolicyTest))
        .collect::<Result<Vec<_>, _>>()?;
    run_sources(
        catalog,
        sources,
        &|p| FactsDocument::load(p),
        only,
        evaluate,
    )
}

/// Run the shipped policies' own test cases, embedded at build time with the snapshots they
/// start from: `xdrguard test` without a folder works wherever the binary is.
pub fn run_builtin(
    catalog: &Catalog,
    only: Option<&str>,
    evaluate: Evaluate,
) -> Result<Outcome, InputError> {
    const TESTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_policy_tests.rs"));
    const SNAPSHOTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_snapshots.rs"));
    let sources = TESTS.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect();
    let base = |p: &Path| {
        let p = lexical(p);
        match SNAPSHOTS.iter().find(|(name, _)| Path::new(name) == p) {
            Some((name, text)) => FactsDocument::parse(SourceFile::new(*name, *text)),
            None => Err(InputError::plain(
                TestCode::None,
                format!("{}: not a snapshot built into xdrguard", p.display()),
            )),
        }
    };
    run_sources(catalog, sources, &base, only, evaluate)
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn lexical(p: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Run every case of the case files `sources`, reading each file's base with `load_base`.
fn run_sources(
    catalog: &Catalog,
    sources: Vec<SourceFile>,
    load_base: &dyn Fn(&Path) -> Result<FactsDocument, InputError>,
    only: Option<&str>,
    evaluate: Evaluate,
) -> Result<Outcome, InputError> {
    let mut outcome = Outcome::default();
    for source in sources {
        let path = std::path::PathBuf::from(&source.path);
        let (doc, file): (Document, TestFile) =
            load::source(source, load::no_checks).map_err(load::merged)?;
        let base_path = path.parent().unwrap_or(Path::new(".")).join(&file.base);
        let base = serde_json::to_value(load_base(&base_path)?).expect("facts serialise");
        for (i, case) in file.cases.iter().enumerate() {
            if only.is_some_and(|o| o != case.control) {
                continue;
            }
            let at = format!("/cases/{i}");
            let control = known_control(catalog, &doc, &at, case)?;
            let facts = patched_facts(&doc, &at, &base_path, &base, case)?;
            let config = case_config(&doc, &at, control, case)?;
            let findings = evaluate(
                catalog,
                &ValidConfig::resolve(catalog, &config),
                &facts,
                case.profile,
            );
            let finding = findings
                .iter()
                .find(|f| f.control == case.control)
                .expect("control evaluated");
            outcome.cases.push(CaseResult {
                label: format!("{} {}: {}", path.display(), case.control, case.name),
                control: case.control.clone(),
                expect: case.expect,
                problems: case.judge(finding),
            });
        }
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

fn known_control<'c>(
    catalog: &'c Catalog,
    doc: &Document,
    at: &str,
    case: &Case,
) -> Result<&'c Control, InputError> {
    catalog.get(&case.control).ok_or_else(|| {
        doc.error_at(
            TestCode::UnknownControl,
            &format!("{at}/control"),
            format!("unknown control `{}`", case.control),
        )
        .label("not a control")
        .help("run `xdrguard controls`")
    })
}

/// The base facts with the case's merge patch, then its JSON Patch ops, applied.
fn patched_facts(
    doc: &Document,
    at: &str,
    base_path: &Path,
    base: &serde_json::Value,
    case: &Case,
) -> Result<FactsDocument, InputError> {
    let mut facts_json = base.clone();
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
    FactsDocument::parse(SourceFile::new(
        format!("{} (case {:?} patched)", base_path.display(), case.name),
        serde_json::to_string_pretty(&facts_json).expect("serialises"),
    ))
}

/// The case's params as a config; a shared param is set on its owner, as a user would.
fn case_config(
    doc: &Document,
    at: &str,
    control: &Control,
    case: &Case,
) -> Result<Config, InputError> {
    let mut config = Config::default();
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
    Ok(config)
}

impl Case {
    /// What about `f` does not match the case's expectations.
    fn judge(&self, f: &Finding) -> Vec<String> {
        let mut problems = Vec::new();
        if f.status != self.expect {
            problems.push(format!(
                "expected {}, got {} ({}{})",
                self.expect,
                f.status,
                f.message,
                f.reason
                    .as_deref()
                    .filter(|r| *r != f.message)
                    .map(|r| format!("; {r}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(want) = &self.evidence {
            let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
            let got: BTreeSet<&str> = f.evidence.iter().map(|e| e.id.as_str()).collect();
            if want != got {
                problems.push(format!("evidence: expected {want:?}, got {got:?}"));
            }
        }
        if let Some(s) = &self.reason_contains {
            if !f.reason.as_deref().unwrap_or_default().contains(s.as_str()) {
                problems.push(format!("reason {:?} does not contain {s:?}", f.reason));
            }
        }
        if let Some(s) = &self.message_contains {
            if !f.message.contains(s.as_str()) {
                problems.push(format!("message {:?} does not contain {s:?}", f.message));
            }
        }
        if let Some(s) = &self.notes_contains {
            if !f.notes.iter().any(|n| n.contains(s.as_str())) {
                problems.push(format!("notes {:?} do not contain {s:?}", f.notes));
            }
        }
        let rendered = serde_json::to_string(f).expect("finding serialises");
        if rendered.contains(TEMPLATE_ERROR) {
            problems.push(format!(
                "a message or remediation template failed to render: {rendered}"
            ));
        }
        problems
    }
}
