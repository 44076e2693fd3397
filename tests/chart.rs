//! Tests of the Helm chart in `charts/ivschat-operator` and its Argo CD health check.
//!
//! The rendering and cluster tests run `helm` and `kubectl` against the control plane that
//! `tools/testenv/run.sh` starts (it sets `KUBECONFIG` and puts both commands on `PATH`). A
//! missing command or kubeconfig fails the test; nothing here skips. Every test that touches
//! the cluster uses its own release name and namespaces, so the tests run in parallel.

#[path = "chart/argocd_health.rs"]
mod argocd_health;
#[path = "chart/argocd_live.rs"]
mod argocd_live;
#[path = "chart/docs.rs"]
mod docs;
#[path = "chart/install.rs"]
mod install;
#[path = "chart/render.rs"]
mod render;
#[path = "chart/service_account.rs"]
mod service_account;
#[path = "support/mod.rs"]
mod support;
#[path = "chart/tools.rs"]
mod tools;
