//! Plain models of IVS Chat resources, free of SDK types so the planning logic can be tested
//! without a client.

use std::collections::BTreeMap;

/// A message review handler as IVS stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// ARN of the Lambda function.
    pub uri: String,
    /// `ALLOW` or `DENY`.
    pub fallback_result: String,
}

/// An IVS Chat room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Room {
    pub arn: String,
    pub id: String,
    pub name: String,
    pub maximum_message_length: i32,
    pub maximum_message_rate_per_second: i32,
    /// `None` when the room has no handler.
    pub handler: Option<Handler>,
    pub logging_configuration_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// RFC 3339 timestamps as IVS reported them.
    pub create_time: Option<String>,
    pub update_time: Option<String>,
}

/// A room as ListRooms summarizes it: everything but the two message limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSummary {
    pub arn: String,
    pub name: String,
    pub handler: Option<Handler>,
    pub logging_configuration_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub update_time: Option<String>,
}

/// Destination of a logging configuration's chat logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    S3 { bucket_name: String },
    CloudWatchLogs { log_group_name: String },
    Firehose { delivery_stream_name: String },
}

/// An IVS Chat logging configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingConfiguration {
    pub arn: String,
    pub id: String,
    pub name: String,
    pub destination: Destination,
    /// State as IVS spells it, for example `ACTIVE` or `CREATING`.
    pub state: String,
    pub tags: BTreeMap<String, String>,
    pub create_time: Option<String>,
    pub update_time: Option<String>,
}

/// Reports whether `tags` contain every entry of `owner`, the operator's identity tags.
pub fn owner_tags_match(tags: &BTreeMap<String, String>, owner: &BTreeMap<String, String>) -> bool {
    owner
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}
