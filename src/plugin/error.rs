//! Failures of `kubectl ivschat`, each with a message in plain words that names the object or
//! value involved and what to do next.

use aws_sdk_ivschat::config::http::HttpResponse;
use aws_sdk_ivschat::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ivschat::types::error::ValidationException;

/// A failure that ends the command with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The kubeconfig could not be read or names no usable cluster.
    #[error("failed to load the Kubernetes configuration: {0}")]
    KubeConfig(String),

    /// A call to the Kubernetes API server failed.
    #[error("failed to {action}: {detail}")]
    Kubernetes { action: String, detail: String },

    /// No ChatRoom object has the name.
    #[error(
        "ChatRoom {name:?} not found in namespace {namespace:?}; list the rooms with `kubectl get chatrooms -n {namespace}`"
    )]
    RoomNotFound { namespace: String, name: String },

    /// The ChatRoom exists but has no Ready=True condition or no ARN yet.
    #[error("ChatRoom {namespace}/{name} is not Ready yet: {detail}")]
    RoomNotReady {
        namespace: String,
        name: String,
        detail: String,
    },

    /// Input rejected before any call.
    #[error("invalid value: {0}")]
    InvalidInput(String),

    /// A failed IVS Chat call.
    #[error("{operation} failed: {detail}")]
    Ivs {
        operation: &'static str,
        detail: String,
    },

    /// `status` printed every room, but IVS Chat could not be read for some of them.
    #[error("IVS Chat could not be read for {failed} room(s); the IVS line of each says why")]
    StatusIncomplete { failed: usize },

    /// The result could not be written to stdout.
    #[error("failed to write the output: {0}")]
    Output(String),
}

/// Access to the ValidationException variant of an operation's error type, which carries
/// the names of the rejected fields.
pub trait AsValidation {
    fn as_validation(&self) -> Option<&ValidationException>;
}

macro_rules! impl_as_validation {
    ($($error:ty),* $(,)?) => {
        $(impl AsValidation for $error {
            fn as_validation(&self) -> Option<&ValidationException> {
                match self {
                    Self::ValidationException(validation) => Some(validation),
                    _ => None,
                }
            }
        })*
    };
}

impl_as_validation!(
    aws_sdk_ivschat::operation::create_chat_token::CreateChatTokenError,
    aws_sdk_ivschat::operation::send_event::SendEventError,
    aws_sdk_ivschat::operation::delete_message::DeleteMessageError,
    aws_sdk_ivschat::operation::disconnect_user::DisconnectUserError,
    aws_sdk_ivschat::operation::get_room::GetRoomError,
);

/// Describes a failed IVS call on room `arn`. `endpoint` is the endpoint URL in use, if one
/// replaces the regional AWS endpoint.
pub fn ivs_error<E>(
    operation: &'static str,
    arn: &str,
    endpoint: Option<&str>,
    error: SdkError<E, HttpResponse>,
) -> PluginError
where
    E: ProvideErrorMetadata + AsValidation + std::error::Error + 'static,
{
    let detail = match &error {
        SdkError::ServiceError(service) => describe_service_error(operation, arn, service.err()),
        SdkError::TimeoutError(_) => format!(
            "timed out waiting for IVS Chat at {}",
            endpoint.unwrap_or("the regional AWS endpoint")
        ),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => format!(
            "could not reach IVS Chat at {}: {}; check the endpoint URL, the region and the network",
            endpoint.unwrap_or("the regional AWS endpoint"),
            error_chain(&error)
        ),
        _ => error_chain(&error),
    };
    PluginError::Ivs { operation, detail }
}

fn describe_service_error<E>(operation: &str, arn: &str, error: &E) -> String
where
    E: ProvideErrorMetadata + AsValidation,
{
    let code = error.code().unwrap_or("UnknownError");
    let message = error.message().unwrap_or("no message");
    if let Some(validation) = error.as_validation() {
        let fields: Vec<String> = validation
            .field_list()
            .iter()
            .map(|field| format!("{}: {}", field.name(), field.message()))
            .collect();
        // The field list repeats the message's content, with each field named.
        if fields.is_empty() {
            return format!("IVS rejected the request as invalid: {message}");
        }
        return format!(
            "IVS rejected the request as invalid; invalid fields: {}",
            fields.join("; ")
        );
    }
    match code {
        "ResourceNotFoundException" => format!(
            "IVS Chat has no room with ARN {arn}; the room was probably deleted outside \
             Kubernetes, and the operator creates a managed room again at its next resync"
        ),
        "AccessDeniedException" | "PendingVerification" => format!(
            "access denied ({code}: {message}); the AWS identity needs ivschat:{operation} on {arn}"
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException" => format!(
            "IVS Chat did not accept the AWS credentials ({code}: {message}); check the credential chain"
        ),
        "ThrottlingException" => {
            format!("IVS Chat throttled the request ({message}); try again in a second")
        }
        _ => format!("{code}: {message}"),
    }
}

/// Joins an error and its sources with colons.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
