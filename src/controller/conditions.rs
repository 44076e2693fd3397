//! `Ready` and `Synced` conditions, with their reasons as constants.
//!
//! `Ready` reports whether the IVS resource exists and matches the spec; `Synced` reports whether the
//! last reconcile succeeded. A condition's `lastTransitionTime` moves only when its status
//! moves, so rewriting the same outcome changes nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";

/// The IVS resource exists and matches the spec.
pub const AVAILABLE: &str = "Available";
/// The IVS resource is being created, or IVS reports a transitional state.
pub const CREATING: &str = "Creating";
/// The IVS resource exists but does not match the spec yet.
pub const UPDATING: &str = "Updating";
/// The object is being deleted.
pub const DELETING: &str = "Deleting";
/// A referenced `ChatLoggingConfiguration` does not exist or is not Ready.
pub const REFERENCE_NOT_READY: &str = "ReferenceNotReady";
/// IVS reports that creating or updating the resource failed.
pub const IVS_FAILED: &str = "IvsFailed";
/// An observe-only object mirrors its IVS resource.
pub const OBSERVED: &str = "Observed";
/// The IVS resource an observe-only object names does not exist.
pub const NOT_FOUND: &str = "NotFound";
/// The pause annotation stops the operator from acting on the object.
pub const RECONCILE_PAUSED: &str = "ReconcilePaused";
/// The last reconcile succeeded.
pub const RECONCILE_SUCCESS: &str = "ReconcileSuccess";

/// Condition status values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// Sets condition `type_` in `conditions`, keeping its transition time when its status is
/// unchanged.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: Status,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) {
    let new = |last_transition_time| Condition {
        type_: type_.to_string(),
        status: status.as_str().to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) if existing.status == status.as_str() => {
            *existing = new(existing.last_transition_time.clone());
        }
        Some(existing) => *existing = new(Time(Timestamp::now())),
        None => conditions.push(new(Time(Timestamp::now()))),
    }
}

/// Returns whether condition `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_status_keeps_transition_time() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            READY,
            Status::False,
            CREATING,
            "creating",
            Some(1),
        );
        let first = conditions[0].last_transition_time.clone();
        set(
            &mut conditions,
            READY,
            Status::False,
            UPDATING,
            "updating",
            Some(2),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, first);
        assert_eq!(conditions[0].reason, UPDATING);
        assert_eq!(conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn changed_status_moves_transition_time() {
        let mut conditions = vec![Condition {
            type_: READY.into(),
            status: "False".into(),
            reason: CREATING.into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
        }];
        set(&mut conditions, READY, Status::True, AVAILABLE, "ok", None);
        assert_ne!(
            conditions[0].last_transition_time,
            Time(Timestamp::UNIX_EPOCH)
        );
        assert!(is_true(&conditions, READY));
    }
}
