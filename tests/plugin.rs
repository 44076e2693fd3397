//! Tests of the `kubectl-ivschat` plugin: the binary runs as a subprocess against the
//! kube-apiserver that `make test` starts, a local IVS Chat service and a running operator,
//! and its output is checked against what IVS Chat holds.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use ivschat_operator::crd::ChatRoom;
use serde_json::Value;
use support::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TestEnv, condition_true, free_port};
use tokio::process::Command;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Margin allowed between a clock reading in the test and one in the service.
const CLOCK_SLACK_SECONDS: i64 = 20;

/// Exit status and output of one plugin run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_success(&self, description: &str) {
        assert_eq!(
            self.code,
            Some(0),
            "{description} failed\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
    }

    fn assert_failure(&self, description: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "{description} should exit with 1\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", self.stdout))
    }
}

/// Runs the plugin in the test's namespace against the test's IVS Chat service.
async fn plugin(env: &TestEnv, args: &[&str]) -> Run {
    plugin_with(env, &env.emulator.endpoint, SECRET_ACCESS_KEY, args).await
}

/// Runs the plugin with another endpoint or secret key, and checks that no output contains
/// the secret key.
async fn plugin_with(env: &TestEnv, endpoint: &str, secret: &str, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-ivschat"))
        .args(args)
        .args(["--namespace", &env.namespace])
        .args(["--ivs-endpoint-url", endpoint])
        .args(["--region", REGION])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the plugin finishes within a minute")
        .expect("the plugin binary runs");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(secret),
            "{stream} of {args:?} contains the secret key: {text}"
        );
    }
    run
}

fn is_ready(room: &ChatRoom) -> bool {
    room.status
        .as_ref()
        .is_some_and(|s| condition_true(&s.conditions, "Ready"))
}

