//! Per-operation request rate limits, as IVS Chat enforces them per account and region.
//!
//! Each operation has its own token bucket. A bucket contains at most one second's worth of
//! requests and refills continuously, so a client that stays under the rate is never
//! throttled and a burst above it is cut off at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::error::{ApiError, LOGGING_CONFIGURATION, ROOM};

/// Returns the documented default rate, in requests per second, of an operation, and the
/// resource type to report when it is throttled.
pub fn default_rate(operation: &str) -> (f64, &'static str) {
    match operation {
        "CreateRoom" | "GetRoom" | "UpdateRoom" | "DeleteRoom" | "ListRooms" => (5.0, ROOM),
        "CreateLoggingConfiguration"
        | "GetLoggingConfiguration"
        | "UpdateLoggingConfiguration"
        | "DeleteLoggingConfiguration"
        | "ListLoggingConfigurations" => (3.0, LOGGING_CONFIGURATION),
        "TagResource" | "UntagResource" | "ListTagsForResource" => (10.0, ROOM),
        "CreateChatToken" => (200.0, ROOM),
        _ => (100.0, ROOM),
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Token buckets for all operations.
#[derive(Debug)]
pub struct RateLimiter {
    enabled: bool,
    scale: f64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

impl RateLimiter {
    /// Creates a limiter whose rates are the defaults multiplied by `scale`.
    pub fn new(enabled: bool, scale: f64) -> RateLimiter {
        RateLimiter {
            enabled,
            scale,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `operation`, or returns ThrottlingException when none is left.
    pub fn acquire(&self, operation: &'static str) -> Result<(), ApiError> {
        self.acquire_at(operation, Instant::now())
    }

    /// Refills every bucket, as if no request had been made yet.
    pub fn reset(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn acquire_at(&self, operation: &'static str, now: Instant) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let (rate, resource_type) = default_rate(operation);
        let rate = rate * self.scale;
        // A bucket must hold at least one token, or a scaled rate below 1/s would never pass.
        let capacity = rate.max(1.0);

        // A poisoned lock only means another request panicked while refilling, and the buckets
        // are still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(operation).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.refilled = now;

        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        tracing::debug!(operation, rate, "request throttled");
        Err(ApiError::Throttling {
            message: format!("Rate exceeded for {operation}: at most {rate} requests per second"),
            resource_id: operation.to_string(),
            resource_type,
            limit: rate.ceil() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_rate_then_throttles() {
        let limiter = RateLimiter::new(true, 1.0);
        let start = Instant::now();
        for _ in 0..5 {
            assert!(limiter.acquire_at("GetRoom", start).is_ok());
        }
        assert!(limiter.acquire_at("GetRoom", start).is_err());
        // Other operations have their own buckets.
        assert!(limiter.acquire_at("ListRooms", start).is_ok());
        // A fifth of a second refills one token at 5 per second.
        let later = start + Duration::from_millis(200);
        assert!(limiter.acquire_at("GetRoom", later).is_ok());
        assert!(limiter.acquire_at("GetRoom", later).is_err());
    }

    #[test]
    fn scale_multiplies_rates() {
        let limiter = RateLimiter::new(true, 2.0);
        let start = Instant::now();
        for _ in 0..6 {
            assert!(
                limiter
                    .acquire_at("CreateLoggingConfiguration", start)
                    .is_ok()
            );
        }
        assert!(
            limiter
                .acquire_at("CreateLoggingConfiguration", start)
                .is_err()
        );
    }

    #[test]
    fn disabled_limiter_never_throttles() {
        let limiter = RateLimiter::new(false, 1.0);
        let start = Instant::now();
        for _ in 0..100 {
            assert!(limiter.acquire_at("CreateRoom", start).is_ok());
        }
    }
}
