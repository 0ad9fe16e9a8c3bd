//! Class 5: input files without end or with two meanings. `/dev/zero` and a FIFO (what
//! `<(…)` is) report no size, so only the limit while reading stops them, per kind (facts,
//! config, exceptions, policy), each naming its flag; a facts document of the size xdrguard
//! writes for a 200 000-rule tenant is read back; a duplicate key in JSON is refused at it.

use super::{run, xdrguard};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn ready_facts() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/snapshots/ready.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write_ready(dir: &Path) -> PathBuf {
    let p = dir.join("ready.json");
    std::fs::write(&p, serde_json::to_string_pretty(&ready_facts()).unwrap()).unwrap();
    p
}

fn xdrguard_in(dir: &Path, args: &[&str]) -> super::Outcome {
    xdrguard_for(dir, args, 60)
}

fn xdrguard_for(dir: &Path, args: &[&str], secs: u64) -> super::Outcome {
    let mut c = xdrguard();
    c.args(args);
    run(c, dir, Duration::from_secs(secs))
}

#[test]
fn devices_are_read_up_to_each_kind_s_limit() {
    let d = tempfile::tempdir().unwrap();
    let facts = write_ready(d.path());
    let facts = facts.to_str().unwrap();
    let policies = d.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    // Policy folders are listed for regular files only (a device or FIFO there is not
    // read), so the policy is a (sparse) regular file over the 16 MiB limit.
    let big = std::fs::File::create(policies.join("ACME-X-01.yaml")).unwrap();
    big.set_len(17 << 20).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["check", "--facts", "/dev/zero"], "--max-facts-bytes"),
        (
            &["check", "--facts", facts, "--config", "/dev/zero"],
            "--max-config-bytes",
        ),
        (
            &["check", "--facts", facts, "--exceptions", "/dev/zero"],
            "--max-exceptions-bytes",
        ),
        (
            &[
                "check",
                "--facts",
                facts,
                "--policies",
                policies.to_str().unwrap(),
            ],
            "--max-policy-bytes",
        ),
    ];
    for (args, flag) in cases {
        let out = xdrguard_in(d.path(), args);
        // The facts default (256 MiB) is read before it is refused; the others are 16 MiB.
        out.assert_bounded(3, 60, 700).assert_clean(&[]);
        assert!(
            out.stderr.contains("at most") && out.stderr.contains(flag),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = xdrguard_in(
        d.path(),
        &["check", "--facts", "/dev/zero", "--max-facts-bytes", "1MiB"],
    );
    out.assert_bounded(3, 30, 100);
    assert!(
        out.stderr.contains("at most 1048576 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_fifo_like_process_substitution_is_bounded() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("facts.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let block = vec![b' '; 1 << 16];
            // Until the reader hangs up (EPIPE).
            while f.write_all(&block).is_ok() {}
        })
    };
    let out = xdrguard_in(
        d.path(),
        &[
            "check",
            "--facts",
            fifo.to_str().unwrap(),
            "--max-facts-bytes",
            "8MiB",
        ],
    );
    out.assert_bounded(3, 30, 150).assert_clean(&[]);
    assert!(out.stderr.contains("more than 8388608"), "{}", out.stderr);
    writer.join().unwrap();
}

#[test]
fn facts_as_large_as_a_200k_rule_tenant_round_trip_through_check() {
    let d = tempfile::tempdir().unwrap();
    let mut facts = ready_facts();
    let rule = facts["sections"]["alert_rules"]["data"][0].clone();
    let rules: Vec<Value> = (0..200_000)
        .map(|i| {
            let mut r = rule.clone();
            r["name"] = json!(format!("{i:08x}-5cd7-4139-a149-9f2736ff2ab5"));
            r
        })
        .collect();
    facts["sections"]["alert_rules"]["data"] = Value::Array(rules);
    let p = d.path().join("big.json");
    // As `collect` writes it: pretty-printed.
    std::fs::write(&p, serde_json::to_string_pretty(&facts).unwrap()).unwrap();
    let size = std::fs::metadata(&p).unwrap().len();
    assert!(
        size > 80 << 20,
        "{size} bytes: as large as xdrguard writes for such a tenant"
    );
    // A debug build on a shared machine: the bound is generous; a release build takes seconds.
    let out = xdrguard_for(
        d.path(),
        &["check", "--facts", p.to_str().unwrap(), "--format", "json"],
        300,
    );
    out.assert_bounded(0, 300, 2048);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "compliant");
}

#[test]
fn a_duplicate_key_in_json_is_refused_at_its_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let text = serde_json::to_string_pretty(&ready_facts()).unwrap();
    // The second `cloud` would silently win.
    let dup = text.replacen(
        "\"cloud\": \"public\",",
        "\"cloud\": \"public\",\n    \"cloud\": \"usgov\",",
        1,
    );
    assert_ne!(dup, text);
    let line = dup.lines().position(|l| l.contains("usgov")).unwrap() + 1;
    let p = d.path().join("dup.json");
    std::fs::write(&p, &dup).unwrap();
    let out = xdrguard_in(d.path(), &["check", "--facts", p.to_str().unwrap()]);
    out.assert_bounded(3, 30, 200).assert_clean(&[]);
    let at = format!("dup.json:{line}:");
    assert!(
        out.stderr.contains(&at) && out.stderr.contains("duplicate key `cloud`"),
        "{}",
        out.stderr
    );
    // The same in a JSON report given as a baseline.
    let ready = write_ready(d.path());
    let ready = ready.to_str().unwrap();
    let report = xdrguard_in(d.path(), &["check", "--facts", ready, "--format", "json"]);
    let dup = report.stdout.replacen(
        "\"verdict\"",
        "\"verdict\": \"compliant\",\n  \"verdict\"",
        1,
    );
    let b = d.path().join("baseline.json");
    std::fs::write(&b, dup).unwrap();
    let out = xdrguard_in(
        d.path(),
        &["check", "--facts", ready, "--baseline", b.to_str().unwrap()],
    );
    out.assert_bounded(3, 30, 200);
    assert!(
        out.stderr.contains("duplicate key `verdict`"),
        "{}",
        out.stderr
    );
}
