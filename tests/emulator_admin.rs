//! Tests of the local IVS Chat service's admin surface: injected faults, eventual-consistency
//! settings and reset, observed through `aws-sdk-ivschat` and raw admin requests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_ivschat::Client;
use aws_sdk_ivschat::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ivschat::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ivschat::types::{
    DestinationConfiguration, LoggingConfigurationState, S3DestinationConfiguration,
};
use aws_smithy_types::retry::RetryConfig;
use ivschat_operator::emulator::{Config, serve_with_admin};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const KEY_ID: &str = "AKIDADMINTEST";
const SECRET: &str = "admin/test+secret";

/// An emulator with its admin surface, running in this process.
struct Emulator {
    address: SocketAddr,
    admin: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Emulator {
    async fn start() -> Emulator {
        let mut config = Config::with_key(KEY_ID, SECRET);
        config.rate_limits = false;
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
        Emulator {
            address,
            admin,
            shutdown: Some(sender),
            task,
        }
    }

    fn client(&self) -> Client {
        let config = aws_sdk_ivschat::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "tests"))
            .endpoint_url(format!("http://{}", self.address))
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
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

    async fn set_fault(&self, operation: &str, fault: Value) {
        let (status, body) = self
            .admin("PUT", &format!("/faults/{operation}"), Some(fault))
            .await;
        assert_eq!(status, 200, "PUT /faults/{operation} failed: {body}");
    }

    async fn set_settings(&self, settings: Value) -> Value {
        let (status, body) = self.admin("PUT", "/settings", Some(settings)).await;
        assert_eq!(status, 200, "PUT /settings failed: {body}");
        body
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

fn s3(bucket: &str) -> DestinationConfiguration {
    DestinationConfiguration::S3(
        S3DestinationConfiguration::builder()
            .bucket_name(bucket)
            .build()
            .expect("bucket name set"),
    )
}

async fn room_count(client: &Client) -> usize {
    client
        .list_rooms()
        .send()
        .await
        .expect("ListRooms succeeds")
        .rooms()
        .len()
}

#[tokio::test]
async fn injected_errors_are_typed() {
    let emulator = Emulator::start().await;
    let client = emulator.client();

    // Each error is injected into an operation whose model lists it, so the SDK returns the
    // typed variant rather than an unhandled error.
    let cases: [(&str, &str, u16); 6] = [
        ("AccessDeniedException", "CreateRoom", 403),
        ("ConflictException", "CreateRoom", 409),
        ("ResourceNotFoundException", "CreateRoom", 404),
        ("ServiceQuotaExceededException", "CreateRoom", 402),
        ("ValidationException", "CreateRoom", 400),
        ("PendingVerification", "CreateRoom", 403),
    ];
    for (error, operation, status) in cases {
        emulator
            .set_fault(operation, json!({ "error": error, "times": 1 }))
            .await;
        let failure = client
            .create_room()
            .name("faulted")
            .send()
            .await
            .expect_err("CreateRoom fails with the injected error");
        assert_eq!(failure.code(), Some(error), "error code for {error}");
        let raw_status = failure.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw_status, Some(status), "status for {error}");
        let service = failure.into_service_error();
        let typed = match error {
            "AccessDeniedException" => service.is_access_denied_exception(),
            "ConflictException" => service.is_conflict_exception(),
            "ResourceNotFoundException" => service.is_resource_not_found_exception(),
            "ServiceQuotaExceededException" => service.is_service_quota_exceeded_exception(),
            "ValidationException" => service.is_validation_exception(),
            _ => service.is_pending_verification(),
        };
        assert!(typed, "{error} is not the typed SDK error: {service:?}");
    }
    assert_eq!(room_count(&client).await, 0, "faulted CreateRoom ran");

    let room = client.create_room().send().await.expect("CreateRoom works");
    let arn = room.arn().expect("ARN present");

    emulator
        .set_fault("SendEvent", json!({ "error": "ThrottlingException" }))
        .await;
    let failure = client
        .send_event()
        .room_identifier(arn)
        .event_name("ping")
        .send()
        .await
        .expect_err("SendEvent is throttled");
    let service = failure.into_service_error();
    assert!(service.is_throttling_exception(), "{service:?}");

    emulator
        .set_fault(
            "ListTagsForResource",
            json!({ "error": "InternalServerException" }),
        )
        .await;
    let failure = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect_err("ListTagsForResource fails");
    let raw_status = failure.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw_status, Some(500));
    let service = failure.into_service_error();
    assert!(service.is_internal_server_exception(), "{service:?}");
    emulator.stop().await;
}

