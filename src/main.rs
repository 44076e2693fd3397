//! Command line of `ivschat-operator`: run the controller, print the CRDs, or serve the local
//! IVS Chat service.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use ivschat_operator::controller::{self, Settings};
use ivschat_operator::crd;
use ivschat_operator::emulator::{self, EmulatorArgs};
use ivschat_operator::ivs::{ClientSettings, IvsClient};
use ivschat_operator::telemetry::{self, LogFormat};

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

    /// What happens to the IVS resource when an object whose spec sets no deletionPolicy is
    /// deleted: Delete removes it, Retain keeps it.
    #[arg(
        long,
        env = "IVSCHAT_DEFAULT_DELETION_POLICY",
        value_enum,
        default_value = "Delete"
    )]
    default_deletion_policy: crd::DeletionPolicy,

    /// Watch only this namespace instead of all namespaces.
    #[arg(long, env = "IVSCHAT_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();

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
            telemetry::init(cli.log_format, "info,kube_runtime=warn,aws_config=warn");
            run_controller(args).await
        }
    }
}

async fn run_controller(args: ControllerArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("failed to build a Kubernetes client")?;
    let ivs = IvsClient::from_settings(&ClientSettings {
        region: args.region,
        endpoint_url: args.ivs_endpoint_url,
    })
    .await;
    if ivs.region().is_none() {
        anyhow::bail!("no AWS region configured; set --region or AWS_REGION");
    }
    let settings = Settings {
        cluster_id: args.cluster_id,
        resync_period: Duration::from_secs(args.resync_seconds.max(1)),
        namespace: args.watch_namespace,
        default_deletion_policy: args.default_deletion_policy,
    };
    controller::run(client, ivs, settings).await
}
