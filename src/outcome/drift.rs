//! Drift between two JSON reports: what newly fails, what was resolved, what changed status,
//! and whose evidence changed. Findings are matched by their [`Fingerprint`] (control +
//! scope), never by display names. Rendering is `report::drift`'s.
//!
//! A *regression* (exit 1 from `diff`) is: a control that now fails and did not before (or is
//! new and failing), a failing control with new offending items, or a passing control that can
//! no longer be evaluated (pass → error: the guarantee is gone).

use super::fingerprint::Fingerprint;
use super::{Report, Verdict};
use crate::model::{Evidence, Finding, Severity, Status};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use strum::{Display, IntoStaticStr};

/// The kind of a change; serialised in snake_case, shown in words (`newly failing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum ChangeKind {
    /// Fails now; did not fail (or did not exist) before.
    #[strum(serialize = "newly failing")]
    NewlyFailing,
    /// Failed before; passes now.
    Resolved,
    /// Any other status change (e.g. fail → waived, pass → error, skipped → pass).
    #[strum(serialize = "status changed")]
    StatusChanged,
    /// Same status, different evidence.
    #[strum(serialize = "evidence changed")]
    EvidenceChanged,
    /// Only in the old report (e.g. control removed or profile changed), and did not fail.
    Removed,
    /// Only in the new report, and does not fail.
    Added,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One control whose outcome differs between the two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub control: String,
    pub title: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    /// Offending items present now and not before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence_added: Vec<Evidence>,
    /// Offending items present before and not now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence_removed: Vec<Evidence>,
    /// Whether this change makes `diff` exit 1.
    pub regression: bool,
}

/// What two reports should share to be compared and do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, IntoStaticStr)]
pub enum MismatchKind {
    #[strum(serialize = "workspaces")]
    Workspace,
    #[strum(serialize = "tenants")]
    Tenant,
    #[strum(serialize = "profiles")]
    Profile,
    #[strum(serialize = "--fail-on thresholds")]
    FailOn,
}

/// One way the two reports are not of the same audit: `diff` still compares them, but says
/// so first, since the changes it lists then describe the mix-up rather than the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub old: String,
    pub new: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let consequence = match self.kind {
            MismatchKind::Workspace => {
                "findings are matched per workspace, so every control shows as removed and added"
            }
            MismatchKind::Tenant => "they describe different organizations",
            MismatchKind::Profile => {
                "controls outside one of the profiles show as added or removed"
            }
            MismatchKind::FailOn => "their verdicts are judged against different thresholds",
        };
        write!(
            f,
            "the reports are of different {} (old {}, new {}): {consequence}",
            self.kind, self.old, self.new
        )
    }
}

/// How `old` and `new` differ in what they audited and how.
fn mismatches(old: &Report, new: &Report) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut differ = |kind, o: &str, n: &str, same: bool| {
        if !same {
            out.push(Mismatch {
                kind,
                old: o.to_string(),
                new: n.to_string(),
            });
        }
    };
    let (ow, nw) = (&old.target.workspace_id, &new.target.workspace_id);
    // ARM resource IDs are case-insensitive.
    differ(MismatchKind::Workspace, ow, nw, ow.eq_ignore_ascii_case(nw));
    if let (Some(ot), Some(nt)) = (&old.target.tenant_id, &new.target.tenant_id) {
        differ(MismatchKind::Tenant, ot, nt, ot.eq_ignore_ascii_case(nt));
    }
    let (op, np) = (old.profile.as_str(), new.profile.as_str());
    differ(MismatchKind::Profile, op, np, op == np);
    let (of, nf) = (old.fail_on.as_str(), new.fail_on.as_str());
    differ(MismatchKind::FailOn, of, nf, of == nf);
    out
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub old_generated_at: chrono::DateTime<chrono::Utc>,
    pub new_generated_at: chrono::DateTime<chrono::Utc>,
    /// When each report's facts were collected (absent in reports that did not record it).
    pub old_collected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub new_collected_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How the two reports are not of the same audit (workspace, tenant, profile, threshold).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<Mismatch>,
    pub old_verdict: Verdict,
    pub new_verdict: Verdict,
    pub regressed: bool,
    pub changes: Vec<Change>,
}

