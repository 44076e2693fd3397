//! The admin surface for tests, served on its own listener apart from the IVS Chat API.
//!
//! | request | effect |
//! | --- | --- |
//! | `GET /calls` | requests received per operation |
//! | `POST /reset` | removes all resources, call counts, faults and settings, and refills the rate limits |
//! | `GET /faults` | faults by operation |
//! | `PUT /faults/{Operation}` | sets the operation's fault ([`Fault`] as JSON) |
//! | `DELETE /faults/{Operation}`, `DELETE /faults` | removes one fault or all |
//! | `GET /settings`, `PUT /settings` | reads or merges [`Settings`] |
//!
//! Faults and settings live in memory only and never reach the state file. Invalid requests
//! get status 400 or 404 with a JSON body `{"message": "..."}`.

mod faults;
mod settings;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::json;

pub use faults::{Fault, FaultTable};
pub use settings::{Settings, SettingsCell, SettingsPatch};

use super::server::{App, OPERATIONS};

/// Requests received per operation, counted once a request is authenticated and routed, so
/// throttled, invalid and faulted requests count too.
#[derive(Debug, Default)]
pub struct CallCounts {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl CallCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, u64>> {
        // A poisoned lock only means another request panicked mid-count, and the map stays valid.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one request for `operation`.
    pub fn record(&self, operation: &'static str) {
        *self.lock().entry(operation).or_insert(0) += 1;
    }

    /// Copies the current counts.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.lock().clone()
    }

    /// Sets every count back to zero.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Builds the admin router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/calls", get(list_calls))
        .route("/reset", post(reset))
        .route("/faults", get(list_faults).delete(clear_faults))
        .route("/faults/{operation}", put(set_fault).delete(remove_fault))
        .route("/settings", get(get_settings).put(merge_settings))
        .with_state(app)
}

/// An admin request error, sent as `{"message": ...}`.
struct AdminError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = axum::Json(json!({ "message": self.message }));
        (self.status, body).into_response()
    }
}

/// Parses a JSON body, reporting what is wrong with it.
fn parse_json<T: DeserializeOwned>(body: &Bytes, kind: &str) -> Result<T, AdminError> {
    serde_json::from_slice(body).map_err(|error| AdminError {
        status: StatusCode::BAD_REQUEST,
        message: format!("invalid {kind}: {error}"),
    })
}

/// Returns the static name of `operation`, or a 404 that lists the valid names.
fn known_operation(operation: &str) -> Result<&'static str, AdminError> {
    OPERATIONS
        .iter()
        .copied()
        .find(|known| *known == operation)
        .ok_or_else(|| AdminError {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "unknown operation '{operation}'; expected one of {}",
                OPERATIONS.join(", ")
            ),
        })
}

async fn list_calls(State(app): State<Arc<App>>) -> axum::Json<BTreeMap<&'static str, u64>> {
    axum::Json(app.calls.snapshot())
}

async fn reset(State(app): State<Arc<App>>) -> Result<StatusCode, Response> {
    app.store
        .clear()
        .await
        .map_err(IntoResponse::into_response)?;
    app.calls.clear();
    app.faults.clear();
    app.settings.reset();
    app.limiter.reset();
    tracing::info!("emulator reset: resources, call counts, faults and settings cleared");
    Ok(StatusCode::NO_CONTENT)
}

async fn list_faults(State(app): State<Arc<App>>) -> axum::Json<BTreeMap<String, Fault>> {
    axum::Json(app.faults.snapshot())
}

async fn set_fault(
    State(app): State<Arc<App>>,
    Path(operation): Path<String>,
    body: Bytes,
) -> Result<axum::Json<Fault>, AdminError> {
    let operation = known_operation(&operation)?;
    let fault: Fault = if body.is_empty() {
        Fault::default()
    } else {
        parse_json(&body, "fault")?
    };
    if fault.times == Some(0) {
        return Err(AdminError {
            status: StatusCode::BAD_REQUEST,
            message: "invalid fault: times must be at least 1, or absent for no limit".to_string(),
        });
    }
    app.faults.set(operation, fault.clone());
    tracing::info!(operation, ?fault, "fault set");
    Ok(axum::Json(fault))
}

async fn remove_fault(
    State(app): State<Arc<App>>,
    Path(operation): Path<String>,
) -> Result<StatusCode, AdminError> {
    let operation = known_operation(&operation)?;
    if app.faults.remove(operation) {
        tracing::info!(operation, "fault removed");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.faults.clear();
    tracing::info!("all faults removed");
    StatusCode::NO_CONTENT
}

async fn get_settings(State(app): State<Arc<App>>) -> axum::Json<Settings> {
    axum::Json(app.settings.get())
}

async fn merge_settings(
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<axum::Json<Settings>, AdminError> {
    let patch: SettingsPatch = parse_json(&body, "settings")?;
    let settings = app.settings.merge(patch);
    tracing::info!(?settings, "settings changed");
    Ok(axum::Json(settings))
}
