//! Custom resource types: `ChatRoom` and `ChatLoggingConfiguration` in `ivschat.operators.dev/v1alpha1`.
//!
//! The spec of each kind mirrors the IVS Chat API in Kubernetes naming, and the schema carries
//! the API's limits (lengths, ranges, patterns, enums, list and map sizes) as OpenAPI keywords
//! and CEL rules, so the API server rejects at admission what IVS would reject later. Optional
//! fields have no schema defaults: values IVS fills in are reported in status instead, which
//! keeps GitOps tools from seeing drift the API server injected.

mod chat_room;
mod logging_configuration;
mod policy;
mod schema;

pub use chat_room::{
    ChatRoom, ChatRoomSpec, ChatRoomStatus, FallbackResult, LoggingConfigurationReference,
    MessageReviewHandler,
};
pub use logging_configuration::{
    ChatLoggingConfiguration, ChatLoggingConfigurationSpec, ChatLoggingConfigurationStatus,
    CloudWatchLogsDestination, DestinationConfiguration, FirehoseDestination, S3Destination,
};
pub use policy::{
    Adoption, AdoptionPolicy, DeletionPolicy, ManagementPolicy, PAUSED_ANNOTATION, PublishTarget,
    RECONCILE_REQUEST_ANNOTATION,
};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of both kinds.
pub const GROUP: &str = "ivschat.operators.dev";

/// Finalizer that keeps an object until its IVS resource is deleted.
pub const FINALIZER: &str = "ivschat.operators.dev/finalizer";

/// Returns the definitions of every kind this operator serves.
pub fn definitions() -> Vec<CustomResourceDefinition> {
    vec![
        unwrap_descriptions(ChatRoom::crd()),
        unwrap_descriptions(ChatLoggingConfiguration::crd()),
    ]
}

/// Joins the lines of each schema description, which come from doc comments wrapped at the
/// source's width, so `kubectl explain` wraps them to the terminal instead; blank lines
/// still separate paragraphs.
fn unwrap_descriptions(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        serde_json::Value::String(text) if key == "description" => {
                            *text = text
                                .split("\n\n")
                                .map(|paragraph| {
                                    paragraph.split('\n').collect::<Vec<_>>().join(" ")
                                })
                                .collect::<Vec<_>>()
                                .join("\n\n");
                        }
                        _ => walk(child),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&crd) else {
        return crd;
    };
    walk(&mut value);
    serde_json::from_value(value).unwrap_or(crd)
}

/// Renders every definition as one multi-document YAML stream, as checked in under `crds/`.
pub fn definitions_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in definitions() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}
