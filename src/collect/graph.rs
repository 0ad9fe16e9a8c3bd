//! Microsoft Graph: independent GETs travel together in `$batch` (at most 20 per batch), an
//! inner 429/5xx is retried in a later batch after its Retry-After, and every list is followed
//! to its last page. The normalisers turn Graph shapes into facts sections.

use super::http::{CallError, Headers, Http};
use super::norm::{arr, int, opt_str, req_str, strings};
use crate::facts::apis::Api;
use crate::facts::sections::{
    DirectoryRoleAssignment, Group, License, MdiHealthIssue, MdiSensor, MdiSensors, Operator,
    OperatorSource, ServicePlan, Tenant,
};
use futures::future::join_all;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use url::Url;

/// Graph's limit of requests per `$batch`.
pub const MAX_BATCH: usize = 20;

/// One GET to put in a batch: a path relative to `/v1.0` (with its query), whether the
/// answer is a list whose pages must all be read, and the headers it needs.
#[derive(Debug, Clone)]
pub struct GraphGet {
    pub path: String,
    pub list: bool,
    pub headers: Headers,
}

/// The header of Graph's advanced queries: "ConsistencyLevel | eventual. This header and
/// `$count` are required when using the `$search`, `$filter`, `$orderby`, or OData cast query
/// parameters" (microsoft-graph-docs-contrib api-reference/v1.0/api/user-list-transitivememberof.md).
pub const ADVANCED_QUERY: Headers = &[("ConsistencyLevel", "eventual")];

impl GraphGet {
    pub fn one(path: impl Into<String>) -> Self {
        GraphGet {
            path: path.into(),
            list: false,
            headers: &[],
        }
    }
    pub fn list(path: impl Into<String>) -> Self {
        GraphGet {
            path: path.into(),
            list: true,
            headers: &[],
        }
    }
    /// A list read as an advanced query (the path must carry `$count=true`).
    pub fn advanced_list(path: impl Into<String>) -> Self {
        GraphGet {
            headers: ADVANCED_QUERY,
            ..GraphGet::list(path)
        }
    }
}

/// Run GETs through `$batch`; for a list, the result is the JSON array of all its items.
///
/// Inner requests Graph throttled (429) or failed with a 5xx go again together in the next
/// round, after the longest Retry-After among them, within one retry budget for the batch.
pub async fn batch(http: &Http, gets: &[GraphGet]) -> Vec<Result<Value, CallError>> {
    let url = match http.endpoints.url(Api::Graph, "/v1.0/$batch") {
        Ok(u) => u,
        Err(e) => {
            return gets
                .iter()
                .map(|_| Err(CallError::bad_url(e.clone())))
                .collect()
        }
    };
    let mut results: Vec<Option<Result<Value, CallError>>> = vec![None; gets.len()];
    let mut pending: Vec<usize> = (0..gets.len()).collect();
    let mut budget = http.budget(Api::Graph);
    while !pending.is_empty() {
        budget.attempt();
        let mut retry: Vec<(usize, Duration, CallError)> = Vec::new();
        for (i, inner) in round(http, &url, gets, &pending).await {
            match inner {
                Inner::Done(r) => results[i] = Some(r),
                Inner::Again { after, error } => retry.push((i, budget.delay(after), error)),
            }
        }
        let delay = retry.iter().map(|r| r.1).max().unwrap_or_default();
        if retry.is_empty() {
            break;
        }
        if let Err(why) = budget.wait(delay, retry.len()).await {
            for (i, _, mut e) in retry {
                e.message = format!("{} ({why})", e.message);
                results[i] = Some(Err(e));
            }
            break;
        }
        pending = retry.into_iter().map(|r| r.0).collect();
    }
    let results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(CallError::malformed("no answer"))));
    join_all(
        gets.iter()
            .zip(results)
            .map(|(get, r)| all_pages(http, get, r)),
    )
    .await
}

/// What one inner request came to in a round.
enum Inner {
    Done(Result<Value, CallError>),
    /// Throttled or a server error: send it again, after Retry-After when Graph gave one.
    Again {
        after: Option<Duration>,
        error: CallError,
    },
}

