//! Conformance tests of the local IVS Chat service against the official clients. The AWS CLI
//! (`aws ivschat`) and boto3 drive every operation and receive every error type. A table of
//! invalid inputs checks the error type, `reason` and `fieldList` names that the API model
//! implies.
//!
//! Both clients must be installed: `aws` on PATH and the `boto3` module for `python3`. A
//! missing client fails the tests. Each subprocess sees static credentials only, empty AWS
//! config files and no instance metadata, so every request goes to the loopback emulator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ivschat_operator::emulator::{Config, serve_with_admin};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const KEY_ID: &str = "AKIDCONFORMANCE";
const SECRET: &str = "conformance/test+secret";
const ACCOUNT: &str = "123456789012";
/// A well-formed room ARN that names no room.
const MISSING_ROOM: &str = "arn:aws:ivschat:us-east-1:123456789012:room/AAAAAAAAAAAA";
/// A well-formed logging-configuration ARN that names no configuration.
const MISSING_LOGGING: &str =
    "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/AAAAAAAAAAAA";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:review";

/// Every operation of the API model.
const OPERATIONS: [&str; 17] = [
    "CreateChatToken",
    "CreateLoggingConfiguration",
    "CreateRoom",
    "DeleteLoggingConfiguration",
    "DeleteMessage",
    "DeleteRoom",
    "DisconnectUser",
    "GetLoggingConfiguration",
    "GetRoom",
    "ListLoggingConfigurations",
    "ListRooms",
    "ListTagsForResource",
    "SendEvent",
    "TagResource",
    "UntagResource",
    "UpdateLoggingConfiguration",
    "UpdateRoom",
];

/// An emulator with its admin surface, running in this process.
struct Emulator {
    address: SocketAddr,
    admin: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    /// Empty AWS config and credentials files for the subprocesses.
    aws_home: tempfile::TempDir,
}

impl Emulator {
    async fn start(logging_configuration_quota: usize) -> Emulator {
        let mut config = Config::with_key(KEY_ID, SECRET);
        config.rate_limits = false;
        config.logging_configuration_quota = logging_configuration_quota;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback port");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback admin port");
        let address = listener.local_addr().expect("bound address");
        let admin = admin_listener.local_addr().expect("bound admin address");
        let (sender, receiver) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with_admin(
            listener,
            Some(admin_listener),
            config,
            async {
                let _ = receiver.await;
            },
        ));
        let aws_home = tempfile::tempdir().expect("temporary directory");
        std::fs::write(aws_home.path().join("config"), "").expect("write empty AWS config");
        std::fs::write(aws_home.path().join("credentials"), "")
            .expect("write empty AWS credentials");
        Emulator {
            address,
            admin,
            shutdown: Some(sender),
            task,
            aws_home,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sends one admin request and returns the status and the JSON body (null when empty).
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = tokio::net::TcpStream::connect(self.admin)
            .await
            .expect("connect to the admin surface");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.admin,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send admin request");
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
            .await
            .expect("admin response within 10 s")
            .expect("read admin response");
        let text = String::from_utf8_lossy(&response).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    async fn inject(&self, operation: &str, error: &str) {
        let fault = json!({ "error": error, "times": 1 });
        let (status, body) = self
            .admin("PUT", &format!("/faults/{operation}"), Some(fault))
            .await;
        assert_eq!(status, 200, "PUT /faults/{operation} failed: {body}");
    }

    /// Builds a subprocess command with static credentials, empty AWS config files and no
    /// instance metadata lookups.
    fn command(&self, program: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        for variable in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_ENDPOINT_URL",
        ] {
            command.env_remove(variable);
        }
        command
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.aws_home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.aws_home.path().join("credentials"),
            )
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_RETRY_MODE", "standard")
            .env("AWS_PAGER", "")
            .kill_on_drop(true);
        command
    }

    /// Runs `aws ivschat <args>` and returns success, stdout parsed as JSON (null when
    /// empty) and stderr.
    async fn aws(&self, args: &[&str]) -> (bool, Value, String) {
        let output = self
            .command("aws")
            .arg("ivschat")
            .args(args)
            .args(["--endpoint-url", &self.endpoint(), "--output", "json"])
            .output();
        let output = tokio::time::timeout(Duration::from_secs(60), output)
            .await
            .expect("aws finishes within 60 s")
            .expect("the AWS CLI (`aws`) must be installed and on PATH, for example with `pip install awscli`");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let parsed = if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap_or_else(|error| {
                panic!("aws {args:?} printed invalid JSON ({error}): {stdout}")
            })
        };
        (output.status.success(), parsed, stderr)
    }

    /// Runs `aws ivschat <args>`, expects success and returns the output.
    async fn aws_ok(&self, args: &[&str]) -> Value {
        let (ok, output, stderr) = self.aws(args).await;
        assert!(ok, "aws ivschat {args:?} failed: {stderr}");
        output
    }

    /// Runs the calls through boto3 in one Python process and returns one result per call.
    async fn boto3(&self, calls: &[(&str, Value)]) -> Vec<Value> {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(operation, params)| json!({ "operation": operation, "params": params }))
            .collect();
        let input = json!({ "endpoint": self.endpoint(), "calls": calls }).to_string();
        let mut child = self
            .command("python3")
            .arg(driver_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 must be installed and on PATH");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(input.as_bytes())
            .await
            .expect("send calls to the boto3 driver");
        drop(stdin);
        let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("boto3 driver finishes within 120 s")
            .expect("boto3 driver runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "boto3 driver failed (boto3 must be installed: `python3 -m pip install boto3`): \
             {stderr}"
        );
        let results: Vec<Value> =
            serde_json::from_slice(&output.stdout).expect("boto3 driver prints a JSON list");
        assert_eq!(results.len(), calls.len(), "one result per call");
        results
    }

    async fn calls(&self) -> BTreeMap<String, u64> {
        let (status, body) = self.admin("GET", "/calls", None).await;
        assert_eq!(status, 200);
        serde_json::from_value(body).expect("call counts map")
    }

    async fn stop(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("emulator stops within 10 s")
            .expect("emulator task joins");
        result.expect("emulator exits cleanly");
    }
}

