//! The evaluator: resolved policies + facts → findings. It knows nothing of HTTP.
//!
//! Each control goes through the same steps: gate (disabled, outside the profile, blocked
//! by a failed dependency), read (fail closed on a section that could not be collected),
//! run its CEL (`applies_when`, `violations`, `notes`) and render its messages.

use crate::facts::{apis, FactsDocument, Section, SectionName};
use crate::model::{Evidence, Finding, Remediation, RemediationStep, Status};
use crate::policy::load::Control;
use crate::policy::template::Compiled;
use crate::policy::{cel, limits, Catalog, Effective, ParamType, ValidConfig};
use ::cel::common::types::{
    CelBool, CelDuration, CelList, CelMap, CelMapKey, CelString, CelTimestamp,
};
use ::cel::common::value::Val as CelVal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub use crate::model::Profile;

pub mod portal;

/// Evaluate every control of the catalog over the facts.
pub fn evaluate(
    catalog: &Catalog,
    config: &ValidConfig,
    facts: &FactsDocument,
    profile: Profile,
) -> Vec<Finding> {
    let facts = portal::with_config(facts, config.defender_portal);
    let run = Run::new(&facts, catalog, profile);
    // Every control evaluated as if unblocked, in parallel; then, in catalog order, a control
    // whose dependency failed gets its `skipped` finding instead. Same findings, same order
    // as one control after the other (a blocked control's expressions ran for nothing).
    let unblocked = in_parallel(&run, &catalog.controls, |root, control| {
        evaluate_one(&run, root, control, config.effective(control), None)
    });
    let mut blockers = Blockers::default();
    let root = run.root_context();
    catalog
        .controls
        .iter()
        .zip(unblocked)
        .map(|(control, unblocked)| {
            let blocked = blockers.of(control);
            let finding = match &blocked {
                None => unblocked,
                Some(b) => evaluate_one(&run, &root, control, config.effective(control), Some(b)),
            };
            blockers.record(control, &finding, blocked);
            finding
        })
        .collect()
}

/// Below this many controls one thread is faster than starting more (the shipped catalog).
const PARALLEL_FROM: usize = 64;

/// `f` over every control, on up to `available_parallelism` threads (contiguous chunks, each
/// thread with its own CEL root context and a stack sized for the expression nesting the
/// limits admit); results in the order of `controls`.
fn in_parallel<'a, F>(run: &Run<'a>, controls: &[Control], f: F) -> Vec<Finding>
where
    F: Fn(&::cel::Context<'a, 'a>, &Control) -> Finding + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if controls.len() < PARALLEL_FROM {
        1
    } else {
        threads
    };
    let chunk = controls.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = controls
            .chunks(chunk)
            .map(|part| {
                std::thread::Builder::new()
                    .stack_size(limits::stack_size())
                    .spawn_scoped(s, move || {
                        let root = run.root_context();
                        part.iter().map(|c| f(&root, c)).collect::<Vec<_>>()
                    })
                    .expect("a thread starts")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// What every control of one run shares.
struct Run<'a> {
    facts: &'a FactsDocument,
    /// Each readable section, converted to CEL once, borrowing `facts`, shared (not copied)
    /// by every control that reads it.
    sections: HashMap<&'a str, Box<dyn CelVal + 'a>>,
    profile: Profile,
    /// `target` for CEL (each thread's root context).
    target_json: Value,
    /// `target` for templates, converted once.
    target: minijinja::Value,
    /// Every message and remediation template of the catalog, compiled once (by text).
    templates: HashMap<&'a str, Compiled<'a>>,
}

impl<'a> Run<'a> {
    fn new(facts: &'a FactsDocument, catalog: &'a Catalog, profile: Profile) -> Run<'a> {
        // Each section converted once; each control then sees only the sections it declares
        // in `reads`, so no expression can read around the fail-closed check.
        let sections = facts
            .sections
            .iter()
            .filter_map(|(name, section)| match section {
                Section::Data(v) => Some((name.as_str(), cel::from_json(v))),
                Section::Error(_) => None,
            })
            .collect();
        let target = target_json(facts);
        let templates = catalog
            .controls
            .iter()
            .flat_map(|c| template_texts(&c.policy))
            .map(|t| (t, Compiled::new(t)))
            .collect();
        Run {
            facts,
            sections,
            profile,
            target: minijinja::Value::from(minijinja::value::Serde(&target)),
            target_json: target,
            templates,
        }
    }

    /// A CEL root context with the functions, `now` and `target` (one per thread: a context
    /// holds its function registry and is not shared).
    fn root_context(&self) -> ::cel::Context<'a, 'a> {
        let mut root = cel::root_context();
        root.add_variable_as_val(
            "now",
            Box::new(CelTimestamp::from(self.facts.collected_at.fixed_offset())),
        );
        root.add_variable_as_val("target", cel::owned(&self.target_json));
        root
    }

    /// Render one of the catalog's templates (compiled in `new`).
    fn render(&self, text: &str, ctx: &minijinja::Value) -> String {
        match self.templates.get(text) {
            Some(t) => t.render_or_flag(ctx),
            None => Compiled::new(text).render_or_flag(ctx),
        }
    }
}

