//! The user's configuration: per-control severity, params and on/off, keyed by control ID.

use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::schema;
use crate::input::yaml::{self, pointer_segment};
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
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlOverride {
    pub severity: Option<Severity>,
    #[serde(default)]
    pub params: Map<String, Value>,
    pub enabled: Option<bool>,
}

impl Config {
    /// Read a config file and check it against the catalog: unknown IDs, unknown params,
    /// wrongly typed values and overrides of shared params are errors at their YAML node.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Config, InputError> {
        let doc = yaml::parse(SourceFile::read(path)?)?;
        let mut errors: Vec<InputError> = schema::validate(schema::Kind::Config, &doc.value)
            .into_iter()
            .map(|v| {
                doc.error_at_key(
                    "xdrguard::policy::config::schema",
                    &v.pointer,
                    format!("config does not match schemas/config.schema.json: {}", v.message),
                    "here",
                    "a config has one key, `controls`, mapping control IDs to severity, params and enabled",
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(InputError::many(errors).expect("non-empty"));
        }
        let config: Config = serde_json::from_value(doc.value.clone()).map_err(|e| {
            doc.error_at(
                "xdrguard::policy::config::shape",
                "",
                format!("invalid config: {e}"),
                "",
                "",
            )
        })?;
        for (id, o) in &config.controls {
            let base = format!("/controls/{}", pointer_segment(id));
            let Some(control) = catalog.get(id) else {
                errors.push(doc.error_at_key(
                    "xdrguard::policy::config::unknown_control",
                    &base,
                    format!("unknown control ID `{id}`"),
                    "not a control",
                    "run `xdrguard controls` for the known IDs",
                ));
                continue;
            };
            for (name, value) in &o.params {
                let pointer = format!("{base}/params/{}", pointer_segment(name));
                match control.policy.params.get(name) {
                    None => errors.push(doc.error_at_key(
                        "xdrguard::policy::config::unknown_param",
                        &pointer,
                        format!("control `{id}` has no param `{name}`"),
                        "unknown param",
                        format!(
                            "params of {id}: {}",
                            if control.policy.params.is_empty() {
                                "none".to_string()
                            } else {
                                control.policy.params.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    )),
                    Some(spec) if spec.shared_with.is_some() => errors.push(doc.error_at_key(
                        "xdrguard::policy::config::shared_param",
                        &pointer,
                        format!("param `{name}` of `{id}` is shared"),
                        "set it on its owner",
                        format!("set `{name}` under `{}` instead; it applies to every control that shares it", spec.shared_with.as_deref().unwrap_or_default()),
                    )),
                    Some(spec) => {
                        if let Err(why) = spec.kind.check(value) {
                            errors.push(doc.error_at(
                                "xdrguard::policy::config::param_type",
                                &pointer,
                                format!("param `{name}` of `{id}`: {why}"),
                                "wrong type",
                                format!("default: {}", spec.default),
                            ));
                        }
                    }
                }
            }
        }
        match InputError::many(errors) {
            Some(e) => Err(e),
            None => Ok(config),
        }
    }
}