fn driver_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/boto3_driver.py")
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("member {key} missing from {value}"))
}

async fn assert_every_operation_called(emulator: &Emulator) {
    let calls = emulator.calls().await;
    for operation in OPERATIONS {
        assert!(
            calls.get(operation).copied().unwrap_or(0) >= 1,
            "{operation} was never called: {calls:?}"
        );
    }
}

#[tokio::test]
async fn aws_cli_runs_every_operation() {
    let emulator = Emulator::start(10).await;
    let destination = r#"{"s3":{"bucketName":"chat-logs"}}"#;
    let logging = emulator
        .aws_ok(&[
            "create-logging-configuration",
            "--name",
            "cli-logs",
            "--destination-configuration",
            destination,
        ])
        .await;
    assert_eq!(text(&logging, "state"), "ACTIVE");
    let logging_arn = text(&logging, "arn").to_string();

    let room = emulator
        .aws_ok(&[
            "create-room",
            "--name",
            "cli-room",
            "--maximum-message-rate-per-second",
            "7",
            "--logging-configuration-identifiers",
            &logging_arn,
            "--tags",
            "team=chat",
        ])
        .await;
    let room_arn = text(&room, "arn").to_string();
    assert_eq!(room["maximumMessageRatePerSecond"], 7);
    assert_eq!(room["tags"], json!({ "team": "chat" }));
    assert_eq!(
        room["loggingConfigurationIdentifiers"],
        json!([logging_arn])
    );
    assert!(
        room_arn.starts_with(&format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:room/")),
        "{room_arn}"
    );

    let fetched = emulator
        .aws_ok(&["get-room", "--identifier", &room_arn])
        .await;
    assert_eq!(text(&fetched, "name"), "cli-room");
    let updated = emulator
        .aws_ok(&[
            "update-room",
            "--identifier",
            &room_arn,
            "--message-review-handler",
            &format!("uri={LAMBDA},fallbackResult=DENY"),
        ])
        .await;
    assert_eq!(updated["messageReviewHandler"]["fallbackResult"], "DENY");
    let rooms = emulator.aws_ok(&["list-rooms", "--name", "cli-room"]).await;
    assert_eq!(rooms["rooms"].as_array().map(Vec::len), Some(1));

    let fetched = emulator
        .aws_ok(&["get-logging-configuration", "--identifier", &logging_arn])
        .await;
    assert_eq!(
        fetched["destinationConfiguration"]["s3"]["bucketName"],
        "chat-logs"
    );
    let updated = emulator
        .aws_ok(&[
            "update-logging-configuration",
            "--identifier",
            &logging_arn,
            "--destination-configuration",
            r#"{"cloudWatchLogs":{"logGroupName":"/chat/logs"}}"#,
        ])
        .await;
    assert_eq!(
        updated["destinationConfiguration"]["cloudWatchLogs"]["logGroupName"],
        "/chat/logs"
    );
    let listed = emulator.aws_ok(&["list-logging-configurations"]).await;
    assert_eq!(
        listed["loggingConfigurations"].as_array().map(Vec::len),
        Some(1)
    );

    let token = emulator
        .aws_ok(&[
            "create-chat-token",
            "--room-identifier",
            &room_arn,
            "--user-id",
            "user-1",
            "--capabilities",
            "SEND_MESSAGE",
            "DELETE_MESSAGE",
            "--session-duration-in-minutes",
            "30",
        ])
        .await;
    assert!(!text(&token, "token").is_empty());
    assert!(token["sessionExpirationTime"].is_string());
    let event = emulator
        .aws_ok(&[
            "send-event",
            "--room-identifier",
            &room_arn,
            "--event-name",
            "app:ping",
            "--attributes",
            "k=v",
        ])
        .await;
    assert_eq!(text(&event, "id").len(), 12);
    let deleted = emulator
        .aws_ok(&[
            "delete-message",
            "--room-identifier",
            &room_arn,
            "--id",
            "ABCDEFabcdef",
            "--reason",
            "spam",
        ])
        .await;
    assert_eq!(text(&deleted, "id").len(), 12);
    emulator
        .aws_ok(&[
            "disconnect-user",
            "--room-identifier",
            &room_arn,
            "--user-id",
            "user-1",
            "--reason",
            "abuse",
        ])
        .await;

    emulator
        .aws_ok(&[
            "tag-resource",
            "--resource-arn",
            &logging_arn,
            "--tags",
            "a=1,b=2",
        ])
        .await;
    emulator
        .aws_ok(&[
            "untag-resource",
            "--resource-arn",
            &logging_arn,
            "--tag-keys",
            "a",
        ])
        .await;
    let tags = emulator
        .aws_ok(&["list-tags-for-resource", "--resource-arn", &logging_arn])
        .await;
    assert_eq!(tags["tags"], json!({ "b": "2" }));

    emulator
        .aws_ok(&["delete-room", "--identifier", &room_arn])
        .await;
    emulator
        .aws_ok(&["delete-logging-configuration", "--identifier", &logging_arn])
        .await;
    let rooms = emulator.aws_ok(&["list-rooms"]).await;
    assert_eq!(rooms["rooms"], json!([]));
    assert_every_operation_called(&emulator).await;
    emulator.stop().await;
}

/// Asserts that a failed CLI call names `code` the way the CLI prints service errors.
fn assert_cli_error(result: (bool, Value, String), code: &str) {
    let (ok, output, stderr) = result;
    assert!(!ok, "expected {code}, but the call succeeded: {output}");
    assert!(
        stderr.contains(&format!("An error occurred ({code})")),
        "expected {code} in stderr: {stderr}"
    );
}

#[tokio::test]
async fn aws_cli_reports_every_error_type() {
    let emulator = Emulator::start(1).await;
    let destination = r#"{"s3":{"bucketName":"chat-logs"}}"#;

    let result = emulator
        .aws(&["create-room", "--maximum-message-length", "501"])
        .await;
    assert_cli_error(result, "ValidationException");
    let result = emulator
        .aws(&["get-room", "--identifier", MISSING_ROOM])
        .await;
    assert_cli_error(result, "ResourceNotFoundException");

    let logging = emulator
        .aws_ok(&[
            "create-logging-configuration",
            "--destination-configuration",
            destination,
        ])
        .await;
    let logging_arn = text(&logging, "arn").to_string();
    let result = emulator
        .aws(&[
            "create-logging-configuration",
            "--destination-configuration",
            destination,
        ])
        .await;
    assert_cli_error(result, "ServiceQuotaExceededException");
    emulator
        .aws_ok(&[
            "create-room",
            "--logging-configuration-identifiers",
            &logging_arn,
        ])
        .await;
    let result = emulator
        .aws(&["delete-logging-configuration", "--identifier", &logging_arn])
        .await;
    assert_cli_error(result, "ConflictException");

    // The service has no request that reliably triggers these, so they are injected.
    let injected = [
        ("ListRooms", "AccessDeniedException", vec!["list-rooms"]),
        ("CreateRoom", "PendingVerification", vec!["create-room"]),
        (
            "ListTagsForResource",
            "InternalServerException",
            vec!["list-tags-for-resource", "--resource-arn", &logging_arn],
        ),
        (
            "SendEvent",
            "ThrottlingException",
            vec![
                "send-event",
                "--room-identifier",
                MISSING_ROOM,
                "--event-name",
                "e",
            ],
        ),
    ];
    for (operation, code, args) in injected {
        emulator.inject(operation, code).await;
        let result = emulator.aws(&args).await;
        assert_cli_error(result, code);
    }
    emulator.stop().await;
}

#[tokio::test]
async fn boto3_runs_every_operation() {
    let emulator = Emulator::start(10).await;
    let created = emulator
        .boto3(&[
            (
                "create_logging_configuration",
                json!({
                    "name": "boto3-logs",
                    "destinationConfiguration": { "firehose": { "deliveryStreamName": "chat" } },
                    "tags": { "team": "chat" },
                }),
            ),
            (
                "create_room",
                json!({ "name": "boto3-room", "maximumMessageLength": 100 }),
            ),
        ])
        .await;
    for result in &created {
        assert_eq!(result["ok"], true, "create failed: {result}");
    }
    let logging_arn = text(&created[0]["response"], "arn").to_string();
    let room_arn = text(&created[1]["response"], "arn").to_string();
    assert_eq!(created[0]["response"]["state"], "ACTIVE");
    assert_eq!(created[1]["response"]["maximumMessageLength"], 100);

    let calls = [
        ("get_room", json!({ "identifier": room_arn })),
        (
            "update_room",
            json!({ "identifier": room_arn, "loggingConfigurationIdentifiers": [logging_arn] }),
        ),
        (
            "list_rooms",
            json!({ "loggingConfigurationIdentifier": logging_arn }),
        ),
        (
            "get_logging_configuration",
            json!({ "identifier": logging_arn }),
        ),
        (
            "update_logging_configuration",
            json!({ "identifier": logging_arn, "name": "renamed" }),
        ),
        ("list_logging_configurations", json!({ "maxResults": 5 })),
        (
            "create_chat_token",
            json!({ "roomIdentifier": room_arn, "userId": "u", "attributes": { "a": "b" } }),
        ),
        (
            "send_event",
            json!({ "roomIdentifier": room_arn, "eventName": "e" }),
        ),
        (
            "delete_message",
            json!({ "roomIdentifier": room_arn, "id": "ABCDEFabcdef" }),
        ),
        (
            "disconnect_user",
            json!({ "roomIdentifier": room_arn, "userId": "u" }),
        ),
        (
            "tag_resource",
            json!({ "resourceArn": room_arn, "tags": { "x": "1", "y": "2" } }),
        ),
        (
            "untag_resource",
            json!({ "resourceArn": room_arn, "tagKeys": ["x"] }),
        ),
        ("list_tags_for_resource", json!({ "resourceArn": room_arn })),
        (
            "update_room",
            json!({ "identifier": room_arn, "loggingConfigurationIdentifiers": [] }),
        ),
        ("delete_room", json!({ "identifier": room_arn })),
        (
            "delete_logging_configuration",
            json!({ "identifier": logging_arn }),
        ),
        ("list_rooms", json!({})),
    ];
    let results = emulator.boto3(&calls).await;
    for ((operation, _), result) in calls.iter().zip(&results) {
        assert_eq!(result["ok"], true, "{operation} failed: {result}");
    }
    let response = |index: usize| &results[index]["response"];
    assert_eq!(text(response(0), "name"), "boto3-room");
    assert_eq!(
        response(1)["loggingConfigurationIdentifiers"],
        json!([logging_arn])
    );
    assert_eq!(response(2)["rooms"].as_array().map(Vec::len), Some(1));
    assert_eq!(response(3)["tags"], json!({ "team": "chat" }));
    assert_eq!(text(response(4), "name"), "renamed");
    assert_eq!(
        response(5)["loggingConfigurations"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(response(6)["token"].is_string());
    assert_eq!(text(response(7), "id").len(), 12);
    assert_eq!(text(response(8), "id").len(), 12);
    assert_eq!(response(12)["tags"], json!({ "y": "2" }));
    assert_eq!(response(16)["rooms"], json!([]));
    assert_every_operation_called(&emulator).await;
    emulator.stop().await;
}

#[tokio::test]
async fn boto3_reports_every_error_type() {
    let emulator = Emulator::start(1).await;
    let destination = json!({ "s3": { "bucketName": "chat-logs" } });
    let setup = emulator
        .boto3(&[(
            "create_logging_configuration",
            json!({ "destinationConfiguration": destination }),
        )])
        .await;
    let logging_arn = text(&setup[0]["response"], "arn").to_string();
    let setup = emulator
        .boto3(&[(
            "create_room",
            json!({ "loggingConfigurationIdentifiers": [logging_arn] }),
        )])
        .await;
    assert_eq!(setup[0]["ok"], true, "create_room failed: {}", setup[0]);

    let natural = emulator
        .boto3(&[
            ("create_room", json!({ "maximumMessageLength": 0 })),
            ("get_room", json!({ "identifier": MISSING_ROOM })),
            (
                "create_logging_configuration",
                json!({ "destinationConfiguration": destination }),
            ),
            (
                "delete_logging_configuration",
                json!({ "identifier": logging_arn }),
            ),
        ])
        .await;
    let expected = [
        ("ValidationException", 400),
        ("ResourceNotFoundException", 404),
        ("ServiceQuotaExceededException", 402),
        ("ConflictException", 409),
    ];
    for (result, (code, status)) in natural.iter().zip(expected) {
        assert_eq!(result["code"], code, "{result}");
        assert_eq!(result["status"], status, "{result}");
        assert!(result["message"].is_string(), "{result}");
    }
    assert_eq!(natural[0]["reason"], "FIELD_VALIDATION_FAILED");

    let injected = [
        (
            "ListRooms",
            "list_rooms",
            json!({}),
            "AccessDeniedException",
            403,
        ),
        (
            "CreateRoom",
            "create_room",
            json!({}),
            "PendingVerification",
            403,
        ),
        (
            "TagResource",
            "tag_resource",
            json!({ "resourceArn": logging_arn, "tags": { "a": "b" } }),
            "InternalServerException",
            500,
        ),
        (
            "DisconnectUser",
            "disconnect_user",
            json!({ "roomIdentifier": MISSING_ROOM, "userId": "u" }),
            "ThrottlingException",
            429,
        ),
    ];
    for (operation, method, params, code, status) in injected {
        emulator.inject(operation, code).await;
        let results = emulator.boto3(&[(method, params)]).await;
        assert_eq!(results[0]["code"], code, "{}", results[0]);
        assert_eq!(results[0]["status"], status, "{}", results[0]);
    }
    emulator.stop().await;
}

/// One invalid request and the error the service returns for it.
struct InvalidCase {
    /// boto3 method name.
    method: &'static str,
    params: Value,
    code: &'static str,
    /// `reason` of a ValidationException.
    reason: Option<&'static str>,
    /// `fieldList` names, in order.
    fields: &'static [&'static str],
}

fn invalid(method: &'static str, params: Value, fields: &'static [&'static str]) -> InvalidCase {
    InvalidCase {
        method,
        params,
        code: "ValidationException",
        reason: Some("FIELD_VALIDATION_FAILED"),
        fields,
    }
}

fn not_found(method: &'static str, params: Value) -> InvalidCase {
    InvalidCase {
        method,
        params,
        code: "ResourceNotFoundException",
        reason: None,
        fields: &[],
    }
}

/// Invalid inputs derived from the constraints of the API model (service-2.json of
/// ivschat 2020-07-14): required members, lengths, ranges, patterns, enums, list and map
/// sizes, and the union rule of `destinationConfiguration`. Nested members are named with
/// `.`, list entries with their 1-based index and map entries with their key. A value that
/// breaks two constraints (an empty string against both a minimum length and a pattern) is
/// listed once per broken constraint.
fn invalid_cases() -> Vec<InvalidCase> {
    let long = |n: usize| "a".repeat(n);
    let lc = MISSING_LOGGING;
    let room = MISSING_ROOM;
    let many_tags: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let many_keys: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
    let long_lambda = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        "f".repeat(130)
    );
    let big_attributes: serde_json::Map<String, Value> = (0..11)
        .map(|i| (format!("k{i}"), json!("v".repeat(100))))
        .collect();
    vec![
        // CreateRoom
        invalid("create_room", json!({ "name": "bad name" }), &["name"]),
        invalid("create_room", json!({ "name": long(129) }), &["name"]),
        invalid("create_room", json!({ "name": "bad/name" }), &["name"]),
        invalid(
            "create_room",
            json!({ "maximumMessageLength": 0 }),
            &["maximumMessageLength"],
        ),
        invalid(
            "create_room",
            json!({ "maximumMessageLength": 501 }),
            &["maximumMessageLength"],
        ),
        invalid(
            "create_room",
            json!({ "maximumMessageLength": "5" }),
            &["maximumMessageLength"],
        ),
        invalid(
            "create_room",
            json!({ "maximumMessageRatePerSecond": 0 }),
            &["maximumMessageRatePerSecond"],
        ),
        invalid(
            "create_room",
            json!({ "maximumMessageRatePerSecond": 101 }),
            &["maximumMessageRatePerSecond"],
        ),
        invalid(
            "create_room",
            json!({ "messageReviewHandler": { "uri": "arn:aws:s3:::bucket" } }),
            &["messageReviewHandler.uri"],
        ),
        invalid(
            "create_room",
            json!({ "messageReviewHandler": { "uri": LAMBDA, "fallbackResult": "MAYBE" } }),
            &["messageReviewHandler.fallbackResult"],
        ),
        invalid(
            "create_room",
            json!({ "messageReviewHandler": { "uri": long_lambda } }),
            &["messageReviewHandler.uri"],
        ),
        invalid(
            "create_room",
            json!({ "loggingConfigurationIdentifiers": [lc, lc, lc, lc] }),
            &["loggingConfigurationIdentifiers"],
        ),
        invalid(
            "create_room",
            json!({ "loggingConfigurationIdentifiers": [room] }),
            &["loggingConfigurationIdentifiers.1"],
        ),
        invalid(
            "create_room",
            json!({ "loggingConfigurationIdentifiers": [lc, lc] }),
            &["loggingConfigurationIdentifiers"],
        ),
        invalid(
            "create_room",
            json!({ "tags": { "aws:x": "v" } }),
            &["tags.aws:x"],
        ),
        invalid(
            "create_room",
            json!({ "tags": { "k": long(257) } }),
            &["tags.k"],
        ),
        invalid(
            "create_room",
            json!({ "tags": many_tags.clone() }),
            &["tags"],
        ),
        invalid(
            "create_room",
            json!({ "name": "a b", "maximumMessageLength": 0 }),
            &["name", "maximumMessageLength"],
        ),
        not_found(
            "create_room",
            json!({ "loggingConfigurationIdentifiers": [lc] }),
        ),
        // GetRoom
        invalid("get_room", json!({}), &["identifier"]),
        invalid(
            "get_room",
            json!({ "identifier": "" }),
            &["identifier", "identifier"],
        ),
        invalid("get_room", json!({ "identifier": lc }), &["identifier"]),
        invalid(
            "get_room",
            json!({ "identifier": "room/AAAAAAAAAAAA" }),
            &["identifier"],
        ),
        invalid(
            "get_room",
            json!({ "identifier": format!("{room}{}", "A".repeat(80)) }),
            &["identifier"],
        ),
        not_found("get_room", json!({ "identifier": room })),
        not_found(
            "get_room",
            json!({ "identifier": "arn:aws:ivschat:us-east-1:999999999999:room/AAAAAAAAAAAA" }),
        ),
        // UpdateRoom
        invalid("update_room", json!({}), &["identifier"]),
        invalid(
            "update_room",
            json!({ "identifier": room, "maximumMessageLength": 1000 }),
            &["maximumMessageLength"],
        ),
        invalid(
            "update_room",
            json!({ "identifier": room, "name": "x y" }),
            &["name"],
        ),
        invalid(
            "update_room",
            json!({ "identifier": room, "messageReviewHandler": { "uri": "not-an-arn" } }),
            &["messageReviewHandler.uri"],
        ),
        invalid(
            "update_room",
            json!({ "identifier": room, "maximumMessageRatePerSecond": -1 }),
            &["maximumMessageRatePerSecond"],
        ),
        not_found("update_room", json!({ "identifier": room, "name": "ok" })),
        // DeleteRoom
        invalid("delete_room", json!({}), &["identifier"]),
        invalid(
            "delete_room",
            json!({ "identifier": "arn:aws:ivschat:us-east-1:123456789012:room/" }),
            &["identifier"],
        ),
        not_found("delete_room", json!({ "identifier": room })),
        // ListRooms
        invalid("list_rooms", json!({ "maxResults": 0 }), &["maxResults"]),
        invalid("list_rooms", json!({ "maxResults": 51 }), &["maxResults"]),
        invalid(
            "list_rooms",
            json!({ "nextToken": long(1025) }),
            &["nextToken"],
        ),
        invalid(
            "list_rooms",
            json!({ "nextToken": "not-a-token" }),
            &["nextToken"],
        ),
        invalid("list_rooms", json!({ "name": "a b" }), &["name"]),
        invalid(
            "list_rooms",
            json!({ "messageReviewHandlerUri": "arn:aws:lambda:us-east-1:1234:function:x" }),
            &["messageReviewHandlerUri"],
        ),
        invalid(
            "list_rooms",
            json!({ "loggingConfigurationIdentifier": "" }),
            &[
                "loggingConfigurationIdentifier",
                "loggingConfigurationIdentifier",
            ],
        ),
        invalid(
            "list_rooms",
            json!({ "loggingConfigurationIdentifier": room }),
            &["loggingConfigurationIdentifier"],
        ),
        not_found(
            "list_rooms",
            json!({ "loggingConfigurationIdentifier": lc }),
        ),
        // CreateLoggingConfiguration
        invalid(
            "create_logging_configuration",
            json!({}),
            &["destinationConfiguration"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": {} }),
            &["destinationConfiguration"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": {
                "s3": { "bucketName": "logs" },
                "firehose": { "deliveryStreamName": "s" },
            } }),
            &["destinationConfiguration"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "s3": { "bucketName": "ab" } } }),
            &["destinationConfiguration.s3.bucketName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "s3": { "bucketName": "Upper" } } }),
            &["destinationConfiguration.s3.bucketName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "s3": { "bucketName": long(64) } } }),
            &["destinationConfiguration.s3.bucketName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "s3": {} } }),
            &["destinationConfiguration.s3.bucketName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "cloudWatchLogs": { "logGroupName": "a b" } } }),
            &["destinationConfiguration.cloudWatchLogs.logGroupName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "cloudWatchLogs": { "logGroupName": "" } } }),
            &[
                "destinationConfiguration.cloudWatchLogs.logGroupName",
                "destinationConfiguration.cloudWatchLogs.logGroupName",
            ],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "cloudWatchLogs": { "logGroupName": long(513) } } }),
            &["destinationConfiguration.cloudWatchLogs.logGroupName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "firehose": { "deliveryStreamName": "a b" } } }),
            &["destinationConfiguration.firehose.deliveryStreamName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "destinationConfiguration": { "firehose": { "deliveryStreamName": long(65) } } }),
            &["destinationConfiguration.firehose.deliveryStreamName"],
        ),
        invalid(
            "create_logging_configuration",
            json!({ "name": "bad name", "destinationConfiguration": { "s3": { "bucketName": "logs" } } }),
            &["name"],
        ),
        invalid(
            "create_logging_configuration",
            json!({
                "destinationConfiguration": { "s3": { "bucketName": "logs" } },
                "tags": { "aws:k": "v" },
            }),
            &["tags.aws:k"],
        ),
        // GetLoggingConfiguration
        invalid("get_logging_configuration", json!({}), &["identifier"]),
        invalid(
            "get_logging_configuration",
            json!({ "identifier": room }),
            &["identifier"],
        ),
        not_found("get_logging_configuration", json!({ "identifier": lc })),
        // UpdateLoggingConfiguration
        invalid("update_logging_configuration", json!({}), &["identifier"]),
        invalid(
            "update_logging_configuration",
            json!({ "identifier": lc, "name": "bad name" }),
            &["name"],
        ),
        invalid(
            "update_logging_configuration",
            json!({ "identifier": lc, "destinationConfiguration": { "s3": { "bucketName": "x" } } }),
            &["destinationConfiguration.s3.bucketName"],
        ),
        not_found(
            "update_logging_configuration",
            json!({ "identifier": lc, "name": "ok" }),
        ),
        // DeleteLoggingConfiguration
        invalid("delete_logging_configuration", json!({}), &["identifier"]),
        invalid(
            "delete_logging_configuration",
            json!({ "identifier": format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:logging-configuration/a_b") }),
            &["identifier"],
        ),
        not_found("delete_logging_configuration", json!({ "identifier": lc })),
        // ListLoggingConfigurations
        invalid(
            "list_logging_configurations",
            json!({ "maxResults": 0 }),
            &["maxResults"],
        ),
        invalid(
            "list_logging_configurations",
            json!({ "maxResults": 100 }),
            &["maxResults"],
        ),
        invalid(
            "list_logging_configurations",
            json!({ "nextToken": long(1025) }),
            &["nextToken"],
        ),
        // CreateChatToken
        invalid(
            "create_chat_token",
            json!({}),
            &["roomIdentifier", "userId"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "" }),
            &["userId"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": long(129) }),
            &["userId"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "u", "capabilities": ["SEND"] }),
            &["capabilities.1"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "u", "sessionDurationInMinutes": 0 }),
            &["sessionDurationInMinutes"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "u", "sessionDurationInMinutes": 181 }),
            &["sessionDurationInMinutes"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "u", "attributes": big_attributes }),
            &["attributes"],
        ),
        invalid(
            "create_chat_token",
            json!({ "roomIdentifier": lc, "userId": "u" }),
            &["roomIdentifier"],
        ),
        not_found(
            "create_chat_token",
            json!({ "roomIdentifier": room, "userId": "u" }),
        ),
        // SendEvent
        invalid(
            "send_event",
            json!({ "roomIdentifier": room }),
            &["eventName"],
        ),
        invalid(
            "send_event",
            json!({ "roomIdentifier": room, "eventName": "" }),
            &["eventName"],
        ),
        invalid(
            "send_event",
            json!({ "roomIdentifier": room, "eventName": long(101) }),
            &["eventName"],
        ),
        not_found(
            "send_event",
            json!({ "roomIdentifier": room, "eventName": "e" }),
        ),
        // DeleteMessage
        invalid(
            "delete_message",
            json!({ "roomIdentifier": room, "id": "short" }),
            &["id"],
        ),
        invalid(
            "delete_message",
            json!({ "roomIdentifier": room, "id": "AAAAAAAAAAA!" }),
            &["id"],
        ),
        invalid(
            "delete_message",
            json!({ "roomIdentifier": room, "id": "AAAAAAAAAAAA", "reason": "" }),
            &["reason"],
        ),
        invalid("delete_message", json!({ "roomIdentifier": room }), &["id"]),
        // DisconnectUser
        invalid(
            "disconnect_user",
            json!({ "roomIdentifier": room }),
            &["userId"],
        ),
        invalid(
            "disconnect_user",
            json!({ "roomIdentifier": room, "userId": "u", "reason": long(257) }),
            &["reason"],
        ),
        // TagResource
        invalid(
            "tag_resource",
            json!({
                "resourceArn": format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:channel/AAAA"),
                "tags": { "a": "b" },
            }),
            &["resourceArn"],
        ),
        invalid("tag_resource", json!({ "resourceArn": room }), &["tags"]),
        invalid(
            "tag_resource",
            json!({ "resourceArn": room, "tags": { "aws:key": "v" } }),
            &["tags.aws:key"],
        ),
        invalid(
            "tag_resource",
            json!({ "resourceArn": room, "tags": many_tags }),
            &["tags"],
        ),
        not_found(
            "tag_resource",
            json!({ "resourceArn": room, "tags": { "a": "b" } }),
        ),
        // UntagResource
        invalid(
            "untag_resource",
            json!({ "resourceArn": room, "tagKeys": [""] }),
            &["tagKeys.1"],
        ),
        invalid(
            "untag_resource",
            json!({ "resourceArn": room, "tagKeys": many_keys }),
            &["tagKeys"],
        ),
        not_found(
            "untag_resource",
            json!({ "resourceArn": lc, "tagKeys": ["a"] }),
        ),
        // ListTagsForResource
        invalid(
            "list_tags_for_resource",
            json!({ "resourceArn": format!("arn:aws:ivs:us-east-1:{ACCOUNT}:channel/AAAA") }),
            &["resourceArn"],
        ),
        not_found("list_tags_for_resource", json!({ "resourceArn": room })),
    ]
}

#[tokio::test]
async fn boto3_invalid_inputs_match_model() {
    let emulator = Emulator::start(10).await;
    let cases = invalid_cases();
    assert!(cases.len() >= 60, "only {} invalid inputs", cases.len());
    let calls: Vec<(&str, Value)> = cases
        .iter()
        .map(|case| (case.method, case.params.clone()))
        .collect();
    let results = emulator.boto3(&calls).await;

    let mut failures = Vec::new();
    for (case, result) in cases.iter().zip(&results) {
        let names: Vec<&str> = result["fieldList"]
            .as_array()
            .map(|list| list.iter().filter_map(|f| f["name"].as_str()).collect())
            .unwrap_or_default();
        let matches = result["ok"] == false
            && result["code"] == case.code
            && result["reason"].as_str() == case.reason
            && names == case.fields;
        if !matches {
            failures.push(format!(
                "{} {}: expected {} {:?} {:?}, got {result}",
                case.method, case.params, case.code, case.reason, case.fields
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid inputs got an unexpected answer:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    emulator.stop().await;
}
