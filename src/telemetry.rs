//! Logging set-up shared by every subcommand, with a level that can change at run time.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt, reload};

/// Log line format.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Handle that changes the log filter of the running process.
#[derive(Clone)]
pub struct LogLevel(reload::Handle<EnvFilter, Registry>);

impl LogLevel {
    /// Replaces the filter with `directives` in `RUST_LOG` syntax, such as `info` or
    /// `info,ivschat_operator=debug`.
    pub fn set(&self, directives: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(directives)
            .map_err(|e| format!("invalid log filter {directives:?}: {e}"))?;
        self.0
            .reload(filter)
            .map_err(|e| format!("failed to change the log filter: {e}"))
    }
}

/// Installs the global subscriber. The level comes from `RUST_LOG` when set, else from
/// `default_filter`. Logs go to standard error so standard output stays free for data.
pub fn init(format: LogFormat, default_filter: &str) -> LogLevel {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .init(),
    }
    LogLevel(handle)
}
