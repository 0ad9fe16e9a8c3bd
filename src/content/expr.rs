//! The subset of ARM template expressions xdrguard resolves (Learn "Template syntax and
//! expressions", "Template functions"): a string `[…]` is an expression, `[[` escapes a
//! literal `[`; function names are case-insensitive; strings are single-quoted with `''`.
//!
//! Resolved: `parameters`, `variables`, `concat`, `format` (`{n}` only), `subscription()` and
//! `resourceGroup()` (from the deployment target only), `true`, `false`, `string`, `int`,
//! `bool`, `toLower`, `toUpper`, `createArray`, `.member` and `[index]`. Everything else
//! (`reference`, `resourceId`, `uniqueString`, `if`, …) is [`Val::Unknown`]: its value exists
//! only at deployment. Work is bounded (length, nesting, variable chains); nothing panics.

use serde_json::Value;

/// Longest expression evaluated; a longer one is unknown.
const MAX_EXPRESSION: usize = 8 * 1024;
/// Deepest nesting of calls and accessors evaluated.
const MAX_NESTING: usize = 32;

/// A resolved value: JSON where any node, or part of a string, may be unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    /// A string, possibly built around unknown parts (`concat(parameters('workspace'), '/x')`).
    Str(Vec<Part>),
    Array(Vec<Val>),
    Object(Vec<(String, Val)>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Known(String),
    Unknown,
}

