//! Status handling shared by both kinds: turning a pass's outcome or error into conditions,
//! pausing, and writing status only when it changed.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::conditions::{self, Status};
use super::{
    Context, Error, KindName, MANAGER, THROTTLED_RETRY, now_rfc3339, recent_create_attempt,
    reconcile_request, record_ready,
};
use crate::crd::{
    ChatLoggingConfiguration, ChatLoggingConfigurationStatus, ChatRoom, ChatRoomStatus,
};

/// A kind the operator reconciles, seen through the status fields both kinds share.
pub trait Managed:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + KindName
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Status: Clone + Default + PartialEq + Serialize + Send + Sync;

    fn status(&self) -> Option<&Self::Status>;
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition>;
    fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>);
    fn set_last_handled_reconcile_at(status: &mut Self::Status, value: Option<String>);
    fn create_attempt_time(status: &Self::Status) -> Option<&str>;
    fn set_create_attempt_time(status: &mut Self::Status, time: Option<String>);
    fn replace_status(&mut self, status: Self::Status);
}

macro_rules! impl_managed {
    ($kind:ty, $status:ty) => {
        impl Managed for $kind {
            type Status = $status;

            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
            fn conditions(status: &mut $status) -> &mut Vec<Condition> {
                &mut status.conditions
            }
            fn set_observed_generation(status: &mut $status, generation: Option<i64>) {
                status.observed_generation = generation;
            }
            fn set_last_handled_reconcile_at(status: &mut $status, value: Option<String>) {
                status.last_handled_reconcile_at = value;
            }
            fn create_attempt_time(status: &$status) -> Option<&str> {
                status.create_attempt_time.as_deref()
            }
            fn set_create_attempt_time(status: &mut $status, time: Option<String>) {
                status.create_attempt_time = time;
            }
            fn replace_status(&mut self, status: $status) {
                self.status = Some(status);
            }
        }
    };
}

impl_managed!(ChatRoom, ChatRoomStatus);
impl_managed!(ChatLoggingConfiguration, ChatLoggingConfigurationStatus);

/// Result of one pass that did not fail.
pub struct Outcome<S> {
    pub status: S,
    /// Status, reason and message of the `Ready` condition.
    pub ready: (Status, &'static str, String),
    pub requeue: Duration,
}

/// Writes the status of a successful pass: `Ready` as the pass found it, `Synced=True`.
pub async fn report_outcome<K: Managed>(
    api: &Api<K>,
    obj: &K,
    outcome: Outcome<K::Status>,
) -> Result<Action, Error> {
    let mut status = outcome.status;
    K::set_last_handled_reconcile_at(&mut status, reconcile_request(obj));
    let generation = obj.meta().generation;
    let (ready, reason, message) = outcome.ready;
    let conditions = K::conditions(&mut status);
    conditions::set(
        conditions,
        conditions::READY,
        ready,
        reason,
        message,
        generation,
    );
    conditions::set(
        conditions,
        conditions::SYNCED,
        Status::True,
        conditions::RECONCILE_SUCCESS,
        "",
        generation,
    );
    record_ready(obj, K::conditions(&mut status));
    write_status(api, obj, status).await?;
    Ok(Action::requeue(outcome.requeue))
}

/// Writes the status of a failed pass and returns the error for the requeue policy.
/// Throttling is not a failure: the object waits a moment and goes on.
pub async fn report_failure<K: Managed>(
    ctx: &Context,
    api: &Api<K>,
    obj: &K,
    error: Error,
) -> Result<Action, Error> {
    if error.is_throttled() {
        // The client-side limiter should prevent this; if IVS still throttles, the object is
        // making progress at the service's pace, which is no failure.
        tracing::debug!(error = %error, "Throttled by IVS; trying again shortly");
        return Ok(Action::requeue(THROTTLED_RETRY));
    }

    // This pass may have written status already (a create attempt), so start from the
    // object as the API server stores it now.
    let latest = api.get_opt(&obj.name_any()).await.ok().flatten();
    let obj = latest.as_ref().unwrap_or(obj);
    let mut status = obj.status().cloned().unwrap_or_default();
    if error.create_was_rejected() {
        K::set_create_attempt_time(&mut status, None);
    }
    let generation = obj.meta().generation;
    K::set_observed_generation(&mut status, generation);
    let ready = if error.is_terminal() {
        Status::False
    } else {
        Status::Unknown
    };
    let message = error.to_string();
    let conditions = K::conditions(&mut status);
    conditions::set(
        conditions,
        conditions::READY,
        ready,
        error.category(),
        &message,
        generation,
    );
    conditions::set(
        conditions,
        conditions::SYNCED,
        Status::False,
        error.category(),
        &message,
        generation,
    );
    if obj.status() != Some(&status) {
        let category = error.category();
        ctx.publish(obj, EventType::Warning, category, "Reconcile", message)
            .await;
    }
    record_ready(obj, K::conditions(&mut status));
    write_status(api, obj, status).await?;
    Err(error)
}

/// Records a create attempt in status before the create call, and returns a copy of the
/// object carrying that status for later writes in the same pass.
///
/// A create whose outcome is unknown (lost response, crash) or whose resource IVS does not
/// show yet must not be repeated, because IVS takes no client token and a second call makes a
/// second resource. While an earlier attempt is within [`super::CREATE_GRACE`], this returns the
/// waiting outcome to report instead.
pub async fn begin_create<K: Managed>(
    api: &Api<K>,
    obj: &K,
    status: &mut K::Status,
    what: &str,
) -> Result<Result<K, Outcome<K::Status>>, Error> {
    if let Some(since) = recent_create_attempt(K::create_attempt_time(status)) {
        let message = format!(
            "waiting for IVS to show the {what} requested {since}s ago before creating another"
        );
        return Ok(Err(Outcome {
            status: status.clone(),
            ready: (Status::False, conditions::CREATING, message),
            requeue: Duration::from_secs(5),
        }));
    }

    K::set_create_attempt_time(status, Some(now_rfc3339()));
    let mut attempting = status.clone();
    conditions::set(
        K::conditions(&mut attempting),
        conditions::READY,
        Status::False,
        conditions::CREATING,
        format!("creating the IVS {what}"),
        obj.meta().generation,
    );
    write_status(api, obj, attempting.clone()).await?;
    Ok(Ok(with_status(obj, attempting)))
}

/// Leaves a paused object alone and reports the pause in `Synced`.
pub async fn pause<K: Managed>(api: &Api<K>, obj: &K) -> Result<Action, Error> {
    let mut status = obj.status().cloned().unwrap_or_default();
    conditions::set(
        K::conditions(&mut status),
        conditions::SYNCED,
        Status::False,
        conditions::RECONCILE_PAUSED,
        "the ivschat.operators.dev/paused annotation is \"true\"; remove it to resume",
        obj.meta().generation,
    );
    write_status(api, obj, status).await?;
    Ok(Action::await_change())
}

/// Writes status by server-side apply, skipping the call when nothing changed.
pub async fn write_status<K: Managed>(
    api: &Api<K>,
    obj: &K,
    status: K::Status,
) -> Result<(), Error> {
    if obj.status() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await
    .map_err(Error::PatchStatus)?;
    Ok(())
}

/// Returns a copy of the object carrying `status`, so later status writes in the same pass
/// compare against what was just written.
pub fn with_status<K: Managed>(obj: &K, status: K::Status) -> K {
    let mut copy = obj.clone();
    copy.replace_status(status);
    copy
}
