//! The fleet report (`schemas/fleet-report.schema.json`): one row per target (verdict,
//! readiness score, status of every control, or why it could not be audited), the controls
//! ranked by how widely they fail, and the fleet's exit code, the worst of its targets'.
//! Built from per-target [`Report`]s by `fleet`, and from fleet or per-target JSON reports
//! by `merge`, the same way, so a merge of shards equals the unsharded run.

use crate::facts::ToolInfo;
use crate::model::{Severity, Status};
use crate::outcome::{Report, Summary};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A target's outcome: the verdict of its report, or `error` when it could not be audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum TargetVerdict {
    Compliant,
    Violations,
    Incomplete,
    /// No report: sign-in failed, nothing was reachable, or the time limit passed.
    Error,
}

/// One target of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub name: String,
    pub workspace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub verdict: TargetVerdict,
    /// The exit code a single `audit` of this target would have had.
    pub exit_code: u8,
    /// pass ÷ (pass + fail + error + waived), in percent; none without a report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Why the target could not be audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Control → status, in catalog order; empty without a report.
    #[serde(default)]
    pub results: IndexMap<String, Status>,
}

impl TargetRow {
    /// The row of an audited target.
    pub fn of_report(name: &str, r: &Report) -> TargetRow {
        TargetRow {
            name: name.to_string(),
            workspace_id: r.target.workspace_id.clone(),
            tenant_id: r.target.tenant_id.clone(),
            verdict: match r.verdict {
                crate::outcome::Verdict::Compliant => TargetVerdict::Compliant,
                crate::outcome::Verdict::Violations => TargetVerdict::Violations,
                crate::outcome::Verdict::Incomplete => TargetVerdict::Incomplete,
            },
            exit_code: r.exit_code,
            score: crate::report::html::readiness_score(r),
            summary: Some(r.summary.clone()),
            cause: None,
            results: r
                .results
                .iter()
                .map(|f| (f.control.clone(), f.status))
                .collect(),
        }
    }

    /// The row of a target that could not be audited, with the exit code its audit had.
    pub fn failed(name: &str, workspace_id: &str, exit_code: u8, cause: String) -> TargetRow {
        TargetRow {
            name: name.to_string(),
            workspace_id: workspace_id.to_string(),
            tenant_id: None,
            verdict: TargetVerdict::Error,
            exit_code,
            score: None,
            summary: None,
            cause: Some(cause),
            results: IndexMap::new(),
        }
    }
}

/// What the fleet report says of a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlInfo {
    pub control: String,
    pub title: String,
    pub severity: Severity,
}

impl ControlInfo {
    pub fn new(control: &str, title: &str, severity: Severity) -> ControlInfo {
        ControlInfo {
            control: control.to_string(),
            title: title.to_string(),
            severity,
        }
    }
}

/// A control across the fleet: how many targets fail it, and which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRow {
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub fail: usize,
    pub error: usize,
    pub pass: usize,
    /// The targets where it fails, by name.
    pub failing: Vec<String>,
}

/// Targets per verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    pub targets: usize,
    pub compliant: usize,
    pub violations: usize,
    pub incomplete: usize,
    pub error: usize,
}

/// The whole fleet, as every fleet format renders it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    pub tool: ToolInfo,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub catalog_version: String,
    /// The verdict of the worst target (by exit code, 3 > 1 > 2 > 0).
    pub verdict: TargetVerdict,
    pub exit_code: u8,
    pub summary: FleetSummary,
    /// Sorted by name.
    pub targets: Vec<TargetRow>,
    /// Most widely failing first (then most errors, then severity, then ID).
    pub controls: Vec<ControlRow>,
}

/// How bad an exit code is: 3 (bad input) > 1 (violations) > 2 (could not evaluate) > 0.
pub fn rank(exit_code: u8) -> u8 {
    match exit_code {
        0 => 0,
        2 => 1,
        1 => 2,
        _ => 3,
    }
}

