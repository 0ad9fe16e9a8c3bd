//! The fleet file (`schemas/fleet.schema.json`): `targets:` and optional `defaults:`, read
//! through the one input loader so every problem is a diagnostic at its YAML node (exit 3),
//! then resolved into one [`TargetSpec`] per target: its own options over the defaults, paths
//! relative to the fleet file, the workspace ID and URLs checked before any request.

use crate::collect::auth::AuthMethod;
use crate::collect::cloud::{Cloud, Endpoints};
use crate::facts::WorkspaceRef;
use crate::input::codes::FleetCode;
use crate::input::diagnostic::InputError;
use crate::input::limits::InputKind;
use crate::input::load::{self, Codes, Input};
use crate::input::schema;
use crate::input::yaml::Document;
use crate::model::{Profile, Severity};
use clap::ValueEnum;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The options a target and `defaults` may set, as written (the schema has checked each).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawOptions {
    pub workspace: Option<String>,
    pub operator: Option<String>,
    pub auth: Option<String>,
    pub cloud: Option<String>,
    pub graph_url: Option<String>,
    pub arm_url: Option<String>,
    pub log_analytics_url: Option<String>,
    pub profile: Option<String>,
    pub config: Option<String>,
    pub exceptions: Option<String>,
    pub fail_on: Option<String>,
    pub concurrency: Option<u16>,
    pub max_retry_wait: Option<u64>,
    pub timeout: Option<u64>,
    pub time_limit: Option<u64>,
    pub access_token_env: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_env: Option<String>,
    pub federated_token_file: Option<String>,
}

impl RawOptions {
    /// These options, with every one left unset taken from `defaults`.
    fn over(self, d: &RawOptions) -> RawOptions {
        macro_rules! pick {
            ($($f:ident),*) => { RawOptions { $($f: self.$f.or_else(|| d.$f.clone()),)* } };
        }
        pick!(
            workspace,
            operator,
            auth,
            cloud,
            graph_url,
            arm_url,
            log_analytics_url,
            profile,
            config,
            exceptions,
            fail_on,
            concurrency,
            max_retry_wait,
            timeout,
            time_limit,
            access_token_env,
            tenant_id,
            client_id,
            client_secret_env,
            federated_token_file
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawTarget {
    pub name: String,
    #[serde(flatten)]
    pub options: RawOptions,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawFleet {
    #[serde(default)]
    pub defaults: RawOptions,
    pub targets: Vec<RawTarget>,
}

impl Input for RawFleet {
    const SCHEMA: schema::Kind = schema::Kind::Fleet;
    const NAME: &'static str = "fleet file";

    fn codes() -> Codes {
        Codes {
            schema: FleetCode::Schema.into(),
            shape: FleetCode::Shape.into(),
        }
    }

    fn schema_help(_: &schema::Violation) -> &'static str {
        "each target needs `name`, and `workspace` (its own or from `defaults`); the other keys are the per-target options of \
         `audit` without the dashes (see schemas/fleet.schema.json)"
    }
}

/// How a target signs in: its own token or service principal, or the run's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `XDRGUARD_ACCESS_TOKEN`, else `--auth` as for one audit.
    Ambient(AuthMethod),
    /// The bearer token in this environment variable.
    TokenEnv(String),
    /// A client secret read from this environment variable.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret_env: String,
    },
    /// Workload identity federation with this token file.
    Federated {
        tenant_id: String,
        client_id: String,
        token_file: PathBuf,
    },
}

/// One target, resolved: what its audit needs, nothing left to parse.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub name: String,
    pub workspace: WorkspaceRef,
    pub operator: Option<String>,
    pub auth: AuthMethod,
    pub cloud: Cloud,
    pub graph_url: Option<String>,
    pub arm_url: Option<String>,
    pub log_analytics_url: Option<String>,
    pub profile: Profile,
    pub config: Option<PathBuf>,
    pub exceptions: Option<PathBuf>,
    pub fail_on: Severity,
    pub concurrency: u16,
    pub max_retry_wait: u64,
    pub timeout: u64,
    /// Longest time the whole target may take, in seconds.
    pub time_limit: Option<u64>,
    pub credentials: Credentials,
}

/// A loaded fleet file.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub path: PathBuf,
    pub targets: Vec<TargetSpec>,
}

impl Fleet {
    /// Read, validate and resolve a fleet file; all its problems are reported together.
    pub fn load(path: &Path) -> Result<Fleet, InputError> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let targets = load::file(path, InputKind::Fleet, |doc, raw: RawFleet| {
            resolve(doc, raw, &dir)
        })?;
        Ok(Fleet {
            path: path.to_path_buf(),
            targets,
        })
    }

    /// Check a document already parsed (by `lint`).
    pub fn check_document(doc: &Document) -> Result<(), InputError> {
        let dir = Path::new(&doc.file.path)
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        load::document(doc, |doc, raw: RawFleet| resolve(doc, raw, &dir))
            .map(|_| ())
            .map_err(load::merged)
    }
}

