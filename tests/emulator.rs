//! Integration tests of the local IVS Chat service, driven by `aws-sdk-ivschat`, by raw HTTP
//! requests and by the AWS CLI.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aws_sdk_ivschat::Client;
use aws_sdk_ivschat::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ivschat::error::ProvideErrorMetadata;
use aws_sdk_ivschat::types::{
    DestinationConfiguration, FallbackResult, MessageReviewHandler, S3DestinationConfiguration,
    ValidationExceptionReason,
};
use aws_smithy_types::retry::RetryConfig;
use ivschat_operator::emulator::{Config, KeyPolicy, serve};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const KEY_ID: &str = "AKIDEMULATORTEST";
const SECRET: &str = "emulator/test+secret";
const ACCOUNT: &str = "123456789012";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:review";

/// An emulator running in this process.
struct Emulator {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Emulator {
    async fn start(config: Config) -> Emulator {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback port");
        let address = listener.local_addr().expect("bound address");
        let (sender, receiver) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async {
            let _ = receiver.await;
        }));
        Emulator {
            address,
            shutdown: Some(sender),
            task,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn client(&self) -> Client {
        self.client_with(KEY_ID, SECRET)
    }

    fn client_with(&self, key_id: &str, secret: &str) -> Client {
        let config = aws_sdk_ivschat::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(key_id, secret, None, None, "tests"))
            .endpoint_url(self.endpoint())
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
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

/// Settings for most tests: one key, rate limits off.
fn test_config() -> Config {
    let mut config = Config::with_key(KEY_ID, SECRET);
    config.rate_limits = false;
    config
}

async fn start() -> Emulator {
    Emulator::start(test_config()).await
}

fn s3(bucket: &str) -> DestinationConfiguration {
    DestinationConfiguration::S3(
        S3DestinationConfiguration::builder()
            .bucket_name(bucket)
            .build()
            .expect("bucket name set"),
    )
}

async fn create_logging_configuration(client: &Client, bucket: &str) -> String {
    let output = client
        .create_logging_configuration()
        .destination_configuration(s3(bucket))
        .send()
        .await
        .expect("CreateLoggingConfiguration succeeds");
    output.arn().expect("ARN present").to_string()
}

#[tokio::test]
async fn create_room_applies_defaults() {
    let emulator = start().await;
    let client = emulator.client();

    let created = client
        .create_room()
        .name("lobby")
        .send()
        .await
        .expect("CreateRoom succeeds");
    let id = created.id().expect("id present");
    assert_eq!(id.len(), 12);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        created.arn(),
        Some(format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:room/{id}").as_str())
    );
    assert_eq!(created.maximum_message_length(), Some(500));
    assert_eq!(created.maximum_message_rate_per_second(), Some(10));
    assert!(created.message_review_handler().is_none());
    assert!(created.logging_configuration_identifiers().is_empty());
    assert!(created.create_time().is_some());
    assert_eq!(created.create_time(), created.update_time());

    let fetched = client
        .get_room()
        .identifier(created.arn().expect("ARN present"))
        .send()
        .await
        .expect("GetRoom succeeds");
    assert_eq!(fetched.name(), Some("lobby"));
    assert_eq!(fetched.maximum_message_length(), Some(500));
    assert_eq!(fetched.create_time(), created.create_time());

    let with_handler = client
        .create_room()
        .message_review_handler(MessageReviewHandler::builder().uri(LAMBDA).build())
        .send()
        .await
        .expect("CreateRoom with handler succeeds");
    let handler = with_handler
        .message_review_handler()
        .expect("handler present");
    assert_eq!(handler.uri(), Some(LAMBDA));
    assert_eq!(handler.fallback_result(), Some(&FallbackResult::Allow));
    emulator.stop().await;
}

#[tokio::test]
async fn update_room_changes_only_sent_fields() {
    let emulator = start().await;
    let client = emulator.client();
    let created = client
        .create_room()
        .name("before")
        .maximum_message_rate_per_second(20)
        .message_review_handler(
            MessageReviewHandler::builder()
                .uri(LAMBDA)
                .fallback_result(FallbackResult::Deny)
                .build(),
        )
        .send()
        .await
        .expect("CreateRoom succeeds");
    let arn = created.arn().expect("ARN present");

    let updated = client
        .update_room()
        .identifier(arn)
        .maximum_message_length(100)
        .send()
        .await
        .expect("UpdateRoom succeeds");
    assert_eq!(updated.name(), Some("before"));
    assert_eq!(updated.maximum_message_length(), Some(100));
    assert_eq!(updated.maximum_message_rate_per_second(), Some(20));
    let handler = updated.message_review_handler().expect("handler kept");
    assert_eq!(handler.fallback_result(), Some(&FallbackResult::Deny));
    assert_eq!(updated.create_time(), created.create_time());
    assert!(updated.update_time() >= created.update_time());

    let cleared = client
        .update_room()
        .identifier(arn)
        .message_review_handler(MessageReviewHandler::builder().uri("").build())
        .send()
        .await
        .expect("UpdateRoom clearing the handler succeeds");
    assert!(cleared.message_review_handler().is_none());
    assert_eq!(cleared.maximum_message_length(), Some(100));
    let fetched = client
        .get_room()
        .identifier(arn)
        .send()
        .await
        .expect("GetRoom");
    assert!(fetched.message_review_handler().is_none());
    emulator.stop().await;
}

#[tokio::test]
async fn delete_room_then_get_is_not_found() {
    let emulator = start().await;
    let client = emulator.client();
    let created = client
        .create_room()
        .send()
        .await
        .expect("CreateRoom succeeds");
    let arn = created.arn().expect("ARN present");
    client
        .delete_room()
        .identifier(arn)
        .send()
        .await
        .expect("DeleteRoom succeeds");

    let error = client
        .get_room()
        .identifier(arn)
        .send()
        .await
        .expect_err("GetRoom of a deleted room fails");
    let status = error.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(404));
    assert!(error.into_service_error().is_resource_not_found_exception());

    let error = client
        .delete_room()
        .identifier(arn)
        .send()
        .await
        .expect_err("second DeleteRoom fails");
    assert!(error.into_service_error().is_resource_not_found_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn arns_of_other_accounts_are_not_found() {
    let emulator = start().await;
    let client = emulator.client();
    let created = client
        .create_room()
        .send()
        .await
        .expect("CreateRoom succeeds");
    let id = created.id().expect("id present");
    for arn in [
        format!("arn:aws:ivschat:eu-west-1:{ACCOUNT}:room/{id}"),
        format!("arn:aws:ivschat:us-east-1:999999999999:room/{id}"),
        format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:room/AAAAAAAAAAAA"),
    ] {
        let error = client
            .get_room()
            .identifier(&arn)
            .send()
            .await
            .expect_err("GetRoom of a foreign ARN fails");
        let service_error = error.into_service_error();
        assert!(service_error.is_resource_not_found_exception(), "{arn}");
    }
    emulator.stop().await;
}

#[tokio::test]
async fn validation_errors_list_fields() {
    let emulator = start().await;
    let client = emulator.client();

    let error = client
        .create_room()
        .maximum_message_length(501)
        .name("bad name")
        .send()
        .await
        .expect_err("invalid CreateRoom fails");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));
    let service_error = error.into_service_error();
    assert!(service_error.is_validation_exception());
    let aws_sdk_ivschat::operation::create_room::CreateRoomError::ValidationException(validation) =
        service_error
    else {
        panic!("expected ValidationException");
    };
    assert_eq!(
        validation.reason(),
        &ValidationExceptionReason::FieldValidationFailed
    );
    let names: Vec<&str> = validation.field_list().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["name", "maximumMessageLength"]);
    assert!(validation.field_list()[1].message().contains("500"));

