//! Logging-configuration operations: Create, Get, Update, Delete and ListLoggingConfigurations.
//!
//! The emulator applies every change at once. Create and Update return state ACTIVE, the only
//! state the model allows in their responses. With state hold times set on the admin surface, Get
//! and List show CREATING or UPDATING for a while after a change, and a deleted
//! configuration stays visible to them as DELETING before it disappears. Every other
//! operation treats a DELETING configuration as not found.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::error::{ApiError, LOGGING_CONFIGURATION};
use super::model::{Destination, LoggingConfiguration};
use super::patterns::{
    ResourceKind, is_bucket_name, is_delivery_stream_name, is_log_group_name, parse_arn,
};
use super::pending::{ACTIVE, CREATING, DELETING, UPDATING};
use super::rooms::{MAX_PAGE_SIZE, read_paging};
use super::server::Reply;
use super::store::{SortKey, Store, decode_token, paginate};
use super::validate::{Checker, LOGGING_CONFIGURATION_ARN, NAME, StringRule, member};

const BUCKET_NAME: StringRule = StringRule::pattern(3, 63, "[a-z0-9-.]+", is_bucket_name);
const LOG_GROUP_NAME: StringRule =
    StringRule::pattern(1, 512, "[\\.\\-_/#A-Za-z0-9]+", is_log_group_name);
const DELIVERY_STREAM_NAME: StringRule =
    StringRule::pattern(1, 64, "[a-zA-Z0-9_.-]+", is_delivery_stream_name);

/// Reads the `destinationConfiguration` union, which must set exactly one destination.
fn read_destination(checker: &mut Checker, request: &Map<String, Value>) -> Option<Destination> {
    let path = "destinationConfiguration";
    let union = checker.object(request, path, "")?;
    let set: Vec<&str> = ["s3", "cloudWatchLogs", "firehose"]
        .into_iter()
        .filter(|key| member(union, key).is_some())
        .collect();
    if set.len() != 1 {
        checker.fail(
            path,
            "Member must have exactly one of s3, cloudWatchLogs or firehose set",
        );
        return None;
    }
    let (key, member_name, rule) = match set.first().copied() {
        Some("s3") => ("s3", "bucketName", &BUCKET_NAME),
        Some("cloudWatchLogs") => ("cloudWatchLogs", "logGroupName", &LOG_GROUP_NAME),
        _ => ("firehose", "deliveryStreamName", &DELIVERY_STREAM_NAME),
    };
    let structure = checker.object(union, key, path)?;
    let structure_path = format!("{path}.{key}");
    checker.require(
        structure,
        member_name,
        &format!("{structure_path}.{member_name}"),
    );
    let name = checker.string(structure, member_name, &structure_path, rule)?;
    Some(match key {
        "s3" => Destination::S3 { bucket_name: name },
        "cloudWatchLogs" => Destination::CloudWatchLogs {
            log_group_name: name,
        },
        _ => Destination::Firehose {
            delivery_stream_name: name,
        },
    })
}

/// Reads the required `identifier` member as a logging-configuration ARN.
fn read_identifier(checker: &mut Checker, request: &Map<String, Value>) -> Option<String> {
    checker.require(request, "identifier", "identifier");
    checker.string(request, "identifier", "", &LOGGING_CONFIGURATION_ARN)
}

