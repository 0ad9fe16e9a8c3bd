//! The CEL environment policies are written in: the standard library, the strings and
//! lists extensions, and a few functions the controls need (wildcard actions, versions); and the
//! facts as CEL values, built once per run and shared by every policy and every item.
//!
//! cel 0.15 evaluates over `dyn Val` trait objects. Its built-in containers (`CelMap`,
//! `CelList`) own their elements, and the interpreter clones a value whenever it must own one
//! it only borrows: binding each element of a list to a comprehension's variable (`filter`,
//! `map`, `exists`, …) is `item.clone_as_boxed()`, a deep copy of that item's map; binding a
//! `cel::Value` with `Context::add_variable_from_value` deep-converts the whole tree. So every
//! map and list here is a [`SharedMap`] / [`SharedList`]: an `Arc` around the built-in
//! container whose `clone_as_boxed` is a reference-count increment, and which delegates every
//! capability to it — including the crate's (hidden) `as_builtin` view, so `downcast_ref`,
//! equality, `in`, `size`, `has()`, indexing and every standard function see a plain
//! `CelMap`/`CelList` and behave exactly as before (the differential test below pins it).

use cel::common::traits::{Adder, Comparer, Container, Indexer, Iterable, Sizer, Zeroer};
use cel::common::types::{
    CelBool, CelDouble, CelDuration, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
    CelTimestamp, CelUInt, Type,
};
use cel::common::value::{Builtin, BuiltinRef, CowVal, Val};
use cel::{Context, Env, ExecutionError, Program};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Functions xdrguard adds to CEL, for `lint` and docs.
pub const FUNCTIONS: &[(&str, &str)] = &[
    (
        "actionMatches(pattern, action)",
        "ARM action wildcard match, case-insensitive: `*` matches any run of characters",
    ),
    (
        "versionLess(a, b)",
        "true when dotted version a is older than b (numeric per part: 3.0.9 < 3.0.10)",
    ),
    ("lower(s)", "ASCII lower-case"),
];

fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .expect("strings extension registers");
        env.add_extension(cel::extensions::lists)
            .expect("lists extension registers");
        Arc::new(env)
    })
    .clone()
}

/// A compile error with its 1-based line and column inside the expression.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Refused by a policy limit ([`super::limits`]), not by CEL's grammar.
    pub over_limit: bool,
}

/// Compile an expression; one over the size or nesting limits ([`super::limits`]) is refused
/// before the parser sees it (the parser recurses once per level).
pub fn compile(source: &str) -> Result<Program, CompileError> {
    super::limits::check_expression(source).map_err(|message| CompileError {
        line: 1,
        column: 1,
        message,
        over_limit: true,
    })?;
    // The parser's own nesting limit (96 by default) follows ours: the text was bounded above.
    let depth = super::limits::get()
        .expression_depth
        .min(u64::from(u16::MAX - 1)) as u16;
    Program::parse_with(env().parser().max_recursion_depth(depth), source).map_err(|errs| {
        let first = errs.errors.first();
        CompileError {
            line: first.map_or(1, |e| e.pos.0.max(1) as usize),
            column: first.map_or(1, |e| e.pos.1.max(0) as usize + 1),
            message: first.map_or_else(|| errs.to_string(), |e| e.msg.clone()),
            over_limit: false,
        }
    })
}

/// A root context with xdrguard's functions; variables (which may borrow the facts for
/// `'v`) are added by the caller.
pub fn root_context<'v>() -> Context<'static, 'v> {
    let mut ctx = Context::with_env(env());
    ctx.add_function("actionMatches", action_matches)
        .expect("name is free");
    ctx.add_function("versionLess", version_less)
        .expect("name is free");
    ctx.add_function("lower", |s: Arc<String>| s.to_ascii_lowercase())
        .expect("name is free");
    ctx
}

