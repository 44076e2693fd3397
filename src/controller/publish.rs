//! Publishing a resource's ARN and id into a ConfigMap the user names, so workloads can read
//! them as environment variables without anyone copying ARNs by hand.
//!
//! The ConfigMap is created with an owner reference to the object, updated when the ARN
//! changes, deleted with the object (explicitly, so it goes even where no garbage collector
//! runs), and deleted when the spec stops naming it. A ConfigMap that exists without this
//! object as owner is never overwritten.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams};
use kube::{Resource, ResourceExt};

use super::{Context, Error, MANAGER};

/// Keys the published ConfigMap carries.
pub const ARN_KEY: &str = "arn";
pub const ID_KEY: &str = "id";

/// Makes the ConfigMap `target` hold `arn` and `id`, and removes `previous` when the spec
/// moved to another name or stopped publishing. Returns the name now published.
pub async fn publish<K>(
    ctx: &Context,
    obj: &K,
    target: Option<&str>,
    previous: Option<&str>,
    arn: &str,
    id: &str,
) -> Result<Option<String>, Error>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = obj
        .meta()
        .namespace
        .clone()
        .ok_or(Error::MissingNamespace)?;
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Some(previous) = previous.filter(|p| Some(*p) != target) {
        remove(&api, obj, previous).await?;
    }
    let Some(target) = target else {
        return Ok(None);
    };

    let existing = api.get_opt(target).await.map_err(|source| Error::Publish {
        name: target.to_string(),
        source,
    })?;
    let data = BTreeMap::from([
        (ARN_KEY.to_string(), arn.to_string()),
        (ID_KEY.to_string(), id.to_string()),
    ]);
    if let Some(existing) = &existing {
        if !owned_by(existing, obj) {
            return Err(Error::ConfigMapNotOwned {
                name: target.to_string(),
            });
        }
        if existing.data.as_ref() == Some(&data) {
            return Ok(Some(target.to_string()));
        }
    }

    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(target.to_string()),
            namespace: Some(namespace),
            owner_references: obj.controller_owner_ref(&()).map(|owner| vec![owner]),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    api.patch(
        target,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&config_map),
    )
    .await
    .map_err(|source| Error::Publish {
        name: target.to_string(),
        source,
    })?;
    tracing::info!(config_map = target, %arn, "Published ARN");
    Ok(Some(target.to_string()))
}

/// Deletes the published ConfigMap if this object owns it; a missing one counts as deleted.
pub async fn remove<K>(api: &Api<ConfigMap>, obj: &K, name: &str) -> Result<(), Error>
where
    K: Resource<DynamicType = ()>,
{
    let existing = api.get_opt(name).await.map_err(|source| Error::Publish {
        name: name.to_string(),
        source,
    })?;
    let Some(existing) = existing.filter(|cm| owned_by(cm, obj)) else {
        return Ok(());
    };
    match api
        .delete(&existing.name_any(), &DeleteParams::default())
        .await
    {
        Ok(_) => {
            tracing::info!(config_map = name, "Deleted published ConfigMap");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(Error::Publish {
            name: name.to_string(),
            source,
        }),
    }
}

/// Deletes the published ConfigMap of an object being deleted.
pub async fn remove_for<K>(ctx: &Context, obj: &K, name: Option<&str>) -> Result<(), Error>
where
    K: Resource<DynamicType = ()>,
{
    let (Some(name), Some(namespace)) = (name, obj.meta().namespace.as_deref()) else {
        return Ok(());
    };
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    remove(&api, obj, name).await
}

fn owned_by<K: Resource<DynamicType = ()>>(config_map: &ConfigMap, obj: &K) -> bool {
    let uid = obj.meta().uid.as_deref();
    config_map
        .owner_references()
        .iter()
        .any(|owner| Some(owner.uid.as_str()) == uid)
}
