//! The bulk observer: with the resync period at an hour, every change made behind the
//! operator's back is found by listing alone and reverted, and a converged room is never read
//! one by one.

mod support;

use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use support::{TestEnv, arn_of, is_ready, room_manifest};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Starts an operator that never resyncs within a test, so only the observer can find drift.
async fn observed_env(name: &str) -> TestEnv {
    let mut env = TestEnv::start(name).await;
    env.stop_operator().await;
    let operator = env.spawn_operator("operator", &["--resync-seconds", "3600"]);
    env.adopt_operator(operator);
    env
}

async fn ready_room(env: &TestEnv, name: &str, spec: &str) -> ChatRoom {
    let (ok, stderr) = env.apply_text(&room_manifest(name, spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>(name, TIMEOUT, "Ready", is_ready)
        .await
}

async fn live_room(
    env: &TestEnv,
    arn: &str,
) -> aws_sdk_ivschat::operation::get_room::GetRoomOutput {
    env.emulator
        .client()
        .get_room()
        .identifier(arn)
        .send()
        .await
        .expect("IVS has the room")
}

#[tokio::test]
async fn changed_limits_are_reverted() {
    let env = observed_env("observe-update").await;
    let room = ready_room(&env, "steady", "  maximumMessageLength: 40\n").await;
    let arn = arn_of(&room);

    env.emulator
        .client()
        .update_room()
        .identifier(&arn)
        .maximum_message_length(99)
        .send()
        .await
        .expect("out-of-band update");
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while live_room(&env, &arn).await.maximum_message_length() != Some(40) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the out-of-band change was never reverted"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let before = room.status.as_ref().and_then(|s| s.update_time.clone());
    let reverted = env
        .wait_for::<ChatRoom, _>("steady", TIMEOUT, "status updated", |room| {
            is_ready(room) && room.status.as_ref().and_then(|s| s.update_time.clone()) != before
        })
        .await;
    assert_eq!(arn_of(&reverted), arn, "the room is kept, not recreated");
    assert_eq!(env.emulator.calls("CreateRoom").await, 1);
}

#[tokio::test]
async fn added_tags_are_removed_by_sweep() {
    let env = observed_env("observe-tags").await;
    let room = ready_room(&env, "tidy", "  tags:\n    team: chat\n").await;
    let arn = arn_of(&room);
    let ivs = env.emulator.client();

    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("intruder", "yes")
        .tags("team", "other")
        .send()
        .await
        .expect("out-of-band tag");
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let out = ivs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .expect("tags");
        let tags = out.tags();
        if !tags.contains_key("intruder") && tags.get("team").map(String::as_str) == Some("chat") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the out-of-band tags were never reverted: {tags:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn deleted_room_is_recreated_after_sweep() {
    let env = observed_env("observe-delete").await;
    let room = ready_room(&env, "phoenix", "  maximumMessageLength: 42\n").await;
    let old_arn = arn_of(&room);
    env.emulator.delete_room(&old_arn).await;

    let recreated = env
        .wait_for::<ChatRoom, _>("phoenix", TIMEOUT, "recreated", |room| {
            is_ready(room)
                && room.status.as_ref().and_then(|s| s.arn.as_deref()) != Some(old_arn.as_str())
        })
        .await;
    let live = live_room(&env, &arn_of(&recreated)).await;
    assert_eq!(live.maximum_message_length(), Some(42));
    assert_eq!(env.emulator.calls("CreateRoom").await, 2);
}

/// After a restart, converged rooms are taken from status: no IVS call before the observer's
/// first listing, and no write at all.
#[tokio::test]
async fn restart_reads_no_room_one_by_one() {
    let mut env = observed_env("observe-restart").await;
    for name in ["one", "two", "three"] {
        ready_room(&env, name, "  maximumMessageLength: 30\n").await;
    }
    env.stop_operator().await;
    let gets = env.emulator.calls("GetRoom").await;
    let lists = env.emulator.calls("ListRooms").await;
    let creates = env.emulator.calls("CreateRoom").await;
    let updates = env.emulator.calls("UpdateRoom").await;

    let operator = env.spawn_operator("restarted", &["--resync-seconds", "3600"]);
    env.adopt_operator(operator);
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(env.emulator.calls("GetRoom").await, gets, "no GetRoom");
    assert_eq!(env.emulator.calls("CreateRoom").await, creates);
    assert_eq!(env.emulator.calls("UpdateRoom").await, updates);
    assert!(
        env.emulator.calls("ListRooms").await > lists,
        "the restarted operator observes the rooms by listing"
    );
}

/// IVS may hide a new room from reads for a while. The observer's sweep then misses it, but the
/// create guard keeps the operator from creating a second room until the first shows up.
#[tokio::test]
async fn hidden_new_room_is_not_created_twice() {
    let env = observed_env("observe-hidden").await;
    support::http(
        "PUT",
        &format!("{}/settings", env.emulator.admin),
        r#"{"roomVisibilityDelayMs": 8000}"#,
    )
    .await;
    ready_room(&env, "shy", "  maximumMessageLength: 25\n").await;

    // Several one-second sweeps miss the room while it is hidden, and it shows up after that.
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        1,
        "one room created"
    );
    let listed = env
        .emulator
        .client()
        .list_rooms()
        .send()
        .await
        .expect("rooms can be listed");
    assert_eq!(listed.rooms().len(), 1, "no second room in IVS");
    let room = env
        .wait_for::<ChatRoom, _>("shy", TIMEOUT, "Ready", is_ready)
        .await;
    assert_eq!(
        live_room(&env, &arn_of(&room))
            .await
            .maximum_message_length(),
        Some(25)
    );
}
