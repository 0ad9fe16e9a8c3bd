//! JSON documents (facts, reports): parsed by serde_json, which is fast on the large files
//! `collect` writes, with spans indexed from the text only when a diagnostic needs one.

use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::yaml::{Document, SpanIndex};

/// Parse one JSON document; a syntax error is `code` at its line and column, with `help`.
pub fn parse(
    file: SourceFile,
    code: &'static str,
    help: &'static str,
) -> Result<Document, InputError> {
    match serde_json::from_str(&file.text) {
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
