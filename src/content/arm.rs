//! One ARM template → content items: recognise a deploymentTemplate, resolve its parameters
//! (target → parameters file → `defaultValue`) and variables, walk its resources (child
//! resources joined as ARM joins them) and map each Sentinel resource onto its facts section.
//!
//! Parameters files follow the Repositories feature (Learn `sentinel/ci-cd-custom-deploy`,
//! "Scale your deployments with parameter files"): `<stem>.parameters-<workspaceId>.json`,
//! else `<stem>.parameters.json`, beside the template; the first match wins, the rest are
//! ignored (no merge). A template with a `workspace` parameter gets the workspace name.

use super::expr::{self, Scope, Val};
use super::json::{self, Json};
use super::{
    automation, ContentItem, ContentNote, ContentSet, InventoryEntry, NestedResource, NoteKind,
    ScanOptions, SourceLocation, Target, Unresolved, UnresolvedCause, MAX_RESOURCES_PER_TEMPLATE,
};
use crate::facts::SectionName;
use crate::input::codes::ContentCode;
use crate::input::diagnostic::InputError;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Longest chain of variables/parameters referring to each other that is followed.
const MAX_CHAIN: usize = 64;
const SI: &str = "/Microsoft.SecurityInsights/";

/// Whether a parsed JSON document is a deploymentTemplate: its `$schema` names
/// `deploymentTemplate.json` (any version), or it has both `contentVersion` and `resources`.
pub fn is_template(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    let schema = o
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.to_ascii_lowercase().contains("deploymenttemplate.json"));
    schema || (o.contains_key("contentVersion") && o.contains_key("resources"))
}

/// Read one JSON file; a template adds its items, anything else a note.
pub fn read_template(
    path: &Path,
    opts: &ScanOptions,
    set: &mut ContentSet,
) -> Result<(), InputError> {
    let file = super::read_file(path, opts)?;
    let doc = json::parse(file)?;
    if !is_template(&doc.value) {
        set.notes.push(ContentNote {
            path: doc.file.path.clone(),
            line: None,
            kind: NoteKind::NotTemplate,
            message: "not an ARM deploymentTemplate: skipped".into(),
        });
        return Ok(());
    }
    check_structure(&doc)?;
    let (values, notes) = parameter_values(path, &doc, opts)?;
    set.notes.extend(notes);
    let root = doc.value.as_object().expect("checked: an object");
    let scope = TemplateScope::new(root, values, &opts.target);
    let resources = walk_resources(&doc, "/resources", &scope, None)?;
    let mut mapper = Mapper {
        doc: &doc,
        scope: &scope,
        target: &opts.target,
        set,
    };
    for r in &resources {
        mapper.map(r);
    }
    Ok(())
}

/// "A template that is not ARM": the structure ARM requires, checked at the offending node.
fn check_structure(doc: &Json) -> Result<(), InputError> {
    let root = doc.value.as_object().expect("is_template: an object");
    for key in ["parameters", "variables"] {
        if root.get(key).is_some_and(|v| !v.is_object()) {
            return Err(doc
                .error_at(
                    ContentCode::Template,
                    &format!("/{key}"),
                    format!("`{key}` of a deploymentTemplate must be an object"),
                )
                .help("ARM refuses this template; fix its structure"));
        }
    }
    match root.get("resources") {
        Some(Value::Array(_)) | Some(Value::Object(_)) if root.contains_key("languageVersion") => {
            Ok(())
        }
        Some(Value::Array(_)) | None => Ok(()),
        Some(_) => Err(doc
            .error_at(
                ContentCode::Template,
                "/resources",
                "`resources` of a deploymentTemplate must be an array",
            )
            .help("ARM refuses this template; list the resources in an array (or set languageVersion 2.0 for the symbolic-name object form)")),
    }
}

