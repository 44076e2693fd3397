//! Prometheus metrics of the operator, served at `/metrics`.
//!
//! One registry serves the whole process, as Prometheus scrapes one endpoint per process;
//! [`global`] hands it to the controllers and the IVS client without threading a handle
//! through every call.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: &'static str,
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    kind: &'static str,
    ready: &'static str,
}

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    reconcile_seconds: Family<KindLabels, Histogram>,
    ivs_calls: Family<CallLabels, Counter>,
    ivs_call_seconds: Family<OperationLabels, Histogram>,
    limiter_wait_seconds: Family<OperationLabels, Histogram>,
    objects: Family<ConditionLabels, Gauge>,
    drift: Family<ReasonLabels, Counter>,
    /// Ready status per object, from which the `objects` gauge is counted.
    ready_by_object: Mutex<HashMap<String, (&'static str, &'static str)>>,
}

/// Returns the process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("ivschat_operator");
        let reconciles = Family::<KindLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let reconcile_seconds =
            Family::<KindLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        let ivs_calls = Family::<CallLabels, Counter>::default();
        let ivs_call_seconds = Family::<OperationLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> _,
        );
        let limiter_wait_seconds = Family::<OperationLabels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> _,
        );
        let objects = Family::<ConditionLabels, Gauge>::default();
        let drift = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Count of reconciles by kind",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Count of failed reconciles by kind and error category",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles by kind",
            reconcile_seconds.clone(),
        );
        registry.register(
            "ivs_calls",
            "Count of IVS Chat calls by operation and outcome (Success or an error category)",
            ivs_calls.clone(),
        );
        registry.register(
            "ivs_call_duration_seconds",
            "Duration of IVS Chat calls by operation",
            ivs_call_seconds.clone(),
        );
        registry.register(
            "limiter_wait_seconds",
            "Time calls waited for the client-side IVS rate limit, by operation",
            limiter_wait_seconds.clone(),
        );
        registry.register(
            "objects",
            "Number of objects by kind and Ready status",
            objects.clone(),
        );
        registry.register(
            "room_drift_detected",
            "Count of rooms the bulk observer found changed (changed) or absent from a sweep (missing)",
            drift.clone(),
        );
        Self {
            registry,
            reconciles,
            failures,
            reconcile_seconds,
            ivs_calls,
            ivs_call_seconds,
            limiter_wait_seconds,
            objects,
            drift,
            ready_by_object: Mutex::default(),
        }
    }

    /// Counts one finished reconcile.
    pub fn reconciled(&self, kind: &'static str, took: Duration) {
        self.reconciles.get_or_create(&KindLabels { kind }).inc();
        self.reconcile_seconds
            .get_or_create(&KindLabels { kind })
            .observe(took.as_secs_f64());
    }

    /// Counts one failed reconcile.
    pub fn reconcile_failed(&self, kind: &'static str, category: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { kind, category })
            .inc();
    }

    /// Counts one IVS call and its duration.
    pub fn ivs_call(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        self.ivs_calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
        self.ivs_call_seconds
            .get_or_create(&OperationLabels { operation })
            .observe(took.as_secs_f64());
    }

    /// Records how long a call waited for the client-side rate limit.
    pub fn limiter_waited(&self, operation: &'static str, waited: Duration) {
        self.limiter_wait_seconds
            .get_or_create(&OperationLabels { operation })
            .observe(waited.as_secs_f64());
    }

    /// Records an object's Ready status (`True`, `False` or `Unknown`). `None` removes a
    /// deleted object from the count.
    pub fn object_ready(&self, kind: &'static str, key: &str, ready: Option<&'static str>) {
        let Ok(mut by_object) = self.ready_by_object.lock() else {
            return;
        };
        let previous = match ready {
            Some(ready) => by_object.insert(key.to_string(), (kind, ready)),
            None => by_object.remove(key),
        };
        if let Some((kind, ready)) = previous {
            self.objects
                .get_or_create(&ConditionLabels { kind, ready })
                .dec();
        }
        if let Some(ready) = ready {
            self.objects
                .get_or_create(&ConditionLabels { kind, ready })
                .inc();
        }
    }

    /// Counts a room the bulk observer found changed or missing.
    pub fn drift_detected(&self, reason: &'static str) {
        self.drift.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Renders every metric in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
