//! Exceptions (waivers) with an owner, a justification and an expiry date.
//!
//! Keyed on control ID and an optional scope that is an ID (tenant GUID or workspace resource
//! ID), never a display name, so renaming a workspace cannot silently widen a waiver. A waived
//! finding keeps its original status and evidence beside the exception; an expired exception
//! stops waiving and the report says so.

use crate::facts::Target;
use crate::input::codes::ExceptionsCode;
use crate::input::diagnostic::InputError;
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input};
use crate::input::schema::{self, Violation};
use crate::input::yaml::Document;
use crate::model::{Finding, Status, Waiver};
use crate::policy::Catalog;
use chrono::NaiveDate;
use serde::Deserialize;
use std::path::Path;

/// An exception expiring within this many days is called out in the report's warnings.
pub const EXPIRY_NOTICE_DAYS: i64 = 14;

/// One entry of the `exceptions` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub control: String,
    pub scope: Option<String>,
    pub justification: String,
    pub owner: String,
    pub ticket: Option<String>,
    /// Last day the exception applies (inclusive).
    pub expires: NaiveDate,
}

impl Exception {
    fn waiver(&self) -> Waiver {
        Waiver {
            justification: self.justification.clone(),
            owner: self.owner.clone(),
            ticket: self.ticket.clone(),
            expires: self.expires,
            scope: self.scope.clone(),
        }
    }

    /// How warnings name the entry: its position in the file, its control and scope.
    fn label(&self, file: &str, index: usize) -> String {
        let scope = self
            .scope
            .as_deref()
            .map(|s| format!(" (scope {s})"))
            .unwrap_or_default();
        format!(
            "{file}: exception #{} for {}{scope}",
            index + 1,
            self.control
        )
    }

    /// Whether this exception covers `finding` of a run about `target`.
    fn matches(&self, finding: &Finding, target: &Target) -> bool {
        if finding.control != self.control {
            return false;
        }
        let Some(scope) = &self.scope else {
            return true;
        };
        let same = |s: &str| s.eq_ignore_ascii_case(scope);
        target.tenant_id.as_deref().is_some_and(same)
            || finding.scope.as_deref().is_some_and(same)
            || same(&target.workspace_id)
    }
}

/// A loaded exceptions file.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    /// Path as given, for warnings.
    pub file: String,
    pub entries: Vec<Exception>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    exceptions: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    control: String,
    #[serde(default)]
    scope: Option<String>,
    justification: String,
    owner: String,
    #[serde(default)]
    ticket: Option<String>,
    expires: String,
}

impl Input for RawFile {
    const SCHEMA: schema::Kind = schema::Kind::Exceptions;
    const NAME: &'static str = "exceptions file";

    fn codes() -> Codes {
        Codes {
            schema: ExceptionsCode::Schema.into(),
            shape: ExceptionsCode::Shape.into(),
        }
    }

    fn schema_help(v: &Violation) -> &'static str {
        if v.pointer.ends_with("/scope") {
            "scope is an ID: the tenant ID (GUID) or the workspace resource ID \
             (/subscriptions/…/workspaces/…), never a display name, which can change"
        } else {
            "each exception needs control, justification (10+ characters), owner and \
             expires (YYYY-MM-DD); scope, if any, is a tenant ID or a workspace resource ID"
        }
    }
}

