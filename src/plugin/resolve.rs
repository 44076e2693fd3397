//! Finding ChatRoom objects: the Kubernetes client from kubectl-style options, lookups by
//! name, and the Ready check that commands need before they call IVS.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::args::KubeArgs;
use super::error::{PluginError, error_chain};
use crate::crd::ChatRoom;

/// A Kubernetes client and the namespace the command works in.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
}

/// Builds the client as kubectl would: `--kubeconfig` or KUBECONFIG or ~/.kube/config with
/// `--context` and `--cluster`, falling back to the in-cluster configuration when no option
/// names a kubeconfig entry. The namespace is `--namespace`, else the context's namespace.
pub async fn connect(args: &KubeArgs) -> Result<Cluster, PluginError> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: None,
    };
    let config = if let Some(path) = &args.kubeconfig {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|error| {
            PluginError::KubeConfig(format!("cannot read {path}: {}", error_chain(&error)))
        })?;
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|error| PluginError::KubeConfig(error_chain(&error)))?
    } else if options.context.is_some() || options.cluster.is_some() {
        Config::from_kubeconfig(&options)
            .await
            .map_err(|error| PluginError::KubeConfig(error_chain(&error)))?
    } else {
        Config::infer()
            .await
            .map_err(|error| PluginError::KubeConfig(error_chain(&error)))?
    };
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client =
        Client::try_from(config).map_err(|error| PluginError::KubeConfig(error_chain(&error)))?;
    Ok(Cluster { client, namespace })
}

impl Cluster {
    fn rooms(&self) -> Api<ChatRoom> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Reads ChatRoom `name` in the namespace.
    pub async fn get_room(&self, name: &str) -> Result<ChatRoom, PluginError> {
        match self.rooms().get(name).await {
            Ok(room) => Ok(room),
            Err(kube::Error::Api(status)) if status.code == 404 && names_object(&status) => {
                Err(PluginError::RoomNotFound {
                    namespace: self.namespace.clone(),
                    name: name.to_string(),
                })
            }
            Err(error) => Err(self.kube_error(&format!("read ChatRoom {name:?}"), &error)),
        }
    }

    /// Lists every ChatRoom in the namespace, sorted by name.
    pub async fn list_rooms(&self) -> Result<Vec<ChatRoom>, PluginError> {
        let mut rooms = self
            .rooms()
            .list(&ListParams::default())
            .await
            .map_err(|error| self.kube_error("list ChatRooms", &error))?
            .items;
        rooms.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        Ok(rooms)
    }

    fn kube_error(&self, action: &str, error: &kube::Error) -> PluginError {
        let detail = match error {
            kube::Error::Api(status) if status.code == 404 => format!(
                "the cluster does not serve the ChatRoom kind ({}); install the CRDs of ivschat-operator",
                status.message
            ),
            kube::Error::Api(status) if status.code == 403 => {
                format!("forbidden: {}", status.message)
            }
            kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
            other => error_chain(other),
        };
        PluginError::Kubernetes {
            action: format!("{action} in namespace {:?}", self.namespace),
            detail,
        }
    }
}

/// Tells a missing object apart from a missing resource type: only the former names the
/// object in the status details.
fn names_object(status: &kube::core::Status) -> bool {
    status
        .details
        .as_ref()
        .is_some_and(|details| !details.name.is_empty())
}

/// Returns condition `type_` of a room's status.
pub fn condition<'a>(room: &'a ChatRoom, type_: &str) -> Option<&'a Condition> {
    room.status
        .as_ref()?
        .conditions
        .iter()
        .find(|condition| condition.type_ == type_)
}

/// Returns the ARN of a room whose Ready condition is True, or explains why there is none.
pub fn ready_arn(room: &ChatRoom) -> Result<String, PluginError> {
    let namespace = room.metadata.namespace.clone().unwrap_or_default();
    let name = room.metadata.name.clone().unwrap_or_default();
    let not_ready = |detail: String| PluginError::RoomNotReady {
        namespace: namespace.clone(),
        name: name.clone(),
        detail,
    };
    let Some(ready) = condition(room, "Ready") else {
        return Err(not_ready(format!(
            "it has no Ready condition; check that ivschat-operator runs and watches namespace {namespace:?}"
        )));
    };
    if ready.status != "True" {
        return Err(not_ready(format!(
            "Ready={} with reason {}: {}",
            ready.status, ready.reason, ready.message
        )));
    }
    let arn = room.status.as_ref().and_then(|status| status.arn.clone());
    arn.filter(|arn| !arn.is_empty())
        .ok_or_else(|| not_ready("its status has no ARN".to_string()))
}
