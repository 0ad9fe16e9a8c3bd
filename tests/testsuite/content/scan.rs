//! The fixture repository scanned alone (no live facts): what content can and cannot judge.

use super::*;
use crate::common::statuses;

const WS: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/{workspace}";

fn si(kind: &str, name: &str) -> String {
    format!("{WS}/providers/Microsoft.SecurityInsights/{kind}/{name}")
}

#[test]
fn every_control_status_and_every_finding_location() {
    let (code, report, err) = scan_json(&fixture(), &[]);
    assert_eq!(code, 1, "{err}");
    let s = statuses(&report);
    for c in [
        "XDR-LIC-01",
        "XDR-LIC-02",
        "XDR-ID-01",
        "XDR-ID-02",
        "XDR-WS-01",
        "XDR-WS-02",
        "XDR-MDI-01",
        "XDR-MDI-02",
        "XDR-RBAC-01",
        "XDR-REQ-01",
        "XDR-EVT-02",
        "XDR-ING-01",
        "XDR-ING-02",
    ] {
        assert_eq!(s[c], "skipped", "{c}");
        let reason = finding(&report, c)["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("not in content: the scanned content has no "),
            "{c}: {reason}"
        );
    }
    // Controls that also need what content cannot declare (the tenant, the catalog, the
    // workspace's default retention).
    for (c, needs) in [
        ("XDR-CON-01", "subscription"),
        ("XDR-SOL-02", "content_catalog"),
        ("XDR-EVT-03", "workspace"),
    ] {
        assert_eq!(s[c], "skipped", "{c}");
        let reason = finding(&report, c)["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(&format!("not in content: needs {needs}")),
            "{c}: {reason}"
        );
    }
    assert_eq!(s["XDR-SOL-01"], "pass");

    // Two enabled incident creation rules for Defender products: the one enabled by its
    // parameters file and the one enabled by the default parameters file. The disabled one,
    // the Scheduled rule and the YAML rules (no enabled state; probed both ways: not an
    // incident creation rule either way) are not evidence.
    assert_eq!(s["XDR-CON-03"], "fail");
    assert_eq!(
        evidence(&report, "XDR-CON-03"),
        vec![
            (
                si("alertRules", "microsoftSecurityIncidentCreationRuleExample"),
                "AnalyticsRules/CloudAppsIncidents.json:17:5".to_string()
            ),
            (
                si("alertRules", "2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46"),
                "AnalyticsRules/DefenderEndpointIncidents.json:17:5".to_string()
            ),
        ]
    );
    assert!(finding(&report, "XDR-CON-03")["notes"]
        .as_array()
        .is_none_or(|n| n.is_empty()));

    assert_eq!(s["XDR-CON-04"], "fail");
    assert_eq!(
        evidence(&report, "XDR-CON-04"),
        vec![(
            si("dataConnectors", "06b3ccb8-1384-4bcc-aec7-852f6d57161b"),
            "DataConnectors/MicrosoftDefenderAdvancedThreatProtection.json:10:5".to_string()
        )]
    );

    assert_eq!(s["XDR-ENT-01"], "fail");
    assert_eq!(
        evidence(&report, "XDR-ENT-01"),
        vec![(
            si("settings", "EntityAnalytics"),
            "Settings/EntityAnalytics.json:10:5".to_string()
        )]
    );
    let ent = &finding(&report, "XDR-ENT-01")["evidence"][0]["detail"];
    assert!(
        ent.as_str().unwrap().contains("lack ActiveDirectory"),
        "{ent}"
    );

    // The Basic-plan table fails; the 19 required tables the content does not declare are a
    // note (judged only with live facts), never a failure.
    assert_eq!(s["XDR-EVT-01"], "fail");
    assert_eq!(
        evidence(&report, "XDR-EVT-01"),
        vec![(
            "IdentityLogonEvents".to_string(),
            "Tables/DefenderTables.json:27:5".to_string()
        )]
    );
    let notes = finding(&report, "XDR-EVT-01")["notes"].to_string();
    assert!(
        notes.contains("19 item(s) the workspace must have but the content does not declare"),
        "{notes}"
    );

    // The connector's alert filter is `[reference(…)]`: CON-02 cannot be decided, and says
    // which expression, where.
    assert_eq!(s["XDR-CON-02"], "error");
    let reason = finding(&report, "XDR-CON-02")["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("depends on a value xdrguard could not resolve"),
        "{reason}"
    );
    assert!(reason.contains("filtered_alert_providers"), "{reason}");
    assert!(reason.contains("[reference(resourceId('Microsoft.Resources/deployments', 'xdr-alert-filters'), '2022-09-01').outputs.filteredProviders.value]"), "{reason}");
    assert!(
        reason.contains("DataConnectors/MicrosoftThreatProtection.json:26:21"),
        "{reason}"
    );

    // Automation rules keyed on fields that change in the Defender portal (the title; the
    // provider name inside a Boolean condition).
    assert_eq!(s["XDR-USX-02"], "fail");
    assert_eq!(
        evidence(&report, "XDR-USX-02"),
        vec![
            (
                // The catalog's XDR-USX-02 names the offending condition (rule ID # JSON pointer).
                si("automationRules", "4f2b8c1d-7e3a-4b5c-9d6e-0a1b2c3d4e5f")
                    + "#/conditions/0/conditionProperties/innerConditions/0",
                "AutomationRules/NestedProviderCondition.json:10:5".to_string()
            ),
            (
                si("automationRules", "85f2eac9-43f1-480e-b8ad-473375c195c0") + "#/conditions/0",
                "AutomationRules/TitlePhishingTriage.json:10:5".to_string()
            ),
        ]
    );
    assert_eq!(s.len(), 27, "every control of the catalog");

    // What was read but not judged is said, each file named.
    for note in [
        "note: Bicep/DefenderConnector.bicep: Bicep is not parsed: compile it with `az bicep build --file Bicep/DefenderConnector.bicep` (or `bicep build Bicep/DefenderConnector.bicep`)",
        "note: Workbooks/DefenderIncidents.json:15: Microsoft.Insights/workbooks not judged",
        "note: Playbooks/Notify-Teams/azuredeploy.json:11: Microsoft.Logic/workflows not judged",
        "note: AnalyticsRules/CloudAppsIncidents.parameters-5b02755b-5bf4-430c-9487-45502a2a7e62.json: not used: no workspace ID given",
    ] {
        assert!(err.contains(note), "{note}\n{err}");
    }
    assert_eq!(err.matches("note: ").count(), 4, "{err}");
    // 13 JSON templates (parameters files are not templates) + 2 YAML rules.
    assert!(
        err.contains(
            "scanned 15 content file(s): 13 item(s), 2 automation rule(s), 1 content template(s)"
        ),
        "{err}"
    );
}

