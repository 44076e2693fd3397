//! Starting the controllers: one pair (rooms, logging configurations) per watched namespace,
//! or one pair for the whole cluster, optionally behind a leader-election Lease so that only
//! one replica acts on IVS.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{StreamExt, future};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::utils::{Predicate, predicates};
use kube::runtime::{Controller, WatchStreamExt, controller, reflector, watcher};
use kube::{Api, Client, Resource};
use kube_lease_manager::LeaseManagerBuilder;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

use super::observer::RoomObserver;
use super::{Context, MANAGER, Settings, api, chat_room, error_policy, logging_configuration};
use crate::crd::{ChatLoggingConfiguration, ChatRoom};
use crate::ivs::IvsClient;

/// Location of the leader-election Lease and the identity this replica competes with.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub namespace: String,
    pub lease_name: String,
    /// Unique per replica, usually the pod name.
    pub identity: String,
}

/// Seconds a leader's Lease stays valid without renewal; a standby takes over after that.
const LEASE_SECONDS: u64 = 15;
/// Seconds before expiry at which the leader renews its Lease.
const LEASE_GRACE_SECONDS: u64 = 5;

/// Runs the controllers until `shutdown` completes. With leader election, waits for the Lease
/// first, and returns an error if the Lease is lost, so the process restarts as a standby.
/// `ready` is set once the operator runs or waits as a standby.
pub async fn run(
    client: Client,
    ivs: IvsClient,
    settings: Settings,
    leader_election: Option<LeaderElection>,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    check_crds(&client, &settings).await?;
    let Some(election) = leader_election else {
        ready.store(true, Ordering::Relaxed);
        run_controllers(client, ivs, settings, shutdown).await;
        return Ok(());
    };

    let manager = LeaseManagerBuilder::new(client.clone(), &election.lease_name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_duration(LEASE_SECONDS)
        .with_grace(LEASE_GRACE_SECONDS)
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("failed to set up leader election: {e}"))?;
    let (mut leader, lease_task) = manager.watch().await;
    ready.store(true, Ordering::Relaxed);
    tracing::info!(lease = %election.lease_name, namespace = %election.namespace, "Waiting for leadership");

    let mut shutdown = Box::pin(shutdown);
    while !*leader.borrow_and_update() {
        tokio::select! {
            changed = leader.changed() => {
                changed.map_err(|_| anyhow::anyhow!("leader election stopped"))?;
            }
            () = &mut shutdown => return Ok(()),
        }
    }
    tracing::info!(identity = %election.identity, "Became leader");

    let lost = async move {
        while leader.changed().await.is_ok() {
            if !*leader.borrow() {
                break;
            }
        }
    };
    let result = tokio::select! {
        () = run_controllers(client, ivs, settings, shutdown) => Ok(()),
        () = lost => Err(anyhow::anyhow!("lost leadership of Lease {}; exiting so a new leader can take over", election.lease_name)),
    };

    // Dropping the receiver ends the Lease task, which releases the Lease so a standby takes
    // over at once instead of after it expires.
    if let Ok(Ok(Err(error))) = tokio::time::timeout(Duration::from_secs(5), lease_task).await {
        tracing::warn!(%error, "Failed to release the Lease");
    }
    result
}

/// Fails with an actionable message when the CRDs are not installed or not readable.
async fn check_crds(client: &Client, settings: &Settings) -> anyhow::Result<()> {
    let namespace = settings.namespaces.first().map(String::as_str);
    let rooms: Api<ChatRoom> = api(client, namespace);
    let logging: Api<ChatLoggingConfiguration> = api(client, namespace);
    let checks = [
        (
            "chatrooms",
            rooms.list(&Default::default()).await.map(|_| ()),
        ),
        (
            "chatloggingconfigurations",
            logging.list(&Default::default()).await.map(|_| ()),
        ),
    ];
    for (kind, check) in checks {
        check.map_err(|e| {
            anyhow::anyhow!(
                "cannot list {kind}.{}: {e}; install the CRDs with `ivschat-operator crds | kubectl apply --server-side -f -` and check the operator's RBAC",
                crate::crd::GROUP
            )
        })?;
    }
    Ok(())
}

