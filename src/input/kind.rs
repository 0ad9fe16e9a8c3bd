//! Which of xdrguard's own file kinds a document is, judged by its distinctive top-level
//! keys, so a file given to the wrong option (`check --facts report.json`,
//! `--config exceptions.yaml`) is named for what it is instead of failing its schema.

use crate::input::codes::InputCode;
use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::json;
use crate::input::schema::Kind;
use crate::input::yaml::{self, Document};
use serde_json::Value;

/// The kind of an xdrguard document, and the top-level key that gave it away; `None` for
/// anything else (including a document of no recognisable kind).
pub fn recognise(value: &Value) -> Option<(Kind, &'static str)> {
    let has = |k: &str| value.get(k).is_some();
    // Each kind by keys no other kind has at its top level.
    let kinds: [(Kind, &'static str, bool); 8] = [
        (
            Kind::Report,
            "results",
            has("results") && (has("verdict") || has("exit_code")),
        ),
        (
            Kind::Facts,
            "sections",
            has("sections") && has("collected_at"),
        ),
        (
            Kind::FleetReport,
            "targets",
            has("targets") && has("verdict"),
        ),
        (Kind::Fleet, "targets", has("targets")),
        (Kind::PolicyTest, "cases", has("cases")),
        (Kind::Exceptions, "exceptions", has("exceptions")),
        (Kind::Config, "controls", has("controls")),
        (Kind::Policy, "violations", has("violations") && has("id")),
    ];
    kinds
        .into_iter()
        .find(|k| k.2)
        .map(|(kind, key, _)| (kind, key))
}

/// How messages name a kind.
pub fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Facts => "a facts document",
        Kind::Report => "a JSON report",
        Kind::Config => "a config",
        Kind::Exceptions => "an exceptions file",
        Kind::Policy => "a policy",
        Kind::PolicyTest => "a policy test file",
        Kind::Fleet => "a fleet file",
        Kind::FleetReport => "a fleet report",
    }
}

/// Where a kind of file belongs on the command line.
pub fn used_with(kind: Kind) -> &'static str {
    match kind {
        Kind::Facts => "use it with `check --facts`",
        Kind::Report => "use it with `--baseline` or `xdrguard diff`",
        Kind::Config => "use it with `--config`",
        Kind::Exceptions => "use it with `--exceptions`",
        Kind::Policy => "put it in a folder given to `--policies`",
        Kind::PolicyTest => "run it with `xdrguard test`",
        Kind::Fleet => "run it with `xdrguard fleet`",
        Kind::FleetReport => "combine it with others with `xdrguard merge`",
    }
}

/// Where a kind of file comes from, for the help of a mix-up.
fn made_by(kind: Kind) -> &'static str {
    match kind {
        Kind::Facts => "`xdrguard collect` (or `audit --save-facts`) writes it",
        Kind::Report => "`check --format json` or `--report json=FILE` writes it",
        Kind::Config => "see examples/xdrguard.yaml",
        Kind::Exceptions => "see examples/exceptions.yaml",
        Kind::Policy => "see policies/ and schemas/policy.schema.json",
        Kind::PolicyTest => "see tests/policies/ and schemas/policy-test.schema.json",
        Kind::Fleet => "see examples/fleet/fleet.yaml and schemas/fleet.schema.json",
        Kind::FleetReport => "`xdrguard fleet --format json` or `xdrguard merge` writes it",
    }
}

/// The diagnostic for `doc`, read where `expected` was wanted, when it is another of
/// xdrguard's kinds; `None` when it is not (its own errors are then the right ones).
pub fn misfiled(doc: &Document, expected: Kind) -> Option<InputError> {
    let (kind, key) = recognise(&doc.value).filter(|(k, _)| *k != expected)?;
    Some(
        doc.error_at_key(
            InputCode::WrongKind,
            &format!("/{key}"),
            format!(
                "this is {}, not {}; {}",
                noun(kind),
                noun(expected),
                used_with(kind)
            ),
        )
        .label(format!("`{key}` makes it {}", noun(kind)))
        .help(format!(
            "the option wants {}: {}",
            noun(expected),
            made_by(expected)
        )),
    )
}

/// [`misfiled`] for a text that could not be read as `expected` at all (a YAML file where
/// JSON was wanted): parsed as JSON, then as YAML, to see whether it is another kind.
pub fn misfiled_text(file: &SourceFile, expected: Kind) -> Option<InputError> {
    let doc = json::parse(file.clone(), "", "")
        .or_else(|_| yaml::parse(file.clone()))
        .ok()?;
    misfiled(&doc, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_by_its_keys() {
        let k = |v: Value| recognise(&v).map(|(k, _)| k);
        assert_eq!(
            k(json!({"tool": {}, "results": [], "verdict": "compliant"})),
            Some(Kind::Report)
        );
        assert_eq!(
            k(json!({"collected_at": "x", "sections": {}})),
            Some(Kind::Facts)
        );
        assert_eq!(
            k(json!({"base": "f.json", "cases": []})),
            Some(Kind::PolicyTest)
        );
        assert_eq!(k(json!({"exceptions": []})), Some(Kind::Exceptions));
        assert_eq!(k(json!({"controls": {}})), Some(Kind::Config));
        assert_eq!(
            k(json!({"id": "A-B-01", "violations": "[]"})),
            Some(Kind::Policy)
        );
        assert_eq!(
            k(json!({"results": []})),
            None,
            "one key alone is not a report"
        );
        assert_eq!(k(json!([1])), None);
    }

    #[test]
    fn a_mix_up_names_both_kinds_at_the_key() {
        let doc = yaml::parse(SourceFile::new("e.yaml", "# waivers\nexceptions: []\n")).unwrap();
        let e = misfiled(&doc, Kind::Config).unwrap();
        assert_eq!(e.code, "xdrguard::input::wrong_kind");
        assert!(
            e.message.starts_with(
                "e.yaml:2:1: this is an exceptions file, not a config; use it with `--exceptions`"
            ),
            "{}",
            e.message
        );
        assert!(misfiled(&doc, Kind::Exceptions).is_none());
    }
}
