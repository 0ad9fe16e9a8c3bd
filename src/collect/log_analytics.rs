//! The one Log Analytics query per audit: last record and row count per required table, plus
//! Defender-only rows of SecurityIncident and SecurityAlert, each with its daily row counts
//! of the last 14 days (`Daily`, zero-filled, oldest first, by `make-series`) for the
//! reports' ingestion charts. `union isfuzzy=true` keeps a missing table from failing the
//! query; the left joins keep a row for every required table.

use super::http::{CallError, ErrorCode};
use super::norm::int;
use crate::facts::sections::Ingestion;
use serde_json::{json, Value};

/// Shortest look-back of the query; callers may ask for longer.
pub const MIN_LOOKBACK_DAYS: i64 = 14;

/// Days of the daily series: today (so far) and the 13 days before it.
pub const DAILY_DAYS: usize = 14;

/// SecurityIncident.ProviderName values of incidents that come from Defender XDR.
pub const XDR_INCIDENT_PROVIDERS: &[&str] = &[
    "Microsoft XDR",
    "Microsoft 365 Defender",
    "Microsoft Defender XDR",
];
/// SecurityAlert.ProductName values of the products whose alerts Defender XDR carries
/// (learn.microsoft.com/azure/sentinel/microsoft-365-defender-sentinel-integration), matched
/// exactly. "Azure Active Directory Identity Protection" is the name Sentinel content and the
/// SecurityInsights alert-rule `productFilter` use for Entra ID Protection.
pub const DEFENDER_ALERT_PRODUCTS: &[&str] = &[
    "Microsoft 365 Defender",
    "Microsoft Defender XDR",
    "Microsoft Defender Advanced Threat Protection",
    "Office 365 Advanced Threat Protection",
    "Azure Advanced Threat Protection",
    "Microsoft Cloud App Security",
    "Azure Active Directory Identity Protection",
];
/// Products whose exact ProductName is not published (Purview Data Loss Prevention, Insider
/// Risk Management): matched with KQL `has`, so "Microsoft Data Loss Prevention" and
/// "Microsoft Purview …" spellings both count.
pub const DEFENDER_ALERT_PRODUCT_TERMS: &[&str] =
    &["Data Loss Prevention", "Insider Risk Management"];

fn kql_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The query; table names must be plain identifiers (they come from user config).
pub fn query(required_tables: &[String]) -> Result<String, CallError> {
    let mut tables: Vec<&str> = Vec::new();
    for t in required_tables {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(CallError::new(
                ErrorCode::InvalidTableName,
                format!("`{t}` is not a table name (letters, digits and _ only)"),
                None,
            ));
        }
        if t != "SecurityIncident" && t != "SecurityAlert" && !tables.contains(&t.as_str()) {
            tables.push(t);
        }
    }
    let incidents_filter = format!(
        "SecurityIncident | where ProviderName in~ ({})",
        kql_list(XDR_INCIDENT_PROVIDERS)
    );
    let alerts_filter = format!(
        "SecurityAlert | where ProductName in~ ({}){}",
        kql_list(DEFENDER_ALERT_PRODUCTS),
        DEFENDER_ALERT_PRODUCT_TERMS
            .iter()
            .map(|t| format!(" or ProductName has \"{t}\""))
            .collect::<String>()
    );
    // The series start at midnight UTC 13 days ago: 14 whole bins, today's the last.
    let mut parts = vec![format!(
        "let start = startofday(now()) - {}d;",
        DAILY_DAYS - 1
    )];
    let mut series_sources = vec![
        format!("({incidents_filter} | extend TableName=\"SecurityIncident\")"),
        format!("({alerts_filter} | extend TableName=\"SecurityAlert\")"),
    ];
    if !tables.is_empty() {
        let quoted = tables
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!(
            "let required = datatable(TableName:string)[{quoted}]\n\
             | join kind=leftouter (union withsource=TableName isfuzzy=true {}\n\
             | summarize LastReceived=max(TimeGenerated), Rows=count() by TableName) on TableName\n\
             | project TableName, LastReceived, Rows=coalesce(Rows, 0);",
            tables.join(", ")
        ));
        series_sources.push(format!(
            "(union withsource=TableName isfuzzy=true {})",
            tables.join(", ")
        ));
    }
    parts.push(format!(
        "let incidents = union isfuzzy=true ({incidents_filter})\n\
         | summarize LastReceived=max(TimeGenerated), Rows=count() | extend TableName=\"SecurityIncident\";"
    ));
    parts.push(format!(
        "let alerts = union isfuzzy=true ({alerts_filter})\n\
         | summarize LastReceived=max(TimeGenerated), Rows=count() | extend TableName=\"SecurityAlert\";"
    ));
    parts.push(format!(
        "let daily = union isfuzzy=true {}\n\
         | where TimeGenerated >= start\n\
         | make-series Daily=count() default=0 on TimeGenerated from start to start + {DAILY_DAYS}d step 1d by TableName\n\
         | project TableName, Daily;",
        series_sources.join(", ")
    ));
    let sources = if tables.is_empty() {
        "incidents, alerts"
    } else {
        "required, incidents, alerts"
    };
    parts.push(format!(
        "union {sources}\n| join kind=leftouter daily on TableName\n| project TableName, LastReceived, Rows, Daily"
    ));
    Ok(parts.join("\n"))
}

