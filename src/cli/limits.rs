//! The flags that set xdrguard's limits: bytes read per kind of input (global, every command
//! that reads files) and what one server may make `collect` read (with the source options).
//! Defaults and meanings live where the limits are enforced (`input::limits`,
//! `collect::http::Limits`); the README's Security section lists them all.

use crate::collect::http::Limits;
use crate::input::limits::{self, InputKind};
use clap::Args;

/// A size in bytes: `1048576`, `512KiB`, `256MiB`, `1GiB` (also `K`/`M`/`G`, powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 268435456 or 256MiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    n.checked_mul(1u64 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size"))
}

/// How much of each kind of input file xdrguard reads at most.
#[derive(Debug, Clone, Args)]
pub struct InputLimitArgs {
    /// Largest facts document read (default 256MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_facts_bytes: Option<u64>,
    /// Largest JSON report read by --baseline and diff (default 256MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_report_bytes: Option<u64>,
    /// Largest policy file read (default 16MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_policy_bytes: Option<u64>,
    /// Largest policy test file read (default 16MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_policy_test_bytes: Option<u64>,
    /// Largest config read (default 16MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_config_bytes: Option<u64>,
    /// Largest exceptions file read (default 16MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_exceptions_bytes: Option<u64>,
    /// Largest fleet file read (default 16MiB)
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_fleet_bytes: Option<u64>,
}

impl InputLimitArgs {
    /// Put the limits given into force for this run.
    pub fn apply(&self) {
        let given = [
            (InputKind::Facts, self.max_facts_bytes),
            (InputKind::Report, self.max_report_bytes),
            (InputKind::Policy, self.max_policy_bytes),
            (InputKind::PolicyTest, self.max_policy_test_bytes),
            (InputKind::Config, self.max_config_bytes),
            (InputKind::Exceptions, self.max_exceptions_bytes),
            (InputKind::Fleet, self.max_fleet_bytes),
        ];
        for (kind, bytes) in given {
            if let Some(b) = bytes {
                limits::set(kind, b);
            }
        }
    }
}

/// What one server may make `collect` read; each exceeded limit is that section's error.
#[derive(Debug, Clone, Args)]
pub struct CollectLimitArgs {
    /// Largest response body read, after decompression (default 64MiB)
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, default_value = "64MiB")]
    pub max_response_bytes: u64,
    /// Most pages read of one list
    #[arg(long, value_name = "N", default_value_t = Limits::default().pages)]
    pub max_pages: usize,
    /// Most items read of one list, over all its pages
    #[arg(long, value_name = "N", default_value_t = Limits::default().items)]
    pub max_items: usize,
    /// Most requests one answer may fan out into (e.g. role definitions read one by one)
    #[arg(long, value_name = "N", default_value_t = Limits::default().fan_out)]
    pub max_fan_out: usize,
}

impl CollectLimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            response_bytes: self.max_response_bytes,
            pages: self.max_pages.max(1),
            items: self.max_items,
            fan_out: self.max_fan_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("99999999999999999999G").is_err());
        assert!(parse_bytes("1TiB").is_err());
        assert!(parse_bytes("99999999999999999999G").is_err());
        assert!(parse_bytes("-1").is_err());
        assert_eq!(
            parse_bytes("64MiB"),
            Ok(Limits::default().response_bytes),
            "the --max-response-bytes default"
        );
    }
}
