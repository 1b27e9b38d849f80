//! Lifecycle through jobs: which permission each action needs, when it may
//! start, and what a finished job does to its deployment.

use super::engine::Ending;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::lifecycle::LifecycleState;
use crate::model::{Deployment, JobAction, Scope};
use crate::permission::Action;
use crate::rules::{check_drop_allowed, next_timer_at};
use crate::validate::Digest;

/// The permission an action needs on the deployment (SPEC §4).
pub fn action_permission(action: JobAction) -> Action {
    match action {
        JobAction::Initialize | JobAction::Deploy | JobAction::Redeploy => Action::Deploy,
        JobAction::Pause => Action::Pause,
        JobAction::Drop => Action::Drop,
        JobAction::Backup => Action::Backup,
        JobAction::Restore => Action::Restore,
    }
}

/// The state a successful job moves its deployment to (`None`: unchanged).
pub fn target_state(action: JobAction) -> Option<LifecycleState> {
    match action {
        JobAction::Initialize => Some(LifecycleState::Initialize),
        JobAction::Deploy => Some(LifecycleState::Deploy),
        JobAction::Pause => Some(LifecycleState::Pause),
        JobAction::Drop => Some(LifecycleState::Dropped),
        JobAction::Redeploy | JobAction::Backup | JobAction::Restore => None,
    }
}

/// Refuses an action the deployment's state or scope does not allow:
/// transitions outside the state graph, redeploying what is not in
/// `deploy`, backing up or restoring what was never initialized, and drops
/// where the scope forbids them (for people and timers alike).
pub fn check_can_start(action: JobAction, d: &Deployment, scope: &Scope) -> Result<()> {
    if action == JobAction::Deploy && d.state == LifecycleState::Draft {
        return Err(Error::policy(format!(
            "deployment {} is a draft: initialize it first (JobAction::Initialize), then deploy",
            d.slug
        )));
    }
    if let Some(to) = target_state(action) {
        d.state.transition(to)?;
    }
    let needs = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(Error::policy(format!("{action} needs a deployment {what}; {} is {}", d.slug, d.state)))
        }
    };
    match action {
        JobAction::Redeploy => needs(d.state == LifecycleState::Deploy, "in deploy")?,
        JobAction::Backup | JobAction::Restore => {
            needs(matches!(d.state, LifecycleState::Deploy | LifecycleState::Pause), "in deploy or pause")?
        }
        JobAction::Drop => check_drop_allowed(scope)?,
        _ => {}
    }
    Ok(())
}

/// Applies a job's ending to its deployment: on success the state advances
/// (entering `deploy` restarts the timers and records the image digest), on
/// failure the error is recorded and the state stays where it was.
pub(crate) fn apply_outcome(
    action: JobAction,
    ending: &Ending,
    d: &mut Deployment,
    scope: &Scope,
    now: Timestamp,
    image_digest: Option<Digest>,
) -> Result<()> {
    match ending {
        Ending::Failed(msg) => d.last_error = Some(msg.clone()),
        Ending::Cancelled => {}
        Ending::Done => {
            if let Some(to) = target_state(action) {
                d.state = d.state.transition(to)?;
            }
            if action == JobAction::Deploy {
                d.entered_deploy_at = Some(now);
            }
            if matches!(action, JobAction::Deploy | JobAction::Redeploy) {
                d.deployed_digest = image_digest;
            }
            d.last_error = None;
        }
    }
    d.timer_due_at = next_timer_at(d, scope);
    Ok(())
}
