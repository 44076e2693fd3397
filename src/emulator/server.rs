//! HTTP front end: authentication, routing of REST-JSON requests to operations, rate limits
//! and response encoding.
//!
//! A request passes, in order, the SigV4 check, routing, the operation's rate limit and the
//! operation's own validation, as on the real service. A fault set on the admin surface acts
//! between routing and the rate limit: an injected error replaces the rest, while latency and
//! dropped responses act after the operation has run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::Config;
use super::admin::{CallCounts, Fault, FaultTable, SettingsCell};
use super::connection::ConnectionHandle;
use super::error::{ApiError, ValidationReason};
use super::patterns::parse_arn;
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
    pub calls: CallCounts,
    /// Injected faults, set on the admin surface.
    pub faults: FaultTable,
    /// Eventual-consistency delays, set on the admin surface.
    pub settings: SettingsCell,
}

/// Builds the router, which sends every path to [`handle`]. Serve it with connect info of type
/// [`ConnectionHandle`].
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// Every operation of the API, as named in the model.
pub const OPERATIONS: &[&str] = &[
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
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

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

/// Facts about a request that [`process`] records besides its result.
#[derive(Default)]
struct Outcome {
    /// The routed operation, if routing succeeded.
    operation: Option<&'static str>,
    /// The fault applied to the request, if any.
    fault: Option<Fault>,
}

/// Serves one request, applies the latency and dropped-response parts of a fault, and logs
/// the request at debug level and failures at a level that matches who is at fault.
async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(connection): ConnectInfo<ConnectionHandle>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut outcome = Outcome::default();
    let result = process(&app, request, &mut outcome).await;
    let operation = outcome.operation.unwrap_or("unknown");
    let response = match result {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                tracing::error!(operation, %method, %path, error = %error, "request failed");
            } else {
                let code = error.name();
                tracing::debug!(operation, %method, %path, code, error = %error, "request rejected");
            }
            error.into_response()
        }
    };

    let fault = outcome.fault.unwrap_or_default();
    if let Some(latency) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if fault.drop_response {
        connection.abort();
    }
    tracing::debug!(
        operation,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        peer = %connection.peer,
        response_dropped = fault.drop_response,
        "request served"
    );
    response
}

/// Returns the id of the resource a request names, for the members of injected errors.
fn named_resource_id(route: &Route, body: &[u8]) -> String {
    let arn = match route {
        Route::Tags(_, arn) => Some(arn.clone()),
        Route::Post(_) => parse_body(body).ok().and_then(|request| {
            ["identifier", "roomIdentifier"]
                .into_iter()
                .find_map(|key| request.get(key).and_then(Value::as_str).map(str::to_string))
        }),
    };
    arn.as_deref()
        .and_then(parse_arn)
        .map(|parsed| parsed.id)
        .unwrap_or_default()
}

async fn process(app: &App, request: Request, outcome: &mut Outcome) -> Result<Reply, ApiError> {
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
    outcome.operation = Some(operation);
    app.calls.record(operation);
    outcome.fault = app.faults.take(operation);
    if let Some(error) = outcome.fault.as_ref().and_then(|fault| fault.error) {
        tracing::debug!(operation, ?error, "injecting a fault error");
        return Err(error.to_api_error(operation, &named_resource_id(&route, &body)));
    }
    app.limiter.acquire(operation)?;
    let settings = app.settings.get();
    let hold_times = settings.logging_configuration_state_hold_ms;

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
                "CreateRoom" => {
                    let delay = settings.room_visibility_delay();
                    rooms::create_room(store, delay, &request).await
                }
                "GetRoom" => rooms::get_room(store, &request).await,
                "UpdateRoom" => rooms::update_room(store, &request).await,
                "DeleteRoom" => rooms::delete_room(store, &request).await,
                "ListRooms" => rooms::list_rooms(store, &request).await,
                "CreateLoggingConfiguration" => {
                    let quota = app.config.logging_configuration_quota;
                    let hold = Duration::from_millis(hold_times.creating);
                    logging::create(store, quota, hold, &request).await
                }
                "GetLoggingConfiguration" => logging::get(store, &request).await,
                "UpdateLoggingConfiguration" => {
                    let hold = Duration::from_millis(hold_times.updating);
                    logging::update(store, hold, &request).await
                }
                "DeleteLoggingConfiguration" => {
                    let hold = Duration::from_millis(hold_times.deleting);
                    logging::delete(store, hold, &request).await
                }
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