/// The meaning of the file beyond its schema: unique names, real workspace IDs and URLs,
/// sign-in keys that make one credential. Every problem is collected.
fn resolve(doc: &Document, raw: RawFleet, dir: &Path) -> Result<Vec<TargetSpec>, Vec<InputError>> {
    let mut errors = Vec::new();
    check_options(doc, "/defaults", &raw.defaults, &mut errors);
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, t) in raw.targets.into_iter().enumerate() {
        let at = format!("/targets/{i}");
        let folded = t.name.to_ascii_lowercase();
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == folded) {
            errors.push(
                doc.error_at(
                    FleetCode::DuplicateName,
                    &format!("{at}/name"),
                    format!(
                        "a second target named `{}` (the first is target #{})",
                        t.name,
                        first + 1
                    ),
                )
                .label("duplicate")
                .help("names are unique (ignoring case): they name the files in --out-dir and the rows of the report"),
            );
        }
        seen.push((folded, i));
        check_options(doc, &at, &t.options, &mut errors);
        let o = t.options.over(&raw.defaults);
        if o.workspace.is_none() {
            errors.push(
                doc.error_at_key(
                    FleetCode::Workspace,
                    &format!("{at}/name"),
                    format!("target `{}` has no valid `workspace`", t.name),
                )
                .label("this target")
                .help("give it `workspace: /subscriptions/…/workspaces/…`, or one in `defaults`"),
            );
            continue;
        }
        let bad_id = o
            .workspace
            .as_deref()
            .is_some_and(|w| crate::cli::parse_workspace(w).is_err());
        if bad_id {
            continue; // reported where it is written
        }
        match spec(t.name, o, dir) {
            Ok(s) => out.push(s),
            Err(e) => errors.push(
                doc.error_at_key(FleetCode::Credentials, &format!("{at}/name"), e)
                    .label("this target")
                    .help("give `access_token_env`, or `tenant_id` + `client_id` with `client_secret_env` or `federated_token_file`, or none of them to use the run's sign-in"),
            ),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Check the values of one options block where they are written, so a bad default is
/// reported once, at `defaults`.
fn check_options(doc: &Document, at: &str, o: &RawOptions, errors: &mut Vec<InputError>) {
    if let Some(w) = &o.workspace {
        if let Err(e) = crate::cli::parse_workspace(w) {
            errors.push(
                doc.error_at(
                    FleetCode::Workspace,
                    &format!("{at}/workspace"),
                    format!("`{w}` is not a workspace resource ID: {e}"),
                )
                .label("here"),
            );
        }
    }
    let cloud = o
        .cloud
        .as_deref()
        .and_then(|c| Cloud::from_str(c, true).ok())
        .unwrap_or_default();
    let urls = [
        ("graph_url", &o.graph_url),
        ("arm_url", &o.arm_url),
        ("log_analytics_url", &o.log_analytics_url),
    ];
    for (key, url) in urls {
        let Some(u) = url else { continue };
        let (g, a, l) = match key {
            "graph_url" => (Some(u.as_str()), None, None),
            "arm_url" => (None, Some(u.as_str()), None),
            _ => (None, None, Some(u.as_str())),
        };
        if let Err(e) = Endpoints::new(cloud, g, a, l) {
            errors.push(
                doc.error_at(FleetCode::Url, &format!("{at}/{key}"), e)
                    .label("here")
                    .help("use https://, or http:// only to 127.0.0.1/localhost (tests)"),
            );
        }
    }
}

/// One target's options, merged with the defaults, as a [`TargetSpec`]; the error is why its
/// sign-in keys do not make one credential.
fn spec(name: String, o: RawOptions, dir: &Path) -> Result<TargetSpec, String> {
    let rel = |p: &str| dir.join(p);
    let credentials = credentials(&o, dir)?;
    // The schema allows only known values and `check_options` has reported a bad ID, so
    // what does not parse here is already an error of the file.
    let workspace = o
        .workspace
        .as_deref()
        .and_then(|w| crate::cli::parse_workspace(w).ok())
        .ok_or_else(|| "has no valid `workspace` (in the target or in `defaults`)".to_string())?;
    Ok(TargetSpec {
        name,
        workspace,
        operator: o.operator,
        auth: parse_or_default(o.auth.as_deref()),
        cloud: parse_or_default(o.cloud.as_deref()),
        graph_url: o.graph_url,
        arm_url: o.arm_url,
        log_analytics_url: o.log_analytics_url,
        profile: parse_or_default(o.profile.as_deref()),
        config: o.config.as_deref().map(rel),
        exceptions: o.exceptions.as_deref().map(rel),
        fail_on: o
            .fail_on
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Severity::Low),
        concurrency: o.concurrency.unwrap_or(16),
        max_retry_wait: o.max_retry_wait.unwrap_or(60),
        timeout: o.timeout.unwrap_or(30),
        time_limit: o.time_limit,
        credentials,
    })
}

fn parse_or_default<T: ValueEnum + Default>(s: Option<&str>) -> T {
    s.and_then(|s| T::from_str(s, true).ok())
        .unwrap_or_default()
}

