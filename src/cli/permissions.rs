//! `xdrguard permissions`: the least Graph permissions and Azure roles a read-only audit
//! identity needs (rendered by `report::permissions`).

use super::check::write_output;
use crate::input::diagnostic::InputError;
use crate::report::permissions::{render, PermFormat};
use clap::Args;

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: PermFormat,
}

pub fn run(args: PermissionsArgs) -> Result<u8, InputError> {
    write_output(None, &render(args.format))?;
    Ok(super::exit::COMPLIANT)
}
