//! Reconciles `ChatLoggingConfiguration` objects with IVS Chat logging configurations.
//!
//! Steps: observe the configuration (by the ARN in status, or by the operator's tags when
//! status has none), create it when missing, wait out transitional states, plan and send the
//! update and tag calls, then write status.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};

use super::conditions::{self, Status};
use super::publish;
use super::status::{self, Outcome};
use super::{Context, Error, KindName, default_ivs_name, is_paused, object_key, recorded_arn};
use crate::crd::{
    AdoptionPolicy, ChatLoggingConfiguration, ChatLoggingConfigurationStatus,
    DestinationConfiguration, FINALIZER, ManagementPolicy,
};
use crate::ivs::plan::{self, DesiredLoggingConfiguration};
use crate::ivs::{Destination, IvsClient, IvsError, IvsErrorKind, LoggingConfiguration};

/// Delay before the next look while IVS reports a transitional state.
const WAIT: Duration = Duration::from_secs(5);

/// Reconciles one `ChatLoggingConfiguration`.
pub async fn reconcile(
    config: Arc<ChatLoggingConfiguration>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let namespace = config.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<ChatLoggingConfiguration> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = object_key(config.as_ref());
    if is_paused(config.as_ref()) {
        return status::pause(&api, &config).await;
    }
    let action = finalizer(&api, FINALIZER, config, |event| async {
        match event {
            FinalizerEvent::Apply(config) => apply(&config, &ctx, &api).await,
            FinalizerEvent::Cleanup(config) => cleanup(&config, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    crate::metrics::global().reconciled(ChatLoggingConfiguration::KIND, started.elapsed());
    let action = action?;
    ctx.record_success(&key);
    Ok(action)
}

async fn apply(
    config: &ChatLoggingConfiguration,
    ctx: &Context,
    api: &Api<ChatLoggingConfiguration>,
) -> Result<Action, Error> {
    match sync(config, ctx, api).await {
        Ok(outcome) => status::report_outcome(api, config, outcome).await,
        Err(error) => status::report_failure(ctx, api, config, error).await,
    }
}

async fn sync(
    config: &ChatLoggingConfiguration,
    ctx: &Context,
    api: &Api<ChatLoggingConfiguration>,
) -> Result<Outcome<ChatLoggingConfigurationStatus>, Error> {
    let ivs = ctx.ivs_for(config.spec.region.as_deref());
    let mut status = config.status.clone().unwrap_or_default();
    status.observed_generation = config.metadata.generation;
    if config.spec.management_policy == Some(ManagementPolicy::ObserveOnly) {
        return observe_only(config, &ivs, status).await;
    }
    let desired = desired_configuration(config, ctx)?;

    let mut live = observe(config, ctx, &desired).await?;
    if live.is_none() {
        let written =
            match status::begin_create(api, config, &mut status, "logging configuration").await? {
                Ok(written) => written,
                Err(waiting) => return Ok(waiting),
            };
        let config = &written;

        let arn = ivs
            .create_logging_configuration(&desired)
            .await
            .map_err(Error::Create)?;
        tracing::info!(%arn, "Created logging configuration");
        ctx.publish(
            config,
            EventType::Normal,
            "Created",
            "CreateLoggingConfiguration",
            format!("Created IVS logging configuration {arn}"),
        )
        .await;

        // Record the ARN before anything else can fail, so the next pass reads this
        // configuration instead of searching for it.
        status.arn = Some(arn.clone());
        status.id = arn.rsplit('/').next().map(str::to_string);
        let mut creating = status.clone();
        let generation = config.metadata.generation;
        conditions::set(
            &mut creating.conditions,
            conditions::READY,
            Status::False,
            conditions::CREATING,
            "IVS logging configuration created",
            generation,
        );
        status::write_status(api, config, creating).await?;

        live = ivs
            .get_logging_configuration(&arn)
            .await
            .map_err(Error::Observe)?;
    }
    let Some(mut live) = live else {
        return Ok(Outcome {
            status,
            ready: (
                Status::False,
                conditions::CREATING,
                "waiting for IVS to show the new logging configuration".into(),
            ),
            requeue: Duration::from_secs(2),
        });
    };

    match live.state.as_str() {
        "CREATING" | "UPDATING" | "DELETING" => {
            fill_status(&mut status, &live);
            let message = format!("IVS reports state {}", live.state);
            return Ok(Outcome {
                status,
                ready: (Status::False, conditions::CREATING, message),
                requeue: WAIT,
            });
        }
        "CREATE_FAILED" => {
            fill_status(&mut status, &live);
            let message = "IVS failed to create the logging configuration; check that the destination exists and IVS may write to it, then delete this object and apply it again".to_string();
            return Ok(Outcome {
                status,
                ready: (Status::False, conditions::IVS_FAILED, message),
                requeue: ctx.settings.resync_period,
            });
        }
        _ => {}
    }

    let mut changed = false;
    if let Some(update) = plan::logging_configuration_update(&desired, &live) {
        ivs.update_logging_configuration(&live.arn, &update)
            .await
            .map_err(Error::Update)?;
        tracing::info!(arn = %live.arn, ?update, "Updated logging configuration");
        ctx.publish(
            config,
            EventType::Normal,
            "Updated",
            "UpdateLoggingConfiguration",
            format!("Updated IVS logging configuration {}", live.arn),
        )
        .await;
        changed = true;
    }
    let tags = plan::tag_changes(&desired.tags, &live.tags);
    // Remove before adding, so a renamed key never takes the resource past 50 tags.
    if !tags.remove.is_empty() {
        ivs.untag(&live.arn, &tags.remove)
            .await
            .map_err(Error::Tag)?;
        changed = true;
    }
    if !tags.set.is_empty() {
        ivs.tag(&live.arn, &tags.set).await.map_err(Error::Tag)?;
        changed = true;
    }
    if changed {
        match ivs
            .get_logging_configuration(&live.arn)
            .await
            .map_err(Error::Observe)?
        {
            Some(config) => live = config,
            None => {
                return Ok(Outcome {
                    status,
                    ready: (
                        Status::False,
                        conditions::UPDATING,
                        "IVS logging configuration disappeared during update".into(),
                    ),
                    requeue: Duration::from_secs(2),
                });
            }
        }
    }

    fill_status(&mut status, &live);
    let target = config
        .spec
        .publish_to
        .as_ref()
        .map(|p| p.config_map_name.as_str());
    let previous = status.published_config_map.clone();
    status.published_config_map = publish::publish(
        ctx,
        config,
        target,
        previous.as_deref(),
        &live.arn,
        &live.id,
    )
    .await?;
    let in_sync = live.state == "ACTIVE"
        && plan::logging_configuration_update(&desired, &live).is_none()
        && plan::tag_changes(&desired.tags, &live.tags).is_empty();
    if in_sync {
        Ok(Outcome {
            status,
            ready: (Status::True, conditions::AVAILABLE, String::new()),
            requeue: ctx.settings.resync_period,
        })
    } else {
        let message = format!(
            "IVS reports state {} and the configuration does not match the spec yet",
            live.state
        );
        Ok(Outcome {
            status,
            ready: (Status::False, conditions::UPDATING, message),
            requeue: WAIT,
        })
    }
}

async fn observe(
    config: &ChatLoggingConfiguration,
    ctx: &Context,
    desired: &DesiredLoggingConfiguration,
) -> Result<Option<LoggingConfiguration>, Error> {
    let ivs = ctx.ivs_for(config.spec.region.as_deref());
    if let Some(arn) = recorded_arn(
        config.status.as_ref().and_then(|s| s.arn.as_deref()),
        "logging-configuration",
    ) {
        let live = ivs
            .get_logging_configuration(arn)
            .await
            .map_err(Error::Observe)?;
        if live.is_none() {
            tracing::info!(%arn, "Logging configuration is gone from IVS; creating it again");
        }
        return Ok(live);
    }

    if let Some(adopt) = &config.spec.adopt {
        if let Some(live) = ivs
            .get_logging_configuration(&adopt.arn)
            .await
            .map_err(Error::Observe)?
        {
            tracing::info!(arn = %adopt.arn, "Adopting existing logging configuration");
            return Ok(Some(live));
        }
        if adopt.policy.unwrap_or_default() == AdoptionPolicy::Adopt {
            return Err(Error::AdoptionTargetNotFound {
                arn: adopt.arn.clone(),
            });
        }
    }

    let owner = ctx.owner_tags(config);
    let mut found = ivs
        .find_logging_configurations(Some(&desired.name), &owner)
        .await
        .map_err(Error::Recover)?;
    let attempted = config
        .status
        .as_ref()
        .is_some_and(|s| s.create_attempt_time.is_some());
    if found.is_empty() && attempted {
        // The spec's name may have changed since the interrupted create, so look at every
        // resource for the operator's tags.
        found = ivs
            .find_logging_configurations(None, &owner)
            .await
            .map_err(Error::Recover)?;
    }
    found.sort();
    let Some((adopted, duplicates)) = found.split_first() else {
        return Ok(None);
    };
    for duplicate in duplicates {
        ivs.delete_logging_configuration(duplicate)
            .await
            .map_err(Error::Delete)?;
        tracing::info!(arn = %duplicate, "Deleted duplicate logging configuration left by an interrupted create");
    }
    tracing::info!(arn = %adopted, "Found logging configuration created earlier for this object");
    ivs.get_logging_configuration(adopted)
        .await
        .map_err(Error::Observe)
}

fn desired_configuration(
    config: &ChatLoggingConfiguration,
    ctx: &Context,
) -> Result<DesiredLoggingConfiguration, Error> {
    let spec = &config.spec;
    let mut tags = spec.tags.clone();
    tags.extend(ctx.owner_tags(config));
    Ok(DesiredLoggingConfiguration {
        name: spec
            .name
            .clone()
            .unwrap_or_else(|| default_ivs_name(config)),
        destination: destination(&spec.destination_configuration)?,
        tags,
    })
}

/// Picks the one destination the schema guarantees; an object stored before that rule
/// existed may hold none, which is reported instead of guessed.
fn destination(spec: &DestinationConfiguration) -> Result<Destination, Error> {
    match (&spec.s3, &spec.cloud_watch_logs, &spec.firehose) {
        (Some(s3), None, None) => Ok(Destination::S3 {
            bucket_name: s3.bucket_name.clone(),
        }),
        (None, Some(logs), None) => Ok(Destination::CloudWatchLogs {
            log_group_name: logs.log_group_name.clone(),
        }),
        (None, None, Some(firehose)) => Ok(Destination::Firehose {
            delivery_stream_name: firehose.delivery_stream_name.clone(),
        }),
        _ => Err(Error::Create(IvsError {
            operation: "CreateLoggingConfiguration",
            kind: IvsErrorKind::Validation,
            message:
                "destinationConfiguration must set exactly one of s3, cloudWatchLogs or firehose"
                    .into(),
        })),
    }
}

fn fill_status(status: &mut ChatLoggingConfigurationStatus, live: &LoggingConfiguration) {
    status.arn = Some(live.arn.clone());
    status.id = Some(live.id.clone());
    status.name = Some(live.name.clone());
    status.state = Some(live.state.clone());
    status.create_time = live.create_time.clone();
    status.update_time = live.update_time.clone();
    // IVS shows the configuration, so no create is in doubt any more.
    status.create_attempt_time = None;
}

/// Deletes the IVS logging configuration. IVS refuses while a room still uses it; that error
/// is retried with backoff, so the object goes away once the last room lets go.
async fn cleanup(config: &ChatLoggingConfiguration, ctx: &Context) -> Result<Action, Error> {
    let published = config
        .status
        .as_ref()
        .and_then(|s| s.published_config_map.as_deref());
    publish::remove_for(ctx, config, published).await?;
    let ivs = ctx.ivs_for(config.spec.region.as_deref());
    if !ctx.deletes_on_removal(config.spec.deletion_policy, config.spec.management_policy) {
        let arn = config
            .status
            .as_ref()
            .and_then(|s| s.arn.clone())
            .unwrap_or_default();
        tracing::info!(%arn, "Keeping the IVS logging configuration: deletion policy is Retain or the object only observes");
        ctx.publish(
            config,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("Kept IVS logging configuration {arn} as the deletion policy asks"),
        )
        .await;
        return Ok(Action::await_change());
    }
    let recorded = recorded_arn(
        config.status.as_ref().and_then(|s| s.arn.as_deref()),
        "logging-configuration",
    );
    let mut arns: Vec<String> = recorded.map(str::to_string).into_iter().collect();
    if arns.is_empty() {
        let name = config
            .spec
            .name
            .clone()
            .unwrap_or_else(|| default_ivs_name(config));
        // Without a recorded ARN, a create may still have happened, under this name or an
        // earlier one, so every resource carrying this object's tags is deleted.
        let owner = ctx.owner_tags(config);
        arns = ivs
            .find_logging_configurations(Some(&name), &owner)
            .await
            .map_err(Error::Recover)?;
        if arns.is_empty() {
            arns = ivs
                .find_logging_configurations(None, &owner)
                .await
                .map_err(Error::Recover)?;
        }
    }
    for arn in arns {
        if let Err(error) = ivs.delete_logging_configuration(&arn).await {
            let error = Error::Delete(error);
            report_deletion_blocked(config, ctx, &error).await?;
            return Err(error);
        }
        tracing::info!(%arn, "Deleted logging configuration");
        ctx.publish(
            config,
            EventType::Normal,
            "Deleted",
            "DeleteLoggingConfiguration",
            format!("Deleted IVS logging configuration {arn}"),
        )
        .await;
    }
    crate::metrics::global().object_ready(
        ChatLoggingConfiguration::KIND,
        &object_key(config),
        None,
    );
    Ok(Action::await_change())
}

/// Says in status why deletion has not finished, for example because a room still uses the
/// configuration; the finalizer stays until IVS accepts the delete.
async fn report_deletion_blocked(
    config: &ChatLoggingConfiguration,
    ctx: &Context,
    error: &Error,
) -> Result<(), Error> {
    let namespace = config.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<ChatLoggingConfiguration> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut status = config.status.clone().unwrap_or_default();
    let generation = config.metadata.generation;
    status.observed_generation = generation;
    let in_use = error
        .ivs()
        .is_some_and(|e| e.kind == IvsErrorKind::Conflict);
    let message = if in_use {
        format!("waiting for rooms to stop using this logging configuration: {error}")
    } else {
        error.to_string()
    };
    conditions::set(
        &mut status.conditions,
        conditions::READY,
        Status::False,
        conditions::DELETING,
        &message,
        generation,
    );
    conditions::set(
        &mut status.conditions,
        conditions::SYNCED,
        Status::False,
        error.category(),
        &message,
        generation,
    );
    status::write_status(&api, config, status).await
}

/// Mirrors the IVS logging configuration named by `adopt.arn` in status without writing to IVS.
async fn observe_only(
    config: &ChatLoggingConfiguration,
    ivs: &IvsClient,
    mut status: ChatLoggingConfigurationStatus,
) -> Result<Outcome<ChatLoggingConfigurationStatus>, Error> {
    let arn = config
        .spec
        .adopt
        .as_ref()
        .map(|a| a.arn.clone())
        .unwrap_or_default();
    let requeue = Duration::from_secs(60);
    match ivs
        .get_logging_configuration(&arn)
        .await
        .map_err(Error::Observe)?
    {
        Some(live) => {
            fill_status(&mut status, &live);
            let message =
                "observing only; the operator never changes this logging configuration".to_string();
            Ok(Outcome {
                status,
                ready: (Status::True, conditions::OBSERVED, message),
                requeue,
            })
        }
        None => Ok(Outcome {
            status,
            ready: (
                Status::False,
                conditions::NOT_FOUND,
                format!("IVS has no logging configuration {arn}"),
            ),
            requeue,
        }),
    }
}