/// Parameter values given from outside the template: the workspace name (when the target
/// is known) and the first matching parameters file.
fn parameter_values(
    template: &Path,
    doc: &Json,
    opts: &ScanOptions,
) -> Result<(HashMap<String, Val>, Vec<ContentNote>), InputError> {
    let mut values = HashMap::new();
    let mut notes = Vec::new();
    if let Some(ws) = &opts.target.workspace_name {
        values.insert("workspace".to_string(), Val::str(ws.clone()));
    }
    let stem = template
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = template.parent().unwrap_or(Path::new("."));
    let specific = opts
        .workspace_guid
        .as_ref()
        .map(|g| dir.join(format!("{stem}.parameters-{g}.json")));
    let default = dir.join(format!("{stem}.parameters.json"));
    let chosen = specific
        .filter(|p| p.is_file())
        .or_else(|| default.is_file().then(|| default.clone()));
    if opts.workspace_guid.is_none() {
        for other in workspace_specific_files(dir, &stem) {
            let rel = super::relative(&opts.repo_root, &other);
            let used = match &chosen {
                Some(c) => format!(
                    "{} used",
                    c.file_name().unwrap_or_default().to_string_lossy()
                ),
                None => "defaultValue used".into(),
            };
            notes.push(ContentNote {
                path: rel,
                line: None,
                kind: NoteKind::Parameters,
                message: format!(
                    "not used: no workspace ID given (--workspace-id, or --facts); {used}"
                ),
            });
        }
    }
    let Some(chosen) = chosen else {
        return Ok((values, notes));
    };
    let declared: Vec<String> = doc
        .value
        .get("parameters")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    let pdoc = json::parse(super::read_file(&chosen, opts)?)?;
    let params = match pdoc.value.get("parameters") {
        Some(Value::Object(p)) => p,
        _ => {
            return Err(pdoc
                .error_at(
                    ContentCode::Parameters,
                    "/parameters",
                    "a parameters file needs a `parameters` object (deploymentParameters.json)",
                )
                .help("write `{\"parameters\": {\"name\": {\"value\": …}}}`"))
        }
    };
    for (name, entry) in params {
        let lower = name.to_ascii_lowercase();
        if !declared.contains(&lower) {
            notes.push(ContentNote {
                path: pdoc.file.path.clone(),
                line: Some(pdoc.line_col(&format!("/parameters/{name}")).0),
                kind: NoteKind::Parameters,
                message: format!("parameter `{name}` is not declared by the template"),
            });
            continue;
        }
        let v = match entry.get("value") {
            Some(v) => Val::literal(v),
            // A Key Vault reference: its value is read at deployment.
            None => Val::Unknown,
        };
        values.insert(lower, v);
    }
    Ok((values, notes))
}

fn workspace_specific_files(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = format!("{}.parameters-", stem.to_ascii_lowercase());
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json"))
        })
        .collect();
    found.sort();
    found
}

/// Parameters and variables of one template, resolved lazily and memoised; a cycle or a
/// chain longer than [`MAX_CHAIN`] is unknown.
pub struct TemplateScope<'a> {
    declared: Map<String, Value>,
    variables: Map<String, Value>,
    given: HashMap<String, Val>,
    target: &'a Target,
    memo: RefCell<HashMap<String, Val>>,
    resolving: RefCell<Vec<String>>,
}

impl<'a> TemplateScope<'a> {
    fn new(root: &Map<String, Value>, given: HashMap<String, Val>, target: &'a Target) -> Self {
        let obj = |k: &str| {
            root.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        TemplateScope {
            declared: obj("parameters"),
            variables: obj("variables"),
            given,
            target,
            memo: RefCell::default(),
            resolving: RefCell::default(),
        }
    }

    /// Resolve a JSON value of the template: every expression string in it evaluated.
    pub fn resolve(&self, v: &Value) -> Val {
        match v {
            Value::String(s) => expr::resolve_string(s, self),
            Value::Array(a) => Val::Array(a.iter().map(|x| self.resolve(x)).collect()),
            Value::Object(o) => Val::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.resolve(x)))
                    .collect(),
            ),
            other => Val::literal(other),
        }
    }

    fn guarded(&self, key: String, f: impl FnOnce() -> Val) -> Val {
        if let Some(v) = self.memo.borrow().get(&key) {
            return v.clone();
        }
        {
            let mut r = self.resolving.borrow_mut();
            if r.contains(&key) || r.len() >= MAX_CHAIN {
                return Val::Unknown;
            }
            r.push(key.clone());
        }
        let v = f();
        self.resolving.borrow_mut().pop();
        self.memo.borrow_mut().insert(key, v.clone());
        v
    }
}

