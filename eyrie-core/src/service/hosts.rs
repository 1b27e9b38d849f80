//! Domain claims and effective hostnames (SPEC §9): the service side of
//! [`crate::hostnames`].
//!
//! A claim change reads the claims at, above and below the new name, refuses
//! an overlap with another project's, and updates the guard record of the
//! name's shard in the same transaction, so that two projects racing for
//! overlapping names conflict and the loser re-runs into the refusal.
//! Deployments keep their effective hostname in their record; the store
//! holds one live deployment per hostname.

use super::Eyrie;
use crate::error::{Error, Result};
use crate::hostnames::{ancestors, name_key, overlap, shard};
use crate::ids::{HostClaimId, HostShardId, ProjectId};
use crate::model::{ClaimSource, Deployment, DeploymentGroup, HostClaim, HostShard, Project, Scope};
use crate::storage::{EntityKind, Index, StoreExt, Transaction, Versioned};
use crate::validate::DomainName;

impl Eyrie {
    /// Adds to `tx` what moves `project`'s claim from `source` to `name`
    /// (`None` releases it): nothing when unchanged; a refusal naming only
    /// `name` when it is equal to, below or above another project's claim.
    pub(crate) async fn reclaim(
        &self,
        project: ProjectId,
        source: ClaimSource,
        name: Option<&DomainName>,
        mut tx: Transaction,
    ) -> Result<Transaction> {
        let held = self.store.children::<HostClaim>(Index::ProjectClaims(project)).await?;
        let old = held.into_iter().find(|c| c.value.source == source);
        if old.as_ref().map(|c| &c.value.name) == name {
            return Ok(tx);
        }
        if let Some(old) = &old {
            tx = tx.delete(old);
        }
        let Some(name) = name else { return Ok(tx) };
        let shard_name = shard(name)?;
        let guard = HostShard { id: HostShardId(name_key(shard_name)), name: shard_name.to_owned() };
        tx = match self.store.find::<HostShard>(guard.id.0).await? {
            Some(read) => tx.update(&read, guard),
            None => tx.create(guard),
        };
        let mut near = self.store.children::<HostClaim>(Index::ClaimsAt(name_key(name.as_str()))).await?;
        for ancestor in ancestors(name.as_str()) {
            near.extend(self.store.children::<HostClaim>(Index::ClaimsAt(name_key(ancestor))).await?);
        }
        near.extend(self.store.children::<HostClaim>(Index::ClaimsBelow(name_key(name.as_str()))).await?);
        if near.iter().any(|c| c.value.project_id != project && overlap(c.value.name.as_str(), name.as_str())) {
            return Err(Error::policy(format!(
                "the domain {name} is equal to, below or above a domain another project holds"
            )));
        }
        Ok(tx.create(HostClaim { id: HostClaimId(self.next_id()), project_id: project, name: name.clone(), source }))
    }

    /// Adds to `tx` the deletion of every claim of `project` from `sources`.
    pub(crate) async fn release_claims(
        &self,
        project: ProjectId,
        released: impl Fn(&ClaimSource) -> bool,
        mut tx: Transaction,
    ) -> Result<Transaction> {
        for claim in self.store.children::<HostClaim>(Index::ProjectClaims(project)).await? {
            if released(&claim.value.source) {
                tx = tx.delete(&claim);
            }
        }
        Ok(tx)
    }

    /// Adds to `tx` the new effective hostname of every live deployment of
    /// `scopes` whose hostname changes once `project` and the scopes are as
    /// given (a changed domain or root_subdomain).
    pub(crate) async fn rehost(&self, project: &Project, scopes: &[Scope], mut tx: Transaction) -> Result<Transaction> {
        for scope in scopes {
            for d in self.store.children::<Deployment>(Index::ScopeLiveDeployments(scope.id)).await? {
                let host = crate::effective::hostname(project, scope, &d.value.slug);
                if host != d.value.hostname {
                    let mut moved = d.value.clone();
                    moved.hostname = host;
                    tx = tx.update(&d, moved);
                }
            }
        }
        Ok(tx)
    }

    /// Every scope of `project`.
    pub(crate) async fn project_scopes(&self, project: ProjectId) -> Result<Vec<Versioned<Scope>>> {
        let mut out = Vec::new();
        for g in self.store.children::<DeploymentGroup>(Index::ProjectGroups(project)).await? {
            out.extend(self.store.children::<Scope>(Index::GroupScopes(g.value.id)).await?);
        }
        Ok(out)
    }
}

/// A create of a shard guard that lost a race is a conflict to re-run (the
/// store names the kind of record it refused by [`EntityKind::name`]).
pub(crate) fn shard_race(e: Error) -> Error {
    match e {
        Error::AlreadyExists { entity, .. } if entity == EntityKind::HostShard.name() => {
            Error::Conflict("another claim in the same domain was made meanwhile".into())
        }
        other => other,
    }
}
