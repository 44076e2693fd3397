//! Runs the chart's Argo CD health check on objects that a running operator has put into
//! each state, read back from the API server as Argo CD would read them.

use std::time::Duration;

use ivschat_operator::crd::{ChatLoggingConfiguration, ChatRoom};
use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use serde_json::Value;

use crate::argocd_health::health;
use crate::support::{TestEnv, condition_true, has_condition, is_ready, room_manifest};

const TIMEOUT: Duration = Duration::from_secs(60);

const LOGGING_CONFIGURATION: &str = "apiVersion: ivschat.operators.dev/v1alpha1
kind: ChatLoggingConfiguration
metadata:
  name: archive
spec:
  destinationConfiguration:
    s3:
      bucketName: health-check-bucket
";

/// Reads object `name` of kind `K` as the API server returns it, with every field.
async fn live_object<K>(env: &TestEnv, name: &str) -> Value
where
    K: kube::Resource<DynamicType = ()>,
{
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), &env.namespace, &resource);
    let object = api.get(name).await.expect("the object can be read");
    serde_json::to_value(object).expect("the object converts to JSON")
}

async fn apply(env: &TestEnv, manifest: &str) {
    let (ok, stderr) = env.apply_text(manifest).await;
    assert!(ok, "kubectl apply failed: {stderr}");
}

fn logging_configuration_has_reason(config: &ChatLoggingConfiguration, reason: &str) -> bool {
    config.status.as_ref().is_some_and(|status| {
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.reason == reason)
    })
}

fn logging_configuration_is_ready(config: &ChatLoggingConfiguration) -> bool {
    config
        .status
        .as_ref()
        .is_some_and(|status| condition_true(&status.conditions, "Ready"))
}

/// Checks the health of `object`: its status and a part of its message.
fn assert_health(case: &str, object: &Value, expected_status: &str, expected_message: &str) {
    let (status, message) = health(object);
    assert_eq!(status, expected_status, "status of {case}: {message}");
    assert!(!message.is_empty(), "{case} has an empty message");
    assert!(
        message.contains(expected_message),
        "message of {case} is {message:?}, expected it to contain {expected_message:?}"
    );
}

#[tokio::test]
async fn health_check_on_live_objects() {
    let env = TestEnv::start("chart-health").await;

    apply(
        &env,
        &room_manifest("ready", "  maximumMessageLength: 100\n"),
    )
    .await;
    let waiting = "  loggingConfigurations:\n    - name: missing-config\n";
    apply(&env, &room_manifest("waiting", waiting)).await;
    let missing = "arn:aws:ivschat:us-east-1:123456789012:room/NoSuchRoom12";
    let adopt = format!("  adopt:\n    arn: {missing}\n");
    apply(&env, &room_manifest("adopt-missing", &adopt)).await;
    apply(
        &env,
        &room_manifest("paused", "  maximumMessageLength: 100\n"),
    )
    .await;
    apply(&env, LOGGING_CONFIGURATION).await;
    let logging = "  loggingConfigurations:\n    - name: archive\n";
    apply(&env, &room_manifest("logging", logging)).await;

    env.wait_for::<ChatRoom, _>("ready", TIMEOUT, "Ready", is_ready)
        .await;
    env.wait_for::<ChatRoom, _>("waiting", TIMEOUT, "ReferenceNotReady", |room| {
        has_condition(room, "Ready", "ReferenceNotReady")
    })
    .await;
    env.wait_for::<ChatRoom, _>("adopt-missing", TIMEOUT, "AdoptionTargetNotFound", |room| {
        has_condition(room, "Synced", "AdoptionTargetNotFound")
    })
    .await;

    env.wait_for::<ChatRoom, _>("paused", TIMEOUT, "Ready", is_ready)
        .await;
    let (ok, _, stderr) = env
        .kubectl(&[
            "annotate",
            "chatroom",
            "paused",
            "ivschat.operators.dev/paused=true",
        ])
        .await;
    assert!(ok, "kubectl annotate failed: {stderr}");
    env.wait_for::<ChatRoom, _>("paused", TIMEOUT, "paused", |room| {
        has_condition(room, "Synced", "ReconcilePaused")
    })
    .await;

    env.wait_for::<ChatLoggingConfiguration, _>(
        "archive",
        TIMEOUT,
        "Ready",
        logging_configuration_is_ready,
    )
    .await;
    env.wait_for::<ChatRoom, _>("logging", TIMEOUT, "Ready", is_ready)
        .await;
    let (ok, _, stderr) = env
        .kubectl(&[
            "delete",
            "chatloggingconfiguration",
            "archive",
            "--wait=false",
        ])
        .await;
    assert!(ok, "kubectl delete failed: {stderr}");
    env.wait_for::<ChatLoggingConfiguration, _>("archive", TIMEOUT, "Deleting", |config| {
        logging_configuration_has_reason(config, "Deleting")
    })
    .await;

    let ready = live_object::<ChatRoom>(&env, "ready").await;
    assert_health("a Ready room", &ready, "Healthy", "");

    let waiting = live_object::<ChatRoom>(&env, "waiting").await;
    assert_health(
        "a room waiting for its logging configuration",
        &waiting,
        "Progressing",
        "ReferenceNotReady: ",
    );

    let adopt_missing = live_object::<ChatRoom>(&env, "adopt-missing").await;
    assert_health(
        "a room adopting a missing room",
        &adopt_missing,
        "Degraded",
        "AdoptionTargetNotFound: ",
    );

    let paused = live_object::<ChatRoom>(&env, "paused").await;
    assert_eq!(
        paused["metadata"]["annotations"]["ivschat.operators.dev/paused"],
        "true"
    );
    assert_health("a paused room", &paused, "Suspended", "paused annotation");

    let deleting = live_object::<ChatLoggingConfiguration>(&env, "archive").await;
    assert!(
        deleting["metadata"]["deletionTimestamp"].is_string(),
        "the logging configuration is being deleted: {deleting}"
    );
    let conditions = deleting["status"]["conditions"]
        .as_array()
        .expect("the logging configuration has conditions");
    let ready = conditions
        .iter()
        .find(|condition| condition["type"] == "Ready")
        .expect("a Ready condition");
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "Deleting");
    assert_health(
        "a logging configuration in use while deleted",
        &deleting,
        "Progressing",
        "Deleting: waiting for rooms to stop using",
    );
}
