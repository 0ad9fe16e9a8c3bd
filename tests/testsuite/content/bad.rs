//! Bad content: exit 3 with a diagnostic naming file, line and column; never a panic.

use super::*;

fn bad(dir: &Path, extra: &[&str]) -> String {
    let d = dir.to_str().unwrap();
    let mut args = vec![d, "--repo-root", d];
    args.extend_from_slice(extra);
    let (code, out, err) = scan_in(dir, &args);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn each_bad_fixture_names_its_place() {
    let base = root().join("tests/fixtures/content-bad");
    for (dir, want) in [
        // jsonc-parser reports a missing comma where it belongs: after the previous value.
        (
            "invalid-json",
            "BrokenRule.json:17:24: not valid JSON: Expected comma",
        ),
        (
            "not-arm",
            "NotATemplate.json:4:16: `resources` of a deploymentTemplate must be an array",
        ),
        (
            "deep-nesting",
            "DeepNesting.json:10:80: nesting deeper than 64 levels",
        ),
        ("bad-yaml", "BadIndent.yaml:8:2: invalid YAML"),
        (
            "bad-parameters",
            "Rule.parameters.json:6:16: not valid JSON",
        ),
    ] {
        let err = bad(&base.join(dir), &[]);
        assert!(err.contains(want), "{dir}: {err}");
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // 50 MB (sparse NUL bytes: read, they would be an encoding error; the size error comes
    // first, from the file's metadata).
    let f = std::fs::File::create(dir.path().join("Huge.json")).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    drop(f);
    let err = bad(dir.path(), &[]);
    assert!(
        err.contains("Huge.json:1:1: over the content size limit of 16 MiB (--max-file-size)"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut big = String::from("{\"contentVersion\": \"1.0.0.0\", \"resources\": [], \"x\": \"");
    big.push_str(&"a".repeat(200 * 1024));
    big.push_str("\"}");
    std::fs::write(dir.path().join("Big.json"), &big).unwrap();
    let err = bad(dir.path(), &["--max-file-size", "100KiB"]);
    assert!(
        err.contains("Big.json:1:1: over the content size limit of 100 KiB (--max-file-size)"),
        "{err}"
    );
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = scan_in(
        dir.path(),
        &[d, "--repo-root", d, "--max-file-size", "1MiB", "-q"],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn hostile_nesting_and_expressions_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Deep.json"), "[".repeat(100_000)).unwrap();
    let err = bad(dir.path(), &[]);
    assert!(
        err.contains("Deep.json:1:65: nesting deeper than 64 levels"),
        "{err}"
    );

    // An expression bomb and a variable that refers to itself are not bad input: the value
    // is unknown, and the control that reads it says so.
    let dir = tempfile::tempdir().unwrap();
    let bomb = format!("[{}'x'{}]", "concat(".repeat(10_000), ")".repeat(10_000));
    let template = serde_json::json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "variables": {"me": "[variables('me')]"},
        "resources": [{
            "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
            "name": "ws/Microsoft.SecurityInsights/11111111-2222-3333-4444-555555555555",
            "kind": "MicrosoftSecurityIncidentCreation",
            "properties": {
                "displayName": bomb,
                "enabled": "[variables('me')]",
                "productFilter": "Microsoft Defender Advanced Threat Protection"
            }
        }]
    });
    std::fs::write(dir.path().join("Bomb.json"), template.to_string()).unwrap();
    let (code, report, _) = scan_json(dir.path(), &[]);
    assert_eq!(code, 2);
    let f = finding(&report, "XDR-CON-03");
    assert_eq!(f["status"], "error");
    assert!(f["reason"].as_str().unwrap().contains("enabled of "), "{f}");
    assert!(
        f["reason"].as_str().unwrap().contains("[variables('me')]"),
        "{f}"
    );
}

#[test]
fn duplicate_keys_and_no_content_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dup.json"),
        "{\"contentVersion\": \"1.0.0.0\",\n \"resources\": [],\n \"resources\": []}",
    )
    .unwrap();
    let err = bad(dir.path(), &[]);
    assert!(
        err.contains("Dup.json:3:2: duplicate key `resources`"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# nothing").unwrap();
    let err = bad(dir.path(), &[]);
    assert!(err.contains("no Sentinel content under"), "{err}");
}

#[test]
fn a_rule_looking_yaml_with_a_wrong_type_is_bad_input_and_other_yaml_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rule.yaml"),
        "id: 5\nname: x\nkind: Scheduled\nquery: T\n",
    )
    .unwrap();
    let err = bad(dir.path(), &[]);
    assert!(
        err.contains("Rule.yaml:1:5: analytics rule `id` must be a string"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("workflow.yml"), "on: push\njobs: {}\n").unwrap();
    std::fs::write(dir.path().join("settings.json"), "{\"editor.tabSize\": 2}").unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = scan_in(dir.path(), &[d, "--repo-root", d, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: settings.json: not an ARM deploymentTemplate: skipped"),
        "{err}"
    );
}

/// JSON-ish text: the tokens that steer a template parser and the expression evaluator.
fn templateish() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"".to_string()),
            Just("\"resources\"".to_string()),
            Just("\"contentVersion\"".to_string()),
            Just("\"parameters\"".to_string()),
            Just("\"type\": \"Microsoft.SecurityInsights/alertRules\"".to_string()),
            Just("\"[concat(parameters('a'), variables('b').c[0])]\"".to_string()),
            Just("\"[format('{0}', ''x'')]\"".to_string()),
            Just("//".to_string()),
            Just("/*".to_string()),
            "[a-z0-9 ._-]{0,8}",
            any::<char>().prop_map(String::from),
        ],
        0..64,
    )
    .prop_map(|parts| parts.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

    /// Arbitrary text as a template and as its parameters file: content or a diagnostic,
    /// never a panic.
    #[test]
    fn no_template_text_panics(template in templateish(), params in templateish()) {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("T.json");
        std::fs::write(&t, &template).unwrap();
        std::fs::write(dir.path().join("T.parameters.json"), &params).unwrap();
        let opts = xdrguard::content::ScanOptions {
            repo_root: dir.path().to_path_buf(),
            max_file_size: xdrguard::content::DEFAULT_MAX_FILE_SIZE,
            max_files: xdrguard::content::DEFAULT_MAX_FILES,
            workspace_guid: None,
            target: Default::default(),
        };
        let _ = xdrguard::content::scan(&[xdrguard::content::select::Candidate::Json(t)], &opts);
    }
}
