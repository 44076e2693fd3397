//! The controllers: one kube-runtime `Controller` per kind, sharing the machinery here.
//!
//! Every reconcile runs the same steps: observe the live IVS resource, plan the calls with the
//! pure functions in [`crate::ivs::plan`], act on IVS, and write status only when it changed.
//! A finalizer keeps each object until its IVS resource is gone.
//!
//! Creating in IVS takes no client token, so the operator tags everything it creates with the
//! object's identity (cluster id, namespace, name, uid). When status has no ARN yet, the
//! reconcile first looks for a resource with those tags and adopts it, so a crash between
//! create and status write leaves neither a duplicate nor an orphan.

mod chat_room;
pub mod conditions;
mod error;
mod logging_configuration;
mod observer;
mod publish;
mod run;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};

pub use error::Error;
pub use run::{LeaderElection, run};

use crate::crd::{
    ChatLoggingConfiguration, ChatRoom, DeletionPolicy, ManagementPolicy, PAUSED_ANNOTATION,
    RECONCILE_REQUEST_ANNOTATION,
};
use crate::ivs::{IvsClient, IvsErrorKind};

/// Prefix of the tags, labels and annotations the operator owns.
pub const PREFIX: &str = "ivschat.operators.dev/";

/// Wait before trying again after IVS throttled a call.
const THROTTLED_RETRY: Duration = Duration::from_secs(1);

/// Maximum wait between attempts while IVS reports a conflict.
const CONFLICT_RETRY: Duration = Duration::from_secs(10);

/// Name the operator reports itself under in Events and as field manager.
pub const MANAGER: &str = "ivschat-operator";

/// Operator-wide settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Identifies this cluster in the tags of created resources, so two clusters sharing one
    /// AWS account never adopt each other's resources.
    pub cluster_id: String,
    /// How often a converged object is compared with IVS again, to revert drift.
    pub resync_period: Duration,
    /// Namespaces to watch; empty watches all namespaces.
    pub namespaces: Vec<String>,
    /// Deletion policy for objects whose spec sets none.
    pub default_deletion_policy: DeletionPolicy,
    /// How often the bulk observer reads a page of ListRooms.
    pub poll_interval: Duration,
    /// Reconciles of one kind that run at once; the rest wait in line.
    pub max_concurrent_reconciles: u16,
}

/// State shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub ivs: IvsClient,
    pub settings: Settings,
    /// Watches the rooms of the operator's own region in bulk.
    observer: Arc<observer::RoomObserver>,
    recorder: Recorder,
    reporter: Reporter,
    /// Consecutive failures per object, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Clients for regions other than the operator's, created on first use.
    regional: Mutex<HashMap<String, IvsClient>>,
}

impl Context {
    /// Returns the IVS client for an object's region override, or the operator's client.
    fn ivs_for(&self, region: Option<&str>) -> IvsClient {
        let Some(region) = region.filter(|r| Some(*r) != self.ivs.region().as_deref()) else {
            return self.ivs.clone();
        };
        match self.regional.lock() {
            Ok(mut clients) => clients
                .entry(region.to_string())
                .or_insert_with(|| self.ivs.for_region(region))
                .clone(),
            Err(_) => self.ivs.for_region(region),
        }
    }

    /// Returns the bulk observer when it covers a room in `region`: the observer reads the
    /// operator's region only.
    // NOTE: rooms with a region override are read one by one at each resync; they are expected
    // to be few.
    fn room_observer(&self, region: Option<&str>) -> Option<&observer::RoomObserver> {
        match region {
            Some(region) if Some(region) != self.ivs.region().as_deref() => None,
            _ => Some(&self.observer),
        }
    }

    /// Returns whether deleting an object with these settings deletes its IVS resource.
    fn deletes_on_removal(
        &self,
        deletion: Option<DeletionPolicy>,
        management: Option<ManagementPolicy>,
    ) -> bool {
        management.unwrap_or_default() == ManagementPolicy::Manage
            && deletion.unwrap_or(self.settings.default_deletion_policy) == DeletionPolicy::Delete
    }

