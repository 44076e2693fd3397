//! Service errors and their wire form.
//!
//! IVS Chat returns errors as a JSON body with a lower-case `message` plus the members the
//! API model declares for the error shape, and names the error in the `x-amzn-ErrorType`
//! header. The SDKs pick the typed error from that header, so the names and status codes
//! here must match the model exactly.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One invalid request member, as reported in a ValidationException's `fieldList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the member, with nested members joined by `.` (for example `messageReviewHandler.uri`).
    pub name: String,
    /// The constraint that the value violates.
    pub message: String,
}

/// `reason` values of a ValidationException, from the model's `ValidationExceptionReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationReason {
    /// The path or method names no operation of this service.
    UnknownOperation,
    /// One or more members break a constraint, and `fieldList` names them.
    FieldValidationFailed,
    /// Anything else, such as a body that is not JSON.
    Other,
}

impl ValidationReason {
    fn as_str(self) -> &'static str {
        match self {
            ValidationReason::UnknownOperation => "UNKNOWN_OPERATION",
            ValidationReason::FieldValidationFailed => "FIELD_VALIDATION_FAILED",
            ValidationReason::Other => "OTHER",
        }
    }
}

/// An error the emulator returns to the client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// ValidationException, 400.
    #[error("{message}")]
    Validation {
        /// Human-readable summary.
        message: String,
        /// Machine-readable reason.
        reason: ValidationReason,
        /// Invalid members, empty unless `reason` is FIELD_VALIDATION_FAILED.
        fields: Vec<FieldError>,
    },
    /// ResourceNotFoundException, 404.
    #[error("{message}")]
    ResourceNotFound {
        /// Human-readable summary.
        message: String,
        /// Id of the missing resource.
        resource_id: String,
        /// Type of the missing resource.
        resource_type: &'static str,
    },
    /// ConflictException, 409.
    #[error("{message}")]
    Conflict {
        /// Human-readable summary.
        message: String,
        /// Id of the resource in conflict.
        resource_id: String,
        /// Type of the resource in conflict.
        resource_type: &'static str,
    },
    /// ServiceQuotaExceededException, 402.
    #[error("{message}")]
    ServiceQuotaExceeded {
        /// Human-readable summary.
        message: String,
        /// Id of the resource the quota applies to.
        resource_id: String,
        /// Type of the resource the quota applies to.
        resource_type: &'static str,
        /// The quota.
        limit: i64,
    },
    /// ThrottlingException, 429.
    #[error("{message}")]
    Throttling {
        /// Human-readable summary.
        message: String,
        /// The throttled operation's name.
        resource_id: String,
        /// Type of resource the operation acts on.
        resource_type: &'static str,
        /// Allowed requests per second.
        limit: i64,
    },
    /// InternalServerException, 500.
    #[error("{0}")]
    Internal(String),
    /// AccessDeniedException, 403. The emulator returns it only as an injected fault.
    #[error("{0}")]
    AccessDenied(String),
    /// PendingVerification, 403: the account is not verified yet. The emulator returns it only
    /// as an injected fault.
    #[error("{0}")]
    PendingVerification(String),
    /// A SigV4 authentication failure, named by its AWS error code.
    #[error("{name}: {message}")]
    Auth {
        /// AWS error code, for example `InvalidSignatureException`.
        name: &'static str,
        /// HTTP status.
        status: StatusCode,
        /// Human-readable summary.
        message: String,
    },
}

/// The `resourceType` value for rooms, the only value of the model's `ResourceType` enum.
pub const ROOM: &str = "ROOM";
/// The `resourceType` value for logging configurations.
// NOTE: the model's ResourceType enum lists only ROOM. This value is an assumption, and the
// SDKs read it as an unknown enum variant without failing.
pub const LOGGING_CONFIGURATION: &str = "LOGGING_CONFIGURATION";

impl ApiError {
    /// Builds a FIELD_VALIDATION_FAILED error whose message follows the AWS wording
    /// ("N validation error(s) detected: ...").
    pub fn fields(fields: Vec<FieldError>) -> ApiError {
        let noun = if fields.len() == 1 { "error" } else { "errors" };
        let details: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "Value at '{}' failed to satisfy constraint: {}",
                    f.name, f.message
                )
            })
            .collect();
        ApiError::Validation {
            message: format!(
                "{} validation {noun} detected: {}",
                fields.len(),
                details.join("; ")
            ),
            reason: ValidationReason::FieldValidationFailed,
            fields,
        }
    }

    /// Builds a FIELD_VALIDATION_FAILED error for one member.
    pub fn field(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::fields(vec![FieldError {
            name: name.to_string(),
            message: message.into(),
        }])
    }

    /// Builds a ValidationException with reason OTHER.
    pub fn other(message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            message: message.into(),
            reason: ValidationReason::Other,
            fields: Vec::new(),
        }
    }

    /// Builds a ResourceNotFoundException.
    pub fn not_found(resource_type: &'static str, resource_id: &str, arn: &str) -> ApiError {
        ApiError::ResourceNotFound {
            message: format!("Resource not found: {arn}"),
            resource_id: resource_id.to_string(),
            resource_type,
        }
    }

    /// Builds an authentication error with status 403.
    pub fn auth(name: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Auth {
            name,
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// Returns the AWS error code, sent in `x-amzn-ErrorType`.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::ResourceNotFound { .. } => "ResourceNotFoundException",
            ApiError::Conflict { .. } => "ConflictException",
            ApiError::ServiceQuotaExceeded { .. } => "ServiceQuotaExceededException",
            ApiError::Throttling { .. } => "ThrottlingException",
            ApiError::Internal(_) => "InternalServerException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::PendingVerification(_) => "PendingVerification",
            ApiError::Auth { name, .. } => name,
        }
    }

    /// Returns the HTTP status code the model assigns to this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::ResourceNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::ServiceQuotaExceeded { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Throttling { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::AccessDenied(_) | ApiError::PendingVerification(_) => StatusCode::FORBIDDEN,
            ApiError::Auth { status, .. } => *status,
        }
    }

    /// Builds the JSON error body.
    pub fn body(&self) -> Value {
        match self {
            ApiError::Validation {
                message,
                reason,
                fields,
            } => {
                let mut body = json!({ "message": message, "reason": reason.as_str() });
                if !fields.is_empty() {
                    let list: Vec<Value> = fields
                        .iter()
                        .map(|f| json!({ "name": f.name, "message": f.message }))
                        .collect();
                    body["fieldList"] = Value::Array(list);
                }
                body
            }
            ApiError::ResourceNotFound {
                message,
                resource_id,
                resource_type,
            }
            | ApiError::Conflict {
                message,
                resource_id,
                resource_type,
            } => json!({
                "message": message,
                "resourceId": resource_id,
                "resourceType": resource_type,
            }),
            ApiError::ServiceQuotaExceeded {
                message,
                resource_id,
                resource_type,
                limit,
            }
            | ApiError::Throttling {
                message,
                resource_id,
                resource_type,
                limit,
            } => json!({
                "message": message,
                "resourceId": resource_id,
                "resourceType": resource_type,
                "limit": limit,
            }),
            ApiError::Internal(message)
            | ApiError::AccessDenied(message)
            | ApiError::PendingVerification(message)
            | ApiError::Auth { message, .. } => {
                json!({ "message": message })
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.name()));
        response
    }
}
