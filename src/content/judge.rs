//! Judge content with the shipped policies: content items become facts (alone, or over live
//! facts), the evaluator runs unchanged, and the outcome is read the way content demands.
//!
//! - **Not in content.** Content is partial: a control reading a section the content does not
//!   supply is `skipped` ("not in content"), and what a control reports as *absent* from the
//!   workspace (a required table the content does not declare) is a note, not a failure —
//!   unless live facts are given (`--facts`), which supply every section.
//! - **Unknown values.** An item with a value xdrguard could not resolve is withheld from the
//!   facts and *probed*: the control is evaluated with that value set to each candidate (both
//!   booleans; the policy's own string constants and params; one value equal to none). All
//!   probes agree → decided (offending or fine); otherwise the control is `error`, naming the
//!   expression and where it is. Never a silent pass.
//! - **Locations.** Evidence on a content item names its file, line and column.

use super::automation;
use super::{ContentItem, ContentSet, SourceLocation, Target, UnresolvedCause};
use crate::eval;
use crate::facts::{FactsDocument, Section, SectionName, ToolInfo, SCHEMA_VERSION};
use crate::model::{Evidence, Finding, Profile, Status};
use crate::policy::load::Control;
use crate::policy::{Catalog, ValidConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Most probes of one withheld item; beyond, it is undetermined for the controls it concerns.
const PROBE_BUDGET: usize = 64;

/// What judging produced: the findings, and the facts they were judged over (for the report).
pub struct Judged {
    pub findings: Vec<Finding>,
    pub facts: FactsDocument,
    /// Live items the content replaced: (section, key, content location).
    pub replaced: Vec<(SectionName, String, SourceLocation)>,
    /// Where each located evidence is written: (control, evidence ID) → location.
    pub locations: HashMap<(String, String), SourceLocation>,
}

/// Judge `content`, alone or over `live` facts.
pub fn judge(
    catalog: &Catalog,
    config: &ValidConfig,
    profile: Profile,
    content: &ContentSet,
    live: Option<&FactsDocument>,
    target: &Target,
    now: chrono::DateTime<chrono::Utc>,
) -> Judged {
    let start = || match live {
        Some(l) => l.clone(),
        None => empty_facts(target, now),
    };
    let unknown: Vec<&ContentItem> = content
        .items
        .iter()
        .filter(|i| !i.unresolved.is_empty())
        .collect();
    let groups = groups(catalog, &unknown);
    let base = evaluate_groups(catalog, config, profile, &groups, &unknown, &start, content);
    // Probes start from the facts with every unknown item withheld; each withheld item is
    // probed for the controls that read its unresolved values.
    let (facts, replaced) = merged(start(), &content.items, &unknown);
    let plans: Vec<Plan> = unknown
        .iter()
        .enumerate()
        .filter_map(|(i, j)| {
            let concerned: BTreeSet<String> = groups
                .iter()
                .filter(|(k, _)| k.contains(&i))
                .flat_map(|(_, ids)| ids.iter().map(|s| s.to_string()))
                .collect();
            (!concerned.is_empty()).then(|| plan(catalog, config, j, concerned))
        })
        .collect();
    let probes = probe_all(catalog, config, profile, &facts, plans);
    let (facts, _) = merged(start(), &content.items, &[]);
    let supplied: BTreeSet<SectionName> = content.items.iter().map(|i| i.section).collect();
    let mut locations = HashMap::new();
    // In catalog order, so a control's dependencies are concluded before it.
    let mut concluded: HashMap<String, Status> = HashMap::new();
    let mut findings: Vec<Finding> = Vec::with_capacity(base.len());
    for f in base {
        let control = catalog
            .get(&f.control)
            .expect("finding of a catalog control");
        let ctx = Context {
            content,
            probes: &probes,
            overlay: live.is_some(),
            supplied: &supplied,
            concluded: &concluded,
        };
        let f = conclude(f, control, &ctx, &mut locations);
        concluded.insert(f.control.clone(), f.status);
        findings.push(f);
    }
    if catalog.get(automation::CONTROL).is_none() {
        if let Some((mut f, locs)) = automation::check(&content.automation_rules) {
            for (e, loc) in f.evidence.iter_mut().zip(locs) {
                locate(e, &loc);
                locations.insert((f.control.clone(), e.id.clone()), loc);
            }
            f.scope = Some(facts.target.workspace_id.clone());
            findings.push(f);
        }
    } else {
        unjudged_rules_fail_closed(&mut findings, content);
    }
    Judged {
        findings,
        facts,
        replaced,
        locations,
    }
}

/// Automation rules whose properties hold expressions xdrguard cannot resolve are not in the
/// `automation_rules` facts, so the catalog's policy never saw them: it cannot `pass` (nor
/// say the content has no automation rules).
fn unjudged_rules_fail_closed(findings: &mut [Finding], content: &ContentSet) {
    let judged: BTreeSet<&str> = content
        .items
        .iter()
        .filter(|i| i.section == SectionName::AutomationRules)
        .map(|i| i.key.as_str())
        .collect();
    let unjudged: Vec<String> = content
        .automation_rules
        .iter()
        .filter(|r| !judged.contains(r.id.as_str()))
        .map(|r| {
            format!(
                "{} (at {})",
                r.display_name.as_deref().unwrap_or(&r.id),
                r.location
            )
        })
        .collect();
    let Some(f) = findings
        .iter_mut()
        .find(|f| f.control == automation::CONTROL)
    else {
        return;
    };
    // A pass, or "not in content" (the content has rules, just none the policy could read).
    let not_in_content = f.status == Status::Skipped
        && f.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("not in content"));
    if unjudged.is_empty() || !(f.status == Status::Pass || not_in_content) {
        return;
    }
    f.status = Status::Error;
    f.message = "some automation rules could not be judged".into();
    f.reason = Some(format!(
        "their properties hold ARM expressions xdrguard cannot resolve: {}",
        unjudged.join(", ")
    ));
}