#[test]
fn a_workspace_specific_parameters_file_wins_and_is_not_merged() {
    let (_, report, err) = scan_json(
        &fixture(),
        &["--workspace-id", "5b02755b-5bf4-430c-9487-45502a2a7e62"],
    );
    let ids: Vec<String> = evidence(&report, "XDR-CON-03")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        vec![si("alertRules", "2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46")]
    );
    assert!(!err.contains("not used"), "{err}");
}

#[test]
fn without_its_parameters_file_a_rule_falls_back_to_the_default_value() {
    let dir = copy_fixture();
    std::fs::remove_file(
        dir.path()
            .join("AnalyticsRules/DefenderEndpointIncidents.parameters.json"),
    )
    .unwrap();
    let (_, report, _) = scan_json(dir.path(), &[]);
    let ids: Vec<String> = evidence(&report, "XDR-CON-03")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        vec![si(
            "alertRules",
            "microsoftSecurityIncidentCreationRuleExample"
        )]
    );
}

#[test]
fn a_deployment_target_gives_full_ids_but_not_the_tenant() {
    let ws = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/contoso-soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";
    let (_, report, _) = scan_json(&fixture(), &["--workspace", ws]);
    for (id, _) in evidence(&report, "XDR-CON-03") {
        assert!(
            id.starts_with(&format!(
                "{ws}/providers/Microsoft.SecurityInsights/alertRules/"
            )),
            "{id}"
        );
    }
    assert_eq!(statuses(&report)["XDR-CON-01"], "skipped");
    assert_eq!(report["target"]["workspace_id"], ws);
}

