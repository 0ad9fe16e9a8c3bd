//! The one HTTP client every collector uses: bearer auth, bounded concurrency, retries with
//! backoff and Retry-After, paging, JSON parsing and request accounting, all in one place so
//! no collector can get throttling or error mapping wrong on its own.

use super::auth::Tokens;
use super::cloud::Endpoints;
use super::progress::Progress;
use crate::facts::apis::Api;
use reqwest::header::{HeaderMap, ACCEPT, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;
use url::Url;

/// How hard to try before a section becomes an error.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Total time one request may spend waiting between attempts (Retry-After and backoff).
    pub max_wait: Duration,
    /// First backoff after a 5xx or timeout; doubles each attempt.
    pub base_backoff: Duration,
    /// Timeout of a single attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_wait: Duration::from_secs(60),
            base_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }
}

/// How much one server may make xdrguard read or send: a server that exceeds a limit makes
/// the section an error naming the limit and its flag, never an abort or an endless run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one response body, counted after decompression (`--max-response-bytes`).
    pub response_bytes: u64,
    /// Pages of one list, the first included (`--max-pages`).
    pub pages: usize,
    /// Items of one list over all its pages (`--max-items`).
    pub items: usize,
    /// Requests one answer may fan out into, e.g. one GET per role definition the operator's
    /// assignments name (`--max-fan-out`).
    pub fan_out: usize,
}

impl Default for Limits {
    /// Sized for the largest tenants xdrguard supports (200 000 alert rules over a few
    /// thousand pages; a Content Hub catalog page of tens of megabytes), with room to spare.
    fn default() -> Self {
        Limits {
            response_bytes: 64 << 20,
            pages: 10_000,
            items: 1_000_000,
            fan_out: 200,
        }
    }
}

impl Limits {
    /// The error of a call that hit a limit: names the limit, its value and the flag.
    pub fn exceeded(code: ErrorCode, what: String, flag: &str) -> CallError {
        CallError::new(
            code,
            format!("{what}; xdrguard stopped reading (raise the limit with {flag} if this tenant really is that large)"),
            None,
        )
    }
}

/// The retry budget of one request: the attempts made and the time spent waiting, against
/// the policy. `Http::send` spends one per request; a Graph `$batch` spends one on the inner
/// requests it sends again together, so both give up by the same rules and in the same words.
pub struct Budget<'a> {
    http: &'a Http,
    api: Api,
    attempts: u32,
    waited: Duration,
}

impl Budget<'_> {
    /// Count the attempt about to be made; returns its number (1 for the first).
    pub fn attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// The wait before the next attempt: the answer's Retry-After when it gave one, else a
    /// backoff that doubles each attempt.
    pub fn delay(&self, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or_else(|| {
            self.http
                .policy
                .base_backoff
                .saturating_mul(1u32 << self.attempts.saturating_sub(1).min(10))
        })
    }

    /// Wait `delay` and count `requests` retries, or say why the budget does not allow it
    /// (the caller then gives up, adding that text to its error).
    pub async fn wait(&mut self, delay: Duration, requests: usize) -> Result<(), String> {
        let policy = &self.http.policy;
        if self.attempts >= policy.max_attempts {
            return Err(format!("gave up after {} attempts", self.attempts));
        }
        if self.waited.saturating_add(delay) > policy.max_wait {
            return Err(format!(
                "gave up after {} attempt(s): waiting {}s more would exceed the retry budget of {}s",
                self.attempts,
                delay.as_secs_f64().ceil(),
                policy.max_wait.as_secs()
            ));
        }
        tracing::info!(
            attempt = self.attempts,
            requests,
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
        for _ in 0..requests {
            self.http.count_retry(self.api);
        }
        tokio::time::sleep(delay).await;
        self.waited = self.waited.saturating_add(delay);
        Ok(())
    }
}

/// What kind of failure a call met: the API's own error code, or one xdrguard names itself.
#[derive(Debug, Clone, PartialEq, Eq, strum::Display)]
pub enum ErrorCode {
    /// The API's `error.code`, or `HTTP{status}` when it gave none.
    #[strum(to_string = "{0}")]
    Api(String),
    AuthenticationFailed,
    /// A URL could not be built from the configured base URL.
    BadUrl,
    MalformedResponse,
    Timeout,
    ConnectionFailed,
    TransportError,
    /// A nextLink pointed at another host.
    UnexpectedNextLink,
    /// A response body exceeded [`Limits::response_bytes`].
    ResponseTooLarge,
    /// A list ran over [`Limits::pages`].
    TooManyPages,
    /// A list ran over [`Limits::items`].
    TooManyItems,
    /// One answer would need more than [`Limits::fan_out`] further requests.
    FanOutTooLarge,
    /// A required table's name is not a KQL identifier.
    InvalidTableName,
    /// The operator could not be read, so neither could what they hold.
    OperatorUnknown,
    /// A call this one needs the answer of failed.
    DependencyFailed,
    /// The connector pre-check answered licenseState `Unknown`.
    LicenseStateUnknown,
}

