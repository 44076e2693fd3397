//! Command line of `ivschat-operator`: run the controller, print the CRDs, or serve the local
//! IVS Chat service.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ivschat_operator::controller::{self, LeaderElection, Settings};
use ivschat_operator::crd;
use ivschat_operator::emulator::{self, EmulatorArgs};
use ivschat_operator::http::{self, Probes};
use ivschat_operator::ivs::{ClientSettings, IvsClient};
use ivschat_operator::telemetry::{self, LogFormat, LogLevel};

/// jemalloc instead of the system allocator: it fragments less under the many small, short-lived
/// allocations of decoding watch events and returns freed memory to the system within seconds,
/// which keeps the operator's resident memory low with thousands of objects.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "ivschat-operator",
    version,
    about = "Amazon IVS Chat rooms and logging configurations as Kubernetes resources"
)]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "IVSCHAT_LOG_FORMAT")]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers against the cluster in the kubeconfig (or in-cluster config).
    Controller(ControllerArgs),
    /// Print both CustomResourceDefinitions as YAML.
    Crds,
    /// Serve the local IVS Chat service.
    Emulator(EmulatorArgs),
}

#[derive(clap::Args)]
struct ControllerArgs {
    /// IVS Chat endpoint to use instead of the regional AWS endpoint, for example the local
    /// service at http://127.0.0.1:4566.
    #[arg(long, env = "IVSCHAT_ENDPOINT_URL")]
    ivs_endpoint_url: Option<String>,

    /// AWS region; by default the region comes from the AWS configuration chain.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,

    /// Identifies this cluster in the tags of created IVS resources, so clusters sharing an
    /// AWS account never adopt each other's resources.
    #[arg(long, env = "IVSCHAT_CLUSTER_ID", default_value = "default")]
    cluster_id: String,

    /// Seconds between comparisons of a converged object with IVS, to revert drift.
    #[arg(long, env = "IVSCHAT_RESYNC_SECONDS", default_value_t = 300)]
    resync_seconds: u64,

    /// Seconds between two reads of a ListRooms page by the bulk observer, which turns
    /// between the newest rooms and a sweep through all of them. A room changed outside the
    /// operator is found within two intervals; a deleted one within one sweep (two intervals
    /// per 50 rooms).
    #[arg(long, env = "IVSCHAT_POLL_SECONDS", default_value_t = 5.0, value_parser = positive_seconds)]
    poll_seconds: f64,

    /// Reconciles of each kind that run at once; the others wait in line.
    #[arg(long, env = "IVSCHAT_MAX_CONCURRENT_RECONCILES", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    max_concurrent_reconciles: u16,

    /// Multiplies the client-side IVS rate limits. IVS quotas cannot be raised, so keep 1
    /// against AWS; a local service started with the same `--rate-limit-scale` accepts more,
    /// which lets benchmarks shrink time.
    #[arg(long, env = "IVSCHAT_QUOTA_SCALE", default_value_t = 1.0, value_parser = positive_number)]
    ivs_quota_scale: f64,

    /// Deletion policy for objects whose spec sets none: Delete removes the IVS resource with
    /// the object, Retain keeps it.
    #[arg(
        long,
        env = "IVSCHAT_DEFAULT_DELETION_POLICY",
        value_enum,
        default_value = "Delete"
    )]
    default_deletion_policy: crd::DeletionPolicy,

    /// Namespace to watch; repeat the option (or separate names with commas in the
    /// environment variable) for several. Without it, all namespaces are watched.
    #[arg(
        long = "watch-namespace",
        env = "IVSCHAT_WATCH_NAMESPACES",
        value_delimiter = ','
    )]
    watch_namespaces: Vec<String>,

    /// Take part in leader election through a Lease, so that of several replicas only the
    /// leader acts on IVS.
    #[arg(long, env = "IVSCHAT_LEADER_ELECT")]
    leader_elect: bool,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "IVSCHAT_LEADER_ELECTION_LEASE",
        default_value = "ivschat-operator"
    )]
    leader_election_lease: String,

    /// Namespace of the leader-election Lease; defaults to POD_NAMESPACE.
    #[arg(long, env = "POD_NAMESPACE")]
    leader_election_namespace: Option<String>,

    /// Address for /metrics, /healthz, /readyz and PUT /log-level, such as 0.0.0.0:8080;
    /// without it, no HTTP endpoint is served.
    #[arg(long, env = "IVSCHAT_HTTP_LISTEN")]
    http_listen: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Printed as a one-line cause chain: anyhow's Debug form would add a backtrace whenever
    // RUST_BACKTRACE is set, which buries the message a user needs.
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The Kubernetes and AWS clients share rustls; choosing the provider once here stops
    // rustls from panicking when more than one provider is compiled in.
    if rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .is_err()
    {
        anyhow::bail!("failed to install the TLS crypto provider");
    }

    match cli.command {
        Command::Crds => {
            print!(
                "{}",
                crd::definitions_yaml().context("failed to render the CRDs")?
            );
            Ok(())
        }
        Command::Emulator(args) => {
            telemetry::init(cli.log_format, "info");
            emulator::run(args).await
        }
        Command::Controller(args) => {
            let log_level =
                telemetry::init(cli.log_format, "info,kube_runtime=warn,aws_config=warn");
            run_controller(args, log_level).await
        }
    }
}

async fn run_controller(args: ControllerArgs, log_level: LogLevel) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("failed to build a Kubernetes client")?;
    let ivs = IvsClient::from_settings(&ClientSettings {
        region: args.region,
        endpoint_url: args.ivs_endpoint_url,
        quota_scale: args.ivs_quota_scale,
    })
    .await;
    if ivs.region().is_none() {
        anyhow::bail!("no AWS region configured; set --region or AWS_REGION");
    }
    let settings = Settings {
        cluster_id: args.cluster_id,
        resync_period: Duration::from_secs(args.resync_seconds.max(1)),
        namespaces: args.watch_namespaces,
        default_deletion_policy: args.default_deletion_policy,
        poll_interval: Duration::from_secs_f64(args.poll_seconds),
        max_concurrent_reconciles: args.max_concurrent_reconciles,
    };
    let leader_election = if args.leader_elect {
        let namespace = args
            .leader_election_namespace
            .context("--leader-elect needs --leader-election-namespace or POD_NAMESPACE")?;
        let identity = std::env::var("POD_NAME")
            .unwrap_or_else(|_| format!("ivschat-operator-{}", std::process::id()));
        Some(LeaderElection {
            namespace,
            lease_name: args.leader_election_lease,
            identity,
        })
    } else {
        None
    };

    let ready = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let http = match args.http_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("failed to listen on {address}"))?;
            tracing::info!(%address, "Serving metrics and probes");
            let probes = Probes {
                ready: ready.clone(),
                log_level,
            };
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            Some(tokio::spawn(http::serve(listener, probes, shutdown)))
        }
        None => None,
    };

    let result = controller::run(
        client,
        ivs,
        settings,
        leader_election,
        ready,
        shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    if let Some(server) = http {
        let _ = server.await;
    }
    result
}

/// Parses a number of seconds between a millisecond and a day.
fn positive_seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if (0.001..=86_400.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "expected seconds between 0.001 and 86400, got {value:?}"
        )),
    }
}

/// Parses a finite number greater than zero.
fn positive_number(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() && number > 0.0 => Ok(number),
        _ => Err(format!("expected a number greater than 0, got {value:?}")),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "Failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Received Ctrl-C; shutting down"),
        () = terminate => tracing::info!("Received SIGTERM; shutting down"),
    }
}
