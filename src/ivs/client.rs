//! The IVS Chat client the controllers use: `aws-sdk-ivschat` calls that take and return the
//! plain models of this module.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_sdk_ivschat::Client;
use aws_sdk_ivschat::config::http::HttpResponse;
use aws_sdk_ivschat::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ivschat::types::{
    CloudWatchLogsDestinationConfiguration, DestinationConfiguration,
    FirehoseDestinationConfiguration, MessageReviewHandler, S3DestinationConfiguration,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use tracing::Instrument;

use super::error::IvsError;
use super::limiter::Limiter;
use super::model::{
    Destination, Handler, LoggingConfiguration, Room, RoomSummary, owner_tags_match,
};
use super::plan::{
    DesiredLoggingConfiguration, DesiredRoom, LoggingConfigurationUpdate, RoomUpdate,
};
use crate::metrics;

/// Builds a [`Room`] from a GetRoom, CreateRoom or UpdateRoom response: the three output
/// types carry the same fields but share no trait, hence a macro.
macro_rules! room_from_sdk {
    ($out:expr) => {{
        let out = $out;
        Room {
            arn: out.arn.unwrap_or_default(),
            id: out.id.unwrap_or_default(),
            name: out.name.unwrap_or_default(),
            maximum_message_length: out.maximum_message_length.unwrap_or_default(),
            maximum_message_rate_per_second: out
                .maximum_message_rate_per_second
                .unwrap_or_default(),
            handler: handler_from_sdk(out.message_review_handler),
            logging_configuration_arns: out.logging_configuration_identifiers.unwrap_or_default(),
            tags: sorted(out.tags),
            create_time: out.create_time.as_ref().map(timestamp),
            update_time: out.update_time.as_ref().map(timestamp),
        }
    }};
}

/// Connection settings for IVS Chat, on top of the standard AWS configuration chain.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Region to use instead of the one the AWS chain finds.
    pub region: Option<String>,
    /// Endpoint to use instead of the regional IVS Chat endpoint, for example the local service.
    pub endpoint_url: Option<String>,
    /// Multiplies the client-side rate limits; 1.0 keeps them at the IVS quotas. Only a local
    /// service started with the same scale accepts more.
    pub quota_scale: f64,
}

/// A cloneable handle on IVS Chat.
#[derive(Clone, Debug)]
pub struct IvsClient {
    client: Client,
    limiter: Arc<Limiter>,
    quota_scale: f64,
}

impl IvsClient {
    /// Builds a client from the standard AWS chain (environment, profile, web identity,
    /// container and instance credentials) with the overrides in `settings`.
    pub async fn from_settings(settings: &ClientSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::from_client(Client::new(&config), settings.quota_scale)
    }

    /// Wraps an SDK client built elsewhere, with rate limits at `quota_scale` times the quotas.
    pub fn from_client(client: Client, quota_scale: f64) -> Self {
        Self {
            client,
            limiter: Arc::new(Limiter::new(quota_scale)),
            quota_scale,
        }
    }

