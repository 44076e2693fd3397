//! The operator at scale: N rooms on the real kube-apiserver, against the local IVS Chat
//! service enforcing the IVS quotas. For each N it measures apply-to-Ready against the
//! N/5-second bound and the IVS calls per room over a create, update and delete lifecycle.
//! It also measures the calls in steady state, the time to revert an out-of-band change and
//! an out-of-band deletion, the operator's resident memory, and a restart with everything
//! converged.
//!
//! Run with `make bench-scale`, or `tools/testenv/run.sh cargo bench --bench scale`. The runs
//! come from `IVSCHAT_BENCH_RUNS`, a space-separated list of `N` or `N@S`. With `@S`, the
//! service and the operator run at S times the quotas and the operator polls S times as often,
//! so time shrinks S-fold. Durations are then multiplied by S and reported as equivalent times
//! at the real quotas, and the run is marked scaled. Without `--bench` (as under `cargo test`),
//! one small scaled run checks that the benchmark works.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use ivschat_operator::crd::ChatRoom;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use support::TestEnv;

/// Operations that change IVS.
const WRITES: [&str; 5] = [
    "CreateRoom",
    "UpdateRoom",
    "DeleteRoom",
    "TagResource",
    "UntagResource",
];

/// The operator's settings at real quotas; scaled runs divide the intervals.
const POLL_SECONDS: f64 = 5.0;
const RESYNC_SECONDS: f64 = 300.0;

/// Time between all Ready and the steady state, in equivalent seconds: two head reads.
const SETTLE_SECONDS: f64 = 4.0 * POLL_SECONDS;

/// Time to watch the steady state, in equivalent seconds.
const STEADY_SECONDS: f64 = 120.0;

/// Kubernetes writes in flight at once while the benchmark applies, updates and deletes.
const CLIENT_CONCURRENCY: usize = 32;

#[derive(Clone, Copy, Debug)]
struct Run {
    rooms: usize,
    scale: f64,
}

impl Run {
    fn parse(text: &str) -> Run {
        let (rooms, scale) = text.split_once('@').unwrap_or((text, "1"));
        Run {
            rooms: rooms.parse().expect("N in IVSCHAT_BENCH_RUNS is a count"),
            scale: scale.parse().expect("S in IVSCHAT_BENCH_RUNS is a number"),
        }
    }

    /// Converts a measured duration to seconds at the real quotas.
    fn equivalent(&self, elapsed: Duration) -> f64 {
        elapsed.as_secs_f64() * self.scale
    }

    /// Real time for `seconds` at the real quotas.
    fn real(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds / self.scale)
    }

    fn label(&self) -> String {
        if self.scale == 1.0 {
            format!("{} rooms, real quotas", self.rooms)
        } else {
            format!(
                "{} rooms, scaled ×{} (times shown at real quotas)",
                self.rooms, self.scale
            )
        }
    }
}

/// State of one room object as the benchmark last saw it through a watch.
#[derive(Clone, Debug, Default)]
struct Seen {
    ready: bool,
    current: bool,
    length: Option<i32>,
    arn: Option<String>,
    update_time: Option<String>,
}

type Rooms = Arc<Mutex<HashMap<String, Seen>>>;

fn watch_rooms(api: Api<ChatRoom>) -> Rooms {
    let rooms: Rooms = Arc::default();
    let shared = rooms.clone();
    tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default()).boxed();
        while let Some(event) = events.next().await {
            let Ok(event) = event else { continue };
            let mut rooms = shared.lock().expect("room map");
            match event {
                watcher::Event::Apply(room) | watcher::Event::InitApply(room) => {
                    let name = room.metadata.name.clone().unwrap_or_default();
                    rooms.insert(name, seen(&room));
                }
                watcher::Event::Delete(room) => {
                    rooms.remove(room.metadata.name.as_deref().unwrap_or_default());
                }
                watcher::Event::Init | watcher::Event::InitDone => {}
            }
        }
    });
    rooms
}

fn seen(room: &ChatRoom) -> Seen {
    let status = room.status.clone().unwrap_or_default();
    Seen {
        ready: support::is_ready(room),
        current: status.observed_generation == room.metadata.generation,
        length: status.maximum_message_length,
        arn: status.arn,
        update_time: status.update_time,
    }
}

