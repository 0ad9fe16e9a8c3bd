//! The CEL environment policies are written in: the standard library, the strings and
//! lists extensions, and a few functions the controls need (wildcard actions, versions).

use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, Program, Value};
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
}

pub fn compile(source: &str) -> Result<Program, CompileError> {
    env().compile(source).map_err(|errs| {
        let first = errs.errors.first();
        CompileError {
            line: first.map_or(1, |e| e.pos.0.max(1) as usize),
            column: first.map_or(1, |e| e.pos.1.max(0) as usize + 1),
            message: first.map_or_else(|| errs.to_string(), |e| e.msg.clone()),
        }
    })
}

/// A root context with xdrguard's functions; variables are added by the caller.
pub fn root_context() -> Context<'static, 'static> {
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

/// JSON → CEL, with every integer signed so arithmetic and comparisons with literals work.
pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::MAX)),
        },
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(a) => Value::List(Arc::new(a.iter().map(from_json).collect())),
        serde_json::Value::Object(o) => {
            let map: HashMap<Key, Value> = o
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), from_json(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// CEL → JSON for evidence and notes; durations and timestamps become strings.
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::String(s) => s.as_str().into(),
        Value::List(l) => l.iter().map(to_json).collect(),
        Value::Map(m) => {
            let mut entries: Vec<(String, serde_json::Value)> = m
                .map
                .iter()
                .map(|(k, v)| (key_string(k), to_json(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().collect())
        }
        Value::Duration(d) => format_duration(*d).into(),
        Value::Timestamp(t) => t.to_rfc3339().into(),
        other => format!("{other:?}").into(),
    }
}

fn key_string(k: &Key) -> String {
    match k {
        Key::String(s) => s.to_string(),
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
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

/// Run a program; an execution error becomes readable text.
pub fn run(program: &Program, ctx: &Context) -> Result<Value, String> {
    program
        .execute(ctx)
        .map_err(|e: ExecutionError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, vars: serde_json::Value) -> Value {
        let p = compile(src).unwrap();
        let mut ctx = root_context();
        for (k, v) in vars.as_object().unwrap() {
            ctx.add_variable_from_value(k.clone(), from_json(v));
        }
        ctx.add_variable_from_value(
            "now",
            Value::Timestamp("2026-11-20T00:00:00Z".parse().unwrap()),
        );
        ctx.add_variable_from_value("max_age", Value::Duration(chrono::Duration::days(7)));
        run(&p, &ctx).unwrap()
    }

    #[test]
    fn time_arithmetic_works() {
        let v = eval(
            "now - timestamp(t) > max_age",
            serde_json::json!({"t": "2026-11-01T00:00:00Z"}),
        );
        assert_eq!(v, Value::Bool(true));
    }

    #[test]
    fn list_of_maps_and_json_ints() {
        let v = eval(
            "xs.filter(x, x.n > 1 && lower(x.s) in ['a', 'b']).map(x, {'id': x.s, 'detail': string(x.n)})",
            serde_json::json!({"xs": [{"n": 2, "s": "A"}, {"n": 1, "s": "b"}]}),
        );
        assert_eq!(to_json(&v), serde_json::json!([{"detail": "2", "id": "A"}]));
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

    #[test]
    fn compile_errors_have_positions() {
        let e = compile("a &&\n  (b ||").unwrap_err();
        assert!(e.line >= 1 && e.column >= 1, "{e:?}");
    }
}
