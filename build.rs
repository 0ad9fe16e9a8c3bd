//! Embeds every `policies/*.yaml` in the binary so xdrguard runs without the repo, and the
//! shipped policies' own test cases (`tests/policies/*.yaml`) with the example snapshots
//! they start from, so `xdrguard test` without a folder checks the installed binary anywhere.

use std::{env, fs, path::Path};

/// Write `OUT_DIR/out` as a Rust slice of (path, contents) of the `*.ext` files in `dir`.
fn embed(dir: &str, ext: &str, out: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut text = String::from("&[\n");
    for f in files {
        let abs = fs::canonicalize(&f).expect("embedded file path");
        text.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            f.display().to_string(),
            abs.display().to_string()
        ));
    }
    text.push(']');
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join(out);
    fs::write(dest, text).expect("write embedded file list");
}

fn main() {
    embed("policies", "yaml", "builtin_policies.rs");
    embed("tests/policies", "yaml", "builtin_policy_tests.rs");
    embed("examples/snapshots", "json", "builtin_snapshots.rs");
}