/// Runs a pair of controllers per watched namespace (or one pair for all) until `shutdown`.
async fn run_controllers(
    client: Client,
    ivs: IvsClient,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let namespaces: Vec<Option<String>> = if settings.namespaces.is_empty() {
        vec![None]
    } else {
        settings.namespaces.iter().cloned().map(Some).collect()
    };
    // NOTE: with 10,000 rooms, resident memory peaks near 100 MiB in the first seconds after a
    // start (the initial list and a reconcile of every object), then settles at 63 MiB. The
    // scale benchmark measures it. What uses that memory has not been found yet.
    let streaming = streaming_lists_supported(&client).await;
    let observer = Arc::new(RoomObserver::new(ivs.clone(), settings.poll_interval));
    let config = controller::Config::default().concurrency(settings.max_concurrent_reconciles);
    let ctx = Arc::new(Context {
        client: client.clone(),
        ivs,
        observer: observer.clone(),
        settings,
        recorder: Recorder::new(client.clone(), reporter.clone()),
        reporter,
        failures: Mutex::default(),
        regional: Mutex::default(),
    });

    // Every controller stops when the shared shutdown future completes.
    let shutdown = future::FutureExt::shared(Box::pin(shutdown));
    let mut controllers = Vec::new();
    for namespace in namespaces {
        let rooms: Api<ChatRoom> = api(&client, namespace.as_deref());
        let logging: Api<ChatLoggingConfiguration> = api(&client, namespace.as_deref());

        let room_controller = filtered_controller(rooms, streaming);
        let room_store = room_controller.store();
        let room_controller = room_controller
            .with_config(config.clone())
            .watches(logging.clone(), watcher::Config::default(), move |config| {
                chat_room::rooms_referencing(&room_store, &config)
            })
            .reconcile_on(observer.subscribe(namespace.clone()))
            .graceful_shutdown_on(shutdown.clone())
            .run(chat_room::reconcile, error_policy, ctx.clone())
            .for_each(|result| {
                if let Err(error) = result {
                    tracing::debug!(%error, "Room reconcile did not complete");
                }
                future::ready(())
            });
        controllers.push(Box::pin(room_controller) as Pin<Box<dyn Future<Output = ()> + Send>>);

        let logging_controller = filtered_controller(logging.clone(), streaming)
            .with_config(config.clone())
            .graceful_shutdown_on(shutdown.clone())
            .run(logging_configuration::reconcile, error_policy, ctx.clone())
            .for_each(|result| {
                if let Err(error) = result {
                    tracing::debug!(%error, "Logging configuration reconcile did not complete");
                }
                future::ready(())
            });
        controllers.push(Box::pin(logging_controller));
    }

    let observing = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                () = observer.run() => {}
                () = shutdown => {}
            }
        }
    };
    controllers.push(Box::pin(observing));

    tracing::info!("Controllers started");
    future::join_all(controllers).await;
    tracing::info!("Controllers stopped");
}

/// Returns how the watchers read the initial objects. A streaming list sends them one by one as
/// watch events, and without it a list in pages of 500 keeps each response small. Both avoid a list from
/// the API server's cache (`any_semantic`), which arrives as one response of every object.
fn list_config(streaming: bool) -> watcher::Config {
    if streaming {
        watcher::Config::default().streaming_lists()
    } else {
        watcher::Config::default()
    }
}

/// Reports whether the API server accepts streaming lists. Its WatchList feature gate is on by
/// default in Kubernetes 1.34 and later (1.33 ships it off), and a server without it rejects
/// them.
async fn streaming_lists_supported(client: &Client) -> bool {
    match client.apiserver_version().await {
        Ok(info) => {
            // Some distributions report the minor version as "34+".
            let minor: String = info
                .minor
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            info.major == "1" && minor.parse::<u32>().is_ok_and(|minor| minor >= 34)
        }
        Err(error) => {
            tracing::warn!(%error, "Failed to read the API server version; listing in pages");
            false
        }
    }
}

/// Drops what reconciling never reads from a cached object, to keep the cache small: managed
/// fields, and the copy of the whole object that `kubectl apply` keeps in an annotation.
fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Builds a controller that reconciles an object when its spec (generation), annotations or
/// finalizers change, or it is being deleted, but not when only its status changes. The
/// operator's own status writes would otherwise trigger a reconcile at once and defeat the
/// backoff after a failure; periodic requeues still catch drift in IVS.
fn filtered_controller<K>(api: Api<K>, streaming: bool) -> Controller<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let changes = watcher(api, list_config(streaming))
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            predicates::generation
                .combine(predicates::annotations)
                .combine(predicates::finalizers),
            Default::default(),
        );
    Controller::for_stream(changes, reader)
}
