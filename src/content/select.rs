//! Which files a scan reads: paths and folders (recursing with ripgrep's walker, so
//! `.gitignore`, `.git/info/exclude` and `--exclude` globs apply), or only the files a change
//! touched (`--changed-from REF`, or a list of paths from a file or stdin).
//!
//! Classification follows the Repositories feature's deployment script
//! (SentinelCICD/RepositoriesSampleContent `azure-sentinel-deploy-*.ps1`: every `*.json`
//! except `*metadata.json` and `*.parameters*.json` is a template; parameters files are read
//! beside their template, on demand).

use super::{relative, ContentNote, NoteKind};
use crate::input::codes::ContentCode;
use crate::input::diagnostic::InputError;
use ignore::overrides::{Override, OverrideBuilder};
use std::path::{Path, PathBuf};

/// A file a scan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// A JSON file that may be an ARM template (decided after parsing).
    Json(PathBuf),
    /// A YAML file that may be an Azure-Sentinel analytics rule (decided after parsing).
    Yaml(PathBuf),
    Bicep(PathBuf),
}

/// What a file is, by its name; `None` for files a scan does not read.
pub fn classify(path: &Path) -> Option<Candidate> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    match ext {
        "json" if is_parameters_file(&name) || name.ends_with("metadata.json") => None,
        "json" => Some(Candidate::Json(path.to_path_buf())),
        "yaml" | "yml" => Some(Candidate::Yaml(path.to_path_buf())),
        "bicep" | "bicepparam" => Some(Candidate::Bicep(path.to_path_buf())),
        _ => None,
    }
}

/// `X.parameters.json` or `X.parameters-<anything>.json` (lower-cased name).
fn is_parameters_file(name: &str) -> bool {
    name.contains(".parameters.") || name.contains(".parameters-")
}

/// For a changed parameters file, the template it belongs to (`X.parameters*.json` → `X.json`).
fn template_of_parameters(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy();
    let lower = name.to_ascii_lowercase();
    let i = lower.find(".parameters")?;
    lower
        .ends_with(".json")
        .then(|| path.with_file_name(format!("{}.json", &name[..i])))
}

/// How files are chosen.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Files and folders given on the command line.
    pub paths: Vec<PathBuf>,
    /// `--exclude` globs (gitignore syntax, relative to the repository root).
    pub excludes: Vec<String>,
    /// Only these files (relative to the repository root, or absolute), if a change list
    /// was given; restricted to `paths`.
    pub changed: Option<Vec<PathBuf>>,
}

/// The files to read, in a stable order, and notes on changed files that no longer exist.
pub fn select(
    sel: &Selection,
    root: &Path,
    max_files: usize,
) -> Result<(Vec<Candidate>, Vec<ContentNote>), InputError> {
    let excludes = overrides(root, &sel.excludes)?;
    let mut out = Vec::new();
    let mut notes = Vec::new();
    match &sel.changed {
        Some(changed) => changed_files(sel, root, changed, &excludes, &mut out, &mut notes),
        None => {
            for p in &sel.paths {
                walk(p, &excludes, &mut out)?;
            }
        }
    }
    out.dedup();
    if out.len() > max_files {
        return Err(InputError::plain(
            ContentCode::TooLarge,
            format!(
                "{} content files selected; xdrguard reads at most {max_files} (--max-files)",
                out.len()
            ),
        )
        .help("raise --max-files, or narrow the paths / --exclude what is not Sentinel content"));
    }
    Ok((out, notes))
}

fn overrides(root: &Path, globs: &[String]) -> Result<Override, InputError> {
    let mut b = OverrideBuilder::new(root);
    for g in globs {
        b.add(&format!("!{g}")).map_err(|e| {
            InputError::plain(ContentCode::Selection, format!("--exclude `{g}`: {e}"))
                .help("use gitignore glob syntax, e.g. --exclude 'Workbooks/**'")
        })?;
    }
    b.build()
        .map_err(|e| InputError::plain(ContentCode::Selection, format!("--exclude: {e}")))
}

fn excluded(excludes: &Override, path: &Path, is_dir: bool) -> bool {
    excludes.matched(path, is_dir).is_ignore()
}

