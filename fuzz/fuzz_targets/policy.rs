//! One policy file: any bytes load (schema, CEL, templates) or are diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrguard::input::diagnostic::SourceFile;
use xdrguard::policy::load_policy_file;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = load_policy_file(SourceFile::new("p.yaml", text.as_ref()));
});
