//! Loading policies: YAML with spans → schema → typed policy → compiled CEL, with every
//! problem reported as a diagnostic at the offending node.

use super::Policy;
use crate::facts::{apis, SectionName};
use crate::input::codes::PolicyCode;
use crate::input::diagnostic::{InputError, SourceFile, Span};
use crate::input::load::{self, At, Codes, Input, Shape};
use crate::input::schema::{self, Violation};
use crate::input::yaml::Document;
use crate::policy::cel;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A policy ready to evaluate.
pub struct Control {
    pub policy: Policy,
    /// Where it was loaded from (`policies/XDR-CON-03.yaml` for shipped ones).
    pub file: String,
    pub(crate) doc: Document,
    pub(crate) applies_when: Option<::cel::Program>,
    pub(crate) violations: ::cel::Program,
    pub(crate) notes: Option<::cel::Program>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("id", &self.policy.id)
            .field("file", &self.file)
            .finish()
    }
}

/// Every loaded control, in an order where each comes after what it depends on.
#[derive(Debug, Default)]
pub struct Catalog {
    pub controls: Vec<Control>,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.policy.id == id)
    }
}

/// The shipped policies, embedded at build time.
pub fn builtin_sources() -> Vec<SourceFile> {
    const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));
    BUILTIN
        .iter()
        .map(|(path, text)| SourceFile::new(*path, *text))
        .collect()
}

