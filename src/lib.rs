//! xdrguard: policy-as-code audit of a Microsoft tenant and its Sentinel workspace for
//! the Microsoft Defender XDR connector.
//!
//! Data flows one way: policies + facts → [`eval`] → [`finding`]s → [`report`]ers.
//! Collection produces facts and knows nothing of policies.

pub mod baseline;
pub mod cli;
pub mod collect;
pub mod config;
pub mod diagnostic;
pub mod drift;
pub mod eval;
pub mod exceptions;
pub mod facts;
pub mod finding;
pub mod policy;
pub mod policytest;
pub mod report;
pub mod schema;
pub mod yaml;