impl ErrorCode {
    /// Failed because another call did: its 403 says nothing about this call's permission.
    pub fn is_inherited(&self) -> bool {
        matches!(
            self,
            ErrorCode::OperatorUnknown | ErrorCode::DependencyFailed
        )
    }

    /// A limit of xdrguard's own was hit: asking again would meet it again.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            ErrorCode::ResponseTooLarge
                | ErrorCode::TooManyPages
                | ErrorCode::TooManyItems
                | ErrorCode::FanOutTooLarge
        )
    }
}

/// Extra request headers (name, value), e.g. Graph's `ConsistencyLevel: eventual`.
pub type Headers = &'static [(&'static str, &'static str)];

/// Why a call failed: what the section error will say.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: ErrorCode,
    pub message: String,
    pub status: Option<u16>,
}

impl CallError {
    pub fn new(code: ErrorCode, message: impl Into<String>, status: Option<u16>) -> Self {
        CallError {
            code,
            message: message.into(),
            status,
        }
    }

    /// A URL that could not be built.
    pub fn bad_url(message: impl Into<String>) -> Self {
        CallError::new(ErrorCode::BadUrl, message, None)
    }

    pub fn malformed(what: impl std::fmt::Display) -> Self {
        CallError::new(
            ErrorCode::MalformedResponse,
            format!("the response body is not what the API documents: {what}"),
            None,
        )
    }
}

/// A response whose status the caller still has to judge.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Requests and retries per API.
#[derive(Debug, Default)]
pub struct Counters {
    requests: [AtomicUsize; 3],
    retries: [AtomicUsize; 3],
}

fn idx(api: Api) -> usize {
    match api {
        Api::Graph => 0,
        Api::Arm => 1,
        Api::LogAnalytics => 2,
    }
}

impl Counters {
    pub fn requests(&self, api: Api) -> usize {
        self.requests[idx(api)].load(Ordering::Relaxed)
    }
    pub fn retries(&self, api: Api) -> usize {
        self.retries[idx(api)].load(Ordering::Relaxed)
    }
    pub fn total_requests(&self) -> usize {
        [Api::Graph, Api::Arm, Api::LogAnalytics]
            .iter()
            .map(|a| self.requests(*a))
            .sum()
    }
}

pub struct Http {
    client: reqwest::Client,
    pub endpoints: Endpoints,
    tokens: Tokens,
    limit: Semaphore,
    policy: RetryPolicy,
    limits: Limits,
    pub counters: Counters,
    progress: Progress,
    /// Hosts a connection could not be made to (DNS, refused), with that failure: later
    /// requests there fail at once instead of each paying for it again.
    failed_hosts: Mutex<HashMap<String, CallError>>,
}