/// One round: the pending requests in `$batch`es of at most [`MAX_BATCH`], sent at once.
async fn round(
    http: &Http,
    url: &Url,
    gets: &[GraphGet],
    pending: &[usize],
) -> Vec<(usize, Inner)> {
    let answers = join_all(pending.chunks(MAX_BATCH).map(|chunk| async move {
        // "To use advanced query capabilities in batch requests, specify the ConsistencyLevel
        // header in the JSON body of the POST request" (concepts/aad-advanced-queries.md).
        let body = json!({
            "requests": chunk.iter().map(|&i| {
                let mut r = json!({"id": i.to_string(), "method": "GET", "url": gets[i].path});
                if !gets[i].headers.is_empty() {
                    r["headers"] = gets[i].headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                }
                r
            }).collect::<Vec<_>>()
        });
        let answer = http.json(Api::Graph, Method::POST, url, Some(&body)).await;
        (chunk, answer)
    }))
    .await;
    let mut out = Vec::with_capacity(pending.len());
    for (chunk, answer) in answers {
        let responses = answer
            .and_then(|b| b.ok_or_else(|| CallError::malformed("empty $batch response")))
            .and_then(|mut b| match b.get_mut("responses").map(Value::take) {
                Some(Value::Array(r)) => Ok(r),
                _ => Err(CallError::malformed(
                    "$batch response has no `responses` array",
                )),
            });
        for &i in chunk {
            let inner = match &responses {
                Ok(responses) => inner(http, i, responses),
                Err(e) => Inner::Done(Err(e.clone())),
            };
            out.push((i, inner));
        }
    }
    out
}

/// The answer to request `i` among a `$batch`'s responses.
fn inner(http: &Http, i: usize, responses: &[Value]) -> Inner {
    let id = i.to_string();
    let Some(r) = responses
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(&id))
    else {
        return Inner::Done(Err(CallError::malformed(format!(
            "$batch response lacks the answer to request {i}"
        ))));
    };
    // Not `as u16`: a status of 65736 would wrap to 200.
    let status = r
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let body = r.get("body");
    let error = || {
        let raw = body.map(|b| b.to_string()).unwrap_or_default();
        http.error_from_parts(status, body, raw.as_bytes())
    };
    match status {
        200..=299 => Inner::Done(Ok(body.cloned().unwrap_or(Value::Null))),
        429 | 500..=599 => Inner::Again {
            after: inner_retry_after(r),
            error: error(),
        },
        _ => Inner::Done(Err(error())),
    }
}

/// A batched answer, with every following page of a list read (by direct GETs).
async fn all_pages(
    http: &Http,
    get: &GraphGet,
    answer: Result<Value, CallError>,
) -> Result<Value, CallError> {
    let body = answer?;
    if !get.list {
        return match body {
            Value::Object(_) => Ok(body),
            _ => Err(CallError::malformed("expected a JSON object")),
        };
    }
    let first_url = http
        .endpoints
        .url(Api::Graph, &format!("/v1.0{}", get.path))
        .map_err(CallError::bad_url)?;
    if !body.is_object() {
        return Err(CallError::malformed("expected a JSON object"));
    }
    http.rest_of_pages(Api::Graph, body, &first_url, get.headers)
        .await
        .map(Value::Array)
}

fn inner_retry_after(r: &Value) -> Option<Duration> {
    let headers = r.get("headers")?.as_object()?;
    let v = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1;
    match v {
        Value::String(s) => super::http::parse_retry_after(s),
        // try_from: a huge, negative or non-finite number must not panic.
        Value::Number(n) => n.as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok()),
        _ => None,
    }
}

/// What [`encode`] leaves as it is: RFC 3986 unreserved characters, and the OData
/// punctuation Graph reads literally in paths and `$filter` values.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'@')
    .remove(b'/')
    .remove(b':');

/// Percent-encode a path segment or OData query value (spaces as %20, never `+`).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, KEEP).to_string()
}

pub const OPERATOR_SELECT: &str = "$select=id,userPrincipalName,userType,displayName";

// ---- normalisers -------------------------------------------------------------------------

pub fn tenant(items: &Value) -> Result<Tenant, CallError> {
    let first = arr(items)?
        .first()
        .ok_or_else(|| CallError::malformed("/organization returned no organization"))?;
    Ok(Tenant {
        id: req_str(first, "id")?,
        display_name: opt_str(first, "displayName"),
    })
}

pub fn licenses(items: &Value) -> Result<Vec<License>, CallError> {
    arr(items)?.iter().map(license).collect()
}

