//! A fake Microsoft (Graph, ARM and Log Analytics on one loopback wiremock server) for the
//! collection tests and the benchmark. Payloads are Microsoft's published examples from
//! `tests/fixtures/microsoft/`, adjusted per scenario. Every request is logged — `$batch`
//! inner requests too — so tests can prove read-only access, no duplicates and paging.

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
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Raw(String),
    Empty,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Reply {
            status,
            body: Body::Json(v),
            headers: vec![],
            delay: None,
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
        }
    }
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            body: Body::Empty,
            headers: vec![],
            delay: None,
        }
    }
    /// An error in the `{"error":{"code","message"}}` shape all three APIs use.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!({"error": {"code": code, "message": message}}))
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
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, (Vec<Reply>, usize)>>,
    log: Mutex<Vec<Logged>>,
    misses: Mutex<Vec<String>>,
    delay: Mutex<Duration>,
}

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
        self.0.log.lock().unwrap().push(Logged {
            method: method.clone(),
            key: k.clone(),
            in_batch: false,
            authorization: authorization.clone(),
            body: body.clone(),
        });
        let delay = *self.0.delay.lock().unwrap();
        if k == "POST /v1.0/$batch" {
            self.batch(body.as_ref(), authorization).set_delay(delay)
        } else {
            let reply = self.0.next(&k);
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
            self.0.log.lock().unwrap().push(Logged {
                method: method.clone(),
                key: k.clone(),
                in_batch: true,
                authorization: authorization.clone(),
                body: r.get("body").cloned(),
            });
            let reply = self.0.next(&k);
            let headers: serde_json::Map<String, Value> =
                std::iter::once(("Content-Type".to_string(), json!("application/json")))
                    .chain(reply.headers.iter().map(|(h, v)| (h.clone(), json!(v))))
                    .collect();
            let body = match &reply.body {
                Body::Json(v) => v.clone(),
                // Graph wraps a non-JSON inner body as a string.
                Body::Raw(s) => Value::String(s.clone()),
                Body::Empty => Value::Null,
            };
            responses
                .push(json!({"id": id, "status": reply.status, "headers": headers, "body": body}));
        }
        ResponseTemplate::new(200).set_body_json(json!({"responses": responses}))
    }
}

impl State {
    fn next(&self, k: &str) -> Reply {
        let mut routes = self.routes.lock().unwrap();
        match routes.get_mut(k) {
            Some((replies, used)) => {
                let r = replies[(*used).min(replies.len() - 1)].clone();
                *used += 1;
                r
            }
            None => {
                self.misses.lock().unwrap().push(k.to_string());
                Reply::error(404, "NoRoute", &format!("the fake has no route for {k}"))
            }
        }
    }
}

fn to_template(r: &Reply) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(r.status);
    for (h, v) in &r.headers {
        t = t.insert_header(h.as_str(), v.as_str());
    }
    match &r.body {
        Body::Json(v) => t.set_body_raw(serde_json::to_vec(v).unwrap(), "application/json"),
        Body::Raw(s) => t.set_body_raw(s.clone().into_bytes(), "application/json"),
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
        let fake = Fake { server, state };
        fake.mount(tenant);
        fake
    }

    pub fn uri(&self) -> String {
        self.server.uri()
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
                    routes.insert(key_of(method, path), (r.clone(), 0));
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
                        routes.insert(key_of(method, &page_path(i)), (vec![Reply::ok(body)], 0));
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
                *counts.entry(l.key).or_default() += 1;
            }
        }
        counts.retain(|_, n| *n > 1);
        counts
    }

    /// How many times one route was requested.
    pub fn hits(&self, method: &str, path: &str) -> usize {
        let k = key_of(method, path);
        self.log().iter().filter(|l| l.key == k).count()
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
                        || path.ends_with(
                            "/providers/Microsoft.SecurityInsights/dataConnectorsCheckRequirements",
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