/// The message and remediation templates of a policy.
fn template_texts(p: &crate::policy::Policy) -> impl Iterator<Item = &str> {
    let m = &p.messages;
    let r = &p.remediation;
    [m.pass.as_str(), m.fail.as_str(), r.summary.as_str()]
        .into_iter()
        .chain(m.not_applicable.as_deref())
        .chain(r.steps.iter().flat_map(|s| s.values().map(String::as_str)))
}

fn target_json(facts: &FactsDocument) -> Value {
    let ws = facts.workspace().unwrap_or_default();
    let operator = facts.data(SectionName::Operator);
    let op = |k: &str| operator.and_then(|o| o.get(k)).and_then(Value::as_str);
    json!({
        "workspace_id": facts.target.workspace_id,
        "subscription_id": ws.subscription_id,
        "resource_group": ws.resource_group,
        "workspace_name": ws.name,
        "tenant_id": facts.target.tenant_id.clone().unwrap_or_default(),
        "cloud": facts.target.cloud.clone().unwrap_or_else(|| "public".into()),
        "operator_id": op("id").unwrap_or("<operator object id>"),
        "operator": op("user_principal_name")
            .or(facts.target.operator.as_deref())
            .unwrap_or("<operator>"),
    })
}

/// The first upstream control that failed or is itself blocked: (the failed root, the upstream).
type Blocked<'c> = (String, &'c str);

/// Control ID → the failed control that blocks its dependants (itself, or its own blocker).
#[derive(Default)]
struct Blockers(HashMap<String, String>);

impl Blockers {
    fn of<'c>(&self, control: &'c Control) -> Option<Blocked<'c>> {
        control
            .policy
            .depends_on
            .iter()
            .find_map(|d| self.0.get(d).map(|root| (root.clone(), d.as_str())))
    }

    fn record(&mut self, control: &Control, finding: &Finding, blocked: Option<Blocked>) {
        let blocker = match finding.status {
            Status::Fail => Some(control.policy.id.clone()),
            Status::Skipped => blocked.map(|(root, _)| root),
            _ => None,
        };
        if let Some(b) = blocker {
            self.0.insert(control.policy.id.clone(), b);
        }
    }
}

/// One control: gate, read, run, render.
fn evaluate_one(
    run: &Run,
    root: &::cel::Context,
    control: &Control,
    eff: &Effective,
    blocked: Option<&Blocked>,
) -> Finding {
    let f = blank_finding(run, control, eff);
    if let Some((reason, failed_root)) = gate(run.profile, control, eff, blocked) {
        let mut f = skipped(f, reason);
        f.blocked_by = failed_root;
        return f;
    }
    if let Some(reason) = not_collected(run.facts, &control.policy.reads) {
        return skipped(f, reason);
    }
    let unreadable = unreadable_sections(run.facts, &control.policy.reads);
    if !unreadable.is_empty() {
        let tctx = template_context(&run.target, &eff.params, &[]);
        return cannot_read(f, run, control, &tctx, &unreadable);
    }
    let scope = cel_scope(run, root, control, eff);
    match run_expressions(control, &scope) {
        Ok(Ran::NotApplicable) => {
            // Why it does not apply may rest on the facts (e.g. how onboarding was decided).
            let tctx = minijinja::context! {
                facts => minijinja::Value::from(minijinja::value::Serde(readable_json(run.facts, control))),
                ..template_context(&run.target, &eff.params, &[])
            };
            let msg = control
                .policy
                .messages
                .not_applicable
                .as_deref()
                .map(|t| run.render(t, &tctx))
                .unwrap_or_else(|| "not applicable with the current params".into());
            skipped(f, format!("not applicable: {msg}"))
        }
        Ok(Ran::Evaluated {
            evidence,
            mut notes,
        }) => {
            notes.extend(optional_notes(run.facts, &control.policy.optional_reads));
            let tctx = template_context(&run.target, &eff.params, &evidence);
            concluded(f, run, control, &tctx, evidence, notes)
        }
        Err(e) => expression_error(f, e),
    }
}

