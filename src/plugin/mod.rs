//! `kubectl ivschat`: a kubectl plugin that uses the IVS Chat rooms ivschat-operator manages.
//!
//! Each command resolves a `ChatRoom` object by name in a namespace ([`resolve`]), checks that
//! it is Ready, and calls IVS Chat on the ARN in its status with the AWS configuration the
//! operator uses ([`aws`]). The messaging calls live in [`commands`], the side-by-side view of
//! Kubernetes and IVS in [`status`], and the text and JSON rendering in [`output`].

pub mod args;
mod aws;
mod commands;
mod error;
mod output;
mod resolve;
mod status;

use std::io::Write as _;

pub use args::Cli;
pub use error::PluginError;

use args::{Command, OutputFormat};

/// Runs the command in `cli` and prints its result to stdout.
pub async fn run(cli: Cli) -> Result<(), PluginError> {
    let cluster = resolve::connect(&cli.kube).await?;
    let mut ivs = aws::IvsClients::load(&cli.aws).await;
    let json = cli.output == OutputFormat::Json;

    let text = match &cli.command {
        Command::Token(args) => {
            let token = commands::token(&cluster, &mut ivs, args).await?;
            render(json, &token, output::token_text)?
        }
        Command::SendEvent(args) => {
            let event = commands::send_event(&cluster, &mut ivs, args).await?;
            render(json, &event, output::event_text)?
        }
        Command::DeleteMessage(args) => {
            let deletion = commands::delete_message(&cluster, &mut ivs, args).await?;
            render(json, &deletion, output::deletion_text)?
        }
        Command::Disconnect(args) => {
            let disconnected = commands::disconnect(&cluster, &mut ivs, args).await?;
            render(json, &disconnected, output::disconnect_text)?
        }
        Command::Status(args) => {
            let reports = status::collect(&cluster, &mut ivs, args.room.as_deref()).await?;
            let text = if json {
                output::json(&output::RoomList { items: &reports })
                    .map_err(|error| PluginError::Output(error.to_string()))?
            } else if reports.is_empty() {
                eprintln!("No ChatRooms found in namespace {:?}.", cluster.namespace);
                String::new()
            } else {
                output::status_text(&reports)
            };
            write_stdout(&text)?;
            let failed = reports.iter().filter(|r| r.ivs_error.is_some()).count();
            if failed > 0 {
                return Err(PluginError::StatusIncomplete { failed });
            }
            return Ok(());
        }
    };
    write_stdout(&text)
}

fn render<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: fn(&T) -> String,
) -> Result<String, PluginError> {
    if json {
        output::json(value).map_err(|error| PluginError::Output(error.to_string()))
    } else {
        Ok(text(value))
    }
}

fn write_stdout(text: &str) -> Result<(), PluginError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| PluginError::Output(error.to_string()))
}
