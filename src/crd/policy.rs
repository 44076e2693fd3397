//! The operator's own controls, shared by both kinds: deletion, management and adoption.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fate of the IVS resource when its object is deleted.
#[derive(
    Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum,
)]
#[value(rename_all = "PascalCase")]
pub enum DeletionPolicy {
    /// Delete the IVS resource with the object.
    Delete,
    /// Keep the IVS resource; only the object goes away.
    Retain,
}

/// How far the operator may act on the IVS resource.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update, tag and delete the IVS resource to match the spec.
    #[default]
    Manage,
    /// Read the IVS resource named by `adopt.arn` and mirror it in status, never writing to
    /// IVS and never deleting it.
    ObserveOnly,
}

/// An existing IVS resource to take over instead of creating a new one.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Adoption {
    /// ARN of the IVS resource.
    #[schemars(
        length(min = 1, max = 128),
        regex(
            pattern = r"^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+$"
        )
    )]
    pub arn: String,

    /// `Adopt` (the default) fails with a condition when the resource does not exist;
    /// `AdoptOrCreate` creates a new one instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<AdoptionPolicy>,
}

/// Behaviour when the resource to adopt does not exist.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AdoptionPolicy {
    /// Report the missing resource and wait for a spec change.
    #[default]
    Adopt,
    /// Create a new resource.
    AdoptOrCreate,
}

/// A ConfigMap that receives the resource's ARN and id.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishTarget {
    /// Name of the ConfigMap in the object's namespace. The operator creates it with the keys
    /// `arn` and `id`, owns it, updates it when the ARN changes and deletes it with the object;
    /// it never overwrites a ConfigMap it does not own.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub config_map_name: String,
}

/// Annotation that stops the operator from acting on an object while set to `"true"`.
pub const PAUSED_ANNOTATION: &str = "ivschat.operators.dev/paused";

/// Annotation whose every new value requests an immediate reconcile; status echoes the last
/// value handled in `lastHandledReconcileAt`.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "ivschat.operators.dev/reconcile-requested-at";