fn find_ci<'m>(m: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Scope for TemplateScope<'_> {
    fn parameter(&self, name: &str) -> Val {
        let lower = name.to_ascii_lowercase();
        if let Some(v) = self.given.get(&lower) {
            return v.clone();
        }
        let Some(decl) = find_ci(&self.declared, name) else {
            return Val::Unknown;
        };
        match decl.get("defaultValue") {
            Some(d) => {
                let d = d.clone();
                self.guarded(format!("p:{lower}"), || self.resolve(&d))
            }
            None => Val::Unknown,
        }
    }

    fn variable(&self, name: &str) -> Val {
        let Some(v) = find_ci(&self.variables, name).cloned() else {
            return Val::Unknown;
        };
        self.guarded(format!("v:{}", name.to_ascii_lowercase()), || {
            self.resolve(&v)
        })
    }

    fn subscription(&self) -> Val {
        match (&self.target.subscription_id, &self.target.tenant_id) {
            (Some(s), t) => Val::Object(vec![
                ("subscriptionId".into(), Val::str(s.clone())),
                ("id".into(), Val::str(format!("/subscriptions/{s}"))),
                ("tenantId".into(), t.clone().map_or(Val::Unknown, Val::str)),
            ]),
            _ => Val::Unknown,
        }
    }

    fn resource_group(&self) -> Val {
        match (&self.target.subscription_id, &self.target.resource_group) {
            (Some(s), Some(g)) => Val::Object(vec![
                ("name".into(), Val::str(g.clone())),
                (
                    "id".into(),
                    Val::str(format!("/subscriptions/{s}/resourceGroups/{g}")),
                ),
            ]),
            _ => Val::Unknown,
        }
    }
}

/// One resource of a template, with its type and name joined to its parents'.
#[derive(Debug)]
struct Resource {
    pointer: String,
    resource_type: String,
    name: Val,
    raw: Value,
}

/// The resources at `pointer` (array, or languageVersion 2.0's object of symbolic names),
/// their child resources after them. A resource with `condition` false is left out.
fn walk_resources(
    doc: &Json,
    pointer: &str,
    scope: &TemplateScope,
    parent: Option<(&str, &Val)>,
) -> Result<Vec<Resource>, InputError> {
    let Some(node) = doc.value.pointer(pointer) else {
        return Ok(Vec::new());
    };
    let entries: Vec<(String, &Value)> = match node {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{pointer}/{i}"), v))
            .collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                (
                    format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                    v,
                )
            })
            .collect(),
        _ => {
            return Err(doc.error_at(
                ContentCode::Template,
                pointer,
                "`resources` must be an array",
            ))
        }
    };
    let mut out = Vec::new();
    for (p, v) in entries {
        let Some(o) = v.as_object() else {
            return Err(doc.error_at(ContentCode::Template, &p, "a resource must be an object"));
        };
        let Some(Value::String(t)) = o.get("type") else {
            return Err(doc
                .error_at(
                    ContentCode::Template,
                    &p,
                    "a resource needs a string `type`",
                )
                .help("ARM refuses a resource without a type"));
        };
        if o.get("condition").map(|c| scope.resolve(c)) == Some(Val::Bool(false)) {
            continue;
        }
        let name = o.get("name").map_or(Val::Unknown, |n| scope.resolve(n));
        let (resource_type, name) = match parent {
            Some((pt, pn)) if !t.contains('.') => (format!("{pt}/{t}"), expr_concat(pn, &name)),
            _ => (t.clone(), name),
        };
        let children = format!("{p}/resources");
        let nested = walk_resources(doc, &children, scope, Some((&resource_type, &name)))?;
        out.push(Resource {
            pointer: p,
            resource_type,
            name,
            raw: v.clone(),
        });
        out.extend(nested);
        if out.len() > MAX_RESOURCES_PER_TEMPLATE {
            return Err(doc.error_at(
                ContentCode::TooLarge,
                pointer,
                format!("more than {MAX_RESOURCES_PER_TEMPLATE} resources in one template"),
            ));
        }
    }
    Ok(out)
}