/// A `skipped` finding with no evidence yet: the starting point of every control.
fn blank_finding(run: &Run, control: &Control, eff: &Effective) -> Finding {
    let p = &control.policy;
    Finding {
        control: p.id.clone(),
        title: p.title.clone(),
        severity: eff.severity,
        stage: p.stage,
        status: Status::Skipped,
        original_status: None,
        message: String::new(),
        reason: None,
        evidence: Vec::new(),
        notes: Vec::new(),
        remediation: Remediation::default(),
        scope: Some(run.facts.target.workspace_id.clone()),
        policy_file: Some(control.file.clone()),
        waiver: None,
        baseline: None,
        blocked_by: None,
    }
}

/// Why the control does not run at all, if it does not: disabled, outside the profile, or
/// blocked by a failed dependency (then also the failed root, for `Finding::blocked_by`).
fn gate(
    profile: Profile,
    control: &Control,
    eff: &Effective,
    blocked: Option<&Blocked>,
) -> Option<(String, Option<String>)> {
    let stage = control.policy.stage;
    if !eff.enabled {
        return Some(("disabled in configuration".into(), None));
    }
    if !profile.includes(stage) {
        return Some((
            format!("outside profile {} (stage {stage})", profile.as_str()),
            None,
        ));
    }
    blocked.map(|(root, dep)| {
        let reason = if root == dep {
            format!("blocked by {dep} (fail)")
        } else {
            format!("blocked by {root} (fail, via {dep})")
        };
        (reason, Some(root.clone()))
    })
}

fn skipped(mut f: Finding, reason: String) -> Finding {
    f.message = reason.clone();
    f.reason = Some(reason);
    f
}

/// A section `reads` lists that the document lacks because the xdrguard that wrote it did
/// not collect it yet (older schema): saved facts keep their exit code, the control says to
/// collect again. Missing from a document of the current schema, it is an `error` as ever.
fn not_collected(facts: &FactsDocument, reads: &[SectionName]) -> Option<String> {
    let old: Vec<&str> = reads
        .iter()
        .filter(|n| {
            !facts.sections.contains_key(n)
                && apis::section(**n).since_schema > facts.schema_version
        })
        .map(|n| n.as_str())
        .collect();
    (!old.is_empty()).then(|| {
        format!(
            "not collected: these facts (schema {}) were written by an xdrguard without section `{}`; re-run `xdrguard collect`",
            facts.schema_version,
            old.join("`, `")
        )
    })
}

/// Optional sections that could not be read: left out of `facts`, said in the notes.
fn optional_notes(facts: &FactsDocument, optional: &[SectionName]) -> Vec<String> {
    optional
        .iter()
        .filter_map(|n| match facts.sections.get(n) {
            Some(Section::Error(e)) => Some(format!("{}; evaluated without it", e.describe(n))),
            _ => None,
        })
        .collect()
}

/// Fail closed: why each section in `reads` that could not be read is missing, with the
/// API and permission that collect it.
fn unreadable_sections(facts: &FactsDocument, reads: &[SectionName]) -> Vec<String> {
    reads
        .iter()
        .filter_map(|name| match facts.sections.get(name) {
            Some(Section::Data(_)) => None,
            Some(Section::Error(e)) => Some(e.describe(name)),
            None => {
                let s = apis::section(*name);
                let hint = format!(
                    " (collected by {} {}; needs {})",
                    s.api.as_str(),
                    s.call,
                    s.permission
                );
                Some(format!(
                    "section `{name}` is missing from the facts document{hint}"
                ))
            }
        })
        .collect()
}

/// An `error` finding for facts that could not be read; the remediation still shows.
fn cannot_read(
    mut f: Finding,
    run: &Run,
    control: &Control,
    tctx: &minijinja::Value,
    unreadable: &[String],
) -> Finding {
    f.remediation = render_remediation(run, control, tctx);
    f.status = Status::Error;
    f.message = "facts could not be read; the control cannot be evaluated".into();
    f.reason = Some(unreadable.join("; "));
    f
}