impl Exceptions {
    /// Read and check an exceptions file against its schema and the catalog.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Exceptions, InputError> {
        load::file(path, InputKind::Exceptions, |doc, raw| {
            Self::check(doc, raw, catalog)
        })
    }

    /// Check a parsed document: schema, then meaning (known control IDs, real dates,
    /// no two entries for the same control and scope). All problems are returned together.
    pub fn from_document(doc: &Document, catalog: &Catalog) -> Result<Exceptions, InputError> {
        load::document(doc, |doc, raw| Self::check(doc, raw, catalog)).map_err(load::merged)
    }

    /// The meaning of the entries: known control IDs, real dates, no two for one control and scope.
    fn check(
        doc: &Document,
        raw: RawFile,
        catalog: &Catalog,
    ) -> Result<Exceptions, Vec<InputError>> {
        let mut errors = Vec::new();
        let mut entries: Vec<Exception> = Vec::new();
        for (i, r) in raw.exceptions.into_iter().enumerate() {
            let base = format!("/exceptions/{i}");
            if catalog.get(&r.control).is_none() {
                errors.push(
                    doc.error_at(
                        ExceptionsCode::UnknownControl,
                        &format!("{base}/control"),
                        format!("unknown control ID `{}`", r.control),
                    )
                    .label("not a control")
                    .help("run `xdrguard controls` for the known IDs"),
                );
            }
            let expires = match NaiveDate::parse_from_str(&r.expires, "%Y-%m-%d") {
                Ok(d) => d,
                Err(e) => {
                    errors.push(
                        doc.error_at(
                            ExceptionsCode::Date,
                            &format!("{base}/expires"),
                            format!("`{}` is not a date: {e}", r.expires),
                        )
                        .label("not a date")
                        .help("write the last day the exception applies as YYYY-MM-DD"),
                    );
                    continue;
                }
            };
            let e = Exception {
                control: r.control,
                scope: r.scope,
                justification: r.justification,
                owner: r.owner,
                ticket: r.ticket,
                expires,
            };
            let same_key = |o: &Exception| {
                o.control == e.control
                    && o.scope.as_deref().map(str::to_ascii_lowercase)
                        == e.scope.as_deref().map(str::to_ascii_lowercase)
            };
            if let Some(j) = entries.iter().position(same_key) {
                errors.push(
                    doc.error_at(
                        ExceptionsCode::Duplicate,
                        &base,
                        format!(
                            "a second exception for {} with the same scope (the first is #{})",
                            e.control,
                            j + 1
                        ),
                    )
                    .label("duplicate")
                    .help(
                        "keep one entry per control and scope, so it is clear which expiry applies",
                    ),
                );
            }
            entries.push(e);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Exceptions {
            file: doc.file.path.clone(),
            entries,
        })
    }

    /// Expired and soon-expiring entries, as `lint` reports them.
    pub fn expiry_warnings(&self, today: NaiveDate) -> Vec<String> {
        let mut out = Vec::new();
        for (i, ex) in self.entries.iter().enumerate() {
            let label = ex.label(&self.file, i);
            let left = (ex.expires - today).num_days();
            if left < 0 {
                out.push(format!(
                    "{label} expired on {} (owner: {})",
                    ex.expires, ex.owner
                ));
            } else if left < EXPIRY_NOTICE_DAYS {
                out.push(format!(
                    "{label} expires on {} ({left} day(s) left; owner: {})",
                    ex.expires, ex.owner
                ));
            }
        }
        out
    }

    /// Which findings each live exception waives, in file order (an entry sees what earlier
    /// entries waived), and the warnings about expired, soon-expiring and unmatched entries.
    /// Decides only: [`crate::outcome::Gate`] applies the waivers.
    pub fn decide(&self, findings: &[Finding], target: &Target, today: NaiveDate) -> Decision {
        let mut status: Vec<Status> = findings.iter().map(|f| f.status).collect();
        let mut decision = Decision {
            waivers: vec![None; findings.len()],
            warnings: Vec::new(),
        };
        for (i, ex) in self.entries.iter().enumerate() {
            let label = ex.label(&self.file, i);
            if ex.expires < today {
                decision.warnings.push(format!(
                    "{label} expired on {}; it no longer waives anything (owner: {})",
                    ex.expires, ex.owner
                ));
                continue;
            }
            let covered: Vec<usize> = (0..findings.len())
                .filter(|&k| ex.matches(&findings[k], target))
                .collect();
            let targets: Vec<usize> = covered
                .iter()
                .copied()
                .filter(|&k| matches!(status[k], Status::Fail | Status::Error))
                .collect();
            if targets.is_empty() {
                let passing: Vec<&str> = covered.iter().map(|&k| status[k].as_str()).collect();
                let what = if passing.is_empty() {
                    "no finding of this run".to_string()
                } else {
                    format!(
                        "no fail or error finding ({} is {})",
                        ex.control,
                        passing.join(", ")
                    )
                };
                decision.warnings.push(format!(
                    "{label} matches {what}; remove it if it is no longer needed"
                ));
                continue;
            }
            for k in targets {
                status[k] = Status::Waived;
                decision.waivers[k] = Some(ex.waiver());
            }
            let left = (ex.expires - today).num_days();
            if left < EXPIRY_NOTICE_DAYS {
                decision.warnings.push(format!(
                    "{label} expires on {} ({left} day(s) left; owner: {})",
                    ex.expires, ex.owner
                ));
            }
        }
        decision
    }
}

