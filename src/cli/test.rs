//! `xdrguard test [DIR]`: run policy test cases and print the outcome.

use crate::eval;
use crate::input::diagnostic::InputError;
use crate::policy::load_catalog;
use crate::policy::test_cases::run_dir;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Folder (or file) of test cases
    #[arg(default_value = "tests/policies")]
    pub dir: PathBuf,
    /// Also load the policies in this folder; repeatable
    #[arg(long, value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Only run cases of this control
    #[arg(long, value_name = "ID")]
    pub control: Option<String>,
    /// Print every case, not only failures
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: TestArgs) -> Result<u8, InputError> {
    let catalog = load_catalog(&args.policies, true)?;
    let outcome = run_dir(
        &catalog,
        &args.dir,
        args.control.as_deref(),
        &eval::evaluate,
    )?;
    if args.verbose {
        for c in outcome.passed() {
            println!("ok     {}", c.label);
        }
    }
    for c in outcome.failed() {
        println!(
            "FAILED {}\n       {}",
            c.label,
            c.problems.join("\n       ")
        );
    }
    let failed = outcome.failed().count();
    println!("{} passed, {failed} failed", outcome.passed().count());
    Ok(if failed == 0 {
        0
    } else {
        super::exit::VIOLATIONS
    })
}
