//! Loading policies: YAML with spans → schema → typed policy → compiled CEL, with every
//! problem reported as a diagnostic at the offending node.

use super::Policy;
use crate::facts::{apis, SectionName};
use crate::input::diagnostic::{InputError, SourceFile, Span};
use crate::input::schema;
use crate::input::yaml::{self, Document};
use crate::policy::cel;
use serde_json::Value;
use std::borrow::Cow;
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
                    match SourceFile::read(&f) {
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
/// Results keep the order of `sources`.
fn load_all(sources: Vec<SourceFile>) -> Vec<Result<Control, Vec<InputError>>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len().max(1));
    if workers <= 1 {
        return sources.into_iter().map(load_policy_file).collect();
    }
    let chunk = sources.len().div_ceil(workers);
    let mut chunks: Vec<Vec<SourceFile>> = Vec::new();
    let mut rest = sources;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(load_policy_file).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("policy loading does not panic"))
            .collect()
    })
}

/// Parse, validate and compile one policy file.
pub fn load_policy_file(file: SourceFile) -> Result<Control, Vec<InputError>> {
    let doc = yaml::parse(file).map_err(|e| vec![e])?;
    let violations = schema::validate(schema::Kind::Policy, &doc.value);
    if !violations.is_empty() {
        return Err(violations
            .into_iter()
            .map(|v| {
                doc.error_at(
                    "xdrguard::policy::schema",
                    &v.pointer,
                    format!("policy does not match schemas/policy.schema.json: {}", v.message),
                    "here",
                    "see the policy format in the README, or run `xdrguard explain` on a shipped policy for an example",
                )
            })
            .collect());
    }
    let mut errors = Vec::new();
    let value = known_reads(&doc, &mut errors);
    let policy: Policy = serde_path_to_error::deserialize(&*value).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        vec![doc.error_at(
            "xdrguard::policy::shape",
            &pointer,
            format!("invalid policy: {}", e.inner()),
            "here",
            "",
        )]
    })?;
    check_params(&doc, &policy, &mut errors);
    check_reads(&doc, &policy, &mut errors);
    check_templates(&doc, &policy, &mut errors);
    let mut compile = |pointer: &str, src: &str| -> Option<::cel::Program> {
        match cel::compile(src) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(InputError::at(
                    "xdrguard::policy::expression",
                    &doc.file,
                    locate_in_node(&doc, pointer, src, e.line, e.column),
                    format!("CEL expression does not compile: {}", e.message),
                    "here",
                    "policy conditions are CEL (https://cel.dev); check brackets, quotes and operators",
                ));
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
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(violations), Some(applies_when), Some(notes)) = (
        violations,
        applies_when.map_or(Some(None), |p| p.map(Some)),
        notes.map_or(Some(None), |p| p.map(Some)),
    ) else {
        unreachable!("compile errors were returned above");
    };
    Ok(Control {
        file: doc.file.path.clone(),
        policy,
        doc,
        applies_when,
        violations,
        notes,
    })
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => p.push_str(&format!("/{}", yaml::pointer_segment(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    p
}

fn check_params(doc: &Document, policy: &Policy, errors: &mut Vec<InputError>) {
    for (name, spec) in &policy.params {
        if spec.shared_with.is_some() {
            continue;
        }
        if let Err(why) = spec.kind.check(&spec.default) {
            errors.push(doc.error_at(
                "xdrguard::policy::param_type",
                &format!("/params/{name}/default"),
                format!("default of param `{name}` does not match its declared type: {why}"),
                "this default",
                format!("make the default a {} or change `type`", spec.kind.as_str()),
            ));
        }
    }
}

/// Every `facts.X` an expression reads must be a known section listed in `reads`,
/// so a section that could not be collected makes the control `error`, never `pass`.
/// `reads` become section names when the policy is deserialised; an unknown name is reported
/// here and left out, so the rest of the policy still loads and reports its own problems.
fn known_reads<'a>(doc: &'a Document, errors: &mut Vec<InputError>) -> Cow<'a, Value> {
    let unknown: Vec<usize> = listed_reads(doc)
        .iter()
        .enumerate()
        .filter(|(_, r)| r.parse::<SectionName>().is_err())
        .map(|(i, _)| i)
        .collect();
    if unknown.is_empty() {
        return Cow::Borrowed(&doc.value);
    }
    let known: Vec<&str> = apis::SECTIONS.iter().map(|s| s.name.as_str()).collect();
    let mut value = doc.value.clone();
    if let Some(Value::Array(reads)) = value.get_mut("reads") {
        for &i in &unknown {
            errors.push(doc.error_at(
                "xdrguard::policy::unknown_section",
                &format!("/reads/{i}"),
                format!(
                    "`{}` is not a facts section",
                    reads[i].as_str().unwrap_or_default()
                ),
                "unknown section",
                format!("known sections: {}", known.join(", ")),
            ));
        }
        for &i in unknown.iter().rev() {
            reads.remove(i);
        }
    }
    Cow::Owned(value)
}

