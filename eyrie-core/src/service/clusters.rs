//! Clusters: platform administrators register them, move them through their
//! lifecycle and retire them; everyone may list them (without their
//! connections).

use crate::permission::Principal;
use std::collections::BTreeSet;

use super::{Eyrie, allow};
use crate::error::{Error, Result};
use crate::executor::{ClusterAccess, ClusterCredentials};
use crate::ids::ClusterId;
use crate::lifecycle::ClusterState;
use crate::model::{Cluster, ClusterConnection, Deployment, DeploymentGroup, Scope};
use crate::permission::{Action, Actor, Resource};
use crate::rules::deployment_clusters;
use crate::secret::SecretString;
use crate::storage::{Check, Index, StoreExt, Transaction};
use crate::validate::{Name, Slug};

/// How a new or changed cluster is reached, in plaintext; sealed before storing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewConnection {
    /// A kubeconfig document.
    Kubeconfig(SecretString),
    /// The pod's service account.
    InCluster,
}

/// What a new cluster needs: [`NewCluster::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewCluster {
    /// Display name; the slug derives from it.
    pub name: Name,
    /// Unique uid.
    pub uid: Name,
    /// How to reach it.
    pub connection: NewConnection,
}

/// Changes to a cluster; `None` leaves a field as it is. Start from
/// [`ClusterPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterPatch {
    /// New name (the slug follows).
    pub name: Option<Name>,
    /// New connection.
    pub connection: Option<NewConnection>,
}

impl NewCluster {
    /// A cluster named `name` (its slug derives from it) with the unique
    /// `uid`, reached through `connection`.
    pub fn new(name: Name, uid: Name, connection: NewConnection) -> Self {
        NewCluster { name, uid, connection }
    }
}

impl ClusterPatch {
    /// Renames the cluster (the slug follows).
    pub fn with_name(mut self, name: Name) -> Self {
        self.name = Some(name);
        self
    }

    /// Replaces how it is reached.
    pub fn with_connection(mut self, connection: NewConnection) -> Self {
        self.connection = Some(connection);
        self
    }
}

fn kubeconfig_context(id: ClusterId) -> String {
    format!("cluster/{}/kubeconfig", id.0)
}

impl Eyrie {
    fn seal_connection(&self, id: ClusterId, c: &NewConnection) -> Result<ClusterConnection> {
        Ok(match c {
            NewConnection::Kubeconfig(k) => {
                ClusterConnection::Kubeconfig(self.sealer.seal(k, &kubeconfig_context(id))?)
            }
            NewConnection::InCluster => ClusterConnection::InCluster,
        })
    }

