//! End-to-end tests of running the operator: leader election between replicas, metrics,
//! probes and the run-time log level.

mod support;

use std::time::Duration;

use ivschat_operator::crd::ChatRoom;
use k8s_openapi::api::coordination::v1::Lease;
use support::{TestEnv, free_port, http, is_ready};

fn room_manifest(name: &str) -> String {
    format!(
        "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatRoom\nmetadata:\n  name: {name}\nspec:\n  maximumMessageLength: 33\n"
    )
}

async fn lease_holder(env: &TestEnv) -> Option<String> {
    let lease = env
        .api::<Lease>()
        .get_opt("ivschat-operator")
        .await
        .expect("lease read");
    lease.and_then(|l| l.spec).and_then(|s| s.holder_identity)
}

#[tokio::test]
async fn standby_takes_over_from_killed_leader() {
    let mut env = TestEnv::start("leader").await;
    env.stop_operator().await;
    let args = [
        "--leader-elect",
        "--leader-election-namespace",
        &env.namespace,
    ];
    let mut first = Some(env.spawn_operator("replica-a", &args));
    let mut second = Some(env.spawn_operator("replica-b", &args));

    for index in 0..10 {
        let (ok, stderr) = env.apply_text(&room_manifest(&format!("r{index}"))).await;
        assert!(ok, "kubectl apply failed: {stderr}");
    }
    for index in 0..10 {
        env.wait_for::<ChatRoom, _>(
            &format!("r{index}"),
            Duration::from_secs(60),
            "Ready",
            is_ready,
        )
        .await;
    }
    assert_eq!(
        env.emulator.calls("CreateRoom").await,
        10,
        "only the leader created rooms"
    );

    let leader = lease_holder(&env).await.expect("the Lease has a holder");
    let (killed, survivor) = match leader.as_str() {
        "replica-a" => (&mut first, "replica-b"),
        "replica-b" => (&mut second, "replica-a"),
        other => panic!("unexpected Lease holder {other}"),
    };
    if let Some(mut child) = killed.take() {
        child.kill().await.expect("the leader is killed");
    }

    let (ok, stderr) = env.apply_text(&room_manifest("after-failover")).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("after-failover", Duration::from_secs(60), "Ready", is_ready)
        .await;
    assert_eq!(lease_holder(&env).await.as_deref(), Some(survivor));
    assert_eq!(env.emulator.calls("CreateRoom").await, 11);
}

#[tokio::test]
async fn metrics_and_probes_are_served() {
    let mut env = TestEnv::start("metrics").await;
    env.stop_operator().await;
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let _operator = env.spawn_operator("operator", &["--http-listen", &listen]);
    let base = format!("http://{listen}");

    let (ok, stderr) = env.apply_text(&room_manifest("measured")).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("measured", Duration::from_secs(60), "Ready", is_ready)
        .await;

    assert_eq!(http("GET", &format!("{base}/healthz"), "").await, "ok");
    assert_eq!(http("GET", &format!("{base}/readyz"), "").await, "ok");
    let metrics = http("GET", &format!("{base}/metrics"), "").await;
    for expected in [
        "ivschat_operator_reconciles_total{kind=\"ChatRoom\"}",
        "ivschat_operator_ivs_calls_total{operation=\"CreateRoom\",outcome=\"Success\"} 1",
        "ivschat_operator_objects{kind=\"ChatRoom\",ready=\"True\"} 1",
        "ivschat_operator_limiter_wait_seconds_count{operation=\"CreateRoom\"}",
        "ivschat_operator_reconcile_duration_seconds_bucket",
    ] {
        assert!(
            metrics.contains(expected),
            "metrics lack {expected}:\n{metrics}"
        );
    }

    let set = http("PUT", &format!("{base}/log-level"), "debug").await;
    assert!(set.contains("debug"), "{set}");
}
