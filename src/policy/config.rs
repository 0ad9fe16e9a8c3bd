//! The user's configuration: per-control severity, params and on/off, keyed by control ID.

use crate::input::codes::ConfigCode;
use crate::input::diagnostic::InputError;
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input};
use crate::input::schema::{self, Violation};
use crate::input::yaml::{pointer_segment, Document};
use crate::model::Severity;
use crate::policy::Catalog;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub controls: BTreeMap<String, ControlOverride>,
    /// Whether the workspace is onboarded to the Defender portal: decided from the facts'
    /// evidence (`auto`), or stated by the user when the evidence cannot tell.
    #[serde(default)]
    pub defender_portal: PortalMode,
}

/// `defender_portal` of the config.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortalMode {
    #[default]
    Auto,
    Onboarded,
    NotOnboarded,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlOverride {
    pub severity: Option<Severity>,
    #[serde(default)]
    pub params: Map<String, Value>,
    pub enabled: Option<bool>,
}

impl Input for Config {
    const SCHEMA: schema::Kind = schema::Kind::Config;
    const NAME: &'static str = "config";

    fn codes() -> Codes {
        Codes {
            schema: ConfigCode::Schema.into(),
            shape: ConfigCode::Shape.into(),
        }
    }

    fn schema_help(_: &Violation) -> &'static str {
        "a config has the keys `controls` (control IDs to severity, params and enabled) and `defender_portal` (auto | onboarded | not-onboarded)"
    }
}

impl Config {
    /// Read a config file and check it against the catalog: unknown IDs, unknown params,
    /// wrongly typed values and overrides of shared params are errors at their YAML node.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Config, InputError> {
        load::file(path, InputKind::Config, |doc, config: Config| {
            let errors = config.check(doc, catalog);
            if errors.is_empty() {
                Ok(config)
            } else {
                Err(errors)
            }
        })
    }

    /// What the schema cannot know: that each control and param exists and each value has
    /// its param's type.
    fn check(&self, doc: &Document, catalog: &Catalog) -> Vec<InputError> {
        let mut errors = Vec::new();
        for (id, o) in &self.controls {
            let base = format!("/controls/{}", pointer_segment(id));
            let Some(control) = catalog.get(id) else {
                errors.push(
                    doc.error_at_key(
                        ConfigCode::UnknownControl,
                        &base,
                        format!("unknown control ID `{id}`"),
                    )
                    .label("not a control")
                    .help("run `xdrguard controls` for the known IDs"),
                );
                continue;
            };
            for (name, value) in &o.params {
                let pointer = format!("{base}/params/{}", pointer_segment(name));
                match control.policy.params.get(name) {
                    None => errors.push(
                        doc.error_at_key(
                            ConfigCode::UnknownParam,
                            &pointer,
                            format!("control `{id}` has no param `{name}`"),
                        )
                        .label("unknown param")
                        .help(format!(
                            "params of {id}: {}",
                            if control.policy.params.is_empty() {
                                "none".to_string()
                            } else {
                                control.policy.params.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        )),
                    ),
                    Some(spec) if spec.shared_with.is_some() => errors.push(
                        doc.error_at_key(
                            ConfigCode::SharedParam,
                            &pointer,
                            format!("param `{name}` of `{id}` is shared"),
                        )
                        .label("set it on its owner")
                        .help(format!(
                            "set `{name}` under `{}` instead; it applies to every control that shares it",
                            spec.shared_with.as_deref().unwrap_or_default()
                        )),
                    ),
                    Some(spec) => {
                        if let Err(why) = spec.kind.check(value) {
                            errors.push(
                                doc.error_at(
                                    ConfigCode::ParamType,
                                    &pointer,
                                    format!("param `{name}` of `{id}`: {why}"),
                                )
                                .label("wrong type")
                                .help(format!("default: {}", spec.default)),
                            );
                        }
                    }
                }
            }
        }
        errors
    }
}
