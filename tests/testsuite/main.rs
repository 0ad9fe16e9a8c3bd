//! xdrguard's integration tests: one binary (the crate graph is linked once), one module per
//! area. Shared helpers are `common` and the fake Microsoft server `fake_microsoft`.

mod attacks;
mod bad_input;
mod catalog;
mod check;
mod ci_examples;
mod collect;
mod common;
mod content;
mod drift;
mod eval;
mod exceptions;
mod fake_microsoft;
#[path = "fake_microsoft/behaviour.rs"]
mod fake_microsoft_behaviour;
mod first_hour;
mod first_hour_input;
mod fleet;
mod hostile_policies;
mod no_panic;
mod portal;
mod readme;
mod report;