fn license(s: &Value) -> Result<License, CallError> {
    let service_plans = s
        .get("servicePlans")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            Ok(ServicePlan {
                service_plan_id: req_str(p, "servicePlanId")?,
                service_plan_name: opt_str(p, "servicePlanName"),
                provisioning_status: req_str(p, "provisioningStatus")?,
            })
        })
        .collect::<Result<Vec<_>, CallError>>()?;
    Ok(License {
        sku_id: req_str(s, "skuId")?,
        sku_part_number: opt_str(s, "skuPartNumber"),
        capability_status: req_str(s, "capabilityStatus")?,
        prepaid_enabled: s
            .pointer("/prepaidUnits/enabled")
            .and_then(int)
            .unwrap_or(0),
        prepaid_warning: s
            .pointer("/prepaidUnits/warning")
            .and_then(int)
            .unwrap_or(0),
        consumed_units: s.get("consumedUnits").and_then(int),
        service_plans,
    })
}

pub fn operator(user: &Value, source: OperatorSource) -> Result<Operator, CallError> {
    Ok(Operator {
        id: req_str(user, "id")?,
        user_principal_name: opt_str(user, "userPrincipalName"),
        display_name: opt_str(user, "displayName"),
        user_type: opt_str(user, "userType"),
        source,
    })
}

pub fn groups(items: &Value) -> Result<Vec<Group>, CallError> {
    arr(items)?
        .iter()
        .map(|g| {
            Ok(Group {
                id: req_str(g, "id")?,
                display_name: opt_str(g, "displayName"),
                is_assignable_to_role: g.get("isAssignableToRole").and_then(Value::as_bool),
            })
        })
        .collect()
}

/// Active role assignments and eligibility schedules share one shape. They are read by
/// role (every holder of an accepted role), so only those of `principals` (the operator and
/// their role-assignable groups) are kept: the facts say what the operator holds, nothing
/// about anyone else.
pub fn role_assignments(
    items: &Value,
    principals: &[String],
) -> Result<Vec<DirectoryRoleAssignment>, CallError> {
    // A set: both lists come from the server and may be long.
    let principals: std::collections::HashSet<String> =
        principals.iter().map(|p| p.to_ascii_lowercase()).collect();
    arr(items)?
        .iter()
        .filter(|a| {
            a.get("principalId")
                .and_then(Value::as_str)
                .is_some_and(|p| principals.contains(&p.to_ascii_lowercase()))
        })
        .map(|a| {
            Ok(DirectoryRoleAssignment {
                id: req_str(a, "id")?,
                role_definition_id: req_str(a, "roleDefinitionId")?,
                principal_id: req_str(a, "principalId")?,
                directory_scope_id: opt_str(a, "directoryScopeId").unwrap_or_else(|| "/".into()),
                status: opt_str(a, "status"),
            })
        })
        .collect()
}

pub fn mdi_sensors(items: &Value) -> Result<MdiSensors, CallError> {
    let sensors = arr(items)?
        .iter()
        .map(|s| {
            Ok(MdiSensor {
                id: req_str(s, "id")?,
                display_name: opt_str(s, "displayName"),
                domain_name: opt_str(s, "domainName"),
                sensor_type: opt_str(s, "sensorType"),
                health_status: req_str(s, "healthStatus")?,
                deployment_status: req_str(s, "deploymentStatus")?,
                version: opt_str(s, "version"),
            })
        })
        .collect::<Result<Vec<_>, CallError>>()?;
    Ok(MdiSensors {
        provisioned: true,
        sensors,
    })
}

pub fn mdi_health_issues(items: &Value) -> Result<Vec<MdiHealthIssue>, CallError> {
    arr(items)?
        .iter()
        .map(|h| {
            // The published beta example spells the key `ID`.
            let id = opt_str(h, "id")
                .or_else(|| opt_str(h, "ID"))
                .ok_or_else(|| CallError::malformed("health issue without `id`"))?;
            Ok(MdiHealthIssue {
                id,
                display_name: opt_str(h, "displayName"),
                severity: req_str(h, "severity")?,
                status: req_str(h, "status")?,
                health_issue_type: opt_str(h, "healthIssueType"),
                sensor_dns_names: strings(h.get("sensorDNSNames")),
                recommendations: strings(h.get("recommendations")),
            })
        })
        .collect()
}

