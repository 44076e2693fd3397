//! HTTP front end: authentication, routing of REST-JSON requests to operations, rate limits
//! and response encoding.
//!
//! A request passes, in order, the SigV4 check, routing, the operation's rate limit and the
//! operation's own validation, as on the real service.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::Config;
use super::admin::CallCounts;
use super::error::{ApiError, ValidationReason};
use super::ratelimit::RateLimiter;
use super::sigv4::{self, SignedRequest};
use super::store::Store;
use super::validate::parse_body;
use super::{logging, messaging, rooms, tags};

/// The SigV4 signing name of IVS Chat.
const SIGNING_SERVICE: &str = "ivschat";
/// The largest accepted request body, far above the largest valid IVS Chat request.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A successful operation result.
#[derive(Debug)]
pub enum Reply {
    /// 200 with a JSON body.
    Json(Value),
    /// 204 with no body (DeleteRoom and DeleteLoggingConfiguration).
    Empty,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(body) => (StatusCode::OK, axum::Json(body)).into_response(),
            Reply::Empty => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// Shared server state.
#[derive(Debug)]
pub struct App {
    /// Configuration.
    pub config: Config,
    /// Resources.
    pub store: Store,
    /// Per-operation rate limits.
    pub limiter: RateLimiter,
    /// Requests per operation, for the admin surface.
    pub calls: Arc<CallCounts>,
}

/// Builds the router, which sends every path to [`handle`].
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// The POST operations, addressed as `POST /<name>`.
const POST_OPERATIONS: &[&str] = &[
    "CreateRoom",
    "GetRoom",
    "UpdateRoom",
    "DeleteRoom",
    "ListRooms",
    "CreateLoggingConfiguration",
    "GetLoggingConfiguration",
    "UpdateLoggingConfiguration",
    "DeleteLoggingConfiguration",
    "ListLoggingConfigurations",
    "CreateChatToken",
    "SendEvent",
    "DeleteMessage",
    "DisconnectUser",
];

/// A routed request.
enum Route {
    /// One of [`POST_OPERATIONS`].
    Post(&'static str),
    /// A tag operation and its decoded `resourceArn`.
    Tags(&'static str, String),
}

/// Maps method and raw path to an operation.
fn route(method: &Method, raw_path: &str) -> Result<Route, ApiError> {
    let unknown = || ApiError::Validation {
        message: format!("No operation matches {method} {raw_path}"),
        reason: ValidationReason::UnknownOperation,
        fields: Vec::new(),
    };
    if let Some(label) = raw_path.strip_prefix("/tags/") {
        if label.contains('/') {
            return Err(unknown());
        }
        let operation = match *method {
            Method::GET => "ListTagsForResource",
            Method::POST => "TagResource",
            Method::DELETE => "UntagResource",
            _ => return Err(unknown()),
        };
        let arn = percent_decode_str(label).decode_utf8().map_err(|_| {
            ApiError::field(
                "resourceArn",
                "Member must be valid UTF-8 after URL decoding",
            )
        })?;
        return Ok(Route::Tags(operation, arn.into_owned()));
    }
    let name = raw_path.strip_prefix('/').unwrap_or(raw_path);
    match POST_OPERATIONS.iter().find(|operation| **operation == name) {
        Some(operation) if *method == Method::POST => Ok(Route::Post(operation)),
        _ => Err(unknown()),
    }
}

/// Collects the repeated `tagKeys` query parameter; `None` when it is absent.
fn tag_keys(raw_query: Option<&str>) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    let mut present = false;
    for pair in raw_query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "tagKeys" {
            present = true;
            let value = value.replace('+', " ");
            keys.push(percent_decode_str(&value).decode_utf8_lossy().into_owned());
        }
    }
    present.then_some(keys)
}

/// Serves one request and logs errors at a level that matches who is at fault.
async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    match process(&app, request).await {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                tracing::error!(%method, %path, error = %error, "request failed");
            } else {
                tracing::debug!(%method, %path, code = error.name(), error = %error, "request rejected");
            }
            error.into_response()
        }
    }
}