/// What the exceptions decide for one run's findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// One slot per finding: the waiver that now covers it, if any.
    pub waivers: Vec<Option<Waiver>>,
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::sample::{finding, report, TENANT, WORKSPACE};
    use crate::outcome::{Gate, Verdict};

    fn ex(control: &str, scope: Option<&str>, expires: &str) -> Exception {
        Exception {
            control: control.into(),
            scope: scope.map(Into::into),
            justification: "accepted until the E5 rollout".into(),
            owner: "secops@contoso.com".into(),
            ticket: Some("SEC-1".into()),
            expires: day(expires),
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// Judge `findings` with these exceptions as of `today`: findings, warnings, verdict.
    fn judge(
        entries: Vec<Exception>,
        mut findings: Vec<Finding>,
        today: &str,
    ) -> (Vec<Finding>, Vec<String>, Verdict) {
        let gate = Gate {
            exceptions: Some(Exceptions {
                file: "exceptions.yaml".into(),
                entries,
            }),
            ..Gate::threshold(crate::model::Severity::Low)
        };
        let target = report(vec![]).target;
        let warnings = gate.judge(&mut findings, &target, day(today));
        let verdict = Verdict::of(&findings, gate.fail_on);
        (findings, warnings, verdict)
    }

    #[test]
    fn live_exception_waives_and_keeps_original_status_and_evidence() {
        let fail = finding("XDR-A-01", Status::Fail);
        let evidence = fail.evidence.clone();
        let (fs, warnings, verdict) = judge(
            vec![ex("XDR-A-01", None, "2026-12-31")],
            vec![fail],
            "2026-06-01",
        );
        let f = &fs[0];
        assert_eq!(f.status, Status::Waived);
        assert_eq!(f.original_status, Some(Status::Fail));
        assert_eq!(f.evidence, evidence);
        assert_eq!(f.waiver.as_ref().unwrap().expires, day("2026-12-31"));
        assert_eq!(verdict.exit_code(), 0);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn expiry_is_inclusive_and_judged_against_the_injected_clock() {
        let entries = || vec![ex("XDR-A-01", None, "2026-03-31")];
        let fail = || vec![finding("XDR-A-01", Status::Fail)];
        let (fs, warnings, _) = judge(entries(), fail(), "2026-03-31");
        assert_eq!(fs[0].status, Status::Waived);
        assert!(warnings[0].contains("expires on 2026-03-31 (0 day(s) left"));

        let (fs, warnings, verdict) = judge(entries(), fail(), "2026-04-01");
        assert_eq!(fs[0].status, Status::Fail);
        assert!(fs[0].waiver.is_none());
        assert_eq!(verdict.exit_code(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("expired on 2026-03-31"));
    }

    #[test]
    fn unmatched_and_passing_exceptions_are_warned_about() {
        let (fs, warnings, _) = judge(
            vec![
                ex("XDR-A-01", None, "2027-01-01"),
                ex("XDR-B-01", None, "2027-01-01"),
            ],
            vec![finding("XDR-A-01", Status::Pass)],
            "2026-01-01",
        );
        assert_eq!(fs[0].status, Status::Pass);
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("XDR-A-01 is pass"), "{}", warnings[0]);
        assert!(warnings[1].contains("#2 for XDR-B-01 matches no finding"));
    }

    #[test]
    fn a_later_entry_sees_what_an_earlier_one_waived() {
        let (fs, warnings, _) = judge(
            vec![
                ex("XDR-A-01", None, "2027-01-01"),
                ex("XDR-A-01", Some(TENANT), "2027-01-01"),
            ],
            vec![finding("XDR-A-01", Status::Fail)],
            "2026-01-01",
        );
        assert_eq!(fs[0].waiver.as_ref().unwrap().scope, None);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("#2 for XDR-A-01 (scope"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[0].contains("XDR-A-01 is waived"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn scope_matches_tenant_or_workspace_ids_case_insensitively() {
        for (scope, waived) in [
            (TENANT.to_uppercase(), true),
            (WORKSPACE.to_lowercase(), true),
            ("00000000-0000-0000-0000-000000000000".to_string(), false),
        ] {
            let (fs, warnings, verdict) = judge(
                vec![ex("XDR-A-01", Some(&scope), "2027-01-01")],
                vec![finding("XDR-A-01", Status::Error)],
                "2026-01-01",
            );
            assert_eq!(fs[0].status == Status::Waived, waived, "{scope}");
            if waived {
                assert_eq!(fs[0].original_status, Some(Status::Error));
                assert_eq!(verdict.exit_code(), 0);
            } else {
                assert_eq!(verdict.exit_code(), 2);
                assert!(warnings[0].contains("matches no finding"));
            }
        }
    }
}
