//! What the one Log Analytics query of a collection must cover, derived from the effective
//! params of the policies that read the `ingestion` section: a config that changes a table
//! list or an age limit changes the query, while collection itself knows nothing of policies.

use super::resolve::ValidConfig;
use super::{parse_duration, Catalog, ParamType};
use crate::facts::SectionName;
use serde_json::Value;

/// The facts section the query fills.
const SECTION: SectionName = SectionName::Ingestion;

/// The param in which a control that reads `ingestion` lists the tables it judges
/// (XDR-EVT-02 shares XDR-EVT-01's).
const TABLES_PARAM: &str = "required_tables";

/// The param in which a control that reads the directory role sections lists the roles it
/// accepts (XDR-ID-02): collection reads the holders of exactly these roles.
const ROLES_PARAM: &str = "accepted_roles";

/// The directory role sections, read by role.
const ROLE_SECTIONS: [SectionName; 2] = [
    SectionName::DirectoryRoleAssignments,
    SectionName::DirectoryRoleEligibilities,
];

/// Roles read when no control names any: Security Administrator, Global Administrator.
const DEFAULT_ROLES: [&str; 2] = [
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "62e90394-69f5-4237-9190-012177145e10",
];

/// The tables and look-back of the ingestion query.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionPlan {
    /// Every table a control reading `ingestion` lists, in catalog order, once each.
    pub tables: Vec<String>,
    /// The longest duration param of any control that reads `ingestion` (e.g. `max_age`,
    /// `window`): data older than the query's look-back would wrongly look absent.
    pub lookback: chrono::Duration,
    /// Every role a control reading the directory role sections accepts, lowercased, once
    /// each (the defaults when none names any).
    pub accepted_roles: Vec<String>,
}

impl IngestionPlan {
    pub fn new(catalog: &Catalog, config: &ValidConfig) -> IngestionPlan {
        let mut tables: Vec<String> = Vec::new();
        let mut lookback = chrono::Duration::zero();
        let readers = catalog
            .controls
            .iter()
            .filter(|c| c.policy.reads.contains(&SECTION));
        for control in readers {
            let params = &config.effective(control).params;
            for (name, spec) in &control.policy.params {
                let value = params.get(name);
                match spec.kind {
                    ParamType::StringList if name == TABLES_PARAM => {
                        for t in value.and_then(Value::as_array).into_iter().flatten() {
                            if let Some(t) = t.as_str().filter(|t| !tables.iter().any(|x| x == t)) {
                                tables.push(t.to_string());
                            }
                        }
                    }
                    ParamType::Duration => {
                        let d = value.and_then(Value::as_str).map(parse_duration);
                        if let Some(Ok(d)) = d {
                            lookback = lookback.max(d);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut accepted_roles: Vec<String> = Vec::new();
        let role_readers = catalog
            .controls
            .iter()
            .filter(|c| ROLE_SECTIONS.iter().any(|s| c.policy.reads.contains(s)));
        for control in role_readers {
            let params = &config.effective(control).params;
            let roles = params.get(ROLES_PARAM).and_then(Value::as_array);
            for r in roles.into_iter().flatten().filter_map(Value::as_str) {
                let r = r.to_ascii_lowercase();
                if !accepted_roles.contains(&r) {
                    accepted_roles.push(r);
                }
            }
        }
        if accepted_roles.is_empty() {
            accepted_roles = DEFAULT_ROLES.map(String::from).to_vec();
        }
        IngestionPlan {
            tables,
            lookback,
            accepted_roles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config::{Config, ControlOverride};
    use crate::policy::load_catalog;
    use serde_json::json;

    fn plan(overrides: &[(&str, &str, Value)]) -> IngestionPlan {
        let catalog = load_catalog(&[], true).unwrap();
        let mut config = Config::default();
        for (id, name, value) in overrides {
            config
                .controls
                .entry(id.to_string())
                .or_insert_with(ControlOverride::default)
                .params
                .insert(name.to_string(), value.clone());
        }
        IngestionPlan::new(&catalog, &ValidConfig::resolve(&catalog, &config))
    }

    #[test]
    fn covers_the_required_tables_and_the_longest_age_by_default() {
        let catalog = load_catalog(&[], true).unwrap();
        let owner = catalog.get("XDR-EVT-01").unwrap();
        let defaults = &owner.policy.params["required_tables"].default;
        let p = plan(&[]);
        assert_eq!(json!(p.tables), *defaults);
        // XDR-ING-01's `window` (14d) is longer than XDR-EVT-02's `max_age` (7d).
        assert_eq!(p.lookback, chrono::Duration::days(14));
    }

    #[test]
    fn reads_the_roles_xdr_id_02_accepts_as_configured() {
        assert_eq!(plan(&[]).accepted_roles, DEFAULT_ROLES.map(String::from));
        let p = plan(&[(
            "XDR-ID-02",
            "accepted_roles",
            json!(["62E90394-69F5-4237-9190-012177145E10"]),
        )]);
        assert_eq!(p.accepted_roles, ["62e90394-69f5-4237-9190-012177145e10"]);
    }

    #[test]
    fn follows_the_config_of_the_owner_of_a_shared_table_list() {
        let p = plan(&[
            (
                "XDR-EVT-01",
                "required_tables",
                json!(["DeviceInfo", "EmailEvents"]),
            ),
            ("XDR-EVT-02", "max_age", json!("30d")),
        ]);
        assert_eq!(p.tables, ["DeviceInfo", "EmailEvents"]);
        assert_eq!(p.lookback, chrono::Duration::days(30));
    }
}