async fn process(app: &App, request: Request) -> Result<Reply, ApiError> {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES)
        .await
        .map_err(|error| ApiError::other(format!("Failed to read the request body: {error}")))?;
    let raw_path = parts.uri.path();
    let raw_query = parts.uri.query();

    let signed = SignedRequest {
        method: parts.method.as_str(),
        raw_path,
        raw_query,
        headers: &parts.headers,
        body: &body,
    };
    sigv4::verify(
        &signed,
        &app.config.key_policy,
        &app.config.region,
        SIGNING_SERVICE,
        chrono::Utc::now(),
    )?;

    let route = route(&parts.method, raw_path)?;
    let operation = match &route {
        Route::Post(operation) | Route::Tags(operation, _) => *operation,
    };
    app.calls.record(operation);
    app.limiter.acquire(operation)?;

    let store = &app.store;
    match route {
        Route::Tags(operation, arn) => match operation {
            "ListTagsForResource" => tags::list(store, &arn).await,
            "TagResource" => tags::tag(store, &arn, &parse_body(&body)?).await,
            _ => tags::untag(store, &arn, tag_keys(raw_query)).await,
        },
        Route::Post(operation) => {
            let request = parse_body(&body)?;
            match operation {
                "CreateRoom" => rooms::create_room(store, &request).await,
                "GetRoom" => rooms::get_room(store, &request).await,
                "UpdateRoom" => rooms::update_room(store, &request).await,
                "DeleteRoom" => rooms::delete_room(store, &request).await,
                "ListRooms" => rooms::list_rooms(store, &request).await,
                "CreateLoggingConfiguration" => {
                    let quota = app.config.logging_configuration_quota;
                    logging::create(store, quota, &request).await
                }
                "GetLoggingConfiguration" => logging::get(store, &request).await,
                "UpdateLoggingConfiguration" => logging::update(store, &request).await,
                "DeleteLoggingConfiguration" => logging::delete(store, &request).await,
                "ListLoggingConfigurations" => logging::list(store, &request).await,
                "CreateChatToken" => messaging::create_chat_token(store, &request).await,
                "SendEvent" => messaging::send_event(store, &request).await,
                "DeleteMessage" => messaging::delete_message(store, &request).await,
                "DisconnectUser" => messaging::disconnect_user(store, &request).await,
                other => Err(ApiError::Internal(format!(
                    "operation {other} has no handler"
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_paths_route_by_method() {
        let path = "/tags/arn%3Aaws%3Aivschat%3Aus-east-1%3A123456789012%3Aroom%2Fabc";
        let Ok(Route::Tags(operation, arn)) = route(&Method::DELETE, path) else {
            panic!("expected a tag route");
        };
        assert_eq!(operation, "UntagResource");
        assert_eq!(arn, "arn:aws:ivschat:us-east-1:123456789012:room/abc");
        assert!(route(&Method::PUT, path).is_err());
    }

    #[test]
    fn unknown_operations_are_rejected() {
        for (method, path) in [
            (Method::POST, "/CreateChannel"),
            (Method::GET, "/CreateRoom"),
            (Method::POST, "/"),
            (Method::POST, "/tags/a/b"),
        ] {
            let Err(ApiError::Validation { reason, .. }) = route(&method, path) else {
                panic!("{method} {path} should be unknown");
            };
            assert_eq!(reason, ValidationReason::UnknownOperation);
        }
    }

    #[test]
    fn tag_keys_are_decoded_and_absence_is_distinct() {
        assert_eq!(
            tag_keys(Some("tagKeys=a%3Ab&tagKeys=c")),
            Some(vec!["a:b".to_string(), "c".to_string()])
        );
        assert_eq!(tag_keys(Some("other=1")), None);
        assert_eq!(tag_keys(None), None);
    }
}
