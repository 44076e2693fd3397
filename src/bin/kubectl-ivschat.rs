//! `kubectl-ivschat`, the kubectl plugin of ivschat-operator. `kubectl ivschat --help` lists its commands.

use std::process::ExitCode;

use clap::Parser as _;

use ivschat_operator::plugin::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    // kubectl exits with 1 on invalid arguments too, so the plugin does the same instead of
    // clap's 2. Help and version go to stdout with 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };

    // The Kubernetes and AWS clients share rustls, which panics unless one crypto provider is
    // chosen before the first connection.
    if rustls::crypto::aws_lc_rs::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("error: failed to install the TLS crypto provider");
        return ExitCode::FAILURE;
    }

    match plugin::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