#[test]
fn sarif_is_valid_and_names_the_located_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("x.sarif");
    let spec = format!("sarif={}", sarif.display());
    let (code, _, _) = scan_json(&fixture(), &["--report", &spec]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/sarif-2.1.0.json")).unwrap();
    let v = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let text = doc.to_string();
    assert!(
        text.contains("AnalyticsRules/DefenderEndpointIncidents.json:17:5"),
        "the message names the line"
    );
}

#[test]
fn github_annotations_land_on_the_offending_lines() {
    let d = fixture();
    let d = d.to_str().unwrap();
    let (code, out, _) = scan_in(
        &fixture(),
        &[d, "--repo-root", d, "--annotations", "-o", "/dev/null"],
    );
    assert_eq!(code, 1);
    assert!(out.contains("::error file=AnalyticsRules/DefenderEndpointIncidents.json,line=17,col=5,title=XDR-CON-03 (high)::"), "{out}");
    assert!(out.contains("::warning file=DataConnectors/MicrosoftDefenderAdvancedThreatProtection.json,line=10,col=5,title=XDR-CON-04 (low)::"), "{out}");
    assert!(
        out.contains("::warning title=XDR-CON-02 could not be evaluated::depends on a value"),
        "{out}"
    );
    assert!(
        out.contains("::notice file=Bicep/DefenderConnector.bicep::Bicep is not parsed"),
        "{out}"
    );
    // One command a line: messages are escaped.
    for line in out.lines() {
        assert!(line.starts_with("::"), "{line}");
    }
}

#[test]
fn table_and_markdown_name_path_and_line() {
    let d = fixture();
    let d = d.to_str().unwrap();
    for format in ["table", "markdown", "junit"] {
        let (_, out, _) = scan_in(&fixture(), &[d, "--repo-root", d, "--format", format]);
        assert!(
            out.contains("AnalyticsRules/DefenderEndpointIncidents.json:17:5"),
            "{format}:\n{out}"
        );
    }
}

/// The Azure-Sentinel YAML format has no enabled state: a Scheduled rule is probed both
/// ways and is no incident creation rule either way, so CON-03 passes (never an error).
#[test]
fn a_yaml_rule_alone_is_decided_by_probing() {
    let (code, report, err) = scan_json(&fixture().join("AnalyticsRules/YAML"), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(statuses(&report)["XDR-CON-03"], "pass");
}

/// An automation rule whose conditions are an ARM expression xdrguard cannot resolve never
/// reaches the `automation_rules` facts, so XDR-USX-02 cannot `pass` over it: it is `error`,
/// naming the rule and where it is (fail closed).
#[test]
fn an_unresolvable_automation_rule_makes_usx_02_error_not_pass() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture().join("AutomationRules/TitlePhishingTriage.json"))
        .unwrap();
    let mut t: Value = serde_json::from_str(&text).unwrap();
    let logic = &mut t["resources"][0]["properties"]["triggeringLogic"];
    logic["conditions"] = Value::String(
        "[reference(resourceId('Microsoft.Resources/deployments', 'conds'), '2022-09-01').outputs.conditions.value]".into(),
    );
    t["resources"][0]["properties"]["displayName"] = "Conditions from a deployment".into();
    std::fs::write(
        dir.path().join("Rule.json"),
        serde_json::to_string_pretty(&t).unwrap(),
    )
    .unwrap();
    let (code, report, err) = scan_json(dir.path(), &[]);
    let f = finding(&report, "XDR-USX-02");
    assert_eq!(f["status"], "error", "{f}\n{err}");
    let reason = f["reason"].as_str().unwrap();
    assert!(
        reason.contains("Conditions from a deployment") && reason.contains("Rule.json:"),
        "{reason}"
    );
    assert_eq!(code, 2, "{err}");
}
