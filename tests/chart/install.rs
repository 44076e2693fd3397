//! Cluster tests: `helm install`, `helm upgrade` and `helm uninstall` on the test control
//! plane, and the permissions the chart's RBAC gives the operator's ServiceAccount.
//!
//! Helm 4 installs with server-side apply by default, as these tests do. They never pass
//! `--wait`: no kubelet runs, so the Deployment never becomes available.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::tools::{
    chart_dir, create_namespace, documents, helm, kubectl, object_ids, run, unique_name, write_temp,
};

/// Resource rules that `kubectl auth can-i --list` shows in every namespace for any
/// authenticated identity. Kubernetes 1.37 grants them through built-in ClusterRoles bound
/// to `system:authenticated`: `system:basic-user` (the self reviews) and
/// `system:cluster-trust-bundle-discovery` (ClusterTrustBundles, public CA certificates).
const AUTHENTICATED_RULES: &[(&str, &str, &[&str])] = &[
    (
        "selfsubjectaccessreviews.authorization.k8s.io",
        "",
        &["create"],
    ),
    (
        "selfsubjectrulesreviews.authorization.k8s.io",
        "",
        &["create"],
    ),
    ("selfsubjectreviews.authentication.k8s.io", "", &["create"]),
    (
        "clustertrustbundles.certificates.k8s.io",
        "",
        &["get", "list", "watch"],
    ),
];

/// The operator's rules in each namespace it watches: `(resource, resource names, verbs)`.
const WATCH_RULES: &[(&str, &str, &[&str])] = &[
    (
        "chatrooms.ivschat.operators.dev",
        "",
        &["get", "list", "patch", "update", "watch"],
    ),
    (
        "chatloggingconfigurations.ivschat.operators.dev",
        "",
        &["get", "list", "patch", "update", "watch"],
    ),
    (
        "chatrooms.ivschat.operators.dev/status",
        "",
        &["get", "patch", "update"],
    ),
    (
        "chatloggingconfigurations.ivschat.operators.dev/status",
        "",
        &["get", "patch", "update"],
    ),
    (
        "chatrooms.ivschat.operators.dev/finalizers",
        "",
        &["update"],
    ),
    (
        "chatloggingconfigurations.ivschat.operators.dev/finalizers",
        "",
        &["update"],
    ),
    ("events.events.k8s.io", "", &["create", "patch"]),
];

/// The rule that `rbac.publishConfigMaps` (on by default) adds to [`WATCH_RULES`].
const CONFIG_MAP_RULES: &[(&str, &str, &[&str])] =
    &[("configmaps", "", &["create", "delete", "get", "patch"])];

/// Resource permissions as `resource[/subresource]` and resource names, each with its verbs.
type Permissions = BTreeMap<(String, String), BTreeSet<String>>;

/// Builds the expected permissions from rule tables.
fn allow_list(tables: &[&[(&str, &str, &[&str])]]) -> Permissions {
    let mut permissions = Permissions::new();
    for table in tables {
        for (resource, names, verbs) in *table {
            permissions
                .entry(((*resource).to_owned(), (*names).to_owned()))
                .or_default()
                .extend(verbs.iter().map(|verb| (*verb).to_owned()));
        }
    }
    permissions
}

/// Returns the resource permissions of ServiceAccount `account` in `namespace` from
/// `kubectl auth can-i --list`. Rows for non-resource URLs (`/healthz`, `/version` and the
/// like, granted to every authenticated identity) are left out.
fn permissions(account_namespace: &str, account: &str, namespace: &str) -> Permissions {
    let subject = format!("system:serviceaccount:{account_namespace}:{account}");
    let table = kubectl(&[
        "auth",
        "can-i",
        "--list",
        "--no-headers",
        "--as",
        &subject,
        "--namespace",
        namespace,
    ]);
    let mut permissions = Permissions::new();
    for line in table.lines() {
        let Some(first_bracket) = line.find('[') else {
            continue;
        };
        let resource = line[..first_bracket].trim();
        let lists = bracket_lists(&line[first_bracket..]);
        assert_eq!(
            lists.len(),
            3,
            "unexpected `kubectl auth can-i` row: {line}"
        );
        if resource.is_empty() {
            continue;
        }
        permissions
            .entry((resource.to_owned(), lists[1].join(" ")))
            .or_default()
            .extend(lists[2].iter().cloned());
    }
    permissions
}

