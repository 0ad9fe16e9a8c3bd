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

/// The tables and look-back of the ingestion query.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionPlan {
    /// Every table a control reading `ingestion` lists, in catalog order, once each.
    pub tables: Vec<String>,
    /// The longest duration param of any control that reads `ingestion` (e.g. `max_age`,
    /// `window`): data older than the query's look-back would wrongly look absent.
    pub lookback: chrono::Duration,
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
        IngestionPlan { tables, lookback }
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