impl Val {
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(vec![Part::Known(s.into())])
    }

    /// A JSON value as written (no expression evaluation).
    pub fn literal(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Number(n.clone()),
            Value::String(s) => Val::str(s.clone()),
            Value::Array(a) => Val::Array(a.iter().map(Val::literal).collect()),
            Value::Object(o) => Val::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Val::literal(v)))
                    .collect(),
            ),
        }
    }

    /// The JSON value, if every part of it is known.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Number(n) => Value::Number(n.clone()),
            Val::Str(_) => Value::String(self.as_known_str()?),
            Val::Array(a) => Value::Array(a.iter().map(Val::to_json).collect::<Option<_>>()?),
            Val::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Val::Unknown => return None,
        })
    }

    /// The string, if it is one and wholly known.
    pub fn as_known_str(&self) -> Option<String> {
        match self {
            Val::Str(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Known(s) => Some(s.as_str()),
                    Part::Unknown => None,
                })
                .collect::<Option<String>>(),
            _ => None,
        }
    }

    /// The known text after the last `sep` (ASCII case-insensitive), if that tail is known.
    /// Names like `concat(parameters('workspace'), '/Microsoft.SecurityInsights/', 'id')`
    /// keep their identity even when the workspace part is unknown.
    pub fn known_tail(&self, sep: &str) -> Option<String> {
        let Val::Str(parts) = self else { return None };
        let mut text = String::new();
        for p in parts {
            match p {
                Part::Known(s) => text.push_str(s),
                Part::Unknown => text.push('\u{0}'),
            }
        }
        let lower = text.to_ascii_lowercase();
        let i = lower.rfind(&sep.to_ascii_lowercase())?;
        let tail = &text[i + sep.len()..];
        (!tail.contains('\u{0}') && !tail.is_empty()).then(|| tail.to_string())
    }

    fn member(&self, name: &str) -> Val {
        match self {
            Val::Object(o) => o
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or(Val::Unknown, |(_, v)| v.clone()),
            _ => Val::Unknown,
        }
    }

    fn index(&self, i: &Val) -> Val {
        match (self, i) {
            (Val::Array(a), Val::Number(n)) => n
                .as_u64()
                .and_then(|n| a.get(usize::try_from(n).ok()?))
                .cloned()
                .unwrap_or(Val::Unknown),
            (Val::Object(_), Val::Str(_)) => match i.as_known_str() {
                Some(k) => self.member(&k),
                None => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }
}

/// What an expression can look up: parameters, variables and the deployment target.
pub trait Scope {
    fn parameter(&self, name: &str) -> Val;
    fn variable(&self, name: &str) -> Val;
    /// `subscription()`: `{subscriptionId, tenantId, id}` when the target is known.
    fn subscription(&self) -> Val;
    /// `resourceGroup()`: `{name, id}` when the target is known.
    fn resource_group(&self) -> Val;
}

/// Whether a template string is an expression (`[…]`, not the `[[` escape).
pub fn is_expression(s: &str) -> bool {
    s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[")
}

/// Resolve one template string: an expression is evaluated, `[[…` loses its escape, any
/// other string is itself.
pub fn resolve_string(s: &str, scope: &dyn Scope) -> Val {
    if is_expression(s) {
        eval(&s[1..s.len() - 1], scope)
    } else if let Some(rest) = s.strip_prefix("[[") {
        Val::str(format!("[{rest}"))
    } else {
        Val::str(s)
    }
}

/// Evaluate the text of an expression (without the brackets).
pub fn eval(text: &str, scope: &dyn Scope) -> Val {
    if text.len() > MAX_EXPRESSION {
        return Val::Unknown;
    }
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        scope,
    };
    match p.expr(0) {
        Some(v) => {
            p.ws();
            if p.i == p.s.len() {
                v
            } else {
                Val::Unknown
            }
        }
        None => Val::Unknown,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    scope: &'a dyn Scope,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// expr := primary ( '.' ident | '[' expr ']' )*. `None` is a syntax error.
    fn expr(&mut self, depth: usize) -> Option<Val> {
        if depth > MAX_NESTING {
            return None;
        }
        let mut v = self.primary(depth)?;
        loop {
            if self.eat(b'.') {
                let name = self.ident()?;
                v = v.member(&name);
            } else if self.eat(b'[') {
                let i = self.expr(depth + 1)?;
                if !self.eat(b']') {
                    return None;
                }
                v = v.index(&i);
            } else {
                return Some(v);
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn primary(&mut self, depth: usize) -> Option<Val> {
        self.ws();
        match self.s.get(self.i)? {
            b'\'' => self.string().map(Val::str),
            c if c.is_ascii_digit() || *c == b'-' => self.number(),
            _ => {
                let name = self.ident()?;
                if !self.eat(b'(') {
                    return None;
                }
                let mut args = Vec::new();
                if !self.eat(b')') {
                    loop {
                        args.push(self.expr(depth + 1)?);
                        if self.eat(b')') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(self.call(&name.to_ascii_lowercase(), args))
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i)? {
                b'\'' if self.s.get(self.i + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.i += 2;
                }
                b'\'' => {
                    self.i += 1;
                    return String::from_utf8(out).ok();
                }
                c => {
                    out.push(*c);
                    self.i += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Option<Val> {
        let start = self.i;
        self.i += 1;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        text.parse::<i64>().ok().map(|n| Val::Number(n.into()))
    }

    fn call(&self, name: &str, args: Vec<Val>) -> Val {
        let known_str = |i: usize| args.get(i).and_then(Val::as_known_str);
        match (name, args.len()) {
            ("parameters", 1) => known_str(0).map_or(Val::Unknown, |n| self.scope.parameter(&n)),
            ("variables", 1) => known_str(0).map_or(Val::Unknown, |n| self.scope.variable(&n)),
            ("subscription", 0) => self.scope.subscription(),
            ("resourcegroup", 0) => self.scope.resource_group(),
            ("true", 0) => Val::Bool(true),
            ("false", 0) => Val::Bool(false),
            ("concat", _) => concat(args),
            ("format", n) if n >= 1 => format(&args),
            ("createarray", _) => Val::Array(args),
            ("string", 1) => match &args[0] {
                Val::Str(_) => args[0].clone(),
                v => v
                    .to_json()
                    .map_or(Val::Unknown, |j| Val::str(j.to_string())),
            },
            ("int", 1) => match &args[0] {
                Val::Number(_) => args[0].clone(),
                v => v
                    .as_known_str()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .map_or(Val::Unknown, |n| Val::Number(n.into())),
            },
            ("bool", 1) => match &args[0] {
                Val::Bool(_) => args[0].clone(),
                v => match v.as_known_str().map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("true") => Val::Bool(true),
                    Some("false") => Val::Bool(false),
                    _ => Val::Unknown,
                },
            },
            ("tolower", 1) => map_known_str(&args[0], |s| s.to_lowercase()),
            ("toupper", 1) => map_known_str(&args[0], |s| s.to_uppercase()),
            _ => Val::Unknown,
        }
    }
}

fn map_known_str(v: &Val, f: impl Fn(&str) -> String) -> Val {
    v.as_known_str().map_or(Val::Unknown, |s| Val::str(f(&s)))
}

/// `concat` of strings (kept partial around unknown parts) or of arrays.
fn concat(args: Vec<Val>) -> Val {
    if args.iter().all(|a| matches!(a, Val::Array(_))) && !args.is_empty() {
        return Val::Array(
            args.into_iter()
                .flat_map(|a| match a {
                    Val::Array(v) => v,
                    _ => Vec::new(),
                })
                .collect(),
        );
    }
    let mut parts = Vec::new();
    for a in args {
        match a {
            Val::Str(p) => parts.extend(p),
            Val::Number(n) => parts.push(Part::Known(n.to_string())),
            Val::Unknown => parts.push(Part::Unknown),
            _ => return Val::Unknown,
        }
    }
    Val::Str(parts)
}

/// `format(fmt, args…)` with `{n}` placeholders only; a format spec (`{0:D}`) is unknown.
fn format(args: &[Val]) -> Val {
    let Some(fmt) = args[0].as_known_str() else {
        return Val::Unknown;
    };
    let mut parts = Vec::new();
    let mut rest = fmt.as_str();
    while let Some(open) = rest.find('{') {
        parts.push(Part::Known(rest[..open].to_string()));
        let Some(close) = rest[open..].find('}') else {
            return Val::Unknown;
        };
        let Ok(n) = rest[open + 1..open + close].parse::<usize>() else {
            return Val::Unknown;
        };
        match args.get(n + 1) {
            Some(Val::Str(p)) => parts.extend(p.iter().cloned()),
            Some(Val::Number(x)) => parts.push(Part::Known(x.to_string())),
            Some(Val::Unknown) => parts.push(Part::Unknown),
            _ => return Val::Unknown,
        }
        rest = &rest[open + close + 1..];
    }
    parts.push(Part::Known(rest.to_string()));
    Val::Str(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S;
    impl Scope for S {
        fn parameter(&self, name: &str) -> Val {
            match name {
                "enabled" => Val::Bool(true),
                "days" => Val::Number(30.into()),
                _ => Val::Unknown,
            }
        }
        fn variable(&self, name: &str) -> Val {
            match name {
                "obj" => Val::Object(vec![("Version".into(), Val::str("1.0.2"))]),
                _ => Val::Unknown,
            }
        }
        fn subscription(&self) -> Val {
            Val::Unknown
        }
        fn resource_group(&self) -> Val {
            Val::Unknown
        }
    }

    fn r(s: &str) -> Val {
        resolve_string(s, &S)
    }

    #[test]
    fn supported_functions() {
        assert_eq!(r("[parameters('enabled')]"), Val::Bool(true));
        assert_eq!(r("[PARAMETERS('days')]"), Val::Number(30.into()));
        assert_eq!(
            r("[variables('obj').version]").as_known_str().unwrap(),
            "1.0.2"
        );
        assert_eq!(r("[concat('a', 'b''c')]").as_known_str().unwrap(), "ab'c");
        assert_eq!(
            r("[format('{0}/{1}', 'ws', 'T')]").as_known_str().unwrap(),
            "ws/T"
        );
        assert_eq!(r("[[literal]").as_known_str().unwrap(), "[literal]");
        assert_eq!(r("plain").as_known_str().unwrap(), "plain");
        assert_eq!(r("[toLower('AbC')]").as_known_str().unwrap(), "abc");
        assert_eq!(r("[int('42')]"), Val::Number(42.into()));
        assert_eq!(r("[createArray(1, 2)[1]]"), Val::Number(2.into()));
    }

    #[test]
    fn unknown_parts_keep_a_known_tail() {
        let v = r("[concat(parameters('workspace'),'/Microsoft.SecurityInsights/','abc')]");
        assert_eq!(v.as_known_str(), None);
        assert_eq!(
            v.known_tail("/Microsoft.SecurityInsights/").as_deref(),
            Some("abc")
        );
        let v = r("[format('{0}/{1}', parameters('workspaceName'), 'DeviceEvents')]");
        assert_eq!(v.known_tail("/").as_deref(), Some("DeviceEvents"));
        let v = r("[concat('ws/', uniqueString('x'))]");
        assert_eq!(v.known_tail("/"), None);
    }

    #[test]
    fn everything_else_is_unknown_and_bounded() {
        for e in [
            "[reference('x').outputs.y.value]",
            "[uniqueString('a')]",
            "[if(true(), 1, 2)]",
            "[format('{0:D}', 1)]",
            "[parameters(]",
            "[concat('a']",
            "[variables('me')]",
            "[subscription().tenantId]",
        ] {
            assert_eq!(r(e).to_json(), None, "{e}");
        }
        let bomb = format!("[{}'x'{}]", "concat(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(r(&bomb), Val::Unknown);
        let deep = format!("[{}'x'{}]", "concat(".repeat(40), ")".repeat(40));
        assert_eq!(r(&deep), Val::Unknown);
    }
}