impl Http {
    pub fn new(
        endpoints: Endpoints,
        tokens: Tokens,
        concurrency: usize,
        policy: RetryPolicy,
        progress: Progress,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            // Microsoft's APIs do not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("xdrguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http {
            client,
            endpoints,
            tokens,
            limit: Semaphore::new(concurrency.max(1)),
            policy,
            limits: Limits::default(),
            counters: Counters::default(),
            progress,
            failed_hosts: Mutex::new(HashMap::new()),
        })
    }

    /// These limits instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Remove any secret we hold from a text that will be shown or stored.
    pub fn scrub(&self, text: &str) -> String {
        super::secrets::scrub(text).into_owned()
    }

    /// The retry budget of one request (or of one round of `$batch` inner requests).
    pub fn budget(&self, api: Api) -> Budget<'_> {
        Budget {
            http: self,
            api,
            attempts: 0,
            waited: Duration::ZERO,
        }
    }

    /// The connection failures met so far, one per host (origin), in host order.
    pub fn connection_failures(&self) -> Vec<(String, CallError)> {
        let mut v: Vec<_> = self
            .failed_hosts
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(h, e)| (h.clone(), e.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Send one request, retrying 429/503 after Retry-After and 5xx/timeouts with backoff.
    /// Returns the final response, whatever its status, unless no response came at all.
    pub async fn send(
        &self,
        api: Api,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<RawResponse, CallError> {
        self.send_with(api, method, url, body, &[]).await
    }

    /// [`Http::send`] with extra headers. A connection that cannot be made at all (DNS,
    /// refused) is not retried: it is remembered for the host, and later requests there fail
    /// with the same error without being sent.
    pub async fn send_with(
        &self,
        api: Api,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        headers: Headers,
    ) -> Result<RawResponse, CallError> {
        let origin = url.origin().ascii_serialization();
        if let Some(e) = self.failed_hosts.lock().expect("not poisoned").get(&origin) {
            return Err(e.clone());
        }
        let token =
            self.tokens.get(api).await.map_err(|e| {
                CallError::new(ErrorCode::AuthenticationFailed, self.scrub(&e), None)
            })?;
        let mut rb = self
            .client
            .request(method.clone(), url.clone())
            .bearer_auth(&token)
            .header(ACCEPT, "application/json");
        for (name, value) in headers {
            rb = rb.header(*name, *value);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let request = rb
            .build()
            .map_err(|e| CallError::bad_url(format!("cannot build the request: {e}")))?;
        let mut budget = self.budget(api);
        loop {
            let attempt = budget.attempt();
            let outcome = match request.try_clone() {
                Some(r) => self.send_once(api, r, attempt).await,
                None => Err(CallError::malformed("request body cannot be sent again")),
            };
            // Decide whether to try again, and after how long.
            let (delay, last) = match outcome {
                Ok(r) if r.status == 429 || r.status == 503 => {
                    (budget.delay(retry_after(&r.headers)), Ok(r))
                }
                Ok(r) if r.status >= 500 || r.status == 408 => (budget.delay(None), Ok(r)),
                Ok(r) => {
                    tracing::debug!(%method, url = %url, status = r.status, "response");
                    return Ok(r);
                }
                Err(e) if e.code.is_limit() => {
                    tracing::warn!(url = %url, code = %e.code, "{}", e.message);
                    return Err(e);
                }
                Err(e) if e.code == ErrorCode::ConnectionFailed => {
                    tracing::warn!(url = %url, "{}", e.message);
                    self.failed_hosts
                        .lock()
                        .expect("not poisoned")
                        .entry(origin)
                        .or_insert_with(|| e.clone());
                    return Err(e);
                }
                Err(e) => (budget.delay(None), Err(e)),
            };
            if let Err(why) = budget.wait(delay, 1).await {
                let mut e = match last {
                    Ok(r) => self.error_from(&r),
                    Err(e) => e,
                };
                e.message = format!("{} ({why})", e.message);
                tracing::warn!(url = %url, code = %e.code, "{}", e.message);
                return Err(e);
            }
        }
    }

    /// One attempt: a permit of the concurrency limit, the request, the whole body (read as a
    /// stream, decompressed, up to [`Limits::response_bytes`]: a gzip bomb or an endless
    /// chunked body stops there; the attempt's timeout bounds a slow one).
    async fn send_once(
        &self,
        api: Api,
        request: reqwest::Request,
        attempt: u32,
    ) -> Result<RawResponse, CallError> {
        let _permit = self.limit.acquire().await.expect("semaphore never closed");
        self.counters.requests[idx(api)].fetch_add(1, Ordering::Relaxed);
        self.progress.request(api);
        tracing::debug!(method = %request.method(), url = %request.url(), attempt, "request");
        let mut resp = self
            .client
            .execute(request)
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let max = self.limits.response_bytes;
        let too_large = || {
            Limits::exceeded(
                ErrorCode::ResponseTooLarge,
                format!("the response body is larger than {max} bytes (after decompression)"),
                "--max-response-bytes",
            )
        };
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&e))? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Account for one retry (also used for `$batch` inner requests sent again).
    pub fn count_retry(&self, api: Api) {
        self.counters.retries[idx(api)].fetch_add(1, Ordering::Relaxed);
        self.progress.retry(api);
    }

    /// A section error from a non-success response: the API's own code and message.
    pub fn error_from(&self, r: &RawResponse) -> CallError {
        let parsed: Option<Value> = serde_json::from_slice(&r.body).ok();
        self.error_from_parts(r.status, parsed.as_ref(), &r.body)
    }

    /// Same, from a status and an already parsed body (a `$batch` inner response).
    pub fn error_from_parts(&self, status: u16, parsed: Option<&Value>, raw: &[u8]) -> CallError {
        let err = parsed.and_then(|v| v.get("error"));
        // Scrubbed before anything is cut, so no part of a secret survives a cut through it.
        let code = err
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(|c| ErrorCode::Api(cut(&self.scrub(c), MAX_CODE)))
            .unwrap_or_else(|| ErrorCode::Api(format!("HTTP{status}")));
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(|m| cut(&self.scrub(m), MAX_MESSAGE))
            .unwrap_or_else(|| {
                let text = self.scrub(&String::from_utf8_lossy(raw));
                let text = cut(text.trim(), 200);
                if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {text}")
                }
            });
        CallError {
            code,
            message,
            status: Some(status),
        }
    }

    /// Send and parse JSON: 2xx → `Some(body)` (`None` for 204 or an empty body), else the error.
    pub async fn json(
        &self,
        api: Api,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, CallError> {
        let r = self.send(api, method, url, body).await?;
        self.parse(r)
    }

    pub fn parse(&self, r: RawResponse) -> Result<Option<Value>, CallError> {
        if !(200..300).contains(&r.status) {
            return Err(self.error_from(&r));
        }
        if r.status == 204 || r.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&r.body).map(Some).map_err(|e| {
            let mut err = CallError::malformed(format!("not valid JSON ({e})"));
            err.status = Some(r.status);
            err
        })
    }

    /// GET one JSON object.
    pub async fn get(&self, api: Api, url: &Url) -> Result<Value, CallError> {
        self.get_with(api, url, &[]).await
    }

    async fn get_with(&self, api: Api, url: &Url, headers: Headers) -> Result<Value, CallError> {
        let r = self.send_with(api, Method::GET, url, None, headers).await?;
        match self.parse(r)? {
            Some(v) if v.is_object() => Ok(v),
            Some(_) => Err(CallError::malformed("expected a JSON object")),
            None => Err(CallError::malformed("empty body")),
        }
    }

    /// GET a list and every following page; the items of all pages, in order.
    pub async fn list(&self, api: Api, url: &Url) -> Result<Vec<Value>, CallError> {
        let first = self.get(api, url).await?;
        self.rest_of_pages(api, first, url, &[]).await
    }

    /// Given a first page already fetched (e.g. inside a `$batch`), fetch the rest, sending
    /// `headers` with each (an advanced query's pages need its `ConsistencyLevel` too).
    pub async fn rest_of_pages(
        &self,
        api: Api,
        first: Value,
        first_url: &Url,
        headers: Headers,
    ) -> Result<Vec<Value>, CallError> {
        let mut seen: HashSet<String> = HashSet::from([first_url.to_string()]);
        let mut items = Vec::new();
        let mut page = first;
        let limits = self.limits;
        loop {
            let Some(Value::Array(values)) = page.get_mut("value").map(Value::take) else {
                return Err(CallError::malformed("a list response has no `value` array"));
            };
            if items.len().saturating_add(values.len()) > limits.items {
                return Err(Limits::exceeded(
                    ErrorCode::TooManyItems,
                    format!("the list has more than {} items", limits.items),
                    "--max-items",
                ));
            }
            items.extend(values);
            let Some(next) = next_link(&page) else {
                return Ok(items);
            };
            let next = Url::parse(next)
                .map_err(|e| CallError::malformed(format!("nextLink is not a URL ({e})")))?;
            if !self.endpoints.same_origin(api, &next) {
                return Err(CallError::new(
                    ErrorCode::UnexpectedNextLink,
                    format!(
                        "refusing to follow a nextLink to another host ({})",
                        next.host_str().unwrap_or("?")
                    ),
                    None,
                ));
            }
            if !seen.insert(next.to_string()) {
                return Err(CallError::malformed("nextLink repeats an earlier page"));
            }
            if seen.len() > limits.pages {
                return Err(Limits::exceeded(
                    ErrorCode::TooManyPages,
                    format!("the list has more than {} pages", limits.pages),
                    "--max-pages",
                ));
            }
            page = self.get_with(api, &next, headers).await?;
        }
    }
}

/// Longest error code and message kept from a server (characters): enough for any Microsoft
/// error, not a megabyte of a hostile one in every report.
const MAX_CODE: usize = 120;
const MAX_MESSAGE: usize = 2000;

/// `text` cut at `max` characters, marked when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// `nextLink` (ARM) or `@odata.nextLink` (Graph), when another page follows.
pub fn next_link(page: &Value) -> Option<&str> {
    page.get("@odata.nextLink")
        .or_else(|| page.get("nextLink"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Retry-After as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(v)
}

pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<f64>() {
        // try_from: an absurd value ("1e300") from a misbehaving server must not panic.
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let d = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

fn transport_error(e: &reqwest::Error) -> CallError {
    let code = if e.is_timeout() {
        ErrorCode::Timeout
    } else if e.is_connect() {
        ErrorCode::ConnectionFailed
    } else {
        ErrorCode::TransportError
    };
    // reqwest's Display never includes headers, so no token can leak through it. A failed
    // connection is said once per host, so its cause leaves out the URL (the call names it).
    let mut msg = if code == ErrorCode::ConnectionFailed {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    CallError::new(code, msg, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("1e300"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("inf"), None);
    }

    #[test]
    fn next_links() {
        let g = serde_json::json!({"@odata.nextLink": "https://g/x?$skiptoken=1", "value": []});
        let a = serde_json::json!({"nextLink": "https://a/x", "value": []});
        let none = serde_json::json!({"nextLink": null, "value": []});
        assert_eq!(next_link(&g), Some("https://g/x?$skiptoken=1"));
        assert_eq!(next_link(&a), Some("https://a/x"));
        assert_eq!(next_link(&none), None);
    }
}
