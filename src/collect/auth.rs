//! Sign-in: one bearer token per API audience, fetched once and reused for the whole run.
//!
//! azure_identity 1.0 has no DefaultAzureCredential, so `--auth auto` is our own documented
//! chain. `XDRGUARD_ACCESS_TOKEN` short-circuits everything (tokens minted elsewhere, tests).
//! Tokens never leave this module except as the value of an Authorization header.

use super::cloud::{Cloud, Endpoints};
use crate::facts::apis::Api;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Environment variable holding a ready-made bearer token.
pub const TOKEN_ENV: &str = "XDRGUARD_ACCESS_TOKEN";

/// `--auth`: which credential signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMethod {
    /// Client secret, then workload identity, then managed identity, then Azure CLI
    #[default]
    Auto,
    /// Azure CLI (`az login`)
    Cli,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    ClientSecret,
    /// Federated token file (AZURE_FEDERATED_TOKEN_FILE, e.g. GitHub Actions OIDC)
    WorkloadIdentity,
    /// Managed identity of the Azure host (AZURE_CLIENT_ID selects a user-assigned one)
    ManagedIdentity,
}

/// A credential that turns a scope into a bearer token.
enum Source {
    Static(String),
    /// The credentials to try in order, and why the others of `--auth` were skipped.
    Chain(Vec<(&'static str, Arc<dyn TokenCredential>)>, Vec<String>),
    /// No credential could even be built: every token request fails with this reason.
    Unavailable(String),
}

/// Tokens for the three audiences, each fetched at most once.
pub struct Tokens {
    source: Source,
    endpoints: Endpoints,
    cache: [OnceCell<Result<String, String>>; 3],
    fetches: AtomicUsize,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens from `XDRGUARD_ACCESS_TOKEN` when set, else from the chosen credential.
    pub fn from_env(method: AuthMethod, endpoints: Endpoints) -> Self {
        let source = match std::env::var(TOKEN_ENV) {
            Ok(t) if !t.trim().is_empty() => Source::Static(t.trim().to_string()),
            _ => match build_chain(method, endpoints.cloud) {
                Ok((c, skipped)) => Source::Chain(c, skipped),
                Err(e) => Source::Unavailable(e),
            },
        };
        Self::with_source(source, endpoints)
    }

    /// Refuse, before anything is sent, a secret given to xdrguard that is too short to be
    /// scrubbed from its outputs: `XDRGUARD_ACCESS_TOKEN`, and `AZURE_CLIENT_SECRET` when
    /// `method` may use it.
    pub fn check_given_secrets(method: AuthMethod) -> Result<(), String> {
        if let Some(t) = env(TOKEN_ENV).filter(|t| !t.trim().is_empty()) {
            return super::secrets::check_len(TOKEN_ENV, t.trim());
        }
        if matches!(method, AuthMethod::Auto | AuthMethod::ClientSecret) {
            if let Some(s) = env("AZURE_CLIENT_SECRET") {
                super::secrets::check_len("AZURE_CLIENT_SECRET", &s)?;
            }
        }
        Ok(())
    }

    /// Sign in once before any request, so that no credential at all is one clear error
    /// rather than a permission error on every section. The token is cached: no extra cost.
    pub async fn preflight(&self) -> Result<(), String> {
        let e = match self.get(Api::Graph).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        Err(match &self.source {
            Source::Chain(_, skipped) if !skipped.is_empty() => {
                format!("{e}; skipped: {}", skipped.join("; "))
            }
            _ => e,
        })
    }

    /// A service principal named explicitly (a fleet target's own), not read from the
    /// `AZURE_*` environment: a client secret, or else a federated token file.
    pub fn service_principal(
        tenant_id: &str,
        client_id: &str,
        secret: Option<String>,
        token_file: Option<std::path::PathBuf>,
        endpoints: Endpoints,
    ) -> Self {
        // A target's client secret is scrubbed from every output like the global one, and
        // one too short to scrub is refused (that target's sign-in fails).
        if let Some(s) = &secret {
            if let Err(e) = super::secrets::check_len("the client secret", s) {
                return Self::unavailable(e, endpoints);
            }
            super::secrets::hold(s);
        }
        let cloud = endpoints.cloud;
        let built = match (secret, token_file) {
            (Some(s), _) => {
                let opts = ClientSecretCredentialOptions {
                    client_options: client_options(cloud),
                };
                ClientSecretCredential::new(
                    tenant_id,
                    client_id.to_string(),
                    Secret::new(s),
                    Some(opts),
                )
                .map(|c| ("client-secret", c as Arc<dyn TokenCredential>))
            }
            (None, file) => {
                let opts = WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client_options(cloud),
                    },
                    client_id: Some(client_id.to_string()),
                    tenant_id: Some(tenant_id.to_string()),
                    token_file_path: file,
                };
                WorkloadIdentityCredential::new(Some(opts))
                    .map(|c| ("workload-identity", c as Arc<dyn TokenCredential>))
            }
        };
        let source = match built {
            Ok((name, cred)) => Source::Chain(vec![(name, cred)], Vec::new()),
            Err(e) => Source::Unavailable(format!("service principal {client_id}: {e}")),
        };
        Self::with_source(source, endpoints)
    }