/// Per control, the (indices of the) unknown items whose unresolved values it reads;
/// controls sharing that set share one evaluation (usually there are one or two sets).
fn groups<'c>(
    catalog: &'c Catalog,
    unknown: &[&ContentItem],
) -> BTreeMap<Vec<usize>, Vec<&'c str>> {
    let mut groups: BTreeMap<Vec<usize>, Vec<&str>> = BTreeMap::new();
    for c in &catalog.controls {
        let src = source_of(c);
        let key: Vec<usize> = (0..unknown.len())
            .filter(|&i| reads_unresolved(c, &src, unknown[i]))
            .collect();
        groups.entry(key).or_default().push(c.policy.id.as_str());
    }
    groups
}

/// Each control's finding from the evaluation that withholds the items it reads unknowns of,
/// in catalog order.
fn evaluate_groups(
    catalog: &Catalog,
    config: &ValidConfig,
    profile: Profile,
    groups: &BTreeMap<Vec<usize>, Vec<&str>>,
    unknown: &[&ContentItem],
    start: &dyn Fn() -> FactsDocument,
    content: &ContentSet,
) -> Vec<Finding> {
    let mut by_control: HashMap<String, Finding> = HashMap::new();
    for (key, ids) in groups {
        let withheld: Vec<&ContentItem> = key.iter().map(|&i| unknown[i]).collect();
        let (facts, _) = merged(start(), &content.items, &withheld);
        for f in eval::evaluate(catalog, config, &facts, profile) {
            if ids.contains(&f.control.as_str()) {
                by_control.insert(f.control.clone(), f);
            }
        }
    }
    catalog
        .controls
        .iter()
        .filter_map(|c| by_control.remove(&c.policy.id))
        .collect()
}

