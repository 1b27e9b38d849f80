//! [`AuditEvent`] and [`ActorRef`].

use std::fmt;

use crate::clock::Timestamp;
use crate::ids::{AuditEventId, ProjectId, UserId};

/// Who did something, as records keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRef {
    /// A person.
    User(UserId),
    /// Eyrie itself: the scheduler, the job engine.
    System,
}

impl fmt::Display for ActorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActorRef::User(id) => write!(f, "{id}"),
            ActorRef::System => f.write_str("system"),
        }
    }
}

/// One successful mutation: who, what, on which record, when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    /// Identity.
    pub id: AuditEventId,
    /// The project it concerns; `None` for global resources (clusters, users).
    pub project_id: Option<ProjectId>,
    /// Who.
    pub actor: ActorRef,
    /// What, e.g. `deployment.create`.
    pub action: String,
    /// On which record, e.g. `dep-00000000000000a1`.
    pub target: String,
    /// When.
    pub at: Timestamp,
}
