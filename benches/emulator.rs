//! Throughput and latency of the local IVS Chat service, measured with `aws-sdk-ivschat` over
//! loopback HTTP: GetRoom and CreateRoom with rate limits off (in memory and with a state
//! file), and the accepted request rate with rate limits on.
//!
//! Run with `cargo bench --bench emulator`. Every phase is bounded by a request count and a
//! time limit, so the whole run takes well under a minute. Prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_ivschat::Client;
use aws_sdk_ivschat::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use ivschat_operator::emulator::{Config, serve};

const KEY_ID: &str = "AKIDBENCHMARK";
const SECRET: &str = "benchmark+secret";
/// Requests in flight at once in the throughput phases.
const CONCURRENCY: usize = 8;
/// Upper bound on requests per throughput phase.
const MAX_REQUESTS: usize = 4000;
/// Upper bound on the duration of each phase.
const PHASE_LIMIT: Duration = Duration::from_secs(8);
/// Duration of the rate-limit phase.
const RATE_PHASE: Duration = Duration::from_secs(5);

/// Starts an emulator on a free loopback port and returns a client for it.
async fn start(config: Config) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback port");
    let address = listener.local_addr().expect("bound address");
    tokio::spawn(serve(listener, config, std::future::pending()));
    let config = aws_sdk_ivschat::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY_ID, SECRET, None, None, "benchmark"))
        .endpoint_url(format!("http://{address}"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Results of one throughput phase.
struct Measurement {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measurement {
    fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * fraction).round() as usize;
        self.latencies[index]
    }
}

/// Sends `call` from `CONCURRENCY` tasks until `MAX_REQUESTS` or `PHASE_LIMIT` is reached.
async fn measure<F, Fut>(call: F) -> Measurement
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let call = call.clone();
            let issued = issued.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while issued.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                    && started.elapsed() < PHASE_LIMIT
                {
                    let sent = Instant::now();
                    if !call().await {
                        errors += 1;
                    }
                    latencies.push(sent.elapsed());
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (worker_latencies, worker_errors) = worker.await.expect("worker joins");
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Measurement {
        requests: latencies.len(),
        errors,
        elapsed,
        latencies,
    }
}

fn print_row(name: &str, measurement: &Measurement) {
    let rate = measurement.requests as f64 / measurement.elapsed.as_secs_f64();
    println!(
        "| {name} | {} | {} | {rate:.0} | {:.2} | {:.2} |",
        measurement.requests,
        measurement.errors,
        measurement.percentile(0.50).as_secs_f64() * 1000.0,
        measurement.percentile(0.99).as_secs_f64() * 1000.0,
    );
}

async fn throughput(name: &str, config: Config) {
    let client = start(config).await;
    let room = client.create_room().send().await.expect("CreateRoom works");
    let arn = room.arn().expect("ARN present").to_string();

    let get_client = client.clone();
    let get = measure(move || {
        let client = get_client.clone();
        let arn = arn.clone();
        async move { client.get_room().identifier(arn).send().await.is_ok() }
    })
    .await;
    print_row(&format!("GetRoom, {name}"), &get);

    let create = measure(move || {
        let client = client.clone();
        async move { client.create_room().send().await.is_ok() }
    })
    .await;
    print_row(&format!("CreateRoom, {name}"), &create);
}

/// Sends GetRoom as fast as `CONCURRENCY` tasks can for `RATE_PHASE` with rate limits on, and
/// returns the accepted and throttled counts.
async fn limited_rate() -> (usize, usize, Duration) {
    let mut config = Config::with_key(KEY_ID, SECRET);
    config.rate_limits = true;
    let client = start(config).await;
    let room = client.create_room().send().await.expect("CreateRoom works");
    let arn = room.arn().expect("ARN present").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let throttled = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let arn = arn.clone();
            let accepted = accepted.clone();
            let throttled = throttled.clone();
            tokio::spawn(async move {
                let mut sent = 0;
                while started.elapsed() < RATE_PHASE && sent < MAX_REQUESTS {
                    sent += 1;
                    match client.get_room().identifier(&arn).send().await {
                        Ok(_) => accepted.fetch_add(1, Ordering::Relaxed),
                        Err(_) => throttled.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker joins");
    }
    (
        accepted.load(Ordering::Relaxed),
        throttled.load(Ordering::Relaxed),
        started.elapsed(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let directory = tempfile::tempdir().expect("temporary directory");
    println!(
        "Concurrency {CONCURRENCY}, at most {MAX_REQUESTS} requests or {} s per row.\n",
        PHASE_LIMIT.as_secs()
    );
    println!("| operation | requests | errors | requests/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");

    let mut in_memory = Config::with_key(KEY_ID, SECRET);
    in_memory.rate_limits = false;
    throughput("in memory", in_memory).await;

    let mut persisted = Config::with_key(KEY_ID, SECRET);
    persisted.rate_limits = false;
    persisted.state_file = Some(directory.path().join("state.json"));
    throughput("state file", persisted).await;

    let (accepted, throttled, elapsed) = limited_rate().await;
    // One full bucket (5 requests) at the start, then 5 per second.
    let allowed = 5.0 + 5.0 * elapsed.as_secs_f64();
    println!(
        "\nRate limits on, GetRoom (quota 5/s): {accepted} accepted and {throttled} throttled in \
         {:.1} s, {:.1} accepted/s; the quota allows at most {allowed:.0}.",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    );
    assert!(
        accepted as f64 <= allowed + 1.0,
        "accepted {accepted} requests, more than the {allowed:.0} the quota allows"
    );
}
