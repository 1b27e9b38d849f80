//! Typed identifiers, one per entity, so that a `GroupId` can never be passed
//! where a `DeploymentId` is expected.
//!
//! Ids are 64-bit numbers handed out by an injected [`IdSource`]; the core
//! never invents them. They print as `<prefix>-<16 hex digits>`, e.g.
//! `dep-00000000000000a1`, and serialize as plain numbers.

use std::fmt;

/// Where new ids come from. The service asks it for one id per new record;
/// it must never return the same value twice for one store.
pub trait IdSource: Send + Sync {
    /// The next unused id.
    fn next_id(&self) -> u64;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The short prefix used when printing this kind of id.
            pub const PREFIX: &'static str = $prefix;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{:016x}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                $name(v)
            }
        }
    )*};
}

ids! {
    /// Identifies a [`crate::Project`].
    ProjectId = "prj";
    /// The never-changing uid of a project's [`crate::Namespace`].
    NamespaceUid = "ns";
    /// Identifies a [`crate::DeploymentGroup`].
    GroupId = "grp";
    /// Identifies a [`crate::Deployment`].
    DeploymentId = "dep";
    /// Identifies a [`crate::Scope`].
    ScopeId = "scp";
    /// Identifies a [`crate::Cluster`].
    ClusterId = "cls";
    /// Identifies a [`crate::Repository`].
    RepositoryId = "repo";
    /// Identifies a [`crate::Branch`].
    BranchId = "br";
    /// Identifies an [`crate::Image`].
    ImageId = "img";
    /// Identifies a [`crate::Datasource`].
    DatasourceId = "ds";
    /// Identifies a [`crate::Monitor`].
    MonitorId = "mon";
    /// Identifies a [`crate::MonitorLog`] entry.
    MonitorLogId = "mlog";
    /// Identifies a [`crate::BackupSchedule`].
    BackupScheduleId = "bsch";
    /// Identifies a [`crate::Backup`].
    BackupId = "bak";
    /// Identifies a [`crate::User`].
    UserId = "usr";
    /// Identifies a [`crate::Membership`].
    MembershipId = "mem";
    /// Identifies a [`crate::RoleOverride`].
    RoleOverrideId = "ovr";
    /// Identifies an [`crate::Invitation`].
    InvitationId = "inv";
    /// Identifies a [`crate::DeploymentVersion`].
    VersionId = "ver";
    /// Identifies an [`crate::AuditEvent`].
    AuditEventId = "aud";
    /// Identifies a [`crate::Job`].
    JobId = "job";
    /// Identifies a [`crate::Book`] version.
    BookId = "book";
    /// Identifies the [`crate::StepStats`] of one step of one book.
    StepStatsId = "stat";
    /// Identifies a [`crate::HostClaim`].
    HostClaimId = "claim";
    /// Identifies a [`crate::HostShard`]: the stable key of its two last labels.
    HostShardId = "shard";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_with_their_prefix_and_serialize_as_numbers() {
        assert_eq!(DeploymentId(0xa1).to_string(), "dep-00000000000000a1");
        assert_eq!(format!("{:?}", ProjectId(1)), "prj-0000000000000001");
        assert_eq!(serde_json::to_string(&GroupId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<GroupId>("7").unwrap(), GroupId(7));
    }
}
