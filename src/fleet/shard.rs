//! `--shard I/N`: a deterministic 1/N of the targets, chosen by a hash of each target's name
//! (case-folded), so shards never overlap, together cover the fleet, and adding a target
//! moves no other target to another shard. `I` may come from `JOB_COMPLETION_INDEX`, the
//! index Kubernetes gives each pod of an Indexed Job.

use sha2::{Digest, Sha256};

/// The environment variable a Kubernetes Indexed Job sets to the pod's index
/// (https://kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode).
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Shard `index` of `count` (0 ≤ index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `I/N`, or `N` alone with `I` from `JOB_COMPLETION_INDEX` (`index_env`).
    pub fn parse(s: &str, index_env: Option<&str>) -> Result<Shard, String> {
        let (i, n) = match s.split_once('/') {
            Some((i, n)) => (i.trim().to_string(), n.trim()),
            None => match index_env {
                Some(i) if !i.trim().is_empty() => (i.trim().to_string(), s.trim()),
                _ => {
                    return Err(format!(
                        "`{s}` is not I/N (e.g. 0/4), and {INDEX_ENV} is not set to give I"
                    ))
                }
            },
        };
        let count: u32 = n
            .parse()
            .map_err(|_| format!("shard count `{n}` is not a whole number"))?;
        let index: u32 = i
            .parse()
            .map_err(|_| format!("shard index `{i}` is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count} does not exist: the index is 0-based, 0 ≤ I < N"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the target `name` belongs to this shard.
    pub fn holds(&self, name: &str) -> bool {
        let digest = Sha256::digest(name.to_ascii_lowercase().as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_any_set_of_names() {
        let names: Vec<String> = (0..200).map(|i| format!("tenant-{i}")).collect();
        for count in 1..6 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for n in &names {
                assert_eq!(shards.iter().filter(|s| s.holds(n)).count(), 1, "{n}");
            }
        }
        let s = Shard { index: 1, count: 3 };
        assert_eq!(s.holds("Contoso"), s.holds("contoso"));
    }

    #[test]
    fn parse_forms_and_refusals() {
        assert_eq!(Shard::parse("1/4", None), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(
            Shard::parse("4", Some("3")),
            Ok(Shard { index: 3, count: 4 })
        );
        assert!(Shard::parse("4/4", None).unwrap_err().contains("0-based"));
        assert!(Shard::parse("0/0", None).is_err());
        assert!(Shard::parse("4", None).unwrap_err().contains(INDEX_ENV));
        assert!(Shard::parse("a/2", None).is_err());
    }
}
