//! The operator's HTTP endpoints: `/metrics` for Prometheus, `/healthz` and `/readyz` for
//! probes, and `PUT /log-level` to change the log filter without a restart.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};

use crate::metrics;
use crate::telemetry::LogLevel;

/// State the endpoints read.
#[derive(Clone)]
pub struct Probes {
    /// Set once the controllers run, or wait as a standby for leadership.
    pub ready: Arc<AtomicBool>,
    /// Changes the log filter.
    pub log_level: LogLevel,
}

/// Builds the router for the operator's endpoints.
pub fn router(probes: Probes) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness))
        .route("/log-level", put(set_log_level))
        .with_state(probes)
}

/// Serves the endpoints on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    probes: Probes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(probes))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render_metrics() -> Result<String, StatusCode> {
    metrics::global()
        .encode()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn readiness(State(probes): State<Probes>) -> (StatusCode, &'static str) {
    if probes.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

async fn set_log_level(State(probes): State<Probes>, body: String) -> (StatusCode, String) {
    let directives = body.trim();
    match probes.log_level.set(directives) {
        Ok(()) => {
            tracing::info!(filter = directives, "Changed the log filter");
            (StatusCode::OK, format!("log filter set to {directives}\n"))
        }
        Err(message) => (StatusCode::BAD_REQUEST, format!("{message}\n")),
    }
}
