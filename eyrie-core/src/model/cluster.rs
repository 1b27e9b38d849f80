//! [`Cluster`]: a Kubernetes cluster shared by many projects.

use crate::clock::Timestamp;
use crate::ids::ClusterId;
use crate::lifecycle::ClusterState;
use crate::secret::SealedSecret;
use crate::validate::{Name, Slug};

/// How a cluster is reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterConnection {
    /// Through a kubeconfig, sealed.
    Kubeconfig(SealedSecret),
    /// Through the service account of the pod Eyrie runs in.
    InCluster,
    /// Not shown to this reader: [`crate::Eyrie::list_clusters`] gives
    /// connection material, even sealed, only to platform administrators.
    /// Never stored.
    Withheld,
}

/// A Kubernetes cluster. Managed by platform administrators only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cluster {
    /// Identity.
    pub id: ClusterId,
    /// Display name.
    pub name: Name,
    /// Derived from the name.
    pub slug: Slug,
    /// Unique across the store (e.g. the `kube-system` namespace uid).
    pub uid: Name,
    /// How to reach it; the kubeconfig is a secret.
    pub connection: ClusterConnection,
    /// Its lifecycle state.
    pub state: ClusterState,
    /// When it was registered.
    pub created_at: Timestamp,
}
