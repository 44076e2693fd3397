//! The local IVS Chat service: an HTTP server that speaks the IVS Chat REST-JSON protocol
//! (API version 2020-07-14) with SigV4 authentication, so that the AWS CLI, boto3 and
//! `aws-sdk-ivschat` work against it unchanged when given its endpoint URL.
//!
//! It implements the room, logging-configuration and tag operations with the API model's
//! validation, error types and status codes, plus the messaging operations without a chat
//! connection behind them. State lives in memory, or in a JSON state file that is written
//! durably before each response.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

mod admin;
mod connection;
mod error;
mod logging;
mod messaging;
mod model;
mod patterns;
mod pending;
mod ratelimit;
mod rooms;
mod server;
mod sigv4;
mod store;
mod tags;
mod validate;

use connection::{AbortableListener, ConnectionHandle};
pub use sigv4::KeyPolicy;

/// Whether per-operation rate limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimits {
    /// Enforce the service's per-operation request rates.
    On,
    /// Accept any request rate.
    Off,
}

/// Command-line options of `ivschat-operator emulator`.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on. Port 0 picks a free port. Use a loopback address unless other
    /// hosts must reach the service.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// Address of the admin surface for tests, kept apart from the IVS Chat API. Without it,
    /// no admin surface is served. Endpoints (JSON bodies): `GET /calls` returns requests per
    /// operation. `POST /reset` removes all resources, call counts, faults and settings.
    /// `PUT /faults/{Operation}` sets a fault, `{"error": "<error type>", "latencyMs": N,
    /// "dropResponse": true, "times": N}` with every member optional. `error` returns that
    /// error instead of running the operation. `latencyMs` delays the response by N ms.
    /// `dropResponse` runs the operation and closes the connection without a response.
    /// `times` limits the fault to the next N requests, and without it the fault stays until
    /// `DELETE /faults/{Operation}` or `DELETE /faults`. `GET /faults` lists faults.
    /// `PUT /settings` merges `{"roomVisibilityDelayMs": N,
    /// "loggingConfigurationStateHoldMs": {"CREATING": N, "UPDATING": N, "DELETING": N}}`.
    /// A new room stays invisible to GetRoom, ListRooms, UpdateRoom and the tag operations
    /// for `roomVisibilityDelayMs`. Get and List of logging configurations show each
    /// transitional state for its time in ms, and a deleted configuration reads as DELETING
    /// before it disappears. `GET /settings` returns the settings. Faults and settings start
    /// empty and are never written to the state file.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,

    /// AWS region in ARNs and in the SigV4 credential scope that requests must use.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// 12-digit AWS account id in ARNs.
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub account_id: String,

    /// JSON file that keeps resources across restarts. Every change is written to it before
    /// the response. Without it, resources live in memory only.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Access key id and secret access key that requests may be signed with, as ID:SECRET.
    /// Repeat the option, or separate pairs with commas in the environment variable.
    #[arg(
        long = "credentials",
        value_name = "ID:SECRET",
        env = "IVSCHAT_EMULATOR_CREDENTIALS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub credentials: Vec<String>,

    /// Accept requests signed with any access key, without checking the signature. Requests
    /// still need a well-formed AWS4-HMAC-SHA256 Authorization header with this service's
    /// region and service name and a current X-Amz-Date.
    #[arg(long)]
    pub accept_any_credentials: bool,

    /// Whether to enforce the service's per-operation request rates (for example 5 CreateRoom
    /// calls per second), answering excess requests with ThrottlingException.
    #[arg(long, value_enum, default_value = "on")]
    pub rate_limits: RateLimits,

    /// Factor applied to every per-operation request rate, so 2 allows twice the service's rates.
    #[arg(long, value_name = "FLOAT", default_value_t = 1.0)]
    pub rate_limit_scale: f64,

    /// Maximum number of logging configurations in the account. The service default is 10.
    #[arg(long, value_name = "COUNT", default_value_t = 10)]
    pub logging_configuration_quota: usize,
}

/// Validated emulator settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Region in ARNs and in the SigV4 scope.
    pub region: String,
    /// 12-digit account id in ARNs.
    pub account_id: String,
    /// Accepted access keys.
    pub key_policy: KeyPolicy,
    /// Optional state file.
    pub state_file: Option<PathBuf>,
    /// Whether rate limits apply.
    pub rate_limits: bool,
    /// Factor applied to every rate limit.
    pub rate_limit_scale: f64,
    /// Maximum number of logging configurations.
    pub logging_configuration_quota: usize,
}

impl Config {
    /// Settings with one access key, region us-east-1, account 123456789012, no state file
    /// and rate limits on.
    pub fn with_key(access_key_id: &str, secret_access_key: &str) -> Config {
        Config {
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            key_policy: KeyPolicy::Keys(HashMap::from([(
                access_key_id.to_string(),
                secret_access_key.to_string(),
            )])),
            state_file: None,
            rate_limits: true,
            rate_limit_scale: 1.0,
            logging_configuration_quota: 10,
        }
    }

