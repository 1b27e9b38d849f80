//! Keys: which record ([`RecordKey`]), which list ([`Index`]) and which
//! unique value ([`UniqueKey`]), and their byte encodings.
//!
//! Every backend stores three key spaces (tables or trees):
//!
//! | space | key bytes | value bytes |
//! | --- | --- | --- |
//! | records | `kind tag (1) · id (8, big-endian)` | the record envelope ([`super::codec`]) |
//! | index | `index tag (1) · parent id (8, BE) · record key (9)` | empty |
//! | unique | `space tag (1) · scope id (8, BE) · value (UTF-8)` | the owning record key (9) |
//!
//! Big-endian ids keep each list in id order and make every list a prefix
//! scan. Tags are part of the stored format: never renumber them.

use std::fmt;

use crate::error::{Error, Result};

macro_rules! entity_kinds {
    ($($variant:ident = $tag:literal, $name:literal;)*) => {
        /// The kind of a stored record.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum EntityKind {
            $(#[doc = concat!("A `", $name, "` record.")] $variant,)*
        }

        impl EntityKind {
            /// Every kind.
            pub const ALL: &'static [EntityKind] = &[$(EntityKind::$variant),*];

            /// The stored tag.
            pub fn tag(self) -> u8 {
                match self { $(EntityKind::$variant => $tag,)* }
            }

            /// The kind with stored tag `tag`.
            pub fn from_tag(tag: u8) -> Option<EntityKind> {
                match tag { $($tag => Some(EntityKind::$variant),)* _ => None }
            }

            /// The record's name in messages.
            pub fn name(self) -> &'static str {
                match self { $(EntityKind::$variant => $name,)* }
            }
        }
    };
}

entity_kinds! {
    Project = 1, "project";
    Namespace = 2, "namespace";
    Group = 3, "group";
    Deployment = 4, "deployment";
    Scope = 5, "scope";
    Cluster = 6, "cluster";
    Repository = 7, "repository";
    Branch = 8, "branch";
    Image = 9, "image";
    Datasource = 10, "datasource";
    Monitor = 11, "monitor";
    MonitorLog = 12, "monitor log";
    BackupSchedule = 13, "backup schedule";
    Backup = 14, "backup";
    User = 15, "user";
    Membership = 16, "membership";
    RoleOverride = 17, "role override";
    Invitation = 18, "invitation";
    Version = 19, "deployment version";
    Audit = 20, "audit event";
    Book = 21, "book";
    Job = 22, "job";
    StepStats = 23, "step statistics";
    HostClaim = 24, "domain claim";
    HostShard = 25, "domain shard";
}

impl EntityKind {
    /// The prefix its ids print with (`prj`, `dep`, …), as the typed ids of
    /// [`crate::ids`] print.
    pub fn id_prefix(self) -> &'static str {
        use crate::ids::*;
        match self {
            EntityKind::Project => ProjectId::PREFIX,
            EntityKind::Namespace => NamespaceUid::PREFIX,
            EntityKind::Group => GroupId::PREFIX,
            EntityKind::Deployment => DeploymentId::PREFIX,
            EntityKind::Scope => ScopeId::PREFIX,
            EntityKind::Cluster => ClusterId::PREFIX,
            EntityKind::Repository => RepositoryId::PREFIX,
            EntityKind::Branch => BranchId::PREFIX,
            EntityKind::Image => ImageId::PREFIX,
            EntityKind::Datasource => DatasourceId::PREFIX,
            EntityKind::Monitor => MonitorId::PREFIX,
            EntityKind::MonitorLog => MonitorLogId::PREFIX,
            EntityKind::BackupSchedule => BackupScheduleId::PREFIX,
            EntityKind::Backup => BackupId::PREFIX,
            EntityKind::User => UserId::PREFIX,
            EntityKind::Membership => MembershipId::PREFIX,
            EntityKind::RoleOverride => RoleOverrideId::PREFIX,
            EntityKind::Invitation => InvitationId::PREFIX,
            EntityKind::Version => VersionId::PREFIX,
            EntityKind::Audit => AuditEventId::PREFIX,
            EntityKind::Book => BookId::PREFIX,
            EntityKind::Job => JobId::PREFIX,
            EntityKind::StepStats => StepStatsId::PREFIX,
            EntityKind::HostClaim => HostClaimId::PREFIX,
            EntityKind::HostShard => HostShardId::PREFIX,
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies one stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    /// Its kind.
    pub kind: EntityKind,
    /// Its id.
    pub id: u64,
}

impl RecordKey {
    /// Encoded length.
    pub const LEN: usize = 9;

