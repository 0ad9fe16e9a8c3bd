//! An exceptions file, checked against the shipped catalog: a value or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::input::yaml;
use xdrguard::outcome::exceptions::Exceptions;
use xdrguard::policy::{load_catalog, Catalog};

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| load_catalog(&[], true).expect("the shipped catalog loads"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(doc) = yaml::parse(SourceFile::new("e.yaml", text.as_ref())) {
        let _ = Exceptions::from_document(&doc, catalog());
    }
});
