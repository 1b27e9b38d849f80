//! The state machines: deployments (and groups), clusters and invitations.
//!
//! Each is an enum with one checked `transition(self, to)` that returns the
//! new state or [`Error::InvalidTransition`]; nothing else changes a state.
//!
//! | machine | allowed moves |
//! | --- | --- |
//! | [`LifecycleState`] | `draft → initialize → deploy ⇄ pause`; any live state → `dropped` (a terminal tombstone) |
//! | [`ClusterState`] | `draft → init → active → transitioning → cancel → delete`, `transitioning → active`, any state but `cancel`/`delete` → `cancel` |
//! | [`InvitationState`] | `pending → accepted`, `pending → rejected` |
//!
//! Staying in the same state is not a transition and is refused: callers
//! that want idempotence check the state first.

use std::fmt;

use crate::error::{Error, Result};

/// Implements `Display` via `as_str`, `ALL`, and `transition` over an `allowed` predicate.
macro_rules! state_machine {
    ($ty:ident, $machine:literal, [$($variant:ident => $text:literal),* $(,)?]) => {
        impl $ty {
            /// Every state, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The state's name as users of the platform know it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),*
                }
            }

            /// Moves to `to` if the machine allows it.
            pub fn transition(self, to: $ty) -> Result<$ty> {
                if self.can_transition(to) {
                    Ok(to)
                } else {
                    Err(Error::InvalidTransition {
                        machine: $machine,
                        from: self.as_str().to_owned(),
                        to: to.as_str().to_owned(),
                    })
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The lifecycle of a deployment, and of a group (SPEC §5: groups follow the
/// same state model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    /// Being configured; nothing runs.
    Draft,
    /// Initialized (databases, volumes) but not yet serving.
    Initialize,
    /// Running.
    Deploy,
    /// Stopped, resources kept.
    Pause,
    /// Gone; kept as a tombstone that no longer counts against limits.
    Dropped,
}

state_machine!(LifecycleState, "deployment", [
    Draft => "draft", Initialize => "initialize", Deploy => "deploy", Pause => "pause", Dropped => "dropped",
]);

impl LifecycleState {
    /// Whether `self → to` is allowed.
    pub fn can_transition(self, to: LifecycleState) -> bool {
        use LifecycleState::*;
        matches!(
            (self, to),
            (Draft, Initialize)
                | (Initialize, Deploy)
                | (Deploy, Pause)
                | (Pause, Deploy)
                | (Draft | Initialize | Deploy | Pause, Dropped)
        )
    }

    /// Whether the deployment still exists (everything but `dropped`): live
    /// deployments count against scope limits and keep their clusters in use.
    pub fn is_live(self) -> bool {
        self != LifecycleState::Dropped
    }
}

/// The lifecycle of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterState {
    /// Registered, not yet set up.
    Draft,
    /// Being set up.
    Init,
    /// Usable: deployments may start on it.
    Active,
    /// Being changed (upgrade, maintenance); not accepting deploys.
    Transitioning,
    /// Being withdrawn.
    Cancel,
    /// Deleted; terminal.
    Delete,
}

state_machine!(ClusterState, "cluster", [
    Draft => "draft", Init => "init", Active => "active", Transitioning => "transitioning",
    Cancel => "cancel", Delete => "delete",
]);

impl ClusterState {
    /// Whether `self → to` is allowed.
    pub fn can_transition(self, to: ClusterState) -> bool {
        use ClusterState::*;
        matches!(
            (self, to),
            (Draft, Init)
                | (Init, Active)
                | (Active, Transitioning)
                | (Transitioning, Cancel | Active)
                | (Cancel, Delete)
                | (Draft | Init | Active, Cancel)
        )
    }
}

/// The lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Being prepared.
    Draft,
    /// Waiting for an engine.
    Scheduled,
    /// Claimed by an engine and executing its steps.
    Running,
    /// Finished successfully; terminal.
    Done,
    /// Failed; terminal.
    Error,
    /// Cancelled; terminal.
    Cancel,
}

state_machine!(JobState, "job", [
    Draft => "draft", Scheduled => "scheduled", Running => "running", Done => "done", Error => "error", Cancel => "cancel",
]);

impl JobState {
    /// Whether `self → to` is allowed.
    pub fn can_transition(self, to: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, to),
            (Draft, Scheduled) | (Scheduled, Running) | (Running, Done | Error | Cancel) | (Draft | Scheduled, Cancel)
        )
    }

    /// Whether the job still holds its deployment (not finished).
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Draft | JobState::Scheduled | JobState::Running)
    }
}

/// The lifecycle of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Sent, not yet answered.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Rejected.
    Rejected,
    /// Withdrawn by someone who may invite, or replaced because its inviter
    /// lost the right to invite.
    Revoked,
    /// Not answered in time; replaced by a new invitation to the same address.
    Expired,
}

state_machine!(InvitationState, "invitation", [
    Pending => "pending", Accepted => "accepted", Rejected => "rejected", Revoked => "revoked", Expired => "expired",
]);

impl InvitationState {
    /// Whether `self → to` is allowed.
    pub fn can_transition(self, to: InvitationState) -> bool {
        self == InvitationState::Pending && to != InvitationState::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn deployment_graph_is_exactly_the_spec() {
        use LifecycleState::*;
        let allowed = [
            (Draft, Initialize),
            (Initialize, Deploy),
            (Deploy, Pause),
            (Pause, Deploy),
            (Draft, Dropped),
            (Initialize, Dropped),
            (Deploy, Dropped),
            (Pause, Dropped),
        ];
        for &from in LifecycleState::ALL {
            for &to in LifecycleState::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
        let e = Dropped.transition(Deploy).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTransition);
        assert_eq!(e.to_string(), "deployment cannot go from dropped to deploy");
    }

    #[test]
    fn cluster_graph_is_exactly_the_spec() {
        use ClusterState::*;
        let allowed = [
            (Draft, Init),
            (Init, Active),
            (Active, Transitioning),
            (Transitioning, Cancel),
            (Cancel, Delete),
            (Transitioning, Active),
            (Draft, Cancel),
            (Init, Cancel),
            (Active, Cancel),
        ];
        for &from in ClusterState::ALL {
            for &to in ClusterState::ALL {
                assert_eq!(from.transition(to).is_ok(), allowed.contains(&(from, to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn invitation_graph_is_exactly_the_spec() {
        use InvitationState::*;
        for &from in InvitationState::ALL {
            for &to in InvitationState::ALL {
                let expected = from == Pending && to != Pending;
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn states_serialize_by_their_platform_names() {
        assert_eq!(serde_json::to_string(&LifecycleState::Initialize).unwrap(), "\"initialize\"");
        assert_eq!(serde_json::to_string(&ClusterState::Transitioning).unwrap(), "\"transitioning\"");
        assert_eq!(LifecycleState::Dropped.to_string(), "dropped");
    }
}
