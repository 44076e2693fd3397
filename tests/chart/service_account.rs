//! Runs the operator with only the rights that the chart's RBAC gives its ServiceAccount:
//! the chart's ServiceAccount, Roles and RoleBindings are applied, and the operator process
//! authenticates with a token of that ServiceAccount instead of the test's admin credentials.

use std::path::Path;
use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};

use crate::support::{TestEnv, arn_of, free_port, is_ready, room_manifest};
use crate::tools::{documents, kubectl, of_kind, template};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Kinds of the rendered objects that give the operator its identity and rights.
const RBAC_KINDS: &[&str] = &["ServiceAccount", "Role", "RoleBinding"];

/// Writes a kubeconfig for the admin kubeconfig's current cluster that authenticates with
/// `token` and nothing else.
fn write_token_kubeconfig(path: &Path, token: &str) {
    let admin: Value = serde_json::from_str(&kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]))
    .expect("kubectl config view prints JSON");
    let cluster = &admin["clusters"][0]["cluster"];
    let server = cluster["server"]
        .as_str()
        .expect("the cluster has a server");
    assert!(
        server.starts_with("https://127.0.0.1:") || server.starts_with("https://[::1]:"),
        "the test control plane is expected on loopback, not {server}"
    );
    let certificate_authority = cluster["certificate-authority-data"]
        .as_str()
        .expect("the flattened kubeconfig embeds the cluster CA");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "test",
            "cluster": {
                "server": server,
                "certificate-authority-data": certificate_authority,
            },
        }],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "test", "user": "operator"}}],
        "current-context": "operator",
    });
    std::fs::write(path, config.to_string()).expect("the kubeconfig can be written");
}

/// Returns the operator arguments of the rendered Deployment, less those the test harness
/// sets itself (`controller`, the watched namespace, the resync period and the poll interval)
/// and the HTTP address, which the test moves to loopback. Checks that the chart watches `namespace`.
fn chart_operator_args(deployment: &Value, namespace: &str) -> Vec<String> {
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("the container has args")
        .iter()
        .map(|arg| arg.as_str().expect("every arg is a string"))
        .collect();
    let watch = format!("--watch-namespace={namespace}");
    assert!(
        args.contains(&watch.as_str()),
        "{watch} missing from {args:?}"
    );
    args.into_iter()
        .filter(|arg| *arg != "controller")
        .filter(|arg| !arg.starts_with("--watch-namespace="))
        .filter(|arg| !arg.starts_with("--resync-seconds="))
        .filter(|arg| !arg.starts_with("--poll-seconds="))
        .filter(|arg| !arg.starts_with("--http-listen="))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn operator_works_with_chart_service_account() {
    let mut env = TestEnv::start("chart-sa").await;
    env.stop_operator().await;
    let namespace = env.namespace.clone();

    let watch = format!("operator.watchNamespaces={{{namespace}}}");
    let objects = documents(&template(
        "sa",
        &namespace,
        &[
            "--set",
            "crds.install=false",
            "--set",
            &watch,
            "--set",
            "leaderElection.enabled=true",
        ],
    ));
    let rbac: Vec<&Value> = objects
        .iter()
        .filter(|object| RBAC_KINDS.contains(&object["kind"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        of_kind(&objects, "Role").len(),
        2,
        "a Role for the watched namespace and one for the Lease"
    );
    assert!(of_kind(&objects, "ClusterRole").is_empty());
    let manifest = json!({"apiVersion": "v1", "kind": "List", "items": rbac});
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let manifest_path = dir.path().join("rbac.json");
    std::fs::write(&manifest_path, manifest.to_string()).expect("the manifest can be written");
    kubectl(&["apply", "-f", manifest_path.to_str().expect("UTF-8 path")]);

    let service_accounts = of_kind(&objects, "ServiceAccount");
    assert_eq!(service_accounts.len(), 1);
    let account = service_accounts[0]["metadata"]["name"]
        .as_str()
        .expect("the ServiceAccount has a name");
    let token = kubectl(&["create", "token", account, "--namespace", &namespace]);
    let kubeconfig = dir.path().join("kubeconfig.json");
    write_token_kubeconfig(&kubeconfig, token.trim());

    // The token kubeconfig must carry the ServiceAccount's identity and nothing more.
    let kubeconfig_arg = kubeconfig.to_str().expect("UTF-8 path");
    let whoami = kubectl(&[
        "auth",
        "whoami",
        "--kubeconfig",
        kubeconfig_arg,
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(
        whoami,
        format!("system:serviceaccount:{namespace}:{account}")
    );
    let secrets = crate::tools::run(
        "kubectl",
        &[
            "auth",
            "can-i",
            "list",
            "secrets",
            "--kubeconfig",
            kubeconfig_arg,
            "--namespace",
            &namespace,
        ],
    );
    assert_eq!(String::from_utf8_lossy(&secrets.stdout).trim(), "no");

    let deployment = of_kind(&objects, "Deployment")[0];
    let mut args = chart_operator_args(deployment, &namespace);
    assert!(args.contains(&"--leader-elect".to_owned()), "{args:?}");
    assert!(
        args.contains(&format!("--leader-election-namespace={namespace}")),
        "{args:?}"
    );
    args.push(format!("--http-listen=127.0.0.1:{}", free_port()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _operator = env.spawn_operator_with_kubeconfig("chart-sa-operator", &kubeconfig, &args);

    let spec = "  publishTo:\n    configMapName: lobby-chat\n";
    let (ok, stderr) = env.apply_text(&room_manifest("lobby", spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let room = env
        .wait_for::<ChatRoom, _>("lobby", TIMEOUT, "Ready", is_ready)
        .await;
    let arn = arn_of(&room);
    let ivs = env.emulator.client();
    ivs.get_room()
        .identifier(&arn)
        .send()
        .await
        .expect("the room exists in IVS");

    let config_maps = env.api::<ConfigMap>();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let config_map = config_maps.get_opt("lobby-chat").await.expect("read");
        let published = config_map
            .and_then(|config_map| config_map.data)
            .and_then(|data| data.get("arn").cloned());
        if published.as_deref() == Some(arn.as_str()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ConfigMap lobby-chat never held {arn}; it holds {published:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (ok, _, stderr) = env
        .kubectl(&["delete", "chatroom", "lobby", "--timeout=60s"])
        .await;
    assert!(ok, "kubectl delete failed: {stderr}");
    let error = ivs
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect_err("the room is gone from IVS");
    assert!(error.into_service_error().is_resource_not_found_exception());
    assert!(
        config_maps
            .get_opt("lobby-chat")
            .await
            .expect("read")
            .is_none(),
        "the ConfigMap is deleted with its room"
    );
}
