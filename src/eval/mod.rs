//! The evaluator: policies + facts → findings. It knows nothing of HTTP.

use crate::facts::{apis, FactsDocument, Section, SectionName};
use crate::model::{Evidence, Finding, Remediation, RemediationStep, Severity, Stage, Status};
use crate::policy::config::Config;
use crate::policy::load::Control;
use crate::policy::{cel, template};
use crate::policy::{Catalog, ParamType};
use ::cel::Value as CelValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Which stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The prerequisite stage: what stops us from connecting today?
    PreOnboarding,
    /// All stages.
    #[default]
    Full,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::PreOnboarding => "pre-onboarding",
            Profile::Full => "full",
        }
    }
    pub fn includes(self, stage: Stage) -> bool {
        match self {
            Profile::PreOnboarding => stage == Stage::Prerequisite,
            Profile::Full => true,
        }
    }
}

/// A control's effective settings after config overrides.
#[derive(Debug, Clone)]
pub struct Effective {
    pub severity: Severity,
    pub enabled: bool,
    pub params: Map<String, Value>,
}

/// Resolve severity, enabled and params (defaults, then config, shared params from their owner).
pub fn effective(catalog: &Catalog, config: &Config, control: &Control) -> Effective {
    let id = &control.policy.id;
    let o = config.controls.get(id);
    let mut params = Map::new();
    for (name, spec) in &control.policy.params {
        let (owner, owner_spec) = match &spec.shared_with {
            Some(owner) => match catalog.get(owner).and_then(|c| c.policy.params.get(name)) {
                Some(s) => (owner.as_str(), s),
                None => (id.as_str(), spec),
            },
            None => (id.as_str(), spec),
        };
        let value = config
            .controls
            .get(owner)
            .and_then(|o| o.params.get(name))
            .cloned()
            .unwrap_or_else(|| owner_spec.default.clone());
        params.insert(name.clone(), value);
    }
    Effective {
        severity: o
            .and_then(|o| o.severity)
            .unwrap_or(control.policy.severity),
        enabled: o.and_then(|o| o.enabled).unwrap_or(true),
        params,
    }
}

