//! Rendering tests: `helm lint`, the chart's copy of the CRDs, and `helm template` output
//! checked by the API server in dry-run mode.

use serde_json::{Value, json};

use crate::tools::{
    chart_dir, create_namespace, documents, helm, kubectl, object_ids, of_kind, repo_path,
    server_dry_run, template, unique_name,
};

/// Value sets that `helm lint` must accept, each a list of `helm` arguments.
const LINT_CASES: &[&[&str]] = &[
    &[],
    &["--set", "operator.watchNamespaces={team-a,team-b}"],
    &["--set", "replicaCount=2"],
    &[
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "crds.install=false",
    ],
];

#[test]
fn helm_lint_passes() {
    let chart = chart_dir();
    for extra in LINT_CASES {
        let mut args = vec!["lint", "--strict", chart.to_str().expect("UTF-8 path")];
        args.extend_from_slice(extra);
        helm(&args);
    }
}

#[test]
fn values_schema_rejects_unknown_keys_and_bad_values() {
    let cases: &[&[&str]] = &[
        &["--set", "operator.watchNamespace=team-a"],
        &["--set", "operator.defaultDeletionPolicy=Orphan"],
        &["--set", "operator.logFormat=xml"],
        &["--set", "leaderElection.enabled=maybe"],
        &["--set", "http.port=70000"],
    ];
    let chart = chart_dir();
    for extra in cases {
        let mut args = vec![
            "template",
            "schema-check",
            chart.to_str().expect("UTF-8 path"),
        ];
        args.extend_from_slice(extra);
        let output = crate::tools::run("helm", &args);
        assert!(
            !output.status.success(),
            "helm template accepted invalid values {extra:?}"
        );
    }
}

#[test]
fn chart_crds_equal_crds_directory() {
    let source = std::fs::read_to_string(repo_path("crds/ivschat.operators.dev.yaml"))
        .expect("crds/ivschat.operators.dev.yaml is readable");
    let copy = std::fs::read_to_string(chart_dir().join("files/crds/ivschat.operators.dev.yaml"))
        .expect("the chart's copy of the CRDs is readable");
    assert!(
        source == copy,
        "charts/ivschat-operator/files/crds/ivschat.operators.dev.yaml differs from crds/; \
         copy it again: cp crds/ivschat.operators.dev.yaml charts/ivschat-operator/files/crds/"
    );
}

/// The CRD template re-serialises the copied file, so check that nothing but the added
/// labels and the keep annotation changed.
#[test]
fn rendered_crds_equal_crds_directory() {
    let rendered = template(
        "crd-render",
        "crd-render",
        &["--show-only", "templates/crds.yaml"],
    );
    let mut rendered = documents(&rendered);
    let source = std::fs::read_to_string(repo_path("crds/ivschat.operators.dev.yaml"))
        .expect("crds/ivschat.operators.dev.yaml is readable");
    let source = documents(&source);
    assert_eq!(
        rendered.len(),
        source.len(),
        "one rendered CRD per source CRD"
    );

    for crd in &mut rendered {
        let metadata = crd["metadata"].as_object_mut().expect("a CRD has metadata");
        let annotations = metadata
            .remove("annotations")
            .expect("a rendered CRD has annotations");
        assert_eq!(annotations, json!({"helm.sh/resource-policy": "keep"}));
        let labels = metadata
            .remove("labels")
            .expect("a rendered CRD has labels");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
    }
    for (rendered, source) in rendered.into_iter().zip(source) {
        let name = source["metadata"]["name"].clone();
        let difference =
            first_difference(&numbers_as_floats(rendered), &numbers_as_floats(source), "");
        assert_eq!(difference, None, "rendered CRD {name} differs from crds/");
    }
}

