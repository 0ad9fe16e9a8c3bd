//! Golden files (insta) for every format over a report built in code with one finding of
//! every status; `generated_at` and the tool version are fixed, so output is deterministic.
//! The CLI goldens over the example snapshots are in `report_examples.rs`.

use xdrguard::outcome::sample;
use xdrguard::report::{csv, html, json, junit, markdown, sarif};

#[test]
fn json() {
    insta::assert_snapshot!(json::render(&sample::mixed()));
}

#[test]
fn junit() {
    insta::assert_snapshot!(junit::render(&sample::mixed()));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(markdown::render(&sample::mixed()));
}

#[test]
fn csv() {
    insta::assert_snapshot!(csv::render(&sample::mixed()));
}

#[test]
fn html() {
    insta::assert_snapshot!(html::render(&sample::mixed()));
}

#[test]
fn rendering_is_deterministic() {
    let r = sample::mixed();
    for render in [
        json::render,
        junit::render,
        markdown::render,
        csv::render,
        html::render,
        sarif::render,
    ] {
        assert_eq!(render(&r), render(&r));
    }
}

#[test]
fn json_report_validates_against_its_schema() {
    for r in [sample::mixed(), sample::hostile()] {
        let v: serde_json::Value = serde_json::from_str(&json::render(&r)).unwrap();
        assert_eq!(
            xdrguard::input::schema::validate(xdrguard::input::schema::Kind::Report, &v),
            vec![]
        );
    }
}
