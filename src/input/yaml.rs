//! YAML reading with a span for every node, behind one module (serde-saphyr).
//!
//! Documents are parsed into `serde_json::Value` plus an index from JSON pointer to the
//! byte span of each node, so schema and semantic errors can point at the exact YAML node.

use crate::input::codes::InputCode;
use crate::input::diagnostic::{InputError, SourceFile, Span};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// JSON pointer → spans of the value and (for mapping entries) of its key.
#[derive(Debug, Default, Clone)]
struct Spans {
    values: HashMap<String, Span>,
    keys: HashMap<String, Span>,
}

/// Where each node of a document is. Indexed while parsing YAML; for JSON, which is read by
/// a faster parser without spans, indexed from the text on first use (only errors need it).
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    spans: OnceLock<Spans>,
    /// The text to index on first use, when the spans were not recorded while parsing.
    deferred: Option<Arc<str>>,
}

impl SpanIndex {
    fn recorded(spans: Spans) -> Self {
        SpanIndex {
            spans: OnceLock::from(spans),
            deferred: None,
        }
    }

    /// An index of `text` (YAML or JSON) built when first asked.
    pub fn deferred(text: Arc<str>) -> Self {
        SpanIndex {
            spans: OnceLock::new(),
            deferred: Some(text),
        }
    }

    fn spans(&self) -> &Spans {
        self.spans.get_or_init(|| {
            self.deferred
                .as_deref()
                .and_then(|t| parse_nodes(t).ok())
                .map(|(_, spans)| spans)
                .unwrap_or_default()
        })
    }

    /// Span of the node at `pointer`, or of its nearest ancestor that has one.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        let values = &self.spans().values;
        let mut p = pointer;
        loop {
            if let Some(s) = values.get(p) {
                return Some(*s);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
    /// Span of the key of the mapping entry at `pointer` (falls back to the value).
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.spans()
            .keys
            .get(pointer)
            .copied()
            .or_else(|| self.value(pointer))
    }
}

/// A parsed document: its value, spans, and the file for diagnostics.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: SourceFile,
    pub value: Value,
    pub spans: SpanIndex,
}

impl Document {
    /// An error located at the node `pointer` points to; add `.label()` and `.help()`.
    pub fn error_at(
        &self,
        code: impl Into<&'static str>,
        pointer: &str,
        message: impl Into<String>,
    ) -> InputError {
        InputError::at(code, &self.file, self.spans.value(pointer), message)
    }

    /// An error located at the key of the entry `pointer` points to.
    pub fn error_at_key(
        &self,
        code: impl Into<&'static str>,
        pointer: &str,
        message: impl Into<String>,
    ) -> InputError {
        InputError::at(code, &self.file, self.spans.key(pointer), message)
    }
}

/// Escape one JSON pointer segment (RFC 6901).
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

struct Key(String);

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Key, A::Error> {
                Err(de::Error::custom("a mapping key must be a scalar"))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Key, A::Error> {
                Err(de::Error::custom("a mapping key must be a scalar"))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

fn span_of(loc: &serde_saphyr::Location) -> Option<Span> {
    let s = loc.span();
    let offset = s.byte_offset()? as usize;
    let len = s.byte_len().unwrap_or(0) as usize;
    Some(Span { offset, len })
}

fn convert(node: Spanned<Node>, pointer: &mut String, spans: &mut Spans) -> Value {
    if let Some(s) = span_of(&node.referenced) {
        spans.values.insert(pointer.clone(), s);
    }
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::UInt(u) => Value::from(u),
        Node::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                out.push(convert(item, pointer, spans));
                pointer.truncate(len);
            }
            Value::Array(out)
        }
        Node::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&pointer_segment(&k.value.0));
                if let Some(s) = span_of(&k.referenced) {
                    spans.keys.insert(pointer.clone(), s);
                }
                let value = convert(v, pointer, spans);
                pointer.truncate(len);
                out.insert(k.value.0, value);
            }
            Value::Object(out)
        }
    }
}

/// Deepest nesting accepted; deeper input is rejected before it can exhaust the stack.
const MAX_DEPTH: usize = 48;

/// Stack for the parser thread (reserved, not committed, until used).
const PARSER_STACK: usize = 64 * 1024 * 1024;