#[tokio::test]
async fn injected_not_found_names_the_resource() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    let room = client.create_room().send().await.expect("CreateRoom works");
    let arn = room.arn().expect("ARN present");
    let id = room.id().expect("id present");
    emulator
        .set_fault("GetRoom", json!({ "error": "ResourceNotFoundException" }))
        .await;
    let failure = client
        .get_room()
        .identifier(arn)
        .send()
        .await
        .expect_err("GetRoom fails");
    let service = failure.into_service_error();
    let aws_sdk_ivschat::operation::get_room::GetRoomError::ResourceNotFoundException(not_found) =
        service
    else {
        panic!("expected ResourceNotFoundException, got {service:?}");
    };
    assert_eq!(not_found.resource_id(), id);
    assert_eq!(not_found.resource_type().as_str(), "ROOM");
    emulator.stop().await;
}

#[tokio::test]
async fn dropped_response_still_applies_change() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    emulator
        .set_fault("CreateRoom", json!({ "dropResponse": true, "times": 1 }))
        .await;

    let failure = client
        .create_room()
        .name("dropped")
        .send()
        .await
        .expect_err("CreateRoom gets no response");
    assert!(
        matches!(
            failure,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "expected a dispatch or response error, got {failure:?}"
    );

    let rooms = client.list_rooms().send().await.expect("ListRooms works");
    let names: Vec<&str> = rooms.rooms().iter().filter_map(|r| r.name()).collect();
    assert_eq!(names, ["dropped"]);
    emulator.stop().await;
}

#[tokio::test]
async fn fault_with_times_one_hits_once() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    emulator
        .set_fault(
            "ListRooms",
            json!({ "error": "AccessDeniedException", "times": 1 }),
        )
        .await;
    let (_, faults) = emulator.admin("GET", "/faults", None).await;
    assert_eq!(faults["ListRooms"]["times"], 1);

    let first = client.list_rooms().send().await;
    assert!(first.is_err(), "first ListRooms should fail");
    let second = client.list_rooms().send().await;
    assert!(second.is_ok(), "second ListRooms should succeed");
    let third = client.list_rooms().send().await;
    assert!(third.is_ok(), "third ListRooms should succeed");

    let (status, faults) = emulator.admin("GET", "/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(faults, json!({}));
    emulator.stop().await;
}

#[tokio::test]
async fn fault_without_times_stays_until_removed() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    let fault = json!({ "error": "AccessDeniedException" });
    emulator.set_fault("ListRooms", fault.clone()).await;
    emulator.set_fault("GetRoom", fault).await;
    for _ in 0..3 {
        assert!(client.list_rooms().send().await.is_err());
    }

    let (status, _) = emulator.admin("DELETE", "/faults/ListRooms", None).await;
    assert_eq!(status, 204);
    assert!(client.list_rooms().send().await.is_ok());
    let (_, faults) = emulator.admin("GET", "/faults", None).await;
    assert!(
        faults.get("GetRoom").is_some(),
        "GetRoom fault kept: {faults}"
    );

    let (status, _) = emulator.admin("DELETE", "/faults", None).await;
    assert_eq!(status, 204);
    let (_, faults) = emulator.admin("GET", "/faults", None).await;
    assert_eq!(faults, json!({}));
    emulator.stop().await;
}

