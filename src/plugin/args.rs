//! Command line of `kubectl ivschat`: the kubectl-style connection options, the AWS options
//! shared with the operator, and one subcommand per IVS Chat call.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Maximum chat session length IVS allows, in minutes (CreateChatToken `sessionDurationInMinutes`).
pub const MAX_SESSION_MINUTES: u16 = 180;

#[derive(Parser, Debug)]
#[command(
    name = "kubectl-ivschat",
    bin_name = "kubectl ivschat",
    version,
    about = "Use the IVS Chat rooms that ivschat-operator manages, by the name of their ChatRoom object",
    long_about = "Use the IVS Chat rooms that ivschat-operator manages, by the name of their \
        ChatRoom object.\n\n\
        Each command reads the ChatRoom in the namespace, checks that it is Ready, and calls IVS \
        Chat on the room ARN in its status. AWS credentials come from the standard chain \
        (environment, shared profile, web identity, container and instance credentials), as \
        for the operator."
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Output format.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Text,
        help_heading = "Output options"
    )]
    pub output: OutputFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Cluster and namespace of the ChatRoom objects, with kubectl's option names.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Kubernetes options")]
pub struct KubeArgs {
    /// Path to the kubeconfig file. Without it, the plugin reads KUBECONFIG or ~/.kube/config,
    /// then the in-cluster configuration.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<String>,

    /// Kubeconfig context to use instead of the current context.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Kubeconfig cluster to use instead of the context's cluster.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Namespace of the ChatRoom objects, by default the context's namespace.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// IVS Chat region and endpoint, set as for the operator.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "AWS options")]
pub struct AwsArgs {
    /// AWS region for rooms whose ARN names none, by default the region of the AWS
    /// configuration chain. Calls on a room go to the region in its ARN.
    #[arg(long, global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// IVS Chat endpoint to use instead of the regional AWS endpoint, for example a local
    /// service at http://127.0.0.1:4566.
    #[arg(long, global = true, env = "IVSCHAT_ENDPOINT_URL", value_name = "URL")]
    pub ivs_endpoint_url: Option<String>,
}

/// Output format of results.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a chat token for a user to connect to a room (CreateChatToken).
    Token(TokenArgs),
    /// Send an event to every client connected to a room (SendEvent).
    SendEvent(SendEventArgs),
    /// Delete a message from a room for every connected client (DeleteMessage).
    DeleteMessage(DeleteMessageArgs),
    /// Disconnect every connection of a user from a room (DisconnectUser).
    Disconnect(DisconnectArgs),
    /// Show ChatRoom objects with their conditions next to their rooms in IVS (GetRoom).
    Status(StatusArgs),
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// Name of the ChatRoom object.
    pub room: String,

    /// Id of the user the token is for, 1 to 128 characters. IVS passes it to other clients
    /// with the user's messages.
    #[arg(long, value_name = "ID")]
    pub user: String,

    /// Capability granted besides receiving messages. Repeat the option for several. Without
    /// it, the user can only read.
    #[arg(long = "capability", value_enum, value_name = "CAPABILITY")]
    pub capabilities: Vec<Capability>,

    /// Maximum length of the chat session in minutes, from 1 to 180. IVS uses 60 when unset.
    #[arg(
        long,
        value_name = "MINUTES",
        value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_SESSION_MINUTES))
    )]
    pub session_duration: Option<u16>,

    /// Attribute attached to the user, as KEY=VALUE. Repeat the option for several. IVS allows
    /// at most 1 KB of attributes in total.
    #[arg(long = "attribute", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
}

/// Permission granted by a chat token.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Send messages to the room.
    #[value(name = "SEND_MESSAGE")]
    SendMessage,
    /// Disconnect other users from the room.
    #[value(name = "DISCONNECT_USER")]
    DisconnectUser,
    /// Delete messages from the room.
    #[value(name = "DELETE_MESSAGE")]
    DeleteMessage,
}

impl Capability {
    /// Returns the IVS spelling of this capability.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::SendMessage => "SEND_MESSAGE",
            Capability::DisconnectUser => "DISCONNECT_USER",
            Capability::DeleteMessage => "DELETE_MESSAGE",
        }
    }
}

#[derive(Args, Debug)]
pub struct SendEventArgs {
    /// Name of the ChatRoom object.
    pub room: String,

    /// Name of the event, 1 to 100 characters.
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// Attribute sent with the event, as KEY=VALUE. Repeat the option for several.
    #[arg(long = "attribute", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
}

#[derive(Args, Debug)]
pub struct DeleteMessageArgs {
    /// Name of the ChatRoom object.
    pub room: String,

    /// Id of the message to delete, 12 letters and digits as IVS assigned it.
    #[arg(long, value_name = "MESSAGE_ID")]
    pub id: String,

    /// Reason shown to clients, 1 to 256 characters.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Name of the ChatRoom object.
    pub room: String,

    /// Id of the user to disconnect, as given when the user's token was created.
    #[arg(long, value_name = "ID")]
    pub user: String,

    /// Reason shown to the user, 1 to 256 characters.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Name of a ChatRoom object. Without it, the command shows every ChatRoom in the namespace.
    pub room: Option<String>,
}

/// Parses a `KEY=VALUE` attribute. The key must not be empty, but the value may be, and may
/// contain further `=` characters.
pub fn parse_attribute(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        Some(_) => Err(format!(
            "invalid attribute {text:?}: the key before '=' is empty"
        )),
        None => Err(format!(
            "invalid attribute {text:?}: expected KEY=VALUE, for example --attribute color=blue"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn attribute_splits_at_first_equals_sign() {
        let parsed = parse_attribute("query=a=b").expect("valid attribute");
        assert_eq!(parsed, ("query".to_string(), "a=b".to_string()));
    }

    #[test]
    fn attribute_value_may_be_empty() {
        let parsed = parse_attribute("flag=").expect("valid attribute");
        assert_eq!(parsed, ("flag".to_string(), String::new()));
    }

    #[test]
    fn attribute_without_equals_sign_is_rejected() {
        let error = parse_attribute("color").expect_err("no '='");
        assert!(error.contains("expected KEY=VALUE"), "{error}");
    }

    #[test]
    fn attribute_with_empty_key_is_rejected() {
        let error = parse_attribute("=blue").expect_err("empty key");
        assert!(error.contains("key before '=' is empty"), "{error}");
    }

    #[test]
    fn session_duration_outside_range_is_rejected() {
        for value in ["0", "181"] {
            let parsed = Cli::try_parse_from([
                "kubectl-ivschat",
                "token",
                "room",
                "--user",
                "u",
                "--session-duration",
                value,
            ]);
            assert!(parsed.is_err(), "--session-duration {value} was accepted");
        }
    }

    #[test]
    fn global_options_follow_subcommand() {
        let cli = Cli::try_parse_from(["kubectl-ivschat", "status", "-n", "chat", "-o", "json"])
            .expect("valid command line");
        assert_eq!(cli.kube.namespace.as_deref(), Some("chat"));
        assert_eq!(cli.output, OutputFormat::Json);
    }
}