/// Handles CreateLoggingConfiguration. Fails with ServiceQuotaExceededException once the
/// account has `quota` logging configurations.
pub async fn create(
    store: &Store,
    quota: usize,
    creating_hold: Duration,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let name = checker.string(request, "name", "", &NAME);
    checker.require(
        request,
        "destinationConfiguration",
        "destinationConfiguration",
    );
    let destination = read_destination(&mut checker, request);
    let tags = checker.tags(request, "tags", "");
    checker.finish()?;
    let Some(destination) = destination else {
        return Err(ApiError::field(
            "destinationConfiguration",
            "Member must not be null",
        ));
    };

    let configuration = store
        .mutate(|state| {
            if state.logging_configurations.len() >= quota {
                return Err(ApiError::ServiceQuotaExceeded {
                    message: format!(
                        "The account already has the maximum of {quota} logging configurations"
                    ),
                    resource_id: state.account_id.clone(),
                    resource_type: LOGGING_CONFIGURATION,
                    limit: i64::try_from(quota).unwrap_or(i64::MAX),
                });
            }
            let id = state.new_id();
            let now = Utc::now();
            let configuration = LoggingConfiguration {
                arn: state.arn(ResourceKind::LoggingConfiguration, &id),
                id: id.clone(),
                name: name.unwrap_or_default(),
                create_time: now,
                update_time: now,
                update_sequence: state.next_sequence(),
                destination,
                state: ACTIVE.to_string(),
                tags: tags.unwrap_or_default(),
            };
            state
                .pending
                .hold_logging_state(&id, CREATING, creating_hold);
            state
                .logging_configurations
                .insert(id, configuration.clone());
            Ok(configuration)
        })
        .await?;
    tracing::info!(
        operation = "CreateLoggingConfiguration",
        arn = %configuration.arn,
        "logging configuration created"
    );
    Ok(Reply::Json(configuration.to_json()))
}

/// Handles GetLoggingConfiguration.
pub async fn get(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();
    store
        .read(|state| {
            let now = Instant::now();
            let id = match state.resolve(&identifier, ResourceKind::LoggingConfiguration) {
                Ok(id) => id,
                Err(not_found) => {
                    let deleted = parse_arn(&identifier)
                        .and_then(|parsed| state.pending.deleted(&parsed.id, now));
                    return match deleted {
                        Some(configuration) => Ok(Reply::Json(with_state(configuration, DELETING))),
                        None => Err(not_found),
                    };
                }
            };
            let configuration = state
                .logging_configurations
                .get(&id)
                .map(|c| with_state(c, state.pending.logging_state(&c.id, now)));
            Ok(Reply::Json(configuration.unwrap_or_default()))
        })
        .await
}

/// Builds the JSON of `configuration` with `state` in place of the stored state.
fn with_state(configuration: &LoggingConfiguration, state: &str) -> Value {
    let mut value = configuration.to_json();
    value["state"] = Value::String(state.to_string());
    value
}

/// Handles UpdateLoggingConfiguration: `name` and `destinationConfiguration` change only when
/// sent, and the destination is replaced as a whole.
pub async fn update(
    store: &Store,
    updating_hold: Duration,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    let name = checker.string(request, "name", "", &NAME);
    let destination = read_destination(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();

    let configuration = store
        .mutate(|state| {
            let id = state.resolve(&identifier, ResourceKind::LoggingConfiguration)?;
            let sequence = state.next_sequence();
            let Some(configuration) = state.logging_configurations.get_mut(&id) else {
                return Err(ApiError::Internal(format!(
                    "logging configuration {id} vanished during update"
                )));
            };
            if let Some(name) = name {
                configuration.name = name;
            }
            if let Some(destination) = destination {
                configuration.destination = destination;
            }
            configuration.update_time = Utc::now();
            configuration.update_sequence = sequence;
            configuration.state = ACTIVE.to_string();
            let updated = configuration.clone();
            state
                .pending
                .hold_logging_state(&id, UPDATING, updating_hold);
            Ok(updated)
        })
        .await?;
    tracing::info!(
        operation = "UpdateLoggingConfiguration",
        arn = %configuration.arn,
        "logging configuration updated"
    );
    Ok(Reply::Json(configuration.to_json()))
}

/// Handles DeleteLoggingConfiguration. Fails with ConflictException while a room uses it.
/// The configuration reads as DELETING for `deleting_hold` before it disappears.
pub async fn delete(
    store: &Store,
    deleting_hold: Duration,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let identifier = read_identifier(&mut checker, request);
    checker.finish()?;
    let identifier = identifier.unwrap_or_default();
    store
        .mutate(|state| {
            let id = state.resolve(&identifier, ResourceKind::LoggingConfiguration)?;
            let users: Vec<&str> = state
                .rooms
                .values()
                .filter(|room| room.logging_configuration_identifiers.contains(&identifier))
                .map(|room| room.arn.as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApiError::Conflict {
                    message: format!(
                        "Logging configuration {identifier} is still used by room(s) {}; \
                         detach it from them first",
                        users.join(", ")
                    ),
                    resource_id: id,
                    resource_type: LOGGING_CONFIGURATION,
                });
            }
            if let Some(configuration) = state.logging_configurations.remove(&id) {
                state.pending.hold_deleted(configuration, deleting_hold);
            }
            Ok(())
        })
        .await?;
    tracing::info!(
        operation = "DeleteLoggingConfiguration",
        arn = %identifier,
        "logging configuration deleted"
    );
    Ok(Reply::Empty)
}