/// Which credential the sign-in keys make; half a service principal is an error.
fn credentials(o: &RawOptions, dir: &Path) -> Result<Credentials, String> {
    let sp = (
        o.tenant_id.clone(),
        o.client_id.clone(),
        o.client_secret_env.clone(),
        o.federated_token_file.clone(),
    );
    match (&o.access_token_env, sp) {
        (Some(env), (None, None, None, None)) => Ok(Credentials::TokenEnv(env.clone())),
        (Some(_), _) => Err("sets both `access_token_env` and service-principal keys".into()),
        (None, (None, None, None, None)) => {
            Ok(Credentials::Ambient(parse_or_default(o.auth.as_deref())))
        }
        (None, (Some(t), Some(c), Some(s), None)) => Ok(Credentials::ClientSecret {
            tenant_id: t,
            client_id: c,
            secret_env: s,
        }),
        (None, (Some(t), Some(c), None, Some(f))) => Ok(Credentials::Federated {
            tenant_id: t,
            client_id: c,
            token_file: dir.join(f),
        }),
        (None, (_, _, Some(_), Some(_))) => {
            Err("sets both `client_secret_env` and `federated_token_file`".into())
        }
        (None, _) => Err(
            "a service principal needs `tenant_id`, `client_id` and one of `client_secret_env` or `federated_token_file`"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::diagnostic::SourceFile;

    const WS: &str = "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w";

    fn load(text: &str) -> Result<Vec<TargetSpec>, Vec<InputError>> {
        let file = SourceFile::new("fleet.yaml", text.to_string());
        load::source(file, |doc, raw: RawFleet| {
            resolve(doc, raw, Path::new("ops"))
        })
        .map(|(_, t)| t)
    }

    #[test]
    fn targets_take_defaults_and_resolve_paths() {
        let t = load(&format!(
            "defaults:\n  fail_on: high\n  config: x.yaml\n  access_token_env: TOK\ntargets:\n  - name: a\n    workspace: {WS}\n  - name: b\n    workspace: {WS}\n    fail_on: low\n    tenant_id: t\n    client_id: c\n    client_secret_env: SECRET\n    access_token_env: null\n"
        ));
        // `access_token_env: null` is not a string: the schema refuses it.
        assert!(t.is_err());
        let t = load(&format!(
            "defaults:\n  fail_on: high\n  config: x.yaml\ntargets:\n  - name: a\n    workspace: {WS}\n    access_token_env: TOK\n  - name: b\n    workspace: {WS}\n    fail_on: low\n    tenant_id: t\n    client_id: c\n    client_secret_env: SECRET\n"
        ))
        .unwrap();
        assert_eq!(t[0].fail_on, Severity::High);
        assert_eq!(t[1].fail_on, Severity::Low);
        assert_eq!(t[0].config.as_deref(), Some(Path::new("ops/x.yaml")));
        assert_eq!(t[0].credentials, Credentials::TokenEnv("TOK".into()));
        assert!(matches!(t[1].credentials, Credentials::ClientSecret { .. }));
    }

    #[test]
    fn duplicate_names_unknown_keys_and_bad_ids_point_at_the_node() {
        let e = load(&format!(
            "targets:\n  - name: a\n    workspace: {WS}\n  - name: A\n    workspace: /nope\n    colour: red\n"
        ))
        .unwrap_err();
        let text: Vec<String> = e.iter().map(|e| e.message.clone()).collect();
        assert!(
            text.iter()
                .any(|m| m.starts_with("fleet.yaml:6:5:") && m.contains("colour")),
            "{text:?}"
        );
        let e = load(&format!(
            "targets:\n  - name: a\n    workspace: {WS}\n  - name: A\n    workspace: /nope\n"
        ))
        .unwrap_err();
        let text: Vec<String> = e.iter().map(|e| e.message.clone()).collect();
        assert!(text.iter().any(|m| m.starts_with("fleet.yaml:4:11:") && m.contains("second target named `A`")), "{text:?}");
        assert!(
            text.iter()
                .any(|m| m.starts_with("fleet.yaml:5:16:") && m.contains("not a workspace")),
            "{text:?}"
        );
    }

    #[test]
    fn the_workspace_may_come_from_defaults_but_must_come() {
        let t = load(&format!(
            "defaults:\n  workspace: {WS}\ntargets:\n  - name: a\n"
        ))
        .unwrap();
        assert_eq!(t[0].workspace.id, WS);
        let e = load("targets:\n  - name: a\n").unwrap_err();
        assert!(
            e[0].message.starts_with("fleet.yaml:2:5:")
                && e[0].message.contains("no valid `workspace`"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn half_a_service_principal_is_refused() {
        let e = load(&format!(
            "targets:\n  - name: a\n    workspace: {WS}\n    tenant_id: t\n    client_secret_env: S\n"
        ))
        .unwrap_err();
        assert!(
            e[0].message.contains("needs `tenant_id`, `client_id`"),
            "{}",
            e[0].message
        );
    }
}
