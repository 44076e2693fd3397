//! Room operations: CreateRoom, GetRoom, UpdateRoom, DeleteRoom and ListRooms.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::model::{
    DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_MAX_MESSAGE_RATE, MessageReviewHandler, Room,
};
use super::patterns::ResourceKind;
use super::server::Reply;
use super::store::{SortKey, State, Store, decode_token, paginate};
use super::validate::{
    Checker, FALLBACK_RESULT, LAMBDA_ARN, LOGGING_CONFIGURATION_ARN, NAME, PAGINATION_TOKEN,
    ROOM_ARN,
};

/// The maximum number of logging configurations on one room.
const MAX_LOGGING_CONFIGURATIONS_PER_ROOM: usize = 3;
/// The maximum and default `maxResults` of the list operations.
pub const MAX_PAGE_SIZE: i64 = 50;

/// The room members that CreateRoom and UpdateRoom share, as sent by the client.
struct RoomFields {
    name: Option<String>,
    maximum_message_length: Option<i64>,
    maximum_message_rate_per_second: Option<i64>,
    /// `Some(None)` when the request sets no handler or clears it with an empty URI.
    message_review_handler: Option<Option<MessageReviewHandler>>,
    logging_configuration_identifiers: Option<Vec<String>>,
}

/// Reads and validates the shared room members.
fn read_room_fields(checker: &mut Checker, request: &Map<String, Value>) -> RoomFields {
    let name = checker.string(request, "name", "", &NAME);
    let maximum_message_length = checker.integer(request, "maximumMessageLength", "", 1, 500);
    let maximum_message_rate_per_second =
        checker.integer(request, "maximumMessageRatePerSecond", "", 1, 100);

    // The handler is replaced as a whole: a missing or empty `uri` means "no handler", and a
    // missing `fallbackResult` means ALLOW.
    let message_review_handler =
        checker
            .object(request, "messageReviewHandler", "")
            .map(|handler| {
                let path = "messageReviewHandler";
                let uri = checker.string(handler, "uri", path, &LAMBDA_ARN);
                let fallback = checker.string(handler, "fallbackResult", path, &FALLBACK_RESULT);
                uri.filter(|uri| !uri.is_empty())
                    .map(|uri| MessageReviewHandler {
                        uri,
                        fallback_result: fallback.unwrap_or_else(|| "ALLOW".to_string()),
                    })
            });

    let key = "loggingConfigurationIdentifiers";
    let limits = (0, MAX_LOGGING_CONFIGURATIONS_PER_ROOM);
    let logging_configuration_identifiers =
        checker.string_list(request, key, "", limits, &LOGGING_CONFIGURATION_ARN);
    if let Some(identifiers) = &logging_configuration_identifiers {
        let mut seen = std::collections::BTreeSet::new();
        // NOTE: whether the service rejects duplicates is not documented. Rejecting them is the
        // stricter choice.
        if identifiers.iter().any(|id| !seen.insert(id)) {
            checker.fail(key, "Member must not contain duplicate values");
        }
    }

    RoomFields {
        name,
        maximum_message_length,
        maximum_message_rate_per_second,
        message_review_handler,
        logging_configuration_identifiers,
    }
}

/// Fails with ResourceNotFoundException unless every ARN names an existing logging configuration.
fn check_logging_configurations_exist(state: &State, arns: &[String]) -> Result<(), ApiError> {
    for arn in arns {
        state.resolve(arn, ResourceKind::LoggingConfiguration)?;
    }
    Ok(())
}

/// Reads the required `identifier` member as a room ARN.
fn read_identifier(checker: &mut Checker, request: &Map<String, Value>) -> Option<String> {
    checker.require(request, "identifier", "identifier");
    checker.string(request, "identifier", "", &ROOM_ARN)
}

