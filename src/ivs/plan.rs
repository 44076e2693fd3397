//! Pure planning: from a desired resource and the live one to the IVS calls that close the
//! difference. Nothing here talks to IVS or Kubernetes.
//!
//! Equality follows what IVS treats as equal: a room's logging configurations are a set, so
//! their order never causes an update, and tags IVS reserves (`aws:` keys) are never removed.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Destination, Handler, LoggingConfiguration, Room};

/// Prefix of tag keys that AWS reserves; the operator neither sets nor removes them.
pub const AWS_TAG_PREFIX: &str = "aws:";

/// Room as the spec wants it, IVS defaults already applied to unset fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredRoom {
    pub name: String,
    pub maximum_message_length: i32,
    pub maximum_message_rate_per_second: i32,
    pub handler: Option<Handler>,
    pub logging_configuration_arns: Vec<String>,
    /// Spec tags plus the operator's identity tags.
    pub tags: BTreeMap<String, String>,
}

/// Fields to send in one UpdateRoom call; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomUpdate {
    pub name: Option<String>,
    pub maximum_message_length: Option<i32>,
    pub maximum_message_rate_per_second: Option<i32>,
    /// `Some(None)` removes the handler, which IVS spells as an empty URI.
    pub handler: Option<Option<Handler>>,
    pub logging_configuration_arns: Option<Vec<String>>,
}

/// Tag calls that make live tags equal to desired ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Keys to add or overwrite, for TagResource.
    pub set: BTreeMap<String, String>,
    /// Keys to remove, for UntagResource.
    pub remove: Vec<String>,
}

impl TagChanges {
    /// Reports whether no tag call is needed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Plans the UpdateRoom call for a live room, or `None` when the room already matches.
pub fn room_update(desired: &DesiredRoom, live: &Room) -> Option<RoomUpdate> {
    let mut update = RoomUpdate::default();
    if desired.name != live.name {
        update.name = Some(desired.name.clone());
    }
    if desired.maximum_message_length != live.maximum_message_length {
        update.maximum_message_length = Some(desired.maximum_message_length);
    }
    if desired.maximum_message_rate_per_second != live.maximum_message_rate_per_second {
        update.maximum_message_rate_per_second = Some(desired.maximum_message_rate_per_second);
    }
    if desired.handler != live.handler {
        update.handler = Some(desired.handler.clone());
    }
    if !same_set(
        &desired.logging_configuration_arns,
        &live.logging_configuration_arns,
    ) {
        update.logging_configuration_arns = Some(desired.logging_configuration_arns.clone());
    }
    (update != RoomUpdate::default()).then_some(update)
}

/// Logging configuration as the spec wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredLoggingConfiguration {
    pub name: String,
    pub destination: Destination,
    /// Spec tags plus the operator's identity tags.
    pub tags: BTreeMap<String, String>,
}

/// Fields to send in one UpdateLoggingConfiguration call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoggingConfigurationUpdate {
    pub name: Option<String>,
    pub destination: Option<Destination>,
}

/// Plans the UpdateLoggingConfiguration call, or `None` when the configuration already matches.
pub fn logging_configuration_update(
    desired: &DesiredLoggingConfiguration,
    live: &LoggingConfiguration,
) -> Option<LoggingConfigurationUpdate> {
    let mut update = LoggingConfigurationUpdate::default();
    if desired.name != live.name {
        update.name = Some(desired.name.clone());
    }
    if desired.destination != live.destination {
        update.destination = Some(desired.destination.clone());
    }
    (update != LoggingConfigurationUpdate::default()).then_some(update)
}