/// Splits `[a b] [] [c]` into its lists of words.
fn bracket_lists(text: &str) -> Vec<Vec<String>> {
    text.split(']')
        .filter_map(|part| part.split_once('[').map(|(_, inside)| inside))
        .map(|inside| inside.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Returns whether ServiceAccount `account` in `account_namespace` may do `verb` on
/// `resource` in `namespace`, or in every namespace when `namespace` is `None`.
///
/// `resource` is `plural[.group][/name]`, as in `leases.coordination.k8s.io/my-lease`. The
/// question goes to the API server as a SubjectAccessReview with explicit group and
/// resource, because `kubectl auth can-i` resolves names through discovery and answers
/// "no" for a kind whose CRD is not installed, which would make a denial check pass
/// vacuously.
fn can_i(
    account_namespace: &str,
    account: &str,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> bool {
    let (resource, name) = resource.split_once('/').unwrap_or((resource, ""));
    let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": format!("system:serviceaccount:{account_namespace}:{account}"),
            "groups": [
                "system:serviceaccounts",
                format!("system:serviceaccounts:{account_namespace}"),
                "system:authenticated",
            ],
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": plural,
                "name": name,
                "namespace": namespace.unwrap_or(""),
            },
        },
    });
    let (_dir, path) = write_temp(&review.to_string());
    let allowed = kubectl(&[
        "create",
        "-f",
        path.to_str().expect("UTF-8 path"),
        "-o",
        "jsonpath={.status.allowed}",
    ]);
    match allowed.trim() {
        "true" => true,
        "false" | "" => false,
        other => panic!("unexpected SubjectAccessReview answer {other:?} for {review}"),
    }
}

/// Installs the chart without CRDs (only the upgrade test installs them) and returns the release's
/// rendered objects as `kind/namespace/name` ids.
fn install_without_crds(release: &str, namespace: &str, extra: &[&str]) -> Vec<String> {
    let chart = chart_dir();
    let mut args = vec![
        "install",
        release,
        chart.to_str().expect("UTF-8 path"),
        "--namespace",
        namespace,
        "--set",
        "crds.install=false",
    ];
    args.extend_from_slice(extra);
    helm(&args);
    object_ids(&documents(&helm(&[
        "get",
        "manifest",
        release,
        "--namespace",
        namespace,
    ])))
}

/// Checks that every object of `ids` exists on the server.
fn assert_objects_exist(ids: &[String]) {
    for id in ids {
        let parts: Vec<&str> = id.split('/').collect();
        let found = match parts.as_slice() {
            [kind, name] => kubectl(&["get", kind, name, "-o", "name"]),
            [kind, namespace, name] => {
                kubectl(&["get", kind, name, "--namespace", namespace, "-o", "name"])
            }
            _ => panic!("unexpected object id {id}"),
        };
        assert!(!found.trim().is_empty(), "{id} was not created");
    }
}

#[test]
fn cluster_mode_grants_only_the_allow_list() {
    let namespace = unique_name("chart-rbac");
    create_namespace(&namespace);
    let ids = install_without_crds(&namespace, &namespace, &[]);
    assert_objects_exist(&ids);
    let account = format!("{namespace}-ivschat-operator");

    let expected = allow_list(&[WATCH_RULES, CONFIG_MAP_RULES, AUTHENTICATED_RULES]);
    assert_eq!(permissions(&namespace, &account, &namespace), expected);
    assert_eq!(permissions(&namespace, &account, "default"), expected);

    assert!(can_i(
        &namespace,
        &account,
        "list",
        "chatrooms.ivschat.operators.dev",
        None
    ));
    assert!(can_i(
        &namespace,
        &account,
        "patch",
        "configmaps",
        Some("default")
    ));
    for (verb, resource) in [
        ("get", "secrets"),
        ("list", "secrets"),
        ("list", "configmaps"),
        ("watch", "configmaps"),
        ("list", "pods"),
        ("create", "leases.coordination.k8s.io"),
        ("delete", "chatrooms.ivschat.operators.dev"),
        ("create", "chatrooms.ivschat.operators.dev"),
    ] {
        assert!(
            !can_i(&namespace, &account, verb, resource, None),
            "the ServiceAccount may {verb} {resource}"
        );
    }

    helm(&["uninstall", &namespace, "--namespace", &namespace]);
}

