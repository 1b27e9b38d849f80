//! [`HostClaim`] and [`HostShard`]: the DNS subtrees projects hold (SPEC §9).
//! The rules are in [`crate::hostnames`].

use crate::ids::{HostClaimId, HostShardId, ProjectId, ScopeId};
use crate::validate::DomainName;

/// Which field of a project holds a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSource {
    /// The project's `domain`.
    ProjectDomain,
    /// A scope's `root_subdomain`.
    ScopeSubdomain(ScopeId),
}

/// One project's hold on a DNS subtree: the name and everything below it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostClaim {
    /// Identity.
    pub id: HostClaimId,
    /// The project that holds it.
    pub project_id: ProjectId,
    /// The claimed name.
    pub name: DomainName,
    /// The field it comes from.
    pub source: ClaimSource,
}

/// The guard of every claim sharing two last labels: each claim change in
/// the shard updates it, so that racing claims conflict and re-run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostShard {
    /// [`crate::hostnames::name_key`] of the shard's name.
    pub id: HostShardId,
    /// The two last labels, e.g. `acme.example`.
    pub name: String,
}