fn action_matches(pattern: Arc<String>, action: Arc<String>) -> bool {
    glob_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn version_less(a: Arc<String>, b: Arc<String>) -> bool {
    compare_versions(&a, &b) == std::cmp::Ordering::Less
}

/// Compare dotted versions part by part, numerically where both parts are numbers.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let mut pa = a.trim().split(['.', '-']);
    let mut pb = b.trim().split(['.', '-']);
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (x, y) => {
                let (x, y) = (x.unwrap_or("0"), y.unwrap_or("0"));
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => x.cmp(y),
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// A facts map shared by reference count; behaves as the `CelMap` it wraps.
#[derive(Debug)]
pub struct SharedMap<'v>(Arc<CelMap<'v>>);

/// A facts list shared by reference count; behaves as the `CelList` it wraps.
#[derive(Debug)]
pub struct SharedList<'v>(Arc<CelList<'v>>);

/// `Val` for a shared container: everything delegated, except that a clone shares.
macro_rules! delegate_val {
    ($ty:ident, $variant:ident, $static_type:expr) => {
        impl<'v> Val for $ty<'v> {
            fn get_type(&self) -> &Type {
                self.0.get_type()
            }
            fn cel_type() -> &'static Type {
                $static_type
            }
            fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
            where
                Self: 'w,
            {
                self.0.as_adder()
            }
            fn as_comparer(&self) -> Option<&dyn Comparer> {
                self.0.as_comparer()
            }
            fn as_container(&self) -> Option<&dyn Container> {
                self.0.as_container()
            }
            fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
            where
                Self: 'w,
            {
                self.0.as_indexer()
            }
            /// Only the interpreter's "take an element of a temporary" path calls this: the
            /// container, moved if this is the last owner, else a shallow clone whose children
            /// are themselves shared.
            fn into_indexer<'w>(self: Box<Self>) -> Option<Box<dyn Indexer + 'w>>
            where
                Self: 'w,
            {
                Some(Box::new(Arc::unwrap_or_clone(self.0)))
            }
            fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
            where
                Self: 'w,
            {
                self.0.as_iterable()
            }
            fn as_sizer(&self) -> Option<&dyn Sizer> {
                self.0.as_sizer()
            }
            fn as_zeroer(&self) -> Option<&dyn Zeroer> {
                self.0.as_zeroer()
            }
            fn equals(&self, other: &dyn Val) -> bool {
                self.0.equals(other)
            }
            /// A clone shares: one unit of the evaluation budget, whatever the size.
            fn clone_cost(&self) -> Option<u64> {
                Some(1)
            }
            /// The point of the wrapper: a reference-count increment, not a deep copy.
            fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
            where
                Self: 'w,
            {
                Box::new($ty(Arc::clone(&self.0)))
            }
            fn as_builtin<'b, 'w>(&'b self) -> BuiltinRef<'b, 'w>
            where
                Self: 'w,
            {
                BuiltinRef::$variant(&self.0)
            }
            fn into_builtin<'w>(self: Box<Self>) -> Option<Builtin<'w>>
            where
                Self: 'w,
            {
                Some(Builtin::$variant(Arc::unwrap_or_clone(self.0)))
            }
        }
    };
}

delegate_val!(SharedMap, Map, &cel::common::types::MAP_TYPE);
delegate_val!(SharedList, List, &cel::common::types::LIST_TYPE);

/// JSON → CEL for the facts, once per run: every integer that fits is a signed `int` (so
/// arithmetic and comparisons with literals work), strings and keys borrow `v`.
pub fn from_json<'v>(v: &'v serde_json::Value) -> Box<dyn Val + 'v> {
    convert(v, &|s| CelString::from(s))
}

/// JSON → CEL owning its data, for small values that do not live as long as the facts
/// (a control's `params`, the target).
pub fn owned(v: &serde_json::Value) -> Box<dyn Val + 'static> {
    convert(v, &|s| CelString::from(s.to_owned()))
}

/// The one conversion behind [`from_json`] and [`owned`]; `string` makes every string and key.
fn convert<'s, 'v>(
    v: &'s serde_json::Value,
    string: &impl Fn(&'s str) -> CelString<'v>,
) -> Box<dyn Val + 'v> {
    match v {
        serde_json::Value::Null => Box::new(CelNull),
        serde_json::Value::Bool(b) => Box::new(CelBool::from(*b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::MAX))),
        },
        serde_json::Value::String(s) => Box::new(string(s)),
        serde_json::Value::Array(a) => Box::new(SharedList(Arc::new(CelList::from(
            a.iter().map(|v| convert(v, string)).collect::<Vec<_>>(),
        )))),
        serde_json::Value::Object(o) => Box::new(SharedMap(Arc::new(map(o
            .iter()
            .map(|(k, v)| (CelMapKey::String(string(k)), convert(v, string))))))),
    }
}

