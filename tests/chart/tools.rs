//! Helpers that run `helm` and `kubectl`, name test objects and read rendered manifests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

/// Kubernetes version that `helm template` renders for, the version of the test control plane.
pub const KUBE_VERSION: &str = "1.37.2";

/// Path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Path of the chart directory.
pub fn chart_dir() -> PathBuf {
    repo_path("charts/ivschat-operator")
}

/// Returns a name that no other test, and no earlier run against a kept control plane, uses:
/// `prefix`, then a per-process counter and a clock-based suffix, at most 40 characters.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let suffix = (std::process::id() ^ nanos) & 0xff_ffff;
    format!("{prefix}-{count}-{suffix:06x}")
}

/// Runs `program` with `args` and returns its output, failing the test when it cannot start.
pub fn run(program: &str, args: &[&str]) -> Output {
    match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "failed to run {program} ({error}); run the tests through tools/testenv/run.sh \
             (or `make test`), which puts the helm and kubectl it builds on PATH"
        ),
    }
}

/// Runs `program` with `args`, fails the test unless it exits with 0, and returns stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "`{program} {}` failed with {}:\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("command output is UTF-8")
}

/// Runs `helm` and returns stdout, failing the test on a non-zero exit.
pub fn helm(args: &[&str]) -> String {
    run_ok("helm", args)
}

/// Runs `kubectl` and returns stdout, failing the test on a non-zero exit.
pub fn kubectl(args: &[&str]) -> String {
    require_kubeconfig();
    run_ok("kubectl", args)
}

/// Fails the test unless `KUBECONFIG` names a file, so no test talks to a cluster by accident.
pub fn require_kubeconfig() {
    let path = std::env::var_os("KUBECONFIG").expect(
        "KUBECONFIG is not set; run the tests through tools/testenv/run.sh (or `make test`)",
    );
    assert!(
        Path::new(&path).is_file(),
        "KUBECONFIG names {path:?}, which is not a file"
    );
}

/// Creates namespace `name` on the test control plane.
pub fn create_namespace(name: &str) {
    kubectl(&["create", "namespace", name]);
}

/// Renders the chart with `helm template` for the test control plane's version, as release
/// `release` in `namespace`, with extra `helm` arguments such as `--set`.
pub fn template(release: &str, namespace: &str, extra: &[&str]) -> String {
    let chart = chart_dir();
    let chart = chart.to_str().expect("chart path is UTF-8");
    let mut args = vec![
        "template",
        release,
        chart,
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
    ];
    args.extend_from_slice(extra);
    helm(&args)
}

/// Parses a multi-document YAML manifest into JSON values, skipping empty documents.
pub fn documents(manifest: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(manifest)
        .map(|document| Value::deserialize(document).expect("the manifest is valid YAML"))
        .filter(|document| !document.is_null())
        .collect()
}

/// Returns the `kind/name` of every object in `documents`, with the namespace when set.
pub fn object_ids(documents: &[Value]) -> Vec<String> {
    documents
        .iter()
        .map(|document| {
            let kind = document["kind"].as_str().expect("every object has a kind");
            let name = document["metadata"]["name"]
                .as_str()
                .expect("every object has a name");
            match document["metadata"]["namespace"].as_str() {
                Some(namespace) => format!("{kind}/{namespace}/{name}"),
                None => format!("{kind}/{name}"),
            }
        })
        .collect()
}

/// Returns the objects of kind `kind` in `documents`.
pub fn of_kind<'a>(documents: &'a [Value], kind: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|document| document["kind"] == kind)
        .collect()
}

/// Writes `text` to a new file in a temporary directory that lives as long as the result.
pub fn write_temp(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("manifest.yaml");
    std::fs::write(&path, text).expect("the manifest can be written");
    (dir, path)
}

/// Applies `manifest` with `kubectl apply --dry-run=server --validate=strict`, which runs the
/// API server's schema validation, admission and unknown-field checks without storing
/// anything, and returns (success, stderr).
pub fn server_dry_run(manifest: &str) -> (bool, String) {
    require_kubeconfig();
    let (_dir, path) = write_temp(manifest);
    let output = run(
        "kubectl",
        &[
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "-f",
            path.to_str().expect("temporary path is UTF-8"),
        ],
    );
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
