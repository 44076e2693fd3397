//! Results of each command, printed as text for people or as JSON for scripts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::status::{ConditionReport, RoomReport};

/// Result of CreateChatToken.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatToken {
    pub room: String,
    pub arn: String,
    pub token: String,
    pub token_expiration_time: Option<String>,
    pub session_expiration_time: Option<String>,
}

/// Result of SendEvent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentEvent {
    pub room: String,
    pub arn: String,
    /// Id IVS assigned to the event.
    pub id: String,
}

/// Result of DeleteMessage.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedMessage {
    pub room: String,
    pub arn: String,
    /// Id of the deleted message, as requested.
    pub message_id: String,
    /// Id IVS assigned to the deletion.
    pub id: String,
}

/// Result of DisconnectUser.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disconnected {
    pub room: String,
    pub arn: String,
    pub user_id: String,
}

/// The JSON document of `status`, shaped like a Kubernetes list.
#[derive(Debug, Serialize)]
pub struct RoomList<'a> {
    pub items: &'a [RoomReport],
}

/// Renders `value` as pretty-printed JSON with a final newline.
pub fn json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Renders a chat token as `key: value` lines, so the token can be cut out with `awk`.
pub fn token_text(token: &ChatToken) -> String {
    format!(
        "token: {}\ntokenExpirationTime: {}\nsessionExpirationTime: {}\n",
        token.token,
        token.token_expiration_time.as_deref().unwrap_or("-"),
        token.session_expiration_time.as_deref().unwrap_or("-"),
    )
}

/// Renders the event id alone on a line.
pub fn event_text(event: &SentEvent) -> String {
    format!("{}\n", event.id)
}

/// Renders the deletion's operation id alone on a line.
pub fn deletion_text(deletion: &DeletedMessage) -> String {
    format!("{}\n", deletion.id)
}

/// Renders a confirmation in kubectl's `<kind>/<name> <what happened>` style.
pub fn disconnect_text(disconnected: &Disconnected) -> String {
    format!(
        "chatroom/{} user {:?} disconnected\n",
        disconnected.room, disconnected.user_id
    )
}

/// Renders one block per room: the ARN, both conditions, then a table with the room's
/// settings as the ChatRoom reports them next to what IVS Chat returns.
pub fn status_text(reports: &[RoomReport]) -> String {
    let mut text = String::new();
    for (index, report) in reports.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        room_block(&mut text, report);
    }
    text
}

fn room_block(text: &mut String, report: &RoomReport) {
    let _ = writeln!(text, "ChatRoom {}/{}", report.namespace, report.name);
    let _ = writeln!(text, "  ARN:     {}", report.arn.as_deref().unwrap_or("-"));
    let _ = writeln!(text, "  Ready:   {}", condition_text(report.ready.as_ref()));
    let _ = writeln!(
        text,
        "  Synced:  {}",
        condition_text(report.synced.as_ref())
    );
    if let Some(error) = &report.ivs_error {
        let _ = writeln!(text, "  IVS:     {error}");
    } else if report.arn.is_none() {
        let _ = writeln!(text, "  IVS:     no ARN yet, so nothing to read");
    }

    let kube = &report.kubernetes;
    let live = report.ivs.as_ref();
    let rows = [
        (
            "name",
            optional(kube.name.as_ref()),
            live.map(|room| room.name.clone()),
        ),
        (
            "maximumMessageLength",
            optional(kube.maximum_message_length.as_ref()),
            live.map(|room| room.maximum_message_length.to_string()),
        ),
        (
            "maximumMessageRatePerSecond",
            optional(kube.maximum_message_rate_per_second.as_ref()),
            live.map(|room| room.maximum_message_rate_per_second.to_string()),
        ),
        (
            "loggingConfigurations",
            list(&kube.logging_configuration_arns),
            live.map(|room| list(&room.logging_configuration_arns)),
        ),
        (
            "messageReviewHandler",
            optional(kube.message_review_handler.as_ref()),
            live.map(|room| optional(room.message_review_handler.as_ref())),
        ),
        ("tags", tags(&kube.tags), live.map(|room| tags(&room.tags))),
        (
            "updateTime",
            "-".to_string(),
            live.map(|room| optional(room.update_time.as_ref())),
        ),
    ];
    let rows: Vec<(&str, String, String)> = rows
        .into_iter()
        .map(|(field, kube, ivs)| (field, kube, ivs.unwrap_or_else(|| "-".to_string())))
        .collect();
    let field_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let kube_width = rows
        .iter()
        .map(|row| row.1.chars().count())
        .chain(["KUBERNETES".len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        text,
        "  {:field_width$}  {:kube_width$}  IVS",
        "FIELD", "KUBERNETES"
    );
    for (field, kube, ivs) in rows {
        let line = format!("  {field:field_width$}  {kube:kube_width$}  {ivs}");
        let _ = writeln!(text, "{}", line.trim_end());
    }
}

fn condition_text(condition: Option<&ConditionReport>) -> String {
    match condition {
        None => "-".to_string(),
        Some(condition) if condition.message.is_empty() => {
            format!("{} {}", condition.status, condition.reason)
        }
        Some(condition) => format!(
            "{} {}: {}",
            condition.status, condition.reason, condition.message
        ),
    }
}

fn optional<T: ToString>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_string(), ToString::to_string)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(",")
    }
}

fn tags(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "-".to_string();
    }
    let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}
