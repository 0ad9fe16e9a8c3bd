//! Benchmark: `xdrguard scan` of a 500-template Sentinel-as-code repository, whole process.
//! The repository is generated from the fixture (`tests/fixtures/content-repo`): each ARM
//! template and YAML rule copied with fresh resource names (GUIDs) into its own folder, with
//! its parameters files — so it holds the fixture's unknown values (a `reference()` filter,
//! `subscription()` tenants, YAML rules without an enabled state) 30-odd times over.
//! Prints the median wall time of 10 runs, peak RSS, and files and items per second.
//! Run: `cargo bench --bench scan`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TEMPLATES: usize = 500;
const RUNS: usize = 10;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content-repo")
}

/// Content files of the fixture (templates and YAML rules), with their parameters files.
fn sources() -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut stack = vec![fixture()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in &entries {
            if p.is_dir() {
                stack.push(p.clone());
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let is_params = name.contains(".parameters");
            if (name.ends_with(".json") && !is_params) || name.ends_with(".yaml") {
                let stem = name.rsplit_once('.').unwrap().0.to_string();
                let params = entries
                    .iter()
                    .filter(|q| {
                        let n = q.file_name().unwrap().to_string_lossy();
                        n.starts_with(&format!("{stem}.parameters"))
                    })
                    .cloned()
                    .collect();
                out.push((p.clone(), params));
            }
        }
    }
    out
}

/// A fresh GUID-shaped name for copy `n` (deterministic).
fn guid(n: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", n, n * 7919)
}

fn generate(dir: &Path) -> usize {
    let guids = [
        "2b8e6f3a-7c1d-4e9b-a5f2-0d3c8b1e7a46",
        "73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "c345bf40-8509-4ed2-b947-50cb773aaf04",
        "06b3ccb8-1384-4bcc-aec7-852f6d57161b",
        "85f2eac9-43f1-480e-b8ad-473375c195c0",
        "4f2b8c1d-7e3a-4b5c-9d6e-0a1b2c3d4e5f",
        "9969e193-ac6b-4f0e-8a3d-5e2b7c1d0f42",
    ];
    let src = sources();
    let mut written = 0;
    for i in 0..TEMPLATES {
        let (file, params) = &src[i % src.len()];
        let folder = dir.join(format!("c{i:04}"));
        std::fs::create_dir_all(&folder).unwrap();
        for p in std::iter::once(file).chain(params) {
            let mut text = std::fs::read_to_string(p).unwrap();
            for (k, g) in guids.iter().enumerate() {
                text = text.replace(g, &guid(i * 16 + k));
            }
            text = text.replace(
                "microsoftSecurityIncidentCreationRuleExample",
                &format!("rule{i}"),
            );
            std::fs::write(folder.join(p.file_name().unwrap()), text).unwrap();
        }
        written += 1;
    }
    written
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(dir.path());
    let d = dir.path().to_str().unwrap();
    let mut walls = Vec::new();
    let mut peak = 0;
    let mut summary = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_xdrguard"))
            .args([
                "scan",
                d,
                "--repo-root",
                d,
                "--format",
                "json",
                "-o",
                "/dev/null",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Sample the high-water mark until the process exits.
        let mut hwm = 0;
        loop {
            if let Some(k) = vm_hwm(pid) {
                hwm = hwm.max(k);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        walls.push(started.elapsed());
        peak = peak.max(hwm);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        summary = err.lines().last().unwrap_or("").to_string();
    }
    walls.sort();
    let median = walls[RUNS / 2];
    println!("scan of {files} content files, {RUNS} runs: median {median:.1?} (min {:.1?}, max {:.1?}), peak RSS {:.1} MiB", walls[0], walls[RUNS - 1], peak as f64 / 1024.0);
    println!(
        "{:.0} files/s; {summary}",
        files as f64 / median.as_secs_f64()
    );
}
