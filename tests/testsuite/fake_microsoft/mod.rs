//! A fake Microsoft (Graph, ARM and Log Analytics on one loopback wiremock server) for the
//! collection tests and the benchmark. Payloads are Microsoft's published examples from
//! `tests/fixtures/microsoft/`, adjusted per scenario. Every request is logged — `$batch`
//! inner requests too — so tests can prove read-only access, no duplicates and paging.
//!
//! Behaviour Microsoft documents beyond canned answers (each cited where it is implemented):
//! ARM matches resource paths case-insensitively; Graph's role-assignment and
//! role-eligibility `$filter`s on `principalId` are direct-only (see [`Directory`]); an OData
//! cast on a membership list is an advanced query (see [`Tenant::strict_advanced_queries`](scenarios::Tenant)).

#![allow(dead_code)]

pub mod scenarios;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The bearer token the tests send; it must never appear in any output.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJ.test-token-Zm9vYmFyLXNlY3JldC12YWx1ZQ";

/// One canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
    pub headers: Vec<(String, String)>,
    /// Answer this late (a slow or hanging server).
    pub delay: Option<Duration>,
    /// Headers of a `$batch` inner answer given as JSON other than strings (a hostile server's
    /// `"Retry-After": 1e300`); Graph itself sends strings.
    pub batch_headers: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Raw(String),
    /// Bytes as they are (e.g. gzip-encoded, with a `Content-Encoding` header).
    Bytes(Vec<u8>),
    Empty,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Reply {
            status,
            body: Body::Json(v),
            headers: vec![],
            delay: None,
            batch_headers: vec![],
        }
    }
    pub fn ok(v: Value) -> Self {
        Self::json(200, v)
    }
    pub fn raw(status: u16, text: &str) -> Self {
        Reply {
            status,
            body: Body::Raw(text.into()),
            headers: vec![],
            delay: None,
            batch_headers: vec![],
        }
    }
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            body: Body::Empty,
            headers: vec![],
            delay: None,
            batch_headers: vec![],
        }
    }
    /// An error in the `{"error":{"code","message"}}` shape all three APIs use.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!({"error": {"code": code, "message": message}}))
    }
    /// Raw bytes with extra headers (a hostile server's gzip bomb).
    pub fn bytes(status: u16, body: Vec<u8>, headers: &[(&str, &str)]) -> Self {
        let mut r = Self::empty(status);
        r.body = Body::Bytes(body);
        r.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        r
    }
    /// This answer, `d` late.
    pub fn after(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }
    /// 429 with Retry-After, shaped like Graph's published throttling answer.
    pub fn throttled(retry_after_secs: u32) -> Self {
        let mut r = Self::json(429, fixture("errors/graph.429.TooManyRequests.json"));
        r.headers
            .push(("Retry-After".into(), retry_after_secs.to_string()));
        r
    }
}

/// A route's answers: a fixed sequence (the last one repeats), or a list split over pages.
#[derive(Debug, Clone)]
pub enum Route {
    Replies(Vec<Reply>),
    Pages {
        items: Vec<Value>,
        pages: usize,
        graph: bool,
    },
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// Method, decoded path and sorted decoded query: how routes are matched.
    pub key: String,
    /// Whether it came inside a Graph `$batch`.
    pub in_batch: bool,
    pub authorization: Option<String>,
    pub body: Option<Value>,
    /// Request headers, names lowercased (for `$batch` inner requests: the inner `headers`).
    pub headers: BTreeMap<String, String>,
}