/// Handles CreateRoom. The new room stays hidden from GetRoom, ListRooms, UpdateRoom and the
/// tag operations for `visibility_delay`.
pub async fn create_room(
    store: &Store,
    visibility_delay: Duration,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let fields = read_room_fields(&mut checker, request);
    let tags = checker.tags(request, "tags", "");
    checker.finish()?;

    let room = store
        .mutate(|state| {
            let identifiers = fields.logging_configuration_identifiers.unwrap_or_default();
            check_logging_configurations_exist(state, &identifiers)?;
            let id = state.new_id();
            let now = Utc::now();
            let room = Room {
                arn: state.arn(ResourceKind::Room, &id),
                id: id.clone(),
                name: fields.name.unwrap_or_default(),
                create_time: now,
                update_time: now,
                update_sequence: state.next_sequence(),
                maximum_message_length: fields
                    .maximum_message_length
                    .unwrap_or(DEFAULT_MAX_MESSAGE_LENGTH),
                maximum_message_rate_per_second: fields
                    .maximum_message_rate_per_second
                    .unwrap_or(DEFAULT_MAX_MESSAGE_RATE),
                message_review_handler: fields.message_review_handler.flatten(),
                tags: tags.unwrap_or_default(),
                logging_configuration_identifiers: identifiers,
            };
            state.pending.hide_room(&id, visibility_delay);
            state.rooms.insert(id, room.clone());
            Ok(room)
        })
        .await?;
    tracing::info!(operation = "CreateRoom", arn = %room.arn, "room created");
    Ok(Reply::Json(room.to_json()))
}

/// Handles GetRoom.
pub async fn get_room(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();
    store
        .read(|state| {
            let id = state.resolve_visible(&identifier, ResourceKind::Room)?;
            let room = state.rooms.get(&id).map(Room::to_json);
            Ok(Reply::Json(room.unwrap_or_default()))
        })
        .await
}

