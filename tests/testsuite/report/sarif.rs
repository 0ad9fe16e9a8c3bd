//! SARIF output validates against the official SARIF 2.1.0 JSON schema (formats included),
//! for ordinary and hostile reports, so GitHub code scanning accepts the upload.

use serde_json::Value;
use xdrguard::outcome::sample;
use xdrguard::report::sarif;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/sarif-2.1.0.json"))
        .expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("SARIF schema compiles")
}

fn assert_valid(text: &str) {
    let v: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = validator()
        .iter_errors(&v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn mixed_report_is_valid_sarif() {
    assert_valid(&sarif::render(&sample::mixed()));
}

#[test]
fn hostile_report_is_valid_sarif() {
    assert_valid(&sarif::render(&sample::hostile()));
}

#[test]
fn empty_report_is_valid_sarif() {
    assert_valid(&sarif::render(&sample::report(vec![])));
}

#[test]
fn the_validator_rejects_broken_sarif() {
    // Guard: the schema really is enforced (a wrong version and a result without message).
    let mut v: Value = serde_json::from_str(&sarif::render(&sample::mixed())).unwrap();
    v["version"] = Value::from("2.0.0");
    v["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(validator().iter_errors(&v).count() >= 2);
}

#[test]
fn golden_mixed() {
    insta::assert_snapshot!(sarif::render(&sample::mixed()));
}