    /// A key.
    pub fn new(kind: EntityKind, id: u64) -> Self {
        RecordKey { kind, id }
    }

    /// The 9-byte encoding.
    pub fn to_bytes(self) -> [u8; 9] {
        let mut out = [0u8; 9];
        out[0] = self.kind.tag();
        out[1..].copy_from_slice(&self.id.to_be_bytes());
        out
    }

    /// Decodes 9 bytes written by [`RecordKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<RecordKey> {
        let corrupt = |reason: &str| Error::Corrupt { record: hex(bytes), reason: reason.to_owned() };
        let [tag, id @ ..] = bytes else { return Err(corrupt("empty record key")) };
        let kind = EntityKind::from_tag(*tag).ok_or_else(|| corrupt("unknown record kind"))?;
        let id: [u8; 8] = id.try_into().map_err(|_| corrupt("record key is not 9 bytes"))?;
        Ok(RecordKey { kind, id: u64::from_be_bytes(id) })
    }

    /// The id as every message prints it: `prj-00000000000000a1`.
    pub fn id_text(self) -> String {
        format!("{}-{:016x}", self.kind.id_prefix(), self.id)
    }

    /// The key prefix shared by every record of `kind`.
    pub fn kind_prefix(kind: EntityKind) -> [u8; 1] {
        [kind.tag()]
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id_text())
    }
}

/// A stable 64-bit hash (FNV-1a) for index parents made from values: the
/// same bytes give the same parent in every process and version. Collisions
/// only make two values share a list; readers compare the values.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Lowercase hex of `bytes`, for naming undecodable keys.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

use crate::ids::{
    ClusterId, DatasourceId, DeploymentId, GroupId, ImageId, MonitorId, ProjectId, RepositoryId, ScopeId, UserId,
};