/// Evidence identity: the item's ID and what is wrong with it.
fn evidence_key(e: &Evidence) -> (&str, &str) {
    (e.id.as_str(), e.detail.as_str())
}

fn minus(a: &[Evidence], b: &[Evidence]) -> Vec<Evidence> {
    a.iter()
        .filter(|e| !b.iter().any(|o| evidence_key(o) == evidence_key(e)))
        .cloned()
        .collect()
}

fn change(kind: ChangeKind, old: Option<&Finding>, new: Option<&Finding>) -> Change {
    let f = new.or(old).expect("one side exists");
    let empty: &[Evidence] = &[];
    let old_ev = old.map_or(empty, |o| o.evidence.as_slice());
    let new_ev = new.map_or(empty, |n| n.evidence.as_slice());
    let evidence_added = minus(new_ev, old_ev);
    let evidence_removed = minus(old_ev, new_ev);
    let regression = match kind {
        ChangeKind::NewlyFailing => true,
        ChangeKind::EvidenceChanged => {
            new.is_some_and(|n| n.status == Status::Fail) && !evidence_added.is_empty()
        }
        ChangeKind::StatusChanged => {
            old.is_some_and(|o| o.status == Status::Pass)
                && new.is_some_and(|n| n.status == Status::Error)
        }
        _ => false,
    };
    Change {
        kind,
        control: f.control.clone(),
        title: f.title.clone(),
        severity: f.severity,
        scope: f.scope.clone(),
        old_status: old.map(|o| o.status),
        new_status: new.map(|n| n.status),
        evidence_added,
        evidence_removed,
        regression,
    }
}

/// Compare `old` with `new`.
pub fn diff(old: &Report, new: &Report) -> Drift {
    let old_by: HashMap<Fingerprint, &Finding> = old
        .results
        .iter()
        .map(|f| (Fingerprint::of(f, &old.target), f))
        .collect();
    let mut seen = HashSet::new();
    let mut changes = Vec::new();
    for n in &new.results {
        let key = Fingerprint::of(n, &new.target);
        seen.insert(key.clone());
        let o = old_by.get(&key).copied();
        let kind = match o {
            None if n.status == Status::Fail => Some(ChangeKind::NewlyFailing),
            None => Some(ChangeKind::Added),
            Some(o) if o.status == n.status => {
                let differs = !minus(&n.evidence, &o.evidence).is_empty()
                    || !minus(&o.evidence, &n.evidence).is_empty();
                differs.then_some(ChangeKind::EvidenceChanged)
            }
            Some(_) if n.status == Status::Fail => Some(ChangeKind::NewlyFailing),
            Some(o) if o.status == Status::Fail && n.status == Status::Pass => {
                Some(ChangeKind::Resolved)
            }
            Some(_) => Some(ChangeKind::StatusChanged),
        };
        if let Some(kind) = kind {
            changes.push(change(kind, o, Some(n)));
        }
    }
    for o in &old.results {
        if !seen.contains(&Fingerprint::of(o, &old.target)) {
            let kind = if o.status == Status::Fail {
                ChangeKind::Resolved
            } else {
                ChangeKind::Removed
            };
            changes.push(change(kind, Some(o), None));
        }
    }
    changes.sort_by(|a, b| {
        (a.kind, std::cmp::Reverse(a.severity), &a.control).cmp(&(
            b.kind,
            std::cmp::Reverse(b.severity),
            &b.control,
        ))
    });
    Drift {
        old_generated_at: old.generated_at,
        new_generated_at: new.generated_at,
        old_collected_at: old.facts_collected_at,
        new_collected_at: new.facts_collected_at,
        mismatches: mismatches(old, new),
        old_verdict: old.verdict,
        new_verdict: new.verdict,
        regressed: changes.iter().any(|c| c.regression),
        changes,
    }
}