/// Whether control `c` (CEL `src`) reads one of `item`'s unresolved values.
fn reads_unresolved(c: &Control, src: &str, item: &ContentItem) -> bool {
    c.policy.reads.contains(&item.section) && item.unresolved.iter().any(|u| mentions(src, u.field))
}

/// `facts` with every content item put in (replacing live ones by key) except `withheld`,
/// whose live counterparts are removed: after the merge those resources are unknown, and the
/// old value must not speak for them. Also the keys replaced.
fn merged(
    mut facts: FactsDocument,
    items: &[ContentItem],
    withheld: &[&ContentItem],
) -> (FactsDocument, Vec<(SectionName, String, SourceLocation)>) {
    let mut replaced = Vec::new();
    for item in items {
        let hold = withheld.iter().any(|w| std::ptr::eq(*w, item));
        let hit = if hold {
            // The section is still supplied (by content), only this item is unknown.
            facts
                .sections
                .entry(item.section)
                .or_insert_with(|| Section::Data(Value::Array(Vec::new())));
            remove(&mut facts, item.section, &item.key)
        } else {
            put(&mut facts, item).is_some()
        };
        if hit {
            replaced.push((item.section, item.key.clone(), item.location.clone()));
        }
    }
    (facts, replaced)
}

fn empty_facts(target: &Target, now: chrono::DateTime<chrono::Utc>) -> FactsDocument {
    FactsDocument {
        schema_version: SCHEMA_VERSION,
        collected_at: now,
        tool: Some(ToolInfo::current()),
        target: crate::facts::Target {
            workspace_id: target.workspace().to_string(),
            tenant_id: target.tenant_id.clone(),
            cloud: None,
            operator: None,
            redacted: false,
        },
        sections: BTreeMap::new(),
    }
}

/// The field an item of `section` is matched on: ARM ID, or name for tables and settings.
fn key_field(section: SectionName) -> &'static str {
    match section {
        SectionName::Tables | SectionName::Settings => "name",
        _ => "id",
    }
}

/// Put an item into its section, replacing the live one of the same key (case-insensitive,
/// as ARM IDs and names are); the replaced key, if any. A section live facts could not read
/// stays an error (fail closed: the rest of it is unknown).
fn put(facts: &mut FactsDocument, item: &ContentItem) -> Option<String> {
    let section = facts
        .sections
        .entry(item.section)
        .or_insert_with(|| Section::Data(Value::Array(Vec::new())));
    let Section::Data(Value::Array(items)) = section else {
        return None;
    };
    let field = key_field(item.section);
    let pos = items.iter().position(|v| same_key(v, field, &item.key));
    match pos {
        Some(i) => {
            items[i] = item.value.clone();
            Some(item.key.clone())
        }
        None => {
            items.push(item.value.clone());
            None
        }
    }
}

fn remove(facts: &mut FactsDocument, section: SectionName, key: &str) -> bool {
    let Some(Section::Data(Value::Array(items))) = facts.sections.get_mut(&section) else {
        return false;
    };
    let before = items.len();
    items.retain(|v| !same_key(v, key_field(section), key));
    items.len() != before
}

fn same_key(v: &Value, field: &str, key: &str) -> bool {
    v.get(field)
        .and_then(Value::as_str)
        .is_some_and(|k| k.eq_ignore_ascii_case(key))
}

/// Whether evidence names this content item: its ID, its name, or (tables and settings,
/// which policies name by a built ID) an ID ending in `/<name>`.
fn names_item(e: &Evidence, item: &ContentItem) -> bool {
    let key = item.key.to_ascii_lowercase();
    let id = e.id.to_ascii_lowercase();
    // `…/automationRules/x#/conditions/0`: evidence about a part of the item.
    id == key
        || id
            .strip_prefix(&key)
            .is_some_and(|rest| rest.starts_with('#'))
        || (key_field(item.section) == "name"
            && (e.name.eq_ignore_ascii_case(&item.key) || id.ends_with(&format!("/{key}"))))
}