/// The request body; `lookback` (at least MIN_LOOKBACK_DAYS) becomes an ISO 8601 timespan.
pub fn body(query: &str, lookback: chrono::Duration) -> Value {
    json!({"query": query, "timespan": timespan(lookback)})
}

/// `P14D` for whole days, else `PT…S`; never shorter than the minimum.
pub fn timespan(lookback: chrono::Duration) -> String {
    let secs = lookback.num_seconds().max(MIN_LOOKBACK_DAYS * 86_400);
    if secs % 86_400 == 0 {
        format!("P{}D", secs / 86_400)
    } else {
        format!("PT{secs}S")
    }
}

/// Rows of the answer → ingestion facts. `None` (204) is no data.
pub fn ingestion(answer: Option<&Value>) -> Result<Vec<Ingestion>, CallError> {
    let Some(v) = answer else {
        return Ok(Vec::new());
    };
    if let Some(err) = v.get("error") {
        let code = err
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("PartialError");
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the query returned partial results");
        return Err(CallError::new(
            ErrorCode::Api(code.to_string()),
            format!("{msg} (partial results are not trusted)"),
            Some(200),
        ));
    }
    let table = v
        .get("tables")
        .and_then(Value::as_array)
        .and_then(|t| {
            t.iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("PrimaryResult"))
                .or(t.first())
        })
        .ok_or_else(|| CallError::malformed("query result has no table"))?;
    let columns = table
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(|| CallError::malformed("query result has no columns"))?;
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| CallError::malformed(format!("query result lacks column `{name}`")))
    };
    let (ti, li, ri) = (col("TableName")?, col("LastReceived")?, col("Rows")?);
    // An answer of the shape before the daily series has no `Daily`: no chart, no error.
    let di = col("Daily").ok();
    let rows = table
        .get("rows")
        .and_then(Value::as_array)
        .ok_or_else(|| CallError::malformed("query result has no rows"))?;
    rows.iter()
        .map(|row| ingestion_row(row, ti, li, ri, di))
        .collect()
}

/// One row: table name, last record (normalised to UTC), row count and daily counts, by
/// column index.
fn ingestion_row(
    row: &Value,
    ti: usize,
    li: usize,
    ri: usize,
    di: Option<usize>,
) -> Result<Ingestion, CallError> {
    let cells = row
        .as_array()
        .ok_or_else(|| CallError::malformed("a row is not a list"))?;
    let name = cells
        .get(ti)
        .and_then(Value::as_str)
        .ok_or_else(|| CallError::malformed("a row has no TableName"))?;
    let last = match cells.get(li) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| {
                CallError::malformed(format!("LastReceived `{s}` is not a date-time ({e})"))
            })?;
            Some(
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            )
        }
        Some(other) => {
            return Err(CallError::malformed(format!(
                "LastReceived {other} is not a date-time"
            )))
        }
    };
    let rows = match cells.get(ri) {
        None | Some(Value::Null) => 0,
        Some(v) => {
            int(v).ok_or_else(|| CallError::malformed(format!("Rows {v} is not a number")))?
        }
    };
    let daily = match di {
        None => None,
        Some(di) => Some(daily(cells.get(di))?),
    };
    Ok(Ingestion {
        table: name.to_string(),
        last_received: last,
        rows,
        daily,
    })
}

