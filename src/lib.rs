//! ivschat-operator: Amazon IVS Chat rooms and logging configurations as Kubernetes resources.
//!
//! The crate holds the custom resource types ([`crd`]), the controllers that reconcile them
//! ([`controller`]), the thin layer over `aws-sdk-ivschat` with the pure planning logic ([`ivs`]),
//! and a local IVS Chat service ([`emulator`]) that speaks the real wire protocol.

pub mod controller;
pub mod crd;
pub mod emulator;
pub mod http;
pub mod ivs;
pub mod metrics;
pub mod plugin;
pub mod telemetry;
