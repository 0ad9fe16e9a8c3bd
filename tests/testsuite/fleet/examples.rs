//! The fleet examples of `examples/fleet/` cannot rot: the fleet file lints clean, each
//! scheduler file parses and has the shape its scheduler needs to run the shards and the
//! merge (a Kubernetes Indexed Job whose completions equal the shard count, a GitHub Actions
//! matrix over every shard index, one Container Apps replica), and every `xdrguard` command
//! they contain is run, as written, against fake tenants, the scheduler's paths and indexes
//! filled in as it would. No offline Kubernetes or workflow JSON Schema validator is bundled
//! with this repository, so the shape is checked field by field, citing the documentation.

use super::{closed_port_url, fleet_yaml, json, xdrguard_async, T};
use crate::fake_microsoft::scenarios::Tenant;
use crate::fake_microsoft::Fake;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/fleet")
        .join(name)
}

/// An example YAML file, parsed as xdrguard parses YAML.
fn document(name: &str) -> Value {
    let file = xdrguard::input::diagnostic::SourceFile::read(&example(name)).unwrap();
    xdrguard::input::yaml::parse(file)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .value
}

/// A container's command and args as one argument list.
fn argv(container: &Value) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for key in ["command", "args"] {
        v.extend(
            container[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string()),
        );
    }
    v
}

/// The `xdrguard` lines of a workflow's `run` scripts, cut at the first `||` or `;` (what
/// follows judges the exit code, it is not xdrguard's); `${{ … }}` expressions are left for
/// the caller to fill in, as GitHub does before the shell sees the line.
fn script_commands(workflow: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in workflow["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for line in run
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("xdrguard "))
            {
                let line = line.split(" || ").next().unwrap();
                out.push(line.split("; ").next().unwrap().to_string());
            }
        }
    }
    out
}

/// Three fake tenants (one unreachable) and a fleet file naming them, at `path` under `dir`.
async fn fakes(dir: &Path, path: &str) -> (Fake, Fake) {
    let ready = Fake::start(&Tenant::ready()).await;
    let not_ready = Fake::start(&Tenant::not_ready()).await;
    let targets = [
        T {
            name: "contoso",
            url: ready.uri(),
            token_env: "TOKEN_READY",
            extra: "",
        },
        T {
            name: "fabrikam",
            url: not_ready.uri(),
            token_env: "TOKEN_NOT_READY",
            extra: "",
        },
        T {
            name: "woodgrove-eu",
            url: closed_port_url(),
            token_env: "TOKEN_READY",
            extra: "",
        },
    ];
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, fleet_yaml(&targets)).unwrap();
    (ready, not_ready)
}

const TOKENS: [(&str, &str); 2] = [
    ("TOKEN_READY", "fleet-token-a-0123456789"),
    ("TOKEN_NOT_READY", "fleet-token-b-0123456789"),
];

/// Run `xdrguard ARGS` with the scheduler's absolute paths moved under `dir`.
async fn run_in(dir: &Path, args: &[String], roots: &[&str], env: &[(&str, &str)]) -> i32 {
    let args: Vec<String> = args
        .iter()
        .skip(1) // `xdrguard`
        .map(|a| {
            let mut a = a.clone();
            for root in roots {
                a = a.replace(root, &format!("{}{root}", dir.display()));
            }
            a
        })
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = xdrguard_async(dir, &refs, env).await;
    assert!(r.code != 3, "{args:?}: {}", r.stderr);
    r.code
}

