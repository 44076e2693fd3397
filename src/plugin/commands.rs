//! The messaging commands: CreateChatToken, SendEvent, DeleteMessage and DisconnectUser on
//! the room of a Ready ChatRoom object.

use std::collections::HashMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::args::{DeleteMessageArgs, DisconnectArgs, SendEventArgs, TokenArgs};
use super::aws::IvsClients;
use super::error::{PluginError, ivs_error};
use super::output::{ChatToken, DeletedMessage, Disconnected, SentEvent};
use super::resolve::{Cluster, ready_arn};

/// A Ready room: its object name and the ARN of its IVS room.
struct ReadyRoom {
    name: String,
    arn: String,
}

async fn ready_room(cluster: &Cluster, name: &str) -> Result<ReadyRoom, PluginError> {
    let room = cluster.get_room(name).await?;
    Ok(ReadyRoom {
        name: name.to_string(),
        arn: ready_arn(&room)?,
    })
}

/// Creates a chat token for `args.user`.
pub async fn token(
    cluster: &Cluster,
    ivs: &mut IvsClients,
    args: &TokenArgs,
) -> Result<ChatToken, PluginError> {
    let attributes = attribute_map(&args.attributes)?;
    let room = ready_room(cluster, &args.room).await?;
    let client = ivs.for_arn(&room.arn)?;
    let capabilities = args
        .capabilities
        .iter()
        .map(|capability| capability.as_str().into())
        .collect();
    let output = client
        .create_chat_token()
        .room_identifier(&room.arn)
        .user_id(&args.user)
        .set_capabilities(Some(capabilities))
        .set_session_duration_in_minutes(args.session_duration.map(i32::from))
        .set_attributes(attributes)
        .send()
        .await
        .map_err(|error| ivs_error("CreateChatToken", &room.arn, ivs.endpoint_url(), error))?;
    Ok(ChatToken {
        room: room.name,
        arn: room.arn,
        token: output.token.unwrap_or_default(),
        token_expiration_time: output.token_expiration_time.as_ref().map(timestamp),
        session_expiration_time: output.session_expiration_time.as_ref().map(timestamp),
    })
}

/// Sends event `args.name` to the room.
pub async fn send_event(
    cluster: &Cluster,
    ivs: &mut IvsClients,
    args: &SendEventArgs,
) -> Result<SentEvent, PluginError> {
    let attributes = attribute_map(&args.attributes)?;
    let room = ready_room(cluster, &args.room).await?;
    let client = ivs.for_arn(&room.arn)?;
    let output = client
        .send_event()
        .room_identifier(&room.arn)
        .event_name(&args.name)
        .set_attributes(attributes)
        .send()
        .await
        .map_err(|error| ivs_error("SendEvent", &room.arn, ivs.endpoint_url(), error))?;
    Ok(SentEvent {
        room: room.name,
        arn: room.arn,
        id: output.id.unwrap_or_default(),
    })
}

/// Deletes message `args.id` from the room.
pub async fn delete_message(
    cluster: &Cluster,
    ivs: &mut IvsClients,
    args: &DeleteMessageArgs,
) -> Result<DeletedMessage, PluginError> {
    let room = ready_room(cluster, &args.room).await?;
    let client = ivs.for_arn(&room.arn)?;
    let output = client
        .delete_message()
        .room_identifier(&room.arn)
        .id(&args.id)
        .set_reason(args.reason.clone())
        .send()
        .await
        .map_err(|error| ivs_error("DeleteMessage", &room.arn, ivs.endpoint_url(), error))?;
    Ok(DeletedMessage {
        room: room.name,
        arn: room.arn,
        message_id: args.id.clone(),
        id: output.id.unwrap_or_default(),
    })
}

/// Disconnects every connection of `args.user` from the room.
pub async fn disconnect(
    cluster: &Cluster,
    ivs: &mut IvsClients,
    args: &DisconnectArgs,
) -> Result<Disconnected, PluginError> {
    let room = ready_room(cluster, &args.room).await?;
    let client = ivs.for_arn(&room.arn)?;
    client
        .disconnect_user()
        .room_identifier(&room.arn)
        .user_id(&args.user)
        .set_reason(args.reason.clone())
        .send()
        .await
        .map_err(|error| ivs_error("DisconnectUser", &room.arn, ivs.endpoint_url(), error))?;
    Ok(Disconnected {
        room: room.name,
        arn: room.arn,
        user_id: args.user.clone(),
    })
}

/// Builds the attribute map and rejects a key given twice. Without attributes it returns `None`, so
/// the request leaves the member out.
fn attribute_map(
    attributes: &[(String, String)],
) -> Result<Option<HashMap<String, String>>, PluginError> {
    if attributes.is_empty() {
        return Ok(None);
    }
    let mut map = HashMap::new();
    for (key, value) in attributes {
        if map.insert(key.clone(), value.clone()).is_some() {
            return Err(PluginError::InvalidInput(format!(
                "attribute key {key:?} is given more than once"
            )));
        }
    }
    Ok(Some(map))
}

/// Formats a timestamp as RFC 3339.
pub fn timestamp(time: &DateTime) -> String {
    time.fmt(Format::DateTime).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::attribute_map;

    #[test]
    fn attribute_map_rejects_repeated_key() {
        let attributes = vec![("a".to_string(), "1".to_string()); 2];
        assert!(attribute_map(&attributes).is_err());
    }

    #[test]
    fn attribute_map_is_none_without_attributes() {
        let map = attribute_map(&[]).expect("no attributes is valid");
        assert!(map.is_none());
    }
}
