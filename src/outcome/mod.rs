//! What counts: exceptions, the baseline and its fingerprints, drift between two reports.

pub mod baseline;
pub mod drift;
pub mod exceptions;
