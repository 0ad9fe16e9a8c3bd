//! `xdrguard lint [PATH…]`: validate policies, configs, exceptions and policy tests,
//! by schema and by meaning, with diagnostics at file, line and column.

use crate::input::codes::LintCode;
use crate::input::diagnostic::{InputError, SourceFile};
use crate::input::schema;
use crate::input::yaml;
use crate::outcome::exceptions::Exceptions;
use crate::policy::config::Config;
use crate::policy::load::policy_files;
use crate::policy::load_catalog;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or folders to check; none checks the shipped policies
    pub paths: Vec<PathBuf>,
    /// Check the given policies without the shipped catalog
    #[arg(long)]
    pub no_builtin: bool,
}

/// What a YAML file is, judged by its top-level keys.
#[derive(Debug, PartialEq)]
enum FileKind {
    Policy,
    Config,
    Exceptions,
    PolicyTest,
}

fn kind_of(value: &serde_json::Value) -> FileKind {
    if value.get("exceptions").is_some() {
        FileKind::Exceptions
    } else if value.get("controls").is_some() {
        FileKind::Config
    } else if value.get("cases").is_some() {
        FileKind::PolicyTest
    } else {
        FileKind::Policy
    }
}

fn schema_errors(doc: &yaml::Document, kind: schema::Kind) -> Vec<InputError> {
    schema::validate(kind, &doc.value)
        .into_iter()
        .map(|v| {
            doc.error_at_key(
                LintCode::Schema,
                &v.pointer,
                format!("does not match its schema: {}", v.message),
            )
            .label("here")
            .help("see schemas/ for the format")
        })
        .collect()
}

pub fn run(args: LintArgs) -> Result<u8, InputError> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in &args.paths {
        match policy_files(p) {
            Ok(mut f) => files.append(&mut f),
            Err(e) => errors.push(e),
        }
    }
    let mut policies = Vec::new();
    let mut configs = Vec::new();
    let mut others = Vec::new();
    for f in files {
        let doc = match SourceFile::read(&f).and_then(yaml::parse) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match kind_of(&doc.value) {
            FileKind::Policy => policies.push(f),
            FileKind::Config => configs.push(f),
            FileKind::Exceptions => others.push((doc, schema::Kind::Exceptions)),
            FileKind::PolicyTest => others.push((doc, schema::Kind::PolicyTest)),
        }
    }
    let checked = policies.len() + configs.len() + others.len();
    let catalog = match load_catalog(&policies, !args.no_builtin) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Some(catalog) = &catalog {
        for c in &configs {
            if let Err(e) = Config::load(c, catalog) {
                errors.push(e);
            }
        }
    }
    let today = super::check::now()?.date_naive();
    for (doc, kind) in others {
        if kind == schema::Kind::Exceptions {
            // Schema and meaning (known control IDs, real dates, no duplicates); expiry is
            // a state, not a mistake in the file, so it is a warning.
            match &catalog {
                Some(catalog) => match Exceptions::from_document(&doc, catalog) {
                    Ok(ex) => {
                        for w in ex.expiry_warnings(today) {
                            eprintln!("warning: {w}");
                        }
                    }
                    Err(e) => errors.push(e),
                },
                None => errors.extend(schema_errors(&doc, kind)),
            }
            continue;
        }
        errors.extend(schema_errors(&doc, kind));
    }
    let problems: usize = errors.iter().map(InputError::count).sum();
    let controls = catalog.as_ref().map_or(0, |c| c.controls.len());
    match InputError::many(errors) {
        Some(e) => {
            super::print_error(e);
            eprintln!("lint: {problems} problem(s) in {checked} file(s)");
            Ok(super::exit::BAD_INPUT)
        }
        None => {
            println!("lint: {checked} file(s) checked, {controls} control(s) in the catalog, no problems");
            Ok(0)
        }
    }
}