/// The `Daily` cell: a `dynamic` array of counts, sent as a JSON array or as the JSON text of
/// one (the API serialises `dynamic` values as strings; both readings are accepted). `null`
/// is what the left join gives a table with no record in the 14 days: all zeros.
fn daily(cell: Option<&Value>) -> Result<Vec<i64>, CallError> {
    let parsed;
    let items = match cell {
        None | Some(Value::Null) => return Ok(vec![0; DAILY_DAYS]),
        Some(Value::Array(a)) => a,
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|e| CallError::malformed(format!("Daily `{s}` is not JSON ({e})")))?;
            parsed
                .as_array()
                .ok_or_else(|| CallError::malformed(format!("Daily `{s}` is not a list")))?
        }
        Some(other) => return Err(CallError::malformed(format!("Daily {other} is not a list"))),
    };
    if items.len() != DAILY_DAYS {
        return Err(CallError::malformed(format!(
            "Daily has {} counts, not {DAILY_DAYS}",
            items.len()
        )));
    }
    items
        .iter()
        .map(|v| {
            int(v)
                .filter(|n| *n >= 0)
                .ok_or_else(|| CallError::malformed(format!("Daily count {v} is not a count")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_has_the_three_columns_and_rejects_injection() {
        let q = query(&["DeviceInfo".into(), "SecurityAlert".into()]).unwrap();
        assert!(q.contains("union withsource=TableName isfuzzy=true DeviceInfo\n"));
        assert!(q.contains("project TableName, LastReceived, Rows, Daily"));
        assert!(q.contains("make-series Daily=count() default=0 on TimeGenerated from start to start + 14d step 1d by TableName"), "{q}");
        assert!(
            q.contains("(union withsource=TableName isfuzzy=true DeviceInfo)"),
            "{q}"
        );
        assert!(query(&["X | take 1".into()]).is_err());
    }

    #[test]
    fn alerts_count_every_provider_defender_xdr_carries() {
        let q = query(&[]).unwrap();
        assert!(
            q.contains("\"Azure Active Directory Identity Protection\""),
            "{q}"
        );
        assert!(q.contains(" or ProductName has \"Data Loss Prevention\" or ProductName has \"Insider Risk Management\")"), "{q}");
    }

    #[test]
    fn timespans() {
        assert_eq!(timespan(chrono::Duration::days(7)), "P14D");
        assert_eq!(timespan(chrono::Duration::days(30)), "P30D");
        assert_eq!(timespan(chrono::Duration::hours(400)), "PT1440000S");
    }

    #[test]
    fn rows_parse_strings_and_nulls() {
        let v = json!({"tables":[{"name":"PrimaryResult","columns":[{"name":"TableName","type":"string"},{"name":"LastReceived","type":"datetime"},{"name":"Rows","type":"long"}],
            "rows":[["DeviceInfo","2026-11-27T08:00:00Z","12"],["EmailEvents",null,0]]}]});
        let out = serde_json::to_value(ingestion(Some(&v)).unwrap()).unwrap();
        assert_eq!(
            out,
            json!([{"table":"DeviceInfo","last_received":"2026-11-27T08:00:00Z","rows":12},{"table":"EmailEvents","last_received":null,"rows":0}])
        );
        assert!(ingestion(Some(
            &json!({"tables":[], "error": {"code":"PartialError","message":"x"}})
        ))
        .is_err());
        assert_eq!(ingestion(None).unwrap(), Vec::new());
    }

    #[test]
    fn daily_series_as_array_or_json_text_and_null_is_zeros() {
        let cols = json!([{"name":"TableName","type":"string"},{"name":"LastReceived","type":"datetime"},{"name":"Rows","type":"long"},{"name":"Daily","type":"dynamic"}]);
        let series: Vec<i64> = (0..14).collect();
        let v = json!({"tables":[{"name":"PrimaryResult","columns":cols,
            "rows":[["A","2026-11-27T08:00:00Z",91,series],["B",null,0,null],["C","2026-11-27T08:00:00Z","91",serde_json::to_string(&series).unwrap()]]}]});
        let out = ingestion(Some(&v)).unwrap();
        assert_eq!(out[0].daily.as_deref(), Some(&series[..]));
        assert_eq!(out[1].daily, Some(vec![0; 14]));
        assert_eq!(out[2].daily.as_deref(), Some(&series[..]));
        for bad in [
            json!([1, 2]),
            json!("[1,"),
            json!(7),
            json!((0..14).map(|i| i - 1).collect::<Vec<i64>>()),
        ] {
            let v = json!({"tables":[{"name":"PrimaryResult","columns":cols,"rows":[["A",null,0,bad]]}]});
            assert!(ingestion(Some(&v)).is_err(), "{v}");
        }
    }
}
