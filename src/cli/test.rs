//! `xdrguard test [DIR]`: run policy test cases and print the outcome.

use super::check::write_output;
use crate::eval;
use crate::input::diagnostic::InputError;
use crate::policy::load_catalog;
use crate::policy::test_cases::{run_builtin, run_dir};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Folder (or file) of test cases; none runs the shipped policies' own cases, built in
    pub dir: Option<PathBuf>,
    /// Also load the policies in this folder; repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Only run cases of this control
    #[arg(long, value_name = "ID")]
    pub control: Option<String>,
    /// Print every case, not only failures
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub limits: crate::policy::limits::LimitArgs,
}

pub fn run(args: TestArgs) -> Result<u8, InputError> {
    args.limits.apply();
    let catalog = load_catalog(&args.policies, true)?;
    let only = args.control.as_deref();
    if let Some(id) = only.filter(|id| catalog.get(id).is_none()) {
        let ids = catalog.controls.iter().map(|c| c.policy.id.as_str());
        return Err(super::unknown_control(id, ids));
    }
    let outcome = match &args.dir {
        Some(dir) => run_dir(&catalog, dir, only, &eval::evaluate)?,
        None => run_builtin(&catalog, only, &eval::evaluate)?,
    };
    let mut text = String::new();
    if args.verbose {
        for c in outcome.passed() {
            text += &format!("ok     {}\n", c.label);
        }
    }
    for c in outcome.failed() {
        text += &format!(
            "FAILED {}\n       {}\n",
            c.label,
            c.problems.join("\n       ")
        );
    }
    let failed = outcome.failed().count();
    text += &format!("{} passed, {failed} failed\n", outcome.passed().count());
    // Not `println!`: a closed pipe (`| head`) must not panic.
    write_output(None, &text)?;
    Ok(if failed == 0 {
        0
    } else {
        super::exit::VIOLATIONS
    })
}