/// Walk one path: a file is taken even when ignored (as ripgrep does); a folder recurses,
/// honouring `.gitignore`-style files and the excludes, never entering `.git`.
fn walk(path: &Path, excludes: &Override, out: &mut Vec<Candidate>) -> Result<(), InputError> {
    if path.is_file() {
        out.extend(classify(path));
        return Ok(());
    }
    if !path.is_dir() {
        return Err(InputError::io(
            path,
            &std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    let walker = ignore::WalkBuilder::new(path)
        .hidden(false)
        .require_git(false)
        .overrides(excludes.clone())
        .filter_entry(|e| e.file_name() != ".git")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| {
            InputError::plain(ContentCode::Selection, format!("{}: {e}", path.display()))
        })?;
        if entry.file_type().is_some_and(|t| t.is_file()) {
            out.extend(classify(entry.path()));
        }
    }
    Ok(())
}

/// The changed files under the given paths; a changed parameters file brings its template.
fn changed_files(
    sel: &Selection,
    root: &Path,
    changed: &[PathBuf],
    excludes: &Override,
    out: &mut Vec<Candidate>,
    notes: &mut Vec<ContentNote>,
) {
    let under: Vec<PathBuf> = sel.paths.iter().map(|p| absolute(root, p)).collect();
    let mut files: Vec<PathBuf> = changed
        .iter()
        .map(|p| absolute(root, p))
        .filter(|p| under.is_empty() || under.iter().any(|u| p.starts_with(u)))
        .filter(|p| !excluded(excludes, p, false))
        .flat_map(|p| match template_of_parameters(&p) {
            Some(t) => vec![t],
            None => vec![p],
        })
        .collect();
    files.sort();
    files.dedup();
    for f in files {
        if !f.exists() {
            if classify(&f).is_some() {
                notes.push(ContentNote {
                    path: relative(root, &f),
                    line: None,
                    kind: NoteKind::Deleted,
                    message: "deleted by this change: not judged (the Repositories feature never deletes deployed resources)".into(),
                });
            }
            continue;
        }
        out.extend(classify(&f));
    }
}

/// `p` as a path under `root` when relative (and cleaned of `./`), as `git diff` prints them.
fn absolute(root: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    };
    let mut clean = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                clean.pop();
            }
            c => clean.push(c),
        }
    }
    clean
}

/// The repository root: the nearest ancestor of `start` holding `.git` (a folder, or the
/// file worktrees and submodules have), else the folder itself (or the file's folder).
pub fn repo_root(start: &Path) -> PathBuf {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let dir = if start.is_file() {
        start.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        start
    };
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

/// The files changed between `base` and `HEAD` in the repository at `root`
/// (`git diff --name-only --diff-filter=d base...HEAD`: what a pull request changes since it
/// branched, deletions left out), relative to the repository root.
pub fn changed_since(root: &Path, base: &str) -> Result<Vec<PathBuf>, InputError> {
    if base.starts_with('-') {
        return Err(InputError::plain(
            ContentCode::Selection,
            format!("--changed-from `{base}` is not a git revision"),
        ));
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["diff", "--name-only", "-z", "--diff-filter=d"])
        .arg(format!("{base}...HEAD"))
        .arg("--")
        .output()
        .map_err(|e| {
            InputError::plain(
                ContentCode::Selection,
                format!("--changed-from: could not run git: {e}"),
            )
            .help("install git, or pass the changed files with --paths-from")
        })?;
    if !out.status.success() {
        return Err(InputError::plain(
            ContentCode::Selection,
            format!(
                "--changed-from {base}: git diff failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .help("in CI, fetch the base branch first (actions/checkout with fetch-depth: 0)"));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned()))
        .collect())
}

/// A list of paths, one a line (as `git diff --name-only` prints them); blank lines skipped.
pub fn paths_from_text(text: &str) -> Vec<PathBuf> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// A size as the flag takes it: `16 MiB`, `100 KiB`, `1000 bytes`.
pub fn human_size(n: u64) -> String {
    for (unit, m) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= m && n.is_multiple_of(m) {
            return format!("{} {unit}", n / m);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_classify_as_the_repositories_script_does() {
        let c = |n: &str| classify(Path::new(n));
        assert!(matches!(c("a/Rule.json"), Some(Candidate::Json(_))));
        assert_eq!(c("a/Rule.parameters.json"), None);
        assert_eq!(c("a/Rule.parameters-5b02.json"), None);
        assert_eq!(c("a/Rulemetadata.json"), None);
        assert!(matches!(c("r.YAML"), Some(Candidate::Yaml(_))));
        assert!(matches!(c("x.bicep"), Some(Candidate::Bicep(_))));
        assert_eq!(c("README.md"), None);
        assert_eq!(
            template_of_parameters(Path::new("d/Rule.parameters-abc.json")).unwrap(),
            Path::new("d/Rule.json")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(16 << 20), "16 MiB");
        assert_eq!(human_size(100 << 10), "100 KiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
