//! Stored resources and their JSON representations in responses.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Default `maximumMessageLength` of a new room.
pub const DEFAULT_MAX_MESSAGE_LENGTH: i64 = 500;
/// Default `maximumMessageRatePerSecond` of a new room.
pub const DEFAULT_MAX_MESSAGE_RATE: i64 = 10;

/// A room's message review handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageReviewHandler {
    /// Lambda function ARN, never empty because an empty URI means "no handler".
    pub uri: String,
    /// `ALLOW` or `DENY`.
    pub fallback_result: String,
}

/// A chat room.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    /// 12-character id.
    pub id: String,
    /// Room ARN.
    pub arn: String,
    /// Name, possibly empty.
    pub name: String,
    /// Creation time.
    pub create_time: DateTime<Utc>,
    /// Time of the last create or update.
    pub update_time: DateTime<Utc>,
    /// Store-wide sequence number of the last create or update, which breaks ties in `update_time`.
    pub update_sequence: u64,
    /// Maximum message length in code points.
    pub maximum_message_length: i64,
    /// Maximum messages per second.
    pub maximum_message_rate_per_second: i64,
    /// Message review handler, if any.
    pub message_review_handler: Option<MessageReviewHandler>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Attached logging-configuration ARNs, in the order the client sent them.
    pub logging_configuration_identifiers: Vec<String>,
}

/// The single destination of a logging configuration's chat logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Destination {
    /// An S3 bucket.
    S3 {
        /// Bucket name.
        bucket_name: String,
    },
    /// A CloudWatch Logs log group.
    CloudWatchLogs {
        /// Log group name.
        log_group_name: String,
    },
    /// A Kinesis Data Firehose delivery stream.
    Firehose {
        /// Delivery stream name.
        delivery_stream_name: String,
    },
}

/// A logging configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingConfiguration {
    /// 12-character id.
    pub id: String,
    /// Logging-configuration ARN.
    pub arn: String,
    /// Name, possibly empty.
    pub name: String,
    /// Creation time.
    pub create_time: DateTime<Utc>,
    /// Time of the last create or update.
    pub update_time: DateTime<Utc>,
    /// Store-wide sequence number of the last create or update, which breaks ties in `update_time`.
    pub update_sequence: u64,
    /// Destination.
    pub destination: Destination,
    /// State, always `ACTIVE` because the emulator applies changes at once.
    pub state: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Formats a timestamp the way the SDKs parse the model's `iso8601` format: RFC 3339 in UTC
/// with a `Z` suffix and millisecond precision.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn handler_json(handler: &Option<MessageReviewHandler>) -> Option<Value> {
    handler
        .as_ref()
        .map(|h| json!({ "uri": h.uri, "fallbackResult": h.fallback_result }))
}

impl Room {
    /// Builds the full representation returned by CreateRoom, GetRoom and UpdateRoom.
    pub fn to_json(&self) -> Value {
        let mut value = self.summary_json();
        value["maximumMessageLength"] = json!(self.maximum_message_length);
        value["maximumMessageRatePerSecond"] = json!(self.maximum_message_rate_per_second);
        value
    }

    /// Builds the `RoomSummary` returned by ListRooms, which leaves out the message limits.
    pub fn summary_json(&self) -> Value {
        let mut value = json!({
            "arn": self.arn,
            "id": self.id,
            "name": self.name,
            "createTime": format_time(&self.create_time),
            "updateTime": format_time(&self.update_time),
            "tags": self.tags,
            "loggingConfigurationIdentifiers": self.logging_configuration_identifiers,
        });
        if let Some(handler) = handler_json(&self.message_review_handler) {
            value["messageReviewHandler"] = handler;
        }
        value
    }
}

impl Destination {
    /// Builds the `DestinationConfiguration` union as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Destination::S3 { bucket_name } => json!({ "s3": { "bucketName": bucket_name } }),
            Destination::CloudWatchLogs { log_group_name } => {
                json!({ "cloudWatchLogs": { "logGroupName": log_group_name } })
            }
            Destination::Firehose {
                delivery_stream_name,
            } => json!({ "firehose": { "deliveryStreamName": delivery_stream_name } }),
        }
    }
}

impl LoggingConfiguration {
    /// Builds the representation returned by every logging-configuration operation, including the
    /// `LoggingConfigurationSummary` of ListLoggingConfigurations, which has the same members.
    pub fn to_json(&self) -> Value {
        json!({
            "arn": self.arn,
            "id": self.id,
            "name": self.name,
            "createTime": format_time(&self.create_time),
            "updateTime": format_time(&self.update_time),
            "destinationConfiguration": self.destination.to_json(),
            "state": self.state,
            "tags": self.tags,
        })
    }
}
