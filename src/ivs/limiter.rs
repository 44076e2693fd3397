//! Client-side rate limits that keep the operator under IVS Chat's per-operation quotas, so
//! that many objects changing at once wait their turn instead of drawing ThrottlingException.
//!
//! Callers of one operation are served first come, first served: governor's own wait lets
//! any waiter win the next token, which can starve one reconcile behind many others.

use std::collections::HashMap;
use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Requests per second IVS Chat allows for each operation, per account and region. These
/// quotas cannot be raised.
const QUOTAS: &[(&str, u32)] = &[
    ("CreateRoom", 5),
    ("GetRoom", 5),
    ("UpdateRoom", 5),
    ("DeleteRoom", 5),
    ("ListRooms", 5),
    ("CreateLoggingConfiguration", 3),
    ("GetLoggingConfiguration", 3),
    ("UpdateLoggingConfiguration", 3),
    ("DeleteLoggingConfiguration", 3),
    ("ListLoggingConfigurations", 3),
    ("TagResource", 10),
    ("UntagResource", 10),
    ("ListTagsForResource", 10),
];

/// One token bucket per IVS operation, shared by every reconcile that uses one client.
#[derive(Debug)]
pub struct Limiter {
    buckets: HashMap<&'static str, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: DefaultDirectRateLimiter,
    /// Held while waiting for a token; tokio's mutex queues its waiters in arrival order.
    queue: tokio::sync::Mutex<()>,
}

impl Limiter {
    /// Builds buckets at the service's quotas, each scaled by `scale` (1.0 is the quota).
    /// Requests are spaced evenly, without bursts, so they never exceed the quota in any window.
    pub fn new(scale: f64) -> Self {
        let buckets = QUOTAS
            .iter()
            .map(|(operation, per_second)| {
                let scaled = (f64::from(*per_second) * scale).round().max(1.0) as u32;
                let rate = NonZeroU32::new(scaled).unwrap_or(NonZeroU32::MIN);
                let bucket = Bucket {
                    rate: RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN)),
                    queue: tokio::sync::Mutex::new(()),
                };
                (*operation, bucket)
            })
            .collect();
        Self { buckets }
    }

    /// Waits until `operation` may be called.
    pub async fn acquire(&self, operation: &str) {
        if let Some(bucket) = self.buckets.get(operation) {
            let _turn = bucket.queue.lock().await;
            bucket.rate.until_ready().await;
        }
    }
}
