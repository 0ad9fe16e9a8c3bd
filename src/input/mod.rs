//! Reading what users and servers hand us: source files with spans, YAML, JSON Schema
//! validation and the diagnostics that point back into them.

pub mod diagnostic;
pub mod schema;
pub mod yaml;
