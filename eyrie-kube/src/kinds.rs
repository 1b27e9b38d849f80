//! The kinds of object Eyrie renders, with what kube-rs needs to address them.

use std::fmt;

use eyrie_core::GroupType;

/// A kind of Kubernetes object that Eyrie renders and manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `v1` `Namespace` (cluster-scoped; one per project).
    Namespace,
    /// `v1` `Secret`.
    Secret,
    /// `v1` `PersistentVolumeClaim`.
    PersistentVolumeClaim,
    /// `apps/v1` `Deployment`.
    Deployment,
    /// `v1` `Service`.
    Service,
    /// `networking.k8s.io/v1` `Ingress`.
    Ingress,
    /// Crunchy PGO's `postgres-operator.crunchydata.com/v1beta1` `PostgresCluster`.
    PostgresCluster,
    /// Percona's `pxc.percona.com/v1` `PerconaXtraDBCluster`.
    PerconaXtraDbCluster,
    /// `batch/v1` `Job` (Odoo backups and restores).
    Job,
    /// `v1` `Pod` (read only: why a Job's pod failed).
    Pod,
    /// Percona's `pxc.percona.com/v1` `PerconaXtraDBClusterBackup`.
    PerconaXtraDbClusterBackup,
    /// Percona's `pxc.percona.com/v1` `PerconaXtraDBClusterRestore`.
    PerconaXtraDbClusterRestore,
}

impl Kind {
    /// Every kind, in apply order.
    pub const ALL: [Kind; 12] = [
        Kind::Namespace,
        Kind::Secret,
        Kind::PersistentVolumeClaim,
        Kind::Deployment,
        Kind::Service,
        Kind::Ingress,
        Kind::PostgresCluster,
        Kind::PerconaXtraDbCluster,
        Kind::Job,
        Kind::Pod,
        Kind::PerconaXtraDbClusterBackup,
        Kind::PerconaXtraDbClusterRestore,
    ];

    /// The kind whose `kind` field is `kind` (case-sensitive, as the API is).
    pub fn from_kind(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// `(group, version, kind, plural)`.
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Namespace => ("", "v1", "Namespace", "namespaces"),
            Kind::Secret => ("", "v1", "Secret", "secrets"),
            Kind::PersistentVolumeClaim => ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Kind::Service => ("", "v1", "Service", "services"),
            Kind::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Kind::PostgresCluster => {
                ("postgres-operator.crunchydata.com", "v1beta1", "PostgresCluster", "postgresclusters")
            }
            Kind::PerconaXtraDbCluster => ("pxc.percona.com", "v1", "PerconaXtraDBCluster", "perconaxtradbclusters"),
            Kind::Job => ("batch", "v1", "Job", "jobs"),
            Kind::Pod => ("", "v1", "Pod", "pods"),
            Kind::PerconaXtraDbClusterBackup => {
                ("pxc.percona.com", "v1", "PerconaXtraDBClusterBackup", "perconaxtradbclusterbackups")
            }
            Kind::PerconaXtraDbClusterRestore => {
                ("pxc.percona.com", "v1", "PerconaXtraDBClusterRestore", "perconaxtradbclusterrestores")
            }
        }
    }

    /// The API group (empty for the core group).
    pub fn group(self) -> &'static str {
        self.parts().0
    }

    /// `apiVersion`, e.g. `apps/v1` or `v1`.
    pub fn api_version(self) -> String {
        let (group, version, _, _) = self.parts();
        if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") }
    }

    /// The `kind` field.
    pub fn kind(self) -> &'static str {
        self.parts().2
    }

    /// The plural resource name used in URLs.
    pub fn plural(self) -> &'static str {
        self.parts().3
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        self != Kind::Namespace
    }

    /// Whether this is an operator's custom resource.
    pub fn is_custom(self) -> bool {
        matches!(
            self,
            Kind::PostgresCluster
                | Kind::PerconaXtraDbCluster
                | Kind::PerconaXtraDbClusterBackup
                | Kind::PerconaXtraDbClusterRestore
        )
    }

    /// What kube-rs needs to address this kind dynamically.
    #[cfg(feature = "client")]
    pub fn api_resource(self) -> kube::discovery::ApiResource {
        let (group, version, kind, plural) = self.parts();
        kube::discovery::ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: self.api_version(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
        }
    }

    /// Every namespaced kind a deployment of `group_type` may own, in apply
    /// order (what others depend on first). Listing these with the
    /// deployment's labels finds everything Eyrie applied for it, except the
    /// objects of backups and restores ([`Kind::operations_of`]).
    pub fn owned_by(group_type: GroupType) -> &'static [Kind] {
        match group_type {
            GroupType::Odoo => {
                &[Kind::Secret, Kind::PersistentVolumeClaim, Kind::Deployment, Kind::Service, Kind::Ingress]
            }
            GroupType::Pgo => &[Kind::PostgresCluster],
            GroupType::Pxc => &[Kind::PerconaXtraDbCluster],
            GroupType::None => &[Kind::Deployment, Kind::Service, Kind::Ingress],
        }
    }

    /// The kinds of the objects backups and restores of `group_type` create
    /// that [`Kind::owned_by`] does not list already (see
    /// [`crate::backups`]): they carry the deployment's labels plus
    /// [`crate::labels::OPERATION`], a reconcile leaves them alone and a drop
    /// deletes them.
    pub fn operations_of(group_type: GroupType) -> &'static [Kind] {
        match group_type {
            GroupType::Odoo => &[Kind::Job],
            GroupType::Pgo => &[Kind::Secret],
            GroupType::Pxc => &[Kind::Secret, Kind::PerconaXtraDbClusterBackup, Kind::PerconaXtraDbClusterRestore],
            GroupType::None => &[],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert_eq!(Kind::Secret.api_version(), "v1");
        assert_eq!(Kind::Deployment.api_version(), "apps/v1");
        assert_eq!(Kind::PostgresCluster.api_version(), "postgres-operator.crunchydata.com/v1beta1");
        assert_eq!(Kind::PerconaXtraDbCluster.plural(), "perconaxtradbclusters");
        assert!(!Kind::Namespace.namespaced());
        for kind in Kind::ALL {
            assert_eq!(Kind::from_kind(kind.kind()), Some(kind));
        }
        assert_eq!(Kind::from_kind("deployment"), None);
    }
}