/// Returns the JSON path of the first place where `left` and `right` differ.
fn first_difference(left: &Value, right: &Value, path: &str) -> Option<String> {
    match (left, right) {
        (Value::Object(left), Value::Object(right)) => {
            left.keys()
                .chain(right.keys())
                .find_map(|key| match (left.get(key), right.get(key)) {
                    (Some(l), Some(r)) => first_difference(l, r, &format!("{path}.{key}")),
                    _ => Some(format!("{path}.{key} is missing on one side")),
                })
        }
        (Value::Array(left), Value::Array(right)) if left.len() == right.len() => left
            .iter()
            .zip(right)
            .enumerate()
            .find_map(|(index, (l, r))| first_difference(l, r, &format!("{path}[{index}]"))),
        _ if left == right => None,
        _ => Some(format!("{path}: {left} != {right}")),
    }
}

/// Turns every number in `value` into a float. The CRD file writes some schema bounds as
/// `100.0`, which Helm's `toYaml` prints as `100`; both are the same JSON number to the API
/// server.
fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(number) => json!(number.as_f64().expect("a finite number")),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, field)| (key, numbers_as_floats(field)))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn crds_are_left_out_when_disabled() {
    let rendered = documents(&template(
        "no-crds",
        "no-crds",
        &["--set", "crds.install=false"],
    ));
    assert!(of_kind(&rendered, "CustomResourceDefinition").is_empty());
    assert_eq!(of_kind(&rendered, "Deployment").len(), 1);
}

#[test]
fn default_render_passes_server_validation() {
    let namespace = unique_name("chart-render");
    create_namespace(&namespace);
    let manifest = template(&namespace, &namespace, &[]);
    let objects = documents(&manifest);

    let ids = object_ids(&objects);
    for expected in [
        "CustomResourceDefinition/chatrooms.ivschat.operators.dev".to_owned(),
        "CustomResourceDefinition/chatloggingconfigurations.ivschat.operators.dev".to_owned(),
        format!("ServiceAccount/{namespace}/{namespace}-ivschat-operator"),
        format!("ClusterRole/{namespace}-ivschat-operator"),
        format!("ClusterRoleBinding/{namespace}-ivschat-operator"),
        format!("Deployment/{namespace}/{namespace}-ivschat-operator"),
        format!("Service/{namespace}/{namespace}-ivschat-operator"),
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 7, "unexpected objects in {ids:?}");

    let (accepted, stderr) = server_dry_run(&manifest);
    assert!(
        accepted,
        "the API server rejected the default render: {stderr}"
    );
}

#[test]
fn namespaced_render_passes_server_validation() {
    let namespace = unique_name("chart-ns-render");
    let watched = [format!("{namespace}-a"), format!("{namespace}-b")];
    for name in [&namespace, &watched[0], &watched[1]] {
        create_namespace(name);
    }
    let set = format!("operator.watchNamespaces={{{},{}}}", watched[0], watched[1]);
    let manifest = template(
        &namespace,
        &namespace,
        &["--set", &set, "--set", "leaderElection.enabled=true"],
    );
    let objects = documents(&manifest);

    assert!(of_kind(&objects, "ClusterRole").is_empty());
    assert!(of_kind(&objects, "ClusterRoleBinding").is_empty());
    let mut role_namespaces: Vec<&str> = of_kind(&objects, "Role")
        .iter()
        .map(|role| role["metadata"]["namespace"].as_str().expect("namespaced"))
        .collect();
    role_namespaces.sort_unstable();
    assert_eq!(
        role_namespaces,
        vec![namespace.as_str(), watched[0].as_str(), watched[1].as_str()],
        "a Role for the Lease in the release namespace and one per watched namespace"
    );
    assert_eq!(of_kind(&objects, "RoleBinding").len(), 3);

    let deployment = of_kind(&objects, "Deployment")[0];
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    for expected in [
        format!("--watch-namespace={}", watched[0]),
        format!("--watch-namespace={}", watched[1]),
        "--leader-elect".to_owned(),
        format!("--leader-election-namespace={namespace}"),
    ] {
        assert!(
            args.as_array().expect("args").contains(&json!(expected)),
            "{expected} missing from {args}"
        );
    }

    let (accepted, stderr) = server_dry_run(&manifest);
    assert!(
        accepted,
        "the API server rejected the namespaced render: {stderr}"
    );
}