fn room_manifest(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatRoom\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

/// Applies a room and returns its ARN once the operator reports it Ready.
async fn ready_room(env: &TestEnv, name: &str, spec: &str) -> String {
    let (ok, stderr) = env.apply_text(&room_manifest(name, spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    let room = env
        .wait_for::<ChatRoom, _>(name, READY_TIMEOUT, "Ready", is_ready)
        .await;
    room.status
        .and_then(|status| status.arn)
        .expect("a Ready room has an ARN in status")
}

fn parse_time(value: &Value, field: &str) -> DateTime<Utc> {
    let text = value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string in {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{field} {text:?} is not RFC 3339: {error}"))
        .with_timezone(&Utc)
}

fn assert_near(actual: DateTime<Utc>, expected: DateTime<Utc>, field: &str) {
    let difference = (actual - expected).num_seconds().abs();
    assert!(
        difference <= CLOCK_SLACK_SECONDS,
        "{field} is {actual}, expected about {expected}"
    );
}

fn is_service_id(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

#[tokio::test]
async fn token_has_both_expirations() {
    let env = TestEnv::start("plugin-token").await;
    let arn = ready_room(&env, "lobby", "  maximumMessageLength: 256\n").await;

    let before = Utc::now();
    let run = plugin(
        &env,
        &[
            "token",
            "lobby",
            "--user",
            "alice",
            "--capability",
            "SEND_MESSAGE",
            "--capability",
            "DELETE_MESSAGE",
            "--session-duration",
            "30",
            "--attribute",
            "displayName=Alice",
            "-o",
            "json",
        ],
    )
    .await;
    run.assert_success("token -o json");
    let token = run.json();
    assert_eq!(token["arn"], arn.as_str());
    assert!(
        token["token"].as_str().is_some_and(|t| !t.is_empty()),
        "{token}"
    );
    assert_near(
        parse_time(&token, "tokenExpirationTime"),
        before + chrono::Duration::minutes(1),
        "tokenExpirationTime",
    );
    assert_near(
        parse_time(&token, "sessionExpirationTime"),
        before + chrono::Duration::minutes(30),
        "sessionExpirationTime",
    );
    assert_eq!(env.emulator.calls("CreateChatToken").await, 1);

    let run = plugin(&env, &["token", "lobby", "--user", "bob"]).await;
    run.assert_success("token as text");
    assert!(run.stdout.starts_with("token: "), "{}", run.stdout);
    assert!(
        run.stdout.contains("\ntokenExpirationTime: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\nsessionExpirationTime: "),
        "{}",
        run.stdout
    );
    assert_eq!(env.emulator.calls("CreateChatToken").await, 2);
}

#[tokio::test]
async fn messaging_commands_reach_ivs() {
    let env = TestEnv::start("plugin-messaging").await;
    let arn = ready_room(&env, "lobby", "  maximumMessageRatePerSecond: 5\n").await;

    let run = plugin(
        &env,
        &[
            "send-event",
            "lobby",
            "--name",
            "app:refresh",
            "--attribute",
            "page=2",
        ],
    )
    .await;
    run.assert_success("send-event");
    assert!(is_service_id(run.stdout.trim()), "event id: {}", run.stdout);
    assert_eq!(env.emulator.calls("SendEvent").await, 1);

    let run = plugin(
        &env,
        &[
            "delete-message",
            "lobby",
            "--id",
            "abcDEF123456",
            "--reason",
            "spam",
            "-o",
            "json",
        ],
    )
    .await;
    run.assert_success("delete-message");
    let deletion = run.json();
    assert_eq!(deletion["arn"], arn.as_str());
    assert_eq!(deletion["messageId"], "abcDEF123456");
    assert!(
        deletion["id"].as_str().is_some_and(is_service_id),
        "deletion id: {deletion}"
    );
    assert_eq!(env.emulator.calls("DeleteMessage").await, 1);

    let run = plugin(
        &env,
        &[
            "disconnect",
            "lobby",
            "--user",
            "mallory",
            "--reason",
            "abuse",
        ],
    )
    .await;
    run.assert_success("disconnect");
    assert!(run.stdout.contains("mallory"), "{}", run.stdout);
    assert_eq!(env.emulator.calls("DisconnectUser").await, 1);
}

#[tokio::test]
async fn status_shows_kubernetes_and_ivs() {
    let env = TestEnv::start("plugin-status").await;
    let arn = ready_room(
        &env,
        "lobby",
        "  name: lobby-ivs\n  maximumMessageLength: 256\n  tags:\n    team: chat\n",
    )
    .await;
    let other_arn = ready_room(&env, "backstage", "  maximumMessageRatePerSecond: 7\n").await;

    let ivs = env.emulator.client();
    let live = ivs
        .get_room()
        .identifier(&arn)
        .send()
        .await
        .expect("GetRoom on the Ready room");
    assert_eq!(live.maximum_message_length, Some(256));

    let run = plugin(&env, &["status", "lobby"]).await;
    run.assert_success("status lobby");
    assert!(run.stdout.contains(&arn), "{}", run.stdout);
    assert!(run.stdout.contains("Ready:   True"), "{}", run.stdout);
    assert!(run.stdout.contains("Synced:  True"), "{}", run.stdout);
    assert!(run.stdout.contains("lobby-ivs"), "{}", run.stdout);
    assert!(run.stdout.contains("team=chat"), "{}", run.stdout);
    assert!(
        run.stdout.contains("ivschat.operators.dev/namespace="),
        "IVS column shows the operator's tags: {}",
        run.stdout
    );
    assert!(!run.stdout.contains(&other_arn), "{}", run.stdout);

    let run = plugin(&env, &["status", "-o", "json"]).await;
    run.assert_success("status -o json");
    let status = run.json();
    let items = status["items"].as_array().expect("items is a list");
    assert_eq!(items.len(), 2, "{status}");
    // Rooms come sorted by name.
    let (backstage, lobby) = (&items[0], &items[1]);
    assert_eq!(backstage["name"], "backstage");
    assert_eq!(backstage["arn"], other_arn.as_str());
    assert_eq!(backstage["ivs"]["maximumMessageRatePerSecond"], 7);
    assert_eq!(lobby["arn"], arn.as_str());
    assert_eq!(lobby["ready"]["status"], "True");
    assert_eq!(lobby["ready"]["reason"], "Available");
    assert_eq!(lobby["synced"]["status"], "True");
    assert_eq!(lobby["kubernetes"]["maximumMessageLength"], 256);
    assert_eq!(lobby["ivs"]["name"], "lobby-ivs");
    assert_eq!(lobby["ivs"]["maximumMessageLength"], 256);
    assert_eq!(lobby["ivs"]["maximumMessageRatePerSecond"], 10);
    assert_eq!(lobby["ivs"]["tags"]["team"], "chat");
    assert!(lobby.get("ivsError").is_none(), "{lobby}");
}

#[tokio::test]
async fn local_checks_reject_bad_input() {
    let env = TestEnv::start("plugin-input").await;
    ready_room(&env, "lobby", "  maximumMessageLength: 100\n").await;

    let cases: [(&[&str], &str); 4] = [
        (
            &["token", "lobby", "--user", "a", "--session-duration", "181"],
            "181",
        ),
        (
            &["token", "lobby", "--user", "a", "--session-duration", "0"],
            "--session-duration",
        ),
        (
            &["send-event", "lobby", "--name", "e", "--attribute", "color"],
            "expected KEY=VALUE",
        ),
        (
            &[
                "token",
                "lobby",
                "--user",
                "a",
                "--attribute",
                "k=1",
                "--attribute",
                "k=2",
            ],
            "more than once",
        ),
    ];
    for (args, expected) in cases {
        let run = plugin(&env, args).await;
        run.assert_failure(&format!("{args:?}"));
        assert!(
            run.stderr.contains(expected),
            "{args:?}: stderr lacks {expected:?}: {}",
            run.stderr
        );
    }
    assert_eq!(env.emulator.calls("CreateChatToken").await, 0);
    assert_eq!(env.emulator.calls("SendEvent").await, 0);

    let run = plugin(&env, &["delete-message", "lobby", "--id", "abcDEF1234567"]).await;
    run.assert_failure("delete-message with a 13-character id");
    assert!(
        run.stderr.contains("IVS rejected the request as invalid"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("invalid fields: id:"), "{}", run.stderr);
    assert_eq!(env.emulator.calls("DeleteMessage").await, 1);
}

#[tokio::test]
async fn room_errors_are_plain() {
    let mut env = TestEnv::start("plugin-errors").await;
    let arn = ready_room(&env, "lobby", "  maximumMessageLength: 100\n").await;

    let run = plugin(&env, &["token", "missing", "--user", "a"]).await;
    run.assert_failure("token for an unknown room object");
    let expected = format!(
        "ChatRoom \"missing\" not found in namespace \"{}\"",
        env.namespace
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);

    let run = plugin(&env, &["status", "missing"]).await;
    run.assert_failure("status of an unknown room object");
    assert!(run.stderr.contains(&expected), "{}", run.stderr);

    // A room that references a missing logging configuration stays ReferenceNotReady.
    let spec = "  loggingConfigurations:\n    - name: no-such-config\n";
    let (ok, stderr) = env.apply_text(&room_manifest("waiting", spec)).await;
    assert!(ok, "kubectl apply failed: {stderr}");
    env.wait_for::<ChatRoom, _>("waiting", READY_TIMEOUT, "ReferenceNotReady", |room| {
        room.status.as_ref().is_some_and(|status| {
            status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == "ReferenceNotReady")
        })
    })
    .await;
    let run = plugin(&env, &["send-event", "waiting", "--name", "hello"]).await;
    run.assert_failure("send-event to a room that is not Ready");
    assert!(run.stderr.contains("is not Ready yet"), "{}", run.stderr);
    assert!(run.stderr.contains("ReferenceNotReady"), "{}", run.stderr);
    assert!(run.stderr.contains("no-such-config"), "{}", run.stderr);

    let run = plugin(&env, &["disconnect", "lobby", "--user", "u"]).await;
    run.assert_success("disconnect before the faults");

    // Access denied, injected once.
    env.emulator
        .inject_fault(
            "DisconnectUser",
            serde_json::json!({"error": "AccessDeniedException", "times": 1}),
        )
        .await;
    let run = plugin(&env, &["disconnect", "lobby", "--user", "u"]).await;
    run.assert_failure("disconnect while access is denied");
    assert!(run.stderr.contains("access denied"), "{}", run.stderr);
    assert!(
        run.stderr.contains("ivschat:DisconnectUser"),
        "{}",
        run.stderr
    );

    // Wrong secret key: the service rejects the signature, and neither key is printed.
    let wrong_secret = "wrong-secret-access-key-for-plugin-tests";
    let run = plugin_with(
        &env,
        &env.emulator.endpoint,
        wrong_secret,
        &["send-event", "lobby", "--name", "e"],
    )
    .await;
    run.assert_failure("send-event with a wrong secret key");
    assert!(
        run.stderr.contains("did not accept the AWS credentials"),
        "{}",
        run.stderr
    );

    // Nothing listens on a port just released.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let run = plugin_with(
        &env,
        &closed,
        SECRET_ACCESS_KEY,
        &["send-event", "lobby", "--name", "e"],
    )
    .await;
    run.assert_failure("send-event to an unreachable endpoint");
    assert!(
        run.stderr.contains("could not reach IVS Chat at"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&closed), "{}", run.stderr);

    // Delete the room out of band while the operator cannot recreate it.
    env.stop_operator().await;
    env.emulator
        .client()
        .delete_room()
        .identifier(&arn)
        .send()
        .await
        .expect("DeleteRoom out of band");
    let run = plugin(&env, &["token", "lobby", "--user", "a"]).await;
    run.assert_failure("token for a room unknown to IVS");
    assert!(
        run.stderr.contains("IVS Chat has no room with ARN"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&arn), "{}", run.stderr);

    let run = plugin(&env, &["status", "lobby", "-o", "json"]).await;
    run.assert_failure("status of a room unknown to IVS");
    let status = run.json();
    let error = status["items"][0]["ivsError"].as_str().unwrap_or_default();
    assert!(error.contains("has no room with ARN"), "{status}");
    assert!(
        run.stderr.contains("could not be read for 1 room"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn kubeconfig_options_select_cluster() {
    let env = TestEnv::start("plugin-kubeconfig").await;
    ready_room(&env, "lobby", "  maximumMessageLength: 100\n").await;

    let run = plugin(&env, &["status", "lobby", "--kubeconfig", &env.kubeconfig]).await;
    run.assert_success("status with --kubeconfig");
    assert!(run.stdout.contains("ChatRoom "), "{}", run.stdout);

    let run = plugin(&env, &["status", "--kubeconfig", "/nonexistent/kubeconfig"]).await;
    run.assert_failure("status with a missing kubeconfig file");
    assert!(
        run.stderr
            .contains("failed to load the Kubernetes configuration"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("/nonexistent/kubeconfig"),
        "{}",
        run.stderr
    );

    let run = plugin(&env, &["status", "--context", "no-such-context"]).await;
    run.assert_failure("status with an unknown context");
    assert!(run.stderr.contains("no-such-context"), "{}", run.stderr);
}

#[tokio::test]
async fn help_describes_every_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-ivschat"))
        .arg("--help")
        .output()
        .await
        .expect("the plugin binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in [
        "token",
        "send-event",
        "delete-message",
        "disconnect",
        "status",
    ] {
        assert!(help.contains(command), "help lacks {command}: {help}");
    }
    for option in [
        "--kubeconfig",
        "--context",
        "--namespace",
        "--region",
        "--ivs-endpoint-url",
    ] {
        assert!(help.contains(option), "help lacks {option}: {help}");
    }
}
