//! The entities of SPEC §1–§4, as plain serde records.
//!
//! Records hold ids of the records they point to, never the records
//! themselves; the store keeps them and the service keeps them consistent.
//! Every tenant record carries its `project_id` so that it can be listed and
//! authorized without a walk up the hierarchy.

mod audit;
mod cluster;
mod code;
mod datasource;
mod deployment;
mod group;
mod hosts;
mod jobs;
pub mod monitoring;
mod operations;
mod patch;
mod people;
mod project;
mod scope;
mod setters;
mod settings;

pub use audit::{ActorRef, AuditEvent};
pub use cluster::{Cluster, ClusterConnection};
pub use code::{Branch, Image, Repository};
pub use datasource::{DataType, Datasource, DatasourceUsage};
pub use deployment::{Condition, Deployment, DeploymentVersion, ObservedState, VersionChange, VersionField};
pub use group::{DeploymentGroup, GroupType};
pub use hosts::{ClaimSource, HostClaim, HostShard};
pub use jobs::{Book, Job, JobAction, JobStep, Lease, StepKind, StepSpec, StepState, StepStats};
pub use monitoring::{CheckOutcome, HttpMethod, HttpOptions, StateChange};
pub use operations::{
    Backup, BackupKind, BackupSchedule, BackupState, Monitor, MonitorLog, MonitorState, MonitorType, ScheduleKind,
};
pub use patch::{ScopeConfigPatch, SettingsPatch};
pub use people::{Invitation, Membership, OverrideTarget, RoleOverride, User};
pub use project::{Namespace, Project};
pub use scope::{Scope, ScopeConfig};
pub use settings::{MAX_PARAM_VALUE_BYTES, MAX_PARAMS, MAX_PARAMS_BYTES, MAX_REPLICAS, Settings, check_params};
