//! Class 2: numbers from the network that a panicking conversion would choke on. Inside
//! `$batch`, Retry-After as a huge, negative or non-finite JSON number or string; on ARM, a
//! Retry-After header beyond any duration; counts as huge floats. Every one is a section
//! error or an ignored value, never a crash.

use super::{against, collect_args, SECRETS};
use crate::fake_microsoft::scenarios::{paths, Tenant};
use crate::fake_microsoft::{Fake, Reply};
use serde_json::{json, Value};
use std::time::Duration;

/// A throttled `$batch` inner answer whose Retry-After header is `v` (JSON, not a string).
fn throttled_with(v: Value) -> Reply {
    let mut r = Reply::error(429, "TooManyRequests", "slow down");
    r.batch_headers.push(("Retry-After".into(), v));
    r
}

#[tokio::test]
async fn absurd_retry_after_values_inside_batch_and_on_arm_never_panic() {
    let mut t = Tenant::ready();
    t.get(paths::organization(), vec![throttled_with(json!(1e300))]);
    t.get(paths::skus(), vec![throttled_with(json!(-5))]);
    t.get(paths::sensors(), vec![throttled_with(json!(u64::MAX))]);
    t.get(paths::health_issues(), vec![throttled_with(json!("NaN"))]);
    let mut arm = Reply::error(429, "TooManyRequests", "slow down");
    arm.headers
        .push(("Retry-After".into(), "99999999999999999999999".into()));
    t.get(paths::settings(), vec![arm]);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(&fake, collect_args, &[], Duration::from_secs(60)).await;
    // Backoff (0.5 s, 1 s, 2 s) instead of the absurd waits, then the sections are errors.
    out.assert_bounded(2, 30, 300).assert_clean(SECRETS);
    for s in ["tenant", "licenses", "settings"] {
        assert!(out.section_code(s).is_some(), "{s} is an error");
    }
    // Each throttled inner request was tried a bounded number of times.
    assert!(fake.hits("GET", &paths::organization()) <= 4);
}

#[tokio::test]
async fn a_huge_count_is_unknown_not_saturated() {
    let mut t = Tenant::ready();
    let mut skus = t.items(&paths::skus());
    skus[0]["consumedUnits"] = json!(1e300);
    skus[0]["prepaidUnits"]["enabled"] = json!(-1e300);
    t.list(paths::skus(), skus);
    let fake = Fake::start(&t).await;
    let (out, _dir) = against(&fake, collect_args, &[], Duration::from_secs(60)).await;
    out.assert_bounded(0, 30, 300).assert_clean(SECRETS);
    let lic = &out.facts()["sections"]["licenses"]["data"][0];
    assert!(
        lic.get("consumed_units").is_none_or(Value::is_null),
        "{lic}"
    );
    assert_eq!(lic["prepaid_enabled"], 0);
}