/// The CEL scope of one control: `params`, and `facts` holding only the sections it reads.
/// Each section is shared: putting it in the view is a reference-count increment.
fn cel_scope<'r>(
    run: &'r Run,
    root: &'r ::cel::Context<'r, 'r>,
    control: &'r Control,
    eff: &Effective,
) -> ::cel::Context<'r, 'r> {
    let mut scope = root.new_inner_scope();
    scope.add_variable_as_val("params", params_to_cel(control, &eff.params));
    let p = &control.policy;
    let readable = cel::map(p.reads.iter().chain(&p.optional_reads).filter_map(|r| {
        run.sections
            .get(r.as_str())
            .map(|v| (CelMapKey::from(r.as_str()), v.clone()))
    }));
    scope.add_variable_as_val("facts", Box::new(readable));
    scope
}

/// The sections a control reads (and the optional ones) that were read, as JSON.
fn readable_json(facts: &FactsDocument, control: &Control) -> Value {
    let p = &control.policy;
    p.reads
        .iter()
        .chain(&p.optional_reads)
        .filter_map(|n| facts.data(*n).map(|v| (n.to_string(), v.clone())))
        .collect::<Map<String, Value>>()
        .into()
}

/// What the expressions of a control found.
enum Ran {
    /// `applies_when` was false.
    NotApplicable,
    Evaluated {
        evidence: Vec<Evidence>,
        notes: Vec<String>,
    },
}

/// An expression that failed or returned the wrong type: which one, and why.
struct ExpressionError {
    which: &'static str,
    cause: String,
    /// What to do about it (the default: the facts may not have the expected shape).
    hint: &'static str,
}

/// What to do about most expression errors.
const SHAPE_HINT: &str = "The facts may not have the shape the policy expects; run `xdrguard lint` and check the facts against schemas/facts.schema.json";

impl ExpressionError {
    fn of(which: &'static str) -> impl FnOnce(String) -> ExpressionError {
        move |cause| ExpressionError {
            which,
            cause,
            hint: SHAPE_HINT,
        }
    }
}

/// Run the expressions within the evaluation cost limit: a control that spends it is an
/// error naming the limit, whatever its expressions returned (an error `||` absorbed, or a
/// result cut short).
fn run_expressions(control: &Control, scope: &::cel::Context) -> Result<Ran, ExpressionError> {
    let limit = limits::get().eval_cost;
    let budget = ::cel::cost::Budget::start(limit);
    let ran = run_unbounded(control, scope);
    if !budget.exceeded() {
        return ran;
    }
    Err(ExpressionError {
        which: ran.err().map_or("violations", |e| e.which),
        cause: format!(
            "evaluation cost limit of {limit} units exceeded (--eval-cost-limit; one unit per expression step, per 8 bytes of text and 8 per element copied or built)"
        ),
        hint: "The policy does more work over these facts than the limit allows: loop over less (nested loops over long lists multiply), or raise --eval-cost-limit",
    })
}

/// Run `applies_when`, then `violations`, then `notes`.
fn run_unbounded(control: &Control, scope: &::cel::Context) -> Result<Ran, ExpressionError> {
    if let Some(prog) = &control.applies_when {
        let v = cel::run(prog, scope).map_err(ExpressionError::of("applies_when"))?;
        match v.downcast_ref::<CelBool>() {
            Some(b) if *b.inner() => {}
            Some(_) => return Ok(Ran::NotApplicable),
            None => {
                return Err(ExpressionError::of("applies_when")(format!(
                    "returned {}, not a bool",
                    cel::debug(v.as_ref())
                )))
            }
        }
    }
    let evidence = cel::run(&control.violations, scope)
        .and_then(|v| to_evidence(v.as_ref()))
        .map_err(ExpressionError::of("violations"))?;
    let notes = match &control.notes {
        Some(prog) => cel::run(prog, scope)
            .and_then(|v| to_notes(v.as_ref()))
            .map_err(ExpressionError::of("notes"))?,
        None => Vec::new(),
    };
    Ok(Ran::Evaluated { evidence, notes })
}