#[tokio::test]
async fn latency_delays_response() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    emulator
        .set_fault("ListRooms", json!({ "latencyMs": 300, "times": 1 }))
        .await;
    let started = Instant::now();
    client.list_rooms().send().await.expect("ListRooms works");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300),
        "ListRooms took {elapsed:?}, expected at least 300 ms"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn reset_clears_everything() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    client.create_room().send().await.expect("CreateRoom works");
    create_logging_configuration(&client).await;
    emulator
        .set_fault("GetRoom", json!({ "error": "AccessDeniedException" }))
        .await;
    emulator
        .set_settings(json!({ "roomVisibilityDelayMs": 1000 }))
        .await;

    let (status, _) = emulator.admin("POST", "/reset", None).await;
    assert_eq!(status, 204);

    let (_, calls) = emulator.admin("GET", "/calls", None).await;
    assert_eq!(calls, json!({}));
    let (_, faults) = emulator.admin("GET", "/faults", None).await;
    assert_eq!(faults, json!({}));
    let (_, settings) = emulator.admin("GET", "/settings", None).await;
    assert_eq!(settings["roomVisibilityDelayMs"], 0);
    assert_eq!(settings["loggingConfigurationStateHoldMs"]["CREATING"], 0);
    assert_eq!(room_count(&client).await, 0);
    let configurations = client
        .list_logging_configurations()
        .send()
        .await
        .expect("ListLoggingConfigurations works");
    assert!(configurations.logging_configurations().is_empty());
    emulator.stop().await;
}

#[tokio::test]
async fn admin_rejects_invalid_requests() {
    let emulator = Emulator::start().await;
    let cases = [
        ("PUT", "/faults/CreateChannel", json!({}), 404),
        ("PUT", "/faults/CreateRoom", json!({ "error": "Boom" }), 400),
        ("PUT", "/faults/CreateRoom", json!({ "times": 0 }), 400),
        ("PUT", "/faults/CreateRoom", json!({ "latency": 5 }), 400),
        ("PUT", "/settings", json!({ "roomVisibilityDelay": 5 }), 400),
        (
            "PUT",
            "/settings",
            json!({ "loggingConfigurationStateHoldMs": { "ACTIVE": 5 } }),
            400,
        ),
        (
            "PUT",
            "/settings",
            json!({ "roomVisibilityDelayMs": -1 }),
            400,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, response) = emulator.admin(method, path, Some(body.clone())).await;
        assert_eq!(status, expected, "{method} {path} {body}: {response}");
        assert!(response["message"].is_string(), "no message: {response}");
    }
    let (_, faults) = emulator.admin("GET", "/faults", None).await;
    assert_eq!(faults, json!({}));
    emulator.stop().await;
}

#[tokio::test]
async fn new_room_is_hidden_during_delay() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    let settings = emulator
        .set_settings(json!({ "roomVisibilityDelayMs": 1500 }))
        .await;
    assert_eq!(settings["roomVisibilityDelayMs"], 1500);

    // The delay is long compared with a local request, so the checks below run inside it.
    let created = Instant::now();
    let room = client.create_room().send().await.expect("CreateRoom works");
    let arn = room.arn().expect("ARN present");

    let failure = client
        .get_room()
        .identifier(arn)
        .send()
        .await
        .expect_err("GetRoom does not see the new room yet");
    assert!(
        failure
            .into_service_error()
            .is_resource_not_found_exception()
    );
    assert_eq!(room_count(&client).await, 0);
    let failure = client
        .update_room()
        .identifier(arn)
        .name("renamed")
        .send()
        .await
        .expect_err("UpdateRoom does not see the new room yet");
    assert!(
        failure
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let failure = client
        .tag_resource()
        .resource_arn(arn)
        .tags("k", "v")
        .send()
        .await
        .expect_err("TagResource does not see the new room yet");
    assert!(
        failure
            .into_service_error()
            .is_resource_not_found_exception()
    );
    assert!(
        created.elapsed() < Duration::from_millis(1500),
        "the hidden-room checks took {:?}, longer than the delay",
        created.elapsed()
    );

    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(created.elapsed())).await;
    let fetched = client.get_room().identifier(arn).send().await;
    assert!(fetched.is_ok(), "GetRoom after the delay: {fetched:?}");
    assert_eq!(room_count(&client).await, 1);
    emulator.stop().await;
}

