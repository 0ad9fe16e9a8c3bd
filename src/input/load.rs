//! The one loading sequence every input file goes through:
//! read (bounded) → parse with spans → JSON Schema → deserialize → meaning checks,
//! every problem a diagnostic at its node, all of a file's problems reported together.
//!
//! A kind of input says what differs — its syntax, its schema and the wording of its
//! problems — by implementing [`Input`]; the caller passes the meaning checks (known control
//! IDs, real dates, compiling expressions…) as a closure over the typed value.

use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::json;
use crate::input::kind;
use crate::input::limits::{self, InputKind};
use crate::input::schema::{self, Violation};
use crate::input::yaml::{self, pointer_segment, Document};
use serde::de::DeserializeOwned;
use std::path::Path;

/// How a kind of input is written.
#[derive(Debug, Clone, Copy)]
pub enum Syntax {
    /// YAML (JSON is accepted too), with spans recorded while parsing.
    Yaml,
    /// JSON; a syntax error is reported with this code and help.
    Json {
        code: &'static str,
        help: &'static str,
    },
}

/// A document that matches its schema but still does not deserialize.
#[derive(Debug)]
pub struct Shape {
    /// JSON pointer of the node serde stopped at ("" for the root).
    pub pointer: String,
    /// serde's message, without the path.
    pub message: String,
}

/// The codes of the two problems every input can have.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    /// The document does not match its schema.
    pub schema: &'static str,
    /// It matches the schema but not the type (what the schema cannot say).
    pub shape: &'static str,
}

/// Which node of a mapping entry a schema violation points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The key: right for "unexpected key" and for entries of hand-written config files.
    Key,
    /// The value: right where the value itself is what is wrong (a policy's `severity: urgent`).
    Value,
}

/// One kind of input file: implemented by the type the document deserializes into.
///
/// The provided methods word problems as most inputs do:
/// "`NAME` does not match schemas/….schema.json: why" at the node, labelled "here", and
/// "invalid `NAME`: why" at the document; an input worded otherwise overrides them.
pub trait Input: DeserializeOwned {
    /// The schema the document must match.
    const SCHEMA: schema::Kind;
    /// How messages name the document: "config", "exceptions file", "policy".
    const NAME: &'static str;
    /// Where a schema violation points.
    const VIOLATION_AT: At = At::Key;

    /// How the document is written: YAML unless said otherwise.
    fn syntax() -> Syntax {
        Syntax::Yaml
    }

    fn codes() -> Codes;

    /// What to do about a schema violation ("" for no help).
    fn schema_help(_violation: &Violation) -> &'static str {
        ""
    }

    /// Diagnostics for the (never empty) schema violations of `doc`.
    fn schema_errors(doc: &Document, violations: &[Violation]) -> Vec<InputError> {
        violations
            .iter()
            .map(|v| {
                let message = format!(
                    "{} does not match {}: {}",
                    Self::NAME,
                    Self::SCHEMA.path(),
                    v.message
                );
                let code = Self::codes().schema;
                match Self::VIOLATION_AT {
                    At::Key => doc.error_at_key(code, &v.pointer, message),
                    At::Value => doc.error_at(code, &v.pointer, message),
                }
                .label("here")
                .help(Self::schema_help(v))
            })
            .collect()
    }

    /// The diagnostic for a document that matches the schema but not the type.
    fn shape_error(doc: &Document, e: Shape) -> InputError {
        doc.error_at(
            Self::codes().shape,
            "",
            format!("invalid {}: {}", Self::NAME, e.message),
        )
    }
}

/// Meaning checks that accept every document.
pub fn no_checks<T>(_: &Document, value: T) -> Result<T, Vec<InputError>> {
    Ok(value)
}

/// Read the file at `path` (at most the limit of its `kind`) and load it as a `T`, then
/// `check` it.
pub fn file<T: Input, U>(
    path: &Path,
    kind: InputKind,
    check: impl FnOnce(&Document, T) -> Result<U, Vec<InputError>>,
) -> Result<U, InputError> {
    let file = limits::read(path, kind)?;
    source(file, check).map(|(_, u)| u).map_err(merged)
}

/// A failed load's errors as one diagnostic, the first as the headline.
pub fn merged(errors: Vec<InputError>) -> InputError {
    InputError::many(errors).expect("a failed load has an error")
}

