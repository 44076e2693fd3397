//! Reconciles `ChatRoom` objects with IVS Chat rooms.
//!
//! Steps: resolve logging-configuration references, observe the room (by the ARN in status,
//! or by the operator's tags when status has none), create it when missing, plan and send the
//! UpdateRoom and tag calls, then write status.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};

use super::conditions::{self, Status};
use super::observer::{RoomObserver, Verdict, room_fingerprint};
use super::publish;
use super::status::{self, Outcome};
use super::{
    Context, Error, KindName, default_ivs_name, is_paused, object_key, reconcile_request,
    recorded_arn,
};
use crate::crd::{
    AdoptionPolicy, ChatLoggingConfiguration, ChatRoom, ChatRoomStatus, FINALIZER, ManagementPolicy,
};
use crate::ivs::plan::{self, DesiredRoom};
use crate::ivs::{Handler, IvsClient, Room};

/// IVS defaults for fields a spec leaves unset; the operator keeps rooms at these values.
const DEFAULT_MAXIMUM_MESSAGE_LENGTH: i32 = 500;
const DEFAULT_MAXIMUM_MESSAGE_RATE_PER_SECOND: i32 = 10;

/// Delay before the next look while waiting on a reference or on IVS.
const WAIT: Duration = Duration::from_secs(10);