/// The tenant's directory role assignments and PIM eligibilities, for answering the
/// `$filter`s Graph documents on `roleManagement/directory/roleAssignments` and
/// `roleEligibilitySchedules` when no canned route matches. A filter on `principalId`
/// matches the assignment's own principal only: "if a user is assigned a Microsoft Entra role
/// through group membership ... [the assignment] will list the group's ID as the
/// principalId" (microsoft-graph-docs-contrib
/// api-reference/beta/api/rbacapplication-list-transitiveroleassignments.md), so a user's
/// `principalId eq` answer never contains what a group holds. `in` is answered like `eq`
/// over each value ("The `in` operator is supported by default whenever `eq` operator is
/// supported by default", concepts/aad-advanced-queries.md).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// unifiedRoleAssignment objects (`principalId`, `roleDefinitionId`, `directoryScopeId`).
    pub role_assignments: Vec<Value>,
    /// unifiedRoleEligibilitySchedule objects.
    pub role_eligibilities: Vec<Value>,
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, (Vec<Reply>, usize)>>,
    log: Mutex<Vec<Logged>>,
    misses: Mutex<Vec<String>>,
    delay: Mutex<Duration>,
    directory: Mutex<Option<Directory>>,
    strict_advanced_queries: Mutex<bool>,
}

/// Variables a test's child must not inherit: Azure credentials, and a log filter.
pub const FOREIGN_ENV: &[&str] = &[
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "RUST_LOG",
];

/// The running fake.
pub struct Fake {
    pub server: MockServer,
    state: Arc<State>,
}

/// Route key of a URL: `METHOD /path?a=1&b=2` with the query decoded and sorted.
pub fn key(method: &str, url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let q = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    if q.is_empty() {
        format!("{method} {}", url.path())
    } else {
        format!("{method} {}?{q}", url.path())
    }
}

/// The key routes are matched by: ARM paths (`/subscriptions/…`) lowercased, because "resource
/// names are case-insensitive unless noted" (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)
/// and ARM's common `resourceGroupName` parameter is "The name of the resource group. The name
/// is case insensitive." (azure-rest-api-specs specification/common-types/resource-management/v5/types.json).
/// Query strings and Graph / Log Analytics paths keep their case.
pub fn route_key(k: &str) -> String {
    let Some((method, rest)) = k.split_once(' ') else {
        return k.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if !path.to_ascii_lowercase().starts_with("/subscriptions/") {
        return k.to_string();
    }
    match query {
        Some(q) => format!("{method} {}?{q}", path.to_ascii_lowercase()),
        None => format!("{method} {}", path.to_ascii_lowercase()),
    }
}

/// Route key of a path written in a test (spaces and quotes allowed).
pub fn key_of(method: &str, path_and_query: &str) -> String {
    key(
        method,
        &Url::parse(&format!("http://fake{path_and_query}")).expect("test path parses"),
    )
}

struct Responder(Arc<State>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let method = req.method.as_str().to_string();
        let k = key(&method, &req.url);
        let authorization = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body: Option<Value> = serde_json::from_slice(&req.body).ok();
        let headers: BTreeMap<String, String> = req
            .headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        self.0.log.lock().unwrap().push(Logged {
            method: method.clone(),
            key: k.clone(),
            in_batch: false,
            authorization: authorization.clone(),
            body: body.clone(),
            headers: headers.clone(),
        });
        let delay = *self.0.delay.lock().unwrap();
        if k == "POST /v1.0/$batch" {
            self.batch(body.as_ref(), authorization).set_delay(delay)
        } else {
            let reply = self.0.answer(&k, &req.url, &headers);
            to_template(&reply).set_delay(reply.delay.unwrap_or_default().max(delay))
        }
    }
}