/// How one control judged one withheld item over every probe.
#[derive(Debug, Clone)]
enum Outcome {
    /// Offending in every probe: the evidence, and the first probe's finding (its message
    /// and remediation are rendered for this evidence).
    Offending(Evidence, Box<Finding>),
    /// Fine in every probe; the first probe's finding.
    Fine(Box<Finding>),
    Undetermined,
}

/// One withheld item and, per control ID, what the probes decided.
struct Probed<'a> {
    item: &'a ContentItem,
    outcomes: HashMap<String, Outcome>,
}

/// One withheld item's probe plan: the fields varied and each assignment of them.
struct Plan<'a> {
    item: &'a ContentItem,
    /// The controls that read its unresolved values.
    concerned: BTreeSet<String>,
    fields: Vec<&'static str>,
    assignments: Vec<Vec<Value>>,
    /// More assignments than [`PROBE_BUDGET`]: only the placeholder is tried, and the
    /// controls reading the fields are undetermined.
    over_budget: bool,
}

/// Probe every withheld item at once: round `r` gives each item its `r`-th assignment
/// (cycling), so the rounds are as many as the longest plan, not the sum of them. Only the
/// concerned controls run, loaded again as a catalog of their own (no dependency gates:
/// a probe judges the item, not the order of the journey). Whether evidence names an item
/// is exact for the per-item policies; for policies over the whole section, the other
/// items' values vary alongside, which can only turn an agreement into "undetermined".
fn probe_all<'a>(
    catalog: &Catalog,
    config: &ValidConfig,
    profile: Profile,
    facts: &FactsDocument,
    plans: Vec<Plan<'a>>,
) -> Vec<Probed<'a>> {
    let concerned: BTreeSet<&str> = plans
        .iter()
        .flat_map(|p| p.concerned.iter().map(String::as_str))
        .collect();
    let sub = Catalog {
        controls: catalog
            .controls
            .iter()
            .filter(|c| concerned.contains(c.policy.id.as_str()))
            .filter_map(|c| crate::policy::load::load_policy_file(c.doc.file.clone()).ok())
            .collect(),
    };
    let sources: HashMap<&str, String> = sub
        .controls
        .iter()
        .map(|c| (c.policy.id.as_str(), source_of(c)))
        .collect();
    let rounds = plans.iter().map(|p| p.assignments.len()).max().unwrap_or(0);
    let mut out: Vec<Probed> = plans
        .iter()
        .map(|p| Probed {
            item: p.item,
            outcomes: HashMap::new(),
        })
        .collect();
    for r in 0..rounds {
        let mut f = facts.clone();
        for p in &plans {
            let mut value = p.item.value.clone();
            for (field, v) in p.fields.iter().zip(&p.assignments[r % p.assignments.len()]) {
                value[*field] = v.clone();
            }
            put(
                &mut f,
                &ContentItem {
                    value,
                    ..p.item.clone()
                },
            );
        }
        let findings = eval::evaluate(&sub, config, &f, profile);
        for (p, probed) in plans.iter().zip(out.iter_mut()) {
            for finding in findings.iter().filter(|x| p.concerned.contains(&x.control)) {
                let source = &sources[finding.control.as_str()];
                let this = if (p.over_budget && p.fields.iter().any(|f| mentions(source, f)))
                    || finding.status == Status::Error
                {
                    Outcome::Undetermined
                } else {
                    match finding.evidence.iter().find(|e| names_item(e, p.item)) {
                        Some(e) => Outcome::Offending(e.clone(), Box::new(finding.clone())),
                        None => Outcome::Fine(Box::new(finding.clone())),
                    }
                };
                let merged = match (probed.outcomes.remove(&finding.control), this) {
                    (None, t) => t,
                    (Some(Outcome::Offending(e, f)), Outcome::Offending(..)) => {
                        Outcome::Offending(e, f)
                    }
                    (Some(Outcome::Fine(f)), Outcome::Fine(_)) => Outcome::Fine(f),
                    _ => Outcome::Undetermined,
                };
                probed.outcomes.insert(finding.control.clone(), merged);
            }
        }
    }
    out
}