/// A small map built per control (`params`, the `facts` view of the sections it reads).
pub fn map<'v>(
    entries: impl IntoIterator<Item = (CelMapKey<'v>, Box<dyn Val + 'v>)>,
) -> CelMap<'v> {
    CelMap::from(entries.into_iter().collect::<HashMap<_, _>>())
}

/// CEL → JSON for evidence and notes, straight from the `dyn Val` result: map keys sorted,
/// durations and timestamps as strings.
pub fn to_json(v: &dyn Val) -> serde_json::Value {
    if let Some(s) = v.downcast_ref::<CelString>() {
        s.inner().into()
    } else if let Some(i) = v.downcast_ref::<CelInt>() {
        (*i.inner()).into()
    } else if let Some(u) = v.downcast_ref::<CelUInt>() {
        (*u.inner()).into()
    } else if let Some(b) = v.downcast_ref::<CelBool>() {
        (*b.inner()).into()
    } else if let Some(f) = v.downcast_ref::<CelDouble>() {
        serde_json::Number::from_f64(*f.inner()).map_or(serde_json::Value::Null, Into::into)
    } else if v.downcast_ref::<CelNull>().is_some() {
        serde_json::Value::Null
    } else if let Some(l) = v.downcast_ref::<CelList>() {
        l.inner().iter().map(|x| to_json(x.as_ref())).collect()
    } else if let Some(m) = v.downcast_ref::<CelMap>() {
        let mut entries: Vec<(String, serde_json::Value)> = m
            .inner()
            .iter()
            .map(|(k, v)| (key_string(k), to_json(v.as_ref())))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        serde_json::Value::Object(entries.into_iter().collect())
    } else if let Some(d) = v.downcast_ref::<CelDuration>() {
        format_duration(*d.inner()).into()
    } else if let Some(t) = v.downcast_ref::<CelTimestamp>() {
        t.inner().to_rfc3339().into()
    } else {
        debug(v).into()
    }
}

fn key_string(k: &CelMapKey) -> String {
    match k {
        CelMapKey::String(s) => s.inner().to_owned(),
        CelMapKey::Int(i) => i.inner().to_string(),
        CelMapKey::UInt(u) => u.inner().to_string(),
        CelMapKey::Bool(b) => b.inner().to_string(),
    }
}

/// A value as error messages show it: `cel::Value`'s `Debug` (e.g. `String("x")`).
pub fn debug(v: &dyn Val) -> String {
    match cel::Value::try_from(v) {
        Ok(value) => format!("{value:?}"),
        Err(_) => format!("{v:?}"),
    }
}

