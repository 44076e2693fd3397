//! IVS Chat clients built from the standard AWS configuration chain, one per region.
//!
//! A room's ARN names its region (`arn:aws:ivschat:<region>:<account>:room/<id>`), so calls on
//! a room go to that region whatever `--region` sets. `--region` and the chain only matter for
//! an ARN without one.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ivschat::Client;

use super::args::AwsArgs;
use super::error::PluginError;

/// Time allowed to open a connection to IVS Chat.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one call, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// IVS Chat clients that share one AWS configuration.
pub struct IvsClients {
    config: SdkConfig,
    endpoint_url: Option<String>,
    clients: HashMap<String, Client>,
}

impl IvsClients {
    /// Loads the AWS configuration chain with the overrides in `args`. Credentials are
    /// resolved on the first call, not here.
    pub async fn load(args: &AwsArgs) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(region) = args.region.as_deref().filter(|r| !r.is_empty()) {
            loader = loader.region(Region::new(region.to_string()));
        }
        if let Some(url) = &args.ivs_endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self {
            config: loader.load().await,
            endpoint_url: args.ivs_endpoint_url.clone(),
            clients: HashMap::new(),
        }
    }

    /// Endpoint URL used instead of the regional AWS endpoint, if any.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Returns the client for the region of room `arn`.
    pub fn for_arn(&mut self, arn: &str) -> Result<Client, PluginError> {
        let region = match region_of(arn) {
            Some(region) => region.to_string(),
            None => self
                .config
                .region()
                .map(|region| region.to_string())
                .ok_or_else(|| {
                    PluginError::InvalidInput(format!(
                        "the ARN {arn:?} names no region and none is configured; set --region or AWS_REGION"
                    ))
                })?,
        };
        let config = &self.config;
        let client = self.clients.entry(region.clone()).or_insert_with(|| {
            let room_config = aws_sdk_ivschat::config::Builder::from(config)
                .region(Region::new(region))
                .build();
            Client::from_conf(room_config)
        });
        Ok(client.clone())
    }
}

/// Returns the region field of an ARN, if present and not empty.
fn region_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    parts.nth(2).filter(|region| !region.is_empty())
}

#[cfg(test)]
mod tests {
    use super::region_of;

    #[test]
    fn region_comes_from_room_arn() {
        let arn = "arn:aws:ivschat:eu-west-1:123456789012:room/abcdefABCDEF";
        assert_eq!(region_of(arn), Some("eu-west-1"));
    }

    #[test]
    fn arn_without_region_gives_none() {
        assert_eq!(region_of("arn:aws:ivschat::123456789012:room/x"), None);
        assert_eq!(region_of("not-an-arn"), None);
    }
}
