//! Which Microsoft cloud we talk to: the three base URLs and their token scopes.
//!
//! Overrides (`--graph-url` …) exist for sovereign clouds we do not know and for tests; plain
//! `http://` is only accepted towards loopback so a bearer token never crosses a network in clear.

use crate::facts::apis::Api;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Cloud {
    #[default]
    Public,
    Usgov,
    China,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Base URL of an API in this cloud (no trailing slash).
    pub fn base_url(self, api: Api) -> &'static str {
        match (self, api) {
            (Cloud::Public, Api::Graph) => "https://graph.microsoft.com",
            (Cloud::Public, Api::Arm) => "https://management.azure.com",
            (Cloud::Public, Api::LogAnalytics) => "https://api.loganalytics.io",
            (Cloud::Usgov, Api::Graph) => "https://graph.microsoft.us",
            (Cloud::Usgov, Api::Arm) => "https://management.usgovcloudapi.net",
            (Cloud::Usgov, Api::LogAnalytics) => "https://api.loganalytics.us",
            (Cloud::China, Api::Graph) => "https://microsoftgraph.chinacloudapi.cn",
            (Cloud::China, Api::Arm) => "https://management.chinacloudapi.cn",
            (Cloud::China, Api::LogAnalytics) => "https://api.loganalytics.azure.cn",
        }
    }
}

/// The resolved base URL and token scope of each API.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub graph: Url,
    pub arm: Url,
    pub log_analytics: Url,
    /// Token scopes always follow the cloud, not the URL overrides: a test server on loopback
    /// still gets a token minted for the real audience (or the static test token).
    pub cloud: Cloud,
}

impl Endpoints {
    /// Base URLs of the cloud, each replaced by its override when one is given.
    pub fn new(
        cloud: Cloud,
        graph: Option<&str>,
        arm: Option<&str>,
        log_analytics: Option<&str>,
    ) -> Result<Self, String> {
        let pick = |api: Api, o: Option<&str>| parse_base(o.unwrap_or(cloud.base_url(api)));
        Ok(Endpoints {
            graph: pick(Api::Graph, graph)?,
            arm: pick(Api::Arm, arm)?,
            log_analytics: pick(Api::LogAnalytics, log_analytics)?,
            cloud,
        })
    }

    pub fn base(&self, api: Api) -> &Url {
        match api {
            Api::Graph => &self.graph,
            Api::Arm => &self.arm,
            Api::LogAnalytics => &self.log_analytics,
        }
    }

    /// The `.default` scope of an API in the selected cloud.
    pub fn scope(&self, api: Api) -> String {
        format!("{}/.default", self.cloud.base_url(api))
    }

    /// `base` + a path (and query) that starts with `/`.
    pub fn url(&self, api: Api, path_and_query: &str) -> Result<Url, String> {
        let base = self.base(api).as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path_and_query}")).map_err(|e| format!("bad URL: {e}"))
    }

    /// Whether a URL handed to us by a server (a nextLink) points at the same API origin;
    /// following it elsewhere would send the token to a third party.
    pub fn same_origin(&self, api: Api, url: &Url) -> bool {
        let b = self.base(api);
        b.scheme() == url.scheme()
            && b.host_str() == url.host_str()
            && b.port_or_known_default() == url.port_or_known_default()
    }
}

/// Accept `https://…`, or `http://` to a loopback address only.
pub fn parse_base(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "`{s}`: plain http:// is only allowed to a loopback address (127.0.0.1, ::1, localhost); use https://"
            ))
        }
        other => return Err(format!("`{s}`: unsupported scheme `{other}`")),
    }
    if url.host_str().is_none() {
        return Err(format!("`{s}` has no host"));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `target.cloud` is written from `as_str`; the facts schema must accept every cloud.
    #[test]
    fn every_cloud_is_one_the_facts_schema_accepts() {
        use clap::ValueEnum;
        let names: Vec<&str> = Cloud::value_variants().iter().map(|c| c.as_str()).collect();
        assert_eq!(names, crate::facts::schema::CLOUDS);
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(parse_base("http://127.0.0.1:8080").is_ok());
        assert!(parse_base("http://[::1]:1").is_ok());
        assert!(parse_base("http://localhost:1").is_ok());
        assert!(parse_base("http://graph.microsoft.com").is_err());
        assert!(parse_base("http://10.0.0.1").is_err());
        assert!(parse_base("ftp://127.0.0.1").is_err());
        assert!(parse_base("https://graph.microsoft.us").is_ok());
    }

    #[test]
    fn clouds_and_overrides() {
        let e = Endpoints::new(Cloud::Usgov, None, Some("http://127.0.0.1:9"), None).unwrap();
        assert_eq!(e.graph.as_str(), "https://graph.microsoft.us/");
        assert_eq!(e.arm.as_str(), "http://127.0.0.1:9/");
        assert_eq!(
            e.scope(Api::Arm),
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(
            e.url(Api::Arm, "/subscriptions/x?api-version=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/subscriptions/x?api-version=1"
        );
        let next = Url::parse("http://127.0.0.1:9/next").unwrap();
        assert!(e.same_origin(Api::Arm, &next));
        assert!(!e.same_origin(Api::Graph, &next));
    }
}