/// What to try for `item`'s unresolved values that the concerned controls read.
fn plan<'a>(
    catalog: &Catalog,
    config: &ValidConfig,
    item: &'a ContentItem,
    concerned: BTreeSet<String>,
) -> Plan<'a> {
    let readers: Vec<&Control> = catalog
        .controls
        .iter()
        .filter(|c| concerned.contains(&c.policy.id))
        .collect();
    let sources: Vec<String> = readers.iter().map(|c| source_of(c)).collect();
    let fields: Vec<&'static str> = item
        .unresolved
        .iter()
        .map(|u| u.field)
        .filter(|f| sources.iter().any(|s| mentions(s, f)))
        .collect();
    let strings = string_candidates(&readers, config);
    let per_field: Vec<Vec<Value>> = fields.iter().map(|f| candidates(f, &strings)).collect();
    let combos = per_field
        .iter()
        .map(Vec::len)
        .try_fold(1usize, |a, n| a.checked_mul(n))
        .unwrap_or(usize::MAX);
    let over_budget = combos > PROBE_BUDGET;
    Plan {
        item,
        concerned,
        assignments: if over_budget {
            vec![Vec::new()]
        } else {
            cartesian(&per_field)
        },
        // Over budget, the one (empty) assignment leaves the placeholders in place.
        fields,
        over_budget,
    }
}

