//! Fleets: many targets (tenant + workspace) audited from one fleet file, concurrently, into
//! one report. `file` reads the fleet file, `shard` picks a machine's share, `run` audits the
//! targets, `report` builds the fleet report from their reports, `merge` builds it from
//! reports written elsewhere (shards), `catalog` names the policies a report was judged by.

pub mod catalog;
pub mod file;
pub mod merge;
pub mod report;
pub mod run;
pub mod shard;

pub use file::{Fleet, TargetSpec};
pub use report::{FleetReport, TargetRow, TargetVerdict};
pub use shard::Shard;