    /// No credential: every token request fails with `reason` (a fleet target whose token
    /// variable is unset).
    pub fn unavailable(reason: impl Into<String>, endpoints: Endpoints) -> Self {
        Self::with_source(Source::Unavailable(reason.into()), endpoints)
    }

    /// A fixed token for every audience.
    pub fn fixed(token: impl Into<String>, endpoints: Endpoints) -> Self {
        Self::with_source(Source::Static(token.into()), endpoints)
    }

    /// Any azure_core credential (tests use a stand-in that counts its calls).
    pub fn credential(
        name: &'static str,
        cred: Arc<dyn TokenCredential>,
        endpoints: Endpoints,
    ) -> Self {
        Self::with_source(Source::Chain(vec![(name, cred)], Vec::new()), endpoints)
    }

    fn with_source(source: Source, endpoints: Endpoints) -> Self {
        if let Source::Static(t) = &source {
            super::secrets::hold(t);
        }
        if let Some(s) = env("AZURE_CLIENT_SECRET") {
            super::secrets::hold(&s);
        }
        Tokens {
            source,
            endpoints,
            cache: [OnceCell::new(), OnceCell::new(), OnceCell::new()],
            fetches: AtomicUsize::new(0),
        }
    }

    /// How many times a credential was asked for a token (at most one per audience).
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The bearer token for an API; the error is a human reason without any secret.
    pub async fn get(&self, api: Api) -> Result<String, String> {
        let slot = match api {
            Api::Graph => &self.cache[0],
            Api::Arm => &self.cache[1],
            Api::LogAnalytics => &self.cache[2],
        };
        slot.get_or_init(|| async {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            let scope = self.endpoints.scope(api);
            let token = match &self.source {
                Source::Static(t) => Ok(t.clone()),
                Source::Unavailable(e) => Err(e.clone()),
                Source::Chain(chain, _) => fetch_from_chain(chain, &scope).await,
            }?;
            // A token too short to scrub is never sent: it could not be kept out of outputs.
            super::secrets::check_len(&format!("the token for {scope}"), &token)?;
            super::secrets::hold(&token);
            Ok(token)
        })
        .await
        .clone()
    }
}