/// `*.yaml` / `*.yml` files directly in `dir`, sorted; a file path is taken as is.
pub fn policy_files(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let rd = std::fs::read_dir(path).map_err(|e| InputError::io(path, &e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Load the shipped policies (unless `builtin` is false) plus every policy in `dirs`.
/// All problems across all files are returned together.
pub fn load_catalog(dirs: &[PathBuf], builtin: bool) -> Result<Catalog, InputError> {
    let mut errors = Vec::new();
    let mut user = Vec::new();
    for d in dirs {
        match policy_files(d) {
            Ok(files) => {
                for f in files {
                    match crate::input::limits::read(&f, crate::input::limits::InputKind::Policy) {
                        Ok(s) => user.push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let mut sources = if builtin {
        builtin_sources()
    } else {
        Vec::new()
    };
    // A user folder that holds the shipped policies themselves (e.g. `--policies policies/`)
    // replaces the embedded copies instead of clashing with them.
    sources.retain(|b| !user.iter().any(|u| u.text == b.text));
    sources.extend(user);
    match Catalog::from_sources(sources) {
        Ok(c) if errors.is_empty() => Ok(c),
        Ok(_) => Err(InputError::many(errors).expect("non-empty")),
        Err(e) => {
            errors.push(e);
            Err(InputError::many(errors).expect("non-empty"))
        }
    }
}

impl Catalog {
    /// Build a catalog from policy sources held in memory (all problems reported together).
    pub fn from_sources(sources: Vec<SourceFile>) -> Result<Catalog, InputError> {
        let mut errors = Vec::new();
        let mut controls = Vec::new();
        for result in load_all(sources) {
            match result {
                Ok(c) => controls.push(c),
                Err(mut es) => errors.append(&mut es),
            }
        }
        match order(controls) {
            Ok(c) if errors.is_empty() => Ok(Catalog { controls: c }),
            Ok(_) => Err(InputError::many(errors).expect("non-empty")),
            Err(mut es) => {
                errors.append(&mut es);
                Err(InputError::many(errors).expect("non-empty"))
            }
        }
    }
}

/// Load policy files on every core: compiling CEL dominates start-up, and files are independent.
/// Each worker takes the next file not yet taken, so one slow file does not hold up a whole
/// share. Results keep the order of `sources`. Workers (even a single one) are threads with a
/// stack sized for the expression nesting admitted ([`super::limits::stack_size`]): the
/// parser recurses once per level.
fn load_all(sources: Vec<SourceFile>) -> Vec<Result<Control, Vec<InputError>>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len())
        .max(1);
    let queue = std::sync::Mutex::new(sources.into_iter().enumerate());
    let next = || queue.lock().expect("no worker panics").next();
    let mut loaded: Vec<(usize, Result<Control, Vec<InputError>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(super::limits::stack_size())
                    .spawn_scoped(s, || {
                        std::iter::from_fn(next)
                            .map(|(i, file)| (i, load_policy_file(file)))
                            .collect::<Vec<_>>()
                    })
                    .expect("a thread starts")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("policy loading does not panic"))
            .collect()
    });
    loaded.sort_unstable_by_key(|(i, _)| *i);
    loaded.into_iter().map(|(_, r)| r).collect()
}

impl Input for Policy {
    const SCHEMA: schema::Kind = schema::Kind::Policy;
    const NAME: &'static str = "policy";
    const VIOLATION_AT: At = At::Value;

    fn codes() -> Codes {
        Codes {
            schema: PolicyCode::Schema.into(),
            shape: PolicyCode::Shape.into(),
        }
    }

    fn schema_help(_: &Violation) -> &'static str {
        "see the policy format in the README, or run `xdrguard explain` on a shipped policy for an example"
    }

    /// At the node serde stopped at: a policy is long, the root would say little.
    fn shape_error(doc: &Document, e: Shape) -> InputError {
        doc.error_at(
            PolicyCode::Shape,
            &e.pointer,
            format!("invalid policy: {}", e.message),
        )
        .label("here")
    }
}

/// A policy's compiled expressions.
struct Programs {
    applies_when: Option<::cel::Program>,
    violations: ::cel::Program,
    notes: Option<::cel::Program>,
}

/// Parse, validate and compile one policy file.
pub fn load_policy_file(file: SourceFile) -> Result<Control, Vec<InputError>> {
    let (doc, (policy, programs)) = load::source(file, |doc, policy: Policy| {
        let programs = check(doc, &policy)?;
        Ok((policy, programs))
    })?;
    Ok(Control {
        file: doc.file.path.clone(),
        policy,
        doc,
        applies_when: programs.applies_when,
        violations: programs.violations,
        notes: programs.notes,
    })
}

/// What the schema cannot know about a policy: params, reads and templates are consistent
/// and its expressions compile. Every problem is returned together.
fn check(doc: &Document, policy: &Policy) -> Result<Programs, Vec<InputError>> {
    let mut errors = Vec::new();
    check_params(doc, policy, &mut errors);
    check_reads(doc, policy, &mut errors);
    check_templates(doc, policy, &mut errors);
    let mut compile = |pointer: &str, src: &str| -> Option<::cel::Program> {
        let compiled = cel::compile(src).and_then(|p| {
            super::limits::check_cost(&p).map_err(|message| cel::CompileError {
                line: 1,
                column: 1,
                message,
                over_limit: true,
            })?;
            Ok(p)
        });
        match compiled {
            Ok(p) => Some(p),
            Err(e) => {
                let (what, help) = if e.over_limit {
                    ("CEL expression over a policy limit", "every policy is bounded so that none can take down a run: simplify the expression, or raise the limit with the flag named")
                } else {
                    ("CEL expression does not compile", "policy conditions are CEL (https://cel.dev); check brackets, quotes and operators")
                };
                errors.push(
                    InputError::at(
                        PolicyCode::Expression,
                        &doc.file,
                        locate_in_node(doc, pointer, src, e.line, e.column),
                        format!("{what}: {}", e.message),
                    )
                    .label("here")
                    .help(help),
                );
                None
            }
        }
    };
    let applies_when = policy
        .applies_when
        .as_deref()
        .map(|s| compile("/applies_when", s));
    let violations = compile("/violations", &policy.violations);
    let notes = policy.notes.as_deref().map(|s| compile("/notes", s));
    match (
        violations,
        applies_when.map_or(Some(None), |p| p.map(Some)),
        notes.map_or(Some(None), |p| p.map(Some)),
    ) {
        (Some(violations), Some(applies_when), Some(notes)) if errors.is_empty() => Ok(Programs {
            applies_when,
            violations,
            notes,
        }),
        _ => Err(errors),
    }
}

fn check_params(doc: &Document, policy: &Policy, errors: &mut Vec<InputError>) {
    for (name, spec) in &policy.params {
        if spec.shared_with.is_some() {
            continue;
        }
        if let Err(why) = spec.kind.check(&spec.default) {
            errors.push(
                doc.error_at(
                    PolicyCode::ParamType,
                    &format!("/params/{name}/default"),
                    format!("default of param `{name}` does not match its declared type: {why}"),
                )
                .label("this default")
                .help(format!(
                    "make the default a {} or change `type`",
                    spec.kind.as_str()
                )),
            );
        }
    }
}

/// Every `facts.X` an expression reads must be a known section listed in `reads`,
/// so a section that could not be collected makes the control `error`, never `pass`.
/// The names `reads` lists, as written (strings, by the schema).
fn listed_reads<'d>(doc: &'d Document, key: &str) -> Vec<&'d str> {
    doc.value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn check_reads(doc: &Document, policy: &Policy, errors: &mut Vec<InputError>) {
    // `reads` (and `optional_reads`) as written: the typed lists leave out names that are
    // not sections.
    let mut listed = Vec::new();
    for key in ["reads", "optional_reads"] {
        let names = listed_reads(doc, key);
        for (i, r) in names.iter().enumerate() {
            if r.parse::<SectionName>().is_err() {
                errors.push(
                    doc.error_at(
                        PolicyCode::UnknownSection,
                        &format!("/{key}/{i}"),
                        format!("`{r}` is not a facts section"),
                    )
                    .label("unknown section")
                    .help(section_hint(r)),
                );
            }
        }
        listed.extend(names);
    }
    let exprs = [
        ("/violations", Some(policy.violations.as_str())),
        ("/applies_when", policy.applies_when.as_deref()),
        ("/notes", policy.notes.as_deref()),
    ];
    for (pointer, src) in exprs {
        let Some(src) = src else { continue };
        for name in fact_references(src) {
            // A typo listed in `reads` too has its diagnostic there already.
            if listed.contains(&name.as_str()) {
                continue;
            }
            if name.parse::<SectionName>().is_err() {
                errors.push(unknown_fact(doc, pointer, &name));
            } else {
                errors.push(
                    doc.error_at(
                        PolicyCode::UndeclaredRead,
                        pointer,
                        format!("expression reads `facts.{name}` but `reads` does not list `{name}`"),
                    )
                    .label("reads an undeclared section")
                    .help(format!("add `{name}` to `reads` so the control is `error` when that section could not be collected")),
                );
            }
        }
    }
}

/// An expression reads `facts.{name}`, which is no section: a typo, named with the closest
/// section, rather than advice to add it to `reads`.
fn unknown_fact(doc: &Document, pointer: &str, name: &str) -> InputError {
    doc.error_at(
        PolicyCode::UnknownSection,
        pointer,
        format!("expression reads `facts.{name}`, which is not a facts section"),
    )
    .label("unknown section")
    .help(section_hint(name))
}

/// "did you mean" the closest section to a mistyped one, or the list of sections.
fn section_hint(name: &str) -> String {
    let known = apis::SECTIONS.iter().map(|s| s.name.as_str());
    match crate::input::diagnostic::closest(name, known.clone()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("known sections: {}", known.collect::<Vec<_>>().join(", ")),
    }
}

/// Names X of every `facts.X` in an expression.
pub fn fact_references(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(pos) = src[i..].find("facts.") {
        let start = i + pos;
        let boundary = start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b'.');
        let name: String = src[start + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if boundary && !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        i = start + 6;
    }
    out
}

fn check_templates(doc: &Document, policy: &Policy, errors: &mut Vec<InputError>) {
    let mut texts: Vec<(String, &str)> = vec![
        ("/messages/pass".into(), policy.messages.pass.as_str()),
        ("/messages/fail".into(), policy.messages.fail.as_str()),
        (
            "/remediation/summary".into(),
            policy.remediation.summary.as_str(),
        ),
    ];
    if let Some(na) = &policy.messages.not_applicable {
        texts.push(("/messages/not_applicable".into(), na));
    }
    for (i, step) in policy.remediation.steps.iter().enumerate() {
        for (k, v) in step {
            let pointer = format!("/remediation/steps/{i}/{k}");
            if let Some(shell) = crate::policy::template::Shell::of_step(*k) {
                check_command(doc, &pointer, v, shell, errors);
            }
            texts.push((pointer, v));
        }
    }
    for (pointer, text) in texts {
        if let Err(e) = crate::policy::template::check(text) {
            errors.push(
                doc.error_at(
                    PolicyCode::Template,
                    &pointer,
                    format!("template does not compile: {e}"),
                )
                .label("here")
                .help("messages and remediation are minijinja templates: {{ value }}, {% for x in xs %}…{% endfor %}"),
            );
        }
    }
}

/// A command step quotes every value for its shell: a problem is an error at its place in
/// the step.
fn check_command(
    doc: &Document,
    pointer: &str,
    text: &str,
    shell: crate::policy::template::Shell,
    errors: &mut Vec<InputError>,
) {
    for p in crate::policy::template::check_command(text, shell) {
        let before = &text[..p.offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        errors.push(
            InputError::at(
                PolicyCode::UnquotedValue,
                &doc.file,
                locate_in_node(doc, pointer, text, line, col),
                p.message,
            )
            .label("here")
            .help(format!(
                "values in a `{}` step go through `| {}`, which quotes them as one literal word (see \"Remediation commands\" in the README)",
                shell.step(),
                shell.filter()
            )),
        );
    }
}

/// Span in the file of line/column `line:col` of an expression stored at `pointer`.
fn locate_in_node(
    doc: &Document,
    pointer: &str,
    src: &str,
    line: usize,
    col: usize,
) -> Option<Span> {
    let node = doc.spans.value(pointer)?;
    let wanted = src.lines().nth(line.saturating_sub(1))?;
    let text = &doc.file.text;
    let from = node.offset.min(text.len());
    let found = if wanted.trim().is_empty() {
        None
    } else {
        text[from..].find(wanted).map(|i| from + i)
    };
    match found {
        Some(start) => Some(Span {
            offset: (start + col.saturating_sub(1)).min(text.len()),
            len: 1,
        }),
        None => Some(node),
    }
}

/// Check IDs are unique and `depends_on` and `shared_with` are known and acyclic; return
/// dependency order (stage, then ID, among what is ready).
fn order(controls: Vec<Control>) -> Result<Vec<Control>, Vec<InputError>> {
    let (by_id, mut errors) = index_by_id(&controls);
    for c in &controls {
        check_dependencies(c, &by_id, &mut errors);
        check_shared_params(c, &controls, &by_id, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let sequence = dependency_order(&controls, &by_id).map_err(|e| vec![e])?;
    let mut slots: Vec<Option<Control>> = controls.into_iter().map(Some).collect();
    Ok(sequence
        .into_iter()
        .map(|i| slots[i].take().expect("each once"))
        .collect())
}

/// Control ID → its index; a second control with the same ID is an error at its `id`.
fn index_by_id(controls: &[Control]) -> (BTreeMap<String, usize>, Vec<InputError>) {
    let mut errors = Vec::new();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in controls.iter().enumerate() {
        if let Some(&j) = by_id.get(&c.policy.id) {
            errors.push(
                c.doc
                    .error_at(
                        PolicyCode::DuplicateId,
                        "/id",
                        format!("control ID `{}` is also defined in {}", c.policy.id, controls[j].file),
                    )
                    .label("duplicate ID")
                    .help("IDs are unique; to change a shipped control's severity or params use --config, to replace it give yours a new ID"),
            );
        } else {
            by_id.insert(c.policy.id.clone(), i);
        }
    }
    (by_id, errors)
}

fn check_dependencies(c: &Control, by_id: &BTreeMap<String, usize>, errors: &mut Vec<InputError>) {
    for (k, dep) in c.policy.depends_on.iter().enumerate() {
        if !by_id.contains_key(dep) {
            errors.push(
                c.doc
                    .error_at(
                        PolicyCode::UnknownDependency,
                        &format!("/depends_on/{k}"),
                        format!("`{}` depends on unknown control `{dep}`", c.policy.id),
                    )
                    .label("unknown control")
                    .help("run `xdrguard controls` for the known IDs"),
            );
        }
    }
}

/// A shared param names an owner that declares, and does not itself share, a param of the
/// same name and type.
fn check_shared_params(
    c: &Control,
    controls: &[Control],
    by_id: &BTreeMap<String, usize>,
    errors: &mut Vec<InputError>,
) {
    for (name, spec) in &c.policy.params {
        let Some(owner) = &spec.shared_with else {
            continue;
        };
        let ok = by_id.get(owner).is_some_and(|&j| {
            controls[j]
                .policy
                .params
                .get(name)
                .is_some_and(|p| p.shared_with.is_none() && p.kind == spec.kind)
        });
        if !ok {
            errors.push(c.doc.error_at(PolicyCode::SharedParam, &format!("/params/{name}/shared_with"), format!("param `{name}` is shared with `{owner}`, which does not declare a `{name}` of type {}", spec.kind.as_str())).label("here").help("shared_with names the control that owns the parameter"));
        }
    }
}

/// Kahn's algorithm, picking the smallest (stage, id) ready control each time: indices of
/// `controls` with each after what it depends on, or the error of a cycle.
fn dependency_order(
    controls: &[Control],
    by_id: &BTreeMap<String, usize>,
) -> Result<Vec<usize>, InputError> {
    let n = controls.len();
    let mut indegree: Vec<usize> = controls.iter().map(|c| c.policy.depends_on.len()).collect();
    let mut dependants: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, c) in controls.iter().enumerate() {
        for d in &c.policy.depends_on {
            dependants.entry(by_id[d]).or_default().push(i);
        }
    }
    let key = |i: usize| (controls[i].policy.stage, controls[i].policy.id.clone());
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut sequence = Vec::with_capacity(n);
    while !ready.is_empty() {
        ready.sort_by_key(|&i| std::cmp::Reverse(key(i)));
        let i = ready.pop().expect("non-empty");
        sequence.push(i);
        for &j in dependants.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(j);
            }
        }
    }
    if sequence.len() < n {
        let stuck: Vec<&Control> = (0..n)
            .filter(|i| !sequence.contains(i))
            .map(|i| &controls[i])
            .collect();
        let ids: Vec<&str> = stuck.iter().map(|c| c.policy.id.as_str()).collect();
        return Err(stuck[0]
            .doc
            .error_at(
                PolicyCode::DependencyCycle,
                "/depends_on",
                format!("dependency cycle among {}", ids.join(", ")),
            )
            .label("part of a cycle")
            .help("remove one of the depends_on entries"));
    }
    Ok(sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown name in `reads` gets its own diagnostic (once: not again where the CEL reads
    /// it), and the rest of the policy is still checked (here: a section it does not declare).
    #[test]
    fn unknown_reads_are_reported_with_the_rest() {
        let text = "id: ACME-T-01\ntitle: t\nstage: connector\nseverity: low\ndescription: d\nrationale: r\nreads: [alert_rules, alert_rulez]\nviolations: |\n  facts.alert_rulez.map(r, r) + facts.tables\nmessages:\n  pass: ok\n  fail: bad\nremediation:\n  summary: s\n  steps:\n    - note: n\n  docs: [https://learn.microsoft.com/]\n";
        let errors = load_policy_file(SourceFile::new("p.yaml", text)).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                "xdrguard::policy::unknown_section",
                "xdrguard::policy::undeclared_read"
            ],
            "{errors:?}"
        );
        assert!(errors[0]
            .message
            .contains("`alert_rulez` is not a facts section"));
        assert!(errors[1].message.contains("`facts.tables`"));
    }

    #[test]
    fn finds_fact_references() {
        assert_eq!(
            fact_references("facts.tables.all(t, t.x) && size(facts.ingestion) > 0 && myfacts.x && facts.tables.y"),
            vec!["tables".to_string(), "ingestion".to_string()]
        );
    }
}
