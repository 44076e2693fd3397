//! Messaging operations: CreateChatToken, SendEvent, DeleteMessage and DisconnectUser.
//!
//! The emulator has no chat WebSocket endpoint, so these operations validate their input,
//! check that the room exists and return well-formed responses without further effect.

use chrono::{Duration, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::model::format_time;
use super::patterns::{ResourceKind, is_id};
use super::server::Reply;
use super::store::Store;
use super::validate::{Checker, ROOM_ARN, StringRule};

const USER_ID: StringRule = StringRule::length(1, 128);
const REASON: StringRule = StringRule::length(1, 256);
const EVENT_NAME: StringRule = StringRule::length(1, 100);
const MESSAGE_ID: StringRule = StringRule::pattern(12, 12, "[a-zA-Z0-9]+", is_id);
const CAPABILITY: StringRule =
    StringRule::one_of(&["SEND_MESSAGE", "DISCONNECT_USER", "DELETE_MESSAGE"]);
const ANY_STRING: StringRule = StringRule::length(0, usize::MAX);

/// The maximum total size of a chat token's attributes, in bytes of keys and values.
const MAX_TOKEN_ATTRIBUTES_BYTES: usize = 1024;
/// How long a chat token can be used to connect.
const TOKEN_LIFETIME_MINUTES: i64 = 1;
/// Default session length of a chat token.
const DEFAULT_SESSION_MINUTES: i64 = 60;

/// Reads the required `roomIdentifier` member.
fn read_room(checker: &mut Checker, request: &Map<String, Value>) -> Option<String> {
    checker.require(request, "roomIdentifier", "roomIdentifier");
    checker.string(request, "roomIdentifier", "", &ROOM_ARN)
}

/// Fails with ResourceNotFoundException unless the room exists.
async fn check_room(store: &Store, arn: &str) -> Result<(), ApiError> {
    store
        .read(|state| state.resolve(arn, ResourceKind::Room).map(|_| ()))
        .await
}

/// Returns `length` random `[a-zA-Z0-9]` characters.
fn random_text(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Handles CreateChatToken. The token is random text that nothing else accepts.
pub async fn create_chat_token(
    store: &Store,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let room = read_room(&mut checker, request);
    checker.require(request, "userId", "userId");
    checker.string(request, "userId", "", &USER_ID);
    checker.string_list(request, "capabilities", "", (0, usize::MAX), &CAPABILITY);
    let session_minutes = checker.integer(request, "sessionDurationInMinutes", "", 1, 180);
    let attributes = checker.string_map(
        request,
        "attributes",
        "",
        usize::MAX,
        (&ANY_STRING, &ANY_STRING),
    );
    if let Some(attributes) = &attributes {
        let size: usize = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_TOKEN_ATTRIBUTES_BYTES {
            checker.fail(
                "attributes",
                format!(
                    "Member must not exceed {MAX_TOKEN_ATTRIBUTES_BYTES} bytes in total, \
                     found {size}"
                ),
            );
        }
    }
    checker.finish()?;
    let room = room.unwrap_or_default();
    check_room(store, &room).await?;

    let now = Utc::now();
    let session = Duration::minutes(session_minutes.unwrap_or(DEFAULT_SESSION_MINUTES));
    tracing::info!(operation = "CreateChatToken", arn = %room, "chat token created");
    Ok(Reply::Json(json!({
        "token": format!("emulator.{}", random_text(64)),
        "tokenExpirationTime": format_time(&(now + Duration::minutes(TOKEN_LIFETIME_MINUTES))),
        "sessionExpirationTime": format_time(&(now + session)),
    })))
}

/// Handles SendEvent.
pub async fn send_event(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let room = read_room(&mut checker, request);
    checker.require(request, "eventName", "eventName");
    checker.string(request, "eventName", "", &EVENT_NAME);
    checker.string_map(
        request,
        "attributes",
        "",
        usize::MAX,
        (&ANY_STRING, &ANY_STRING),
    );
    checker.finish()?;
    let room = room.unwrap_or_default();
    check_room(store, &room).await?;
    tracing::info!(operation = "SendEvent", arn = %room, "event sent");
    Ok(Reply::Json(json!({ "id": random_text(12) })))
}

/// Handles DeleteMessage.
pub async fn delete_message(
    store: &Store,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let room = read_room(&mut checker, request);
    checker.require(request, "id", "id");
    checker.string(request, "id", "", &MESSAGE_ID);
    checker.string(request, "reason", "", &REASON);
    checker.finish()?;
    let room = room.unwrap_or_default();
    check_room(store, &room).await?;
    tracing::info!(operation = "DeleteMessage", arn = %room, "message deleted");
    Ok(Reply::Json(json!({ "id": random_text(12) })))
}

/// Handles DisconnectUser.
pub async fn disconnect_user(
    store: &Store,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let room = read_room(&mut checker, request);
    checker.require(request, "userId", "userId");
    checker.string(request, "userId", "", &USER_ID);
    checker.string(request, "reason", "", &REASON);
    checker.finish()?;
    let room = room.unwrap_or_default();
    check_room(store, &room).await?;
    tracing::info!(operation = "DisconnectUser", arn = %room, "user disconnected");
    Ok(Reply::Json(json!({})))
}
