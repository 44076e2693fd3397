//! End-to-end tests of the operator's own controls: deletion policy, pause, observe-only,
//! adoption by ARN, reconcile requests, steady state and pacing under IVS quotas.

mod support;

use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use kube::api::{Patch, PatchParams};
use support::{TestEnv, arn_of, has_condition, is_ready, room_manifest};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

async fn apply_room(env: &TestEnv, name: &str, spec: &str) {
    let (ok, stderr) = env.apply_text(&room_manifest(name, spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
}

#[tokio::test]
async fn retained_rooms_survive_deletion() {
    let env = TestEnv::start("retain").await;
    let mut arns = Vec::new();
    for index in 0..5 {
        let name = format!("kept-{index}");
        apply_room(&env, &name, "  deletionPolicy: Retain\n").await;
    }
    for index in 0..5 {
        let name = format!("kept-{index}");
        let room = env
            .wait_for::<ChatRoom, _>(&name, READY_TIMEOUT, "Ready", is_ready)
            .await;
        arns.push(arn_of(&room));
    }
    let ivs = env.emulator.client();
    let before: Vec<_> = update_times(&ivs, &arns).await;

    let (ok, _, stderr) = env.kubectl(&["delete", "chatrooms", "--all"]).await;
    assert!(ok, "kubectl delete failed: {stderr}");
    for index in 0..5 {
        env.wait_gone::<ChatRoom>(&format!("kept-{index}"), READY_TIMEOUT)
            .await;
    }

    assert_eq!(env.emulator.calls("DeleteRoom").await, 0);
    let after: Vec<_> = update_times(&ivs, &arns).await;
    assert_eq!(before, after, "retained rooms are untouched");
}

/// Reads each room's update time, failing if a room is gone.
async fn update_times(ivs: &aws_sdk_ivschat::Client, arns: &[String]) -> Vec<String> {
    let mut times = Vec::new();
    for arn in arns {
        let room = ivs
            .get_room()
            .identifier(arn)
            .send()
            .await
            .expect("the room exists in IVS");
        times.push(format!("{:?}", room.update_time()));
    }
    times
}

#[tokio::test]
async fn paused_room_is_left_alone() {
    let env = TestEnv::start("pause").await;
    apply_room(&env, "frozen", "  maximumMessageLength: 100\n").await;
    let room = env
        .wait_for::<ChatRoom, _>("frozen", READY_TIMEOUT, "Ready", is_ready)
        .await;
    let arn = arn_of(&room);

    let (ok, _, stderr) = env
        .kubectl(&[
            "annotate",
            "chatroom",
            "frozen",
            "ivschat.operators.dev/paused=true",
        ])
        .await;
    assert!(ok, "kubectl annotate failed: {stderr}");
    env.wait_for::<ChatRoom, _>("frozen", READY_TIMEOUT, "paused", |room| {
        has_condition(room, "Synced", "ReconcilePaused")
    })
    .await;

    let updates = env.emulator.calls("UpdateRoom").await;
    apply_room(&env, "frozen", "  maximumMessageLength: 200\n").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        env.emulator.calls("UpdateRoom").await,
        updates,
        "a paused room is not updated"
    );

    let (ok, _, stderr) = env
        .kubectl(&[
            "annotate",
            "chatroom",
            "frozen",
            "ivschat.operators.dev/paused-",
        ])
        .await;
    assert!(ok, "kubectl annotate failed: {stderr}");
    env.wait_for::<ChatRoom, _>("frozen", READY_TIMEOUT, "resumed", |room| {
        is_ready(room) && room.status.as_ref().and_then(|s| s.maximum_message_length) == Some(200)
    })
    .await;
    let live = env
        .emulator
        .client()
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect("room");
    assert_eq!(live.maximum_message_length(), Some(200));
}

#[tokio::test]
async fn observe_only_mirrors_without_writing() {
    let env = TestEnv::start("observe").await;
    let ivs = env.emulator.client();
    let existing = ivs
        .create_room()
        .name("outside")
        .maximum_message_length(77)
        .send()
        .await
        .expect("a room made outside the operator");
    let arn = existing.arn().expect("ARN").to_string();
    let writes_before = env.emulator.calls("CreateRoom").await;

    let spec = format!(
        "  managementPolicy: ObserveOnly\n  maximumMessageLength: 300\n  adopt:\n    arn: {arn}\n"
    );
    apply_room(&env, "watcher", &spec).await;
    let room = env
        .wait_for::<ChatRoom, _>("watcher", READY_TIMEOUT, "Ready", is_ready)
        .await;
    let status = room.status.expect("status");
    assert_eq!(status.arn.as_deref(), Some(arn.as_str()));
    assert_eq!(
        status.maximum_message_length,
        Some(77),
        "status mirrors IVS, not the spec"
    );

    let (ok, _, stderr) = env.kubectl(&["delete", "chatroom", "watcher"]).await;
    assert!(ok, "kubectl delete failed: {stderr}");
    assert_eq!(env.emulator.calls("CreateRoom").await, writes_before);
    assert_eq!(env.emulator.calls("UpdateRoom").await, 0);
    assert_eq!(env.emulator.calls("TagResource").await, 0);
    assert_eq!(env.emulator.calls("DeleteRoom").await, 0);
    let live = ivs
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect("the room survives");
    assert_eq!(live.maximum_message_length(), Some(77));
}

#[tokio::test]
async fn adoption_takes_over_or_fails_clearly() {
    let env = TestEnv::start("adopt-arn").await;
    let ivs = env.emulator.client();
    let existing = ivs
        .create_room()
        .name("legacy")
        .send()
        .await
        .expect("an existing room");
    let arn = existing.arn().expect("ARN").to_string();

    let spec = format!("  name: legacy\n  maximumMessageLength: 64\n  adopt:\n    arn: {arn}\n");
    apply_room(&env, "adopted", &spec).await;
    let room = env
        .wait_for::<ChatRoom, _>("adopted", READY_TIMEOUT, "Ready", is_ready)
        .await;
    assert_eq!(arn_of(&room), arn);
    let live = ivs.get_room().identifier(&arn).send().await.expect("room");
    assert_eq!(
        live.maximum_message_length(),
        Some(64),
        "the adopted room follows the spec"
    );
    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        1,
        "nothing new was created"
    );

    let missing = "arn:aws:ivschat:us-east-1:123456789012:room/NoSuchRoom12";
    apply_room(&env, "strict", &format!("  adopt:\n    arn: {missing}\n")).await;
    let failed = env
        .wait_for::<ChatRoom, _>("strict", READY_TIMEOUT, "failed", |room| {
            has_condition(room, "Synced", "AdoptionTargetNotFound")
        })
        .await;
    assert!(failed.status.and_then(|s| s.arn).is_none());

    let spec = format!("  adopt:\n    arn: {missing}\n    policy: AdoptOrCreate\n");
    apply_room(&env, "lenient", &spec).await;
    let created = env
        .wait_for::<ChatRoom, _>("lenient", READY_TIMEOUT, "Ready", is_ready)
        .await;
    assert_ne!(arn_of(&created), missing);
    assert_eq!(env.emulator.calls("CreateRoom").await, 2);
}

