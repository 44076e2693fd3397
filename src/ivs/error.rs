//! IVS errors reduced to what the controllers decide on: a kind and a stable message.

use aws_sdk_ivschat::config::http::HttpResponse;
use aws_sdk_ivschat::error::{ProvideErrorMetadata, SdkError};

/// What kind of failure IVS reported, which decides whether retrying can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IvsErrorKind {
    /// The resource does not exist (HTTP 404).
    NotFound,
    /// IVS rejected the input; only a spec change helps.
    Validation,
    /// The resource is in a state that forbids the call, for example still in use.
    Conflict,
    /// An account quota is used up.
    QuotaExceeded,
    /// The request rate exceeded the service's limit.
    Throttling,
    /// The credentials lack permission, or the account is not verified yet.
    AccessDenied,
    /// IVS failed (HTTP 5xx).
    Server,
    /// The request did not reach IVS or no response came back.
    Transport,
    /// Anything else.
    Other,
}

impl IvsErrorKind {
    /// Static PascalCase name used in condition reasons, events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            IvsErrorKind::NotFound => "NotFound",
            IvsErrorKind::Validation => "InvalidSpec",
            IvsErrorKind::Conflict => "Conflict",
            IvsErrorKind::QuotaExceeded => "QuotaExceeded",
            IvsErrorKind::Throttling => "Throttled",
            IvsErrorKind::AccessDenied => "AccessDenied",
            IvsErrorKind::Server => "ServiceError",
            IvsErrorKind::Transport => "Unreachable",
            IvsErrorKind::Other => "ServiceError",
        }
    }
}

/// A failed IVS call.
///
/// The message contains the operation, the error code and the service's message, and never a
/// request id, so conditions built from it stay the same from one attempt to the next.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct IvsError {
    pub operation: &'static str,
    pub kind: IvsErrorKind,
    pub message: String,
}

impl IvsError {
    /// Reports whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.kind == IvsErrorKind::NotFound
    }

    /// Classifies an SDK error by its error code, falling back to the HTTP status.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let inner = service.err();
                let code = inner.code().unwrap_or("UnknownError").to_string();
                let detail = inner.message().unwrap_or("no message");
                Self {
                    operation,
                    kind: kind_of(&code, status),
                    message: format!("{code}: {detail}"),
                }
            }
            SdkError::TimeoutError(_) => Self {
                operation,
                kind: IvsErrorKind::Transport,
                message: "timed out waiting for IVS".into(),
            },
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                let chain = error_chain(&err);
                // The SDK reports a credential chain that found nothing as a failure to send,
                // which is a permissions problem to the person reading the condition.
                if chain.contains("provided credentials") || chain.contains("credentials provider")
                {
                    Self {
                        operation,
                        kind: IvsErrorKind::AccessDenied,
                        message: format!("no usable AWS credentials: {chain}"),
                    }
                } else {
                    Self {
                        operation,
                        kind: IvsErrorKind::Transport,
                        message: format!("could not reach IVS: {chain}"),
                    }
                }
            }
            _ => Self {
                operation,
                kind: IvsErrorKind::Other,
                message: error_chain(&err),
            },
        }
    }
}

fn kind_of(code: &str, status: u16) -> IvsErrorKind {
    match code {
        "ResourceNotFoundException" => IvsErrorKind::NotFound,
        "ValidationException" => IvsErrorKind::Validation,
        "ConflictException" => IvsErrorKind::Conflict,
        "ServiceQuotaExceededException" => IvsErrorKind::QuotaExceeded,
        "ThrottlingException" | "TooManyRequestsException" => IvsErrorKind::Throttling,
        "AccessDeniedException"
        | "PendingVerification"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException" => IvsErrorKind::AccessDenied,
        "InternalServerException" => IvsErrorKind::Server,
        _ => match status {
            404 => IvsErrorKind::NotFound,
            429 => IvsErrorKind::Throttling,
            500.. => IvsErrorKind::Server,
            _ => IvsErrorKind::Other,
        },
    }
}

/// Joins an error and its sources with colons.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
