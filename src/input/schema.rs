//! The JSON Schemas of `schemas/`, compiled once and used to validate input and output.

use serde_json::Value;
use std::sync::OnceLock;

/// Which document a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Kind {
    Policy,
    Config,
    Facts,
    Exceptions,
    Report,
    PolicyTest,
    Fleet,
    FleetReport,
}

impl Kind {
    /// Where the schema lives in the repository, as messages name it.
    pub fn path(self) -> &'static str {
        match self {
            Kind::Policy => "schemas/policy.schema.json",
            Kind::Config => "schemas/config.schema.json",
            Kind::Facts => "schemas/facts.schema.json",
            Kind::Exceptions => "schemas/exceptions.schema.json",
            Kind::Report => "schemas/report.schema.json",
            Kind::PolicyTest => "schemas/policy-test.schema.json",
            Kind::Fleet => "schemas/fleet.schema.json",
            Kind::FleetReport => "schemas/fleet-report.schema.json",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Kind::Policy => include_str!("../../schemas/policy.schema.json"),
            Kind::Config => include_str!("../../schemas/config.schema.json"),
            Kind::Facts => include_str!("../../schemas/facts.schema.json"),
            Kind::Exceptions => include_str!("../../schemas/exceptions.schema.json"),
            Kind::Report => include_str!("../../schemas/report.schema.json"),
            Kind::PolicyTest => include_str!("../../schemas/policy-test.schema.json"),
            Kind::Fleet => include_str!("../../schemas/fleet.schema.json"),
            Kind::FleetReport => include_str!("../../schemas/fleet-report.schema.json"),
        }
    }
    fn slot(self) -> &'static OnceLock<jsonschema::Validator> {
        static SLOTS: [OnceLock<jsonschema::Validator>;
            <Kind as strum::VariantArray>::VARIANTS.len()] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        &SLOTS[self as usize]
    }
}

/// One schema violation: where (JSON pointer) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

fn validator(kind: Kind) -> &'static jsonschema::Validator {
    kind.slot().get_or_init(|| {
        let schema: Value =
            serde_json::from_str(kind.text()).expect("bundled schema is valid JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("bundled schema compiles")
    })
}

/// The most specific violation behind an error: for `oneOf`/`anyOf`, the deepest error of
/// the branch that got furthest (e.g. the bad field inside `data`, not "matches no branch").
fn violation(e: &jsonschema::ValidationError<'_>) -> Violation {
    use jsonschema::error::ValidationErrorKind as K;
    match e.kind() {
        K::OneOfNotValid { context } | K::AnyOf { context } if !context.is_empty() => {
            let deepest = context
                .iter()
                .flatten()
                .max_by_key(|sub| sub.instance_path().to_string().matches('/').count());
            if let Some(sub) = deepest {
                return violation(sub);
            }
        }
        _ => {}
    }
    let mut pointer = e.instance_path().to_string();
    // Point at the unexpected key itself, not at the object that holds it.
    if let K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } =
        e.kind()
    {
        if let Some(k) = unexpected.first() {
            pointer = format!("{pointer}/{}", crate::input::yaml::pointer_segment(k));
        }
    }
    let mut message = e.to_string();
    if message.chars().count() > MAX_MESSAGE {
        message = message.chars().take(MAX_MESSAGE).collect::<String>() + "…";
    }
    Violation { pointer, message }
}

/// Messages quote the offending value; keep a huge one from flooding the terminal.
const MAX_MESSAGE: usize = 240;

/// Validate `instance`; violations are sorted by position and capped so a hostile
/// document cannot flood the terminal.
pub fn validate(kind: Kind, instance: &Value) -> Vec<Violation> {
    let mut out: Vec<Violation> = validator(kind)
        .iter_errors(instance)
        .take(50)
        .map(|e| violation(&e))
        .collect();
    // `oneOf` failures repeat the deeper error; keep the most specific per pointer.
    out.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    out.dedup_by(|a, b| a.pointer == b.pointer);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_schema_compiles() {
        use strum::VariantArray;
        for &k in Kind::VARIANTS {
            let _ = validator(k);
            assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(k.path())
                .is_file());
        }
    }
}
