//! # eyrie-core
//!
//! The pure domain of Eyrie, a library for running many tenants' application
//! instances (Odoo servers, PostgreSQL and MySQL clusters, plain containers)
//! on shared Kubernetes clusters.
//!
//! This crate does no I/O: no storage, no network, no system clock, no
//! randomness. It holds the entities of the hierarchy
//! `Project → DeploymentGroup → Deployment`, the rules that govern them
//! (inheritance, scopes, permissions, lifecycles) as pure functions, and the
//! traits through which time ([`Clock`]) and identity ([`IdSource`]) are
//! injected. Storage and execution live in their own crates.
//!
//! ```
//! use eyrie_core::{Action, Grants, Principal, ProjectFacts, ProjectId, Resource, Role, Rule, UserId, explain};
//!
//! let project = ProjectFacts { id: ProjectId(1), owner: UserId(1), portal_blocked: false };
//! let dev = Principal::user(UserId(2));
//! let on_project = Resource::Project {
//!     project,
//!     grants: Grants { project: Some(Role::Developer), ..Grants::default() },
//! };
//! let decision = explain(dev, Action::InviteMember, &on_project);
//! assert!(!decision.allowed);
//! assert_eq!(decision.rule.code(), "grant:project:developer");
//! assert_eq!(decision.to_string(), "invite_member denied: project grant developer < required admin");
//! ```
//!
//! # Rule choices
//!
//! Where the specification leaves a choice open, this crate makes it here,
//! and a test holds each one:
//!
//! - **Permissions** ([`permission`]): platform administrators get no implicit
//!   access to tenant projects; overrides only refine the role of a project
//!   member (a non-member with an override is refused); the owner is decided
//!   before portal blocking and before overrides; deployment admin actions
//!   away from a deployment require `admin`; any user may create a project;
//!   actions on global resources need a platform administrator.
//! - **Timers** ([`rules`]): due at the deadline instant (`>=`), the drop timer
//!   wins over the pause timer, the drop timer also runs on paused
//!   deployments, `allow_drop = false` disables it.
//! - **Clusters** ([`rules`]): a deployment with no clusters of its own
//!   inherits its scope's effective clusters; a scope's list must be a subset
//!   of its group's.
//! - **Inheritance** ([`effective`]): type-specific `params` merge key by key;
//!   the hostname comes from the scope's `root_subdomain`, else the project
//!   `domain`.
//! - **State machines** ([`lifecycle`]): staying in the same state is not a
//!   transition; `dropped` and cluster `delete` are terminal; "any → cancel"
//!   means any state before `cancel`.
//! - **Slugs** ([`Slug::from_name`]): accents fold to ASCII; a name with no
//!   usable character gets `x-` plus a stable hash.
//! - **Ids**: 64-bit numbers from the injected [`IdSource`]; namespace names are
//!   `eyrie-` plus the namespace uid in hex, never the project slug.
//!
#![doc = include_str!("../docs/rules.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backups;
pub mod clock;
pub mod effective;
pub mod error;
pub mod executor;
pub mod hostnames;
pub mod ids;
pub mod jobs;
pub mod lifecycle;
pub mod model;
pub mod permission;
pub mod rules;
pub mod secret;
pub mod service;
pub mod storage;
pub mod validate;

pub use clock::{Clock, Timestamp};
pub use effective::{EffectiveDeployment, Source, Sourced};
pub use error::{Error, ErrorKind, Result};
pub use ids::*;
pub use jobs::{Engine, EngineConfig};
pub use lifecycle::{ClusterState, InvitationState, JobState, LifecycleState};
pub use model::*;
pub use permission::{
    Action, Actor, Decision, Denied, GrantLevel, Grants, Principal, ProjectFacts, Resource, Role, Rule, authorize,
    explain,
};
pub use secret::{SealedSecret, SecretString};
pub use service::Eyrie;
pub use validate::{
    CronExpr, Digest, DomainName, Email, GitRef, GitUrl, ImageRef, ImageTag, Name, Quantity, Slug, Url, ValidationError,
};