/// A list of records under one parent, kept by the store from the
/// records themselves (see [`super::Record::indexes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Index {
    /// Groups of a project.
    ProjectGroups(ProjectId),
    /// Scopes of a group.
    GroupScopes(GroupId),
    /// Deployments of a group, dropped ones included.
    GroupDeployments(GroupId),
    /// Deployments of a scope, dropped ones included.
    ScopeDeployments(ScopeId),
    /// Live (not dropped) deployments of a scope: what `deployment_limit` counts.
    ScopeLiveDeployments(ScopeId),
    /// Groups that link a cluster.
    ClusterGroups(ClusterId),
    /// Memberships of a project.
    ProjectMembers(ProjectId),
    /// Memberships of a user.
    UserMemberships(UserId),
    /// Role overrides in a project.
    ProjectOverrides(ProjectId),
    /// Invitations of a project.
    ProjectInvitations(ProjectId),
    /// Datasources of a project.
    ProjectDatasources(ProjectId),
    /// Repositories of a project.
    ProjectRepositories(ProjectId),
    /// Repositories tied to no project.
    GlobalRepositories,
    /// Branches of a repository.
    RepositoryBranches(RepositoryId),
    /// Images of a project.
    ProjectImages(ProjectId),
    /// Images tied to no project.
    GlobalImages,
    /// Deployments whose own settings name an image.
    ImageDeployments(ImageId),
    /// Scopes whose settings name an image.
    ImageScopes(ImageId),
    /// Groups whose settings name an image.
    ImageGroups(ImageId),
    /// Monitors of a deployment.
    DeploymentMonitors(DeploymentId),
    /// Logs of a monitor.
    MonitorLogs(MonitorId),
    /// Versions of a deployment.
    DeploymentVersions(DeploymentId),
    /// Backups of a deployment.
    DeploymentBackups(DeploymentId),
    /// Backup schedules of a deployment.
    DeploymentSchedules(DeploymentId),
    /// Audit events of a project.
    ProjectAudit(ProjectId),
    /// Audit events outside any project (clusters, users).
    GlobalAudit,
    /// Versions of the book for one group type and action (parent: [`Index::book_parent`]).
    Books(u64),
    /// Jobs of a deployment.
    DeploymentJobs(DeploymentId),
    /// Jobs in one state (parent: [`Index::job_state_parent`]).
    JobsInState(u64),
    /// Live deployments by the instant (seconds since the epoch) their next timer falls due.
    DeploymentTimers(u64),
    /// Backup schedules by the instant (seconds) they are next due.
    BackupsDue(u64),
    /// Images whose digest changed and whose subscribers still wait for a redeploy.
    ImagesPendingRedeploy,
    /// Monitor logs by the instant (seconds) they may be pruned (logs
    /// written before retention was decided when pruning).
    LogsExpiring(u64),
    /// Domain claims of one name (parent: [`crate::hostnames::name_key`]).
    ClaimsAt(u64),
    /// Domain claims below one name (parent: [`crate::hostnames::name_key`]).
    ClaimsBelow(u64),
    /// Domain claims of a project.
    ProjectClaims(ProjectId),
    /// Users who marked a group as a favourite.
    FavouredBy(GroupId),
    /// Scopes with a `monitor_log_delete_after_seconds`.
    ScopesWithLogRetention,
    /// Monitor logs by scope and minute written (parent: [`Index::scope_log_parent`]).
    ScopeLogs(u64),
    /// Monitors by the instant (seconds) their next check is due.
    MonitorsDue(u64),
    /// Monitors not `unknown` by the instant (seconds) they go stale
    /// without a result ([`crate::Monitor::stale_at`]).
    MonitorsStale(u64),
    /// Monitor logs by monitor and minute written (parent: [`Index::monitor_log_parent`]).
    MonitorLogsAt(u64),
    /// Backups taken in a scope (listing per scope, seeding from it).
    ScopeBackups(ScopeId),
    /// Backups stored in a datasource (a datasource still referenced is not deleted).
    DatasourceBackups(DatasourceId),
    /// Backups by the instant (seconds) retention should look at their
    /// deployment again ([`crate::Backup::review_at`]).
    BackupsToReview(u64),
}

impl Index {
    /// The stored tag and the parent id.
    fn tag_and_parent(self) -> (u8, u64) {
        match self {
            Index::ProjectGroups(p) => (1, p.0),
            Index::GroupScopes(p) => (2, p.0),
            Index::GroupDeployments(p) => (3, p.0),
            Index::ScopeDeployments(p) => (4, p.0),
            Index::ScopeLiveDeployments(p) => (5, p.0),
            Index::ClusterGroups(p) => (6, p.0),
            Index::ProjectMembers(p) => (7, p.0),
            Index::UserMemberships(p) => (8, p.0),
            Index::ProjectOverrides(p) => (9, p.0),
            Index::ProjectInvitations(p) => (10, p.0),
            Index::ProjectDatasources(p) => (11, p.0),
            Index::ProjectRepositories(p) => (12, p.0),
            Index::GlobalRepositories => (13, 0),
            Index::RepositoryBranches(p) => (14, p.0),
            Index::ProjectImages(p) => (15, p.0),
            Index::GlobalImages => (16, 0),
            Index::ImageDeployments(p) => (17, p.0),
            Index::ImageScopes(p) => (18, p.0),
            Index::ImageGroups(p) => (19, p.0),
            Index::DeploymentMonitors(p) => (20, p.0),
            Index::MonitorLogs(p) => (21, p.0),
            Index::DeploymentVersions(p) => (22, p.0),
            Index::DeploymentBackups(p) => (23, p.0),
            Index::DeploymentSchedules(p) => (24, p.0),
            Index::ProjectAudit(p) => (25, p.0),
            Index::GlobalAudit => (26, 0),
            Index::Books(p) => (27, p),
            Index::DeploymentJobs(p) => (28, p.0),
            Index::JobsInState(p) => (29, p),
            Index::DeploymentTimers(p) => (30, p),
            Index::BackupsDue(p) => (31, p),
            Index::ImagesPendingRedeploy => (32, 0),
            Index::LogsExpiring(p) => (33, p),
            Index::ClaimsAt(p) => (34, p),
            Index::ClaimsBelow(p) => (35, p),
            Index::ProjectClaims(p) => (36, p.0),
            Index::FavouredBy(p) => (37, p.0),
            Index::ScopesWithLogRetention => (38, 0),
            Index::ScopeLogs(p) => (39, p),
            Index::MonitorsDue(p) => (40, p),
            Index::MonitorsStale(p) => (41, p),
            Index::MonitorLogsAt(p) => (42, p),
            Index::ScopeBackups(p) => (43, p.0),
            Index::DatasourceBackups(p) => (44, p.0),
            Index::BackupsToReview(p) => (45, p),
        }
    }
}

