//! Reading what users and servers hand us: source files with spans, YAML and JSON, JSON Schema
//! validation, the one loader every input file goes through, and the diagnostics that point
//! back into them (codes in `codes`), and which of its own kinds a file is (`kind`).

pub mod codes;
pub mod diagnostic;
pub mod json;
pub mod kind;
pub mod limits;
pub mod load;
pub mod schema;
pub mod yaml;