#[test]
fn namespaced_mode_grants_only_watched_namespaces() {
    let namespace = unique_name("chart-nsrbac");
    let watched = [format!("{namespace}-a"), format!("{namespace}-b")];
    let other = format!("{namespace}-c");
    for name in [&namespace, &watched[0], &watched[1], &other] {
        create_namespace(name);
    }
    let set = format!("operator.watchNamespaces={{{},{}}}", watched[0], watched[1]);
    let ids = install_without_crds(
        &namespace,
        &namespace,
        &[
            "--set",
            &set,
            "--set",
            "leaderElection.enabled=true",
            "--set",
            "rbac.publishConfigMaps=false",
        ],
    );
    assert_objects_exist(&ids);
    assert!(
        !ids.iter().any(|id| id.starts_with("ClusterRole")),
        "namespaced mode created cluster-wide RBAC: {ids:?}"
    );
    let account = format!("{namespace}-ivschat-operator");
    let lease = format!("{namespace}-ivschat-operator");

    let watched_expected = allow_list(&[WATCH_RULES, AUTHENTICATED_RULES]);
    for name in &watched {
        assert_eq!(permissions(&namespace, &account, name), watched_expected);
    }
    let lease_rules: &[(&str, &str, &[&str])] = &[
        ("leases.coordination.k8s.io", "", &["create"]),
        (
            "leases.coordination.k8s.io",
            &lease,
            &["get", "list", "patch", "update", "watch"],
        ),
    ];
    assert_eq!(
        permissions(&namespace, &account, &namespace),
        allow_list(&[lease_rules, AUTHENTICATED_RULES])
    );
    assert_eq!(
        permissions(&namespace, &account, &other),
        allow_list(&[AUTHENTICATED_RULES])
    );

    for verb in ["get", "list", "watch", "update", "patch"] {
        assert!(can_i(
            &namespace,
            &account,
            verb,
            "chatrooms.ivschat.operators.dev",
            Some(&watched[0])
        ));
        assert!(!can_i(
            &namespace,
            &account,
            verb,
            "chatrooms.ivschat.operators.dev",
            Some(&other)
        ));
        assert!(!can_i(
            &namespace,
            &account,
            verb,
            "chatrooms.ivschat.operators.dev",
            None
        ));
    }
    assert!(!can_i(
        &namespace,
        &account,
        "create",
        "events.events.k8s.io",
        Some(&other)
    ));
    assert!(
        !can_i(&namespace, &account, "get", "configmaps", Some(&watched[0])),
        "rbac.publishConfigMaps=false still grants ConfigMaps"
    );
    let lease_resource = format!("leases.coordination.k8s.io/{lease}");
    assert!(can_i(
        &namespace,
        &account,
        "update",
        &lease_resource,
        Some(&namespace)
    ));
    assert!(!can_i(
        &namespace,
        &account,
        "update",
        "leases.coordination.k8s.io/another-lease",
        Some(&namespace)
    ));
    assert!(!can_i(
        &namespace,
        &account,
        "update",
        &lease_resource,
        Some(&watched[0])
    ));

    helm(&["uninstall", &namespace, "--namespace", &namespace]);
}

/// Name of the printer column that the upgrade test adds to the ChatRoom CRD.
const TEST_COLUMN: &str = "Chart Upgrade Test";