    /// Returns a client for `region` that shares this client's configuration and
    /// credentials, with rate limits of its own because IVS quotas apply per region.
    pub fn for_region(&self, region: &str) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        Self::from_client(Client::from_conf(config), self.quota_scale)
    }

    /// Region the client signs for, if one is configured.
    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }

    /// Reads a room; `None` when IVS has no room with this ARN.
    pub async fn get_room(&self, arn: &str) -> Result<Option<Room>, IvsError> {
        match self
            .client
            .get_room()
            .identifier(arn)
            .send()
            .metered(self, "GetRoom")
            .await
        {
            Ok(out) => Ok(Some(room_from_sdk!(out))),
            Err(err) => not_found_as_none(err),
        }
    }

    /// Creates a room and returns it as IVS reports it in the response.
    ///
    /// The SDK's automatic retries are off for this call: CreateRoom takes no client token, so
    /// a retried request whose first attempt did reach IVS would make a second room. A failed
    /// attempt is left to the next reconcile, which first looks for the room by its tags.
    pub async fn create_room(&self, desired: &DesiredRoom) -> Result<Room, IvsError> {
        let out = self
            .client
            .create_room()
            .name(&desired.name)
            .maximum_message_length(desired.maximum_message_length)
            .maximum_message_rate_per_second(desired.maximum_message_rate_per_second)
            .set_message_review_handler(desired.handler.as_ref().map(handler_to_sdk))
            .set_logging_configuration_identifiers(Some(desired.logging_configuration_arns.clone()))
            .set_tags(Some(unsorted(&desired.tags)))
            .customize()
            .config_override(no_retries())
            .send()
            .metered(self, "CreateRoom")
            .await?;
        Ok(room_from_sdk!(out))
    }

    /// Sends the fields of `update` in one UpdateRoom call and returns the room as IVS
    /// reports it in the response, which carries every field a GetRoom would.
    pub async fn update_room(&self, arn: &str, update: &RoomUpdate) -> Result<Room, IvsError> {
        let handler = update.handler.as_ref().map(|handler| match handler {
            Some(handler) => handler_to_sdk(handler),
            None => MessageReviewHandler::builder().uri("").build(),
        });
        let out = self
            .client
            .update_room()
            .identifier(arn)
            .set_name(update.name.clone())
            .set_maximum_message_length(update.maximum_message_length)
            .set_maximum_message_rate_per_second(update.maximum_message_rate_per_second)
            .set_message_review_handler(handler)
            .set_logging_configuration_identifiers(update.logging_configuration_arns.clone())
            .send()
            .metered(self, "UpdateRoom")
            .await?;
        Ok(room_from_sdk!(out))
    }

    /// Deletes a room; a room that is already gone counts as deleted.
    pub async fn delete_room(&self, arn: &str) -> Result<(), IvsError> {
        match self
            .client
            .delete_room()
            .identifier(arn)
            .send()
            .metered(self, "DeleteRoom")
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => not_found_as_none::<()>(err).map(|_| ()),
        }
    }

    /// Lists the ARNs of rooms that carry every tag in `owner`, among rooms called `name`
    /// or, with `None`, among all rooms.
    pub async fn find_rooms(
        &self,
        name: Option<&str>,
        owner: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, IvsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_rooms()
                .set_name(name.map(str::to_string))
                .set_next_token(token)
                .send()
                .metered(self, "ListRooms")
                .await?;
            for room in out.rooms {
                if owner_tags_match(&sorted(room.tags), owner) {
                    found.extend(room.arn);
                }
            }
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Reads one page of ListRooms (at most 50 summaries, newest update first) starting at
    /// `token`, and returns it with the token of the next page.
    pub async fn list_rooms_page(
        &self,
        token: Option<String>,
    ) -> Result<(Vec<RoomSummary>, Option<String>), IvsError> {
        let out = self
            .client
            .list_rooms()
            .max_results(50)
            .set_next_token(token)
            .send()
            .metered(self, "ListRooms")
            .await?;
        let rooms = out
            .rooms
            .into_iter()
            .map(|room| RoomSummary {
                arn: room.arn.unwrap_or_default(),
                name: room.name.unwrap_or_default(),
                handler: handler_from_sdk(room.message_review_handler),
                logging_configuration_arns: room
                    .logging_configuration_identifiers
                    .unwrap_or_default(),
                tags: sorted(room.tags),
                update_time: room.update_time.as_ref().map(timestamp),
            })
            .collect();
        Ok((rooms, out.next_token.filter(|t| !t.is_empty())))
    }

    /// Reads a logging configuration; `None` when IVS has none with this ARN.
    pub async fn get_logging_configuration(
        &self,
        arn: &str,
    ) -> Result<Option<LoggingConfiguration>, IvsError> {
        match self
            .client
            .get_logging_configuration()
            .identifier(arn)
            .send()
            .metered(self, "GetLoggingConfiguration")
            .await
        {
            Ok(out) => Ok(Some(LoggingConfiguration {
                arn: out.arn.unwrap_or_default(),
                id: out.id.unwrap_or_default(),
                name: out.name.unwrap_or_default(),
                destination: destination_from_sdk(out.destination_configuration)?,
                state: out
                    .state
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                tags: sorted(out.tags),
                create_time: out.create_time.as_ref().map(timestamp),
                update_time: out.update_time.as_ref().map(timestamp),
            })),
            Err(err) => not_found_as_none(err),
        }
    }

    /// Creates a logging configuration and returns its ARN. Retries are off for the same
    /// reason as in [`IvsClient::create_room`].
    pub async fn create_logging_configuration(
        &self,
        desired: &DesiredLoggingConfiguration,
    ) -> Result<String, IvsError> {
        let out = self
            .client
            .create_logging_configuration()
            .name(&desired.name)
            .destination_configuration(destination_to_sdk(&desired.destination)?)
            .set_tags(Some(unsorted(&desired.tags)))
            .customize()
            .config_override(no_retries())
            .send()
            .metered(self, "CreateLoggingConfiguration")
            .await?;
        Ok(out.arn.unwrap_or_default())
    }

    /// Sends the fields of `update` in one UpdateLoggingConfiguration call.
    pub async fn update_logging_configuration(
        &self,
        arn: &str,
        update: &LoggingConfigurationUpdate,
    ) -> Result<(), IvsError> {
        let destination = update
            .destination
            .as_ref()
            .map(destination_to_sdk)
            .transpose()?;
        self.client
            .update_logging_configuration()
            .identifier(arn)
            .set_name(update.name.clone())
            .set_destination_configuration(destination)
            .send()
            .metered(self, "UpdateLoggingConfiguration")
            .await?;
        Ok(())
    }

    /// Deletes a logging configuration; one that is already gone counts as deleted.
    pub async fn delete_logging_configuration(&self, arn: &str) -> Result<(), IvsError> {
        match self
            .client
            .delete_logging_configuration()
            .identifier(arn)
            .send()
            .metered(self, "DeleteLoggingConfiguration")
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => not_found_as_none::<()>(err).map(|_| ()),
        }
    }

    /// Lists the ARNs of logging configurations that carry every tag in `owner`, among those
    /// called `name` or, with `None`, among all.
    pub async fn find_logging_configurations(
        &self,
        name: Option<&str>,
        owner: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, IvsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_logging_configurations()
                .set_next_token(token)
                .send()
                .metered(self, "ListLoggingConfigurations")
                .await?;
            for config in out.logging_configurations {
                let named = name.is_none() || config.name.as_deref() == name;
                if named && owner_tags_match(&sorted(config.tags), owner) {
                    found.extend(config.arn);
                }
            }
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Adds or overwrites tags on a room or logging configuration.
    pub async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), IvsError> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(unsorted(tags)))
            .send()
            .metered(self, "TagResource")
            .await?;
        Ok(())
    }

    /// Removes tags from a room or logging configuration.
    pub async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), IvsError> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .metered(self, "UntagResource")
            .await?;
        Ok(())
    }
}

