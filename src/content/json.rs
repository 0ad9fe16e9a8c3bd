//! ARM JSON with a byte offset for every node (jsonc-parser: ARM templates may carry `//` and
//! `/* */` comments, Learn "ARM template structure: comments").
//!
//! Hostile input is bounded before the recursive parser runs: a bracket-depth pre-scan
//! refuses nesting deeper than [`MAX_JSON_DEPTH`] (so no stack can overflow), and duplicate
//! keys are refused as ARM refuses them. Everything else a strict JSON parser would reject
//! (missing commas, trailing commas, single quotes, hex numbers) is rejected too.

use crate::input::codes::ContentCode;
use crate::input::diagnostic::{InputError, SourceFile, Span};
use jsonc_parser::ast;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Deepest nesting of arrays and objects a content file may have. Real Content Hub templates
/// nest about 20 levels (the Defender XDR solution's mainTemplate: 19).
pub const MAX_JSON_DEPTH: usize = 64;

/// A parsed JSON file: its value and where each node starts (by JSON pointer).
#[derive(Debug, Clone)]
pub struct Json {
    pub file: SourceFile,
    pub value: Value,
    offsets: HashMap<String, usize>,
}

impl Json {
    /// Byte offset of the node at `pointer`, or of its nearest ancestor.
    pub fn offset(&self, pointer: &str) -> usize {
        let mut p = pointer;
        loop {
            if let Some(o) = self.offsets.get(p) {
                return *o;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 0,
            }
        }
    }

    /// 1-based line and column of the node at `pointer`.
    pub fn line_col(&self, pointer: &str) -> (usize, usize) {
        self.file.line_col(self.offset(pointer))
    }

    /// A diagnostic at the node `pointer` points to.
    pub fn error_at(
        &self,
        code: ContentCode,
        pointer: &str,
        message: impl Into<String>,
    ) -> InputError {
        InputError::at(
            code,
            &self.file,
            Some(Span {
                offset: self.offset(pointer),
                len: 1,
            }),
            message,
        )
        .label("here")
    }
}

/// Parse `file` as JSON with comments; every problem is a diagnostic at its line and column.
pub fn parse(file: SourceFile) -> Result<Json, InputError> {
    if let Some(at) = too_deep(&file.text) {
        return Err(InputError::at(
            ContentCode::TooDeep,
            &file,
            Some(Span { offset: at, len: 1 }),
            format!("nesting deeper than {MAX_JSON_DEPTH} levels"),
        )
        .label("too deep")
        .help("ARM templates nest about 20 levels; this file is malformed or hostile"));
    }
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed =
        jsonc_parser::parse_to_ast(&file.text, &Default::default(), &options).map_err(|e| {
            InputError::at(
                ContentCode::Json,
                &file,
                Some(Span {
                    offset: e.range().start,
                    len: 1,
                }),
                format!("not valid JSON: {}", e.kind()),
            )
            .label("here")
            .help("fix the JSON syntax at the marked position (ARM would refuse the template too)")
        })?;
    let Some(root) = parsed.value else {
        return Err(InputError::at(
            ContentCode::Json,
            &file,
            None,
            "empty file: not a JSON document",
        ));
    };
    let mut offsets = HashMap::new();
    let value = convert(&file, &root, String::new(), &mut offsets)?;
    Ok(Json {
        file,
        value,
        offsets,
    })
}

/// The AST as a `serde_json::Value`, recording offsets; duplicate keys are refused.
/// Recursion is bounded by the depth pre-scan.
fn convert(
    file: &SourceFile,
    node: &ast::Value,
    pointer: String,
    offsets: &mut HashMap<String, usize>,
) -> Result<Value, InputError> {
    use jsonc_parser::common::Ranged;
    offsets.insert(pointer.clone(), node.range().start);
    Ok(match node {
        ast::Value::NullKeyword(_) => Value::Null,
        ast::Value::BooleanLit(b) => Value::Bool(b.value),
        ast::Value::StringLit(s) => Value::String(s.value.to_string()),
        ast::Value::NumberLit(n) => match n.value.parse::<Number>() {
            Ok(n) => Value::Number(n),
            Err(_) => {
                return Err(InputError::at(
                    ContentCode::Json,
                    file,
                    Some(Span {
                        offset: n.range.start,
                        len: n.value.len(),
                    }),
                    format!("number `{}` is out of range", n.value),
                )
                .label("here"))
            }
        },
        ast::Value::Array(a) => {
            let mut items = Vec::with_capacity(a.elements.len());
            for (i, e) in a.elements.iter().enumerate() {
                items.push(convert(file, e, format!("{pointer}/{i}"), offsets)?);
            }
            Value::Array(items)
        }
        ast::Value::Object(o) => {
            let mut map = Map::new();
            for prop in &o.properties {
                let key = prop.name.as_str().to_string();
                if map.contains_key(&key) {
                    return Err(InputError::at(
                        ContentCode::DuplicateKey,
                        file,
                        Some(Span {
                            offset: prop.range.start,
                            len: key.len() + 2,
                        }),
                        format!("duplicate key `{key}`"),
                    )
                    .label("again here")
                    .help("ARM rejects a template with a key given twice; remove one"));
                }
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let v = convert(file, &prop.value, child, offsets)?;
                map.insert(key, v);
            }
            Value::Object(map)
        }
    })
}

/// Offset of the first bracket nested deeper than [`MAX_JSON_DEPTH`], skipping strings (with
/// escapes) and comments, so the parser never recurses that deep.
fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Result<Json, InputError> {
        parse(SourceFile::new("t.json", text))
    }

    #[test]
    fn offsets_and_comments() {
        let j = json("{\n  // a comment\n  \"a\": [1, {\"b\": \"x\"}]\n}").unwrap();
        assert_eq!(j.value["a"][1]["b"], "x");
        assert_eq!(j.line_col("/a/1"), (3, 12));
        assert_eq!(j.line_col("/a/1/zzz"), (3, 12));
    }

    #[test]
    fn strict_json_errors_name_line_and_column() {
        let e = json("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert!(
            e.message
                .starts_with("t.json:2:9: not valid JSON: Expected comma"),
            "{}",
            e.message
        );
        let e = json("{\"a\": 1, \"a\": 2}").unwrap_err();
        assert_eq!(e.code, "xdrguard::content::duplicate_key");
        assert!(json("{\"a\": [1,],}").is_err());
        assert!(json("").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = "[".repeat(100_000);
        let e = json(&deep).unwrap_err();
        assert_eq!(e.code, "xdrguard::content::too_deep");
        assert!(e.message.starts_with("t.json:1:65:"), "{}", e.message);
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "{{\"a\": \"{}\\\"{}\" /* {} */}}",
            "[".repeat(99),
            "{".repeat(99),
            "[".repeat(99)
        );
        assert!(json(&quoted).is_ok());
    }
}
