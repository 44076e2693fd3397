//! Reconcile errors, named after the step that failed.

use crate::ivs::{IvsError, IvsErrorKind};

/// A failed reconcile step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to read the IVS resource: {0}")]
    Observe(#[source] IvsError),

    #[error("failed to look up resources this operator created: {0}")]
    Recover(#[source] IvsError),

    #[error("failed to create the IVS resource: {0}")]
    Create(#[source] IvsError),

    #[error("failed to update the IVS resource: {0}")]
    Update(#[source] IvsError),

    #[error("failed to update tags: {0}")]
    Tag(#[source] IvsError),

    #[error("failed to delete the IVS resource: {0}")]
    Delete(#[source] IvsError),

    #[error(
        "the IVS resource to adopt does not exist: {arn}; fix adopt.arn or set adopt.policy to AdoptOrCreate"
    )]
    AdoptionTargetNotFound { arn: String },

    #[error("failed to read {kind} {name}: {source}")]
    ReadReference {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to publish the ARN to ConfigMap {name}: {source}")]
    Publish {
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error(
        "ConfigMap {name} exists and is not owned by this object; choose another publishTo.configMapName or delete that ConfigMap"
    )]
    ConfigMapNotOwned { name: String },

    #[error("failed to write status: {0}")]
    PatchStatus(#[source] kube::Error),

    #[error("object has no namespace")]
    MissingNamespace,

    #[error("finalizer failed: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// Returns the IVS error behind this failure, if IVS reported one.
    pub fn ivs(&self) -> Option<&IvsError> {
        match self {
            Error::Observe(e)
            | Error::Recover(e)
            | Error::Create(e)
            | Error::Update(e)
            | Error::Tag(e)
            | Error::Delete(e) => Some(e),
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.ivs(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Static PascalCase category for condition reasons, Event reasons and metrics labels.
    pub fn category(&self) -> &'static str {
        if let Some(ivs) = self.ivs() {
            return ivs.kind.as_str();
        }
        match self {
            Error::ReadReference { .. } | Error::PatchStatus(_) | Error::Publish { .. } => {
                "KubernetesError"
            }
            Error::ConfigMapNotOwned { .. } => "ConfigMapNotOwned",
            Error::MissingNamespace => "InvalidObject",
            Error::AdoptionTargetNotFound { .. } => "AdoptionTargetNotFound",
            _ => "ReconcileError",
        }
    }

    /// Reports whether only a change to the spec can fix this error, so retrying is useless.
    pub fn is_terminal(&self) -> bool {
        matches!(self.ivs().map(|e| e.kind), Some(IvsErrorKind::Validation))
            || matches!(
                self,
                Error::MissingNamespace | Error::AdoptionTargetNotFound { .. }
            )
    }

    /// Reports whether IVS rejected a create, so no resource was made. After a lost response
    /// or a server error, whether a resource exists is unknown.
    pub fn create_was_rejected(&self) -> bool {
        match self {
            Error::Create(e) => !matches!(
                e.kind,
                IvsErrorKind::Transport | IvsErrorKind::Server | IvsErrorKind::Other
            ),
            _ => false,
        }
    }

    /// Reports whether IVS throttled the call, which only means waiting a little.
    pub fn is_throttled(&self) -> bool {
        matches!(self.ivs().map(|e| e.kind), Some(IvsErrorKind::Throttling))
    }
}
