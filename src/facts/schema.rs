//! `schemas/facts.schema.json`, generated from the facts types so the two cannot drift.
//!
//! The generated text is the committed file byte for byte (a test compares them); run
//! `XDRGUARD_WRITE_SCHEMA=1 cargo test --lib facts::schema` to rewrite it after changing a type.
//! Every section's data is a `$defs` entry named after the section, every subschema inline,
//! and keywords in one fixed order, so the file reads like a hand-written schema.

use super::{FactsDocument, SectionError, SectionName};
use schemars::generate::SchemaSettings;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::{Map, Value};
use strum::VariantArray;

/// An ARM resource ID of a Log Analytics workspace.
pub const WORKSPACE_ID_PATTERN: &str = "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.OperationalInsights/workspaces/[^/]+$";

/// The clouds `target.cloud` may name.
pub const CLOUDS: [&str; 3] = ["public", "usgov", "china"];

const ID: &str = "https://xdrguard.dev/schemas/facts.schema.json";
const TITLE: &str = "xdrguard facts document";
const DESCRIPTION: &str = "Normalised facts about one tenant and its Sentinel workspace. Each section holds its data or the error that stopped xdrguard from reading it. Written by `xdrguard collect`, read by `xdrguard check`.";

/// The text of `schemas/facts.schema.json`.
pub fn generate() -> String {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let root = generator.root_schema_for::<FactsDocument>();
    let mut defs = Map::new();
    for name in SectionName::VARIANTS {
        defs.insert(
            name.as_str().into(),
            name.data_schema(&mut generator).into(),
        );
    }
    defs.insert(
        "section_error".into(),
        generator.subschema_for::<SectionError>().into(),
    );
    let mut root: Value = root.into();
    let obj = root
        .as_object_mut()
        .expect("a struct's schema is an object");
    obj.insert("$id".into(), ID.into());
    obj.insert("title".into(), TITLE.into());
    obj.insert("description".into(), DESCRIPTION.into());
    obj.insert("$defs".into(), Value::Object(defs));
    tidy(&mut root, true);
    serde_json::to_string_pretty(&root).expect("a schema serialises")
}

/// `schema_version`: a version this build reads (1 up to the one it writes).
pub fn schema_version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": (1..=super::SCHEMA_VERSION).collect::<Vec<u32>>() })
}

pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

pub fn cloud(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": CLOUDS })
}

/// `sections`: each known section holds either `{data}` (of the section's `$defs` entry) or
/// `{error}`; no other key.
pub fn sections(_: &mut SchemaGenerator) -> Schema {
    let one = |key: &str, def: &str| {
        json_schema!({
            "type": "object",
            "additionalProperties": false,
            "required": [key],
            "properties": { key: { "$ref": format!("#/$defs/{def}") } }
        })
    };
    let properties: Map<String, Value> = SectionName::VARIANTS
        .iter()
        .map(|n| {
            let either = json_schema!({
                "oneOf": [one("data", n.as_str()), one("error", "section_error")]
            });
            (n.as_str().to_string(), either.into())
        })
        .collect();
    json_schema!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties
    })
}

/// Keywords in the order a reader looks for them.
const ORDER: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "pattern",
    "format",
    "additionalProperties",
    "required",
    "properties",
    "items",
    "oneOf",
    "$defs",
];

/// Drop what generation adds that the schema does not need — descriptions (the types' doc
/// comments, kept only at the root), `default` annotations, the integer width `format`s
/// and `type` beside an `enum` of strings — and put keywords in [`ORDER`].
fn tidy(schema: &mut Value, root: bool) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if !root {
        obj.remove("description");
    }
    obj.remove("default");
    if obj
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("int") || f.starts_with("uint"))
    {
        obj.remove("format");
    }
    if obj.contains_key("enum") {
        obj.remove("type");
    }
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = obj.get_mut(key) {
            children.values_mut().for_each(|c| tidy(c, false));
        }
    }
    if let Some(items) = obj.get_mut("items") {
        tidy(items, false);
    }
    if let Some(Value::Array(branches)) = obj.get_mut("oneOf") {
        branches.iter_mut().for_each(|b| tidy(b, false));
    }
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let mut entries: Vec<(String, Value)> = std::mem::take(obj).into_iter().collect();
    entries.sort_by_key(|(k, _)| rank(k));
    obj.extend(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/facts.schema.json");

    #[test]
    fn committed_schema_is_the_generated_one() {
        let generated = generate();
        if std::env::var_os("XDRGUARD_WRITE_SCHEMA").is_some() {
            std::fs::write(PATH, &generated).expect("write schemas/facts.schema.json");
        }
        let committed = std::fs::read_to_string(PATH).expect("read schemas/facts.schema.json");
        assert!(
            committed == generated,
            "schemas/facts.schema.json is not what the facts types generate; run \
             `XDRGUARD_WRITE_SCHEMA=1 cargo test --lib facts::schema` and review the diff"
        );
    }
}
