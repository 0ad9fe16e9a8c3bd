//! Helpers shared by the integration tests (each test crate uses a part of them).
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;

/// Every control ID of the shipped catalog.
pub const CONTROLS: [&str; 27] = [
    "XDR-LIC-01",
    "XDR-LIC-02",
    "XDR-ID-01",
    "XDR-ID-02",
    "XDR-WS-01",
    "XDR-WS-02",
    "XDR-SOL-01",
    "XDR-SOL-02",
    "XDR-MDI-01",
    "XDR-MDI-02",
    "XDR-RBAC-01",
    "XDR-REQ-01",
    "XDR-CON-01",
    "XDR-CON-02",
    "XDR-CON-03",
    "XDR-CON-04",
    "XDR-ENT-01",
    "XDR-EVT-01",
    "XDR-EVT-02",
    "XDR-EVT-03",
    "XDR-ING-01",
    "XDR-ING-02",
    "XDR-USX-01",
    "XDR-USX-02",
    "XDR-USX-03",
    "XDR-USX-04",
    "XDR-USX-05",
];

/// A JSON report's results as control → status.
pub fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["results"]
        .as_array()
        .expect("a report has results")
        .iter()
        .map(|r| {
            (
                r["control"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