/// Evaluate every control of the catalog over the facts.
pub fn evaluate(
    catalog: &Catalog,
    config: &Config,
    facts: &FactsDocument,
    profile: Profile,
) -> Vec<Finding> {
    let mut root = cel::root_context();
    // Each section converted once; each control then sees only the sections it declares in
    // `reads`, so no expression can read around the fail-closed check.
    let sections: HashMap<&str, CelValue> = facts
        .sections
        .iter()
        .filter_map(|(name, section)| match section {
            Section::Data(v) => Some((name.as_str(), cel::from_json(v))),
            Section::Error(_) => None,
        })
        .collect();
    root.add_variable_from_value(
        "now",
        CelValue::Timestamp(facts.collected_at.fixed_offset()),
    );
    let target = target_json(facts);
    root.add_variable_from_value("target", cel::from_json(&target));
    let run = Run {
        facts,
        sections,
        profile,
        root,
        target,
    };

    // Control ID → the failed control that blocks its dependants (itself, or its own blocker).
    let mut blockers: HashMap<String, String> = HashMap::new();
    let mut findings = Vec::with_capacity(catalog.controls.len());
    for control in &catalog.controls {
        let eff = effective(catalog, config, control);
        // The first upstream control that failed, or is itself blocked: (root, upstream).
        let blocked = control
            .policy
            .depends_on
            .iter()
            .find_map(|d| blockers.get(d).map(|root| (root.clone(), d.as_str())));
        let finding = evaluate_one(&run, control, &eff, blocked.as_ref());
        let blocker = match finding.status {
            Status::Fail => Some(control.policy.id.clone()),
            Status::Skipped => blocked.map(|(root, _)| root),
            _ => None,
        };
        if let Some(b) = blocker {
            blockers.insert(control.policy.id.clone(), b);
        }
        findings.push(finding);
    }
    findings
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

fn evaluate_one(
    run: &Run,
    control: &Control,
    eff: &Effective,
    blocked: Option<&(String, &str)>,
) -> Finding {
    let Run {
        facts,
        sections,
        profile,
        root,
        target,
    } = run;
    let profile = *profile;
    let p = &control.policy;
    let mut f = Finding {
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
        scope: Some(facts.target.workspace_id.clone()),
        policy_file: Some(control.file.clone()),
        waiver: None,
        baseline: None,
    };
    let skip = |mut f: Finding, reason: String| {
        f.message = reason.clone();
        f.reason = Some(reason);
        f
    };
    if !eff.enabled {
        return skip(f, "disabled in configuration".into());
    }
    if !profile.includes(p.stage) {
        return skip(
            f,
            format!("outside profile {} (stage {})", profile.as_str(), p.stage),
        );
    }
    if let Some((root_id, dep)) = blocked {
        let reason = if root_id == dep {
            format!("blocked by {dep} (fail)")
        } else {
            format!("blocked by {root_id} (fail, via {dep})")
        };
        return skip(f, reason);
    }
    // Fail closed: a section that could not be read makes the control `error`.
    let mut unreadable = Vec::new();
    for name in &p.reads {
        match facts.sections.get(name) {
            Some(Section::Data(_)) => {}
            Some(Section::Error(e)) => unreadable.push(e.describe(name)),
            None => {
                let s = apis::section(*name);
                let hint = format!(
                    " (collected by {} {}; needs {})",
                    s.api.as_str(),
                    s.call,
                    s.permission
                );
                unreadable.push(format!(
                    "section `{name}` is missing from the facts document{hint}"
                ));
            }
        }
    }
    let mut tctx = json!({
        "target": target,
        "params": Value::Object(eff.params.clone()),
        "violations": [],
        "count": 0,
        "names": "",
    });
    if !unreadable.is_empty() {
        f.remediation = render_remediation(control, &tctx);
        f.status = Status::Error;
        f.message = "facts could not be read; the control cannot be evaluated".into();
        f.reason = Some(unreadable.join("; "));
        return f;
    }
    let mut scope = root.new_inner_scope();
    scope.add_variable_from_value("params", params_to_cel(control, &eff.params));
    let readable: HashMap<::cel::objects::Key, CelValue> = p
        .reads
        .iter()
        .filter_map(|r| {
            sections.get(r.as_str()).map(|v| {
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
    if let Some(prog) = &control.applies_when {
        match cel::run(prog, &scope) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => {
                let msg = p
                    .messages
                    .not_applicable
                    .as_deref()
                    .map(|t| render_or_flag(t, &tctx))
                    .unwrap_or_else(|| "not applicable with the current params".into());
                return skip(f, format!("not applicable: {msg}"));
            }
            Ok(other) => {
                return expression_error(
                    f,
                    "applies_when",
                    &format!("returned {other:?}, not a bool"),
                )
            }
            Err(e) => return expression_error(f, "applies_when", &e),
        }
    }
    let evidence = match cel::run(&control.violations, &scope).map(|v| to_evidence(&v)) {
        Ok(Ok(ev)) => ev,
        Ok(Err(e)) | Err(e) => return expression_error(f, "violations", &e),
    };
    if let Some(prog) = &control.notes {
        match cel::run(prog, &scope) {
            Ok(CelValue::List(items)) => {
                f.notes = items
                    .iter()
                    .map(|v| match cel::to_json(v) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect();
            }
            Ok(other) => {
                return expression_error(f, "notes", &format!("returned {other:?}, not a list"))
            }
            Err(e) => return expression_error(f, "notes", &e),
        }
    }
    f.status = if evidence.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
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
    tctx["names"] = Value::String(names.join(", "));
    tctx["count"] = evidence.len().into();
    tctx["violations"] = serde_json::to_value(&evidence).unwrap_or_default();
    let tmpl = if f.status == Status::Pass {
        &p.messages.pass
    } else {
        &p.messages.fail
    };
    f.message = render_or_flag(tmpl, &tctx);
    f.remediation = render_remediation(control, &tctx);
    f.evidence = evidence;
    f
}

fn expression_error(mut f: Finding, which: &str, e: &str) -> Finding {
    f.status = Status::Error;
    f.message = "the policy could not be evaluated over these facts".into();
    f.reason = Some(format!(
        "`{which}` of {} failed: {e}. The facts may not have the shape the policy expects; run `xdrguard lint` and check the facts against schemas/facts.schema.json",
        f.policy_file.as_deref().unwrap_or("the policy")
    ));
    f
}

/// Marker that a template failed to render; `xdrguard test` fails any case whose finding has it.
pub const TEMPLATE_ERROR: &str = "[template error:";

/// Render, or show the raw text with the error beside it: a policy bug must be visible.
fn render_or_flag(text: &str, ctx: &Value) -> String {
    template::render(text, ctx).unwrap_or_else(|e| format!("{text} {TEMPLATE_ERROR} {e}]"))
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
                    kind: k.clone(),
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