/// The `notes` result → remarks: a list, each item a string or shown as JSON.
fn to_notes(v: &dyn CelVal) -> Result<Vec<String>, String> {
    let items = as_list(v)?;
    Ok(items
        .iter()
        .map(|v| match cel::to_json(v.as_ref()) {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect())
}

/// What templates see: the target, the params and what `violations` found; built once per
/// finding and shared by its message, summary and every step.
fn template_context(
    target: &minijinja::Value,
    params: &Map<String, Value>,
    evidence: &[Evidence],
) -> minijinja::Value {
    let names: Vec<&str> = evidence.iter().map(Evidence::label).collect();
    minijinja::context! {
        target => target.clone(),
        params => minijinja::Value::from(minijinja::value::Serde(params)),
        violations => minijinja::Value::from(minijinja::value::Serde(evidence)),
        count => evidence.len(),
        names => names.join(", "),
    }
}

/// `pass` or `fail` by the evidence, with its message and remediation rendered.
fn concluded(
    mut f: Finding,
    run: &Run,
    control: &Control,
    tctx: &minijinja::Value,
    evidence: Vec<Evidence>,
    notes: Vec<String>,
) -> Finding {
    let messages = &control.policy.messages;
    let (status, message) = if evidence.is_empty() {
        (Status::Pass, &messages.pass)
    } else {
        (Status::Fail, &messages.fail)
    };
    f.status = status;
    f.message = run.render(message, tctx);
    f.remediation = render_remediation(run, control, tctx);
    f.evidence = evidence;
    f.notes = notes;
    f
}

fn expression_error(mut f: Finding, e: ExpressionError) -> Finding {
    f.status = Status::Error;
    f.message = "the policy could not be evaluated over these facts".into();
    f.reason = Some(format!(
        "`{}` of {} failed: {}. {}",
        e.which,
        f.policy_file.as_deref().unwrap_or("the policy"),
        e.cause,
        e.hint
    ));
    f
}

fn render_remediation(run: &Run, control: &Control, ctx: &minijinja::Value) -> Remediation {
    let r = &control.policy.remediation;
    let render = |t: &str| run.render(t, ctx);
    Remediation {
        summary: render(&r.summary),
        steps: r
            .steps
            .iter()
            .flat_map(|m| {
                m.iter().map(|(k, v)| RemediationStep {
                    kind: *k,
                    text: render(v),
                })
            })
            .collect(),
        docs: r.docs.clone(),
    }
}

fn param_kind(control: &Control, name: &str) -> Option<ParamType> {
    control.policy.params.get(name).map(|s| s.kind)
}

fn params_to_cel(control: &Control, params: &Map<String, Value>) -> Box<dyn CelVal + 'static> {
    Box::new(cel::map(params.iter().map(|(k, v)| {
        let value = match (param_kind(control, k), v.as_str()) {
            (Some(ParamType::Duration), Some(s)) => match crate::policy::parse_duration(s) {
                Ok(d) => Box::new(CelDuration::from(d)),
                Err(_) => cel::owned(v),
            },
            _ => cel::owned(v),
        };
        (CelMapKey::from(k.clone()), value)
    })))
}

/// The result of `violations`/`notes` as a list, or why it is not one.
fn as_list<'b, 'v>(v: &'b (dyn CelVal + 'v)) -> Result<&'b [Box<dyn CelVal + 'v>], String> {
    v.downcast_ref::<CelList>()
        .map(|l| l.inner())
        .ok_or_else(|| format!("returned {}, not a list", cel::debug(v)))
}

/// JSON text of an evidence field: empty for none/null, a string as is, anything else as JSON.
fn text(j: Option<&Value>) -> String {
    match j {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One field of a violation map, read without converting the map to JSON first.
fn field(m: &CelMap, key: &str) -> String {
    match m.inner().get(&CelMapKey::from(key)) {
        None => String::new(),
        Some(v) => match v.downcast_ref::<CelString>() {
            Some(s) => s.inner().to_owned(),
            None => text(Some(&cel::to_json(v.as_ref()))),
        },
    }
}

/// The `violations` result → evidence: a list of maps `{id, name, detail}` or of strings.
fn to_evidence(v: &dyn CelVal) -> Result<Vec<Evidence>, String> {
    as_list(v)?
        .iter()
        .map(|item| {
            if let Some(s) = item.downcast_ref::<CelString>() {
                return Ok(Evidence {
                    id: s.inner().to_owned(),
                    name: String::new(),
                    detail: String::new(),
                });
            }
            let Some(m) = item.downcast_ref::<CelMap>() else {
                return Err(format!(
                    "a violation is {}, not a map with `id`",
                    cel::to_json(item.as_ref())
                ));
            };
            let id = field(m, "id");
            if id.is_empty() {
                return Err(format!(
                    "a violation has no `id`: {}",
                    cel::to_json(item.as_ref())
                ));
            }
            Ok(Evidence {
                id,
                name: field(m, "name"),
                detail: field(m, "detail"),
            })
        })
        .collect()
}
