//! Evaluator semantics users rely on: fail closed, dependencies, visible policy bugs.

use xdrguard::eval::{evaluate, Profile};
use xdrguard::facts::FactsDocument;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::model::{Finding, Status};
use xdrguard::policy::template::TEMPLATE_ERROR;
use xdrguard::policy::{Catalog, ValidConfig};

fn policy(id: &str, reads: &str, depends: &str, violations: &str, fail_msg: &str) -> SourceFile {
    SourceFile::new(
        format!("{id}.yaml"),
        format!(
            "id: {id}\ntitle: t\nstage: connector\nseverity: high\ndescription: d\nrationale: r\nreads: {reads}\ndepends_on: {depends}\nviolations: \"{violations}\"\nmessages:\n  pass: ok\n  fail: '{fail_msg}'\nremediation:\n  summary: s\n  steps:\n    - note: n\n  docs: [https://learn.microsoft.com/]\n"
        ),
    )
}

fn facts() -> FactsDocument {
    FactsDocument::parse(SourceFile::new(
        "f.json",
        r#"{"schema_version": 1, "collected_at": "2026-11-20T00:00:00Z",
            "target": {"workspace_id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"},
            "sections": {
              "alert_rules": {"data": [{"id": "r1", "name": "r1", "kind": "Scheduled", "enabled": true}]},
              "tables": {"data": [{"name": "DeviceInfo", "plan": "Analytics"}]},
              "licenses": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges", "status": 403,
                            "permission": "Organization.Read.All", "grant": "grant it"}}
            }}"#,
    ))
    .unwrap()
}

fn run(sources: Vec<SourceFile>) -> Vec<Finding> {
    let catalog = Catalog::from_sources(sources).unwrap();
    evaluate(
        &catalog,
        &ValidConfig::defaults(&catalog),
        &facts(),
        Profile::Full,
    )
}

fn find<'a>(fs: &'a [Finding], id: &str) -> &'a Finding {
    fs.iter().find(|f| f.control == id).unwrap()
}

#[test]
fn an_unreadable_section_is_error_naming_the_permission_never_pass() {
    let fs = run(vec![policy("T-A-01", "[licenses]", "[]", "[]", "x")]);
    let f = find(&fs, "T-A-01");
    assert_eq!(f.status, Status::Error);
    let reason = f.reason.as_deref().unwrap();
    assert!(
        reason.contains("Organization.Read.All") && reason.contains("403"),
        "{reason}"
    );
}

#[test]
fn a_missing_section_is_error() {
    let fs = run(vec![policy("T-A-01", "[settings]", "[]", "[]", "x")]);
    assert_eq!(find(&fs, "T-A-01").status, Status::Error);
}

#[test]
fn expressions_see_only_the_sections_they_declare() {
    // Reading an undeclared section by index cannot bypass the fail-closed check.
    let fs = run(vec![policy(
        "T-A-01",
        "[tables]",
        "[]",
        "size(facts['alert_rules']) > 0 ? [] : ['x']",
        "x",
    )]);
    assert_eq!(find(&fs, "T-A-01").status, Status::Error);
}

#[test]
fn dependants_of_a_failure_are_skipped_transitively_with_the_root_named() {
    let fs = run(vec![
        policy(
            "T-A-01",
            "[alert_rules]",
            "[]",
            "facts.alert_rules.map(r, r.id)",
            "x",
        ),
        policy("T-A-02", "[tables]", "[T-A-01]", "[]", "x"),
        policy("T-A-03", "[tables]", "[T-A-02]", "[]", "x"),
        policy("T-A-04", "[tables]", "[]", "[]", "x"),
    ]);
    assert_eq!(find(&fs, "T-A-01").status, Status::Fail);
    assert_eq!(find(&fs, "T-A-01").evidence[0].id, "r1");
    assert_eq!(
        find(&fs, "T-A-02").reason.as_deref(),
        Some("blocked by T-A-01 (fail)")
    );
    assert_eq!(
        find(&fs, "T-A-03").reason.as_deref(),
        Some("blocked by T-A-01 (fail, via T-A-02)")
    );
    assert_eq!(find(&fs, "T-A-04").status, Status::Pass);
}

#[test]
fn a_template_that_cannot_render_is_flagged_not_hidden() {
    let fs = run(vec![policy(
        "T-A-01",
        "[alert_rules]",
        "[]",
        "facts.alert_rules.map(r, r.id)",
        "{{ no_such_var }}",
    )]);
    let f = find(&fs, "T-A-01");
    assert_eq!(f.status, Status::Fail);
    assert!(f.message.contains(TEMPLATE_ERROR), "{}", f.message);
}

#[test]
fn an_expression_that_fails_at_run_time_is_error() {
    let fs = run(vec![policy(
        "T-A-01",
        "[alert_rules]",
        "[]",
        "facts.alert_rules.map(r, r.no_such_field)",
        "x",
    )]);
    let f = find(&fs, "T-A-01");
    assert_eq!(f.status, Status::Error);
    assert!(
        f.reason.as_deref().unwrap().contains("violations"),
        "{:?}",
        f.reason
    );
}