impl FleetReport {
    /// The report over `targets`; `controls` gives each control's title and severity, in
    /// catalog order (controls no row has are left out).
    pub fn new(
        mut targets: Vec<TargetRow>,
        controls: &[ControlInfo],
        catalog_version: String,
        generated_at: chrono::DateTime<chrono::Utc>,
    ) -> FleetReport {
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut summary = FleetSummary {
            targets: targets.len(),
            ..FleetSummary::default()
        };
        for t in &targets {
            *match t.verdict {
                TargetVerdict::Compliant => &mut summary.compliant,
                TargetVerdict::Violations => &mut summary.violations,
                TargetVerdict::Incomplete => &mut summary.incomplete,
                TargetVerdict::Error => &mut summary.error,
            } += 1;
        }
        let worst = targets.iter().max_by_key(|t| rank(t.exit_code));
        let (verdict, exit_code) =
            worst.map_or((TargetVerdict::Compliant, 0), |t| (t.verdict, t.exit_code));
        let mut rows: Vec<ControlRow> = controls
            .iter()
            .filter(|c| targets.iter().any(|t| t.results.contains_key(&c.control)))
            .map(|c| control_row(c, &targets))
            .collect();
        rows.sort_by(|a, b| {
            (b.fail, b.error, b.severity)
                .cmp(&(a.fail, a.error, a.severity))
                .then_with(|| a.control.cmp(&b.control))
        });
        FleetReport {
            tool: ToolInfo::current(),
            generated_at,
            catalog_version,
            verdict,
            exit_code,
            summary,
            targets,
            controls: rows,
        }
    }
}

fn control_row(c: &ControlInfo, targets: &[TargetRow]) -> ControlRow {
    let of = |s: Status| {
        targets
            .iter()
            .filter(move |t| t.results.get(&c.control) == Some(&s))
    };
    ControlRow {
        control: c.control.clone(),
        title: c.title.clone(),
        severity: c.severity,
        fail: of(Status::Fail).count(),
        error: of(Status::Error).count(),
        pass: of(Status::Pass).count(),
        failing: of(Status::Fail).map(|t| t.name.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, exit: u8, results: &[(&str, Status)]) -> TargetRow {
        let mut r = TargetRow::failed(name, "/w", exit, String::new());
        r.verdict = match exit {
            0 => TargetVerdict::Compliant,
            1 => TargetVerdict::Violations,
            2 => TargetVerdict::Incomplete,
            _ => TargetVerdict::Error,
        };
        r.results = results.iter().map(|(c, s)| (c.to_string(), *s)).collect();
        r
    }

    fn info(id: &str, severity: Severity) -> ControlInfo {
        ControlInfo {
            control: id.into(),
            title: id.into(),
            severity,
        }
    }

    #[test]
    fn worst_exit_code_and_widest_failure_first() {
        let now = chrono::Utc::now();
        let controls = [info("A", Severity::Critical), info("B", Severity::Low)];
        let t = vec![
            row("z", 2, &[("A", Status::Error), ("B", Status::Fail)]),
            row("a", 0, &[("A", Status::Pass), ("B", Status::Pass)]),
            row("m", 1, &[("A", Status::Pass), ("B", Status::Fail)]),
        ];
        let r = FleetReport::new(t.clone(), &controls, "v".into(), now);
        assert_eq!((r.exit_code, r.verdict), (1, TargetVerdict::Violations));
        assert_eq!(
            r.targets
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "m", "z"]
        );
        assert_eq!(r.controls[0].control, "B");
        assert_eq!(r.controls[0].failing, ["m", "z"]);
        let mut t3 = t;
        t3.push(row("bad", 3, &[]));
        assert_eq!(
            FleetReport::new(t3, &controls, "v".into(), now).exit_code,
            3
        );
        let only2 = vec![row("z", 2, &[]), row("a", 0, &[])];
        assert_eq!(
            FleetReport::new(only2, &controls, "v".into(), now).exit_code,
            2
        );
    }
}
