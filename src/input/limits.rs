//! How many bytes xdrguard reads of each kind of input: one documented default per kind, each
//! raised (or lowered) by its own flag. The limit holds while reading (pipes, devices,
//! `<(…)` and `/dev/zero` report no size), so no input can exhaust memory.
//!
//! Every input is read through [`read`] (or [`read_stdin`]) with its [`InputKind`]; a kind
//! added later (content, fleet) gets its default here and its flag in `src/cli/limits.rs`.

use crate::input::codes::InputCode;
use crate::input::diagnostic::{InputError, SourceFile};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// One MiB.
const MIB: u64 = 1 << 20;

/// A kind of input file, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::AsRefStr)]
#[strum(serialize_all = "kebab-case")]
pub enum InputKind {
    /// A facts document (`check --facts`, policy-test bases): what `collect` writes.
    Facts,
    /// A JSON report (`--baseline`, `diff`).
    Report,
    /// One policy file.
    Policy,
    /// One policy test file.
    PolicyTest,
    /// A config (`--config`).
    Config,
    /// An exceptions file (`--exceptions`).
    Exceptions,
    /// An offline content catalog.
    Content,
    /// A fleet file.
    Fleet,
}

impl InputKind {
    /// The default limit, in bytes. Facts and reports fit what xdrguard writes for the largest
    /// tenants it supports (200 000 alert rules make about 88 MB of facts), twice over; the
    /// hand-written kinds are far larger than any real one.
    pub const fn default_bytes(self) -> u64 {
        match self {
            InputKind::Facts | InputKind::Report => 256 * MIB,
            InputKind::Content => 64 * MIB,
            InputKind::Policy
            | InputKind::PolicyTest
            | InputKind::Config
            | InputKind::Exceptions
            | InputKind::Fleet => 16 * MIB,
        }
    }

    /// The flag that sets this kind's limit.
    pub fn flag(self) -> String {
        format!("--max-{}-bytes", self.as_ref())
    }

    fn slot(self) -> &'static AtomicU64 {
        &LIMITS[self as usize]
    }
}

/// 0 = the default.
static LIMITS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// The limit of `kind` in force.
pub fn max_bytes(kind: InputKind) -> u64 {
    match kind.slot().load(Ordering::Relaxed) {
        0 => kind.default_bytes(),
        n => n,
    }
}

/// Set the limit of `kind` for the rest of the run (from its flag).
pub fn set(kind: InputKind, bytes: u64) {
    kind.slot().store(bytes.max(1), Ordering::Relaxed);
}

/// Read the file at `path` as `kind`, at most its limit.
pub fn read(path: &Path, kind: InputKind) -> Result<SourceFile, InputError> {
    SourceFile::read_at_most(path, max_bytes(kind)).map_err(|e| name_flag(e, kind))
}

/// Read standard input as `kind`, at most its limit.
pub fn read_stdin(kind: InputKind) -> Result<SourceFile, InputError> {
    SourceFile::read_stdin(max_bytes(kind)).map_err(|e| name_flag(e, kind))
}

/// A too-large error says which flag raises the limit.
fn name_flag(e: InputError, kind: InputKind) -> InputError {
    if e.code != <&str>::from(InputCode::TooLarge) {
        return e;
    }
    let help = format!(
        "the limit for a {} is {} bytes by default; if this file is what you meant, raise it with {} BYTES",
        kind.as_ref().replace('-', " "),
        kind.default_bytes(),
        kind.flag()
    );
    e.help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_kind_has_a_slot_and_a_flag() {
        assert_eq!(InputKind::iter().count(), LIMITS.len());
        assert_eq!(InputKind::PolicyTest.flag(), "--max-policy-test-bytes");
        assert_eq!(max_bytes(InputKind::Facts), 256 << 20);
    }

    #[test]
    fn a_device_is_read_up_to_the_limit_only() {
        // /dev/zero reports no size: only the limit while reading stops it.
        set(InputKind::Fleet, 1024);
        let e = read(Path::new("/dev/zero"), InputKind::Fleet).unwrap_err();
        assert_eq!(e.code, "xdrguard::input::too_large");
        assert!(
            e.help.as_deref().unwrap().contains("--max-fleet-bytes"),
            "{e:?}"
        );
    }
}