impl Index {
    /// The parent of [`Index::Books`] for a group type and action: their
    /// stable tags ([`group_type_tag`], [`job_action_tag`]), never their
    /// position in a list, so a new variant does not re-key stored books.
    pub fn book_parent(group_type: crate::model::GroupType, action: crate::model::JobAction) -> u64 {
        (u64::from(group_type_tag(group_type)) << 8) | u64::from(job_action_tag(action))
    }

    /// The parent of a time index for an instant: whole seconds, negative clamped to 0.
    pub fn time_parent(at: crate::Timestamp) -> u64 {
        at.as_unix_seconds().max(0) as u64
    }

    /// The parent of [`Index::ScopeLogs`]: 32 bits of the scope (a hash of
    /// its id; readers compare the scope itself) over 32 bits of minutes
    /// since the epoch, so that one range read finds a scope's logs written
    /// up to a minute, oldest first.
    pub fn scope_log_parent(scope: ScopeId, at: crate::Timestamp) -> u64 {
        let hashed = stable_hash(&scope.0.to_be_bytes());
        let minutes = u64::try_from(at.as_unix_seconds().max(0) / 60).unwrap_or(0).min(u64::from(u32::MAX));
        ((hashed >> 32) << 32) | minutes
    }

    /// The parent of [`Index::MonitorLogsAt`]: like [`Index::scope_log_parent`],
    /// 32 bits of a hash of the monitor over 32 bits of minutes, so one range
    /// read finds a monitor's logs of a time window, oldest minute first.
    pub fn monitor_log_parent(monitor: MonitorId, at: crate::Timestamp) -> u64 {
        let hashed = stable_hash(&monitor.0.to_be_bytes());
        let minutes = u64::try_from(at.as_unix_seconds().max(0) / 60).unwrap_or(0).min(u64::from(u32::MAX));
        ((hashed >> 32) << 32) | minutes
    }

    /// The parent of [`Index::JobsInState`] for a state: its stable tag ([`job_state_tag`]).
    pub fn job_state_parent(state: crate::JobState) -> u64 {
        u64::from(job_state_tag(state))
    }

    /// Encoded prefix length.
    pub const PREFIX_LEN: usize = 9;

    /// The byte prefix shared by every entry of this list.
    pub fn prefix(self) -> [u8; 9] {
        let (tag, parent) = self.tag_and_parent();
        let mut out = [0u8; 9];
        out[0] = tag;
        out[1..].copy_from_slice(&parent.to_be_bytes());
        out
    }

    /// The entry key for `record` in this list.
    pub fn entry(self, record: RecordKey) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::PREFIX_LEN + RecordKey::LEN);
        out.extend_from_slice(&self.prefix());
        out.extend_from_slice(&record.to_bytes());
        out
    }

    /// The record key at the end of an entry key.
    pub fn record_of_entry(entry: &[u8]) -> Result<RecordKey> {
        match entry.len().checked_sub(RecordKey::LEN) {
            Some(start) if start == Self::PREFIX_LEN => RecordKey::from_bytes(&entry[start..]),
            _ => Err(Error::Corrupt { record: hex(entry), reason: "index entry has the wrong length".into() }),
        }
    }
}

