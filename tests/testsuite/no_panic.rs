//! No input makes xdrguard panic: arbitrary text through every parser users feed it.

use proptest::prelude::*;
use xdrguard::facts::FactsDocument;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::policy::load::load_policy_file;

/// YAML-ish text: the characters that steer a YAML/JSON parser, in random order.
fn yamlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\n".to_string()),
            Just("  ".to_string()),
            Just("- ".to_string()),
            Just(": ".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            Just("<<: ".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("|".to_string()),
            Just("id".to_string()),
            Just("violations".to_string()),
            Just("facts.x".to_string()),
            Just("{{ x }}".to_string()),
            "[a-z0-9 ._-]{0,8}",
            any::<char>().prop_map(String::from),
        ],
        0..64,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn policy_loading_never_panics(text in yamlish()) {
        let _ = load_policy_file(SourceFile::new("p.yaml", text));
    }

    #[test]
    fn facts_parsing_never_panics(text in yamlish()) {
        let _ = FactsDocument::parse(SourceFile::new("f.json", text));
    }

    #[test]
    fn policy_text_mutations_never_panic(cut in 0usize..2000, insert in yamlish()) {
        // A real policy with random text spliced in: reaches the schema, CEL and template stages.
        let base = std::fs::read_to_string("policies/XDR-CON-03.yaml").unwrap();
        let mut at = cut.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        let _ = load_policy_file(SourceFile::new("p.yaml", text));
    }
}