    /// Validates command-line options.
    pub fn from_args(args: &EmulatorArgs) -> anyhow::Result<Config> {
        let region_ok = !args.region.is_empty()
            && args
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        anyhow::ensure!(
            region_ok,
            "invalid --region '{}': expected lower-case letters, digits and '-', such as us-east-1",
            args.region
        );
        anyhow::ensure!(
            args.account_id.len() == 12 && args.account_id.chars().all(|c| c.is_ascii_digit()),
            "invalid --account-id '{}': expected exactly 12 digits",
            args.account_id
        );
        anyhow::ensure!(
            args.rate_limit_scale.is_finite() && args.rate_limit_scale > 0.0,
            "invalid --rate-limit-scale {}: expected a number greater than 0",
            args.rate_limit_scale
        );

        let key_policy = if args.accept_any_credentials {
            KeyPolicy::AcceptAny
        } else {
            let mut keys = HashMap::new();
            for (index, pair) in args.credentials.iter().enumerate() {
                // The message names the position only, so the secret never reaches a log.
                let (id, secret) = pair
                    .split_once(':')
                    .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
                    .with_context(|| {
                        format!(
                            "invalid --credentials value number {}: expected ID:SECRET with \
                             both parts non-empty",
                            index + 1
                        )
                    })?;
                keys.insert(id.to_string(), secret.to_string());
            }
            anyhow::ensure!(
                !keys.is_empty(),
                "no credentials configured: pass --credentials ID:SECRET (repeatable, or \
                 IVSCHAT_EMULATOR_CREDENTIALS) or --accept-any-credentials"
            );
            KeyPolicy::Keys(keys)
        };

        Ok(Config {
            region: args.region.clone(),
            account_id: args.account_id.clone(),
            key_policy,
            state_file: args.state_file.clone(),
            rate_limits: args.rate_limits == RateLimits::On,
            rate_limit_scale: args.rate_limit_scale,
            logging_configuration_quota: args.logging_configuration_quota,
        })
    }
}

/// Serves the emulator on `listener` until `shutdown` completes, then finishes open requests
/// and returns. Fails when the state file cannot be loaded.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_admin(listener, None, config, shutdown).await
}

/// Like [`serve`], and also serves the admin surface on `admin` when given, until the API
/// server stops.
pub async fn serve_with_admin(
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::Store::open(
        config.state_file.clone(),
        &config.region,
        &config.account_id,
    )
    .await?;
    let limiter = ratelimit::RateLimiter::new(config.rate_limits, config.rate_limit_scale);
    let app = Arc::new(server::App {
        config,
        store,
        limiter,
        calls: admin::CallCounts::default(),
        faults: admin::FaultTable::default(),
        settings: admin::SettingsCell::default(),
    });
    let admin_task = admin.map(|admin_listener| {
        let router = admin::router(app.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(admin_listener, router).await {
                tracing::error!(%error, "admin server failed");
            }
        })
    });
    let service = server::router(app).into_make_service_with_connect_info::<ConnectionHandle>();
    let served = axum::serve(AbortableListener::new(listener), service)
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed");
    if let Some(task) = admin_task {
        task.abort();
    }
    served
}

/// Runs the emulator from command-line options: binds, prints `listening on http://IP:PORT`
/// (and `admin listening on http://IP:PORT` with `--admin-listen`) to stdout once bound, and
/// serves until SIGTERM or Ctrl-C.
pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let config = Config::from_args(&args)?;
    if let Some(path) = &config.state_file {
        let directory = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        anyhow::ensure!(
            directory.is_dir(),
            "the directory of --state-file {} does not exist; create it first",
            path.display()
        );
        // Read the state once before announcing the address, so a script waiting for
        // `listening on` never sees a service that then fails on a broken file.
        store::Store::open(Some(path.clone()), &config.region, &config.account_id)
            .await
            .context("fix the state file or delete it to start empty")?;
    }
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("failed to read the bound address")?;
    let admin = match args.admin_listen {
        Some(admin_address) => Some(
            tokio::net::TcpListener::bind(admin_address)
                .await
                .with_context(|| format!("failed to listen on {admin_address}"))?,
        ),
        None => None,
    };
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}").context("failed to write to stdout")?;
        if let Some(admin) = &admin {
            let admin_address = admin
                .local_addr()
                .context("failed to read the admin address")?;
            writeln!(stdout, "admin listening on http://{admin_address}")
                .context("failed to write to stdout")?;
        }
        stdout.flush().context("failed to flush stdout")?;
    }
    tracing::info!(
        %address,
        region = %config.region,
        account_id = %config.account_id,
        state_file = ?config.state_file,
        rate_limits = config.rate_limits,
        "IVS Chat emulator started"
    );
    serve_with_admin(listener, admin, config, shutdown_signal()).await?;
    tracing::info!("IVS Chat emulator stopped");
    Ok(())
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}
