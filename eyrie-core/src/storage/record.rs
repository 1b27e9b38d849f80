//! [`Record`]: every storable entity in one enum, with the lists
//! ([`Index`]) and unique values ([`UniqueKey`]) each record belongs to.
//!
//! The store keeps indexes and unique keys from these functions alone, so
//! every backend indexes exactly alike and an index can always be rebuilt
//! from the records.

use super::keys::{EntityKind, Index, RecordKey, UniqueKey};
use crate::lifecycle::InvitationState;
use crate::model::*;

/// A record that can be stored.
pub trait Entity: Clone + Send + Sync + 'static {
    /// Its kind.
    const KIND: EntityKind;
    /// Its id as a number.
    fn raw_id(&self) -> u64;
    /// Wraps it.
    fn into_record(self) -> Record;
    /// Unwraps it, if `record` is of this kind.
    fn from_record(record: Record) -> Option<Self>;
    /// Its key.
    fn key(&self) -> RecordKey {
        RecordKey::new(Self::KIND, self.raw_id())
    }
}

macro_rules! records {
    ($($variant:ident($ty:ty) => |$r:ident| $id:expr;)*) => {
        /// Any stored record.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum Record {
            $(#[doc = concat!("A [`", stringify!($ty), "`].")] $variant($ty),)*
        }

        impl Record {
            /// Its key.
            pub fn key(&self) -> RecordKey {
                match self {
                    $(Record::$variant(x) => x.key(),)*
                }
            }

            /// Writes the entity alone as JSON (no enum tag: the record key
            /// names the kind). The body of a current envelope.
            pub(crate) fn write_body(&self, out: impl std::io::Write) -> serde_json::Result<()> {
                match self {
                    $(Record::$variant(x) => serde_json::to_writer(out, x),)*
                }
            }

            /// Reads a body written by [`Record::write_body`] for a record of `kind`.
            pub(crate) fn read_body(kind: EntityKind, body: &[u8]) -> serde_json::Result<Record> {
                match kind {
                    $(EntityKind::$variant => serde_json::from_slice::<$ty>(body).map(Record::$variant),)*
                }
            }
        }

        $(
            impl Entity for $ty {
                const KIND: EntityKind = EntityKind::$variant;
                fn raw_id(&self) -> u64 {
                    let $r = self;
                    $id
                }
                fn into_record(self) -> Record {
                    Record::$variant(self)
                }
                fn from_record(record: Record) -> Option<Self> {
                    match record {
                        Record::$variant(x) => Some(x),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

records! {
    Project(Project) => |r| r.id.0;
    Namespace(Namespace) => |r| r.uid.0;
    Group(DeploymentGroup) => |r| r.id.0;
    Deployment(Deployment) => |r| r.id.0;
    Scope(Scope) => |r| r.id.0;
    Cluster(Cluster) => |r| r.id.0;
    Repository(Repository) => |r| r.id.0;
    Branch(Branch) => |r| r.id.0;
    Image(Image) => |r| r.id.0;
    Datasource(Datasource) => |r| r.id.0;
    Monitor(Monitor) => |r| r.id.0;
    MonitorLog(MonitorLog) => |r| r.id.0;
    BackupSchedule(BackupSchedule) => |r| r.id.0;
    Backup(Backup) => |r| r.id.0;
    User(User) => |r| r.id.0;
    Membership(Membership) => |r| r.id.0;
    RoleOverride(RoleOverride) => |r| r.id.0;
    Invitation(Invitation) => |r| r.id.0;
    Version(DeploymentVersion) => |r| r.id.0;
    Audit(AuditEvent) => |r| r.id.0;
    Book(Book) => |r| r.id.0;
    Job(Job) => |r| r.id.0;
    StepStats(StepStats) => |r| r.id.0;
    HostClaim(HostClaim) => |r| r.id.0;
    HostShard(HostShard) => |r| r.id.0;
}

impl Record {
    /// The lists this record belongs to.
    pub fn indexes(&self) -> Vec<Index> {
        match self {
            Record::Group(g) => {
                let mut out = vec![Index::ProjectGroups(g.project_id)];
                out.extend(g.group_cluster_ids.iter().map(|&c| Index::ClusterGroups(c)));
                out.extend(g.settings.image_id.map(Index::ImageGroups));
                out
            }
            Record::Scope(s) => {
                let mut out = vec![Index::GroupScopes(s.group_id)];
                out.extend(s.settings.image_id.map(Index::ImageScopes));
                if s.monitor_log_delete_after_seconds.is_some() {
                    out.push(Index::ScopesWithLogRetention);
                }
                out
            }
            Record::Deployment(d) => {
                let mut out = vec![Index::GroupDeployments(d.group_id), Index::ScopeDeployments(d.scope_id)];
                if d.state.is_live() {
                    out.push(Index::ScopeLiveDeployments(d.scope_id));
                    out.extend(d.timer_due_at.map(|at| Index::DeploymentTimers(Index::time_parent(at))));
                }
                out.extend(d.settings.image_id.map(Index::ImageDeployments));
                out
            }
            Record::Membership(m) => vec![Index::ProjectMembers(m.project_id), Index::UserMemberships(m.user_id)],
            Record::RoleOverride(o) => vec![Index::ProjectOverrides(o.project_id)],
            Record::Invitation(i) => vec![Index::ProjectInvitations(i.project_id)],
            Record::Datasource(d) => vec![Index::ProjectDatasources(d.project_id)],
            Record::Repository(r) => vec![r.project_id.map_or(Index::GlobalRepositories, Index::ProjectRepositories)],
            Record::Branch(b) => vec![Index::RepositoryBranches(b.repository_id)],
            Record::Image(i) => {
                let mut out = vec![i.project_id.map_or(Index::GlobalImages, Index::ProjectImages)];
                if i.redeploy_pending {
                    out.push(Index::ImagesPendingRedeploy);
                }
                out
            }
            Record::Monitor(m) => {
                let mut out = vec![Index::DeploymentMonitors(m.deployment_id)];
                out.extend(m.next_check_at.map(|at| Index::MonitorsDue(Index::time_parent(at))));
                out.extend(m.stale_at().map(|at| Index::MonitorsStale(Index::time_parent(at))));
                out
            }
            Record::MonitorLog(l) => {
                let mut out = vec![Index::MonitorLogs(l.monitor_id)];
                out.push(Index::MonitorLogsAt(Index::monitor_log_parent(l.monitor_id, l.at)));
                out.extend(l.delete_after.map(|at| Index::LogsExpiring(Index::time_parent(at))));
                out.extend(l.scope_id.map(|s| Index::ScopeLogs(Index::scope_log_parent(s, l.at))));
                out
            }
            Record::Version(v) => vec![Index::DeploymentVersions(v.deployment_id)],
            Record::Backup(b) => {
                let mut out = vec![Index::DeploymentBackups(b.deployment_id)];
                out.extend(b.scope_id.map(Index::ScopeBackups));
                out.extend(b.datasource_id.map(Index::DatasourceBackups));
                out.extend(b.review_at.map(|at| Index::BackupsToReview(Index::time_parent(at))));
                out
            }
            Record::BackupSchedule(s) => {
                let mut out = vec![Index::DeploymentSchedules(s.deployment_id)];
                out.extend(s.next_run_at.map(|at| Index::BackupsDue(Index::time_parent(at))));
                out
            }
            Record::Book(b) => vec![Index::Books(Index::book_parent(b.group_type, b.action))],
            Record::Job(j) => {
                vec![Index::DeploymentJobs(j.deployment_id), Index::JobsInState(Index::job_state_parent(j.state))]
            }
            Record::Audit(a) => vec![a.project_id.map_or(Index::GlobalAudit, Index::ProjectAudit)],
            Record::User(u) => u.favourite_groups.iter().map(|&g| Index::FavouredBy(g)).collect(),
            Record::HostClaim(c) => {
                let name = c.name.as_str();
                let mut out =
                    vec![Index::ClaimsAt(crate::hostnames::name_key(name)), Index::ProjectClaims(c.project_id)];
                out.extend(
                    crate::hostnames::ancestors(name)
                        .into_iter()
                        .map(|a| Index::ClaimsBelow(crate::hostnames::name_key(a))),
                );
                out
            }
            Record::Project(_)
            | Record::Namespace(_)
            | Record::Cluster(_)
            | Record::StepStats(_)
            | Record::HostShard(_) => Vec::new(),
        }
    }

    /// The unique values this record holds.
    pub fn unique_keys(&self) -> Vec<UniqueKey> {
        match self {
            Record::Project(p) => vec![UniqueKey::ProjectSlug(p.slug.to_string())],
            Record::Group(g) => vec![UniqueKey::GroupSlug(g.project_id, g.slug.to_string())],
            Record::Scope(s) => vec![UniqueKey::ScopeCode(s.group_id, s.code.to_string())],
            Record::Deployment(d) => {
                let mut out = vec![UniqueKey::DeploymentSlug(d.group_id, d.slug.to_string())];
                if d.state.is_live() {
                    out.extend(d.hostname.clone().map(UniqueKey::Hostname));
                }
                out
            }
            Record::Cluster(c) => {
                vec![UniqueKey::ClusterUid(c.uid.to_string()), UniqueKey::ClusterSlug(c.slug.to_string())]
            }
            Record::User(u) => vec![UniqueKey::UserEmail(u.email.to_string())],
            Record::Membership(m) => vec![UniqueKey::Membership(m.project_id, m.user_id)],
            Record::RoleOverride(o) => vec![UniqueKey::Override(o.user_id, o.target)],
            Record::Book(b) => vec![UniqueKey::BookVersion(Index::book_parent(b.group_type, b.action), b.version)],
            Record::Job(j) if j.state.is_active() => vec![UniqueKey::ActiveJob(j.deployment_id)],
            Record::Invitation(i) if i.state == InvitationState::Pending => {
                vec![UniqueKey::PendingInvitation(i.project_id, i.email.to_string())]
            }
            _ => Vec::new(),
        }
    }
}
