//! End-to-end tests: the operator process against the real kube-apiserver started by
//! `make test` and a local IVS Chat service, driven with kubectl as a user would.

mod support;

use std::time::Duration;

use ivschat_operator::crd::{ChatLoggingConfiguration, ChatRoom};
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use support::{TestEnv, arn_of, condition_true, is_ready, repo_path, room_manifest};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn config_is_ready(config: &ChatLoggingConfiguration) -> bool {
    config
        .status
        .as_ref()
        .is_some_and(|s| condition_true(&s.conditions, "Ready"))
}

async fn ready_room(env: &TestEnv, name: &str, spec: &str) -> ChatRoom {
    let (ok, stderr) = env.apply_text(&room_manifest(name, spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>(name, READY_TIMEOUT, "Ready", is_ready)
        .await
}

#[tokio::test]
async fn examples_become_ready_and_match_ivs() {
    let env = TestEnv::start("examples").await;
    env.apply(&repo_path("examples/logging-configuration.yaml"))
        .await;
    env.apply(&repo_path("examples/chat-room.yaml")).await;

    let config = env
        .wait_for::<ChatLoggingConfiguration, _>(
            "test-logging-config",
            READY_TIMEOUT,
            "Ready",
            config_is_ready,
        )
        .await;
    let room = env
        .wait_for::<ChatRoom, _>("test-room-1", READY_TIMEOUT, "Ready", is_ready)
        .await;
    let config_arn = config
        .status
        .as_ref()
        .and_then(|s| s.arn.clone())
        .expect("config ARN in status");
    let room_arn = arn_of(&room);
    assert!(
        room_arn.starts_with("arn:aws:ivschat:us-east-1:123456789012:room/"),
        "{room_arn}"
    );

    let ivs = env.emulator.client();
    let live = ivs
        .get_room()
        .identifier(&room_arn)
        .send()
        .await
        .expect("IVS has the room");
    assert_eq!(live.name(), Some("test-room-1"));
    assert_eq!(live.maximum_message_length(), Some(256));
    assert_eq!(live.maximum_message_rate_per_second(), Some(5));
    assert_eq!(
        live.logging_configuration_identifiers(),
        std::slice::from_ref(&config_arn)
    );
    let tags = live.tags().expect("room has tags");
    assert_eq!(tags.get("key1").map(String::as_str), Some("value1"));
    assert_eq!(tags.get("key2").map(String::as_str), Some("value2"));
    assert_eq!(
        tags.get("ivschat.operators.dev/namespace")
            .map(String::as_str),
        Some(env.namespace.as_str())
    );

    let live_config = ivs
        .get_logging_configuration()
        .identifier(&config_arn)
        .send()
        .await
        .expect("IVS has the config");
    assert_eq!(live_config.name(), Some("test-logging-config"));
    assert_eq!(live_config.state().map(|s| s.as_str()), Some("ACTIVE"));
    let destination = live_config
        .destination_configuration()
        .expect("config has a destination");
    let bucket = destination
        .as_s3()
        .expect("destination is S3")
        .bucket_name();
    assert_eq!(bucket, "demo-logging-bucket");
    assert_eq!(
        config.status.as_ref().and_then(|s| s.state.as_deref()),
        Some("ACTIVE")
    );

    // GitOps tools compare the manifests with the live objects; after the operator has
    // reconciled them, the server-side diff must be empty (exit 0), not drift.
    for example in [
        "examples/logging-configuration.yaml",
        "examples/chat-room.yaml",
    ] {
        let path = repo_path(example);
        let (same, diff, stderr) = env
            .kubectl(&["diff", "-f", path.to_str().expect("UTF-8 path")])
            .await;
        assert!(
            same,
            "kubectl diff shows drift for {example}: {diff}{stderr}"
        );
    }

    env.apply(&repo_path("examples/update/chat-room.yaml"))
        .await;
    let renamed = env
        .wait_for::<ChatRoom, _>("test-room-1", READY_TIMEOUT, "renamed", |room| {
            is_ready(room)
                && room.status.as_ref().and_then(|s| s.name.as_deref()) == Some("chat-room-a")
        })
        .await;
    assert_eq!(
        arn_of(&renamed),
        room_arn,
        "an update keeps the same IVS room"
    );
    let live = ivs
        .get_room()
        .identifier(&room_arn)
        .send()
        .await
        .expect("IVS has the room");
    assert_eq!(live.name(), Some("chat-room-a"));
    let tags = live.tags().expect("room has tags");
    assert_eq!(tags.get("team").map(String::as_str), Some("chat"));
    assert_eq!(
        tags.get("key2"),
        None,
        "a tag removed from the spec is removed from IVS"
    );
}

/// Returns the reasons of the Normal Events about the ChatRoom `name`, once all of `expected`
/// are among them or after 10 seconds.
async fn normal_event_reasons(env: &TestEnv, name: &str, expected: &[&str]) -> Vec<String> {
    let events: Api<Event> = env.api();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reasons: Vec<String> = events
            .list(&ListParams::default())
            .await
            .expect("events can be listed")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter(|e| e.type_.as_deref() == Some("Normal"))
            .filter_map(|e| e.reason)
            .collect();
        let complete = expected
            .iter()
            .all(|r| reasons.iter().any(|seen| seen == r));
        if complete || tokio::time::Instant::now() > deadline {
            return reasons;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn message_length_change_sends_one_update_room() {
    let env = TestEnv::start("length").await;
    let room = ready_room(&env, "lobby", "  maximumMessageLength: 100\n").await;
    let arn = arn_of(&room);
    let updates_before = env.emulator.calls("UpdateRoom").await;

    let (ok, stderr) = env
        .apply_text(&room_manifest("lobby", "  maximumMessageLength: 300\n"))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("lobby", READY_TIMEOUT, "updated", |room| {
        is_ready(room) && room.status.as_ref().and_then(|s| s.maximum_message_length) == Some(300)
    })
    .await;

    let live = env
        .emulator
        .client()
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect("IVS has the room");
    assert_eq!(live.maximum_message_length(), Some(300));
    assert_eq!(env.emulator.calls("UpdateRoom").await, updates_before + 1);
    let reasons = normal_event_reasons(&env, "lobby", &["Created", "Updated"]).await;
    assert!(
        reasons.contains(&"Created".to_string()),
        "events: {reasons:?}"
    );
    assert!(
        reasons.contains(&"Updated".to_string()),
        "events: {reasons:?}"
    );

    // Two resync periods later the room is still converged, so no further write happens.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(env.emulator.calls("UpdateRoom").await, updates_before + 1);
    assert_eq!(env.emulator.calls("CreateRoom").await, 1);
}

#[tokio::test]
async fn tags_follow_the_spec() {
    let env = TestEnv::start("tags").await;
    let room = ready_room(&env, "tagged", "  tags:\n    a: \"1\"\n").await;
    let arn = arn_of(&room);
    let ivs = env.emulator.client();
    let live_tags =
        |out: aws_sdk_ivschat::operation::list_tags_for_resource::ListTagsForResourceOutput| {
            out.tags().clone()
        };

    let (ok, stderr) = env
        .apply_text(&room_manifest(
            "tagged",
            "  tags:\n    a: \"1\"\n    b: \"2\"\n",
        ))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let tags = live_tags(
            ivs.list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("tags"),
        );
        if tags.get("b").map(String::as_str) == Some("2") {
            assert_eq!(tags.get("a").map(String::as_str), Some("1"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tag b never reached IVS: {tags:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (ok, stderr) = env
        .apply_text(&room_manifest("tagged", "  tags:\n    b: \"2\"\n"))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let tags = live_tags(
            ivs.list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .expect("tags"),
        );
        if !tags.contains_key("a") {
            assert_eq!(tags.get("b").map(String::as_str), Some("2"));
            assert!(
                tags.contains_key("ivschat.operators.dev/uid"),
                "the operator keeps its own tags"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tag a was never removed from IVS: {tags:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn deleting_room_deletes_ivs_room() {
    let env = TestEnv::start("delete").await;
    let room = ready_room(&env, "doomed", "  maximumMessageRatePerSecond: 20\n").await;
    let arn = arn_of(&room);

    let (ok, _, stderr) = env
        .kubectl(&["delete", "chatroom", "doomed", "--wait=false"])
        .await;
    assert!(ok, "kubectl delete failed: {stderr}");
    env.wait_gone::<ChatRoom>("doomed", READY_TIMEOUT).await;

    let err = env
        .emulator
        .client()
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect_err("room is gone from IVS");
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn room_waits_for_referenced_logging_configuration() {
    let env = TestEnv::start("reference").await;
    let (ok, stderr) = env
        .apply_text(&room_manifest(
            "waiting",
            "  loggingConfigurations:\n    - name: later\n",
        ))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let waiting = env
        .wait_for::<ChatRoom, _>(
            "waiting",
            READY_TIMEOUT,
            "waiting on its reference",
            |room| {
                room.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.reason == "ReferenceNotReady")
                })
            },
        )
        .await;
    assert!(
        waiting
            .status
            .as_ref()
            .and_then(|s| s.arn.clone())
            .is_none(),
        "no room before the reference resolves"
    );
    assert_eq!(env.emulator.calls("CreateRoom").await, 0);

    let (ok, stderr) = env
        .apply_text(
            "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatLoggingConfiguration\nmetadata:\n  name: later\nspec:\n  destinationConfiguration:\n    cloudWatchLogs:\n      logGroupName: /ivs/chat\n",
        )
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let config = env
        .wait_for::<ChatLoggingConfiguration, _>("later", READY_TIMEOUT, "Ready", config_is_ready)
        .await;
    let room = env
        .wait_for::<ChatRoom, _>("waiting", READY_TIMEOUT, "Ready", is_ready)
        .await;
    let config_arn = config.status.and_then(|s| s.arn).expect("config ARN");
    assert_eq!(
        room.status.map(|s| s.logging_configuration_arns),
        Some(vec![config_arn])
    );
}

/// Each case is a spec fragment the API server must reject, and a phrase its message contains.
#[tokio::test]
async fn invalid_specs_are_rejected_at_apply() {
    let env = TestEnv::start("invalid").await;
    let cases = [
        ("  maximumMessageLength: 501\n", "maximumMessageLength"),
        ("  maximumMessageLength: 0\n", "maximumMessageLength"),
        (
            "  maximumMessageRatePerSecond: 101\n",
            "maximumMessageRatePerSecond",
        ),
        ("  name: \"has spaces\"\n", "spec.name"),
        ("  tags:\n    \"aws:reserved\": x\n", "reserved for AWS"),
        ("  tags:\n    \"AWS:upper\": x\n", "reserved for AWS"),
        (
            "  loggingConfigurations:\n    - name: same\n    - name: same\n",
            "listed once",
        ),
        (
            "  loggingConfigurations:\n    - name: Not_A_Name\n",
            "loggingConfigurations[0].name",
        ),
        (
            "  messageReviewHandler:\n    uri: not-a-lambda\n",
            "messageReviewHandler.uri",
        ),
        (
            "  messageReviewHandler:\n    uri: arn:aws:lambda:us-east-1:123456789012:function:f\n    fallbackResult: MAYBE\n",
            "fallbackResult",
        ),
        (
            "  loggingConfigurations:\n    - name: a\n    - name: b\n    - name: c\n    - name: d\n",
            "loggingConfigurations",
        ),
        (
            "  loggingConfigurations:\n    - name: a\n      arn: arn:aws:ivschat:us-east-1:123456789012:logging-configuration/abcdefABCDEF\n",
            "exactly one of name or arn",
        ),
    ];
    for (spec, phrase) in cases {
        let (ok, stderr) = env.apply_text(&room_manifest("bad", spec)).await;
        assert!(!ok, "kubectl apply accepted an invalid spec:\n{spec}");
        assert!(
            stderr.contains(phrase),
            "rejection of\n{spec}should mention {phrase:?}: {stderr}"
        );
    }

    let two_destinations = "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatLoggingConfiguration\nmetadata:\n  name: bad\nspec:\n  destinationConfiguration:\n    s3:\n      bucketName: my-bucket\n    firehose:\n      deliveryStreamName: stream\n";
    let (ok, stderr) = env.apply_text(two_destinations).await;
    assert!(!ok, "kubectl apply accepted two destinations");
    assert!(
        stderr.contains("exactly one of s3, cloudWatchLogs or firehose"),
        "{stderr}"
    );

    let rooms = env
        .api::<ChatRoom>()
        .list(&Default::default())
        .await
        .expect("rooms can be listed");
    assert!(rooms.items.is_empty(), "no invalid room was stored");
}

/// A room this object created before a crash, found by the operator's tags, is adopted
/// instead of created again; a second one, as a retried create could leave, is deleted.
#[tokio::test]
async fn room_created_before_crash_is_adopted() {
    let mut env = TestEnv::start("adopt").await;
    env.stop_operator().await;
    let (ok, stderr) = env
        .apply_text(&room_manifest("survivor", "  name: survivor\n"))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let object = env
        .api::<ChatRoom>()
        .get("survivor")
        .await
        .expect("the room object exists");
    let uid = object.metadata.uid.clone().expect("the object has a uid");
    // The crashed operator wrote its create guard before calling IVS, as it always does.
    let guard = serde_json::json!({"status": {"createAttemptTime": "2026-01-01T00:00:00Z"}});
    env.api::<ChatRoom>()
        .patch_status(
            "survivor",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(guard),
        )
        .await
        .expect("status is patched");

    let ivs = env.emulator.client();
    let mut created = Vec::new();
    for _ in 0..2 {
        let out = ivs
            .create_room()
            .name("survivor")
            .tags("ivschat.operators.dev/cluster", "default")
            .tags("ivschat.operators.dev/namespace", env.namespace.as_str())
            .tags("ivschat.operators.dev/name", "survivor")
            .tags("ivschat.operators.dev/uid", uid.as_str())
            .send()
            .await
            .expect("a room is created as the crashed operator would have");
        created.push(out.arn().expect("created room has an ARN").to_string());
    }
    created.sort();

    env.start_operator().await;
    let room = env
        .wait_for::<ChatRoom, _>("survivor", READY_TIMEOUT, "Ready", is_ready)
        .await;
    assert_eq!(
        arn_of(&room),
        created[0],
        "the operator adopts the room it created earlier"
    );
    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        2,
        "the operator created no room"
    );

    let listed = ivs
        .list_rooms()
        .name("survivor")
        .send()
        .await
        .expect("rooms can be listed");
    let arns: Vec<&str> = listed.rooms().iter().filter_map(|r| r.arn()).collect();
    assert_eq!(arns, [created[0].as_str()], "the duplicate room is deleted");
}

/// A room of the same name without the operator's tags belongs to someone else.
#[tokio::test]
async fn foreign_room_with_same_name_is_left_alone() {
    let env = TestEnv::start("foreign").await;
    let ivs = env.emulator.client();
    let foreign = ivs
        .create_room()
        .name("shared-name")
        .send()
        .await
        .expect("a foreign room");
    let foreign_arn = foreign.arn().expect("foreign ARN").to_string();

    let room = ready_room(&env, "mine", "  name: shared-name\n").await;
    assert_ne!(
        arn_of(&room),
        foreign_arn,
        "the operator does not adopt a room it did not create"
    );

    let (ok, _, stderr) = env.kubectl(&["delete", "chatroom", "mine"]).await;
    assert!(ok, "kubectl delete failed: {stderr}");
    ivs.get_room()
        .identifier(&foreign_arn)
        .send()
        .await
        .expect("the foreign room survives");
}

/// IVS rejects deleting a logging configuration a room uses, so the object waits, reports
/// why in its conditions, and goes away once the room is deleted.
#[tokio::test]
async fn logging_configuration_in_use_waits_for_room() {
    let env = TestEnv::start("in-use").await;
    env.apply(&repo_path("examples/logging-configuration.yaml"))
        .await;
    env.apply(&repo_path("examples/chat-room.yaml")).await;
    env.wait_for::<ChatRoom, _>("test-room-1", READY_TIMEOUT, "Ready", is_ready)
        .await;

    let (ok, _, stderr) = env
        .kubectl(&[
            "delete",
            "chatloggingconfiguration",
            "test-logging-config",
            "--wait=false",
        ])
        .await;
    assert!(ok, "kubectl delete failed: {stderr}");
    let blocked = env
        .wait_for::<ChatLoggingConfiguration, _>(
            "test-logging-config",
            READY_TIMEOUT,
            "blocked",
            |config| {
                config.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.reason == "Deleting")
                })
            },
        )
        .await;
    let ready = blocked
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned())
        .expect("a Ready condition");
    assert!(
        ready.message.contains("stop using"),
        "the condition says why: {}",
        ready.message
    );

    let (ok, _, stderr) = env.kubectl(&["delete", "chatroom", "test-room-1"]).await;
    assert!(ok, "kubectl delete failed: {stderr}");
    env.wait_gone::<ChatLoggingConfiguration>("test-logging-config", Duration::from_secs(45))
        .await;
    let configs = env
        .emulator
        .client()
        .list_logging_configurations()
        .send()
        .await
        .expect("list");
    assert!(
        configs.logging_configurations().is_empty(),
        "IVS holds no logging configuration"
    );
}

/// IVS allows 50 tags and the operator uses 4, so a spec at the 46-tag limit that renames a
/// key only fits if the old key goes before the new one arrives.
#[tokio::test]
async fn full_tag_set_can_be_renamed() {
    let env = TestEnv::start("full-tags").await;
    let tags = |keys: &[String]| -> String {
        let mut spec = String::from("  tags:\n");
        for key in keys {
            spec.push_str(&format!("    {key}: v\n"));
        }
        spec
    };
    let mut keys: Vec<String> = (0..46).map(|i| format!("k{i}")).collect();
    let room = ready_room(&env, "crowded", &tags(&keys)).await;
    let arn = arn_of(&room);

    keys[0] = "renamed".into();
    let (ok, stderr) = env
        .apply_text(&room_manifest("crowded", &tags(&keys)))
        .await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let ivs = env.emulator.client();
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let out = ivs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .expect("tags");
        let live = out.tags();
        if live.contains_key("renamed") {
            assert!(!live.contains_key("k0"), "the old key is gone");
            assert_eq!(live.len(), 50);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renamed tag never reached IVS: {live:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    env.wait_for::<ChatRoom, _>("crowded", READY_TIMEOUT, "Ready", is_ready)
        .await;
}

/// A status ARN edited by hand must not wedge the object: the operator finds its room by tags
/// again, and deletion still removes the room from IVS.
#[tokio::test]
async fn corrupted_status_arn_does_not_wedge_deletion() {
    let env = TestEnv::start("bad-arn").await;
    let room = ready_room(&env, "scrambled", "  maximumMessageLength: 21\n").await;
    let arn = arn_of(&room);

    let patch = serde_json::json!({"status": {"arn": "garbage"}});
    env.api::<ChatRoom>()
        .patch_status(
            "scrambled",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(patch),
        )
        .await
        .expect("status is patched");
    let (ok, _, stderr) = env
        .kubectl(&["delete", "chatroom", "scrambled", "--wait=false"])
        .await;
    assert!(ok, "kubectl delete failed: {stderr}");
    env.wait_gone::<ChatRoom>("scrambled", READY_TIMEOUT).await;

    let err = env
        .emulator
        .client()
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect_err("the room is gone from IVS");
    assert!(err.into_service_error().is_resource_not_found_exception());
}