async fn create_logging_configuration(client: &Client) -> String {
    let created = client
        .create_logging_configuration()
        .destination_configuration(s3("chat-logs"))
        .send()
        .await
        .expect("CreateLoggingConfiguration works");
    assert_eq!(created.state().map(|s| s.as_str()), Some("ACTIVE"));
    created.arn().expect("ARN present").to_string()
}

async fn logging_state(client: &Client, arn: &str) -> Option<LoggingConfigurationState> {
    let output = client
        .get_logging_configuration()
        .identifier(arn)
        .send()
        .await;
    match output {
        Ok(configuration) => configuration.state().cloned(),
        Err(failure) => {
            let service = failure.into_service_error();
            assert!(
                service.is_resource_not_found_exception(),
                "GetLoggingConfiguration failed: {service:?}"
            );
            None
        }
    }
}

async fn listed_state(client: &Client, arn: &str) -> Option<LoggingConfigurationState> {
    let output = client
        .list_logging_configurations()
        .send()
        .await
        .expect("ListLoggingConfigurations works");
    output
        .logging_configurations()
        .iter()
        .find(|c| c.arn() == Some(arn))
        .and_then(|c| c.state().cloned())
}

#[tokio::test]
async fn logging_states_are_held() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    let hold = json!({ "CREATING": 1500, "UPDATING": 1500, "DELETING": 1500 });
    let settings = emulator
        .set_settings(json!({ "loggingConfigurationStateHoldMs": hold }))
        .await;
    assert_eq!(
        settings["loggingConfigurationStateHoldMs"]["UPDATING"],
        1500
    );
    // The hold times are long compared with a local request, so the reads right after each change
    // fall inside them.
    let wait = Duration::from_millis(1600);
    let settled = Some(LoggingConfigurationState::Active);

    let arn = create_logging_configuration(&client).await;
    let creating = Some(LoggingConfigurationState::Creating);
    assert_eq!(logging_state(&client, &arn).await, creating);
    assert_eq!(listed_state(&client, &arn).await, creating);
    tokio::time::sleep(wait).await;
    assert_eq!(logging_state(&client, &arn).await, settled);
    assert_eq!(listed_state(&client, &arn).await, settled);

    let updated = client
        .update_logging_configuration()
        .identifier(&arn)
        .name("renamed")
        .send()
        .await
        .expect("UpdateLoggingConfiguration works");
    assert_eq!(updated.state().map(|s| s.as_str()), Some("ACTIVE"));
    let updating = Some(LoggingConfigurationState::Updating);
    assert_eq!(logging_state(&client, &arn).await, updating);
    tokio::time::sleep(wait).await;
    assert_eq!(logging_state(&client, &arn).await, settled);

    client
        .delete_logging_configuration()
        .identifier(&arn)
        .send()
        .await
        .expect("DeleteLoggingConfiguration works");
    let deleting = Some(LoggingConfigurationState::Deleting);
    assert_eq!(logging_state(&client, &arn).await, deleting);
    assert_eq!(listed_state(&client, &arn).await, deleting);
    let failure = client
        .delete_logging_configuration()
        .identifier(&arn)
        .send()
        .await
        .expect_err("a second delete does not find the configuration");
    assert!(
        failure
            .into_service_error()
            .is_resource_not_found_exception()
    );
    tokio::time::sleep(wait).await;
    assert_eq!(logging_state(&client, &arn).await, None);
    assert_eq!(listed_state(&client, &arn).await, None);
    emulator.stop().await;
}

#[tokio::test]
async fn zero_holds_settle_at_once() {
    let emulator = Emulator::start().await;
    let client = emulator.client();
    let arn = create_logging_configuration(&client).await;
    assert_eq!(
        logging_state(&client, &arn).await,
        Some(LoggingConfigurationState::Active)
    );
    client
        .delete_logging_configuration()
        .identifier(&arn)
        .send()
        .await
        .expect("DeleteLoggingConfiguration works");
    assert_eq!(logging_state(&client, &arn).await, None);
    emulator.stop().await;
}
