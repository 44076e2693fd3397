//! Tag operations on rooms and logging configurations: TagResource, UntagResource and
//! ListTagsForResource. Tag changes do not move a resource's `updateTime`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::patterns::{ResourceKind, parse_arn};
use super::server::Reply;
use super::store::{State, Store};
use super::validate::{Checker, MAX_TAGS, TAG_KEY, TAGGABLE_ARN};

/// Validates the `resourceArn` path label.
fn check_arn(checker: &mut Checker, resource_arn: &str) {
    let value = Value::String(resource_arn.to_string());
    checker.check_string(&value, "resourceArn", &TAGGABLE_ARN);
}

/// Returns the kind and id of the resource `arn` names, or ResourceNotFoundException.
fn resolve(state: &State, arn: &str) -> Result<(ResourceKind, String), ApiError> {
    let kind = parse_arn(arn)
        .map(|parsed| parsed.kind)
        .ok_or_else(|| ApiError::field("resourceArn", "Member must be an IVS Chat ARN"))?;
    Ok((kind, state.resolve_visible(arn, kind)?))
}

/// Returns the tags of the resource `arn` names, or ResourceNotFoundException.
fn tags_of<'a>(state: &'a State, arn: &str) -> Result<&'a BTreeMap<String, String>, ApiError> {
    let (kind, id) = resolve(state, arn)?;
    let tags = match kind {
        ResourceKind::Room => state.rooms.get(&id).map(|room| &room.tags),
        ResourceKind::LoggingConfiguration => state
            .logging_configurations
            .get(&id)
            .map(|configuration| &configuration.tags),
    };
    tags.ok_or_else(|| vanished(&id))
}

/// Returns the tags of the resource `arn` names for a change, or ResourceNotFoundException.
fn tags_of_mut<'a>(
    state: &'a mut State,
    arn: &str,
) -> Result<&'a mut BTreeMap<String, String>, ApiError> {
    let (kind, id) = resolve(state, arn)?;
    let tags = match kind {
        ResourceKind::Room => state.rooms.get_mut(&id).map(|room| &mut room.tags),
        ResourceKind::LoggingConfiguration => state
            .logging_configurations
            .get_mut(&id)
            .map(|configuration| &mut configuration.tags),
    };
    tags.ok_or_else(|| vanished(&id))
}

fn vanished(id: &str) -> ApiError {
    ApiError::Internal(format!("resource {id} vanished during a tag operation"))
}

/// Handles ListTagsForResource.
pub async fn list(store: &Store, resource_arn: &str) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    check_arn(&mut checker, resource_arn);
    checker.finish()?;
    let tags = store
        .read(|state| tags_of(state, resource_arn).cloned())
        .await?;
    Ok(Reply::Json(json!({ "tags": tags })))
}

/// Handles TagResource: adds or overwrites the given tags, keeping at most 50 in total.
pub async fn tag(
    store: &Store,
    resource_arn: &str,
    request: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    check_arn(&mut checker, resource_arn);
    checker.require(request, "tags", "tags");
    let new_tags = checker.tags(request, "tags", "");
    checker.finish()?;
    let new_tags = new_tags.unwrap_or_default();

    store
        .mutate(|state| {
            let tags = tags_of_mut(state, resource_arn)?;
            let mut merged = tags.clone();
            merged.extend(new_tags);
            if merged.len() > MAX_TAGS {
                return Err(ApiError::field(
                    "tags",
                    format!(
                        "Member must have length less than or equal to {MAX_TAGS}; the resource \
                         would have {} tags",
                        merged.len()
                    ),
                ));
            }
            *tags = merged;
            Ok(())
        })
        .await?;
    tracing::info!(operation = "TagResource", arn = %resource_arn, "resource tagged");
    Ok(Reply::Json(json!({})))
}

/// Handles UntagResource: removes the given keys and ignores keys the resource lacks.
pub async fn untag(
    store: &Store,
    resource_arn: &str,
    tag_keys: Option<Vec<String>>,
) -> Result<Reply, ApiError> {
    let mut checker = Checker::new();
    check_arn(&mut checker, resource_arn);
    match &tag_keys {
        None => checker.fail("tagKeys", "Member must not be null"),
        Some(keys) => {
            if keys.len() > MAX_TAGS {
                checker.fail(
                    "tagKeys",
                    format!("Member must have length less than or equal to {MAX_TAGS}"),
                );
            }
            for (index, key) in keys.iter().enumerate() {
                let path = format!("tagKeys.{}", index + 1);
                checker.check_string(&Value::String(key.clone()), &path, &TAG_KEY);
                checker.check_tag_key_prefix(key, &path);
            }
        }
    }
    checker.finish()?;
    let tag_keys = tag_keys.unwrap_or_default();

    store
        .mutate(|state| {
            let tags = tags_of_mut(state, resource_arn)?;
            for key in &tag_keys {
                tags.remove(key);
            }
            Ok(())
        })
        .await?;
    tracing::info!(operation = "UntagResource", arn = %resource_arn, "resource untagged");
    Ok(Reply::Json(json!({})))
}
