//! xdrguard: policy-as-code audit of a Microsoft tenant and its Sentinel workspace for
//! the Microsoft Defender XDR connector.
//!
//! Data flows one way: [`collect`] → [`facts`]; [`policy`] + facts → [`eval`] →
//! findings ([`model`]) → [`outcome`] (what counts) → [`report`]. [`input`] reads and
//! diagnoses every file; [`cli`] only parses arguments and dispatches.

pub mod cli;
pub mod collect;
pub mod content;
pub mod eval;
pub mod facts;
pub mod fleet;
pub mod input;
pub mod model;
pub mod outcome;
pub mod policy;
pub mod report;