/// `parent/child` as ARM joins a child resource's name to its parent's.
fn expr_concat(parent: &Val, child: &Val) -> Val {
    match (parent, child) {
        (Val::Str(a), Val::Str(b)) => {
            let mut parts = a.clone();
            parts.push(expr::Part::Known("/".into()));
            parts.extend(b.iter().cloned());
            Val::Str(parts)
        }
        _ => Val::Unknown,
    }
}

/// Maps resources of one template onto facts items, notes and inventory.
struct Mapper<'a, 's> {
    doc: &'a Json,
    scope: &'a TemplateScope<'s>,
    target: &'a Target,
    set: &'a mut ContentSet,
}

/// A resource's identity inside the workspace, by the two forms Sentinel resources take.
enum Identity {
    /// `Microsoft.SecurityInsights/<type>` named `<name>` (both forms normalised).
    Sentinel {
        kind: String,
        name: Option<String>,
    },
    Table(Option<String>),
    Other,
}

impl Mapper<'_, '_> {
    fn location(&self, pointer: &str) -> SourceLocation {
        let (line, column) = self.doc.line_col(pointer);
        SourceLocation {
            path: self.doc.file.path.clone(),
            line,
            column,
        }
    }

    fn identity(&self, r: &Resource) -> Identity {
        let t = r.resource_type.to_ascii_lowercase();
        if let Some(kind) = t.strip_prefix("microsoft.operationalinsights/workspaces/providers/") {
            let name = r.name.known_tail(SI);
            return Identity::Sentinel {
                kind: kind.to_string(),
                name,
            };
        }
        if let Some(kind) = t.strip_prefix("microsoft.securityinsights/") {
            // Extension form: the name is the resource's own (Bicep emits it with `scope`).
            let name = r.name.as_known_str().or_else(|| r.name.known_tail("/"));
            return Identity::Sentinel {
                kind: kind.to_string(),
                name,
            };
        }
        if t == "microsoft.operationalinsights/workspaces/tables" {
            return Identity::Table(r.name.known_tail("/"));
        }
        Identity::Other
    }

    fn map(&mut self, r: &Resource) {
        match self.identity(r) {
            Identity::Table(name) => self.table(r, name),
            Identity::Sentinel { kind, name } => {
                let is_extension = r
                    .resource_type
                    .to_ascii_lowercase()
                    .starts_with("microsoft.securityinsights/");
                if is_extension && r.raw.get("scope").is_none() && kind != "alertruletemplates" {
                    self.not_judged(r, "an extension resource without `scope` deploys to the resource group, not a Sentinel workspace");
                    return;
                }
                match kind.as_str() {
                    "alertrules" => self.alert_rule(r, name),
                    "dataconnectors" => self.connector(r, name),
                    "settings" => self.setting(r, name),
                    "contentpackages" => self.package(r, name),
                    "automationrules" => self.automation_rule(r, name),
                    "contenttemplates" => self.content_template(r),
                    "metadata" | "alertruletemplates" => {}
                    _ => self.not_judged(r, "not judged"),
                }
            }
            Identity::Other => self.not_judged(r, "not judged"),
        }
    }

    fn not_judged(&mut self, r: &Resource, why: &str) {
        let loc = self.location(&r.pointer);
        self.set.notes.push(ContentNote {
            path: loc.path,
            line: Some(loc.line),
            kind: NoteKind::NotJudged,
            message: format!(
                "{} {why}: xdrguard judges alert rules, automation rules, data connectors, tables, settings and content packages",
                r.resource_type
            ),
        });
    }