/// Handles UpdateRoom: members left out keep their values. Every successful call moves
/// `updateTime`, even when nothing changed.
// NOTE: whether a no-op update moves updateTime on the real service is not documented. Moving
// it is the stricter choice because it exposes needless writes.
pub async fn update_room(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    let fields = read_room_fields(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();

    let room = store
        .mutate(|state| {
            let id = state.resolve_visible(&identifier, ResourceKind::Room)?;
            if let Some(identifiers) = &fields.logging_configuration_identifiers {
                check_logging_configurations_exist(state, identifiers)?;
            }
            let sequence = state.next_sequence();
            let Some(room) = state.rooms.get_mut(&id) else {
                return Err(ApiError::Internal(format!(
                    "room {id} vanished during update"
                )));
            };
            if let Some(name) = fields.name {
                room.name = name;
            }
            if let Some(length) = fields.maximum_message_length {
                room.maximum_message_length = length;
            }
            if let Some(rate) = fields.maximum_message_rate_per_second {
                room.maximum_message_rate_per_second = rate;
            }
            if let Some(handler) = fields.message_review_handler {
                room.message_review_handler = handler;
            }
            if let Some(identifiers) = fields.logging_configuration_identifiers {
                room.logging_configuration_identifiers = identifiers;
            }
            room.update_time = Utc::now();
            room.update_sequence = sequence;
            Ok(room.clone())
        })
        .await?;
    tracing::info!(operation = "UpdateRoom", arn = %room.arn, "room updated");
    Ok(Reply::Json(room.to_json()))
}

/// Handles DeleteRoom.
pub async fn delete_room(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();
    store
        .mutate(|state| {
            let id = state.resolve(&identifier, ResourceKind::Room)?;
            state.rooms.remove(&id);
            Ok(())
        })
        .await?;
    tracing::info!(operation = "DeleteRoom", arn = %identifier, "room deleted");
    Ok(Reply::Empty)
}

/// Reads `maxResults` and `nextToken`, shared by both list operations.
pub fn read_paging(
    checker: &mut Checker,
    request: &Map<String, Value>,
) -> (Option<i64>, Option<String>) {
    let max_results = checker.integer(request, "maxResults", "", 1, MAX_PAGE_SIZE);
    let next_token = checker.string(request, "nextToken", "", &PAGINATION_TOKEN);
    (max_results, next_token)
}

/// Handles ListRooms: exact filters on `name`, `messageReviewHandlerUri` and
/// `loggingConfigurationIdentifier`, newest `updateTime` first.
pub async fn list_rooms(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let name = checker.string(request, "name", "", &NAME);
    let handler_uri = checker.string(request, "messageReviewHandlerUri", "", &LAMBDA_ARN);
    let logging_filter = checker.string(
        request,
        "loggingConfigurationIdentifier",
        "",
        &LOGGING_CONFIGURATION_ARN,
    );
    let (max_results, next_token) = read_paging(&mut checker, request);
    checker.finish()?;
    let after = match next_token.as_deref() {
        Some("") | None => None,
        Some(token) => Some(decode_token("rooms", token)?),
    };

    store
        .read(|state| {
            // NOTE: the model lists ResourceNotFoundException for ListRooms, and a filter naming a
            // logging configuration that does not exist is assumed to be its cause.
            if let Some(arn) = &logging_filter {
                state.resolve(arn, ResourceKind::LoggingConfiguration)?;
            }
            let now = Instant::now();
            let matches = state
                .rooms
                .values()
                .filter(|room| !state.pending.is_room_hidden(&room.id, now))
                .filter(|room| name.as_ref().is_none_or(|name| &room.name == name))
                .filter(|room| {
                    handler_uri.as_ref().is_none_or(|uri| {
                        room.message_review_handler.as_ref().map(|h| &h.uri) == Some(uri)
                    })
                })
                .filter(|room| {
                    logging_filter
                        .as_ref()
                        .is_none_or(|arn| room.logging_configuration_identifiers.contains(arn))
                })
                .map(|room| (SortKey::of(&room.update_time, room.update_sequence), room))
                .collect();
            let size = usize::try_from(max_results.unwrap_or(MAX_PAGE_SIZE)).unwrap_or(1);
            let (page, token) = paginate(matches, "rooms", after, size);
            let rooms: Vec<Value> = page.into_iter().map(Room::summary_json).collect();
            let mut body = json!({ "rooms": rooms });
            if let Some(token) = token {
                body["nextToken"] = Value::String(token);
            }
            Ok(Reply::Json(body))
        })
        .await
}

/// Validates an UpdateRoom request without a store, for tests of the validation rules.
#[cfg(test)]
fn validate_update(request: &Map<String, Value>) -> Result<(), ApiError> {
    let mut checker = Checker::new();
    read_identifier(&mut checker, request);
    read_room_fields(&mut checker, request);
    checker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_names(request: Value) -> Vec<String> {
        let Value::Object(request) = request else {
            return Vec::new();
        };
        match validate_update(&request) {
            Err(ApiError::Validation { fields, .. }) => {
                fields.into_iter().map(|f| f.name).collect()
            }
            _ => Vec::new(),
        }
    }

    #[test]
    fn update_requires_identifier() {
        assert_eq!(field_names(json!({})), ["identifier"]);
    }

    #[test]
    fn update_rejects_each_bad_member() {
        let names = field_names(json!({
            "identifier": "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/abc",
            "name": "bad name",
            "maximumMessageLength": 501,
            "maximumMessageRatePerSecond": 0,
            "messageReviewHandler": { "uri": "arn:aws:s3:::bucket", "fallbackResult": "MAYBE" },
        }));
        assert_eq!(
            names,
            [
                "identifier",
                "name",
                "maximumMessageLength",
                "maximumMessageRatePerSecond",
                "messageReviewHandler.uri",
                "messageReviewHandler.fallbackResult",
            ]
        );
    }

    #[test]
    fn duplicate_logging_configurations_are_rejected() {
        let arn = "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/abcdefABCDEF";
        let names = field_names(json!({
            "identifier": "arn:aws:ivschat:us-east-1:123456789012:room/abcdefABCDEF",
            "loggingConfigurationIdentifiers": [arn, arn],
        }));
        assert_eq!(names, ["loggingConfigurationIdentifiers"]);
    }

    #[test]
    fn more_than_three_logging_configurations_are_rejected() {
        let arns: Vec<String> = (0..4)
            .map(|i| format!("arn:aws:ivschat:us-east-1:123456789012:logging-configuration/a{i}"))
            .collect();
        let names = field_names(json!({
            "identifier": "arn:aws:ivschat:us-east-1:123456789012:room/abcdefABCDEF",
            "loggingConfigurationIdentifiers": arns,
        }));
        assert_eq!(names, ["loggingConfigurationIdentifiers"]);
    }

    #[test]
    fn valid_update_passes() {
        let names = field_names(json!({
            "identifier": "arn:aws:ivschat:us-east-1:123456789012:room/abcdefABCDEF",
            "name": "chat-1",
            "maximumMessageLength": 500,
            "messageReviewHandler": { "uri": "" },
            "loggingConfigurationIdentifiers": [],
        }));
        assert!(names.is_empty());
    }
}
