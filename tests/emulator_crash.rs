//! Crash test of the local IVS Chat service's state file: the emulator binary is killed with
//! SIGKILL while clients stream writes, and every write it acknowledged must survive the
//! restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ivschat::Client;
use aws_sdk_ivschat::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KEY_ID: &str = "AKIDCRASHTEST";
const SECRET: &str = "crash/test+secret";
/// Parallel writers, so that several writes are in flight when the process dies.
const WRITERS: usize = 4;
/// Writes per writer at most, so the test is bounded even if the kill comes late.
const WRITES_PER_WRITER: usize = 50;
/// Acknowledged writes after which the emulator is killed.
const KILL_AFTER: usize = 60;

/// Starts the emulator binary on a free loopback port and returns it with its endpoint.
async fn start_emulator(state_file: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ivschat-operator"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--rate-limits",
            "off",
        ])
        .arg("--credentials")
        .arg(format!("{KEY_ID}:{SECRET}"))
        .arg("--state-file")
        .arg(state_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the emulator binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("emulator prints its address within 30 s")
        .expect("read emulator stdout")
        .expect("emulator prints a line before exiting");
    let endpoint = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the emulator: {line}"))
        .to_string();
    (child, endpoint)
}

fn client(endpoint: &str) -> Client {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(10))
        .build();
    let config = aws_sdk_ivschat::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "tests"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .build();
    Client::from_conf(config)
}

/// Writes acknowledged by the emulator: room ARN to the tags it confirmed.
type Acknowledged = Arc<Mutex<BTreeMap<String, BTreeMap<String, String>>>>;

fn count(acknowledged: &Acknowledged) -> usize {
    let rooms = acknowledged.lock().expect("acknowledged writes lock");
    rooms.len() + rooms.values().map(BTreeMap::len).sum::<usize>()
}

/// Creates rooms and tags them in turn until a request fails or the budget is spent.
async fn write_until_failure(client: Client, writer: usize, acknowledged: Acknowledged) {
    let mut current: Option<String> = None;
    for step in 0..WRITES_PER_WRITER {
        match &current {
            Some(arn) if step % 2 == 1 => {
                let key = format!("k{step}");
                let value = format!("w{writer}-{step}");
                let result = client
                    .tag_resource()
                    .resource_arn(arn)
                    .tags(&key, &value)
                    .send()
                    .await;
                if result.is_err() {
                    return;
                }
                let mut rooms = acknowledged.lock().expect("acknowledged writes lock");
                rooms.entry(arn.clone()).or_default().insert(key, value);
            }
            _ => {
                let name = format!("crash-{writer}-{step}");
                let Ok(room) = client.create_room().name(name).send().await else {
                    return;
                };
                let arn = room.arn().expect("ARN present").to_string();
                let mut rooms = acknowledged.lock().expect("acknowledged writes lock");
                rooms.insert(arn.clone(), BTreeMap::new());
                current = Some(arn);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let state_file = directory.path().join("state.json");
    let (mut child, endpoint) = start_emulator(&state_file).await;
    let client = client(&endpoint);

    let acknowledged: Acknowledged = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let task = write_until_failure(client.clone(), writer, acknowledged.clone());
            tokio::spawn(task)
        })
        .collect();

    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while count(&acknowledged) < KILL_AFTER {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "fewer than {KILL_AFTER} writes within 60 s");
    child.start_kill().expect("send SIGKILL to the emulator");
    let status = child.wait().await.expect("wait for the emulator");
    assert!(!status.success(), "the emulator was killed, not stopped");
    for writer in writers {
        writer.await.expect("writer task joins");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let total: usize = acknowledged.len() + acknowledged.values().map(BTreeMap::len).sum::<usize>();
    assert!(total >= KILL_AFTER, "only {total} writes acknowledged");
    assert!(
        total < WRITERS * WRITES_PER_WRITER,
        "all writes finished before the kill, so nothing was cut off"
    );

    let bytes = std::fs::read(&state_file).expect("state file exists after the kill");
    let state: Value = serde_json::from_slice(&bytes).expect("state file is valid JSON");
    let stored_rooms = state["rooms"]
        .as_object()
        .expect("rooms object in the state file");
    for (arn, tags) in &acknowledged {
        let id = arn.rsplit('/').next().expect("ARN has an id");
        let stored = &stored_rooms
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged room {arn} is missing from the state file"));
        for (key, value) in tags {
            assert_eq!(
                stored["tags"][key].as_str(),
                Some(value.as_str()),
                "acknowledged tag {key} of {arn}"
            );
        }
    }

    let (mut restarted, endpoint) = start_emulator(&state_file).await;
    let client = self::client(&endpoint);
    for (arn, tags) in &acknowledged {
        let room = client
            .get_room()
            .identifier(arn)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GetRoom {arn} after restart: {error:?}"));
        assert_eq!(room.arn(), Some(arn.as_str()));
        let listed = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource after restart");
        for (key, value) in tags {
            assert_eq!(listed.tags().get(key), Some(value), "tag {key} of {arn}");
        }
    }
    restarted.start_kill().expect("stop the restarted emulator");
    restarted
        .wait()
        .await
        .expect("wait for the restarted emulator");
}