#[test]
fn the_example_fleet_file_lints_clean() {
    let r = super::xdrguard(&example(""), &["lint", "fleet.yaml"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[tokio::test]
async fn kubernetes_indexed_cronjob_shards_then_merges() {
    let docs = [
        document("kubernetes-cronjob.yaml"),
        document("kubernetes-merge-cronjob.yaml"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _fakes = fakes(d, "config/fleet.yaml").await;
    std::fs::create_dir_all(d.join("reports/shards")).unwrap();
    // https://kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode:
    // an Indexed Job's pods get JOB_COMPLETION_INDEX 0..completions-1.
    let shards = &docs[0];
    assert_eq!(
        (shards["apiVersion"].as_str(), shards["kind"].as_str()),
        (Some("batch/v1"), Some("CronJob"))
    );
    let job = &shards["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    let n = job["completions"].as_u64().unwrap();
    assert_eq!(job["parallelism"].as_u64(), Some(n));
    // backoffLimitPerIndex requires restartPolicy Never.
    assert_eq!(job["template"]["spec"]["restartPolicy"], "Never");
    let cmd = argv(&job["template"]["spec"]["containers"][0]);
    assert_eq!(
        cmd[cmd.iter().position(|a| a == "--shard").unwrap() + 1],
        n.to_string()
    );
    for i in 0..n {
        // Kubernetes expands $(VAR) in args from the container's environment.
        let idx = i.to_string();
        let args: Vec<String> = cmd
            .iter()
            .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", &idx))
            .collect();
        let env: Vec<(&str, &str)> = TOKENS
            .iter()
            .copied()
            .chain([("JOB_COMPLETION_INDEX", idx.as_str())])
            .collect();
        run_in(d, &args, &["/config", "/reports"], &env).await;
    }
    let merge = &docs[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let code = run_in(d, &argv(merge), &["/reports"], &[]).await;
    assert_eq!(code, 1, "fabrikam violates");
    let fleet = json(&std::fs::read_to_string(d.join("reports/fleet.json")).unwrap());
    assert_eq!(fleet["summary"]["targets"], 3);
    assert!(std::fs::read_to_string(d.join("reports/fleet.html"))
        .unwrap()
        .contains("woodgrove-eu"));
    assert!(d.join("reports/targets/contoso.json").is_file());
}

#[tokio::test]
async fn github_actions_matrix_shards_then_merges() {
    let wf = document("github-actions.yml");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _fakes = fakes(d, ".xdrguard/fleet.yaml").await;
    let shards: Vec<u64> = wf["jobs"]["shard"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(
        shards,
        (0..shards.len() as u64).collect::<Vec<_>>(),
        "every index, 0-based"
    );
    assert_eq!(wf["jobs"]["shard"]["strategy"]["fail-fast"], false);
    assert_eq!(wf["jobs"]["merge"]["needs"], "shard");
    assert_eq!(wf["jobs"]["merge"]["if"], "always()");
    let cmds = script_commands(&wf);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(
        cmds[0].contains(&format!(
            "--shard ${{{{ matrix.shard }}}}/{} ",
            shards.len()
        )),
        "{}",
        cmds[0]
    );
    std::fs::create_dir_all(d.join("shards")).unwrap();
    for i in &shards {
        let line = cmds[0].replace("${{ matrix.shard }}", &i.to_string());
        run_in(d, &shlex::split(&line).unwrap(), &[], &TOKENS).await;
    }
    let code = run_in(d, &shlex::split(&cmds[1]).unwrap(), &[], &[]).await;
    assert_eq!(code, 1);
    let md = std::fs::read_to_string(d.join("fleet.md")).unwrap();
    assert!(md.contains("| fabrikam | violations |"), "{md}");
    for f in ["fleet.html", "fleet.csv", "fleet.json"] {
        assert!(d.join(f).is_file(), "{f}");
    }
}

#[tokio::test]
async fn container_apps_job_runs_the_whole_fleet_in_one_replica() {
    let job = document("container-apps-job.yaml");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _fakes = fakes(d, "mnt/xdrguard/fleet.yaml").await;
    std::fs::create_dir_all(d.join("mnt/xdrguard/reports")).unwrap();
    // https://learn.microsoft.com/azure/container-apps/jobs: a scheduled job's replicas get
    // no index, so the whole fleet runs in one.
    let c = &job["properties"]["configuration"];
    assert_eq!(c["triggerType"], "Schedule");
    assert_eq!(c["scheduleTriggerConfig"]["parallelism"], 1);
    assert_eq!(c["scheduleTriggerConfig"]["replicaCompletionCount"], 1);
    let cmd = argv(&job["properties"]["template"]["containers"][0]);
    assert!(!cmd.iter().any(|a| a == "--shard"));
    let env: Vec<String> = job["properties"]["template"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["secretRef"].as_str().unwrap().to_string())
        .collect();
    let secrets: Vec<String> = c["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(env, secrets, "every secret the container reads is defined");
    let code = run_in(d, &cmd, &["/mnt/xdrguard"], &TOKENS).await;
    assert_eq!(code, 1);
    let fleet = json(&std::fs::read_to_string(d.join("mnt/xdrguard/reports/fleet.json")).unwrap());
    assert_eq!(fleet["summary"]["error"], 1);
    assert!(d
        .join("mnt/xdrguard/reports/targets/fabrikam.facts.json")
        .is_file());
}
