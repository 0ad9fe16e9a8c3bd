//! The config resolved against the catalog once: each control's effective severity, on/off
//! and params (the policy's defaults, then the config, a shared param from its owner).
//! Evaluation, `controls`, `explain` and the ingestion plan all read the settings here, so
//! the order of precedence is written in one place.

use super::config::Config;
use super::load::Control;
use super::Catalog;
use crate::input::diagnostic::InputError;
use crate::model::Severity;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// A control's effective settings after config overrides.
#[derive(Debug, Clone)]
pub struct Effective {
    pub severity: Severity,
    pub enabled: bool,
    pub params: Map<String, Value>,
}

/// A config checked against the catalog (by [`Config::load`]) and resolved: the effective
/// settings of every control of that catalog.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    controls: HashMap<String, Effective>,
    /// `defender_portal` of the config (`auto` without one).
    pub defender_portal: super::config::PortalMode,
}

impl ValidConfig {
    /// The config at `path` (none: every policy default), checked and resolved against `catalog`.
    pub fn load(path: Option<&Path>, catalog: &Catalog) -> Result<ValidConfig, InputError> {
        match path {
            Some(p) => Ok(ValidConfig::resolve(catalog, &Config::load(p, catalog)?)),
            None => Ok(ValidConfig::defaults(catalog)),
        }
    }

    /// Every control with its policy's defaults.
    pub fn defaults(catalog: &Catalog) -> ValidConfig {
        ValidConfig::resolve(catalog, &Config::default())
    }

    /// Resolve a config already checked against `catalog` (or built in code, as policy test
    /// cases do).
    pub fn resolve(catalog: &Catalog, config: &Config) -> ValidConfig {
        let controls = catalog
            .controls
            .iter()
            .map(|c| (c.policy.id.clone(), resolve_one(catalog, config, c)))
            .collect();
        ValidConfig {
            controls,
            defender_portal: config.defender_portal,
        }
    }

    /// The settings of `control`.
    ///
    /// # Panics
    /// If `control` is not of the catalog this config was resolved against (a caller's bug).
    pub fn effective(&self, control: &Control) -> &Effective {
        self.controls
            .get(&control.policy.id)
            .expect("the config is resolved against the catalog of this control")
    }
}

fn resolve_one(catalog: &Catalog, config: &Config, control: &Control) -> Effective {
    let id = &control.policy.id;
    let own = config.controls.get(id);
    let params = control
        .policy
        .params
        .iter()
        .map(|(name, spec)| {
            // A shared param takes its owner's default and its owner's override.
            let (owner, owner_spec) = spec
                .shared_with
                .as_ref()
                .and_then(|o| Some((o, catalog.get(o)?.policy.params.get(name)?)))
                .unwrap_or((id, spec));
            let value = config
                .controls
                .get(owner)
                .and_then(|o| o.params.get(name))
                .unwrap_or(&owner_spec.default);
            (name.clone(), value.clone())
        })
        .collect();
    Effective {
        severity: own
            .and_then(|o| o.severity)
            .unwrap_or(control.policy.severity),
        enabled: own.and_then(|o| o.enabled).unwrap_or(true),
        params,
    }
}