impl Drift {
    /// Exit code of `diff`: 1 when anything regressed, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.regressed)
    }

    /// How many changes are regressions.
    pub fn regressions(&self) -> usize {
        self.changes.iter().filter(|c| c.regression).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample::{finding, report};

    fn ev(id: &str) -> Evidence {
        Evidence {
            id: id.into(),
            name: String::new(),
            detail: "bad".into(),
        }
    }

    #[test]
    fn classifies_each_kind_of_change() {
        let mut o_ev = finding("XDR-E-01", Status::Fail);
        o_ev.evidence = vec![ev("a")];
        let mut n_ev = o_ev.clone();
        n_ev.evidence = vec![ev("a"), ev("b")];
        let old = report(vec![
            finding("XDR-N-01", Status::Pass),
            finding("XDR-R-01", Status::Fail),
            finding("XDR-S-01", Status::Pass),
            o_ev,
            finding("XDR-U-01", Status::Pass),
            finding("XDR-G-01", Status::Fail),
        ]);
        let new = report(vec![
            finding("XDR-N-01", Status::Fail),
            finding("XDR-R-01", Status::Pass),
            finding("XDR-S-01", Status::Error),
            n_ev,
            finding("XDR-U-01", Status::Pass),
            finding("XDR-A-01", Status::Skipped),
        ]);
        let d = diff(&old, &new);
        let got: Vec<(&str, ChangeKind, bool)> = d
            .changes
            .iter()
            .map(|c| (c.control.as_str(), c.kind, c.regression))
            .collect();
        assert_eq!(
            got,
            [
                ("XDR-N-01", ChangeKind::NewlyFailing, true),
                ("XDR-G-01", ChangeKind::Resolved, false),
                ("XDR-R-01", ChangeKind::Resolved, false),
                ("XDR-S-01", ChangeKind::StatusChanged, true),
                ("XDR-E-01", ChangeKind::EvidenceChanged, true),
                ("XDR-A-01", ChangeKind::Added, false),
            ]
        );
        assert_eq!(d.changes[4].evidence_added, vec![ev("b")]);
        assert!(d.regressed);
        assert_eq!(d.exit_code(), 1);
    }

    #[test]
    fn reports_of_different_audits_are_named() {
        let old = report(vec![finding("XDR-A-01", Status::Pass)]);
        let mut new = old.clone();
        assert!(diff(&old, &new).mismatches.is_empty());
        new.target.workspace_id = new.target.workspace_id.to_uppercase();
        assert!(
            diff(&old, &new).mismatches.is_empty(),
            "IDs are case-insensitive"
        );
        new.target.workspace_id.push_str("-other");
        new.target.tenant_id = Some("00000000-0000-0000-0000-00000000000b".into());
        new.profile = crate::model::Profile::PreOnboarding;
        let kinds: Vec<MismatchKind> = diff(&old, &new).mismatches.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MismatchKind::Workspace,
                MismatchKind::Tenant,
                MismatchKind::Profile
            ]
        );
        let profile = &diff(&old, &new).mismatches[2];
        assert_eq!(
            profile.to_string(),
            "the reports are of different profiles (old full, new pre-onboarding): controls outside one of the profiles show as added or removed"
        );
    }

    #[test]
    fn identical_reports_have_no_drift_and_improvements_exit_0() {
        let r = report(vec![finding("XDR-A-01", Status::Fail)]);
        let d = diff(&r, &r);
        assert!(d.changes.is_empty());
        assert_eq!(d.exit_code(), 0);
        let fixed = report(vec![finding("XDR-A-01", Status::Pass)]);
        assert_eq!(diff(&r, &fixed).exit_code(), 0);
        let waived = {
            let mut w = finding("XDR-A-01", Status::Waived);
            w.original_status = Some(Status::Fail);
            report(vec![w])
        };
        // An expired waiver turns waived back into fail: that is newly failing.
        assert_eq!(diff(&waived, &r).changes[0].kind, ChangeKind::NewlyFailing);
    }
}