/// Load a source held in memory; the document is returned beside the result for callers
/// that point at it later (policies), the errors in file order for callers that merge them.
pub fn source<T: Input, U>(
    file: SourceFile,
    check: impl FnOnce(&Document, T) -> Result<U, Vec<InputError>>,
) -> Result<(Document, U), Vec<InputError>> {
    // A file of another of xdrguard's kinds (a YAML config where a JSON report was wanted)
    // is named for what it is rather than for its syntax.
    let doc = parse::<T>(file.clone())
        .map_err(|e| vec![kind::misfiled_text(&file, T::SCHEMA).unwrap_or(e)])?;
    let u = document(&doc, check)?;
    Ok((doc, u))
}

/// Parse `file` in the syntax of `T`.
pub fn parse<T: Input>(file: SourceFile) -> Result<Document, InputError> {
    match T::syntax() {
        Syntax::Yaml => yaml::parse(file),
        Syntax::Json { code, help } => json::parse(file, code, help),
    }
}

/// Check a parsed document: schema, then type, then `check`. A document that fails its
/// schema because it is another of xdrguard's kinds gets one diagnostic saying so.
pub fn document<T: Input, U>(
    doc: &Document,
    check: impl FnOnce(&Document, T) -> Result<U, Vec<InputError>>,
) -> Result<U, Vec<InputError>> {
    let violations = schema::validate(T::SCHEMA, &doc.value);
    if !violations.is_empty() {
        if let Some(e) = kind::misfiled(doc, T::SCHEMA) {
            return Err(vec![e]);
        }
        return Err(T::schema_errors(doc, &violations));
    }
    let value: T = serde_path_to_error::deserialize(&doc.value).map_err(|e| {
        let shape = Shape {
            pointer: pointer_of(e.path()),
            message: e.into_inner().to_string(),
        };
        vec![T::shape_error(doc, shape)]
    })?;
    check(doc, value)
}

/// The JSON pointer of a serde path.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => p.push_str(&format!("/{}", pointer_segment(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::codes::ConfigCode;
    use serde::Deserialize;

    /// A stand-in input: the config schema, worded plainly.
    #[derive(Debug, Deserialize)]
    struct Controls {
        controls: std::collections::BTreeMap<String, serde_json::Value>,
    }

    impl Input for Controls {
        const SCHEMA: schema::Kind = schema::Kind::Config;
        const NAME: &'static str = "controls";
        fn codes() -> Codes {
            Codes {
                schema: ConfigCode::Schema.into(),
                shape: ConfigCode::Shape.into(),
            }
        }
    }

    fn load(text: &str) -> Result<usize, Vec<InputError>> {
        source(SourceFile::new("c.yaml", text), |doc, c: Controls| match c
            .controls
            .keys()
            .find(|k| !k.starts_with("XDR-"))
        {
            Some(k) => Err(vec![doc.error_at_key(
                ConfigCode::UnknownControl,
                &format!("/controls/{k}"),
                "unknown",
            )]),
            None => Ok(c.controls.len()),
        })
        .map(|(_, n)| n)
    }

    #[test]
    fn every_step_reports_at_its_node() {
        assert_eq!(load("controls:\n  XDR-A-01: {}\n").unwrap(), 1);
        let syntax = load("controls: [\n").unwrap_err();
        assert_eq!(syntax[0].code, "xdrguard::input::yaml::syntax");
        let schema = load("controls: {}\nextra: 1\n").unwrap_err();
        assert_eq!(schema[0].code, "xdrguard::policy::config::schema");
        assert!(
            schema[0]
                .message
                .starts_with("c.yaml:2:1: controls does not match schemas/config.schema.json: "),
            "{}",
            schema[0].message
        );
        assert_eq!(schema[0].label, "here");
        let meaning = load("controls:\n  ACME-01: {}\n").unwrap_err();
        assert_eq!(meaning[0].code, "xdrguard::policy::config::unknown_control");
        assert!(
            meaning[0].message.starts_with("c.yaml:2:3: "),
            "{}",
            meaning[0].message
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused_while_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.yaml");
        std::fs::write(&p, "controls: {}\n").unwrap();
        limits::set(InputKind::Content, 4);
        let e = file(&p, InputKind::Content, no_checks::<Controls>).unwrap_err();
        assert_eq!(e.code, "xdrguard::input::too_large");
        assert!(e.message.contains("at most 4 bytes"), "{}", e.message);
        assert!(e.help.unwrap().contains("--max-content-bytes"));
        assert!(file(&p, InputKind::Config, no_checks::<Controls>).is_ok());
    }
}
