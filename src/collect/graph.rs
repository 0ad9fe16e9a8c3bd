//! Microsoft Graph: independent GETs travel together in `$batch` (at most 20 per batch), an
//! inner 429/5xx is retried in a later batch after its Retry-After, and every list is followed
//! to its last page. The normalisers turn Graph shapes into facts sections.

use super::http::{CallError, Http};
use super::norm::{arr, int, opt_str, req_str, strings};
use crate::facts::apis::Api;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Graph's limit of requests per `$batch`.
pub const MAX_BATCH: usize = 20;

/// One GET to put in a batch: a path relative to `/v1.0` (with its query), and whether the
/// answer is a list whose pages must all be read.
#[derive(Debug, Clone)]
pub struct GraphGet {
    pub path: String,
    pub list: bool,
}

impl GraphGet {
    pub fn one(path: impl Into<String>) -> Self {
        GraphGet {
            path: path.into(),
            list: false,
        }
    }
    pub fn list(path: impl Into<String>) -> Self {
        GraphGet {
            path: path.into(),
            list: true,
        }
    }
}

/// Run GETs through `$batch`; for a list, the result is the JSON array of all its items.
pub async fn batch(http: &Http, gets: &[GraphGet]) -> Vec<Result<Value, CallError>> {
    let mut results: Vec<Option<Result<Value, CallError>>> = vec![None; gets.len()];
    let mut pending: Vec<usize> = (0..gets.len()).collect();
    let mut round = 0u32;
    let mut waited = Duration::ZERO;
    let batch_url = match http.endpoints.url(Api::Graph, "/v1.0/$batch") {
        Ok(u) => u,
        Err(e) => {
            return gets
                .iter()
                .map(|_| Err(CallError::new("BadUrl", e.clone(), None)))
                .collect()
        }
    };
    while !pending.is_empty() {
        round += 1;
        let chunks: Vec<Vec<usize>> = pending.chunks(MAX_BATCH).map(<[usize]>::to_vec).collect();
        let answers = join_all(chunks.iter().map(|chunk| {
            let body = json!({
                "requests": chunk.iter().map(|&i| json!({
                    "id": i.to_string(),
                    "method": "GET",
                    "url": gets[i].path,
                })).collect::<Vec<_>>()
            });
            let url = batch_url.clone();
            async move {
                (
                    chunk,
                    http.json(Api::Graph, Method::POST, &url, Some(&body)).await,
                )
            }
        }))
        .await;

        let mut retry: Vec<(usize, Duration, CallError)> = Vec::new();
        for (chunk, answer) in answers {
            let inner = match answer
                .and_then(|b| b.ok_or_else(|| CallError::malformed("empty $batch response")))
            {
                Ok(b) => b,
                Err(e) => {
                    for &i in chunk {
                        results[i] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            let Some(responses) = inner.get("responses").and_then(Value::as_array) else {
                for &i in chunk {
                    results[i] = Some(Err(CallError::malformed(
                        "$batch response has no `responses` array",
                    )));
                }
                continue;
            };
            for &i in chunk {
                let r = responses
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(&i.to_string()));
                let Some(r) = r else {
                    results[i] = Some(Err(CallError::malformed(format!(
                        "$batch response lacks the answer to request {i}"
                    ))));
                    continue;
                };
                let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
                let body = r.get("body");
                match status {
                    200..=299 => results[i] = Some(Ok(body.cloned().unwrap_or(Value::Null))),
                    429 | 503 | 500..=599 => {
                        let after = inner_retry_after(r).unwrap_or_else(|| {
                            http.policy()
                                .base_backoff
                                .saturating_mul(1 << (round - 1).min(10))
                        });
                        let raw = body.map(|b| b.to_string()).unwrap_or_default();
                        retry.push((
                            i,
                            after,
                            http.error_from_parts(status, body, raw.as_bytes()),
                        ));
                    }
                    _ => {
                        let raw = body.map(|b| b.to_string()).unwrap_or_default();
                        results[i] = Some(Err(http.error_from_parts(status, body, raw.as_bytes())));
                    }
                }
            }
        }
        if retry.is_empty() {
            break;
        }
        let delay = retry.iter().map(|r| r.1).max().unwrap_or_default();
        let policy = http.policy();
        let give_up = if round >= policy.max_attempts {
            Some(format!("gave up after {round} attempts"))
        } else if waited + delay > policy.max_wait {
            Some(format!(
                "gave up after {round} attempt(s): waiting {}s more would exceed the retry budget of {}s",
                delay.as_secs_f64().ceil(),
                policy.max_wait.as_secs()
            ))
        } else {
            None
        };
        if let Some(why) = give_up {
            for (i, _, mut e) in retry {
                e.message = format!("{} ({why})", e.message);
                results[i] = Some(Err(e));
            }
            break;
        }
        tracing::info!(
            requests = retry.len(),
            delay_ms = delay.as_millis() as u64,
            "retrying throttled $batch requests"
        );
        for _ in &retry {
            http.count_retry(Api::Graph);
        }
        tokio::time::sleep(delay).await;
        waited += delay;
        pending = retry.into_iter().map(|r| r.0).collect();
    }

    // Lists: read every following page (direct GETs, concurrently across lists).
    let finished = join_all(results.into_iter().enumerate().map(|(i, r)| async move {
        let r = r.unwrap_or_else(|| Err(CallError::malformed("no answer")));
        match r {
            Ok(body) if gets[i].list => {
                let first_url = http
                    .endpoints
                    .url(Api::Graph, &format!("/v1.0{}", gets[i].path))
                    .map_err(|e| CallError::new("BadUrl", e, None))?;
                if !body.is_object() {
                    return Err(CallError::malformed("expected a JSON object"));
                }
                http.rest_of_pages(Api::Graph, body, &first_url)
                    .await
                    .map(Value::Array)
            }
            Ok(body) if !body.is_object() => Err(CallError::malformed("expected a JSON object")),
            other => other,
        }
    }))
    .await;
    finished
}

fn inner_retry_after(r: &Value) -> Option<Duration> {
    let headers = r.get("headers")?.as_object()?;
    let v = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1;
    match v {
        Value::String(s) => super::http::parse_retry_after(s),
        Value::Number(n) => n
            .as_f64()
            .filter(|s| *s >= 0.0)
            .map(Duration::from_secs_f64),
        _ => None,
    }
}

/// Percent-encode a path segment or OData query value (spaces as %20, never `+`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'\''
            | b'('
            | b')'
            | b'@'
            | b'/'
            | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub const OPERATOR_SELECT: &str = "$select=id,userPrincipalName,userType,displayName";

// ---- normalisers -------------------------------------------------------------------------

pub fn tenant(items: &Value) -> Result<Value, CallError> {
    let first = arr(items)?
        .first()
        .ok_or_else(|| CallError::malformed("/organization returned no organization"))?;
    Ok(json!({"id": req_str(first, "id")?, "display_name": opt_str(first, "displayName")}))
}

pub fn licenses(items: &Value) -> Result<Value, CallError> {
    let mut out = Vec::new();
    for s in arr(items)? {
        let plans = s
            .get("servicePlans")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                Ok(json!({
                    "service_plan_id": req_str(p, "servicePlanId")?,
                    "service_plan_name": opt_str(p, "servicePlanName"),
                    "provisioning_status": req_str(p, "provisioningStatus")?,
                }))
            })
            .collect::<Result<Vec<_>, CallError>>()?;
        out.push(json!({
            "sku_id": req_str(s, "skuId")?,
            "sku_part_number": opt_str(s, "skuPartNumber"),
            "capability_status": req_str(s, "capabilityStatus")?,
            "prepaid_enabled": s.pointer("/prepaidUnits/enabled").and_then(int).unwrap_or(0),
            "consumed_units": s.get("consumedUnits").and_then(int),
            "service_plans": plans,
        }));
    }
    Ok(Value::Array(out))
}

