//! The decision: [`explain`] applies the rules of the module docs and says
//! which one decided; [`authorize`] turns a refusal into an error.

use std::fmt;

use super::{Action, GrantLevel, Principal, Requirement, Resource, Role};
use crate::error::{Error, Result};

/// The rule or grant that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The system actor is allowed everything.
    System,
    /// The action is open to every user.
    AnyUser,
    /// The actor is a platform administrator.
    PlatformAdmin,
    /// The action needs a platform administrator and the actor is not one.
    NotPlatformAdmin,
    /// The actor owns the project.
    Owner,
    /// Only the owner may do this.
    OwnerOnly,
    /// Portal access to the project is blocked.
    PortalBlocked,
    /// The actor has no membership in the project.
    NoMembership,
    /// The most specific grant decided, by comparing its role with the required one.
    Grant {
        /// Where the deciding grant was given.
        level: GrantLevel,
        /// Its role.
        role: Role,
        /// The role the action required.
        required: Role,
        /// Whether `required` came from the scope's `role_to_admin`.
        role_to_admin: bool,
    },
}

impl Rule {
    /// A short stable code, e.g. `grant:group:developer` or `portal_blocked`.
    pub fn code(&self) -> String {
        match self {
            Rule::System => "system".into(),
            Rule::AnyUser => "any_user".into(),
            Rule::PlatformAdmin => "platform_admin".into(),
            Rule::NotPlatformAdmin => "not_platform_admin".into(),
            Rule::Owner => "owner".into(),
            Rule::OwnerOnly => "owner_only".into(),
            Rule::PortalBlocked => "portal_blocked".into(),
            Rule::NoMembership => "no_membership".into(),
            Rule::Grant { level, role, .. } => format!("grant:{level}:{role}"),
        }
    }
}

/// The outcome of [`explain`]: allowed or not, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The action asked for.
    pub action: Action,
    /// Whether it is allowed.
    pub allowed: bool,
    /// What decided.
    pub rule: Rule,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        write!(f, "{} {verdict}: ", self.action)?;
        match self.rule {
            Rule::System => f.write_str("the system actor may do everything"),
            Rule::AnyUser => f.write_str("open to every user"),
            Rule::PlatformAdmin => f.write_str("the actor is a platform administrator"),
            Rule::NotPlatformAdmin => f.write_str("only platform administrators may do this"),
            Rule::Owner => f.write_str("the owner is admin on everything in the project"),
            Rule::OwnerOnly => f.write_str("only the project owner may do this"),
            Rule::PortalBlocked => f.write_str("portal access to the project is blocked; only the owner may act"),
            Rule::NoMembership => f.write_str("the actor is not a member of the project"),
            Rule::Grant { level, role, required, role_to_admin } => {
                let cmp = if role >= required { ">=" } else { "<" };
                let by = if role_to_admin { " (the scope's role_to_admin)" } else { "" };
                write!(f, "{level} grant {role} {cmp} required {required}{by}")
            }
        }
    }
}

/// Decides whether `actor` may do `action` on `resource`, and why. Pure: the
/// same arguments always give the same decision.
pub fn explain(actor: Principal, action: Action, resource: &Resource) -> Decision {
    let decide = |allowed, rule| Decision { action, allowed, rule };
    let (user, platform_admin) = match actor {
        Principal::System => return decide(true, Rule::System),
        Principal::User { id, platform_admin } => (id, platform_admin),
    };
    let requirement = action.requirement();
    if requirement == Requirement::Anyone {
        return decide(true, Rule::AnyUser);
    }
    let project = match resource.project() {
        Some(project) if requirement != Requirement::PlatformAdmin => project,
        _ if platform_admin => return decide(true, Rule::PlatformAdmin),
        _ => return decide(false, Rule::NotPlatformAdmin),
    };
    if project.owner == user {
        return decide(true, Rule::Owner);
    }
    let has_membership = match resource {
        Resource::Project { grants, .. } | Resource::Group { grants, .. } | Resource::Deployment { grants, .. } => {
            grants.project.is_some()
        }
        Resource::Global => false,
    };
    if !has_membership {
        return decide(false, Rule::NoMembership);
    }
    if project.portal_blocked {
        return decide(false, Rule::PortalBlocked);
    }
    let required = match (requirement, resource) {
        (Requirement::Owner, _) => return decide(false, Rule::OwnerOnly),
        (Requirement::Role(role), _) => role,
        (Requirement::RoleToAdmin, Resource::Deployment { role_to_admin, .. }) => *role_to_admin,
        // RoleToAdmin away from a deployment; Anyone and PlatformAdmin returned above.
        _ => Role::Admin,
    };
    match resource.deciding_grant() {
        Some((level, role)) => decide(
            role >= required,
            Rule::Grant { level, role, required, role_to_admin: requirement == Requirement::RoleToAdmin },
        ),
        None => decide(false, Rule::NoMembership),
    }
}

/// [`explain`], as a `Result`: `Ok` with the decision when allowed,
/// [`Error::PermissionDenied`] carrying the decision when not. A refusal
/// allocates nothing: the message is built only when it is displayed.
pub fn authorize(actor: Principal, action: Action, resource: &Resource) -> Result<Decision> {
    let decision = explain(actor, action, resource);
    if decision.allowed { Ok(decision) } else { Err(Error::PermissionDenied(Denied::Decision(decision))) }
}

/// Why a request was refused: a permission decision, or another rule of
/// the service stated in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// [`explain`] refused it.
    Decision(Decision),
    /// Another rule, e.g. only the invitee may answer an invitation.
    Rule(std::borrow::Cow<'static, str>),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Decision(d) => d.fmt(f),
            Denied::Rule(why) => f.write_str(why),
        }
    }
}

impl From<&'static str> for Denied {
    fn from(why: &'static str) -> Self {
        Denied::Rule(why.into())
    }
}

impl From<String> for Denied {
    fn from(why: String) -> Self {
        Denied::Rule(why.into())
    }
}
