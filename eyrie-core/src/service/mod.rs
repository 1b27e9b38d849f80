//! The Eyrie service: every operation of SPEC §1–§4, authorized, validated
//! and written through a [`Store`] in one atomic transaction with its audit
//! event.
//!
//! # How every operation works
//!
//! 1. Inputs arrive as validated types (slugs, names, …); anything else is
//!    checked before the store is touched.
//! 2. The records needed to decide are read, and the actor is authorized
//!    against a [`Resource`] snapshot with [`authorize`]. Nothing the actor
//!    may not see is returned before that.
//! 3. One [`Transaction`] carries the writes, an [`AuditEvent`], and checks
//!    that the records the decision rested on (the project, the actor's
//!    grants, the scope…) are unchanged. A refused or invalid call writes
//!    nothing.
//! 4. A [`Conflict`](crate::ErrorKind::Conflict) from a concurrent writer
//!    re-runs the operation from step 2, a bounded number of times.
//!
//! Choices made where SPEC is silent (each has a test in `tests/service_*.rs`):
//! - Users are registered by a platform administrator or the system actor;
//!   an invitation to an unknown e-mail creates the user record.
//! - Deleting a scope, group or project is refused while it holds a live
//!   deployment; otherwise a group takes its scopes and overrides with it,
//!   and a project everything it owns except its audit events.
//! - Clusters are never deleted outright: "delete" is their terminal
//!   lifecycle state, refused while a live deployment runs on the cluster.
//! - A deployment's first version record is written when it is created.
//! - Changing a member's role away from admin, or removing an admin, is the
//!   owner-only [`Action::RemoveAdmin`]; the owner's own membership cannot be
//!   changed or removed, and ownership moves only by transfer.

mod access;
mod backups;
mod clusters;
mod code;
mod datasources;
mod deployments;
mod groups;
mod hosts;
mod monitor_history;
mod monitors;
mod operations;
mod people;
mod projects;
pub mod sealing;

pub use crate::model::ScopeConfig;
pub(crate) use access::DeploymentAccess;
pub(crate) use access::{as_seen, unseen};
pub use backups::{
    BackupCursor, BackupPage, BackupQuery, DEFAULT_DOWNLOAD_TTL, DownloadLink, MAX_BACKUP_PAGE, MAX_DOWNLOAD_TTL,
};
pub(crate) use backups::{deployment_prefix, inside};
pub use clusters::{ClusterPatch, NewCluster, NewConnection};
pub use code::{NewBranch, NewImage, NewRepository};
pub use datasources::NewDatasource;
pub(crate) use deployments::version_changes;
pub use deployments::{DeploymentPatch, NewDeployment};
pub use groups::{GroupPatch, NewGroup, NewScope, ScopePatch};
pub use monitor_history::{LogCursor, LogPage, LogQuery, MAX_LOG_PAGE, Uptime};
pub use monitors::{CheckRecorded, MonitorPatch, NewMonitor};
pub use people::NewUser;
pub use projects::{NewProject, ProjectPatch};
pub use sealing::{KeyRing, NonceSource, Sealer, SealingKey};

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use crate::clock::{Clock, Timestamp};
use crate::error::{Error, Result};
use crate::ids::{AuditEventId, IdSource, ProjectId};
use crate::model::AuditEvent;
use crate::model::User;
use crate::permission::{Action, Actor, Principal, Resource, authorize};
use crate::storage::StoreExt;
use crate::storage::{Store, Transaction};

/// How many times an operation is re-run after a `Conflict`.
pub const MAX_ATTEMPTS: usize = 16;

/// How long an invitation can be accepted by default: 14 days.
pub const DEFAULT_INVITATION_TTL_SECONDS: u64 = 14 * 86_400;

/// Settings of the service. `ServiceConfig::default()` holds the documented
/// defaults; change fields on it and pass it to [`Eyrie::with_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// How long an invitation can be accepted, in seconds
    /// ([`DEFAULT_INVITATION_TTL_SECONDS`]).
    pub invitation_ttl_seconds: u64,
}

impl ServiceConfig {
    /// With invitations valid for `seconds`.
    pub fn with_invitation_ttl_seconds(mut self, seconds: u64) -> Self {
        self.invitation_ttl_seconds = seconds;
        self
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig { invitation_ttl_seconds: DEFAULT_INVITATION_TTL_SECONDS }
    }
}

