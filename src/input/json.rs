//! JSON documents (facts, reports): parsed by serde_json, which is fast on the large files
//! `collect` writes, with spans indexed from the text only when a diagnostic needs one.

use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::yaml::{Document, SpanIndex};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Parse one JSON document; a syntax error is `code` at its line and column, with `help`.
/// A key given twice in one object is an error there too (as in YAML): JSON leaves it
/// undefined which one counts, and serde_json would silently keep the last.
pub fn parse(
    file: SourceFile,
    code: &'static str,
    help: &'static str,
) -> Result<Document, InputError> {
    match from_str(&file.text) {
        Ok(value) => Ok(Document {
            spans: SpanIndex::deferred(file.text.clone()),
            file,
            value,
        }),
        Err(e) => Err(InputError::at(
            code,
            &file,
            file.span_at(e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
        .label("here")
        .help(help)),
    }
}

/// Parse JSON text into a value, refusing duplicate keys (at the line and column of the
/// second one).
pub fn from_str(text: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Strict::deserialize(&mut de)?.0;
    de.end()?;
    Ok(v)
}

/// A JSON value whose objects have no key twice.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(n.into())
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(n.into())
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Strict(item)) = seq.next_element()? {
            v.push(item);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut o = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if o.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{key}` (it is already set in this object)"
                )));
            }
            let Strict(value) = map.next_value()?;
            o.insert(key, value);
        }
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_line_and_column() {
        let file = SourceFile::new("r.json", "{\n  \"tool\": ,\n}");
        let e = parse(file, "test::json", "help").unwrap_err();
        assert!(
            e.message.starts_with("r.json:2:11: not valid JSON:"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_duplicate_key_is_refused_at_its_line_and_column() {
        let file = SourceFile::new("f.json", "{\n  \"a\": {\"b\": 1,\n   \"b\": 2}\n}");
        let e = parse(file, "test::json", "").unwrap_err();
        assert!(
            e.message
                .starts_with("f.json:3:6: not valid JSON: duplicate key `b`"),
            "{}",
            e.message
        );
        let same_key_elsewhere =
            "{\"a\": {\"b\": 1}, \"c\": {\"b\": 2}, \"d\": [{\"b\": 3}, {\"b\": 4}]}";
        assert_eq!(from_str(same_key_elsewhere).unwrap()["d"][1]["b"], 4);
        assert_eq!(
            from_str("[1, -2, 2.5, \"x\", null, true]").unwrap(),
            serde_json::json!([1, -2, 2.5, "x", null, true])
        );
        assert!(from_str("{} x").is_err(), "trailing characters");
    }

    #[test]
    fn spans_are_found_when_asked() {
        let doc = parse(
            SourceFile::new("f.json", "{\n  \"a\": {\"b\": [1, 2]}\n}"),
            "x",
            "",
        )
        .unwrap();
        let s = doc.spans.value("/a/b/1").unwrap();
        assert_eq!(doc.file.line_col(s.offset), (2, 18));
        assert_eq!(doc.value["a"]["b"][1], 2);
    }
}