/// Graph's answer when Defender for Identity was never set up for the tenant: data, not error.
///
/// The sensors API answers such a tenant 403 `Forbidden` "Tenant is not onboarded to
/// Microsoft Defender for Identity", while a missing permission is a 403 with another body
/// (`UnknownError`, empty message): microsoft/zerotrustassessment
/// src/powershell/tests/Test-Assessment.41018.ps1 tells them apart the same way. Any other
/// 403 stays an error.
pub fn mdi_not_onboarded(e: &CallError) -> bool {
    let text = format!("{} {}", e.code, e.message).to_ascii_lowercase();
    match e.status {
        Some(404) => true,
        Some(400) => ["provision", "onboard", "not enabled", "no workspace"]
            .iter()
            .any(|w| text.contains(w)),
        Some(403) => e.message.to_ascii_lowercase().contains("not onboarded"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::http::ErrorCode;

    #[test]
    fn an_inner_status_beyond_u16_is_no_status_not_a_wrapped_one() {
        use crate::collect::{auth::Tokens, cloud, http::RetryPolicy, progress::Progress};
        let endpoints = cloud::Endpoints::new(cloud::Cloud::Public, None, None, None).unwrap();
        let http = Http::new(
            endpoints.clone(),
            Tokens::fixed("0123456789abcdef0123", endpoints),
            1,
            RetryPolicy::default(),
            Progress::stderr(true),
        )
        .unwrap();
        // 65736 as u16 would be 200: a success made up from a hostile number.
        for status in [json!(65736), json!(-1), json!(1e300), json!("200")] {
            let r = json!([{"id": "0", "status": status, "body": {"value": []}}]);
            match inner(&http, 0, r.as_array().unwrap()) {
                Inner::Done(Err(e)) => assert_eq!(e.status, Some(0), "{status}"),
                _ => panic!("{status} read as a success or a retry"),
            }
        }
    }

    #[test]
    fn inner_retry_after_never_panics() {
        let r = |v: Value| inner_retry_after(&json!({"headers": {"Retry-After": v}}));
        assert_eq!(r(json!(2)), Some(Duration::from_secs(2)));
        assert_eq!(r(json!("3")), Some(Duration::from_secs(3)));
        assert_eq!(r(json!(1e300)), None);
        assert_eq!(r(json!(-1)), None);
        assert_eq!(r(json!(1e9)), Some(Duration::from_secs(1_000_000_000)));
        assert_eq!(r(json!(u64::MAX)), None);
        assert_eq!(r(json!("NaN")), None);
        assert_eq!(r(json!("-inf")), None);
        assert_eq!(r(json!(null)), None);
    }

    #[test]
    fn encodes_odata() {
        assert_eq!(encode("principalId eq 'a-b'"), "principalId%20eq%20'a-b'");
        assert_eq!(encode("x+y#EXT#@c.com"), "x%2By%23EXT%23@c.com");
        assert_eq!(encode("Zoë/ü x"), "Zo%C3%AB/%C3%BC%20x");
    }

    #[test]
    fn mdi_not_onboarded_is_narrow() {
        let api = |code: &str, message: &str, status: u16| {
            CallError::new(ErrorCode::Api(code.into()), message, Some(status))
        };
        assert!(mdi_not_onboarded(&api(
            "BadRequest",
            "Tenant is not onboarded to MDI",
            400
        )));
        assert!(mdi_not_onboarded(&api("NotFound", "x", 404)));
        assert!(mdi_not_onboarded(&api(
            "Forbidden",
            "Tenant is not onboarded to Microsoft Defender for Identity",
            403
        )));
        assert!(!mdi_not_onboarded(&api("UnknownError", "", 403)));
        assert!(!mdi_not_onboarded(&api(
            "Forbidden",
            "Insufficient privileges",
            403
        )));
        assert!(!mdi_not_onboarded(&api("BadRequest", "bad filter", 400)));
    }

    #[test]
    fn role_reads_keep_the_operator_and_given_groups_only() {
        let items = json!([
            {"id": "a", "roleDefinitionId": "r", "principalId": "OP", "directoryScopeId": "/"},
            {"id": "b", "roleDefinitionId": "r", "principalId": "g1"},
            {"id": "c", "roleDefinitionId": "r", "principalId": "someone-else"},
            {"id": "d", "roleDefinitionId": "r", "principalId": "g2"},
        ]);
        let kept = role_assignments(&items, &["op".into(), "G1".into()]).unwrap();
        let ids: Vec<&str> = kept.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(kept[1].directory_scope_id, "/");
    }
}