    /// The full ID of a Sentinel resource in the target workspace.
    fn sentinel_id(&self, kind: &str, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.SecurityInsights/{kind}/{name}",
            self.target.workspace()
        )
    }

    /// The resolved value at `path` under the resource (`["properties", "enabled"]`); an
    /// unresolvable one is recorded against `field` and `None` returned.
    fn field(
        &self,
        r: &Resource,
        path: &[&str],
        field: &'static str,
        unresolved: &mut Vec<Unresolved>,
    ) -> Option<Value> {
        let mut raw = &r.raw;
        let mut pointer = r.pointer.clone();
        for seg in path {
            let (key, v) = raw
                .as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))?;
            pointer = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
            raw = v;
        }
        let v = self.scope.resolve(raw);
        match v.to_json() {
            Some(j) => Some(j),
            None => {
                let (expression, cause) = first_expression(raw);
                unresolved.push(Unresolved {
                    field,
                    expression,
                    location: self.location(&pointer),
                    cause,
                });
                None
            }
        }
    }

    fn push(
        &mut self,
        section: SectionName,
        key: String,
        value: Value,
        r: &Resource,
        unresolved: Vec<Unresolved>,
    ) {
        let location = self.location(&r.pointer);
        self.set.items.push(ContentItem {
            section,
            key,
            value,
            location,
            unresolved,
        });
    }

    /// An identity xdrguard cannot resolve: the item is kept (never matched to a live one).
    fn unknown_name(&self, r: &Resource) -> String {
        format!("content:{}#{}", self.doc.file.path, r.pointer)
    }

    fn alert_rule(&mut self, r: &Resource, name: Option<String>) {
        let mut u = Vec::new();
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let id = self.sentinel_id("alertRules", &name);
        let kind = self.field(r, &["kind"], "kind", &mut u);
        let display = self.field(r, &["properties", "displayName"], "display_name", &mut u);
        let enabled = if r
            .raw
            .get("properties")
            .and_then(|p| p.get("enabled"))
            .is_some()
        {
            self.field(r, &["properties", "enabled"], "enabled", &mut u)
        } else {
            // Absent: false, as the live collector reads ARM.
            Some(Value::Bool(false))
        };
        let product = self.field(
            r,
            &["properties", "productFilter"],
            "product_filter",
            &mut u,
        );
        let value = json!({
            "id": id,
            "name": name,
            "kind": kind.and_then(|k| k.as_str().map(String::from)).unwrap_or_default(),
            "display_name": display,
            "enabled": enabled.and_then(|e| e.as_bool()).unwrap_or(false),
            "product_filter": product,
        });
        self.push(SectionName::AlertRules, id, value, r, u);
    }

    fn connector(&mut self, r: &Resource, name: Option<String>) {
        let mut u = Vec::new();
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let id = self.sentinel_id("dataConnectors", &name);
        let kind = self.field(r, &["kind"], "kind", &mut u);
        let tenant = self.field(r, &["properties", "tenantId"], "tenant_id", &mut u);
        let incidents = self.field(
            r,
            &["properties", "dataTypes", "incidents", "state"],
            "incidents_state",
            &mut u,
        );
        let alerts = self.field(
            r,
            &["properties", "dataTypes", "alerts", "state"],
            "alerts_state",
            &mut u,
        );
        let filtered = self.field(
            r,
            &["properties", "filteredProviders", "alerts"],
            "filtered_alert_providers",
            &mut u,
        );
        let value = json!({
            "id": id,
            "name": name,
            "kind": kind.and_then(|k| k.as_str().map(String::from)).unwrap_or_default(),
            "tenant_id": tenant,
            "incidents_state": incidents,
            "alerts_state": alerts,
            "filtered_alert_providers": filtered.filter(Value::is_array).unwrap_or_else(|| json!([])),
        });
        self.push(SectionName::DataConnectors, id, value, r, u);
    }

    fn table(&mut self, r: &Resource, name: Option<String>) {
        let mut u = Vec::new();
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let plan = self.field(r, &["properties", "plan"], "plan", &mut u);
        let ret = self.field(
            r,
            &["properties", "retentionInDays"],
            "retention_in_days",
            &mut u,
        );
        let total = self.field(
            r,
            &["properties", "totalRetentionInDays"],
            "total_retention_in_days",
            &mut u,
        );
        let value = json!({
            "name": name,
            "plan": plan,
            "retention_in_days": ret,
            "total_retention_in_days": total,
        });
        self.push(SectionName::Tables, name, value, r, u);
    }

    fn setting(&mut self, r: &Resource, name: Option<String>) {
        let mut u = Vec::new();
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let kind = self.field(r, &["kind"], "kind", &mut u);
        let enabled = self.field(r, &["properties", "isEnabled"], "is_enabled", &mut u);
        let providers = self.field(
            r,
            &["properties", "entityProviders"],
            "entity_providers",
            &mut u,
        );
        let sources = self.field(r, &["properties", "dataSources"], "data_sources", &mut u);
        let value = json!({
            "name": name,
            "kind": kind.and_then(|k| k.as_str().map(String::from)).unwrap_or_default(),
            "is_enabled": enabled,
            "entity_providers": providers.filter(Value::is_array).unwrap_or_else(|| json!([])),
            "data_sources": sources.filter(Value::is_array).unwrap_or_else(|| json!([])),
        });
        self.push(SectionName::Settings, name, value, r, u);
    }

    fn package(&mut self, r: &Resource, name: Option<String>) {
        let mut u = Vec::new();
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let id = self.sentinel_id("contentPackages", &name);
        let content_id = self.field(r, &["properties", "contentId"], "content_id", &mut u);
        let kind = self.field(r, &["properties", "contentKind"], "content_kind", &mut u);
        let display = self.field(r, &["properties", "displayName"], "display_name", &mut u);
        let version = self.field(r, &["properties", "version"], "version", &mut u);
        let value = json!({
            "id": id,
            "content_id": content_id.and_then(|k| k.as_str().map(String::from)).unwrap_or_default(),
            "content_kind": kind,
            "display_name": display,
            "version": version,
        });
        self.push(SectionName::ContentPackages, id, value, r, u);
    }

    fn automation_rule(&mut self, r: &Resource, name: Option<String>) {
        let name = name.unwrap_or_else(|| self.unknown_name(r));
        let id = self.sentinel_id("automationRules", &name);
        let props = self
            .scope
            .resolve(r.raw.get("properties").unwrap_or(&Value::Null));
        // A rule whose properties resolve is read exactly as the live collector reads the
        // automationRules API (same normaliser), so the catalog's policies judge it.
        let item = props.to_json().and_then(|p| {
            let raw = json!([{"id": id, "name": name, "properties": p}]);
            let rule = crate::collect::portal::automation_rules(&raw).ok()?.pop()?;
            serde_json::to_value(rule).ok()
        });
        if let Some(value) = item {
            self.push(
                SectionName::AutomationRules,
                id.clone(),
                value,
                r,
                Vec::new(),
            );
        }
        let location = self.location(&r.pointer);
        self.set
            .automation_rules
            .push(automation::AutomationRule::from_properties(
                id, &props, location,
            ));
    }

    /// A Content Hub content template: inventory, with the resources of its `mainTemplate`.
    fn content_template(&mut self, r: &Resource) {
        let location = self.location(&r.pointer);
        let text = |path: &[&str]| {
            let mut v = &r.raw;
            for p in path {
                v = v.get(p)?;
            }
            self.scope.resolve(v).as_known_str()
        };
        let mut nested = Vec::new();
        let inner = format!("{}/properties/mainTemplate/resources", r.pointer);
        if let Some(Value::Array(items)) = self.doc.value.pointer(&inner) {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{inner}/{i}");
                let (line, column) = self.doc.line_col(&p);
                nested.push(NestedResource {
                    resource_type: item
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    kind: item.get("kind").and_then(Value::as_str).map(String::from),
                    location: SourceLocation {
                        path: location.path.clone(),
                        line,
                        column,
                    },
                });
            }
        }
        self.set.templates.push(InventoryEntry {
            location,
            resource_type: r.resource_type.clone(),
            content_kind: text(&["properties", "contentKind"]),
            display_name: text(&["properties", "displayName"]),
            nested,
        });
    }
}

/// The first expression string inside a raw value, and why it is unknown.
fn first_expression(raw: &Value) -> (String, UnresolvedCause) {
    fn find(v: &Value) -> Option<&str> {
        match v {
            Value::String(s) if expr::is_expression(s) => Some(s),
            Value::Array(a) => a.iter().find_map(find),
            Value::Object(o) => o.values().find_map(find),
            _ => None,
        }
    }
    let e = find(raw).unwrap_or("").to_string();
    let lower = e.to_ascii_lowercase();
    let cause = if lower.contains("subscription()")
        || lower.contains("resourcegroup()")
        || lower.contains("parameters('workspace")
    {
        UnresolvedCause::DeploymentTarget
    } else {
        UnresolvedCause::Expression
    };
    (e, cause)
}