/// Reconciles one `ChatRoom`.
pub async fn reconcile(room: Arc<ChatRoom>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let namespace = room.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<ChatRoom> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = object_key(room.as_ref());
    if is_paused(room.as_ref()) {
        return status::pause(&api, &room).await;
    }
    let action = finalizer(&api, FINALIZER, room, |event| async {
        match event {
            FinalizerEvent::Apply(room) => apply(&room, &ctx, &api).await,
            FinalizerEvent::Cleanup(room) => cleanup(&room, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    crate::metrics::global().reconciled(ChatRoom::KIND, started.elapsed());
    let action = action?;
    ctx.record_success(&key);
    Ok(action)
}

async fn apply(room: &ChatRoom, ctx: &Context, api: &Api<ChatRoom>) -> Result<Action, Error> {
    match sync(room, ctx, api).await {
        Ok(outcome) => status::report_outcome(api, room, outcome).await,
        Err(error) => status::report_failure(ctx, api, room, error).await,
    }
}

async fn sync(
    room: &ChatRoom,
    ctx: &Context,
    api: &Api<ChatRoom>,
) -> Result<Outcome<ChatRoomStatus>, Error> {
    let ivs = ctx.ivs_for(room.spec.region.as_deref());
    let mut status = room.status.clone().unwrap_or_default();
    status.observed_generation = room.metadata.generation;
    if room.spec.management_policy == Some(ManagementPolicy::ObserveOnly) {
        // Observe-only rooms are read one by one, so the observer drops any earlier record.
        if let Some(arn) = recorded_arn(status.arn.as_deref(), "room") {
            ctx.observer.untrack(arn);
        }
        return observe_only(room, &ivs, status).await;
    }

    let logging_configuration_arns = match resolve_references(room, ctx).await? {
        Ok(arns) => arns,
        Err(waiting) => {
            return Ok(Outcome {
                status,
                ready: (Status::False, conditions::REFERENCE_NOT_READY, waiting),
                requeue: WAIT,
            });
        }
    };
    let desired = desired_room(room, ctx, logging_configuration_arns);
    let observer = ctx.room_observer(room.spec.region.as_deref());
    let marks_at_start = ctx.observer.marks();
    let recorded = recorded_arn(room.status.as_ref().and_then(|s| s.arn.as_deref()), "room");
    if let (None, Some(recorded)) = (observer, recorded) {
        // The room moved out of the observer's region.
        ctx.observer.untrack(recorded);
    }

    // `read`: the room came from IVS in this reconcile. `shown`: by a read or a write on it,
    // not only by the CreateRoom response, which may come before other reads can see the room.
    let (mut live, mut read, mut shown) = match observe(room, ctx, &desired, observer).await? {
        Some((live, read)) => (live, read, read),
        None => {
            let written = match status::begin_create(api, room, &mut status, "room").await? {
                Ok(written) => written,
                Err(waiting) => return Ok(waiting),
            };
            let room = &written;

            let created = ivs.create_room(&desired).await.map_err(Error::Create)?;
            let arn = created.arn.clone();
            if let Some(replaced) = recorded {
                ctx.observer.untrack(replaced);
            }
            tracing::info!(%arn, "Created room");
            ctx.publish(
                room,
                EventType::Normal,
                "Created",
                "CreateRoom",
                format!("Created IVS room {arn}"),
            )
            .await;

            // Record the ARN before anything else can fail, so the next pass reads this room
            // instead of searching for it.
            status.arn = Some(arn);
            status.id = Some(created.id.clone());
            let mut creating = status.clone();
            let generation = room.metadata.generation;
            conditions::set(
                &mut creating.conditions,
                conditions::READY,
                Status::False,
                conditions::CREATING,
                "IVS room created",
                generation,
            );
            status::write_status(api, room, creating).await?;
            // The response carries the whole room, so no GetRoom is needed.
            (created, true, false)
        }
    };

    // When `live` was assumed from status, a change made outside the operator that the
    // observer has not reported yet shows up in the UpdateRoom response. A second round
    // reverts it.
    for _ in 0..2 {
        let update = plan::room_update(&desired, &live);
        if update.is_none() && plan::tag_changes(&desired.tags, &live.tags).is_empty() {
            break;
        }
        if let Some(update) = update {
            live = ivs
                .update_room(&live.arn, &update)
                .await
                .map_err(Error::Update)?;
            read = true;
            shown = true;
            tracing::info!(arn = %live.arn, ?update, "Updated room");
            ctx.publish(
                room,
                EventType::Normal,
                "Updated",
                "UpdateRoom",
                format!("Updated IVS room {}", live.arn),
            )
            .await;
        }
        let tags = plan::tag_changes(&desired.tags, &live.tags);
        // Remove before adding, so a renamed key never takes the resource past 50 tags.
        if !tags.remove.is_empty() {
            ivs.untag(&live.arn, &tags.remove)
                .await
                .map_err(Error::Tag)?;
            for key in &tags.remove {
                live.tags.remove(key);
            }
        }
        if !tags.set.is_empty() {
            ivs.tag(&live.arn, &tags.set).await.map_err(Error::Tag)?;
            live.tags.extend(tags.set.clone());
        }
        if !tags.is_empty() {
            tracing::info!(arn = %live.arn, set = ?tags.set.keys(), removed = ?tags.remove, "Updated room tags");
        }
    }
    if let Some(observer) = observer {
        observer.track(ObjectRef::from_obj(room), &live, read, marks_at_start);
    }

    fill_status(&mut status, &live, shown);
    let target = room
        .spec
        .publish_to
        .as_ref()
        .map(|p| p.config_map_name.as_str());
    let previous = status.published_config_map.clone();
    status.published_config_map =
        publish::publish(ctx, room, target, previous.as_deref(), &live.arn, &live.id).await?;
    let in_sync = plan::room_update(&desired, &live).is_none()
        && plan::tag_changes(&desired.tags, &live.tags).is_empty();
    let ready = if in_sync {
        (Status::True, conditions::AVAILABLE, String::new())
    } else {
        (
            Status::False,
            conditions::UPDATING,
            "IVS room does not match the spec yet".into(),
        )
    };
    let requeue = if in_sync {
        ctx.settings.resync_period
    } else {
        Duration::from_secs(2)
    };
    Ok(Outcome {
        status,
        ready,
        requeue,
    })
}

/// Finds the live room and reports whether it was read from IVS. With an ARN in status, the
/// room is taken from status when the bulk observer vouches for it, and read otherwise.
/// Without one, or when that room is gone, it is the adoption target or a room an interrupted
/// create left: found by the operator's tags, one adopted and any duplicates deleted.
async fn observe(
    room: &ChatRoom,
    ctx: &Context,
    desired: &DesiredRoom,
    observer: Option<&RoomObserver>,
) -> Result<Option<(Room, bool)>, Error> {
    let ivs = ctx.ivs_for(room.spec.region.as_deref());
    let recorded = recorded_arn(room.status.as_ref().and_then(|s| s.arn.as_deref()), "room");
    if let Some(arn) = recorded {
        if let Some(assumed) = observer.and_then(|o| assume_live(room, desired, o, arn)) {
            return Ok(Some((assumed, false)));
        }
        if let Some(live) = ivs.get_room(arn).await.map_err(Error::Observe)? {
            return Ok(Some((live, true)));
        }
        // The observer keeps the old ARN stale until a new room replaces it. A create after
        // the room disappeared may have lost its response, so the search below runs first.
        tracing::info!(%arn, "Room is gone from IVS; creating it again");
    } else if let Some(adopt) = &room.spec.adopt {
        if let Some(live) = ivs.get_room(&adopt.arn).await.map_err(Error::Observe)? {
            tracing::info!(arn = %adopt.arn, "Adopting existing room");
            return Ok(Some((live, true)));
        }
        if adopt.policy.unwrap_or_default() == AdoptionPolicy::Adopt {
            return Err(Error::AdoptionTargetNotFound {
                arn: adopt.arn.clone(),
            });
        }
    }

    // The create guard writes status before every create, so an object whose status holds
    // nothing has never asked IVS for a room, and searching would only cost a ListRooms.
    let attempted = room
        .status
        .as_ref()
        .is_some_and(|s| s.create_attempt_time.is_some() || s.arn.is_some() || s.id.is_some());
    if !attempted {
        return Ok(None);
    }
    let owner = ctx.owner_tags(room);
    let mut found = ivs
        .find_rooms(Some(&desired.name), &owner)
        .await
        .map_err(Error::Recover)?;
    if found.is_empty() && recorded.is_none() {
        // The spec's name may have changed since the interrupted create, so look at every
        // resource for the operator's tags. A replacement for a room that disappeared was
        // requested under the current name, so it needs only the search above.
        found = ivs.find_rooms(None, &owner).await.map_err(Error::Recover)?;
    }
    found.sort();
    let Some((adopted, duplicates)) = found.split_first() else {
        return Ok(None);
    };
    for duplicate in duplicates {
        ivs.delete_room(duplicate).await.map_err(Error::Delete)?;
        tracing::info!(arn = %duplicate, "Deleted duplicate room left by an interrupted create");
    }
    tracing::info!(arn = %adopted, "Found room created earlier for this object");
    let live = ivs.get_room(adopted).await.map_err(Error::Observe)?;
    Ok(live.map(|live| (live, true)))
}

/// Rebuilds the live room from status without calling IVS, when that is safe. It is safe
/// when the observer has seen no change since the operator last saw the room (same update time
/// and summary fields). It is also safe when the observer does not track the room yet, as after
/// a restart, and the object converged at its current generation. A requested reconcile always
/// reads IVS.
fn assume_live(
    room: &ChatRoom,
    desired: &DesiredRoom,
    observer: &RoomObserver,
    arn: &str,
) -> Option<Room> {
    let status = room.status.as_ref()?;
    if reconcile_request(room) != status.last_handled_reconcile_at {
        return None;
    }
    let assumed = Room {
        arn: arn.to_string(),
        id: status.id.clone()?,
        name: status.name.clone()?,
        maximum_message_length: status.maximum_message_length?,
        maximum_message_rate_per_second: status.maximum_message_rate_per_second?,
        // Status keeps neither the handler nor the tags; the fingerprint check below, or
        // the convergence at this generation, vouches that they match the spec.
        handler: desired.handler.clone(),
        logging_configuration_arns: status.logging_configuration_arns.clone(),
        tags: desired.tags.clone(),
        create_time: status.create_time.clone(),
        update_time: Some(status.update_time.clone()?),
    };
    let trusted = match observer.verdict(arn) {
        Verdict::Unchanged {
            update_time,
            fingerprint,
        } => update_time == assumed.update_time && fingerprint == room_fingerprint(&assumed),
        Verdict::Untracked => {
            status.observed_generation == room.metadata.generation
                && conditions::is_true(&status.conditions, conditions::READY)
        }
        Verdict::Stale | Verdict::Blind => false,
    };
    trusted.then_some(assumed)
}

/// Resolves the spec's logging-configuration references to ARNs. The inner `Err` carries a
/// message saying which reference is not usable yet.
async fn resolve_references(
    room: &ChatRoom,
    ctx: &Context,
) -> Result<Result<Vec<String>, String>, Error> {
    let namespace = room.namespace().ok_or(Error::MissingNamespace)?;
    let api: Api<ChatLoggingConfiguration> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut arns = Vec::new();
    for reference in &room.spec.logging_configurations {
        if let Some(arn) = &reference.arn {
            arns.push(arn.clone());
            continue;
        }
        let Some(name) = &reference.name else {
            continue;
        };
        let config = api
            .get_opt(name)
            .await
            .map_err(|source| Error::ReadReference {
                kind: "ChatLoggingConfiguration",
                name: name.clone(),
                source,
            })?;
        let Some(config) = config else {
            return Ok(Err(format!(
                "ChatLoggingConfiguration {name} does not exist"
            )));
        };
        let status = config.status.unwrap_or_default();
        let ready = conditions::is_true(&status.conditions, conditions::READY);
        match (status.arn, status.state.as_deref(), ready) {
            (Some(arn), Some("ACTIVE"), true) => arns.push(arn),
            _ => return Ok(Err(format!("ChatLoggingConfiguration {name} is not Ready"))),
        }
    }
    Ok(Ok(arns))
}

fn desired_room(
    room: &ChatRoom,
    ctx: &Context,
    logging_configuration_arns: Vec<String>,
) -> DesiredRoom {
    let spec = &room.spec;
    let mut tags = spec.tags.clone();
    tags.extend(ctx.owner_tags(room));
    DesiredRoom {
        name: spec.name.clone().unwrap_or_else(|| default_ivs_name(room)),
        maximum_message_length: spec
            .maximum_message_length
            .unwrap_or(DEFAULT_MAXIMUM_MESSAGE_LENGTH),
        maximum_message_rate_per_second: spec
            .maximum_message_rate_per_second
            .unwrap_or(DEFAULT_MAXIMUM_MESSAGE_RATE_PER_SECOND),
        handler: spec.message_review_handler.as_ref().map(|h| Handler {
            uri: h.uri.clone(),
            fallback_result: h.fallback_result.unwrap_or_default().as_str().to_string(),
        }),
        logging_configuration_arns,
        tags,
    }
}

fn fill_status(status: &mut ChatRoomStatus, live: &Room, shown: bool) {
    status.arn = Some(live.arn.clone());
    status.id = Some(live.id.clone());
    status.name = Some(live.name.clone());
    status.maximum_message_length = Some(live.maximum_message_length);
    status.maximum_message_rate_per_second = Some(live.maximum_message_rate_per_second);
    status.logging_configuration_arns = live.logging_configuration_arns.clone();
    status.create_time = live.create_time.clone();
    status.update_time = live.update_time.clone();
    if shown {
        // IVS shows the room, so no create is in doubt any more.
        status.create_attempt_time = None;
    }
}

/// Deletes the IVS room. Rooms this object may have created without recording them are
/// found by tag and deleted too. A broken spec never blocks this.
async fn cleanup(room: &ChatRoom, ctx: &Context) -> Result<Action, Error> {
    let published = room
        .status
        .as_ref()
        .and_then(|s| s.published_config_map.as_deref());
    publish::remove_for(ctx, room, published).await?;
    let ivs = ctx.ivs_for(room.spec.region.as_deref());
    if !ctx.deletes_on_removal(room.spec.deletion_policy, room.spec.management_policy) {
        let arn = room
            .status
            .as_ref()
            .and_then(|s| s.arn.clone())
            .unwrap_or_default();
        ctx.observer.untrack(&arn);
        tracing::info!(%arn, "Keeping the IVS room: deletion policy is Retain or the object only observes");
        ctx.publish(
            room,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("Kept IVS room {arn} as the deletion policy asks"),
        )
        .await;
        return Ok(Action::await_change());
    }
    let recorded = recorded_arn(room.status.as_ref().and_then(|s| s.arn.as_deref()), "room");
    let mut arns: Vec<String> = recorded.map(str::to_string).into_iter().collect();
    if arns.is_empty() {
        let name = room
            .spec
            .name
            .clone()
            .unwrap_or_else(|| default_ivs_name(room));
        // Without a recorded ARN, a create may still have happened, under this name or an
        // earlier one, so every resource carrying this object's tags is deleted.
        let owner = ctx.owner_tags(room);
        arns = ivs
            .find_rooms(Some(&name), &owner)
            .await
            .map_err(Error::Recover)?;
        if arns.is_empty() {
            arns = ivs.find_rooms(None, &owner).await.map_err(Error::Recover)?;
        }
    }
    for arn in arns {
        ivs.delete_room(&arn).await.map_err(Error::Delete)?;
        ctx.observer.untrack(&arn);
        tracing::info!(%arn, "Deleted room");
        ctx.publish(
            room,
            EventType::Normal,
            "Deleted",
            "DeleteRoom",
            format!("Deleted IVS room {arn}"),
        )
        .await;
    }
    crate::metrics::global().object_ready(ChatRoom::KIND, &object_key(room), None);
    Ok(Action::await_change())
}

/// Rooms in the configuration's namespace that name it, to reconcile when it changes.
pub fn rooms_referencing(
    store: &Store<ChatRoom>,
    config: &ChatLoggingConfiguration,
) -> Vec<ObjectRef<ChatRoom>> {
    let namespace = config.namespace();
    let name = config.name_any();
    store
        .state()
        .into_iter()
        .filter(|room| room.namespace() == namespace)
        .filter(|room| {
            room.spec
                .logging_configurations
                .iter()
                .any(|r| r.name.as_deref() == Some(name.as_str()))
        })
        .map(|room| ObjectRef::from_obj(room.as_ref()))
        .collect()
}

/// Mirrors the IVS room named by `adopt.arn` in status without writing to IVS.
async fn observe_only(
    room: &ChatRoom,
    ivs: &IvsClient,
    mut status: ChatRoomStatus,
) -> Result<Outcome<ChatRoomStatus>, Error> {
    let arn = room
        .spec
        .adopt
        .as_ref()
        .map(|a| a.arn.clone())
        .unwrap_or_default();
    let requeue = Duration::from_secs(60);
    match ivs.get_room(&arn).await.map_err(Error::Observe)? {
        Some(live) => {
            fill_status(&mut status, &live, true);
            let message = "observing only; the operator never changes this room".to_string();
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
                format!("IVS has no room {arn}"),
            ),
            requeue,
        }),
    }
}