// Stable tags of the enums whose values are part of index keys. They are
// stored: never renumber one, give a new variant the next free number. The
// matches are exhaustive, so a new variant does not compile without a tag.

/// The stored tag of a group type in index keys.
pub fn group_type_tag(group_type: crate::model::GroupType) -> u8 {
    use crate::model::GroupType;
    match group_type {
        GroupType::Odoo => 0,
        GroupType::Pgo => 1,
        GroupType::Pxc => 2,
        GroupType::None => 3,
    }
}

/// The stored tag of a job action in index keys.
pub fn job_action_tag(action: crate::model::JobAction) -> u8 {
    use crate::model::JobAction;
    match action {
        JobAction::Initialize => 0,
        JobAction::Deploy => 1,
        JobAction::Redeploy => 2,
        JobAction::Pause => 3,
        JobAction::Drop => 4,
        JobAction::Backup => 5,
        JobAction::Restore => 6,
    }
}

/// The stored tag of a job state in index keys.
pub fn job_state_tag(state: crate::JobState) -> u8 {
    use crate::JobState;
    match state {
        JobState::Draft => 0,
        JobState::Scheduled => 1,
        JobState::Running => 2,
        JobState::Done => 3,
        JobState::Error => 4,
        JobState::Cancel => 5,
    }
}

/// A value that at most one record may hold at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UniqueKey {
    /// A project slug, across the whole store.
    ProjectSlug(String),
    /// A group slug within a project.
    GroupSlug(ProjectId, String),
    /// A scope code within a group.
    ScopeCode(GroupId, String),
    /// A deployment slug within a group.
    DeploymentSlug(GroupId, String),
    /// A cluster uid.
    ClusterUid(String),
    /// A cluster slug.
    ClusterSlug(String),
    /// A user's e-mail address.
    UserEmail(String),
    /// One membership per user and project.
    Membership(ProjectId, UserId),
    /// One override per user and target.
    Override(UserId, crate::model::OverrideTarget),
    /// One pending invitation per e-mail address and project.
    PendingInvitation(ProjectId, String),
    /// One version number per book (parent: [`Index::book_parent`]).
    BookVersion(u64, u32),
    /// At most one active job per deployment.
    ActiveJob(DeploymentId),
    /// One live deployment per effective hostname.
    Hostname(String),
}

impl UniqueKey {
    /// The encoded key.
    pub fn to_bytes(&self) -> Vec<u8> {
        use crate::model::OverrideTarget;
        let (tag, scope, value): (u8, u64, std::borrow::Cow<'_, str>) = match self {
            UniqueKey::ProjectSlug(v) => (1, 0, v.into()),
            UniqueKey::GroupSlug(p, v) => (2, p.0, v.into()),
            UniqueKey::ScopeCode(g, v) => (3, g.0, v.into()),
            UniqueKey::DeploymentSlug(g, v) => (4, g.0, v.into()),
            UniqueKey::ClusterUid(v) => (5, 0, v.into()),
            UniqueKey::ClusterSlug(v) => (6, 0, v.into()),
            UniqueKey::UserEmail(v) => (7, 0, v.into()),
            UniqueKey::Membership(p, u) => (8, p.0, format!("{:016x}", u.0).into()),
            UniqueKey::Override(u, OverrideTarget::Group(g)) => (9, u.0, format!("g{:016x}", g.0).into()),
            UniqueKey::Override(u, OverrideTarget::Deployment(d)) => (9, u.0, format!("d{:016x}", d.0).into()),
            UniqueKey::PendingInvitation(p, v) => (10, p.0, v.into()),
            UniqueKey::BookVersion(p, v) => (11, *p, format!("{v:010}").into()),
            UniqueKey::ActiveJob(d) => (12, d.0, "".into()),
            UniqueKey::Hostname(v) => (13, 0, v.into()),
        };
        let mut out = Vec::with_capacity(9 + value.len());
        out.push(tag);
        out.extend_from_slice(&scope.to_be_bytes());
        out.extend_from_slice(value.as_bytes());
        out
    }
}

