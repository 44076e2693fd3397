//! Injected faults: per-operation errors, latency and dropped responses, set through the admin
//! surface and consumed by the API server.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::emulator::error::{ApiError, ValidationReason};
use crate::emulator::ratelimit::default_rate;

/// The errors a fault can inject, named as in the `x-amzn-ErrorType` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultError {
    /// AccessDeniedException, 403.
    AccessDeniedException,
    /// ThrottlingException, 429.
    ThrottlingException,
    /// InternalServerException, 500.
    InternalServerException,
    /// ConflictException, 409.
    ConflictException,
    /// ResourceNotFoundException, 404.
    ResourceNotFoundException,
    /// ServiceQuotaExceededException, 402.
    ServiceQuotaExceededException,
    /// ValidationException, 400, with reason OTHER.
    ValidationException,
    /// PendingVerification, 403.
    PendingVerification,
}

impl FaultError {
    /// Builds the service error for `operation`. `resource_id` goes into the members that the
    /// model requires for not-found, conflict, quota and throttling errors.
    pub fn to_api_error(self, operation: &str, resource_id: &str) -> ApiError {
        let message = format!("Injected {self:?} for {operation}");
        let (rate, resource_type) = default_rate(operation);
        let resource_id = resource_id.to_string();
        match self {
            FaultError::AccessDeniedException => ApiError::AccessDenied(message),
            FaultError::PendingVerification => ApiError::PendingVerification(message),
            FaultError::InternalServerException => ApiError::Internal(message),
            FaultError::ValidationException => ApiError::Validation {
                message,
                reason: ValidationReason::Other,
                fields: Vec::new(),
            },
            FaultError::ResourceNotFoundException => ApiError::ResourceNotFound {
                message,
                resource_id,
                resource_type,
            },
            FaultError::ConflictException => ApiError::Conflict {
                message,
                resource_id,
                resource_type,
            },
            FaultError::ServiceQuotaExceededException => ApiError::ServiceQuotaExceeded {
                message,
                resource_id,
                resource_type,
                limit: 0,
            },
            FaultError::ThrottlingException => ApiError::Throttling {
                message,
                resource_id: operation.to_string(),
                resource_type,
                // The documented rates are whole numbers of requests per second.
                limit: rate as i64,
            },
        }
    }
}

/// One operation's fault, as sent to and listed by the admin surface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// Error returned instead of running the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FaultError>,
    /// Delay before the response is sent, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Run the operation, then close the connection without sending the response.
    #[serde(default)]
    pub drop_response: bool,
    /// Number of further matching requests the fault applies to. Without it, the fault stays
    /// until it is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// Faults by operation name.
#[derive(Debug, Default)]
pub struct FaultTable {
    faults: Mutex<BTreeMap<String, Fault>>,
}

impl FaultTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Fault>> {
        // A poisoned lock only means a panic elsewhere while the map was held, and every
        // change to the map is a single insert or remove, so the map is still consistent.
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the fault of `operation`, replacing any earlier one.
    pub fn set(&self, operation: &str, fault: Fault) {
        self.lock().insert(operation.to_string(), fault);
    }

    /// Removes the fault of `operation`. Returns whether there was one.
    pub fn remove(&self, operation: &str) -> bool {
        self.lock().remove(operation).is_some()
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Copies the current faults, with `times` as the number of requests still to affect.
    pub fn snapshot(&self) -> BTreeMap<String, Fault> {
        self.lock().clone()
    }

    /// Returns the fault that applies to this request of `operation`, if any, and counts the
    /// request against its `times`. The fault is removed once `times` reaches 0.
    pub fn take(&self, operation: &str) -> Option<Fault> {
        let mut faults = self.lock();
        let fault = faults.get_mut(operation)?;
        let applied = fault.clone();
        match fault.times {
            Some(remaining) if remaining <= 1 => {
                faults.remove(operation);
            }
            Some(remaining) => fault.times = Some(remaining - 1),
            None => {}
        }
        Some(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_limits_the_fault() {
        let table = FaultTable::default();
        let fault = Fault {
            error: Some(FaultError::ThrottlingException),
            times: Some(2),
            ..Fault::default()
        };
        table.set("GetRoom", fault);
        assert!(table.take("GetRoom").is_some());
        assert_eq!(table.snapshot()["GetRoom"].times, Some(1));
        assert!(table.take("GetRoom").is_some());
        assert!(table.take("GetRoom").is_none());
        assert!(table.snapshot().is_empty());
    }

    #[test]
    fn fault_without_times_stays() {
        let table = FaultTable::default();
        table.set("ListRooms", Fault::default());
        for _ in 0..3 {
            assert!(table.take("ListRooms").is_some());
        }
        assert!(table.take("GetRoom").is_none());
        assert!(table.remove("ListRooms"));
        assert!(!table.remove("ListRooms"));
    }

    #[test]
    fn fault_json_rejects_unknown_members() {
        let parsed: Result<Fault, _> = serde_json::from_str(r#"{"latency": 5}"#);
        assert!(parsed.is_err());
        let parsed: Result<Fault, _> = serde_json::from_str(r#"{"error": "NoSuchError"}"#);
        assert!(parsed.is_err());
        let parsed: Fault = serde_json::from_str(r#"{"error": "PendingVerification", "times": 1}"#)
            .expect("valid fault");
        assert_eq!(parsed.error, Some(FaultError::PendingVerification));
    }
}