impl Responder {
    fn batch(&self, body: Option<&Value>, authorization: Option<String>) -> ResponseTemplate {
        let Some(requests) = body
            .and_then(|b| b.get("requests"))
            .and_then(Value::as_array)
        else {
            return to_template(&Reply::error(
                400,
                "BadRequest",
                "Invalid batch payload format.",
            ));
        };
        if requests.len() > 20 {
            return to_template(&Reply::error(
                400,
                "BadRequest",
                "Number of batch requests exceeds 20.",
            ));
        }
        let mut responses = Vec::new();
        for r in requests {
            let id = r.get("id").cloned().unwrap_or(Value::Null);
            let method = r
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let rel = r.get("url").and_then(Value::as_str).unwrap_or("");
            let rel = if rel.starts_with('/') {
                rel.to_string()
            } else {
                format!("/{rel}")
            };
            let url = Url::parse(&format!("http://fake/v1.0{rel}")).expect("inner url");
            let k = key(&method, &url);
            // "To use advanced query capabilities in batch requests, specify the
            // ConsistencyLevel header in the JSON body of the POST request."
            // (microsoft-graph-docs-contrib concepts/aad-advanced-queries.md)
            let inner_headers: BTreeMap<String, String> = r
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .filter_map(|(n, v)| {
                            Some((n.to_ascii_lowercase(), v.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.0.log.lock().unwrap().push(Logged {
                method: method.clone(),
                key: k.clone(),
                in_batch: true,
                authorization: authorization.clone(),
                body: r.get("body").cloned(),
                headers: inner_headers.clone(),
            });
            let reply = self.0.answer(&k, &url, &inner_headers);
            let headers: serde_json::Map<String, Value> =
                std::iter::once(("Content-Type".to_string(), json!("application/json")))
                    .chain(reply.headers.iter().map(|(h, v)| (h.clone(), json!(v))))
                    .chain(reply.batch_headers.iter().cloned())
                    .collect();
            let body = match &reply.body {
                Body::Json(v) => v.clone(),
                // Graph wraps a non-JSON inner body as a string.
                Body::Raw(s) => Value::String(s.clone()),
                Body::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
                Body::Empty => Value::Null,
            };
            responses
                .push(json!({"id": id, "status": reply.status, "headers": headers, "body": body}));
        }
        ResponseTemplate::new(200).set_body_json(json!({"responses": responses}))
    }
}

impl State {
    /// The answer to one request: Graph's advanced-query rule first, then the canned route,
    /// then the directory's role filters; anything else is a miss (404 `NoRoute`).
    fn answer(&self, k: &str, url: &Url, headers: &BTreeMap<String, String>) -> Reply {
        let count = url.query_pairs().any(|(n, v)| n == "$count" && v == "true");
        if *self.strict_advanced_queries.lock().unwrap() && is_odata_cast(url.path()) {
            let eventual = headers
                .get("consistencylevel")
                .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
            if !eventual || !count {
                return advanced_query_required();
            }
        }
        let mut reply = match self.canned(k) {
            Some(r) => r,
            None => match self.directory_answer(url) {
                Some(r) => r,
                None => {
                    self.misses.lock().unwrap().push(k.to_string());
                    return Reply::error(404, "NoRoute", &format!("the fake has no route for {k}"));
                }
            },
        };
        // An advanced query with `$count=true` carries `@odata.count` (user-list-transitivememberof.md, examples 4 and 5).
        if count {
            if let Body::Json(v) = &mut reply.body {
                if let (Some(n), None) = (
                    v.get("value").and_then(Value::as_array).map(Vec::len),
                    v.get("@odata.nextLink"),
                ) {
                    v["@odata.count"] = json!(n);
                }
            }
        }
        reply
    }

    fn canned(&self, k: &str) -> Option<Reply> {
        let mut routes = self.routes.lock().unwrap();
        let (replies, used) = routes.get_mut(&route_key(k))?;
        let r = replies[(*used).min(replies.len() - 1)].clone();
        *used += 1;
        Some(r)
    }

    /// `GET /v1.0/roleManagement/directory/{roleAssignments|roleEligibilitySchedules}?$filter=…`
    /// over the tenant's [`Directory`]; `None` for any other request or filter shape.
    fn directory_answer(&self, url: &Url) -> Option<Reply> {
        let dir = self.directory.lock().unwrap().clone()?;
        let items = match url.path() {
            "/v1.0/roleManagement/directory/roleAssignments" => dir.role_assignments,
            "/v1.0/roleManagement/directory/roleEligibilitySchedules" => dir.role_eligibilities,
            _ => return None,
        };
        let mut pairs = url.query_pairs();
        let (name, filter) = pairs.next()?;
        if name != "$filter" || pairs.next().is_some() {
            return None;
        }
        let (property, values) = parse_filter(&filter)?;
        let matching: Vec<Value> = items
            .into_iter()
            .filter(|a| {
                a.get(property)
                    .and_then(Value::as_str)
                    .is_some_and(|p| values.iter().any(|v| v.eq_ignore_ascii_case(p)))
            })
            .collect();
        Some(Reply::ok(json!({"value": matching})))
    }
}

/// A membership list cast to a type, e.g. `/users/{id}/transitiveMemberOf/microsoft.graph.group`.
fn is_odata_cast(path: &str) -> bool {
    [
        "/memberOf/microsoft.graph.",
        "/transitiveMemberOf/microsoft.graph.",
    ]
    .iter()
    .any(|seg| path.contains(seg))
}

/// Graph's answer to an advanced query sent without its parameters: "If a property or query
/// parameter in the URL is supported only in advanced queries but either the ConsistencyLevel
/// header or the `$count=true` query string is missing, the request returns an error", shown
/// there as 400 with code `Request_UnsupportedQuery`; an OData cast on a membership list is
/// listed among the "Query scenarios that require advanced query capabilities"
/// (microsoft-graph-docs-contrib concepts/aad-advanced-queries.md). The message text for a
/// cast is not published; this one follows the published endsWith message.
fn advanced_query_required() -> Reply {
    Reply::error(
        400,
        "Request_UnsupportedQuery",
        "OData cast is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    )
}

/// `principalId eq 'x'`, `principalId in ('x','y')` (and the same for `roleDefinitionId`).
fn parse_filter(f: &str) -> Option<(&'static str, Vec<String>)> {
    let f = f.trim();
    let (prop, rest) = f.split_once(char::is_whitespace)?;
    let property = match prop {
        "principalId" => "principalId",
        "roleDefinitionId" => "roleDefinitionId",
        _ => return None,
    };
    let rest = rest.trim_start();
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim();
        Some(s.strip_prefix('\'')?.strip_suffix('\'')?.to_string())
    };
    if let Some(v) = rest.strip_prefix("eq ") {
        return Some((property, vec![quoted(v)?]));
    }
    let list = rest.strip_prefix("in ")?.trim();
    let inner = list.strip_prefix('(')?.strip_suffix(')')?;
    let values = inner.split(',').map(quoted).collect::<Option<Vec<_>>>()?;
    (!values.is_empty()).then_some((property, values))
}

fn to_template(r: &Reply) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(r.status);
    for (h, v) in &r.headers {
        t = t.insert_header(h.as_str(), v.as_str());
    }
    match &r.body {
        Body::Json(v) => t.set_body_raw(serde_json::to_vec(v).unwrap(), "application/json"),
        Body::Raw(s) => t.set_body_raw(s.clone().into_bytes(), "application/json"),
        Body::Bytes(b) => t.set_body_raw(b.clone(), "application/json"),
        Body::Empty => t,
    }
}

impl Fake {
    /// Start a server and mount a tenant's routes.
    pub async fn start(tenant: &scenarios::Tenant) -> Fake {
        let server = MockServer::start().await;
        let state = Arc::new(State::default());
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        *state.directory.lock().unwrap() = tenant.directory.clone();
        *state.strict_advanced_queries.lock().unwrap() = tenant.strict_advanced_queries;
        let fake = Fake { server, state };
        fake.mount(tenant);
        fake
    }

    /// Point `c` at this fake with the test token, as the documented `XDRGUARD_ACCESS_TOKEN`
    /// and `XDRGUARD_*_URL` variables do; no Azure credential variable leaks in.
    pub fn point(&self, c: &mut std::process::Command) {
        c.env("XDRGUARD_ACCESS_TOKEN", TOKEN)
            .env("XDRGUARD_GRAPH_URL", self.uri())
            .env("XDRGUARD_ARM_URL", self.uri())
            .env("XDRGUARD_LOG_ANALYTICS_URL", self.uri())
            .env("NO_COLOR", "1");
        for v in FOREIGN_ENV {
            c.env_remove(v);
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Answer `method path` with `replies` from now on (for answers that name the fake's own
    /// address, e.g. a nextLink, known only once it runs).
    pub fn set_route(&self, method: &str, path: &str, replies: Vec<Reply>) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(route_key(&key_of(method, path)), (replies, 0));
    }

    /// Add latency to every answer (the benchmark's 50 ms round trip).
    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    fn mount(&self, tenant: &scenarios::Tenant) {
        let mut routes = self.state.routes.lock().unwrap();
        for ((method, path), route) in &tenant.routes {
            match route {
                Route::Replies(r) => {
                    routes.insert(route_key(&key_of(method, path)), (r.clone(), 0));
                }
                Route::Pages {
                    items,
                    pages,
                    graph,
                } => {
                    let per = items.len().div_ceil(*pages).max(1);
                    let chunks: Vec<&[Value]> = items.chunks(per).collect();
                    let n = chunks.len().max(1);
                    let page_path = |i: usize| {
                        if i == 0 {
                            path.clone()
                        } else {
                            let sep = if path.contains('?') { '&' } else { '?' };
                            let tok = if *graph { "$skiptoken" } else { "$skipToken" };
                            format!("{path}{sep}{tok}=page{}", i + 1)
                        }
                    };
                    for i in 0..n {
                        let mut body =
                            json!({"value": chunks.get(i).map(|c| c.to_vec()).unwrap_or_default()});
                        if i + 1 < n {
                            let next =
                                format!("{}{}", self.uri(), page_path(i + 1).replace(' ', "%20"));
                            body[if *graph {
                                "@odata.nextLink"
                            } else {
                                "nextLink"
                            }] = json!(next);
                        }
                        routes.insert(
                            route_key(&key_of(method, &page_path(i))),
                            (vec![Reply::ok(body)], 0),
                        );
                    }
                }
            }
        }
    }

    /// Every request seen, `$batch` inner requests included.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    /// Real HTTP requests (a `$batch` counts once).
    pub fn http_requests(&self) -> usize {
        self.log().iter().filter(|l| !l.in_batch).count()
    }

    /// Requests no route matched.
    pub fn misses(&self) -> Vec<String> {
        self.state.misses.lock().unwrap().clone()
    }

    /// Requests (by key) made more than once, other than `$batch` itself.
    pub fn duplicates(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for l in self.log() {
            if l.key != "POST /v1.0/$batch" {
                *counts.entry(route_key(&l.key)).or_default() += 1;
            }
        }
        counts.retain(|_, n| *n > 1);
        counts
    }

    /// How many times one route was requested.
    pub fn hits(&self, method: &str, path: &str) -> usize {
        let k = route_key(&key_of(method, path));
        self.log().iter().filter(|l| route_key(&l.key) == k).count()
    }

    /// Requests that are not reads: anything but GET, and POST other than the three
    /// read-only ones (Graph `$batch`, the Log Analytics query, the connector pre-check).
    pub fn writes(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| {
                let path = l.key.split_once(' ').map(|(_, p)| p).unwrap_or("");
                let path = path.split('?').next().unwrap_or("");
                match l.method.as_str() {
                    "GET" => false,
                    "POST" if !l.in_batch => !(path == "/v1.0/$batch"
                        || (path.starts_with("/v1/workspaces/") && path.ends_with("/query"))
                        || path.to_ascii_lowercase().ends_with(
                            "/providers/microsoft.securityinsights/dataconnectorscheckrequirements",
                        )),
                    _ => true,
                }
            })
            .map(|l| l.key)
            .collect()
    }
}

/// A published example payload from `tests/fixtures/microsoft/`.
pub fn fixture(rel: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/microsoft/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The items of a fixture list.
pub fn fixture_items(rel: &str) -> Vec<Value> {
    fixture(rel)["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