    /// Registers a cluster in `draft` (platform administrators only). Its
    /// kubeconfig is sealed before it reaches the store.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn create_cluster(&self, actor: Actor, input: NewCluster) -> Result<Cluster> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ManageClusters, &Resource::Global)?;
        let id = ClusterId(self.next_id());
        let cluster = Cluster {
            id,
            slug: Slug::from_name(input.name.as_str()),
            name: input.name,
            uid: input.uid,
            connection: self.seal_connection(id, &input.connection)?,
            state: ClusterState::Draft,
            created_at: self.now(),
        };
        self.commit(Transaction::new().create(cluster.clone()), self.audit(actor, None, "cluster.create", id)).await?;
        Ok(cluster)
    }

    /// Every cluster. Platform administrators (and the system) get their
    /// connections, still sealed; everyone else gets
    /// [`ClusterConnection::Withheld`] in their place.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn list_clusters(&self, actor: Actor) -> Result<Vec<Cluster>> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ReadGlobal, &Resource::Global)?;
        let may_open = crate::permission::explain(actor, Action::ManageClusters, &Resource::Global).allowed;
        let clusters = self.store.all::<Cluster>().await?.into_iter().map(|v| v.value);
        Ok(clusters
            .map(|mut c| {
                if !may_open {
                    c.connection = ClusterConnection::Withheld;
                }
                c
            })
            .collect())
    }

    /// Edits a cluster's name or connection.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_cluster(&self, actor: Actor, id: ClusterId, patch: ClusterPatch) -> Result<Cluster> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ManageClusters, &Resource::Global)?;
        self.retrying(|| async {
            let read = self.store.fetch::<Cluster>(id.0).await?;
            let mut cluster = read.value.clone();
            if let Some(name) = &patch.name {
                cluster.slug = Slug::from_name(name.as_str());
                cluster.name = name.clone();
            }
            if let Some(c) = &patch.connection {
                cluster.connection = self.seal_connection(id, c)?;
            }
            self.commit(
                Transaction::new().update(&read, cluster.clone()),
                self.audit(actor, None, "cluster.update", id),
            )
            .await?;
            Ok(cluster)
        })
        .await
    }

    /// Moves a cluster through its lifecycle. Entering `delete` is refused
    /// while a live deployment runs on it.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn transition_cluster(&self, actor: Actor, id: ClusterId, to: ClusterState) -> Result<Cluster> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ManageClusters, &Resource::Global)?;
        self.retrying(|| async {
            let read = self.store.fetch::<Cluster>(id.0).await?;
            let mut cluster = read.value.clone();
            cluster.state = cluster.state.transition(to)?;
            let mut tx = Transaction::new();
            if to == ClusterState::Delete {
                // Count first, then look: a deployment created after the count
                // makes the commit conflict; one created before is seen.
                for g in self.store.children::<DeploymentGroup>(Index::ClusterGroups(id)).await? {
                    let index = Index::GroupDeployments(g.value.id);
                    tx = tx.unchanged(&g).check(Check::Count { index, count: self.store.count(index).await? });
                }
                let users = self.live_deployments_on(id).await?;
                if let Some(d) = users.first() {
                    return Err(Error::policy(format!(
                        "cluster {} is still used by {} live deployment(s), e.g. {}",
                        cluster.slug,
                        users.len(),
                        d.slug
                    )));
                }
            }
            let tx = tx.update(&read, cluster.clone());
            self.commit(tx, self.audit(actor, None, &format!("cluster.{}", to.as_str()), id)).await?;
            Ok(cluster)
        })
        .await
    }

    /// The live deployments whose effective clusters include `id`.
    pub(crate) async fn live_deployments_on(&self, id: ClusterId) -> Result<Vec<Deployment>> {
        let mut out = Vec::new();
        for g in self.store.children::<DeploymentGroup>(Index::ClusterGroups(id)).await? {
            for scope in self.store.children::<Scope>(Index::GroupScopes(g.value.id)).await? {
                for d in self.store.children::<Deployment>(Index::ScopeLiveDeployments(scope.value.id)).await? {
                    if deployment_clusters(&d.value.cluster_ids, &g.value, &scope.value)?.contains(&id) {
                        out.push(d.value);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Pins the clusters a deployment will use and refuses deleted ones, so
    /// that a concurrent cluster deletion and this write cannot both succeed.
    pub(crate) async fn pin_clusters(
        &self,
        clusters: &BTreeSet<ClusterId>,
        mut tx: Transaction,
    ) -> Result<Transaction> {
        for id in clusters {
            let cluster = self.store.fetch::<Cluster>(id.0).await?;
            if cluster.value.state == ClusterState::Delete {
                return Err(Error::policy(format!("cluster {} is deleted", cluster.value.slug)));
            }
            tx = tx.unchanged(&cluster);
        }
        Ok(tx)
    }

    /// Opens a cluster's connection for an executor call (platform
    /// administrators and the system actor only). The plaintext is meant for
    /// the executor alone; `ClusterAccess` redacts it when printed.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn open_cluster(&self, actor: Actor, id: ClusterId) -> Result<ClusterAccess> {
        let actor = self.identify(actor).await?;
        self.open_cluster_as(actor, id).await
    }

    /// [`Eyrie::open_cluster`] for an identified principal.
    pub(crate) async fn open_cluster_as(&self, actor: Principal, id: ClusterId) -> Result<ClusterAccess> {
        allow(actor, Action::ManageClusters, &Resource::Global)?;
        let cluster = self.store.fetch::<Cluster>(id.0).await?.value;
        self.open_cluster_record(cluster)
    }

    /// Opens the connection of a cluster record the caller already read
    /// (and authorized): the engine reads each cluster once per step.
    pub(crate) fn open_cluster_record(&self, cluster: Cluster) -> Result<ClusterAccess> {
        let id = cluster.id;
        let credentials = match &cluster.connection {
            ClusterConnection::Kubeconfig(sealed) => {
                ClusterCredentials::Kubeconfig(self.sealer.open(sealed, &kubeconfig_context(id))?)
            }
            ClusterConnection::InCluster => ClusterCredentials::InCluster,
            ClusterConnection::Withheld => {
                return Err(Error::Corrupt {
                    record: id.to_string(),
                    reason: "a withheld connection was stored".into(),
                });
            }
        };
        Ok(ClusterAccess { cluster_id: id, slug: cluster.slug, credentials })
    }
}