    let error = client
        .get_room()
        .identifier("room-1")
        .send()
        .await
        .expect_err("GetRoom with a non-ARN identifier fails");
    assert!(error.into_service_error().is_validation_exception());

    let error = client
        .create_room()
        .tags("aws:reserved", "x")
        .send()
        .await
        .expect_err("reserved tag key fails");
    assert!(error.into_service_error().is_validation_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn list_rooms_pages_newest_first() {
    let emulator = start().await;
    let client = emulator.client();
    let mut arns = Vec::new();
    for index in 0..5 {
        let name = if index % 2 == 0 { "even" } else { "odd" };
        let room = client
            .create_room()
            .name(name)
            .send()
            .await
            .expect("CreateRoom");
        arns.push(room.arn().expect("ARN").to_string());
    }
    // Updating the oldest room makes it the newest.
    client
        .update_room()
        .identifier(&arns[0])
        .send()
        .await
        .expect("UpdateRoom");
    let expected = [&arns[0], &arns[4], &arns[3], &arns[2], &arns[1]];

    let first = client
        .list_rooms()
        .max_results(2)
        .send()
        .await
        .expect("ListRooms page 1");
    assert_eq!(first.rooms().len(), 2);
    let token = first.next_token().expect("token for page 2").to_string();
    // A room created between pages does not disturb the next page.
    client
        .create_room()
        .name("late")
        .send()
        .await
        .expect("CreateRoom");
    let second = client
        .list_rooms()
        .max_results(2)
        .next_token(&token)
        .send()
        .await
        .expect("ListRooms page 2");
    let third = client
        .list_rooms()
        .max_results(2)
        .next_token(second.next_token().expect("token for page 3"))
        .send()
        .await
        .expect("ListRooms page 3");
    assert_eq!(third.next_token(), None);
    let pages = [first.rooms(), second.rooms(), third.rooms()].concat();
    let listed: Vec<&str> = pages
        .iter()
        .map(|room| room.arn().unwrap_or_default())
        .collect();
    let expected: Vec<&str> = expected.iter().map(|arn| arn.as_str()).collect();
    assert_eq!(listed, expected);

    let odd = client
        .list_rooms()
        .name("odd")
        .send()
        .await
        .expect("ListRooms by name");
    assert_eq!(odd.rooms().len(), 2);
    assert!(odd.rooms().iter().all(|room| room.name() == Some("odd")));

    let error = client
        .list_rooms()
        .max_results(51)
        .send()
        .await
        .expect_err("maxResults 51 fails");
    assert!(error.into_service_error().is_validation_exception());
    let error = client
        .list_rooms()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("invalid token fails");
    assert!(error.into_service_error().is_validation_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn list_rooms_filters_by_handler_and_logging() {
    let emulator = start().await;
    let client = emulator.client();
    let logging = create_logging_configuration(&client, "chat-logs").await;
    let with_handler = client
        .create_room()
        .message_review_handler(MessageReviewHandler::builder().uri(LAMBDA).build())
        .send()
        .await
        .expect("CreateRoom with handler");
    let with_logging = client
        .create_room()
        .logging_configuration_identifiers(&logging)
        .send()
        .await
        .expect("CreateRoom with logging");
    client.create_room().send().await.expect("plain CreateRoom");

    let by_handler = client
        .list_rooms()
        .message_review_handler_uri(LAMBDA)
        .send()
        .await
        .expect("ListRooms by handler");
    let arns: Vec<&str> = by_handler
        .rooms()
        .iter()
        .map(|r| r.arn().unwrap_or_default())
        .collect();
    assert_eq!(arns, [with_handler.arn().expect("ARN")]);

    let by_logging = client
        .list_rooms()
        .logging_configuration_identifier(&logging)
        .send()
        .await
        .expect("ListRooms by logging configuration");
    let arns: Vec<&str> = by_logging
        .rooms()
        .iter()
        .map(|r| r.arn().unwrap_or_default())
        .collect();
    assert_eq!(arns, [with_logging.arn().expect("ARN")]);
    assert_eq!(
        by_logging.rooms()[0].logging_configuration_identifiers(),
        [logging.as_str()]
    );
    emulator.stop().await;
}

#[tokio::test]
async fn logging_configuration_lifecycle() {
    let emulator = start().await;
    let client = emulator.client();
    let created = client
        .create_logging_configuration()
        .name("logs")
        .destination_configuration(s3("chat-logs"))
        .tags("team", "chat")
        .send()
        .await
        .expect("CreateLoggingConfiguration succeeds");
    let arn = created.arn().expect("ARN present");
    assert!(arn.starts_with(&format!(
        "arn:aws:ivschat:us-east-1:{ACCOUNT}:logging-configuration/"
    )));
    assert_eq!(created.state().map(|s| s.as_str()), Some("ACTIVE"));

    let updated = client
        .update_logging_configuration()
        .identifier(arn)
        .destination_configuration(DestinationConfiguration::CloudWatchLogs(
            aws_sdk_ivschat::types::CloudWatchLogsDestinationConfiguration::builder()
                .log_group_name("/chat/logs")
                .build()
                .expect("log group set"),
        ))
        .send()
        .await
        .expect("UpdateLoggingConfiguration succeeds");
    assert_eq!(updated.name(), Some("logs"));
    assert!(matches!(
        updated.destination_configuration(),
        Some(DestinationConfiguration::CloudWatchLogs(_))
    ));

    let fetched = client
        .get_logging_configuration()
        .identifier(arn)
        .send()
        .await
        .expect("GetLoggingConfiguration succeeds");
    assert_eq!(
        fetched
            .tags()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("chat")
    );
    assert_eq!(fetched.state().map(|s| s.as_str()), Some("ACTIVE"));

    let listed = client
        .list_logging_configurations()
        .send()
        .await
        .expect("ListLoggingConfigurations succeeds");
    assert_eq!(listed.logging_configurations().len(), 1);

    client
        .delete_logging_configuration()
        .identifier(arn)
        .send()
        .await
        .expect("DeleteLoggingConfiguration succeeds");
    let error = client
        .get_logging_configuration()
        .identifier(arn)
        .send()
        .await
        .expect_err("deleted configuration is gone");
    assert!(error.into_service_error().is_resource_not_found_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn attached_logging_configuration_cannot_be_deleted() {
    let emulator = start().await;
    let client = emulator.client();
    let first = create_logging_configuration(&client, "logs-a").await;
    let second = create_logging_configuration(&client, "logs-b").await;
    let room = client
        .create_room()
        .logging_configuration_identifiers(&second)
        .logging_configuration_identifiers(&first)
        .send()
        .await
        .expect("CreateRoom with logging configurations");
    assert_eq!(
        room.logging_configuration_identifiers(),
        [second.as_str(), first.as_str()]
    );
    let room_arn = room.arn().expect("ARN");

    let error = client
        .delete_logging_configuration()
        .identifier(&first)
        .send()
        .await
        .expect_err("delete while attached fails");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(409));
    assert!(error.into_service_error().is_conflict_exception());

    let detached = client
        .update_room()
        .identifier(room_arn)
        .set_logging_configuration_identifiers(Some(Vec::new()))
        .send()
        .await
        .expect("UpdateRoom with an empty list");
    assert!(detached.logging_configuration_identifiers().is_empty());
    client
        .delete_logging_configuration()
        .identifier(&first)
        .send()
        .await
        .expect("delete after detaching succeeds");

    let error = client
        .update_room()
        .identifier(room_arn)
        .logging_configuration_identifiers(&first)
        .send()
        .await
        .expect_err("attaching a deleted configuration fails");
    assert!(error.into_service_error().is_resource_not_found_exception());

    let error = client
        .update_room()
        .identifier(room_arn)
        .logging_configuration_identifiers(&second)
        .logging_configuration_identifiers(&second)
        .send()
        .await
        .expect_err("duplicate identifiers fail");
    assert!(error.into_service_error().is_validation_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn logging_configuration_quota_is_ten() {
    let emulator = start().await;
    let client = emulator.client();
    for index in 0..10 {
        create_logging_configuration(&client, &format!("bucket-{index}")).await;
    }
    let error = client
        .create_logging_configuration()
        .destination_configuration(s3("bucket-10"))
        .send()
        .await
        .expect_err("eleventh configuration fails");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(402));
    let service_error = error.into_service_error();
    assert!(service_error.is_service_quota_exceeded_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn tags_work_on_rooms_and_logging_configurations() {
    let emulator = start().await;
    let client = emulator.client();
    let room = client
        .create_room()
        .tags("keep", "1")
        .send()
        .await
        .expect("CreateRoom");
    let room_arn = room.arn().expect("ARN").to_string();
    let logging_arn = create_logging_configuration(&client, "tagged-logs").await;

    for arn in [&room_arn, &logging_arn] {
        client
            .tag_resource()
            .resource_arn(arn)
            .tags("team:name", "chat ops")
            .tags("drop", "x")
            .send()
            .await
            .expect("TagResource succeeds");
        client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("drop")
            .tag_keys("absent")
            .send()
            .await
            .expect("UntagResource succeeds");
        let listed = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource succeeds");
        let tags = listed.tags();
        assert_eq!(
            tags.get("team:name").map(String::as_str),
            Some("chat ops"),
            "{arn}"
        );
        assert!(!tags.contains_key("drop"), "{arn}");
    }
    let room_tags = client
        .list_tags_for_resource()
        .resource_arn(&room_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(room_tags.tags().len(), 2);

    let missing = format!("arn:aws:ivschat:us-east-1:{ACCOUNT}:room/AAAAAAAAAAAA");
    let error = client
        .list_tags_for_resource()
        .resource_arn(&missing)
        .send()
        .await
        .expect_err("tags of a missing room");
    assert!(error.into_service_error().is_resource_not_found_exception());

    let error = client
        .tag_resource()
        .resource_arn(&room_arn)
        .tags("aws:owner", "x")
        .send()
        .await
        .expect_err("reserved tag key fails");
    assert!(error.into_service_error().is_validation_exception());
    emulator.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_invalid_signature() {
    let emulator = start().await;
    let error = emulator
        .client_with(KEY_ID, "wrong-secret")
        .list_rooms()
        .send()
        .await
        .expect_err("wrong secret fails");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(error.code(), Some("InvalidSignatureException"));
    emulator.stop().await;
}

#[tokio::test]
async fn unknown_access_key_is_unrecognized() {
    let emulator = start().await;
    let error = emulator
        .client_with("AKIDUNKNOWN", SECRET)
        .create_room()
        .send()
        .await
        .expect_err("unknown key fails");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
    emulator.stop().await;
}

#[tokio::test]
async fn state_file_survives_restart() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let state_file = directory.path().join("state.json");
    let mut config = test_config();
    config.state_file = Some(state_file.clone());

    let emulator = Emulator::start(config.clone()).await;
    let client = emulator.client();
    let logging = create_logging_configuration(&client, "durable-logs").await;
    let room = client
        .create_room()
        .name("durable")
        .logging_configuration_identifiers(&logging)
        .tags("k", "v")
        .send()
        .await
        .expect("CreateRoom");
    let room_arn = room.arn().expect("ARN").to_string();
    emulator.stop().await;
    assert!(state_file.exists());

    let emulator = Emulator::start(config).await;
    let fetched = emulator
        .client()
        .get_room()
        .identifier(&room_arn)
        .send()
        .await
        .expect("room survives restart");
    assert_eq!(fetched.name(), Some("durable"));
    assert_eq!(
        fetched.logging_configuration_identifiers(),
        [logging.as_str()]
    );
    assert_eq!(fetched.create_time(), room.create_time());
    assert_eq!(
        fetched.tags().and_then(|t| t.get("k")).map(String::as_str),
        Some("v")
    );
    emulator.stop().await;
}

#[tokio::test]
async fn rate_limit_throttles_sixth_call() {
    let emulator = Emulator::start(Config::with_key(KEY_ID, SECRET)).await;
    let client = emulator.client();
    let mut throttled = None;
    for attempt in 1..=10 {
        if let Err(error) = client.list_rooms().send().await {
            throttled = Some((attempt, error));
            break;
        }
    }
    let (attempt, error) = throttled.expect("ListRooms is throttled within 10 calls");
    assert!(
        attempt >= 6,
        "throttled at call {attempt}, before the limit of 5"
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert_eq!(error.code(), Some("ThrottlingException"));
    emulator.stop().await;
}

#[tokio::test]
async fn messaging_operations_check_the_room() {
    let emulator = start().await;
    let client = emulator.client();
    let room = client.create_room().send().await.expect("CreateRoom");
    let arn = room.arn().expect("ARN");
    let token = client
        .create_chat_token()
        .room_identifier(arn)
        .user_id("user-1")
        .send()
        .await
        .expect("CreateChatToken succeeds");
    assert!(token.token().is_some_and(|t| !t.is_empty()));
    assert!(token.session_expiration_time() > token.token_expiration_time());
    let event = client
        .send_event()
        .room_identifier(arn)
        .event_name("app:ping")
        .send()
        .await
        .expect("SendEvent succeeds");
    assert_eq!(event.id().map(str::len), Some(12));

    let error = client
        .create_chat_token()
        .room_identifier(format!(
            "arn:aws:ivschat:us-east-1:{ACCOUNT}:room/AAAAAAAAAAAA"
        ))
        .user_id("user-1")
        .send()
        .await
        .expect_err("token for a missing room fails");
    assert!(error.into_service_error().is_resource_not_found_exception());
    emulator.stop().await;
}

/// Sends one raw HTTP/1.1 request and returns status, headers and the JSON body.
async fn raw_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nx-amz-date: {date}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(authorization) = authorization {
        let authorization = authorization.replace("DATE", &date[..8]);
        request.push_str(&format!("authorization: {authorization}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);

    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response within 10 s")
        .expect("read response");

    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), json)
}

const ANY_KEY_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=ANYKEY/DATE/us-east-1/ivschat/aws4_request, \
    SignedHeaders=host;x-amz-date, Signature=00";

#[tokio::test]
async fn raw_requests_get_protocol_errors() {
    let mut config = test_config();
    config.key_policy = KeyPolicy::AcceptAny;
    let emulator = Emulator::start(config).await;
    let address = emulator.address;

    let (status, head, body) = raw_request(address, "POST", "/ListRooms", None, "{}").await;
    assert_eq!(status, 403);
    assert!(head.contains("x-amzn-errortype: missingauthenticationtokenexception"));
    assert_eq!(body["message"], "Missing Authentication Token");

    let auth = Some(ANY_KEY_AUTHORIZATION);
    let (status, head, body) = raw_request(address, "POST", "/ListRooms", auth, "{").await;
    assert_eq!(status, 400);
    assert!(head.contains("x-amzn-errortype: validationexception"));
    assert_eq!(body["reason"], "OTHER");

    let (status, _, body) = raw_request(address, "POST", "/CreateChannel", auth, "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "UNKNOWN_OPERATION");

    let (status, _, body) = raw_request(
        address,
        "POST",
        "/CreateRoom",
        auth,
        r#"{"maximumMessageLength":"5"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "FIELD_VALIDATION_FAILED");
    assert_eq!(body["fieldList"][0]["name"], "maximumMessageLength");

    let (status, _, body) = raw_request(address, "POST", "/ListRooms", auth, "").await;
    assert_eq!(status, 200);
    assert!(body["rooms"].is_array());

    let (status, _, body) = raw_request(
        address,
        "POST",
        "/GetRoom",
        auth,
        r#"{"identifier":"arn:aws:ivschat:us-east-1:123456789012:room/AAAAAAAAAAAA"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["resourceId"], "AAAAAAAAAAAA");
    assert_eq!(body["resourceType"], "ROOM");
    emulator.stop().await;
}

/// Runs `aws ivschat <args>` against the emulator with static credentials only, and returns
/// the exit status, stdout and stderr.
async fn aws_cli(
    emulator: &Emulator,
    config_directory: &Path,
    args: &[&str],
) -> (bool, String, String) {
    let config_file = config_directory.join("config");
    let credentials_file = config_directory.join("credentials");
    std::fs::write(&config_file, "").expect("write empty AWS config");
    std::fs::write(&credentials_file, "").expect("write empty AWS credentials");
    let output = tokio::process::Command::new("aws")
        .arg("ivschat")
        .args(args)
        .args(["--endpoint-url", &emulator.endpoint(), "--output", "json"])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_SECURITY_TOKEN")
        .env_remove("AWS_ROLE_ARN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", &config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials_file)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("aws finishes within 60 s")
        .expect("the `aws` command (AWS CLI) must be installed and on PATH");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test]
async fn aws_cli_manages_rooms_and_tags() {
    let emulator = start().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let dir = directory.path();

    let (ok, stdout, stderr) = aws_cli(
        &emulator,
        dir,
        &[
            "create-room",
            "--name",
            "cli-room",
            "--maximum-message-length",
            "42",
        ],
    )
    .await;
    assert!(ok, "create-room failed: {stderr}");
    let room: Value = serde_json::from_str(&stdout).expect("create-room prints JSON");
    assert_eq!(room["maximumMessageLength"], 42);
    let arn = room["arn"].as_str().expect("ARN in output").to_string();

    let (ok, _, stderr) = aws_cli(
        &emulator,
        dir,
        &[
            "tag-resource",
            "--resource-arn",
            &arn,
            "--tags",
            "env=dev,a:b=c",
        ],
    )
    .await;
    assert!(ok, "tag-resource failed: {stderr}");
    let (ok, _, stderr) = aws_cli(
        &emulator,
        dir,
        &[
            "untag-resource",
            "--resource-arn",
            &arn,
            "--tag-keys",
            "env",
        ],
    )
    .await;
    assert!(ok, "untag-resource failed: {stderr}");
    let (ok, stdout, stderr) = aws_cli(
        &emulator,
        dir,
        &["list-tags-for-resource", "--resource-arn", &arn],
    )
    .await;
    assert!(ok, "list-tags-for-resource failed: {stderr}");
    let tags: Value = serde_json::from_str(&stdout).expect("list-tags prints JSON");
    assert_eq!(tags["tags"], serde_json::json!({ "a:b": "c" }));

    let (ok, stdout, stderr) = aws_cli(&emulator, dir, &["get-room", "--identifier", &arn]).await;
    assert!(ok, "get-room failed: {stderr}");
    let fetched: Value = serde_json::from_str(&stdout).expect("get-room prints JSON");
    assert_eq!(fetched["name"], "cli-room");

    let (ok, _, stderr) = aws_cli(
        &emulator,
        dir,
        &["create-room", "--maximum-message-length", "501"],
    )
    .await;
    assert!(!ok, "create-room with length 501 should fail");
    assert!(stderr.contains("ValidationException"), "stderr: {stderr}");

    let (ok, _, stderr) = aws_cli(&emulator, dir, &["delete-room", "--identifier", &arn]).await;
    assert!(ok, "delete-room failed: {stderr}");
    emulator.stop().await;
}
