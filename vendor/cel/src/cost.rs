//! xdrguard patch: a deterministic evaluation budget.
//!
//! Every expression node the interpreter evaluates costs one unit, and every value it copies
//! or builds costs about one unit per 8 bytes it takes: [`ELEMENT`] units per list element
//! or map entry, one per 8 bytes of string or bytes data. So the budget bounds both the
//! time and the memory of one evaluation (about 8 bytes per unit), the same way on every
//! machine (no clock). The budget is per thread: [`Budget::start`] sets it for what the
//! current thread evaluates until the `Budget` is dropped; without one, evaluation is
//! unbounded as upstream.
//!
//! Once the budget is spent every further step fails with [`ExecutionError::CostLimit`],
//! so an error that `||`, `&&` or a macro would otherwise absorb cannot hide it;
//! [`Budget::exceeded`] tells the caller to discard whatever result came back.

use crate::common::value::{BuiltinRef, Val};
use crate::ExecutionError;
use std::cell::Cell;

thread_local! {
    static LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    static LIMIT: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// The budget of the evaluations run on this thread while it lives.
pub struct Budget {
    previous: (u64, u64),
}

impl Budget {
    /// Allow `limit` units from now on, on this thread.
    pub fn start(limit: u64) -> Budget {
        let previous = (LEFT.get(), LIMIT.get());
        LEFT.set(limit);
        LIMIT.set(limit);
        Budget { previous }
    }

    /// Units spent since [`Budget::start`].
    pub fn used(&self) -> u64 {
        LIMIT.get() - LEFT.get()
    }

    /// Whether an evaluation ran out: its result, if any, must not be used.
    pub fn exceeded(&self) -> bool {
        LEFT.get() == 0
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        LEFT.set(self.previous.0);
        LIMIT.set(self.previous.1);
    }
}

/// What a list element or map entry costs: it takes about 64 bytes (a box, its value, a
/// hash-table slot).
pub const ELEMENT: u64 = 8;

/// What one `matches()` call costs besides its text: compiling a pattern is some thousand
/// times the work of an expression node.
pub(crate) const MATCHES_UNITS: u64 = 1_000;

/// Spend `units`, or fail (and spend everything) when fewer are left.
#[inline]
pub(crate) fn charge(units: u64) -> Result<(), ExecutionError> {
    let left = LEFT.get();
    if left >= units {
        LEFT.set(left - units);
        Ok(())
    } else {
        Err(exceeded())
    }
}

#[cold]
#[inline(never)]
fn exceeded() -> ExecutionError {
    LEFT.set(0);
    ExecutionError::CostLimit(LIMIT.get())
}

/// Units left (what a copy may still cost before it fails).
fn left() -> u64 {
    LEFT.get()
}

/// Charge for a copy of `v` (what `clone_as_boxed` does to an element it binds or stores).
#[inline]
pub(crate) fn charge_copy(v: &dyn Val) -> Result<(), ExecutionError> {
    charge(copy_cost(v, left().saturating_add(1)))
}

/// The cost of `units` bytes of string data.
#[inline]
pub(crate) fn bytes(units: usize) -> u64 {
    1 + (units as u64) / 8
}

/// What copying `v` costs, counted up to `cap` (more is as bad as `cap`): one unit per value,
/// [`ELEMENT`] per element or entry, one per 8 bytes of owned string or bytes data; a value
/// that shares on clone ([`Val::clone_cost`]) costs what it says.
pub(crate) fn copy_cost(v: &dyn Val, cap: u64) -> u64 {
    if let Some(c) = v.clone_cost() {
        return c;
    }
    match v.as_builtin() {
        BuiltinRef::String(s) => s.owned_len().map_or(1, bytes),
        BuiltinRef::Bytes(b) => b.owned_len().map_or(1, bytes),
        BuiltinRef::List(l) => {
            let mut total = 1u64;
            for item in l.inner() {
                total = total
                    .saturating_add(ELEMENT)
                    .saturating_add(copy_cost(item.as_ref(), cap));
                if total >= cap {
                    break;
                }
            }
            total
        }
        BuiltinRef::Map(m) => {
            let mut total = 1u64;
            for (k, item) in m.inner().iter() {
                total = total
                    .saturating_add(ELEMENT)
                    .saturating_add(k.copy_cost())
                    .saturating_add(copy_cost(item.as_ref(), cap));
                if total >= cap {
                    break;
                }
            }
            total
        }
        _ => 1,
    }
}

/// `v` owned: a borrowed value is copied, and the copy charged.
#[inline]
pub(crate) fn owned<'v>(
    v: crate::common::value::CowVal<'_, 'v>,
) -> Result<Box<dyn Val + 'v>, ExecutionError> {
    if let crate::common::value::CowVal::Borrowed(b) = &v {
        charge_copy(*b)?;
    }
    Ok(v.into_owned())
}

/// A function's result, charged for what it built (a borrowed result built nothing).
#[inline]
pub(crate) fn charge_result<'b, 'v>(
    result: Result<crate::common::value::CowVal<'b, 'v>, ExecutionError>,
) -> Result<crate::common::value::CowVal<'b, 'v>, ExecutionError> {
    if let Ok(crate::common::value::CowVal::Owned(v)) = &result {
        charge_copy(v.as_ref())?;
    }
    result
}
