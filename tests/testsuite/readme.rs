//! README.md cannot rot: every command and every example file it shows is executed here, as
//! its "Development" section says.
//!
//! - Each line of a ```sh block runs in `sh`, in document order, in one scratch copy of
//!   `examples/`, with the built `xdrguard` first on `PATH`. The live-tenant commands
//!   (`audit`, `collect`) reach the fake Microsoft server (`fake_microsoft`, the `ready`
//!   tenant) through the documented `XDRGUARD_ACCESS_TOKEN` and `XDRGUARD_*_URL` variables,
//!   with `WORKSPACE` set to its workspace. A trailing `# … exit N …` comment is the exit
//!   code the README states; without one it is 0.
//! - `cargo` lines build or test the repository itself and are not run, except
//!   `cargo run --release -- ARGS`, which runs as `xdrguard ARGS`.
//! - A ```yaml block starts with `# PATH`: when the repository has that file the block must
//!   equal it byte for byte (the README shows the tested file); otherwise the block is
//!   written there, for the commands after it to use.
//! - A ```json block is a fragment of a facts document's `sections`, checked against the
//!   facts schema.

use crate::fake_microsoft::{scenarios, Fake};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced code block of the README: its language, its text (fence indentation removed)
/// and the line its fence opens on.
#[derive(Debug)]
struct Block {
    lang: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some((
                    indent,
                    Block {
                        lang: lang.trim().to_string(),
                        text: String::new(),
                        line: i + 1,
                    },
                ))
            }
            (Some(_), Some("")) => out.push(open.take().unwrap().1),
            (Some((indent, b)), _) => {
                b.text += line.get(*indent..).unwrap_or(line.trim_start());
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

/// One command line of a ```sh block: the command (continuations joined, comment removed)
/// and the exit code its comment states.
#[derive(Debug, PartialEq)]
struct Line {
    command: String,
    exit: i32,
}

/// Where the trailing comment of a shell line starts: a `#` after white space, outside quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

fn lines(script: &str) -> Vec<Line> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for raw in joined.lines() {
        let (command, comment) = match comment_start(raw) {
            Some(i) => (raw[..i].trim(), &raw[i..]),
            None => (raw.trim(), ""),
        };
        if command.is_empty() {
            continue;
        }
        let exit = comment
            .split_once("exit ")
            .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
            .map_or(0, |n| n.parse().expect("exit N"));
        out.push(Line {
            command: command.to_string(),
            exit,
        });
    }
    out
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Run one README command line in `dir`; panics with its output unless it exits `exit`.
fn run(dir: &Path, fake: &Fake, line: &Line, at: usize) {
    let bin = assert_cmd::cargo::cargo_bin("xdrguard");
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(&line.command)
        .current_dir(dir)
        .env("PATH", path)
        .env("WORKSPACE", scenarios::workspace_id());
    fake.point(&mut c);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(line.exit),
        "README.md:{at}: `{}` should exit {}\nstdout:\n{}\nstderr:\n{}",
        line.command,
        line.exit,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The path a ```yaml block names on its first line (`# PATH` or `# PATH: what it is`).
fn named_path(b: &Block) -> &str {
    let first = b.text.lines().next().unwrap_or_default();
    let name = first
        .strip_prefix("# ")
        .unwrap_or_else(|| panic!("README.md:{}: a yaml block starts with `# PATH`", b.line));
    name.split([':', ' ']).next().unwrap()
}

/// A ```json block: members of a facts document's `sections`, valid there.
fn check_facts_fragment(b: &Block) {
    let members: serde_json::Map<String, Value> = serde_json::from_str(&format!("{{{}}}", b.text))
        .unwrap_or_else(|e| panic!("README.md:{}: not members of a JSON object: {e}", b.line));
    let text = std::fs::read_to_string(root().join("examples/snapshots/ready.json")).unwrap();
    let mut facts: Value = serde_json::from_str(&text).unwrap();
    for (k, v) in members {
        facts["sections"][k] = v;
    }
    let violations =
        xdrguard::input::schema::validate(xdrguard::input::schema::Kind::Facts, &facts);
    assert!(
        violations.is_empty(),
        "README.md:{}: {violations:?}",
        b.line
    );
}

/// What the README's `cargo` lines may be: building, testing or installing this repository
/// (never `cargo install xdrguard` from crates.io, where it is not published).
fn check_cargo_line(line: &Line, at: usize) {
    let c = &line.command;
    if let Some(rest) = c.strip_prefix("cargo install") {
        assert!(
            rest.contains("--path .") || rest.contains("--git "),
            "README.md:{at}: `{c}` installs from crates.io, where xdrguard is not published"
        );
        assert!(
            rest.contains("--locked"),
            "README.md:{at}: `{c}` without --locked"
        );
    } else {
        assert!(
            [
                "cargo test",
                "cargo build",
                "cargo bench",
                "cargo fmt",
                "cargo clippy"
            ]
            .iter()
            .any(|p| c.starts_with(p)),
            "README.md:{at}: `{c}` is neither run by this test nor a build command"
        );
    }
}

#[tokio::test]
async fn every_command_and_example_file_of_the_readme_works() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let fake = Fake::start(&scenarios::Tenant::ready()).await;
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples"), &dir.path().join("examples"));
    let (mut commands, mut files) = (0, 0);
    for b in blocks(&readme) {
        match b.lang.as_str() {
            "sh" => {
                for line in lines(&b.text) {
                    let command = match line.command.strip_prefix("cargo run --release -- ") {
                        Some(args) => Line {
                            command: format!("xdrguard {args}"),
                            exit: line.exit,
                        },
                        None if line.command.starts_with("cargo ") => {
                            check_cargo_line(&line, b.line);
                            continue;
                        }
                        None => line,
                    };
                    assert!(
                        command.command.starts_with("xdrguard "),
                        "README.md:{}: `{}` is not an xdrguard command",
                        b.line,
                        command.command
                    );
                    run(dir.path(), &fake, &command, b.line);
                    commands += 1;
                }
            }
            "yaml" => {
                let path = named_path(&b);
                match std::fs::read_to_string(root().join(path)) {
                    Ok(shipped) => assert_eq!(
                        b.text, shipped,
                        "README.md:{}: the block differs from {path}, the tested file it shows",
                        b.line
                    ),
                    Err(_) => std::fs::write(dir.path().join(path), &b.text).unwrap(),
                }
                files += 1;
            }
            "json" => check_facts_fragment(&b),
            other => panic!(
                "README.md:{}: a ```{other} block this test cannot check",
                b.line
            ),
        }
    }
    // The README's walkthrough as a whole: the main job, a live audit, the CI gate, the
    // custom policy and its config are all in it.
    assert!(commands >= 20, "only {commands} commands ran");
    assert!(files >= 3, "only {files} example files checked");
    for want in ["xdrguard.sarif", "xdrguard.junit.xml", "facts.json"] {
        assert!(dir.path().join(want).is_file(), "{want} was not written");
    }
}

#[test]
fn blocks_and_lines_are_read_as_the_module_says() {
    let md = "text\n```sh\nxdrguard a \\\n  --b 'c # d'   # exit 2: why\n# only a comment\nxdrguard e\n```\n1. item\n\n   ```yaml\n   # f.yaml\n   k: v\n   ```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[1].lang.as_str(), b[1].text.as_str()),
        ("yaml", "# f.yaml\nk: v\n")
    );
    assert_eq!(named_path(&b[1]), "f.yaml");
    assert_eq!(
        lines(&b[0].text),
        vec![
            Line {
                command: "xdrguard a    --b 'c # d'".into(),
                exit: 2
            },
            Line {
                command: "xdrguard e".into(),
                exit: 0
            },
        ]
    );
}