    /// Tags that mark a resource as created by this operator for `obj`.
    fn owner_tags<K: Resource>(&self, obj: &K) -> BTreeMap<String, String> {
        let meta = obj.meta();
        BTreeMap::from([
            (format!("{PREFIX}cluster"), self.settings.cluster_id.clone()),
            (
                format!("{PREFIX}namespace"),
                meta.namespace.clone().unwrap_or_default(),
            ),
            (
                format!("{PREFIX}name"),
                meta.name.clone().unwrap_or_default(),
            ),
            (format!("{PREFIX}uid"), meta.uid.clone().unwrap_or_default()),
        ])
    }

    /// Publishes an Event about `obj`; a failure to publish is logged and otherwise ignored,
    /// because Events are informational and must not fail a reconcile.
    async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let reference = obj.object_ref(&());
        let note = truncate(note, 1024);
        let published = match type_ {
            EventType::Normal => self.create_event(reference, reason, action, note).await,
            EventType::Warning => {
                let event = Event {
                    type_,
                    reason: reason.into(),
                    note: Some(note),
                    action: action.into(),
                    secondary: None,
                };
                self.recorder.publish(&event, &reference).await
            }
        };
        if let Err(error) = published {
            tracing::warn!(%error, reason, "Failed to publish event");
        }
    }

    /// Creates a Normal Event without kube's `Recorder`. The Recorder keeps every Event for six
    /// minutes to merge repeats into a series, and scans that cache on each publish. Warnings
    /// repeat and need the merging, but lifecycle Events (Created, Updated, Deleted) do not,
    /// and with thousands of rooms the cache would cost megabytes and a long scan per Event.
    async fn create_event(
        &self,
        reference: ObjectReference,
        reason: &str,
        action: &str,
        note: String,
    ) -> Result<(), kube::Error> {
        let namespace = reference.namespace.clone().unwrap_or_default();
        // Named `<object>.<hex nanoseconds>` as client-go and kube's Recorder name theirs. A
        // `generateName` cannot carry the dot, because the server rejects a prefix ending in
        // one. Names end at 253 characters, and the suffix takes up to 17.
        let object: String = reference
            .name
            .as_deref()
            .unwrap_or(MANAGER)
            .chars()
            .take(236)
            .collect();
        let now = k8s_openapi::jiff::Timestamp::now();
        let event = events::v1::Event {
            metadata: ObjectMeta {
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            action: Some(action.into()),
            reason: Some(reason.into()),
            note: Some(note),
            type_: Some("Normal".into()),
            event_time: Some(MicroTime(now)),
            regarding: Some(reference),
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            ..events::v1::Event::default()
        };
        Api::<events::v1::Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
            .map(|_| ())
    }

    fn record_success(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }

    /// Counts a failure and returns how long to wait before the next attempt: doubling from
    /// one second up to five minutes.
    fn record_failure(&self, key: &str) -> Duration {
        let attempts = match self.failures.lock() {
            Ok(mut failures) => {
                let count = failures.entry(key.to_string()).or_insert(0);
                *count = count.saturating_add(1);
                *count
            }
            Err(_) => 1,
        };
        let seconds = 1u64 << attempts.saturating_sub(1).min(9);
        Duration::from_secs(seconds.min(300))
    }
}

/// How long after a create request the operator waits for IVS to show the new resource
/// before it trusts "not found" and creates again.
pub const CREATE_GRACE: Duration = Duration::from_secs(30);

/// Returns the current time in RFC 3339.
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Returns the seconds since `attempt` when that create request is within [`CREATE_GRACE`].
pub fn recent_create_attempt(attempt: Option<&str>) -> Option<u64> {
    let attempt: k8s_openapi::jiff::Timestamp = attempt?.parse().ok()?;
    let elapsed = k8s_openapi::jiff::Timestamp::now().duration_since(attempt);
    let elapsed = std::time::Duration::try_from(elapsed).ok()?;
    (elapsed < CREATE_GRACE).then_some(elapsed.as_secs())
}

/// Static kind name of each reconciled type, for metrics labels.
pub trait KindName {
    const KIND: &'static str;
}

impl KindName for ChatRoom {
    const KIND: &'static str = "ChatRoom";
}

