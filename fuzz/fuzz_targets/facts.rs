//! A facts document (`check --facts`): any bytes load or are a diagnostic, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrguard::facts::FactsDocument;
use xdrguard::input::diagnostic::SourceFile;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(doc) = FactsDocument::parse(SourceFile::new("f.json", text.as_ref())) {
        // What loads, writes and reads back.
        let again = serde_json::to_string(&doc).expect("facts serialise");
        FactsDocument::parse(SourceFile::new("g.json", again)).expect("facts read back");
    }
});
