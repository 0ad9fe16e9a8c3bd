//! Reports built in code for reporter tests: one of every status, and a hostile one whose
//! every text field carries markup, formula and delimiter payloads. Not part of the API.

use crate::facts::Target;
use crate::model::*;
use crate::outcome::{Report, Summary, Verdict};

pub const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law-sentinel";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// A payload that breaks HTML, Markdown, CSV and spreadsheets if it is not escaped.
pub const HOSTILE: &str = "=HYPERLINK(\"http://x\")<script>alert(1)</script><img src=x onerror=alert(2)> | **b** [l](javascript:alert(3)) </details>\n\"q\",c -->{{ 7*7 }}";

/// A fixed, plausible finding of `control` with `status`.
pub fn finding(control: &str, status: Status) -> Finding {
    let (reason, message) = match status {
        Status::Pass => (None, format!("{control} holds.")),
        Status::Fail => (None, format!("{control} is violated by 1 item.")),
        Status::Error => (
            Some(
                "section `licenses` could not be read: 403 Forbidden (needs Organization.Read.All)"
                    .to_string(),
            ),
            "facts could not be read; the control cannot be evaluated".to_string(),
        ),
        Status::Skipped => (
            Some("blocked by XDR-WS-02: XDR-WS-02 failed".to_string()),
            "blocked by XDR-WS-02: XDR-WS-02 failed".to_string(),
        ),
        Status::Waived => (None, format!("{control} is violated by 1 item.")),
    };
    Finding {
        control: control.into(),
        title: format!("Title of {control}"),
        severity: Severity::High,
        stage: Stage::Connector,
        status,
        original_status: None,
        message,
        reason,
        evidence: if status == Status::Fail {
            vec![Evidence {
                id: WORKSPACE.into(),
                name: "law-sentinel".into(),
                detail: "not connected".into(),
            }]
        } else {
            vec![]
        },
        notes: vec![],
        remediation: Remediation {
            summary: format!("Fix {control}."),
            steps: vec![
                RemediationStep {
                    kind: StepKind::Portal,
                    text: "Microsoft Defender portal > Settings > Microsoft Sentinel".into(),
                },
                RemediationStep {
                    kind: StepKind::Cli,
                    text: "az rest --method put --url https://management.azure.com/x".into(),
                },
            ],
            docs: vec![
                "https://learn.microsoft.com/azure/sentinel/connect-microsoft-365-defender".into(),
            ],
        },
        scope: Some(WORKSPACE.into()),
        policy_file: Some(format!("policies/{control}.yaml")),
        waiver: None,
        baseline: None,
        blocked_by: (status == Status::Skipped).then(|| "XDR-WS-02".into()),
    }
}

/// A report over `findings`, generated at a fixed instant, summary and verdict computed.
pub fn report(findings: Vec<Finding>) -> Report {
    let fail_on = Severity::Low;
    let verdict = Verdict::of(&findings, fail_on);
    Report {
        tool: crate::facts::ToolInfo {
            name: "xdrguard".into(),
            version: "0.0.0-test".into(),
        },
        name: None,
        catalog_version: None,
        generated_at: "2026-01-15T08:00:00Z".parse().expect("fixed instant"),
        facts_collected_at: Some("2026-01-15T07:59:00Z".parse().expect("fixed instant")),
        profile: Profile::Full,
        fail_on,
        target: Target {
            workspace_id: WORKSPACE.into(),
            tenant_id: Some(TENANT.into()),
            cloud: Some("public".into()),
            operator: None,
            redacted: false,
        },
        verdict,
        exit_code: verdict.exit_code(),
        summary: Summary::of(&findings),
        results: findings,
        warnings: vec![],
        defender_portal: None,
        since_previous: None,
        ingestion: vec![],
    }
}

/// One finding of every status, over all stages and severities.
pub fn mixed() -> Report {
    let mut pass = finding("XDR-WS-02", Status::Pass);
    pass.stage = Stage::Prerequisite;
    pass.severity = Severity::Critical;
    let mut fail = finding("XDR-CON-03", Status::Fail);
    fail.severity = Severity::High;
    let mut error = finding("XDR-LIC-01", Status::Error);
    error.stage = Stage::Prerequisite;
    error.severity = Severity::Medium;
    let skipped = finding("XDR-VER-01", Status::Skipped);
    let mut skipped = Finding {
        stage: Stage::Verification,
        severity: Severity::Low,
        ..skipped
    };
    skipped.notes = vec!["a note that does not change the status".into()];
    let mut waived = finding("XDR-CON-05", Status::Fail);
    waived.status = Status::Waived;
    waived.original_status = Some(Status::Fail);
    waived.severity = Severity::Medium;
    waived.waiver = Some(Waiver {
        justification: "accepted until the E5 rollout completes".into(),
        owner: "secops@contoso.com".into(),
        ticket: Some("SEC-1234".into()),
        expires: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a real date"),
        scope: Some(TENANT.into()),
    });
    let mut r = report(vec![pass, fail, error, skipped, waived]);
    r.warnings = vec!["exceptions.yaml: exception #2 for XDR-X-01 matches no finding of this run; remove it if it is no longer needed".into()];
    r
}

/// Every text field of every finding, and of the target, set to [`HOSTILE`].
pub fn hostile() -> Report {
    let mut r = mixed();
    let h = || HOSTILE.to_string();
    r.target.operator = Some(h());
    r.target.workspace_id = h();
    r.warnings = vec![h()];
    for f in &mut r.results {
        f.title = h();
        f.message = h();
        f.reason = f.reason.as_ref().map(|_| h());
        f.evidence = vec![Evidence {
            id: h(),
            name: h(),
            detail: h(),
        }];
        f.notes = vec![h()];
        f.scope = Some(h());
        f.policy_file = Some(h());
        f.remediation = Remediation {
            summary: h(),
            steps: vec![RemediationStep {
                kind: StepKind::Note,
                text: h(),
            }],
            docs: vec![h()],
        };
        if let Some(w) = &mut f.waiver {
            w.justification = h();
            w.owner = h();
            w.ticket = Some(h());
        }
    }
    r
}