/// Waits until `done` holds for the room map, checking every 50 ms, or panics after `limit`.
async fn wait_until(
    rooms: &Rooms,
    limit: Duration,
    what: &str,
    done: impl Fn(&HashMap<String, Seen>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if done(&rooms.lock().expect("room map")) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Samples the resident set size of a process every 100 ms.
struct Memory {
    peak: Arc<Mutex<u64>>,
    pid: u32,
    task: tokio::task::JoinHandle<()>,
}

impl Memory {
    fn watch(pid: u32) -> Memory {
        let peak = Arc::new(Mutex::new(0));
        let shared = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = rss_kib(pid) {
                    let mut peak = shared.lock().expect("peak");
                    *peak = (*peak).max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Memory { peak, pid, task }
    }

    fn peak_mib(&self) -> f64 {
        *self.peak.lock().expect("peak") as f64 / 1024.0
    }

    fn now_mib(&self) -> f64 {
        rss_kib(self.pid).unwrap_or_default() as f64 / 1024.0
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Call counts by operation from the service's admin surface.
async fn calls(env: &TestEnv) -> BTreeMap<String, u64> {
    let body = support::http("GET", &format!("{}/calls", env.emulator.admin), "").await;
    serde_json::from_str(&body).expect("call counts are JSON")
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn per_room(calls: &BTreeMap<String, u64>, rooms: usize) -> String {
    if calls.is_empty() {
        return "none".into();
    }
    calls
        .iter()
        .map(|(op, n)| format!("{op} {:.2}", *n as f64 / rooms as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

fn writes(calls: &BTreeMap<String, u64>) -> u64 {
    WRITES
        .iter()
        .map(|op| calls.get(*op).copied().unwrap_or(0))
        .sum()
}

/// Reads the operator's count of finished room reconciles from its metrics.
async fn reconciles(metrics: &str) -> Option<u64> {
    let text = support::try_http_get(metrics).await?;
    text.lines()
        .find(|l| l.starts_with("ivschat_operator_reconciles_total{kind=\"ChatRoom\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn spawn_operator(env: &TestEnv, run: &Run, log: &str, metrics_port: u16) -> tokio::process::Child {
    let poll = format!("{}", POLL_SECONDS / run.scale);
    let resync = format!("{}", (RESYNC_SECONDS / run.scale).ceil().max(1.0) as u64);
    let scale = format!("{}", run.scale);
    let listen = format!("127.0.0.1:{metrics_port}");
    env.spawn_operator(
        log,
        &[
            "--poll-seconds",
            &poll,
            "--resync-seconds",
            &resync,
            "--ivs-quota-scale",
            &scale,
            "--http-listen",
            &listen,
        ],
    )
}

fn manifest(name: &str, length: i32) -> ChatRoom {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "ivschat.operators.dev/v1alpha1",
        "kind": "ChatRoom",
        "metadata": {"name": name},
        "spec": {"maximumMessageLength": length},
    }))
    .expect("a valid ChatRoom")
}

struct Report {
    lines: Vec<(String, String)>,
}

impl Report {
    fn add(&mut self, what: &str, value: String) {
        println!("  {what}: {value}");
        self.lines.push((what.into(), value));
    }
}

async fn bench(run: Run) -> Report {
    let mut report = Report { lines: Vec::new() };
    println!("## {}", run.label());
    let mut env = TestEnv::start("bench").await;
    env.stop_operator().await;
    let log = support::repo_path("target/e2e-logs").join(format!("{}-scaled.log", env.namespace));
    let scale = format!("{}", run.scale);
    env.emulator = support::Emulator::start(&log, &["--rate-limit-scale", &scale]).await;
    let api: Api<ChatRoom> = env.api();
    let rooms = watch_rooms(api.clone());
    let n = run.rooms;
    let names: Vec<String> = (0..n).map(|i| format!("room-{i:05}")).collect();
    let bound = n as f64 / 5.0;
    let limit = run.real(bound * 3.0 + 300.0);

    let mut operator = spawn_operator(&env, &run, "operator", support::free_port());
    let memory = Memory::watch(operator.id().expect("operator pid"));

    // Create.
    let before = calls(&env).await;
    let started = Instant::now();
    futures::stream::iter(names.iter())
        .map(|name| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &manifest(name, 100))
                    .await
            }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("the rooms are created");
    let applied = started.elapsed();
    wait_until(&rooms, limit, "every room Ready", |r| {
        r.len() == n && r.values().all(|s| s.ready && s.current)
    })
    .await;
    let ready = started.elapsed();
    // The observer's next head read takes the pages of rooms created since its last one. Those
    // calls belong to the creation, not to the steady state.
    tokio::time::sleep(run.real(SETTLE_SECONDS)).await;
    let created = delta(&calls(&env).await, &before);
    report.add(
        "apply (Kubernetes writes only)",
        format!("{:.1} s", run.equivalent(applied)),
    );
    report.add(
        "apply to all Ready",
        format!(
            "{:.1} s; bound N/5 = {:.1} s; ratio {:.3}",
            run.equivalent(ready),
            bound,
            run.equivalent(ready) / bound
        ),
    );
    report.add("IVS calls per room created", per_room(&created, n));

    // Steady state.
    let before = calls(&env).await;
    tokio::time::sleep(run.real(STEADY_SECONDS)).await;
    let steady = delta(&calls(&env).await, &before);
    let per_hour: BTreeMap<String, u64> = steady
        .iter()
        .map(|(op, count)| {
            (
                op.clone(),
                (*count as f64 * 3600.0 / STEADY_SECONDS).round() as u64,
            )
        })
        .collect();
    report.add(
        "steady state, IVS calls per hour",
        if per_hour.is_empty() {
            "none".into()
        } else {
            format!("{per_hour:?}")
        },
    );
    report.add(
        "steady state, ListRooms per poll interval",
        format!(
            "{:.2}",
            steady.get("ListRooms").copied().unwrap_or(0) as f64 / (STEADY_SECONDS / POLL_SECONDS)
        ),
    );
    report.add(
        "RSS peak while creating",
        format!("{:.1} MiB", memory.peak_mib()),
    );
    report.add(
        "RSS in steady state",
        format!("{:.1} MiB", memory.now_mib()),
    );

    // Out-of-band change of a room in the middle of the list.
    let ivs = env.emulator.client();
    let target = &names[n / 2];
    let (arn, before_time) = {
        let rooms = rooms.lock().expect("room map");
        let seen = &rooms[target];
        (seen.arn.clone().expect("an ARN"), seen.update_time.clone())
    };
    let started = Instant::now();
    ivs.update_room()
        .identifier(&arn)
        .maximum_message_length(77)
        .send()
        .await
        .expect("out-of-band update");
    let target_name = target.clone();
    wait_until(&rooms, limit, "the change to be reverted", |r| {
        let seen = &r[&target_name];
        seen.update_time != before_time && seen.length == Some(100) && seen.ready
    })
    .await;
    report.add(
        "out-of-band change reverted after",
        format!("{:.1} s", run.equivalent(started.elapsed())),
    );

    // Out-of-band deletion of the oldest room, which only a complete sweep reaches.
    let target = names[0].clone();
    let arn = rooms.lock().expect("room map")[&target]
        .arn
        .clone()
        .expect("an ARN");
    let started = Instant::now();
    ivs.delete_room()
        .identifier(&arn)
        .send()
        .await
        .expect("out-of-band delete");
    wait_until(&rooms, limit, "the deleted room to be recreated", |r| {
        let seen = &r[&target];
        seen.ready && seen.arn.as_deref() != Some(arn.as_str())
    })
    .await;
    report.add(
        "out-of-band deletion recreated after",
        format!("{:.1} s", run.equivalent(started.elapsed())),
    );
    drop(memory);

    // Restart with everything converged.
    let _ = operator.start_kill();
    let _ = operator.wait().await;
    tokio::time::sleep(run.real(10.0)).await;
    let before = calls(&env).await;
    let port = support::free_port();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let started = Instant::now();
    operator = spawn_operator(&env, &run, "restarted", port);
    let memory = Memory::watch(operator.id().expect("operator pid"));
    let first = loop {
        if reconciles(&metrics).await.unwrap_or(0) >= 1 {
            break started.elapsed();
        }
        assert!(started.elapsed() < limit, "no reconcile after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let all = loop {
        if reconciles(&metrics).await.unwrap_or(0) >= n as u64 {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "not every room was reconciled after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Watch one more poll interval pair for calls the restart causes.
    tokio::time::sleep(run.real(POLL_SECONDS * 2.0)).await;
    let restart_calls = delta(&calls(&env).await, &before);
    report.add(
        "restart to first reconcile",
        format!("{:.2} s (real time)", first.as_secs_f64()),
    );
    report.add(
        "restart to every room reconciled",
        format!("{:.2} s (real time)", all.as_secs_f64()),
    );
    report.add(
        "IVS calls caused by the restart",
        format!("{} writes; {restart_calls:?}", writes(&restart_calls)),
    );
    report.add(
        "RSS peak after restart",
        format!("{:.1} MiB", memory.peak_mib()),
    );

    // Update every room.
    let before = calls(&env).await;
    let started = Instant::now();
    futures::stream::iter(names.iter())
        .map(|name| {
            let api = api.clone();
            let patch = serde_json::json!({"spec": {"maximumMessageLength": 200}});
            async move {
                api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
            }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await
        .expect("the rooms are updated");
    wait_until(&rooms, limit, "every room updated", |r| {
        r.values()
            .all(|s| s.ready && s.current && s.length == Some(200))
    })
    .await;
    let updated_after = started.elapsed();
    let updated = delta(&calls(&env).await, &before);
    report.add(
        "update all to Ready",
        format!(
            "{:.1} s; bound {:.1} s",
            run.equivalent(updated_after),
            bound
        ),
    );
    report.add("IVS calls per room updated", per_room(&updated, n));

    // Delete every room.
    let before = calls(&env).await;
    let started = Instant::now();
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .expect("the rooms are deleted");
    wait_until(&rooms, limit, "every room gone", |r| r.is_empty()).await;
    let deleted_after = started.elapsed();
    let deleted = delta(&calls(&env).await, &before);
    report.add(
        "delete all until gone",
        format!(
            "{:.1} s; bound {:.1} s",
            run.equivalent(deleted_after),
            bound
        ),
    );
    report.add("IVS calls per room deleted", per_room(&deleted, n));
    let lifecycle: u64 = [&created, &updated, &deleted]
        .iter()
        .flat_map(|calls| calls.values())
        .sum();
    report.add(
        "IVS calls per room over create, update, delete",
        format!("{:.2}", lifecycle as f64 / n as f64),
    );
    report.add(
        "one GetRoom per room per 300 s resync would cost",
        format!(
            "{} GetRoom per hour ({:.0}% of the 18,000 an hour the quota allows); one pass takes {:.0} s",
            n * 12,
            n as f64 * 12.0 / 180.0,
            bound
        ),
    );
    drop(memory);
    let _ = operator.start_kill();
    let _ = operator.wait().await;
    let _ = env
        .kubectl(&["delete", "namespace", &env.namespace, "--wait=false"])
        .await;
    report
}

#[tokio::main]
async fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let runs = if benchmarking {
        std::env::var("IVSCHAT_BENCH_RUNS").unwrap_or_else(|_| "100 1000 10000@10".into())
    } else {
        "20@10".into()
    };
    let mut reports = Vec::new();
    for run in runs.split_whitespace().map(Run::parse) {
        reports.push((run, bench(run).await));
    }
    println!();
    println!(
        "| measure | {} |",
        reports
            .iter()
            .map(|(r, _)| r.label())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(reports.len()));
    let Some((_, first)) = reports.first() else {
        return;
    };
    for (index, (what, _)) in first.lines.iter().enumerate() {
        let values: Vec<&str> = reports
            .iter()
            .map(|(_, r)| r.lines[index].1.as_str())
            .collect();
        println!("| {what} | {} |", values.join(" | "));
    }
}