/// A control's CEL, all of it.
fn source_of(c: &Control) -> String {
    let p = &c.policy;
    [
        p.applies_when.as_deref(),
        Some(p.violations.as_str()),
        p.notes.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

/// Whether CEL source selects `field` (`.field`): a sound over-approximation of "reads it".
fn mentions(source: &str, field: &str) -> bool {
    source.match_indices(field).any(|(i, _)| {
        let before = source[..i].chars().next_back();
        let after = source[i + field.len()..].chars().next();
        before == Some('.')
            || before == Some('\'') && after == Some('\'')
            || source[..i].ends_with("has(")
    } && !source[i + field.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Every string literal of the controls' CEL and every string of their effective params, as
/// written and lower-cased, plus one string equal to none of them.
fn string_candidates(readers: &[&Control], config: &ValidConfig) -> Vec<String> {
    let mut out = BTreeSet::new();
    for c in readers {
        let src = source_of(c);
        let mut rest = src.as_str();
        while let Some(start) = rest.find('\'') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('\'') else { break };
            out.insert(after[..end].to_string());
            rest = &after[end + 1..];
        }
        for v in config.effective(c).params.values() {
            collect_strings(v, &mut out);
        }
    }
    let lower: Vec<String> = out.iter().map(|s| s.to_lowercase()).collect();
    out.extend(lower);
    out.insert("\u{1}xdrguard-none-of-these".into());
    out.into_iter().collect()
}

fn collect_strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Candidate values of one facts field, by its type in the facts types.
fn candidates(field: &str, strings: &[String]) -> Vec<Value> {
    match field {
        "enabled" | "is_enabled" => vec![Value::Bool(true), Value::Bool(false)],
        "filtered_alert_providers" | "entity_providers" | "data_sources" => {
            let mut v = vec![Value::Array(Vec::new())];
            v.extend(
                strings
                    .iter()
                    .map(|s| Value::Array(vec![Value::String(s.clone())])),
            );
            v
        }
        "retention_in_days" | "total_retention_in_days" => {
            vec![
                Value::Null,
                0.into(),
                30.into(),
                90.into(),
                180.into(),
                365.into(),
                730.into(),
                (-1).into(),
            ]
        }
        _ => {
            let mut v = vec![Value::Null];
            v.extend(strings.iter().map(|s| Value::String(s.clone())));
            v
        }
    }
}

fn cartesian(per_field: &[Vec<Value>]) -> Vec<Vec<Value>> {
    per_field.iter().fold(vec![Vec::new()], |acc, options| {
        acc.iter()
            .flat_map(|prefix| {
                options.iter().map(move |o| {
                    let mut p = prefix.clone();
                    p.push(o.clone());
                    p
                })
            })
            .collect()
    })
}

/// Append where the item is written to an evidence's detail.
fn locate(e: &mut Evidence, loc: &SourceLocation) {
    let at = format!("at {loc}");
    e.detail = if e.detail.is_empty() {
        at
    } else {
        format!("{} ({at})", e.detail)
    };
}

/// What every control's conclusion shares.
struct Context<'a> {
    content: &'a ContentSet,
    probes: &'a [Probed<'a>],
    /// Judged over live facts (every section supplied; absences are real).
    overlay: bool,
    /// Sections the content has items in.
    supplied: &'a BTreeSet<SectionName>,
    /// Final statuses of the controls concluded so far (dependencies come first).
    concluded: &'a HashMap<String, Status>,
}

/// Read a control's finding over content: not-in-content, absences, probes, locations.
fn conclude(
    f: Finding,
    control: &Control,
    ctx: &Context,
    locations: &mut HashMap<(String, String), SourceLocation>,
) -> Finding {
    let (mut f, plain_reopen) = match reopen(f, control, ctx) {
        Reopen::Keep(f) => return f,
        Reopen::Judge(f, plain) => (f, plain),
    };
    if !ctx.overlay {
        if let Some(reason) = missing_sections(&control.policy.reads, ctx.supplied) {
            return not_in_content(f, reason);
        }
    }
    let original = f.evidence.len();
    let sorted = sort_evidence(&mut f, control, ctx, locations);
    if !sorted.absent.is_empty() {
        let names: Vec<&str> = sorted
            .absent
            .iter()
            .take(5)
            .map(|e| e.id.as_str())
            .collect();
        f.notes.push(format!(
            "{} item(s) the workspace must have but the content does not declare ({}{}) are judged only with --facts",
            sorted.absent.len(),
            names.join(", "),
            if sorted.absent.len() > 5 { ", …" } else { "" }
        ));
    }
    if !sorted.located.is_empty() {
        return failed(f, sorted, original);
    }
    if !sorted.undetermined.is_empty() {
        let reason = format!(
            "depends on a value xdrguard could not resolve: {}",
            sorted.undetermined.join("; ")
        );
        f.status = Status::Error;
        f.message = reason.clone();
        f.reason = Some(reason);
        f.remediation = Default::default();
        return f;
    }
    if plain_reopen {
        return f;
    }
    if !sorted.absent.is_empty() {
        return not_in_content(f, "not in content: the control judges what the workspace lacks; scan with --facts live.json to judge it".into());
    }
    if f.status == Status::Fail && !ctx.overlay {
        // Every violation was an absence or a withheld item decided fine.
        f.status = Status::Pass;
        f.message = format!("{}: no offending item in the content", control.policy.title);
        f.remediation = Default::default();
    }
    f
}

/// Whether a finding is judged over content, or kept as the evaluator gave it.
enum Reopen {
    Keep(Finding),
    /// Judge it; `true` when it is a "not applicable" that only the probes could change.
    Judge(Finding, bool),
}

/// Gates (disabled, profile, blocked) and "not applicable" keep their own reason — unless an
/// item withheld for its unknown values could make the control apply, or the control was
/// blocked only in the run that withheld those items (its blocker did not fail in the end:
/// the probes, run unblocked, decide).
fn reopen(f: Finding, control: &Control, ctx: &Context) -> Reopen {
    if f.status != Status::Skipped {
        return Reopen::Judge(f, false);
    }
    let id = &control.policy.id;
    let outcomes = || {
        ctx.probes
            .iter()
            .filter_map(|p| p.outcomes.get(id).map(|o| (p, o)))
    };
    let unsettled =
        outcomes().any(|(_, o)| matches!(o, Outcome::Offending(..) | Outcome::Undetermined));
    let not_applicable = f
        .reason
        .as_deref()
        .is_some_and(|r| r.starts_with("not applicable"));
    let falsely_blocked = f
        .blocked_by
        .as_ref()
        .is_some_and(|b| ctx.concluded.get(b) != Some(&Status::Fail));
    if falsely_blocked {
        // Start from a probe's finding, without the probed item's own evidence (the probe
        // outcomes add it back if it offends).
        let probed = outcomes().find_map(|(p, o)| match o {
            Outcome::Offending(_, pf) | Outcome::Fine(pf) => Some((p.item, pf)),
            Outcome::Undetermined => None,
        });
        if let Some((item, pf)) = probed {
            let mut pf = (**pf).clone();
            pf.evidence.retain(|e| !names_item(e, item));
            return Reopen::Judge(pf, false);
        }
        if outcomes().next().is_some() {
            return Reopen::Judge(f, false);
        }
    }
    if not_applicable && unsettled {
        return Reopen::Judge(f, true);
    }
    Reopen::Keep(f)
}

/// "not in content" when the control reads sections the content does not supply.
fn missing_sections(reads: &[SectionName], supplied: &BTreeSet<SectionName>) -> Option<String> {
    let missing: Vec<&str> = reads
        .iter()
        .filter(|s| !supplied.contains(s))
        .map(|s| s.as_str())
        .collect();
    if missing.is_empty() {
        None
    } else if missing.len() == reads.len() {
        Some(format!(
            "not in content: the scanned content has no {}; scan with --facts live.json to judge it",
            missing.join(", ")
        ))
    } else {
        Some(format!(
            "not in content: needs {} besides what the content declares; scan with --facts live.json to judge it",
            missing.join(", ")
        ))
    }
}

/// A finding's evidence sorted by what content says about it.
struct Sorted {
    /// On a content item (with its location), or a live item (overlay).
    located: Vec<Evidence>,
    /// Scan only: what the workspace lacks, which content cannot show.
    absent: Vec<Evidence>,
    /// Withheld items the probes could not decide.
    undetermined: Vec<String>,
    /// The first probe finding that found a withheld item offending.
    probed: Option<Box<Finding>>,
}

fn sort_evidence(
    f: &mut Finding,
    control: &Control,
    ctx: &Context,
    locations: &mut HashMap<(String, String), SourceLocation>,
) -> Sorted {
    let reads = &control.policy.reads;
    let items: Vec<&ContentItem> = ctx
        .content
        .items
        .iter()
        .filter(|i| reads.contains(&i.section))
        .collect();
    let mut sorted = Sorted {
        located: Vec::new(),
        absent: Vec::new(),
        undetermined: Vec::new(),
        probed: None,
    };
    let mut place = |mut e: Evidence, loc: &SourceLocation, out: &mut Vec<Evidence>| {
        locate(&mut e, loc);
        locations.insert((f.control.clone(), e.id.clone()), loc.clone());
        out.push(e);
    };
    for e in std::mem::take(&mut f.evidence) {
        match items.iter().find(|i| names_item(&e, i)) {
            Some(i) => place(e, &i.location, &mut sorted.located),
            None if ctx.overlay => sorted.located.push(e),
            None => sorted.absent.push(e),
        }
    }
    for p in ctx
        .probes
        .iter()
        .filter(|p| reads.contains(&p.item.section))
    {
        match p.outcomes.get(&control.policy.id) {
            Some(Outcome::Offending(e, pf)) => {
                sorted.probed.get_or_insert_with(|| pf.clone());
                place(e.clone(), &p.item.location, &mut sorted.located);
            }
            Some(Outcome::Undetermined) => sorted.undetermined.push(describe_unknown(p.item)),
            // Decided fine, or not concerned: the control does not read the unknown values.
            Some(Outcome::Fine(_)) | None => {}
        }
    }
    sorted
}

/// A `fail` on the located evidence; `original` is how many items the evaluator named.
fn failed(mut f: Finding, sorted: Sorted, original: usize) -> Finding {
    if f.status != Status::Fail {
        // The base run did not see these items (withheld): its remediation and message are
        // not for them; a probe's are.
        if let Some(pf) = sorted.probed {
            f.remediation = pf.remediation.clone();
            f.message = pf.message.clone();
        }
    }
    if !sorted.absent.is_empty() || sorted.located.len() != original {
        let names: Vec<&str> = sorted.located.iter().map(Evidence::label).collect();
        f.message = format!(
            "{} offending item(s) in the content: {}",
            sorted.located.len(),
            names.join(", ")
        );
    }
    f.status = Status::Fail;
    f.reason = None;
    f.evidence = sorted.located;
    for u in &sorted.undetermined {
        f.notes.push(format!("could not be resolved: {u}"));
    }
    f
}

fn not_in_content(mut f: Finding, reason: String) -> Finding {
    f.status = Status::Skipped;
    f.message = reason.clone();
    f.reason = Some(reason);
    f.evidence.clear();
    f.remediation = Default::default();
    f
}

/// "`field` = `expression` (path:line:col)" for each unresolved value of an item.
fn describe_unknown(item: &ContentItem) -> String {
    item.unresolved
        .iter()
        .map(|u| {
            let hint = match u.cause {
                UnresolvedCause::DeploymentTarget => {
                    " — known only at deployment: pass --facts or --workspace"
                }
                UnresolvedCause::NotInFormat => "",
                UnresolvedCause::Expression => " — not evaluated by xdrguard",
            };
            format!(
                "{} of {} = `{}` ({}){hint}",
                u.field, item.key, u.expression, u.location
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_read_when_selected_or_tested() {
        let src = "facts.alert_rules.filter(r, r.enabled && has(r.product_filter))";
        assert!(mentions(src, "enabled"));
        assert!(mentions(src, "product_filter"));
        assert!(!mentions(src, "kind"));
        // A longer name that starts with the field is another field.
        assert!(!mentions("r.enabled_at", "enabled"));
    }

    #[test]
    fn candidates_cover_both_booleans_and_every_combination() {
        assert_eq!(
            candidates("enabled", &[]),
            vec![Value::Bool(true), Value::Bool(false)]
        );
        let strings = vec!["a".to_string()];
        assert_eq!(
            candidates("tenant_id", &strings),
            vec![Value::Null, "a".into()]
        );
        let c = cartesian(&[vec![1.into(), 2.into()], vec!["x".into(), "y".into()]]);
        assert_eq!(c.len(), 4);
        assert!(c.contains(&vec![2.into(), "x".into()]));
    }

    #[test]
    fn evidence_names_an_item_by_id_or_by_table_name() {
        let item = |section, key: &str| ContentItem {
            section,
            key: key.into(),
            value: Value::Null,
            location: SourceLocation {
                path: "p".into(),
                line: 1,
                column: 1,
            },
            unresolved: Vec::new(),
        };
        let e = |id: &str, name: &str| Evidence {
            id: id.into(),
            name: name.into(),
            detail: String::new(),
        };
        let rule = item(
            SectionName::AlertRules,
            "/Ws/providers/Microsoft.SecurityInsights/alertRules/R1",
        );
        assert!(names_item(
            &e("/ws/providers/microsoft.securityinsights/alertrules/r1", ""),
            &rule
        ));
        assert!(!names_item(&e("R1", "R1"), &rule));
        let setting = item(SectionName::Settings, "EntityAnalytics");
        assert!(names_item(
            &e(
                "/w/providers/Microsoft.SecurityInsights/settings/EntityAnalytics",
                ""
            ),
            &setting
        ));
        assert!(names_item(&e("x", "entityanalytics"), &setting));
    }
}