/// Sends an SDK request through the client-side rate limit, in a tracing span, and records
/// its wait, duration and outcome in the metrics.
trait Metered<T, E>: Future<Output = Result<T, SdkError<E, HttpResponse>>> + Sized {
    async fn metered(self, client: &IvsClient, operation: &'static str) -> Result<T, IvsError>;
}

impl<F, T, E> Metered<T, E> for F
where
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    async fn metered(self, client: &IvsClient, operation: &'static str) -> Result<T, IvsError> {
        let span = tracing::debug_span!("ivs_call", operation);
        async {
            let waiting = Instant::now();
            client.limiter.acquire(operation).await;
            metrics::global().limiter_waited(operation, waiting.elapsed());

            let started = Instant::now();
            let result = self.await.map_err(|err| IvsError::from_sdk(operation, err));
            let outcome = match &result {
                Ok(_) => "Success",
                Err(error) => error.kind.as_str(),
            };
            metrics::global().ivs_call(operation, outcome, started.elapsed());
            tracing::debug!(outcome, "IVS call finished");
            result
        }
        .instrument(span)
        .await
    }
}

fn no_retries() -> aws_sdk_ivschat::config::Builder {
    aws_sdk_ivschat::config::Builder::default().retry_config(RetryConfig::disabled())
}

fn not_found_as_none<T>(err: IvsError) -> Result<Option<T>, IvsError> {
    if err.is_not_found() {
        Ok(None)
    } else {
        Err(err)
    }
}

fn timestamp(time: &DateTime) -> String {
    time.fmt(Format::DateTime).unwrap_or_default()
}

fn sorted(tags: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default().into_iter().collect()
}

fn unsorted(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// IVS reports a room without a handler either with no handler or with an empty URI.
fn handler_from_sdk(handler: Option<MessageReviewHandler>) -> Option<Handler> {
    let handler = handler?;
    let uri = handler.uri.filter(|uri| !uri.is_empty())?;
    let fallback_result = handler.fallback_result.map(|f| f.as_str().to_string());
    Some(Handler {
        uri,
        fallback_result: fallback_result.unwrap_or_else(|| "ALLOW".into()),
    })
}

fn handler_to_sdk(handler: &Handler) -> MessageReviewHandler {
    MessageReviewHandler::builder()
        .uri(&handler.uri)
        .fallback_result(handler.fallback_result.as_str().into())
        .build()
}

fn destination_from_sdk(
    destination: Option<DestinationConfiguration>,
) -> Result<Destination, IvsError> {
    let unknown = || IvsError {
        operation: "GetLoggingConfiguration",
        kind: super::IvsErrorKind::Other,
        message: "IVS returned a destination this operator does not know".into(),
    };
    match destination.ok_or_else(unknown)? {
        DestinationConfiguration::S3(s3) => Ok(Destination::S3 {
            bucket_name: s3.bucket_name,
        }),
        DestinationConfiguration::CloudWatchLogs(logs) => Ok(Destination::CloudWatchLogs {
            log_group_name: logs.log_group_name,
        }),
        DestinationConfiguration::Firehose(firehose) => Ok(Destination::Firehose {
            delivery_stream_name: firehose.delivery_stream_name,
        }),
        _ => Err(unknown()),
    }
}

fn destination_to_sdk(destination: &Destination) -> Result<DestinationConfiguration, IvsError> {
    let invalid = |err: aws_smithy_types::error::operation::BuildError| IvsError {
        operation: "BuildDestination",
        kind: super::IvsErrorKind::Validation,
        message: err.to_string(),
    };
    Ok(match destination {
        Destination::S3 { bucket_name } => DestinationConfiguration::S3(
            S3DestinationConfiguration::builder()
                .bucket_name(bucket_name)
                .build()
                .map_err(invalid)?,
        ),
        Destination::CloudWatchLogs { log_group_name } => DestinationConfiguration::CloudWatchLogs(
            CloudWatchLogsDestinationConfiguration::builder()
                .log_group_name(log_group_name)
                .build()
                .map_err(invalid)?,
        ),
        Destination::Firehose {
            delivery_stream_name,
        } => DestinationConfiguration::Firehose(
            FirehoseDestinationConfiguration::builder()
                .delivery_stream_name(delivery_stream_name)
                .build()
                .map_err(invalid)?,
        ),
    })
}