/// Parse one YAML document (JSON is accepted too) with spans.
pub fn parse(file: SourceFile) -> Result<Document, InputError> {
    match parse_nodes(&file.text) {
        Ok((value, spans)) => Ok(Document {
            file,
            value,
            spans: SpanIndex::recorded(spans),
        }),
        Err(e) => Err(e.into_error(&file)),
    }
}

/// Why a text is not a YAML document, before it is worded for its file.
enum ParseError {
    TooDeep(usize),
    Syntax(serde_saphyr::Error),
    ParserDidNotRun,
}

impl ParseError {
    fn into_error(self, file: &SourceFile) -> InputError {
        match self {
            ParseError::TooDeep(offset) => InputError::at(
                InputCode::YamlTooDeep,
                file,
                Some(Span { offset, len: 1 }),
                format!("nesting deeper than {MAX_DEPTH} levels"),
            )
            .label("too deep")
            .help("xdrguard's files are shallow; this input is malformed or hostile"),
            ParseError::Syntax(e) => yaml_error(file, &e),
            ParseError::ParserDidNotRun => InputError::plain(
                InputCode::YamlParser,
                format!("{}: the YAML parser could not run", file.path),
            ),
        }
    }
}

/// The value of a YAML text and where each of its nodes is.
fn parse_nodes(text: &str) -> Result<(Value, Spans), ParseError> {
    if let Some(depth_at) = too_deep(text) {
        return Err(ParseError::TooDeep(depth_at));
    }
    // The parser recurses per nesting level with large frames in debug builds; give it a
    // stack that comfortably holds MAX_DEPTH levels whatever thread we are called from.
    let parsed = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, || {
                // Only `true`/`false` are booleans: `n`, `no`, `off` stay strings.
                let options = serde_saphyr::options! {
                    strict_booleans: true,
                    budget: serde_saphyr::budget! {
                        max_depth: MAX_DEPTH,
                        max_aliases: 1_000,
                        max_anchors: 1_000,
                    },
                };
                let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options)
                    .map_err(ParseError::Syntax)?;
                let mut spans = Spans::default();
                let value = convert(root, &mut String::new(), &mut spans);
                Ok((value, spans))
            })
            .map(|h| h.join())
    });
    match parsed {
        Ok(Ok(result)) => result,
        _ => Err(ParseError::ParserDidNotRun),
    }
}

fn yaml_error(file: &SourceFile, e: &serde_saphyr::Error) -> InputError {
    let span = e.location().and_then(|l| {
        // Fall back to line/column when no byte offset is known.
        span_of(&l).or_else(|| file.span_at(l.line() as usize, l.column() as usize))
    });
    let mut message = e.to_string();
    // serde-saphyr appends its own location; ours leads the message already.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    InputError::at(
        InputCode::YamlSyntax,
        file,
        span,
        format!("invalid YAML: {message}"),
    )
    .label("here")
    .help("fix the YAML syntax at the marked position")
}

/// Cheap pre-scan for flow-style nesting bombs (`[[[[…`), which a depth budget
/// would otherwise only catch after the parser has recursed.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_quote: Option<u8> = None;
    for (i, b) in text.bytes().enumerate() {
        match (in_quote, b) {
            (Some(q), c) if c == q => in_quote = None,
            (Some(_), _) => {}
            (None, b'"') | (None, b'\'') => in_quote = Some(b),
            (None, b'[') | (None, b'{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            (None, b']') | (None, b'}') => depth = depth.saturating_sub(1),
            (None, b'\n') => in_quote = None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Document, InputError> {
        parse(SourceFile::new("t.yaml", text))
    }

    #[test]
    fn spans_point_at_nodes() {
        let d = doc("id: X\nparams:\n  max_age:\n    default: 7d\n").unwrap();
        assert_eq!(d.value["params"]["max_age"]["default"], "7d");
        let s = d.spans.value("/params/max_age/default").unwrap();
        assert_eq!(d.file.line_col(s.offset), (4, 14));
        let k = d.spans.key("/params").unwrap();
        assert_eq!(d.file.line_col(k.offset), (2, 1));
    }

    #[test]
    fn syntax_error_names_line() {
        let e = doc("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.starts_with("t.yaml:"), "{}", e.message);
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            y.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(doc(&y).is_err());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let y = "[".repeat(100_000);
        assert_eq!(doc(&y).unwrap_err().code, "xdrguard::input::yaml::too_deep");
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&" ".repeat(i));
            block.push_str("a:\n");
        }
        assert!(doc(&block).is_err());
    }
}