impl KindName for ChatLoggingConfiguration {
    const KIND: &'static str = "ChatLoggingConfiguration";
}

/// Records an object's Ready status in the metrics.
fn record_ready<K: Resource<DynamicType = ()> + KindName>(obj: &K, conditions: &[Condition]) {
    let ready = conditions
        .iter()
        .find(|c| c.type_ == conditions::READY)
        .map(|c| match c.status.as_str() {
            "True" => "True",
            "False" => "False",
            _ => "Unknown",
        });
    crate::metrics::global().object_ready(K::KIND, &object_key(obj), ready);
}

/// Returns the ARN recorded in status when it is an ARN of this kind of IVS resource
/// (`resource` is `room` or `logging-configuration`). Anything else, for example a value
/// edited by hand, is ignored, so the operator falls back to finding its resource by tags
/// instead of failing on it forever.
pub fn recorded_arn<'a>(arn: Option<&'a str>, resource: &str) -> Option<&'a str> {
    let arn = arn?;
    let mut parts = arn.splitn(6, ':');
    let well_formed = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.next() == Some("ivschat")
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts
            .next()
            .is_some_and(|p| p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .and_then(|rest| rest.strip_prefix(resource))
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|id| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
    well_formed.then_some(arn)
}

/// Returns whether the object carries the pause annotation.
pub fn is_paused<K: Resource>(obj: &K) -> bool {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(PAUSED_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// Returns the value of the reconcile-request annotation, if set.
pub fn reconcile_request<K: Resource>(obj: &K) -> Option<String> {
    obj.meta()
        .annotations
        .as_ref()?
        .get(RECONCILE_REQUEST_ANNOTATION)
        .cloned()
}

/// IVS name for an object whose spec gives none: `<namespace>-<name>` with dots turned into
/// hyphens (IVS names allow only letters, digits, `-` and `_`), cut to 128 characters.
pub fn default_ivs_name<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let raw = format!(
        "{}-{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    );
    raw.chars()
        .map(|c| if c == '.' { '-' } else { c })
        .take(128)
        .collect()
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// Requeue policy shared by both kinds: terminal errors wait for a spec change, others back
/// off exponentially per object.
fn error_policy<K: Resource<DynamicType = ()> + KindName>(
    obj: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    crate::metrics::global().reconcile_failed(K::KIND, error.category());
    if error.is_terminal() {
        tracing::warn!(error = %error, category = error.category(), "Reconcile failed; waiting for a spec change");
        return Action::await_change();
    }
    let mut delay = ctx.record_failure(&object_key(obj.as_ref()));
    // A conflict usually clears when another object changes (a room lets go of a logging
    // configuration), so it is retried often instead of backing off to minutes.
    if error
        .ivs()
        .is_some_and(|e| e.kind == IvsErrorKind::Conflict)
    {
        delay = delay.min(CONFLICT_RETRY);
    }
    tracing::warn!(error = %error, category = error.category(), delay_seconds = delay.as_secs(), "Reconcile failed; retrying");
    Action::requeue(delay)
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::recorded_arn;

    #[test]
    fn recorded_arn_accepts_arns_of_the_kind() {
        let room = "arn:aws:ivschat:us-east-1:123456789012:room/abcdEFGH1234";
        assert_eq!(recorded_arn(Some(room), "room"), Some(room));
        let config = "arn:aws:ivschat:eu-west-1:123456789012:logging-configuration/abc";
        assert_eq!(
            recorded_arn(Some(config), "logging-configuration"),
            Some(config)
        );
    }

    #[test]
    fn recorded_arn_ignores_other_values() {
        for value in [
            "garbage",
            "",
            "arn:aws:ivschat:us-east-1:123456789012:room/",
            "arn:aws:ivschat:us-east-1:123:room/abc",
            "arn:aws:ivs:us-east-1:123456789012:room/abc",
            "arn:aws:ivschat:us-east-1:123456789012:logging-configuration/abc",
            "arn:aws:ivschat:us-east-1:123456789012:room/a/b",
        ] {
            assert_eq!(recorded_arn(Some(value), "room"), None, "{value:?}");
        }
        assert_eq!(recorded_arn(None, "room"), None);
    }
}