/// Sums the calls that change IVS.
async fn write_calls(env: &TestEnv) -> u64 {
    let mut total = 0;
    for operation in [
        "CreateRoom",
        "UpdateRoom",
        "DeleteRoom",
        "TagResource",
        "UntagResource",
    ] {
        total += env.emulator.calls(operation).await;
    }
    total
}

/// A converged room costs nothing but the observer's listing: with a one-second resync and
/// poll interval, twelve seconds bring no GetRoom, no write to IVS or to the object, and at
/// most one ListRooms per interval.
#[tokio::test]
async fn converged_room_makes_no_writes() {
    let mut env = TestEnv::start("steady").await;
    env.stop_operator().await;
    let _operator = env.spawn_operator("operator", &["--resync-seconds", "1"]);
    apply_room(
        &env,
        "calm",
        "  maximumMessageLength: 10\n  tags:\n    a: b\n",
    )
    .await;
    let room = env
        .wait_for::<ChatRoom, _>("calm", READY_TIMEOUT, "Ready", is_ready)
        .await;
    let version = room.metadata.resource_version.clone();
    let gets = env.emulator.calls("GetRoom").await;
    let lists = env.emulator.calls("ListRooms").await;
    let writes = write_calls(&env).await;

    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        env.emulator.calls("GetRoom").await,
        gets,
        "no GetRoom in steady state"
    );
    let listed = env.emulator.calls("ListRooms").await - lists;
    assert!(
        (6..=13).contains(&listed),
        "about one ListRooms per second: {listed} in 12 seconds"
    );
    assert_eq!(
        write_calls(&env).await,
        writes,
        "no IVS writes in steady state"
    );
    let now = env.api::<ChatRoom>().get("calm").await.expect("room");
    assert_eq!(
        now.metadata.resource_version, version,
        "no status writes in steady state"
    );
}

