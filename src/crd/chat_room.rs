//! The `ChatRoom` kind: one IVS Chat room.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy::{Adoption, DeletionPolicy, ManagementPolicy, PublishTarget};

/// Desired state of an IVS Chat room.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ivschat.operators.dev",
    version = "v1alpha1",
    kind = "ChatRoom",
    plural = "chatrooms",
    shortname = "chatroom",
    category = "ivschat",
    namespaced,
    status = "ChatRoomStatus",
    doc = "An Amazon IVS Chat room, created, updated and deleted to match this object.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"IVS Name","type":"string","jsonPath":".status.name","priority":1}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.arn"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.managementPolicy) || self.managementPolicy != 'ObserveOnly' || has(self.adopt)",
        "message": "managementPolicy ObserveOnly needs adopt.arn to name the room to observe"
    },
    {
        "rule": "!has(self.adopt) || self.adopt.arn.contains(':room/')",
        "message": "adopt.arn must be the ARN of an IVS Chat room"
    }
]))]
pub struct ChatRoomSpec {
    /// Room name in IVS: up to 128 letters, digits, hyphens and underscores. Names need not be
    /// unique. When unset, the operator uses `<namespace>-<name>` of this object, with dots
    /// turned into hyphens and cut to 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = r"^[a-zA-Z0-9_-]*$"))]
    pub name: Option<String>,

    /// Maximum number of characters in a single message, from 1 to 500. Messages are counted
    /// in Unicode code points. When unset, IVS uses 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 500))]
    pub maximum_message_length: Option<i32>,

    /// Maximum number of messages per second that can be sent to the room by all clients,
    /// from 1 to 100. When unset, IVS uses 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub maximum_message_rate_per_second: Option<i32>,

    /// Lambda function that reviews each message before delivery. When unset, the room has
    /// no handler, and removing this field removes the handler from the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_review_handler: Option<MessageReviewHandler>,

    /// Logging configurations that receive the room's messages and events, at most 3. Each
    /// entry names a `ChatLoggingConfiguration` in this namespace or gives the ARN of an IVS
    /// logging configuration directly. The order carries no meaning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 3),
        extend("x-kubernetes-validations" = [{
            "rule": "self.all(x, self.exists_one(y, y == x))",
            "message": "each logging configuration may be listed once"
        }])
    )]
    pub logging_configurations: Vec<LoggingConfigurationReference>,

    /// AWS region of the IVS resource; defaults to the operator's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
    )]
    pub region: Option<String>,

    /// `Delete` removes the IVS room when this object is deleted, `Retain` keeps it. When
    /// unset, the operator's default applies (`Delete` unless configured otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// `Manage` (the default) makes IVS match the spec; `ObserveOnly` mirrors the IVS room
    /// named by `adopt.arn` in status and never writes to IVS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,

    /// An existing IVS room to take over instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adoption>,

    /// ConfigMap that receives this room's ARN and id, for workloads to read as
    /// environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_to: Option<PublishTarget>,

    /// Tags on the IVS room: at most 46 (IVS allows 50 and the operator adds 4 of its own
    /// under the `ivschat.operators.dev/` prefix to find the rooms it created), keys of 1 to
    /// 128 characters that do not start with `aws:`, values of at most 256 characters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "super::schema::tags")]
    pub tags: BTreeMap<String, String>,
}

/// Lambda function that reviews messages sent to a room.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageReviewHandler {
    /// ARN of the Lambda function, `arn:aws:lambda:<region>:<account>:function:<name>`, at
    /// most 170 characters.
    #[schemars(
        length(min = 1, max = 170),
        regex(pattern = r"^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+$")
    )]
    pub uri: String,

    /// Outcome for a message when the handler fails, times out or returns an invalid
    /// response: `ALLOW` (the default) delivers it, `DENY` drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_result: Option<FallbackResult>,
}

/// Outcome for a message when the review handler returns no valid result.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FallbackResult {
    /// Deliver the message.
    #[default]
    Allow,
    /// Drop the message.
    Deny,
}

impl FallbackResult {
    /// Returns the IVS spelling of this value.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackResult::Allow => "ALLOW",
            FallbackResult::Deny => "DENY",
        }
    }
}

/// A logging configuration attached to a room, given by exactly one of `name` or `arn`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.name) != has(self.arn)",
    "message": "set exactly one of name or arn"
}]))]
pub struct LoggingConfigurationReference {
    /// Name of a `ChatLoggingConfiguration` in the room's namespace. The room waits until
    /// that object is Ready and uses the ARN in its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,

    /// ARN of an IVS Chat logging configuration managed elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 128),
        regex(
            pattern = r"^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:logging-configuration/[a-zA-Z0-9-]+$"
        )
    )]
    pub arn: Option<String>,
}

/// Observed state of an IVS Chat room.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatRoomStatus {
    /// ARN of the IVS room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,

    /// Id of the IVS room, the last part of its ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,

    /// Room name in IVS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// Maximum message length in effect, IVS defaults included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_message_length: Option<i32>,

    /// Maximum message rate in effect, IVS defaults included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_message_rate_per_second: Option<i32>,

    /// ARNs of the logging configurations attached in IVS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logging_configuration_arns: Vec<String>,

    /// When IVS created the room (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,

    /// When IVS last updated the room (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,

    /// ConfigMap that contains the published ARN and id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_config_map: Option<String>,

    /// When the operator last asked IVS to create the resource (RFC 3339). Until IVS shows
    /// the resource or 30 seconds pass, the operator does not create another; cleared once
    /// IVS shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_attempt_time: Option<String>,

    /// Last value of the `ivschat.operators.dev/reconcile-requested-at` annotation that a
    /// reconcile handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Generation of the spec that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready` (the room exists and matches the spec) and `Synced` (the last reconcile
    /// succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
