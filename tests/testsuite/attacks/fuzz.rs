//! Class 7: the facts, policy, exceptions and fleet parsers on generated input, large inputs
//! included (deep nesting, megabyte strings, thousands of keys, valid documents with values
//! replaced by arbitrary JSON, byte-level mutations). Each must answer with a document or a
//! diagnostic, never a panic or a stack overflow; a facts document that loads reads back the
//! same after writing. A bounded number of cases runs in CI (`PROPTEST_CASES` raises it).

use proptest::prelude::*;
use serde_json::Value;
use xdrguard::facts::FactsDocument;
use xdrguard::fleet::Fleet;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::input::yaml;
use xdrguard::outcome::exceptions::Exceptions;
use xdrguard::policy::{load_catalog, load_policy_file, Catalog};

fn catalog() -> &'static Catalog {
    static C: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    C.get_or_init(|| load_catalog(&[], true).expect("the shipped catalog loads"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer of `v` (objects and arrays), in document order.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(o) => o.iter().for_each(|(k, c)| {
            pointers(
                c,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// Large inputs: deep nesting, a long string, many keys, repeated to megabytes.
fn large() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..200_000).prop_map(|n| "[".repeat(n)),
        (1usize..50_000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        (1usize..50_000).prop_map(|n| "- ".repeat(n) + "x"),
        (1usize..4_000_000).prop_map(|n| format!("{{\"s\": \"{}\"}}", "x".repeat(n))),
        (1usize..20_000).prop_map(|n| {
            let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\": {i}")).collect();
            format!("{{{}}}", keys.join(","))
        }),
        (1usize..20_000).prop_map(|n| "&a [*a, *a]\n".repeat(n)),
    ]
}

/// Load `text` as a fleet file (it reads a path: its config and exceptions are relative to it).
fn load_fleet(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.yaml");
    std::fs::write(&path, text).unwrap();
    let _ = Fleet::load(&path);
}

/// `text` with `edits` applied at byte offsets (replace one byte, keeping UTF-8 valid).
fn mutate(text: &str, edits: &[(usize, char)]) -> String {
    let mut s = text.to_string();
    for &(at, c) in edits {
        let mut i = at % s.len().max(1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        let end = s[i..].chars().next().map_or(i, |ch| i + ch.len_utf8());
        s.replace_range(i..end, &c.to_string());
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn large_inputs_never_panic_any_parser(text in large()) {
        let _ = FactsDocument::parse(SourceFile::new("f.json", text.clone()));
        let _ = load_policy_file(SourceFile::new("p.yaml", text.clone()));
        load_fleet(&text);
        if let Ok(doc) = yaml::parse(SourceFile::new("e.yaml", text)) {
            let _ = Exceptions::from_document(&doc, catalog());
        }
    }

    #[test]
    fn facts_with_any_value_replaced_load_or_are_refused(pick in any::<prop::sample::Index>(), v in json_value()) {
        let mut facts: Value = serde_json::from_str(&read("examples/snapshots/ready.json")).unwrap();
        let mut ps = Vec::new();
        pointers(&facts, String::new(), &mut ps);
        let p = pick.get(&ps).clone();
        match facts.pointer_mut(&p) {
            Some(slot) => *slot = v,
            None => unreachable!("a pointer of the document"),
        }
        let text = serde_json::to_string_pretty(&facts).unwrap();
        if let Ok(doc) = FactsDocument::parse(SourceFile::new("f.json", text)) {
            // What loads, writes and reads back the same.
            let again = serde_json::to_string_pretty(&doc).unwrap();
            let back = FactsDocument::parse(SourceFile::new("g.json", again)).expect("reads back");
            prop_assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&doc).unwrap());
        }
    }

    #[test]
    fn byte_mutations_of_valid_documents_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<char>()), 1..12)) {
        let facts = mutate(&read("examples/snapshots/ready.json"), &edits);
        let _ = FactsDocument::parse(SourceFile::new("f.json", facts));
        let policy = mutate(&read("policies/XDR-EVT-02.yaml"), &edits);
        let _ = load_policy_file(SourceFile::new("p.yaml", policy));
        load_fleet(&mutate(&read("examples/fleet/fleet.yaml"), &edits));
        let exceptions = mutate(&read("examples/exceptions.yaml"), &edits);
        if let Ok(doc) = yaml::parse(SourceFile::new("e.yaml", exceptions)) {
            let _ = Exceptions::from_document(&doc, catalog());
        }
    }

    #[test]
    fn any_duplicate_key_in_facts_is_refused(pick in any::<prop::sample::Index>()) {
        // Repeat one key of one object: the document must be refused, whichever it is.
        let text = serde_json::to_string_pretty(
            &serde_json::from_str::<Value>(&read("examples/snapshots/ready.json")).unwrap(),
        )
        .unwrap();
        let keys: Vec<(usize, usize)> = text
            .match_indices("\": ")
            .filter_map(|(end, _)| text[..end].rfind("\n").map(|l| (l + 1, end + 3)))
            .collect();
        let (start, after) = *pick.get(&keys);
        let line_end = text[after..].find('\n').map_or(text.len(), |i| after + i);
        let entry = text[start..line_end].trim_end_matches(',');
        // Only scalar entries (the whole entry is on its line).
        prop_assume!(!entry.ends_with('{') && !entry.ends_with('['));
        let dup = format!("{}{entry},\n{}", &text[..start], &text[start..]);
        let e = FactsDocument::parse(SourceFile::new("f.json", dup)).unwrap_err();
        prop_assert!(e.message.contains("duplicate key"), "{}", e.message);
    }
}

#[test]
fn the_fleet_example_loads() {
    Fleet::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/fleet/fleet.yaml"
    )))
    .expect("the shipped example is valid");
}

#[test]
fn the_exceptions_example_loads() {
    let doc = yaml::parse(SourceFile::new("e.yaml", read("examples/exceptions.yaml"))).unwrap();
    Exceptions::from_document(&doc, catalog()).expect("the shipped example is valid");
}