/// Access denied is retried with exponential backoff: over a minute the calls double their
/// spacing (1, 2, 4, 8, 16, 32 seconds) instead of hammering IVS, and the condition reports why.
#[tokio::test]
async fn access_denied_backs_off() {
    let env = TestEnv::start("denied").await;
    env.emulator
        .inject_fault(
            "CreateRoom",
            serde_json::json!({"error": "AccessDeniedException"}),
        )
        .await;
    apply_room(&env, "forbidden", "  maximumMessageLength: 10\n").await;
    env.wait_for::<ChatRoom, _>("forbidden", READY_TIMEOUT, "denied", |room| {
        has_condition(room, "Synced", "AccessDenied")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let attempts = env.emulator.calls("CreateRoom").await;
    assert!(
        attempts >= 4,
        "the operator kept retrying: {attempts} attempts"
    );
    assert!(
        attempts <= 8,
        "backoff limits attempts in a minute: {attempts} attempts"
    );
}

#[tokio::test]
async fn reconcile_request_is_echoed_in_status() {
    let env = TestEnv::start("request").await;
    apply_room(&env, "poked", "  maximumMessageLength: 12\n").await;
    let room = env
        .wait_for::<ChatRoom, _>("poked", READY_TIMEOUT, "Ready", is_ready)
        .await;

    // Change the room behind the operator's back, then ask for an immediate reconcile.
    env.emulator
        .client()
        .update_room()
        .identifier(arn_of(&room))
        .maximum_message_length(99)
        .send()
        .await
        .expect("out-of-band update");
    let patch = serde_json::json!({
        "metadata": {"annotations": {"ivschat.operators.dev/reconcile-requested-at": "now-1"}}
    });
    env.api::<ChatRoom>()
        .patch("poked", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("annotation is set");
    let handled = env
        .wait_for::<ChatRoom, _>("poked", Duration::from_secs(4), "handled", |room| {
            room.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("now-1")
        })
        .await;
    assert_eq!(
        handled.status.and_then(|s| s.maximum_message_length),
        Some(12),
        "drift reverted"
    );
}

#[tokio::test]
async fn hundred_rooms_converge_without_throttling() {
    let env = TestEnv::start("pace").await;
    let mut manifest = String::new();
    for index in 0..100 {
        manifest.push_str(&room_manifest(
            &format!("crowd-{index}"),
            "  maximumMessageLength: 50\n",
        ));
        manifest.push_str("---\n");
    }
    let (ok, stderr) = env.apply_text(&manifest).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    for index in 0..100 {
        env.wait_for::<ChatRoom, _>(
            &format!("crowd-{index}"),
            Duration::from_secs(180),
            "Ready",
            is_ready,
        )
        .await;
    }
    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        100,
        "every room was created once, with no create retried after throttling"
    );
    let (ok, events, stderr) = env
        .kubectl(&[
            "get",
            "events",
            "--field-selector",
            "type=Warning",
            "-o",
            "name",
        ])
        .await;
    assert!(ok, "kubectl get events failed: {stderr}");
    assert!(
        events.trim().is_empty(),
        "no warnings while pacing: {events}"
    );

    // Converged, the hundred rooms (two ListRooms pages) are watched by listing alone.
    let gets = env.emulator.calls("GetRoom").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        env.emulator.calls("GetRoom").await,
        gets,
        "no room is read one by one in steady state"
    );

    // The oldest room, last in every listing, is deleted behind the operator's back: only a
    // complete sweep notices, and the room is created again.
    let oldest = env
        .api::<ChatRoom>()
        .get("crowd-0")
        .await
        .expect("the room object exists");
    let old_arn = arn_of(&oldest);
    env.emulator.delete_room(&old_arn).await;
    env.wait_for::<ChatRoom, _>("crowd-0", Duration::from_secs(60), "recreated", |room| {
        is_ready(room) && arn_of(room) != old_arn
    })
    .await;
    assert_eq!(env.emulator.calls("CreateRoom").await, 101);
}

/// A room's `spec.region` decides where the operator signs and creates it: against a service
/// in us-west-2, the room naming that region converges while one left on the operator's
/// region (us-east-1) is refused with a condition that names the mismatch.
#[tokio::test]
async fn room_region_overrides_operator_region() {
    let mut env = TestEnv::start("region").await;
    env.stop_operator().await;
    let log = support::repo_path("target/e2e-logs").join(format!("{}-west.log", env.namespace));
    env.emulator = support::Emulator::start(&log, &["--region", "us-west-2"]).await;
    env.start_operator().await;

    apply_room(&env, "west", "  region: us-west-2\n").await;
    let room = env
        .wait_for::<ChatRoom, _>("west", READY_TIMEOUT, "Ready", is_ready)
        .await;
    assert!(
        arn_of(&room).starts_with("arn:aws:ivschat:us-west-2:"),
        "the room lives in us-west-2: {}",
        arn_of(&room)
    );

    apply_room(&env, "east", "  maximumMessageLength: 10\n").await;
    let refused = env
        .wait_for::<ChatRoom, _>("east", READY_TIMEOUT, "refused", |room| {
            has_condition(room, "Synced", "AccessDenied")
        })
        .await;
    let synced = refused
        .status
        .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Synced"))
        .expect("a Synced condition");
    assert!(synced.message.contains("us-east-1"), "{}", synced.message);
}