/// The Eyrie service. Cheap to clone; share it between tasks.
#[derive(Clone)]
pub struct Eyrie {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    sealer: Arc<dyn Sealer>,
    config: Arc<ServiceConfig>,
    objects: Option<Arc<dyn crate::backups::BackupObjects>>,
}

impl fmt::Debug for Eyrie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Eyrie").field("store", &self.store).field("sealer", &self.sealer).finish_non_exhaustive()
    }
}

impl Eyrie {
    /// A service over `store`, with injected time, ids and secret sealing.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>, sealer: Arc<dyn Sealer>) -> Self {
        Eyrie { store, clock, ids, sealer, config: Arc::new(ServiceConfig::default()), objects: None }
    }

    /// The same service with a backup bucket client: backups are verified,
    /// expired and downloaded through it. Without one, backup jobs fail
    /// with a message saying so.
    pub fn with_backup_objects(mut self, objects: Arc<dyn crate::backups::BackupObjects>) -> Self {
        self.objects = Some(objects);
        self
    }

    /// The same service with other settings.
    pub fn with_config(mut self, config: ServiceConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The settings.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The store underneath: for the engine and the scheduler only. There is
    /// no public way around authorization and audit; a program that needs the
    /// store itself (exports, `verify`) keeps the handle it opened.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The sealer.
    pub fn sealer(&self) -> &Arc<dyn Sealer> {
        &self.sealer
    }

    /// The actor for a registered user: what an embedding program builds
    /// from its own authentication. Fails with `PermissionDenied` for an id
    /// that was never registered. Holding an `Actor` grants nothing by
    /// itself: every call looks the user up again.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn actor(&self, user: crate::ids::UserId) -> Result<Actor> {
        self.identify(Actor::User { id: user }).await.map(|_| Actor::User { id: user })
    }

    /// Who `actor` is, from the store: the one place a [`Principal`] is
    /// made. The platform administrator flag is the stored one (set at
    /// registration, never changed, so decisions resting on it need no pin);
    /// an unknown user is refused everything.
    pub(crate) async fn identify(&self, actor: Actor) -> Result<Principal> {
        match actor {
            Actor::System => Ok(Principal::System),
            Actor::User { id } => match self.store.find::<User>(id.0).await? {
                Some(user) => Ok(Principal::User { id, platform_admin: user.value.platform_admin }),
                None => Err(Error::PermissionDenied("the actor is not a registered user".into())),
            },
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.next_id()
    }

    /// An audit event for a mutation by `actor`.
    pub(crate) fn audit(
        &self,
        actor: Principal,
        project_id: Option<ProjectId>,
        action: &str,
        target: impl fmt::Display,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditEventId(self.next_id()),
            project_id,
            actor: actor.reference(),
            action: action.to_owned(),
            target: target.to_string(),
            at: self.now(),
        }
    }

    /// Commits `tx` with the audit event appended. Every write and check of
    /// the service rests on a read, so a record missing at commit time was
    /// deleted meanwhile: that is a `Conflict`, and the call re-runs (and
    /// then answers from what is there now).
    pub(crate) async fn commit(&self, tx: Transaction, event: AuditEvent) -> Result<()> {
        let span = tracing::debug_span!("store.commit", action = %event.action, writes = tx.writes.len() + 1);
        match self.store.commit(tx.create(event)).instrument(span).await {
            Ok(_) => Ok(()),
            Err(Error::NotFound { entity, .. }) => {
                Err(Error::Conflict(format!("a {entity} this call read was deleted meanwhile")))
            }
            Err(e) => Err(hosts::shard_race(e)),
        }
    }

    /// Re-runs `op` while it fails with `Conflict`, at most [`MAX_ATTEMPTS`] times.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(Error::Conflict(why)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, why = %why, "conflict: re-running the call");
                    attempt += 1
                }
                other => return other,
            }
        }
    }
}

/// Authorizes `action` on `resource`, for use at the top of operations.
pub(crate) fn allow(actor: Principal, action: Action, resource: &Resource) -> Result<()> {
    match authorize(actor, action, resource) {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Error::PermissionDenied(crate::permission::Denied::Decision(d)) = &e {
                tracing::debug!(action = %d.action, rule = %d.rule.code(), "authorization refused");
            }
            Err(e)
        }
    }
}
