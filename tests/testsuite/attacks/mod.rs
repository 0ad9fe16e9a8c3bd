//! The attack suite: the release binary against hostile servers (the fake Microsoft with the
//! attack as its behaviour, or a raw loopback server where wiremock cannot misbehave enough:
//! endless bodies, endless pages) and hostile input files. Every attack asserts the bound it
//! must stay within (wall time, the child's peak RSS, its `VmHWM`, requests), the exact exit
//! code, and that no secret and no raw control character reaches any output: stdout, stderr
//! (the `-vv` log), every report format and the facts.
//!
//! Each class has several variants (other fields, other APIs, inside `$batch`), see the files:
//! `secrets`, `panics`, `limits`, `escapes`, `inputs`; `fuzz` runs the parsers on generated
//! input.

mod escapes;
mod fuzz;
mod inputs;
mod limits;
mod panics;
mod raw_server;
mod secrets;

use crate::fake_microsoft::{Fake, TOKEN};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What one run of the binary produced and cost.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size of the child, in KiB (its `VmHWM`).
    pub peak_rss_kib: i64,
    /// Every file the run wrote into its directory (reports, facts), by name.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The binary, no credential variables and no colour.
pub fn xdrguard() -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("xdrguard"));
    for v in crate::fake_microsoft::FOREIGN_ENV {
        c.env_remove(v);
    }
    c.env_remove("XDRGUARD_ACCESS_TOKEN");
    c.env("NO_COLOR", "1");
    c
}

/// Run `cmd` to its end (killed after `limit`, which fails the attack), stdout and stderr to
/// files of `dir`, and measure it.
pub fn run(mut cmd: std::process::Command, dir: &Path, limit: Duration) -> Outcome {
    let out = dir.join("stdout.txt");
    let err = dir.join("stderr.txt");
    cmd.stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .stdin(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn xdrguard");
    let (status, peak_rss_kib) = wait(&mut child, started, limit);
    let elapsed = started.elapsed();
    let code = status
        .code()
        .unwrap_or_else(|| -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0));
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| n != "stdout.txt" && n != "stderr.txt")
        .map(|(n, p)| (n, std::fs::read(p).unwrap()))
        .collect();
    Outcome {
        code,
        stdout: read(&out),
        stderr: read(&err),
        elapsed,
        peak_rss_kib,
        files,
    }
}

/// Wait for `pid` (polling, so a run over `limit` is killed: an attack that hangs must fail,
/// not hang the suite); its wait status and peak RSS in KiB.
///
/// The peak is the child's own `VmHWM` (a high-water mark, so any reading holds the peak so
/// far), read every few milliseconds while it runs: `ru_maxrss` from `wait4` cannot serve,
/// since Linux carries the parent's high-water mark over `exec`, and the test process is big.
fn wait(
    child: &mut std::process::Child,
    started: Instant,
    limit: Duration,
) -> (std::process::ExitStatus, i64) {
    let mut peak = 0;
    let status_file = format!("/proc/{}/status", child.id());
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait for xdrguard") {
            return (status, peak);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the attack ran over {limit:?}: xdrguard was killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Outcome {
    /// The exact exit code, the time bound and the memory bound.
    pub fn assert_bounded(&self, code: i32, max_secs: u64, max_rss_mib: i64) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.elapsed < Duration::from_secs(max_secs),
            "took {:?}",
            self.elapsed
        );
        assert!(
            self.peak_rss_kib < max_rss_mib * 1024,
            "peak RSS {} MiB over {max_rss_mib} MiB",
            self.peak_rss_kib / 1024
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    /// No secret and no raw control character (other than newline and tab) in any output.
    pub fn assert_clean(&self, secrets: &[&str]) -> &Self {
        let outputs = [
            ("stdout".to_string(), self.stdout.as_bytes()),
            ("stderr".to_string(), self.stderr.as_bytes()),
        ]
        .into_iter()
        .chain(self.files.iter().map(|(n, b)| (n.clone(), b.as_slice())));
        for (name, bytes) in outputs {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            if name.ends_with(".csv") {
                // CSV's record terminator (RFC 4180) is the format's, not data.
                text = text.replace("\r\n", "\n");
            }
            for s in secrets {
                assert!(!text.contains(s), "{name} holds the secret {s}:\n{text}");
            }
            if let Some(c) = text
                .chars()
                .find(|&c| c.is_control() && c != '\n' && c != '\t')
            {
                let at = text.find(c).unwrap();
                panic!(
                    "{name} holds a raw control character U+{:04X} near: {:?}",
                    u32::from(c),
                    &text[at.saturating_sub(80)..(at + 80).min(text.len())]
                );
            }
        }
        self
    }

    /// A written file as text.
    pub fn file(&self, name: &str) -> String {
        let (_, b) = self
            .files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name} written"));
        String::from_utf8_lossy(b).into_owned()
    }

    /// The facts the run wrote.
    pub fn facts(&self) -> serde_json::Value {
        serde_json::from_str(&self.file("facts.json")).expect("facts are JSON")
    }

    /// The error code of a facts section, if it is an error.
    pub fn section_code(&self, section: &str) -> Option<String> {
        self.facts()["sections"][section]["error"]["code"]
            .as_str()
            .map(str::to_string)
    }
}

/// Every report format of `audit`, into `dir`, with the facts and the `-vv` log.
pub fn audit_args(dir: &Path) -> Vec<String> {
    let p = |n: &str| dir.join(n).display().to_string();
    let mut a: Vec<String> = [
        "audit",
        "--workspace",
        &crate::fake_microsoft::scenarios::workspace_id(),
        "--format",
        "table",
        "-vv",
        "--max-retry-wait",
        "5",
        "--save-facts",
        &p("facts.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (format, file) in [
        ("json", "report.json"),
        ("sarif", "report.sarif"),
        ("junit", "report.xml"),
        ("markdown", "report.md"),
        ("html", "report.html"),
        ("csv", "report.csv"),
    ] {
        a.push("--report".into());
        a.push(format!("{format}={}", p(file)));
    }
    a
}

/// `collect -o facts.json -vv` into `dir`.
pub fn collect_args(dir: &Path) -> Vec<String> {
    [
        "collect",
        "--workspace",
        &crate::fake_microsoft::scenarios::workspace_id(),
        "-vv",
        "-q",
        "--max-retry-wait",
        "5",
        "-o",
        &dir.join("facts.json").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Run the binary against `fake` with the arguments `args` makes for a fresh directory, plus
/// `extra`, off the async runtime the fake answers on; the directory is kept with the outcome.
pub async fn against(
    fake: &Fake,
    args: fn(&Path) -> Vec<String>,
    extra: &[&str],
    limit: Duration,
) -> (Outcome, tempfile::TempDir) {
    let mut cmd = xdrguard();
    fake.point(&mut cmd);
    launch(cmd, args, extra, limit).await
}

/// [`against`] for a command already pointed somewhere.
pub async fn launch(
    mut cmd: std::process::Command,
    args: fn(&Path) -> Vec<String>,
    extra: &[&str],
    limit: Duration,
) -> (Outcome, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    cmd.args(args(dir.path())).args(extra);
    let p = dir.path().to_path_buf();
    let outcome = tokio::task::spawn_blocking(move || run(cmd, &p, limit))
        .await
        .unwrap();
    (outcome, dir)
}

/// The secrets every attack checks for: the token and a long piece of it.
pub const SECRETS: &[&str] = &[TOKEN, "Zm9vYmFyLXNlY3JldC12YWx1ZQ"];