/// Handles ListLoggingConfigurations, newest `updateTime` first.
pub async fn list(store: &Store, request: &Map<String, Value>) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    let (max_results, next_token) = read_paging(&mut checker, request);
    checker.finish()?;
    let after = match next_token.as_deref() {
        Some("") | None => None,
        Some(token) => Some(decode_token("loggingConfigurations", token)?),
    };
    store
        .read(|state| {
            let now = Instant::now();
            let settled = state
                .logging_configurations
                .values()
                .map(|c| (c, state.pending.logging_state(&c.id, now)));
            let deleted = state.pending.all_deleted(now).map(|c| (c, DELETING));
            let items = settled
                .chain(deleted)
                .map(|(c, shown)| (SortKey::of(&c.update_time, c.update_sequence), (c, shown)))
                .collect();
            let size = usize::try_from(max_results.unwrap_or(MAX_PAGE_SIZE)).unwrap_or(1);
            let (page, token) = paginate(items, "loggingConfigurations", after, size);
            let list: Vec<Value> = page
                .into_iter()
                .map(|(c, shown)| with_state(c, shown))
                .collect();
            let mut body = json!({ "loggingConfigurations": list });
            if let Some(token) = token {
                body["nextToken"] = Value::String(token);
            }
            Ok(Reply::Json(body))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(value: Value) -> Result<Option<Destination>, Vec<String>> {
        let Value::Object(request) = json!({ "destinationConfiguration": value }) else {
            return Err(Vec::new());
        };
        let mut checker = Checker::new();
        let parsed = read_destination(&mut checker, &request);
        match checker.finish() {
            Ok(()) => Ok(parsed),
            Err(ApiError::Validation { fields, .. }) => {
                Err(fields.into_iter().map(|f| f.name).collect())
            }
            Err(_) => Err(Vec::new()),
        }
    }

    #[test]
    fn destination_accepts_each_kind() {
        assert_eq!(
            destination(json!({ "s3": { "bucketName": "logs-1" } })),
            Ok(Some(Destination::S3 {
                bucket_name: "logs-1".to_string()
            }))
        );
        assert!(matches!(
            destination(json!({ "cloudWatchLogs": { "logGroupName": "/chat" } })),
            Ok(Some(Destination::CloudWatchLogs { .. }))
        ));
        assert!(matches!(
            destination(json!({ "firehose": { "deliveryStreamName": "s" } })),
            Ok(Some(Destination::Firehose { .. }))
        ));
    }

    #[test]
    fn destination_requires_exactly_one_member() {
        assert_eq!(
            destination(json!({})),
            Err(vec!["destinationConfiguration".to_string()])
        );
        assert_eq!(
            destination(json!({
                "s3": { "bucketName": "logs" },
                "firehose": { "deliveryStreamName": "s" },
            })),
            Err(vec!["destinationConfiguration".to_string()])
        );
    }

    #[test]
    fn destination_checks_nested_constraints() {
        assert_eq!(
            destination(json!({ "s3": { "bucketName": "ab" } })),
            Err(vec!["destinationConfiguration.s3.bucketName".to_string()])
        );
        assert_eq!(
            destination(json!({ "s3": {} })),
            Err(vec!["destinationConfiguration.s3.bucketName".to_string()])
        );
        assert_eq!(
            destination(json!({ "cloudWatchLogs": { "logGroupName": "a b" } })),
            Err(vec![
                "destinationConfiguration.cloudWatchLogs.logGroupName".to_string()
            ])
        );
    }
}
