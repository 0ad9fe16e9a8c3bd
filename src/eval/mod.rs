//! The evaluator: resolved policies + facts → findings. It knows nothing of HTTP.
//!
//! Each control goes through the same steps: gate (disabled, outside the profile, blocked
//! by a failed dependency), read (fail closed on a section that could not be collected),
//! run its CEL (`applies_when`, `violations`, `notes`) and render its messages.

use crate::facts::{apis, FactsDocument, Section, SectionName};
use crate::model::{Evidence, Finding, Remediation, RemediationStep, Status};
use crate::policy::load::Control;
use crate::policy::template::render_or_flag;
use crate::policy::{cel, Catalog, Effective, ParamType, ValidConfig};
use ::cel::Value as CelValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

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
    let run = Run::new(&facts, profile);
    let mut blockers = Blockers::default();
    catalog
        .controls
        .iter()
        .map(|control| {
            let blocked = blockers.of(control);
            let finding = evaluate_one(&run, control, config.effective(control), blocked.as_ref());
            blockers.record(control, &finding, blocked);
            finding
        })
        .collect()
}

/// What every control of one run shares.
struct Run<'a> {
    facts: &'a FactsDocument,
    /// Each readable section, converted to CEL once.
    sections: HashMap<&'a str, CelValue>,
    profile: Profile,
    /// CEL context with the functions, `now` and `target`.
    root: ::cel::Context<'static, 'static>,
    /// `target` for templates.
    target: Value,
}

