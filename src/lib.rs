//! xdrguard: policy-as-code audit of a Microsoft tenant and its Sentinel workspace for
//! the Microsoft Defender XDR connector.
//!
//! Data flows one way: policies + facts → [`eval`] → [`finding`]s → [`report`]ers.
//! Collection produces facts and knows nothing of policies.

pub mod cli;
pub mod collect;
pub mod eval;
pub mod facts;
pub mod input;
pub mod model;
pub mod outcome;
pub mod policy;
pub mod report;
