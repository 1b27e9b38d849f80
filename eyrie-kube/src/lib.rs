//! Execution of Eyrie deployments on Kubernetes with kube-rs and k8s-openapi.
//!
//! **Not built yet.** This crate is a shell that reserves its place in the
//! workspace; rendering and applying come with the Kubernetes issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
