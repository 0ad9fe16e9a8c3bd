//! Embeds every `policies/*.yaml` in the binary so xdrguard runs without the repo.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("policies");
    println!("cargo:rerun-if-changed=policies");
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("&[\n");
    for f in files {
        let abs = fs::canonicalize(&f).expect("policy path");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            f.display().to_string(),
            abs.display().to_string()
        ));
    }
    out.push(']');
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_policies.rs");
    fs::write(dest, out).expect("write builtin policy list");
}
