//! Crash safety: however the operator dies, or whatever IVS loses, each `ChatRoom` ends with
//! exactly one IVS room and no room is left without an owner.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use support::{TestEnv, is_ready};

fn room_manifest(name: &str) -> String {
    format!(
        "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatRoom\nmetadata:\n  name: {name}\nspec:\n  maximumMessageLength: 80\n  tags:\n    purpose: crash-test\n"
    )
}

/// Maps each IVS room's owner uid tag to the ARNs carrying it.
async fn rooms_by_owner(ivs: &aws_sdk_ivschat::Client) -> BTreeMap<String, Vec<String>> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut token = None;
    loop {
        let page = ivs
            .list_rooms()
            .set_next_token(token)
            .send()
            .await
            .expect("rooms can be listed");
        for room in page.rooms() {
            let uid = room
                .tags()
                .and_then(|t| t.get("ivschat.operators.dev/uid"))
                .cloned()
                .unwrap_or_default();
            owners
                .entry(uid)
                .or_default()
                .push(room.arn().unwrap_or_default().to_string());
        }
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            return owners;
        }
    }
}

/// Asserts one IVS room per object and none owned by no object.
async fn assert_one_room_per_object(env: &TestEnv) {
    let objects = env
        .api::<ChatRoom>()
        .list(&Default::default())
        .await
        .expect("rooms list");
    let uids: BTreeSet<String> = objects
        .items
        .iter()
        .map(|r| r.metadata.uid.clone().expect("uid"))
        .collect();
    let owners = rooms_by_owner(&env.emulator.client()).await;
    for uid in &uids {
        let arns = owners.get(uid).cloned().unwrap_or_default();
        assert_eq!(
            arns.len(),
            1,
            "object {uid} owns exactly one IVS room: {arns:?}"
        );
    }
    for (uid, arns) in &owners {
        assert!(
            uids.contains(uid),
            "IVS rooms {arns:?} belong to no object (owner {uid:?})"
        );
    }
    for room in &objects.items {
        let arn = room
            .status
            .as_ref()
            .and_then(|s| s.arn.clone())
            .expect("status ARN");
        let uid = room.metadata.uid.clone().expect("uid");
        assert_eq!(
            owners.get(&uid),
            Some(&vec![arn]),
            "status names the owned room"
        );
    }
}

#[tokio::test]
async fn operator_killed_during_creates_leaves_one_room_each() {
    let mut env = TestEnv::start("sigkill").await;
    // IVS applies each CreateRoom at once but answers 400 ms later, which leaves a window in
    // which a kill lands after the room exists and before the operator knows its ARN.
    env.emulator
        .inject_fault("CreateRoom", serde_json::json!({"latencyMs": 400}))
        .await;
    for index in 0..20u64 {
        let (ok, stderr) = env
            .apply_text(&room_manifest(&format!("crash-{index}")))
            .await;
        assert!(ok, "kubectl apply failed: {stderr}");
        // Spread the kills over the whole create: before the call, while it is in flight,
        // between the response and the status write, and after.
        let delay = Duration::from_millis(150 + (index * 97) % 900);
        tokio::time::sleep(delay).await;
        env.kill_operator().await;
        env.start_operator().await;
    }
    for index in 0..20 {
        env.wait_for::<ChatRoom, _>(
            &format!("crash-{index}"),
            Duration::from_secs(120),
            "Ready",
            is_ready,
        )
        .await;
    }
    assert_one_room_per_object(&env).await;
}

#[tokio::test]
async fn lost_create_response_yields_one_room() {
    let env = TestEnv::start("dropped").await;
    env.emulator
        .inject_fault(
            "CreateRoom",
            serde_json::json!({"dropResponse": true, "times": 1}),
        )
        .await;
    let (ok, stderr) = env.apply_text(&room_manifest("unlucky")).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("unlucky", Duration::from_secs(60), "Ready", is_ready)
        .await;

    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        1,
        "the room IVS made was found, not made again"
    );
    assert_one_room_per_object(&env).await;
}
