//! The `ChatLoggingConfiguration` kind: one IVS Chat logging configuration.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy::{Adoption, DeletionPolicy, ManagementPolicy, PublishTarget};

/// Desired state of an IVS Chat logging configuration.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ivschat.operators.dev",
    version = "v1alpha1",
    kind = "ChatLoggingConfiguration",
    plural = "chatloggingconfigurations",
    shortname = "chatloggingconfig",
    category = "ivschat",
    namespaced,
    status = "ChatLoggingConfigurationStatus",
    doc = "An Amazon IVS Chat logging configuration, created, updated and deleted to match this object.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"IVS Name","type":"string","jsonPath":".status.name","priority":1}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.arn"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.managementPolicy) || self.managementPolicy != 'ObserveOnly' || has(self.adopt)",
        "message": "managementPolicy ObserveOnly needs adopt.arn to name the logging configuration to observe"
    },
    {
        "rule": "!has(self.adopt) || self.adopt.arn.contains(':logging-configuration/')",
        "message": "adopt.arn must be the ARN of an IVS Chat logging configuration"
    }
]))]
pub struct ChatLoggingConfigurationSpec {
    /// Logging configuration name in IVS: up to 128 letters, digits, hyphens and underscores.
    /// When unset, the operator uses `<namespace>-<name>` of this object, with dots turned
    /// into hyphens and cut to 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = r"^[a-zA-Z0-9_-]*$"))]
    pub name: Option<String>,

    /// Destination of chat logs: exactly one of `s3`, `cloudWatchLogs` or `firehose`.
    pub destination_configuration: DestinationConfiguration,

    /// AWS region of the IVS resource; defaults to the operator's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
    )]
    pub region: Option<String>,

    /// `Delete` removes the IVS logging configuration when this object is deleted, `Retain` keeps it. When
    /// unset, the operator's default applies (`Delete` unless configured otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// `Manage` (the default) makes IVS match the spec; `ObserveOnly` mirrors the IVS logging configuration
    /// named by `adopt.arn` in status and never writes to IVS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,

    /// An existing IVS logging configuration to take over instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adoption>,

    /// ConfigMap that receives this logging configuration's ARN and id, for workloads to read as
    /// environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_to: Option<PublishTarget>,

    /// Tags on the IVS logging configuration: at most 46 (IVS allows 50 and the operator adds
    /// 4 of its own under the `ivschat.operators.dev/` prefix), keys of 1 to 128 characters
    /// that do not start with `aws:`, values of at most 256 characters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "super::schema::tags")]
    pub tags: BTreeMap<String, String>,
}

/// Destination of chat logs: exactly one of the three members.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "[has(self.s3), has(self.cloudWatchLogs), has(self.firehose)].filter(x, x).size() == 1",
    "message": "set exactly one of s3, cloudWatchLogs or firehose"
}]))]
pub struct DestinationConfiguration {
    /// Amazon S3 bucket that receives the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Destination>,

    /// Amazon CloudWatch Logs log group that receives the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs: Option<CloudWatchLogsDestination>,

    /// Amazon Data Firehose delivery stream that receives the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firehose: Option<FirehoseDestination>,
}

/// An Amazon S3 destination.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    /// Bucket name: 3 to 63 lower-case letters, digits, dots and hyphens.
    #[schemars(length(min = 3, max = 63), regex(pattern = r"^[a-z0-9.-]+$"))]
    pub bucket_name: String,
}

/// An Amazon CloudWatch Logs destination.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchLogsDestination {
    /// Log group name: 1 to 512 letters, digits and the characters `.-_/#`.
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^[.\-_/#A-Za-z0-9]+$"))]
    pub log_group_name: String,
}

/// An Amazon Data Firehose destination.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseDestination {
    /// Delivery stream name: 1 to 64 letters, digits and the characters `_.-`.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_.-]+$"))]
    pub delivery_stream_name: String,
}

/// Observed state of an IVS Chat logging configuration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatLoggingConfigurationStatus {
    /// ARN of the IVS logging configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,

    /// Id of the IVS logging configuration, the last part of its ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,

    /// Logging configuration name in IVS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// State IVS reports: `CREATING`, `CREATE_FAILED`, `ACTIVE`, `UPDATING`, `UPDATE_FAILED`,
    /// `DELETING` or `DELETE_FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,

    /// When IVS created the logging configuration (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,

    /// When IVS last updated the logging configuration (RFC 3339).
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

    /// `Ready` (the logging configuration exists, is ACTIVE and matches the spec) and `Synced`
    /// (the last reconcile succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