/// Installs the chart with its CRDs, upgrades it with a changed CRD and back, uninstalls it,
/// and checks that the CRDs and a ChatRoom outlive the release.
///
/// CRDs are cluster-scoped and shared with the other tests, which apply the same CRDs with
/// `kubectl apply --server-side --force-conflicts`. So this test installs with
/// `--take-ownership` (the CRDs may already exist without Helm's ownership metadata) and
/// `--force-conflicts` (kubectl's field manager may own their fields). The changed CRD only
/// adds a printer column with priority 1, which `kubectl get` shows with `-o wide` alone and
/// which changes no validation, and the second upgrade restores the original CRD. It is the
/// only test in this file that installs CRDs.
///
/// NOTE: `cargo test` runs test binaries one after another. A runner that runs them in
/// parallel could re-apply the CRDs between the upgrade and its check and fail this test.
#[test]
fn upgrade_changes_crds_and_uninstall_keeps_them() {
    let namespace = unique_name("chart-lifecycle");
    create_namespace(&namespace);
    let chart = chart_dir();
    let chart = chart.to_str().expect("UTF-8 path");
    let ownership = ["--namespace", &namespace, "--force-conflicts"];

    let mut install = vec!["install", &namespace, chart, "--take-ownership"];
    install.extend_from_slice(&ownership);
    helm(&install);
    let ids = object_ids(&documents(&helm(&[
        "get",
        "manifest",
        &namespace,
        "--namespace",
        &namespace,
    ])));
    assert!(ids.contains(&"CustomResourceDefinition/chatrooms.ivschat.operators.dev".to_owned()));
    assert_objects_exist(&ids);
    for crd in CRDS {
        let policy = kubectl(&[
            "get",
            "crd",
            crd,
            "-o",
            r"jsonpath={.metadata.annotations.helm\.sh/resource-policy}",
        ]);
        assert_eq!(policy, "keep", "{crd} lacks the keep policy");
        kubectl(&[
            "wait",
            "--for=condition=Established",
            &format!("crd/{crd}"),
            "--timeout=60s",
        ]);
    }
    let (_room_dir, room) = crate::tools::write_temp(
        "apiVersion: ivschat.operators.dev/v1alpha1\n\
         kind: ChatRoom\n\
         metadata:\n  name: kept-room\n\
         spec:\n  maximumMessageLength: 100\n",
    );
    kubectl(&[
        "create",
        "--namespace",
        &namespace,
        "-f",
        room.to_str().expect("UTF-8 path"),
    ]);

    let changed = chart_with_extra_column();
    let mut upgrade = vec![
        "upgrade",
        &namespace,
        changed.path().to_str().expect("UTF-8 path"),
    ];
    upgrade.extend_from_slice(&ownership);
    helm(&upgrade);
    assert!(
        printer_columns().contains(TEST_COLUMN),
        "helm upgrade did not update the ChatRoom CRD"
    );

    let mut restore = vec!["upgrade", &namespace, chart];
    restore.extend_from_slice(&ownership);
    helm(&restore);
    assert!(
        !printer_columns().contains(TEST_COLUMN),
        "helm upgrade did not restore the ChatRoom CRD"
    );

    helm(&["uninstall", &namespace, "--namespace", &namespace]);
    for crd in CRDS {
        kubectl(&["get", "crd", crd, "-o", "name"]);
    }
    let room_name = kubectl(&[
        "get",
        "chatroom",
        "kept-room",
        "--namespace",
        &namespace,
        "-o",
        "name",
    ]);
    assert_eq!(room_name.trim(), "chatroom.ivschat.operators.dev/kept-room");
    let deployments = kubectl(&[
        "get",
        "deployments",
        "--namespace",
        &namespace,
        "-o",
        "name",
    ]);
    assert_eq!(deployments.trim(), "", "helm uninstall left the Deployment");
    let cluster_role = run(
        "kubectl",
        &[
            "get",
            "clusterrole",
            &format!("{namespace}-ivschat-operator"),
        ],
    );
    assert!(
        !cluster_role.status.success(),
        "helm uninstall left the ClusterRole"
    );

    kubectl(&[
        "delete",
        "chatroom",
        "kept-room",
        "--namespace",
        &namespace,
        "--wait=false",
    ]);
}

/// The chart's two CRDs.
const CRDS: [&str; 2] = [
    "chatrooms.ivschat.operators.dev",
    "chatloggingconfigurations.ivschat.operators.dev",
];

/// Returns the printer column names of the ChatRoom CRD, separated by spaces.
fn printer_columns() -> String {
    kubectl(&[
        "get",
        "crd",
        "chatrooms.ivschat.operators.dev",
        "-o",
        "jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}",
    ])
}

/// Copies the chart into a temporary directory and adds printer column [`TEST_COLUMN`] to
/// the ChatRoom CRD, the first CRD in the file.
fn chart_with_extra_column() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    copy_dir(&chart_dir(), dir.path());
    let crd_path = dir.path().join("files/crds/ivschat.operators.dev.yaml");
    let crds = std::fs::read_to_string(&crd_path).expect("the chart's CRD copy is readable");
    let anchor = "  - additionalPrinterColumns:\n";
    assert!(
        crds.contains(anchor),
        "the CRD file has no printer columns to extend"
    );
    let column = format!(
        "{anchor}    - jsonPath: .spec.name\n      name: {TEST_COLUMN}\n      priority: 1\n      type: string\n"
    );
    std::fs::write(&crd_path, crds.replacen(anchor, &column, 1))
        .expect("the changed CRD can be written");
    dir
}

/// Copies directory `from` into `to` recursively.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("the target directory can be created");
    for entry in std::fs::read_dir(from).expect("the chart directory is readable") {
        let entry = entry.expect("a directory entry is readable");
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .expect("the file type is readable")
            .is_dir()
        {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a chart file can be copied");
        }
    }
}