/// Plans the tag calls that make `live` equal to `desired`, leaving `aws:` keys alone.
pub fn tag_changes(
    desired: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> TagChanges {
    let set = desired
        .iter()
        .filter(|(key, value)| live.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|key| !desired.contains_key(*key) && !key.starts_with(AWS_TAG_PREFIX))
        .cloned()
        .collect();
    TagChanges { set, remove }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn live_room() -> Room {
        Room {
            arn: "arn:aws:ivschat:us-east-1:123456789012:room/abcdefABCDEF".into(),
            id: "abcdefABCDEF".into(),
            name: "room".into(),
            maximum_message_length: 500,
            maximum_message_rate_per_second: 10,
            handler: None,
            logging_configuration_arns: vec!["arn:a".into(), "arn:b".into()],
            tags: tags(&[("k", "v")]),
            create_time: None,
            update_time: None,
        }
    }

    fn desired_room() -> DesiredRoom {
        DesiredRoom {
            name: "room".into(),
            maximum_message_length: 500,
            maximum_message_rate_per_second: 10,
            handler: None,
            logging_configuration_arns: vec!["arn:a".into(), "arn:b".into()],
            tags: tags(&[("k", "v")]),
        }
    }

    #[test]
    fn matching_room_needs_no_update() {
        assert_eq!(room_update(&desired_room(), &live_room()), None);
    }

    #[test]
    fn changed_length_updates_only_length() {
        let mut desired = desired_room();
        desired.maximum_message_length = 256;
        let update = room_update(&desired, &live_room()).expect("an update");
        assert_eq!(update.maximum_message_length, Some(256));
        assert_eq!(update.name, None);
        assert_eq!(update.maximum_message_rate_per_second, None);
        assert_eq!(update.handler, None);
        assert_eq!(update.logging_configuration_arns, None);
    }

    #[test]
    fn reordered_logging_configurations_need_no_update() {
        let mut desired = desired_room();
        desired.logging_configuration_arns.reverse();
        assert_eq!(room_update(&desired, &live_room()), None);
    }

    #[test]
    fn removed_logging_configuration_sends_whole_list() {
        let mut desired = desired_room();
        desired.logging_configuration_arns = vec!["arn:b".into()];
        let update = room_update(&desired, &live_room()).expect("an update");
        assert_eq!(
            update.logging_configuration_arns,
            Some(vec!["arn:b".to_string()])
        );
    }

    #[test]
    fn removed_handler_is_cleared() {
        let mut live = live_room();
        live.handler = Some(Handler {
            uri: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            fallback_result: "ALLOW".into(),
        });
        let update = room_update(&desired_room(), &live).expect("an update");
        assert_eq!(update.handler, Some(None));
    }

    #[test]
    fn changed_fallback_result_updates_handler() {
        let handler = Handler {
            uri: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            fallback_result: "ALLOW".into(),
        };
        let mut live = live_room();
        live.handler = Some(handler.clone());
        let mut desired = desired_room();
        desired.handler = Some(Handler {
            fallback_result: "DENY".into(),
            ..handler
        });
        let update = room_update(&desired, &live).expect("an update");
        assert_eq!(update.handler, Some(desired.handler.clone()));
    }

    #[test]
    fn tag_changes_set_new_and_changed_values() {
        let changes = tag_changes(&tags(&[("a", "1"), ("b", "2")]), &tags(&[("a", "0")]));
        assert_eq!(changes.set, tags(&[("a", "1"), ("b", "2")]));
        assert!(changes.remove.is_empty());
    }

    #[test]
    fn tag_changes_remove_extra_keys_but_not_aws_keys() {
        let changes = tag_changes(
            &tags(&[("a", "1")]),
            &tags(&[
                ("a", "1"),
                ("old", "x"),
                ("aws:cloudformation:stack-name", "s"),
            ]),
        );
        assert!(changes.set.is_empty());
        assert_eq!(changes.remove, vec!["old".to_string()]);
    }

    #[test]
    fn equal_tags_need_no_calls() {
        assert!(tag_changes(&tags(&[("a", "1")]), &tags(&[("a", "1")])).is_empty());
    }

    #[test]
    fn changed_destination_updates_destination_only() {
        let live = LoggingConfiguration {
            arn: "arn".into(),
            id: "id".into(),
            name: "logs".into(),
            destination: Destination::S3 {
                bucket_name: "old-bucket".into(),
            },
            state: "ACTIVE".into(),
            tags: BTreeMap::new(),
            create_time: None,
            update_time: None,
        };
        let desired = DesiredLoggingConfiguration {
            name: "logs".into(),
            destination: Destination::CloudWatchLogs {
                log_group_name: "group".into(),
            },
            tags: BTreeMap::new(),
        };
        let update = logging_configuration_update(&desired, &live).expect("an update");
        assert_eq!(update.name, None);
        assert_eq!(update.destination, Some(desired.destination.clone()));
    }
}
