//! End-to-end tests of publishing ARNs into ConfigMaps for applications.

mod support;

use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use k8s_openapi::api::core::v1::ConfigMap;
use support::{TestEnv, arn_of, is_ready};

const TIMEOUT: Duration = Duration::from_secs(60);

fn room_manifest(name: &str, config_map: &str) -> String {
    format!(
        "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatRoom\nmetadata:\n  name: {name}\nspec:\n  publishTo:\n    configMapName: {config_map}\n"
    )
}

async fn published_arn(env: &TestEnv, name: &str) -> Option<String> {
    let config_map = env
        .api::<ConfigMap>()
        .get_opt(name)
        .await
        .expect("ConfigMap read")?;
    config_map.data?.get("arn").cloned()
}

async fn wait_for_published(env: &TestEnv, name: &str, arn: &str) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let published = published_arn(env, name).await;
        if published.as_deref() == Some(arn) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ConfigMap {name} never held {arn}; it holds {published:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn config_map_follows_its_room() {
    let env = TestEnv::start("publish").await;
    let (ok, stderr) = env.apply_text(&room_manifest("lobby", "lobby-chat")).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let room = env
        .wait_for::<ChatRoom, _>("lobby", TIMEOUT, "Ready", is_ready)
        .await;
    let first_arn = arn_of(&room);
    wait_for_published(&env, "lobby-chat", &first_arn).await;
    let config_map = env
        .api::<ConfigMap>()
        .get("lobby-chat")
        .await
        .expect("ConfigMap");
    let id = config_map.data.as_ref().and_then(|d| d.get("id")).cloned();
    assert_eq!(id.as_deref(), first_arn.rsplit('/').next());
    let owner = config_map.metadata.owner_references.unwrap_or_default();
    assert_eq!(owner.len(), 1);
    assert_eq!(Some(owner[0].uid.clone()), room.metadata.uid);

    // A room deleted out of band comes back with a new ARN, and the ConfigMap follows.
    env.emulator
        .client()
        .delete_room()
        .identifier(&first_arn)
        .send()
        .await
        .expect("delete");
    let recreated = env
        .wait_for::<ChatRoom, _>("lobby", TIMEOUT, "recreated", |room| {
            is_ready(room)
                && room.status.as_ref().and_then(|s| s.arn.as_deref()) != Some(&first_arn)
        })
        .await;
    wait_for_published(&env, "lobby-chat", &arn_of(&recreated)).await;

    let (ok, _, stderr) = env.kubectl(&["delete", "chatroom", "lobby"]).await;
    assert!(ok, "kubectl delete failed: {stderr}");
    assert!(
        env.api::<ConfigMap>()
            .get_opt("lobby-chat")
            .await
            .expect("read")
            .is_none(),
        "the ConfigMap is deleted with its room"
    );
}

#[tokio::test]
async fn foreign_config_map_is_not_overwritten() {
    let env = TestEnv::start("publish-foreign").await;
    let foreign = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  arn: mine\n";
    let (ok, stderr) = env.apply_text(foreign).await;
    assert!(ok, "kubectl apply failed: {stderr}");

    let (ok, stderr) = env.apply_text(&room_manifest("greedy", "taken")).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("greedy", TIMEOUT, "refused", |room| {
        room.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Synced" && c.reason == "ConfigMapNotOwned")
        })
    })
    .await;
    assert_eq!(published_arn(&env, "taken").await.as_deref(), Some("mine"));
}
