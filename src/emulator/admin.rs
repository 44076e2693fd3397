//! The admin surface for tests, served on its own listener apart from the IVS Chat API:
//! `GET /calls` returns how many requests each operation received.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;

/// Requests received per operation, counted once a request is authenticated and routed, so
/// throttled and invalid requests count too.
#[derive(Debug, Default)]
pub struct CallCounts {
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl CallCounts {
    /// Counts one request for `operation`.
    pub fn record(&self, operation: &'static str) {
        // A poisoned lock only means another request panicked mid-count; the map stays valid.
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(operation).or_insert(0) += 1;
    }

    /// Copies the current counts.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Builds the admin router.
pub fn router(calls: Arc<CallCounts>) -> Router {
    Router::new()
        .route("/calls", get(list_calls))
        .with_state(calls)
}

async fn list_calls(
    State(calls): State<Arc<CallCounts>>,
) -> axum::Json<BTreeMap<&'static str, u64>> {
    axum::Json(calls.snapshot())
}