impl<'a> Run<'a> {
    fn new(facts: &'a FactsDocument, profile: Profile) -> Run<'a> {
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
        let mut root = cel::root_context();
        root.add_variable_from_value(
            "now",
            CelValue::Timestamp(facts.collected_at.fixed_offset()),
        );
        root.add_variable_from_value("target", cel::from_json(&target));
        Run {
            facts,
            sections,
            profile,
            root,
            target,
        }
    }
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
    control: &Control,
    eff: &Effective,
    blocked: Option<&Blocked>,
) -> Finding {
    let f = blank_finding(run, control, eff);
    if let Some((reason, root)) = gate(run.profile, control, eff, blocked) {
        let mut f = skipped(f, reason);
        f.blocked_by = root;
        return f;
    }
    if let Some(reason) = not_collected(run.facts, &control.policy.reads) {
        return skipped(f, reason);
    }
    let unreadable = unreadable_sections(run.facts, &control.policy.reads);
    if !unreadable.is_empty() {
        let tctx = template_context(&run.target, &eff.params, &[]);
        return cannot_read(f, control, &tctx, &unreadable);
    }
    let scope = cel_scope(run, control, eff);
    match run_expressions(control, &scope) {
        Ok(Ran::NotApplicable) => {
            let mut tctx = template_context(&run.target, &eff.params, &[]);
            // Why it does not apply may rest on the facts (e.g. how onboarding was decided).
            tctx["facts"] = readable_json(run.facts, control);
            let msg = control
                .policy
                .messages
                .not_applicable
                .as_deref()
                .map(|t| render_or_flag(t, &tctx))
                .unwrap_or_else(|| "not applicable with the current params".into());
            skipped(f, format!("not applicable: {msg}"))
        }
        Ok(Ran::Evaluated {
            evidence,
            mut notes,
        }) => {
            notes.extend(optional_notes(run.facts, &control.policy.optional_reads));
            let tctx = template_context(&run.target, &eff.params, &evidence);
            concluded(f, control, &tctx, evidence, notes)
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
fn cannot_read(mut f: Finding, control: &Control, tctx: &Value, unreadable: &[String]) -> Finding {
    f.remediation = render_remediation(control, tctx);
    f.status = Status::Error;
    f.message = "facts could not be read; the control cannot be evaluated".into();
    f.reason = Some(unreadable.join("; "));
    f
}

/// The CEL scope of one control: `params`, and `facts` holding only the sections it reads.
fn cel_scope<'r>(run: &'r Run, control: &Control, eff: &Effective) -> ::cel::Context<'r, 'static> {
    let mut scope = run.root.new_inner_scope();
    scope.add_variable_from_value("params", params_to_cel(control, &eff.params));
    let p = &control.policy;
    let readable: HashMap<::cel::objects::Key, CelValue> = p
        .reads
        .iter()
        .chain(&p.optional_reads)
        .filter_map(|r| {
            run.sections.get(r.as_str()).map(|v| {
                (
                    ::cel::objects::Key::String(Arc::new(r.to_string())),
                    v.clone(),
                )
            })
        })
        .collect();
    scope.add_variable_from_value(
        "facts",
        CelValue::Map(::cel::objects::Map {
            map: Arc::new(readable),
        }),
    );
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
}

impl ExpressionError {
    fn of(which: &'static str) -> impl FnOnce(String) -> ExpressionError {
        move |cause| ExpressionError { which, cause }
    }
}

/// Run `applies_when`, then `violations`, then `notes`.
fn run_expressions(control: &Control, scope: &::cel::Context) -> Result<Ran, ExpressionError> {
    if let Some(prog) = &control.applies_when {
        match cel::run(prog, scope).map_err(ExpressionError::of("applies_when"))? {
            CelValue::Bool(true) => {}
            CelValue::Bool(false) => return Ok(Ran::NotApplicable),
            other => {
                return Err(ExpressionError::of("applies_when")(format!(
                    "returned {other:?}, not a bool"
                )))
            }
        }
    }
    let evidence = cel::run(&control.violations, scope)
        .and_then(|v| to_evidence(&v))
        .map_err(ExpressionError::of("violations"))?;
    let notes = match &control.notes {
        Some(prog) => cel::run(prog, scope)
            .and_then(|v| to_notes(&v))
            .map_err(ExpressionError::of("notes"))?,
        None => Vec::new(),
    };
    Ok(Ran::Evaluated { evidence, notes })
}

/// The `notes` result → remarks: a list, each item a string or shown as JSON.
fn to_notes(v: &CelValue) -> Result<Vec<String>, String> {
    let CelValue::List(items) = v else {
        return Err(format!("returned {v:?}, not a list"));
    };
    Ok(items
        .iter()
        .map(|v| match cel::to_json(v) {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect())
}

/// What templates see: the target, the params and what `violations` found.
fn template_context(target: &Value, params: &Map<String, Value>, evidence: &[Evidence]) -> Value {
    let names: Vec<&str> = evidence
        .iter()
        .map(|e| {
            if e.name.is_empty() {
                e.id.as_str()
            } else {
                e.name.as_str()
            }
        })
        .collect();
    json!({
        "target": target,
        "params": Value::Object(params.clone()),
        "violations": serde_json::to_value(evidence).unwrap_or_default(),
        "count": evidence.len(),
        "names": names.join(", "),
    })
}

/// `pass` or `fail` by the evidence, with its message and remediation rendered.
fn concluded(
    mut f: Finding,
    control: &Control,
    tctx: &Value,
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
    f.message = render_or_flag(message, tctx);
    f.remediation = render_remediation(control, tctx);
    f.evidence = evidence;
    f.notes = notes;
    f
}

fn expression_error(mut f: Finding, e: ExpressionError) -> Finding {
    f.status = Status::Error;
    f.message = "the policy could not be evaluated over these facts".into();
    f.reason = Some(format!(
        "`{}` of {} failed: {}. The facts may not have the shape the policy expects; run `xdrguard lint` and check the facts against schemas/facts.schema.json",
        e.which,
        f.policy_file.as_deref().unwrap_or("the policy"),
        e.cause
    ));
    f
}

fn render_remediation(control: &Control, ctx: &Value) -> Remediation {
    let r = &control.policy.remediation;
    let render = |t: &str| render_or_flag(t, ctx);
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

fn params_to_cel(control: &Control, params: &Map<String, Value>) -> CelValue {
    let mut map = HashMap::new();
    for (k, v) in params {
        let value = match (param_kind(control, k), v.as_str()) {
            (Some(ParamType::Duration), Some(s)) => match crate::policy::parse_duration(s) {
                Ok(d) => CelValue::Duration(d),
                Err(_) => cel::from_json(v),
            },
            _ => cel::from_json(v),
        };
        map.insert(::cel::objects::Key::String(Arc::new(k.clone())), value);
    }
    CelValue::Map(::cel::objects::Map { map: Arc::new(map) })
}

/// The `violations` result → evidence: a list of maps `{id, name, detail}` or of strings.
fn to_evidence(v: &CelValue) -> Result<Vec<Evidence>, String> {
    let CelValue::List(items) = v else {
        return Err(format!("returned {v:?}, not a list"));
    };
    let text = |j: Option<&Value>| match j {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    items
        .iter()
        .map(|item| match cel::to_json(item) {
            Value::String(s) => Ok(Evidence {
                id: s,
                name: String::new(),
                detail: String::new(),
            }),
            Value::Object(m) => {
                let id = text(m.get("id"));
                if id.is_empty() {
                    return Err(format!(
                        "a violation has no `id`: {}",
                        Value::Object(m.clone())
                    ));
                }
                Ok(Evidence {
                    id,
                    name: text(m.get("name")),
                    detail: text(m.get("detail")),
                })
            }
            other => Err(format!("a violation is {other}, not a map with `id`")),
        })
        .collect()
}
