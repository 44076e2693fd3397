//! The `status` command: ChatRoom objects with their conditions, next to what IVS Chat
//! returns for each room's ARN.

use std::collections::BTreeMap;

use serde::Serialize;

use super::aws::IvsClients;
use super::commands::timestamp;
use super::error::{PluginError, ivs_error};
use super::resolve::{Cluster, condition};
use crate::crd::ChatRoom;

/// One room as Kubernetes and IVS Chat see it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomReport {
    pub namespace: String,
    pub name: String,
    pub arn: Option<String>,
    pub ready: Option<ConditionReport>,
    pub synced: Option<ConditionReport>,
    pub kubernetes: KubernetesView,
    /// The room as GetRoom returns it, or `None` when the room has no ARN or the call failed.
    pub ivs: Option<IvsView>,
    /// Error of the GetRoom call, when the room has an ARN but `ivs` is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ivs_error: Option<String>,
}

/// The parts of a condition that `status` shows.
#[derive(Debug, Serialize)]
pub struct ConditionReport {
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// Room settings as the ChatRoom reports them: the values in effect from its status, and
/// the tags from its spec, since status carries no tags.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesView {
    pub name: Option<String>,
    pub maximum_message_length: Option<i32>,
    pub maximum_message_rate_per_second: Option<i32>,
    pub logging_configuration_arns: Vec<String>,
    pub message_review_handler: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// Room settings as GetRoom returns them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IvsView {
    pub name: String,
    pub maximum_message_length: i32,
    pub maximum_message_rate_per_second: i32,
    pub logging_configuration_arns: Vec<String>,
    /// `<uri> (<fallback result>)`, or `None` when the room has no handler.
    pub message_review_handler: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub create_time: Option<String>,
    pub update_time: Option<String>,
}

/// Reports on room `name`, or on every room in the namespace when `name` is `None`.
///
/// IVS failures for one room go into that room's report instead of ending the command.
/// NOTE: GetRoom calls go one at a time, and IVS allows 5 per second, so a namespace with
/// many rooms takes at least one second per 5 rooms.
pub async fn collect(
    cluster: &Cluster,
    ivs: &mut IvsClients,
    name: Option<&str>,
) -> Result<Vec<RoomReport>, PluginError> {
    let rooms = match name {
        Some(name) => vec![cluster.get_room(name).await?],
        None => cluster.list_rooms().await?,
    };
    let mut reports = Vec::with_capacity(rooms.len());
    for room in &rooms {
        reports.push(report(room, ivs).await);
    }
    Ok(reports)
}

async fn report(room: &ChatRoom, ivs: &mut IvsClients) -> RoomReport {
    let status = room.status.clone().unwrap_or_default();
    let arn = status.arn.clone().filter(|arn| !arn.is_empty());
    let (live, ivs_error) = match &arn {
        Some(arn) => match get_room(ivs, arn).await {
            Ok(view) => (Some(view), None),
            Err(error) => (None, Some(error.to_string())),
        },
        None => (None, None),
    };
    let handler = room.spec.message_review_handler.as_ref().map(|handler| {
        let fallback = handler.fallback_result.unwrap_or_default();
        format!("{} ({})", handler.uri, fallback.as_str())
    });
    RoomReport {
        namespace: room.metadata.namespace.clone().unwrap_or_default(),
        name: room.metadata.name.clone().unwrap_or_default(),
        arn,
        ready: condition_report(room, "Ready"),
        synced: condition_report(room, "Synced"),
        kubernetes: KubernetesView {
            name: status.name,
            maximum_message_length: status.maximum_message_length,
            maximum_message_rate_per_second: status.maximum_message_rate_per_second,
            logging_configuration_arns: status.logging_configuration_arns,
            message_review_handler: handler,
            tags: room.spec.tags.clone(),
        },
        ivs: live,
        ivs_error,
    }
}

fn condition_report(room: &ChatRoom, type_: &str) -> Option<ConditionReport> {
    condition(room, type_).map(|condition| ConditionReport {
        status: condition.status.clone(),
        reason: condition.reason.clone(),
        message: condition.message.clone(),
    })
}

async fn get_room(ivs: &mut IvsClients, arn: &str) -> Result<IvsView, PluginError> {
    let client = ivs.for_arn(arn)?;
    let output = client
        .get_room()
        .identifier(arn)
        .send()
        .await
        .map_err(|error| ivs_error("GetRoom", arn, ivs.endpoint_url(), error))?;
    let handler = output.message_review_handler.as_ref().and_then(|handler| {
        let uri = handler.uri.as_deref().filter(|uri| !uri.is_empty())?;
        let fallback = handler
            .fallback_result
            .as_ref()
            .map_or("ALLOW", |fallback| fallback.as_str());
        Some(format!("{uri} ({fallback})"))
    });
    Ok(IvsView {
        name: output.name.unwrap_or_default(),
        maximum_message_length: output.maximum_message_length.unwrap_or_default(),
        maximum_message_rate_per_second: output.maximum_message_rate_per_second.unwrap_or_default(),
        logging_configuration_arns: output.logging_configuration_identifiers.unwrap_or_default(),
        message_review_handler: handler,
        tags: output.tags.unwrap_or_default().into_iter().collect(),
        create_time: output.create_time.as_ref().map(timestamp),
        update_time: output.update_time.as_ref().map(timestamp),
    })
}