#[test]
fn optional_objects_pass_server_validation() {
    let namespace = unique_name("chart-optional");
    create_namespace(&namespace);
    let extra = [
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "replicaCount=2",
        "--set",
        "aws.credentialsSecretName=aws-keys",
        "--set",
        "ivs.region=eu-west-1",
    ];
    let objects = documents(&template(&namespace, &namespace, &extra));
    assert_eq!(of_kind(&objects, "ServiceMonitor").len(), 1);
    assert_eq!(of_kind(&objects, "NetworkPolicy").len(), 1);

    let deployment = of_kind(&objects, "Deployment")[0];
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args = container["args"].as_array().expect("args");
    assert!(args.contains(&json!("--leader-elect")));
    let env = container["env"].as_array().expect("env");
    let secret_keys: Vec<&str> = env
        .iter()
        .filter_map(|variable| variable["valueFrom"]["secretKeyRef"]["name"].as_str())
        .collect();
    assert_eq!(secret_keys, vec!["aws-keys"; 3]);
    assert!(env.contains(&json!({"name": "AWS_REGION", "value": "eu-west-1"})));

    // The test control plane has no monitoring.coreos.com CRDs, so everything but the
    // ServiceMonitor goes to the API server.
    let without_service_monitor: Vec<Value> = objects
        .into_iter()
        .filter(|object| object["kind"] != "ServiceMonitor")
        .collect();
    let manifest = json!({"apiVersion": "v1", "kind": "List", "items": without_service_monitor});
    let (accepted, stderr) = server_dry_run(&manifest.to_string());
    assert!(
        accepted,
        "the API server rejected the optional objects: {stderr}"
    );
}

#[test]
fn several_replicas_without_leader_election_fail_to_render() {
    let output = crate::tools::run(
        "helm",
        &[
            "template",
            "no-election",
            chart_dir().to_str().expect("UTF-8 path"),
            "--set",
            "replicaCount=3",
            "--set",
            "leaderElection.enabled=false",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("leader election"),
        "unexpected error: {stderr}"
    );
}

/// Creates the Deployment's Pod in a namespace that enforces the "restricted" Pod Security
/// level, so the API server's PodSecurity admission judges the chart's security settings.
#[test]
fn pod_passes_restricted_pod_security() {
    let namespace = unique_name("chart-restricted");
    create_namespace(&namespace);
    kubectl(&[
        "label",
        "namespace",
        &namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    ]);

    let (accepted, stderr) = server_dry_run(&pod_from_render(&namespace, &[]));
    assert!(
        accepted,
        "the restricted level rejected the chart's Pod: {stderr}"
    );

    // The same Pod with privilege escalation allowed must be rejected, which shows that the
    // namespace really enforces the level.
    let escalating = pod_from_render(
        &namespace,
        &["--set", "securityContext.allowPrivilegeEscalation=true"],
    );
    let (accepted, stderr) = server_dry_run(&escalating);
    assert!(
        !accepted,
        "a Pod allowing privilege escalation was accepted"
    );
    assert!(stderr.contains("restricted"), "unexpected error: {stderr}");
}

/// Renders the chart and returns a Pod manifest built from its Deployment's Pod template.
fn pod_from_render(namespace: &str, extra: &[&str]) -> String {
    let objects = documents(&template(namespace, namespace, extra));
    let deployment = of_kind(&objects, "Deployment")[0];
    let pod_template = &deployment["spec"]["template"];
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "restricted-check",
            "namespace": namespace,
            "labels": pod_template["metadata"]["labels"],
        },
        "spec": pod_template["spec"],
    });
    pod.to_string()
}