/// Reads after the record's kind in messages ("project with slug \"acme\"
/// already exists"): it never repeats the kind.
impl fmt::Display for UniqueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UniqueKey::ProjectSlug(v) => write!(f, "with slug {v:?}"),
            UniqueKey::GroupSlug(p, v) => write!(f, "with slug {v:?} in {p}"),
            UniqueKey::ScopeCode(g, v) => write!(f, "with code {v:?} in {g}"),
            UniqueKey::DeploymentSlug(g, v) => write!(f, "with slug {v:?} in {g}"),
            UniqueKey::ClusterUid(v) => write!(f, "with uid {v:?}"),
            UniqueKey::ClusterSlug(v) => write!(f, "with slug {v:?}"),
            UniqueKey::UserEmail(v) => write!(f, "with e-mail {v:?}"),
            UniqueKey::Membership(p, u) => write!(f, "of {u} in {p}"),
            UniqueKey::Override(u, t) => write!(f, "of {u} on {t:?}"),
            UniqueKey::PendingInvitation(p, v) => write!(f, "pending for {v:?} in {p}"),
            UniqueKey::BookVersion(p, v) => write!(f, "version {v} for book {p:x}"),
            UniqueKey::ActiveJob(d) => write!(f, "active for {d}"),
            UniqueKey::Hostname(v) => write!(f, "with hostname {v:?}"),
        }
    }
}

#[cfg(test)]
#[path = "keys_golden.rs"]
mod golden;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_round_trip_and_reject_garbage() {
        for &kind in EntityKind::ALL {
            let key = RecordKey::new(kind, 0x0102_0304_0506_0708);
            assert_eq!(RecordKey::from_bytes(&key.to_bytes()).unwrap(), key);
            assert_eq!(EntityKind::from_tag(kind.tag()), Some(kind));
        }
        assert!(RecordKey::from_bytes(&[]).is_err());
        assert!(RecordKey::from_bytes(&[200, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(RecordKey::from_bytes(&[1, 0, 0]).is_err());
    }

    #[test]
    fn index_entries_share_their_prefix_and_decode() {
        let index = Index::GroupScopes(GroupId(7));
        let rec = RecordKey::new(EntityKind::Scope, 9);
        let entry = index.entry(rec);
        assert!(entry.starts_with(&index.prefix()));
        assert_eq!(Index::record_of_entry(&entry).unwrap(), rec);
        assert_ne!(Index::GroupScopes(GroupId(7)).prefix(), Index::GroupDeployments(GroupId(7)).prefix());
        assert_ne!(Index::GroupScopes(GroupId(7)).prefix(), Index::GroupScopes(GroupId(8)).prefix());
        assert!(Index::record_of_entry(&entry[1..]).is_err());
    }

    #[test]
    fn messages_print_ids_one_way_and_never_repeat_the_kind() {
        let e = Error::AlreadyExists { entity: "project", key: UniqueKey::ProjectSlug("acme".into()).to_string() };
        assert_eq!(e.to_string(), "project with slug \"acme\" already exists");
        let key = RecordKey::new(EntityKind::Deployment, 0xa1);
        assert_eq!(key.to_string(), "deployment dep-00000000000000a1");
        for &kind in EntityKind::ALL {
            let text = RecordKey::new(kind, 1).id_text();
            assert!(text.starts_with(kind.id_prefix()) && text.ends_with("-0000000000000001"), "{text}");
        }
    }

    #[test]
    fn unique_keys_are_scoped() {
        let a = UniqueKey::GroupSlug(ProjectId(1), "web".into()).to_bytes();
        let b = UniqueKey::GroupSlug(ProjectId(2), "web".into()).to_bytes();
        let c = UniqueKey::DeploymentSlug(GroupId(1), "web".into()).to_bytes();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