/// The names `reads` lists, as written (strings, by the schema).
fn listed_reads(doc: &Document) -> Vec<&str> {
    doc.value
        .get("reads")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn check_reads(doc: &Document, policy: &Policy, errors: &mut Vec<InputError>) {
    let listed = listed_reads(doc);
    let exprs = [
        ("/violations", Some(policy.violations.as_str())),
        ("/applies_when", policy.applies_when.as_deref()),
        ("/notes", policy.notes.as_deref()),
    ];
    for (pointer, src) in exprs {
        let Some(src) = src else { continue };
        for name in fact_references(src) {
            if !listed.contains(&name.as_str()) {
                errors.push(doc.error_at(
                    "xdrguard::policy::undeclared_read",
                    pointer,
                    format!("expression reads `facts.{name}` but `reads` does not list `{name}`"),
                    "reads an undeclared section",
                    format!("add `{name}` to `reads` so the control is `error` when that section could not be collected"),
                ));
            }
        }
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
            texts.push((format!("/remediation/steps/{i}/{k}"), v));
        }
    }
    for (pointer, text) in texts {
        if let Err(e) = crate::policy::template::check(text) {
            errors.push(doc.error_at(
                "xdrguard::policy::template",
                &pointer,
                format!("template does not compile: {e}"),
                "here",
                "messages and remediation are minijinja templates: {{ value }}, {% for x in xs %}…{% endfor %}",
            ));
        }
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

/// Check IDs are unique and `depends_on` is known and acyclic; return dependency order
/// (stage, then ID, among what is ready).
fn order(controls: Vec<Control>) -> Result<Vec<Control>, Vec<InputError>> {
    let mut errors = Vec::new();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in controls.iter().enumerate() {
        if let Some(&j) = by_id.get(&c.policy.id) {
            errors.push(c.doc.error_at(
                "xdrguard::policy::duplicate_id",
                "/id",
                format!("control ID `{}` is also defined in {}", c.policy.id, controls[j].file),
                "duplicate ID",
                "IDs are unique; to change a shipped control's severity or params use --config, to replace it give yours a new ID",
            ));
        } else {
            by_id.insert(c.policy.id.clone(), i);
        }
    }
    for c in &controls {
        for (k, dep) in c.policy.depends_on.iter().enumerate() {
            if !by_id.contains_key(dep) {
                errors.push(c.doc.error_at(
                    "xdrguard::policy::unknown_dependency",
                    &format!("/depends_on/{k}"),
                    format!("`{}` depends on unknown control `{dep}`", c.policy.id),
                    "unknown control",
                    "run `xdrguard controls` for the known IDs",
                ));
            }
        }
        for (name, spec) in &c.policy.params {
            if let Some(owner) = &spec.shared_with {
                let ok = by_id.get(owner).map(|&j| {
                    controls[j]
                        .policy
                        .params
                        .get(name)
                        .is_some_and(|p| p.shared_with.is_none() && p.kind == spec.kind)
                });
                if ok != Some(true) {
                    errors.push(c.doc.error_at(
                        "xdrguard::policy::shared_param",
                        &format!("/params/{name}/shared_with"),
                        format!("param `{name}` is shared with `{owner}`, which does not declare a `{name}` of type {}", spec.kind.as_str()),
                        "here",
                        "shared_with names the control that owns the parameter",
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Kahn's algorithm, picking the smallest (stage, id) ready control each time.
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
    let mut out_idx = Vec::with_capacity(n);
    while !ready.is_empty() {
        ready.sort_by_key(|&i| std::cmp::Reverse(key(i)));
        let i = ready.pop().expect("non-empty");
        out_idx.push(i);
        for &j in dependants.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(j);
            }
        }
    }
    if out_idx.len() < n {
        let stuck: Vec<&Control> = (0..n)
            .filter(|i| !out_idx.contains(i))
            .map(|i| &controls[i])
            .collect();
        let ids: Vec<&str> = stuck.iter().map(|c| c.policy.id.as_str()).collect();
        return Err(vec![stuck[0].doc.error_at(
            "xdrguard::policy::dependency_cycle",
            "/depends_on",
            format!("dependency cycle among {}", ids.join(", ")),
            "part of a cycle",
            "remove one of the depends_on entries",
        )]);
    }
    let mut slots: Vec<Option<Control>> = controls.into_iter().map(Some).collect();
    Ok(out_idx
        .into_iter()
        .map(|i| slots[i].take().expect("each once"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown name in `reads` gets its own diagnostic, and the rest of the policy is
    /// still checked (here: the CEL that reads it, and a section it does not declare).
    #[test]
    fn unknown_reads_are_reported_with_the_rest() {
        let text = "id: ACME-T-01\ntitle: t\nstage: connector\nseverity: low\ndescription: d\nrationale: r\nreads: [alert_rules, alert_rulez]\nviolations: |\n  facts.alert_rulez.map(r, r) + facts.tables\nmessages:\n  pass: ok\n  fail: bad\nremediation:\n  summary: s\n  steps:\n    - note: n\n  docs: [https://learn.microsoft.com/]\n";
        let errors = load_policy_file(SourceFile::new("p.yaml", text)).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
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