/// `7d`, `36h`, `90m`, `45s`: the largest whole unit.
pub fn format_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s != 0 && s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s != 0 && s % 3_600 == 0 {
        format!("{}h", s / 3_600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Run a program; the result borrows the context's values (nothing is copied out), an
/// execution error becomes readable text.
pub fn run<'e, 'v>(
    program: &'e Program,
    ctx: &'e Context<'_, 'v>,
) -> Result<CowVal<'e, 'v>, String> {
    cel::Value::resolve_val(program.expression(), ctx).map_err(|e: ExecutionError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, vars: serde_json::Value) -> serde_json::Value {
        let p = compile(src).unwrap();
        let mut ctx = root_context();
        for (k, v) in vars.as_object().unwrap() {
            ctx.add_variable_as_val(k.clone(), owned(v));
        }
        let now: chrono::DateTime<chrono::FixedOffset> = "2026-11-20T00:00:00Z".parse().unwrap();
        ctx.add_variable_as_val("now", Box::new(CelTimestamp::from(now)));
        ctx.add_variable_as_val(
            "max_age",
            Box::new(CelDuration::from(chrono::Duration::days(7))),
        );
        let v = run(&p, &ctx).unwrap();
        to_json(v.as_ref())
    }

    #[test]
    fn time_arithmetic_works() {
        let v = eval(
            "now - timestamp(t) > max_age",
            serde_json::json!({"t": "2026-11-01T00:00:00Z"}),
        );
        assert_eq!(v, serde_json::json!(true));
        assert_eq!(
            eval("[max_age, now]", serde_json::json!({})),
            serde_json::json!(["7d", "2026-11-20T00:00:00+00:00"])
        );
    }

    #[test]
    fn list_of_maps_and_json_ints() {
        let v = eval(
            "xs.filter(x, x.n > 1 && lower(x.s) in ['a', 'b']).map(x, {'id': x.s, 'detail': string(x.n)})",
            serde_json::json!({"xs": [{"n": 2, "s": "A"}, {"n": 1, "s": "b"}]}),
        );
        assert_eq!(v, serde_json::json!([{"detail": "2", "id": "A"}]));
    }

    /// The `cel::Value` path xdrguard used before the shared values: JSON → `Value`, bound
    /// with `add_variable_from_value` (a deep conversion), run with `execute`.
    fn value_from_json(v: &serde_json::Value) -> cel::Value {
        use cel::objects::{Key, Map};
        match v {
            serde_json::Value::Null => cel::Value::Null,
            serde_json::Value::Bool(b) => cel::Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => cel::Value::Int(i),
                None => cel::Value::Float(n.as_f64().unwrap_or(f64::MAX)),
            },
            serde_json::Value::String(s) => cel::Value::String(Arc::new(s.clone())),
            serde_json::Value::Array(a) => {
                cel::Value::List(Arc::new(a.iter().map(value_from_json).collect()))
            }
            serde_json::Value::Object(o) => cel::Value::Map(Map {
                map: Arc::new(
                    o.iter()
                        .map(|(k, v)| (Key::String(Arc::new(k.clone())), value_from_json(v)))
                        .collect(),
                ),
            }),
        }
    }

    const FACTS: &str = r#"{
      "tables": [{"name": "SecurityAlert", "plan": "Analytics", "retention_in_days": -1, "tags": ["a", "b"], "n": 3.5},
                 {"name": "DeviceEvents", "plan": null, "total_retention_in_days": 30, "tags": []}],
      "workspace": {"retention_in_days": 90, "id": "/subscriptions/x/rg/ws", "sub": {"k": [1, 2, {"z": true}]}},
      "ids": ["x", "y"], "more": ["z"], "empty": {}
    }"#;

    /// has/in/size/exists/all/exists_one/map/filter/join/split/+/==/type/optional/indexing/
    /// nested maps, over shared values.
    const EXPRS: &[&str] = &[
        "facts.tables.filter(t, has(t.total_retention_in_days)).map(t, t.name)",
        "facts.tables.map(t, {'id': t.name, 'detail': has(t.retention_in_days) && t.retention_in_days != -1 ? 'x' : 'ws ' + string(facts.workspace.retention_in_days)})",
        "facts.tables.exists(t, t.plan == null) && facts.tables.all(t, size(t.tags) >= 0)",
        "facts.tables.map(t, t.tags.join(', '))",
        "'a' in facts.tables[0].tags && !('q' in facts.ids) && 'retention_in_days' in facts.workspace",
        "facts.ids + facts.more",
        "facts.tables[0].tags == ['a', 'b'] && facts.workspace.sub == {'k': [1, 2, {'z': true}]}",
        "facts.workspace.sub.k[2].z && facts.workspace.sub['k'].size() == 3",
        "size(facts.empty) == 0 && size(facts.tables) == 2 && type(facts.workspace) == map && type(facts.ids) == list",
        "facts.tables.map(t, lower(t.name)).filter(n, n.startsWith('sec'))",
        "facts.workspace.id.split('/')[size(facts.workspace.id.split('/')) - 1]",
        "facts.tables[0]",
        "facts.workspace",
        "facts.tables.filter(t, t.name.endsWith('Events'))",
        "facts.tables.map(t, has(t.n) ? t.n * 2.0 : 0.0)",
        "[facts.workspace, facts.tables[1]].map(x, size(x))",
        "facts.ids.exists_one(i, i == 'x')",
        "{'k': facts.tables}.k[1].name",
        "facts.tables.map(t, t.?total_retention_in_days.orValue(-5))",
    ];

    /// Differential: each expression gives exactly the same result over the shared values
    /// (through `run`, and through `execute`) as over `cel::Value`s, and a known one.
    #[test]
    fn shared_values_behave_as_the_value_path() {
        let facts: serde_json::Value = serde_json::from_str(FACTS).unwrap();
        let mut by_value = root_context();
        by_value.add_variable_from_value("facts", value_from_json(&facts));
        let mut shared = root_context();
        shared.add_variable_as_val("facts", from_json(&facts));
        let as_json = |v: cel::Value| to_json(Box::<dyn Val>::try_from(v).unwrap().as_ref());
        for src in EXPRS {
            let p = compile(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
            let want = p.execute(&by_value).map(as_json).map_err(|e| e.to_string());
            assert!(want.is_ok(), "{src}: {want:?}");
            let got = run(&p, &shared).map(|v| to_json(v.as_ref()));
            assert_eq!(got, want, "{src}");
            let executed = p.execute(&shared).map(as_json).map_err(|e| e.to_string());
            assert_eq!(executed, want, "execute: {src}");
        }
        let p = compile(EXPRS[1]).unwrap();
        assert_eq!(
            to_json(run(&p, &shared).unwrap().as_ref()),
            serde_json::json!([
                {"detail": "ws 90", "id": "SecurityAlert"},
                {"detail": "ws 90", "id": "DeviceEvents"}
            ])
        );
    }

    #[test]
    fn globs_and_versions() {
        assert!(glob_match(
            "microsoft.operationalinsights/*",
            "microsoft.operationalinsights/workspaces/write"
        ));
        assert!(glob_match("*", "anything"));
        assert!(glob_match(
            "*/read",
            "microsoft.operationalinsights/workspaces/read"
        ));
        assert!(!glob_match(
            "*/read",
            "microsoft.operationalinsights/workspaces/write"
        ));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "ac"));
        assert_eq!(
            compare_versions("3.0.9", "3.0.10"),
            std::cmp::Ordering::Less
        );
        assert_eq!(compare_versions("3.0", "3.0.0"), std::cmp::Ordering::Equal);
    }

    /// The vendored fast path for `a.b` in inner scopes keeps cel's rule: in the innermost
    /// scope that has any of the name, the most specific name wins.
    #[test]
    fn qualified_names_resolve_most_specific_first_in_the_innermost_scope() {
        let value =
            |ctx: &Context, src: &str| to_json(run(&compile(src).unwrap(), ctx).unwrap().as_ref());
        let mut root = root_context();
        root.add_variable_as_val("a", owned(&serde_json::json!({"b": "root a"})));
        let mut outer = root.new_inner_scope();
        outer.add_variable_as_val("a", owned(&serde_json::json!({"b": "outer a"})));
        assert_eq!(value(&outer, "a.b"), "outer a");
        outer.add_variable_as_val("a.b", owned(&serde_json::json!("outer a.b")));
        assert_eq!(value(&outer, "a.b"), "outer a.b");
        let mut inner = outer.new_inner_scope();
        inner.add_variable_as_val("a", owned(&serde_json::json!({"b": "inner a"})));
        assert_eq!(value(&inner, "a.b"), "inner a");
        assert_eq!(value(&inner, "[1].map(a, {'b': 'loop'}.b)[0]"), "loop");
        assert_eq!(value(&inner, "[{'b': 'loop a'}].map(a, a.b)[0]"), "loop a");
        let empty = root.new_inner_scope();
        assert_eq!(value(&empty, "a.b"), "root a");
    }

    #[test]
    fn compile_errors_have_positions() {
        let e = compile("a &&\n  (b ||").unwrap_err();
        assert!(e.line >= 1 && e.column >= 1, "{e:?}");
    }
}