pub fn operator(user: &Value, source: &str) -> Result<Value, CallError> {
    Ok(json!({
        "id": req_str(user, "id")?,
        "user_principal_name": opt_str(user, "userPrincipalName"),
        "display_name": opt_str(user, "displayName"),
        "user_type": opt_str(user, "userType"),
        "source": source,
    }))
}

pub fn groups(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|g| {
            Ok(json!({
                "id": req_str(g, "id")?,
                "display_name": opt_str(g, "displayName"),
                "is_assignable_to_role": g.get("isAssignableToRole").and_then(Value::as_bool),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Active role assignments and eligibility schedules share one shape.
pub fn role_assignments(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|a| {
            Ok(json!({
                "id": req_str(a, "id")?,
                "role_definition_id": req_str(a, "roleDefinitionId")?,
                "principal_id": req_str(a, "principalId")?,
                "directory_scope_id": opt_str(a, "directoryScopeId").unwrap_or_else(|| "/".into()),
                "status": opt_str(a, "status"),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

pub fn mdi_sensors(items: &Value) -> Result<Value, CallError> {
    let sensors = arr(items)?
        .iter()
        .map(|s| {
            Ok(json!({
                "id": req_str(s, "id")?,
                "display_name": opt_str(s, "displayName"),
                "domain_name": opt_str(s, "domainName"),
                "sensor_type": opt_str(s, "sensorType"),
                "health_status": req_str(s, "healthStatus")?,
                "deployment_status": req_str(s, "deploymentStatus")?,
                "version": opt_str(s, "version"),
            }))
        })
        .collect::<Result<Vec<_>, CallError>>()?;
    Ok(json!({"provisioned": true, "sensors": sensors}))
}

pub fn mdi_health_issues(items: &Value) -> Result<Value, CallError> {
    arr(items)?
        .iter()
        .map(|h| {
            // The published beta example spells the key `ID`.
            let id = opt_str(h, "id")
                .or_else(|| opt_str(h, "ID"))
                .ok_or_else(|| CallError::malformed("health issue without `id`"))?;
            Ok(json!({
                "id": id,
                "display_name": opt_str(h, "displayName"),
                "severity": req_str(h, "severity")?,
                "status": req_str(h, "status")?,
                "health_issue_type": opt_str(h, "healthIssueType"),
                "sensor_dns_names": strings(h.get("sensorDNSNames")),
                "recommendations": strings(h.get("recommendations")),
            }))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// Graph's answer when Defender for Identity was never set up for the tenant: data, not error.
pub fn mdi_not_provisioned(e: &CallError) -> bool {
    let text = format!("{} {}", e.code, e.message).to_ascii_lowercase();
    match e.status {
        Some(404) => true,
        Some(400) => ["provision", "onboard", "not enabled", "no workspace"]
            .iter()
            .any(|w| text.contains(w)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_odata() {
        assert_eq!(encode("principalId eq 'a-b'"), "principalId%20eq%20'a-b'");
        assert_eq!(encode("x+y#EXT#@c.com"), "x%2By%23EXT%23@c.com");
    }

    #[test]
    fn mdi_not_provisioned_is_narrow() {
        assert!(mdi_not_provisioned(&CallError::new(
            "BadRequest",
            "Tenant is not onboarded to MDI",
            Some(400)
        )));
        assert!(mdi_not_provisioned(&CallError::new(
            "NotFound",
            "x",
            Some(404)
        )));
        assert!(!mdi_not_provisioned(&CallError::new(
            "Forbidden",
            "not onboarded",
            Some(403)
        )));
        assert!(!mdi_not_provisioned(&CallError::new(
            "BadRequest",
            "bad filter",
            Some(400)
        )));
    }
}