async fn fetch_from_chain(
    chain: &[(&'static str, Arc<dyn TokenCredential>)],
    scope: &str,
) -> Result<String, String> {
    let mut reasons = Vec::new();
    for (name, cred) in chain {
        // Managed identity probes IMDS, which hangs off Azure: bound every attempt, and the
        // probe tightly when another credential (Azure CLI) still follows it in the chain.
        let limit = if *name == "managed-identity" && chain.len() > 1 {
            5
        } else {
            30
        };
        let scopes = [scope];
        let attempt =
            tokio::time::timeout(Duration::from_secs(limit), cred.get_token(&scopes, None));
        match attempt.await {
            Ok(Ok(tok)) => {
                tracing::debug!(credential = name, scope, "signed in");
                return Ok(tok.token.secret().to_string());
            }
            Ok(Err(e)) => reasons.push(format!("{name}: {}", first_line(&e.to_string()))),
            Err(_) => reasons.push(format!("{name}: timed out")),
        }
    }
    Err(format!(
        "could not get a token for {scope} ({})",
        reasons.join("; ")
    ))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn client_options(cloud: Cloud) -> azure_core::http::ClientOptions {
    use azure_core::cloud::CloudConfiguration;
    let c = match cloud {
        Cloud::Public => CloudConfiguration::AzurePublic,
        Cloud::Usgov => CloudConfiguration::AzureGovernment,
        Cloud::China => CloudConfiguration::AzureChina,
    };
    azure_core::http::ClientOptions {
        cloud: Some(Arc::new(c)),
        ..Default::default()
    }
}

type Chain = Vec<(&'static str, Arc<dyn TokenCredential>)>;

/// How to sign in with `method`, for the error when no credential worked.
pub fn sign_in_help(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Auto | AuthMethod::Cli => "run `az login` (install the Azure CLI if `az` is not found); an application signs in with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; XDRGUARD_ACCESS_TOKEN takes a ready-made token",
        AuthMethod::ClientSecret => "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET to the audit application's tenant, client id and secret",
        AuthMethod::WorkloadIdentity => "set AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID (e.g. azure/login with OIDC in GitHub Actions)",
        AuthMethod::ManagedIdentity => "run on an Azure host with a managed identity (AZURE_CLIENT_ID selects a user-assigned one)",
    }
}

/// The credentials `--auth` selects, in order, and why any were skipped. Auto skips those
/// whose inputs are absent.
fn build_chain(method: AuthMethod, cloud: Cloud) -> Result<(Chain, Vec<String>), String> {
    let mut chain: Chain = Vec::new();
    let want = |m: AuthMethod| method == m || method == AuthMethod::Auto;
    let mut reasons = Vec::new();

    if want(AuthMethod::ClientSecret) {
        match (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")) {
            (Some(t), Some(c), Some(s)) => {
                let opts = ClientSecretCredentialOptions { client_options: client_options(cloud) };
                match ClientSecretCredential::new(&t, c, Secret::new(s), Some(opts)) {
                    Ok(cred) => chain.push(("client-secret", cred as Arc<dyn TokenCredential>)),
                    Err(e) => reasons.push(format!("client-secret: {e}")),
                }
            }
            _ => reasons.push("client-secret: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set".into()),
        }
    }
    if want(AuthMethod::WorkloadIdentity) {
        if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
            let opts = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(cloud),
                },
                ..Default::default()
            };
            match WorkloadIdentityCredential::new(Some(opts)) {
                Ok(cred) => chain.push(("workload-identity", cred as Arc<dyn TokenCredential>)),
                Err(e) => reasons.push(format!("workload-identity: {e}")),
            }
        } else {
            reasons.push("workload-identity: AZURE_FEDERATED_TOKEN_FILE is not set".into());
        }
    }
    if want(AuthMethod::ManagedIdentity) {
        let opts = ManagedIdentityCredentialOptions {
            user_assigned_id: env("AZURE_CLIENT_ID")
                .filter(|_| method == AuthMethod::ManagedIdentity)
                .map(azure_identity::UserAssignedId::ClientId),
            client_options: client_options(cloud),
        };
        match ManagedIdentityCredential::new(Some(opts)) {
            Ok(cred) => chain.push(("managed-identity", cred as Arc<dyn TokenCredential>)),
            Err(e) => reasons.push(format!("managed-identity: {e}")),
        }
    }
    if want(AuthMethod::Cli) {
        match AzureCliCredential::new(None) {
            Ok(cred) => chain.push(("azure-cli", cred as Arc<dyn TokenCredential>)),
            Err(e) => reasons.push(format!("azure-cli: {e}")),
        }
    }
    if chain.is_empty() {
        Err(format!("no credential available ({})", reasons.join("; ")))
    } else {
        Ok((chain, reasons))
    }
}
