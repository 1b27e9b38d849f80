//! The `with_…` setters of the model's inputs: [`Settings`], [`ScopeConfig`],
//! [`ScopeConfigPatch`] and [`SettingsPatch`]. These types are
//! `#[non_exhaustive]`, so a field added later is not a breaking change;
//! callers start from `default()` and name what they change.
//!
//! A setter of a whole value ([`Settings`], [`ScopeConfig`]) takes the field's value
//! (`Some` is implied for an optional field; assign the public field to
//! store `None`). A setter of a patch names its field in the patch: for a
//! field that is optional in the record it takes `Some(v)` to set it and
//! `None` to clear it, as [`super::patch`] describes.

use std::collections::{BTreeMap, BTreeSet};

use super::patch::{ScopeConfigPatch, SettingsPatch};
use super::scope::ScopeConfig;
use super::settings::Settings;
use crate::backups::retention::RetentionPolicy;
use crate::ids::{BranchId, ClusterId, DatasourceId, ImageId, RepositoryId, ScopeId};
use crate::permission::Role;
use crate::validate::{DomainName, GitRef, Quantity};

impl Settings {
    /// Sets the git repository to build or run from.
    pub fn with_repository_id(mut self, repository_id: RepositoryId) -> Self {
        self.repository_id = Some(repository_id);
        self
    }

    /// Sets the branch of that repository.
    pub fn with_branch_id(mut self, branch_id: BranchId) -> Self {
        self.branch_id = Some(branch_id);
        self
    }

    /// Sets a pinned commit (or tag) of that branch.
    pub fn with_commit_ref(mut self, commit_ref: GitRef) -> Self {
        self.commit_ref = Some(commit_ref);
        self
    }

    /// Sets the container image.
    pub fn with_image_id(mut self, image_id: ImageId) -> Self {
        self.image_id = Some(image_id);
        self
    }

    /// Sets the number of replicas.
    pub fn with_replicas(mut self, replicas: u32) -> Self {
        self.replicas = Some(replicas);
        self
    }

    /// Sets the CPU request.
    pub fn with_cpu_request(mut self, cpu_request: Quantity) -> Self {
        self.cpu_request = Some(cpu_request);
        self
    }

    /// Sets the CPU limit.
    pub fn with_cpu_limit(mut self, cpu_limit: Quantity) -> Self {
        self.cpu_limit = Some(cpu_limit);
        self
    }

    /// Sets the memory request.
    pub fn with_memory_request(mut self, memory_request: Quantity) -> Self {
        self.memory_request = Some(memory_request);
        self
    }

    /// Sets the memory limit.
    pub fn with_memory_limit(mut self, memory_limit: Quantity) -> Self {
        self.memory_limit = Some(memory_limit);
        self
    }

    /// Sets the persistent storage size.
    pub fn with_storage_size(mut self, storage_size: Quantity) -> Self {
        self.storage_size = Some(storage_size);
        self
    }

    /// Sets the type-specific parameter `key` to `value`.
    pub fn with_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }

    /// Replaces the type-specific parameters whole.
    pub fn with_params(mut self, params: BTreeMap<String, String>) -> Self {
        self.params = params;
        self
    }
}

impl ScopeConfig {
    /// Higher first.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Tie-break after priority, lower first.
    pub fn with_sequence(mut self, sequence: i32) -> Self {
        self.sequence = sequence;
        self
    }

    /// At most this many live deployments (unlimited by default).
    pub fn with_deployment_limit(mut self, deployment_limit: u32) -> Self {
        self.deployment_limit = Some(deployment_limit);
        self
    }

    /// Only these clusters (a subset of the group's; empty: the group's).
    pub fn with_deployment_cluster_ids(mut self, deployment_cluster_ids: BTreeSet<ClusterId>) -> Self {
        self.deployment_cluster_ids = deployment_cluster_ids;
        self
    }

    /// Hostnames of its deployments under this subdomain.
    pub fn with_root_subdomain(mut self, root_subdomain: DomainName) -> Self {
        self.root_subdomain = Some(root_subdomain);
        self
    }

    /// Whether its deployments may be dropped, by a person or by the timer.
    pub fn with_allow_drop(mut self, allow_drop: bool) -> Self {
        self.allow_drop = allow_drop;
        self
    }

    /// Whether new deployments get a default monitor.
    pub fn with_monitor(mut self, monitor: bool) -> Self {
        self.monitor = monitor;
        self
    }

    /// Whether logs are gathered.
    pub fn with_gather_logs(mut self, gather_logs: bool) -> Self {
        self.gather_logs = gather_logs;
        self
    }

    /// The minimum role for admin actions on its deployments.
    pub fn with_role_to_admin(mut self, role_to_admin: Role) -> Self {
        self.role_to_admin = role_to_admin;
        self
    }

    /// Pauses a deployment this long after it last entered `deploy`.
    pub fn with_deployment_pause_after_seconds(mut self, deployment_pause_after_seconds: u64) -> Self {
        self.deployment_pause_after_seconds = Some(deployment_pause_after_seconds);
        self
    }

    /// Drops a deployment this long after it last entered `deploy`.
    pub fn with_deployment_drop_after_seconds(mut self, deployment_drop_after_seconds: u64) -> Self {
        self.deployment_drop_after_seconds = Some(deployment_drop_after_seconds);
        self
    }

    /// Seeds new deployments from the newest backup of this scope (same group).
    pub fn with_restore_from_scope(mut self, restore_from_scope: ScopeId) -> Self {
        self.restore_from_scope = Some(restore_from_scope);
        self
    }

    /// Sends remote backups to this `s3like` datasource.
    pub fn with_backup_dest_datasource(mut self, backup_dest_datasource: DatasourceId) -> Self {
        self.backup_dest_datasource = Some(backup_dest_datasource);
        self
    }

    /// Prunes monitor logs older than this.
    pub fn with_monitor_log_delete_after_seconds(mut self, monitor_log_delete_after_seconds: u64) -> Self {
        self.monitor_log_delete_after_seconds = Some(monitor_log_delete_after_seconds);
        self
    }

    /// Keeping its deployments' backups by `policy`.
    pub fn with_backup_retention(mut self, policy: RetentionPolicy) -> Self {
        self.backup_retention = policy;
        self
    }

    /// With these tier defaults for its deployments.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
}

impl ScopeConfigPatch {
    /// Sets `priority`.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets `sequence`.
    pub fn with_sequence(mut self, sequence: i32) -> Self {
        self.sequence = Some(sequence);
        self
    }

    /// Sets (`Some`) or clears (`None`) `deployment_limit`.
    pub fn with_deployment_limit(mut self, deployment_limit: Option<u32>) -> Self {
        self.deployment_limit = Some(deployment_limit);
        self
    }

    /// Sets `deployment_cluster_ids`.
    pub fn with_deployment_cluster_ids(mut self, deployment_cluster_ids: BTreeSet<ClusterId>) -> Self {
        self.deployment_cluster_ids = Some(deployment_cluster_ids);
        self
    }

    /// Sets (`Some`) or clears (`None`) `root_subdomain`.
    pub fn with_root_subdomain(mut self, root_subdomain: Option<DomainName>) -> Self {
        self.root_subdomain = Some(root_subdomain);
        self
    }

    /// Sets `allow_drop`.
    pub fn with_allow_drop(mut self, allow_drop: bool) -> Self {
        self.allow_drop = Some(allow_drop);
        self
    }

    /// Sets `monitor`.
    pub fn with_monitor(mut self, monitor: bool) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Sets `gather_logs`.
    pub fn with_gather_logs(mut self, gather_logs: bool) -> Self {
        self.gather_logs = Some(gather_logs);
        self
    }

    /// Sets `role_to_admin`.
    pub fn with_role_to_admin(mut self, role_to_admin: Role) -> Self {
        self.role_to_admin = Some(role_to_admin);
        self
    }

    /// Sets (`Some`) or clears (`None`) `deployment_pause_after_seconds`.
    pub fn with_deployment_pause_after_seconds(mut self, deployment_pause_after_seconds: Option<u64>) -> Self {
        self.deployment_pause_after_seconds = Some(deployment_pause_after_seconds);
        self
    }

    /// Sets (`Some`) or clears (`None`) `deployment_drop_after_seconds`.
    pub fn with_deployment_drop_after_seconds(mut self, deployment_drop_after_seconds: Option<u64>) -> Self {
        self.deployment_drop_after_seconds = Some(deployment_drop_after_seconds);
        self
    }

    /// Sets (`Some`) or clears (`None`) `restore_from_scope`.
    pub fn with_restore_from_scope(mut self, restore_from_scope: Option<ScopeId>) -> Self {
        self.restore_from_scope = Some(restore_from_scope);
        self
    }

    /// Sets (`Some`) or clears (`None`) `backup_dest_datasource`.
    pub fn with_backup_dest_datasource(mut self, backup_dest_datasource: Option<DatasourceId>) -> Self {
        self.backup_dest_datasource = Some(backup_dest_datasource);
        self
    }

    /// Sets (`Some`) or clears (`None`) `monitor_log_delete_after_seconds`.
    pub fn with_monitor_log_delete_after_seconds(mut self, monitor_log_delete_after_seconds: Option<u64>) -> Self {
        self.monitor_log_delete_after_seconds = Some(monitor_log_delete_after_seconds);
        self
    }

    /// Sets the backup retention policy.
    pub fn with_backup_retention(mut self, policy: RetentionPolicy) -> Self {
        self.backup_retention = Some(policy);
        self
    }

    /// Changes the scope's settings: only what `settings` names.
    pub fn with_settings(mut self, settings: SettingsPatch) -> Self {
        self.settings = Some(settings);
        self
    }
}

impl SettingsPatch {
    /// Sets (`Some`) or clears (`None`): the git repository to build or run from.
    pub fn with_repository_id(mut self, repository_id: Option<RepositoryId>) -> Self {
        self.repository_id = Some(repository_id);
        self
    }

    /// Sets (`Some`) or clears (`None`): the branch of that repository.
    pub fn with_branch_id(mut self, branch_id: Option<BranchId>) -> Self {
        self.branch_id = Some(branch_id);
        self
    }

    /// Sets (`Some`) or clears (`None`): a pinned commit (or tag) of that branch.
    pub fn with_commit_ref(mut self, commit_ref: Option<GitRef>) -> Self {
        self.commit_ref = Some(commit_ref);
        self
    }

    /// Sets (`Some`) or clears (`None`): the container image.
    pub fn with_image_id(mut self, image_id: Option<ImageId>) -> Self {
        self.image_id = Some(image_id);
        self
    }

    /// Sets (`Some`) or clears (`None`): number of replicas.
    pub fn with_replicas(mut self, replicas: Option<u32>) -> Self {
        self.replicas = Some(replicas);
        self
    }

    /// Sets (`Some`) or clears (`None`): cPU request.
    pub fn with_cpu_request(mut self, cpu_request: Option<Quantity>) -> Self {
        self.cpu_request = Some(cpu_request);
        self
    }

    /// Sets (`Some`) or clears (`None`): cPU limit.
    pub fn with_cpu_limit(mut self, cpu_limit: Option<Quantity>) -> Self {
        self.cpu_limit = Some(cpu_limit);
        self
    }

    /// Sets (`Some`) or clears (`None`): memory request.
    pub fn with_memory_request(mut self, memory_request: Option<Quantity>) -> Self {
        self.memory_request = Some(memory_request);
        self
    }

    /// Sets (`Some`) or clears (`None`): memory limit.
    pub fn with_memory_limit(mut self, memory_limit: Option<Quantity>) -> Self {
        self.memory_limit = Some(memory_limit);
        self
    }

    /// Sets (`Some`) or clears (`None`): persistent storage size.
    pub fn with_storage_size(mut self, storage_size: Option<Quantity>) -> Self {
        self.storage_size = Some(storage_size);
        self
    }

    /// Sets the parameter `key` to `value`.
    pub fn with_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes the parameter `key`.
    pub fn without_param(mut self, key: impl Into<String>) -> Self {
        self.params.insert(key.into(), None);
        self
    }

    /// Replaces the parameter changes: keys to set (`Some`) or remove (`None`).
    pub fn with_params(mut self, params: BTreeMap<String, Option<String>>) -> Self {
        self.params = params;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_setters_name_only_their_field_and_some_none_sets_or_clears() {
        let config = ScopeConfig::default()
            .with_deployment_limit(3)
            .with_root_subdomain("stage.acme.example".parse().unwrap())
            .with_settings(Settings::default().with_replicas(2).with_param("workers", "2").with_param("db", "x"));
        let patch = ScopeConfigPatch::default().with_deployment_limit(None).with_allow_drop(true).with_settings(
            SettingsPatch::default().with_replicas(Some(4)).with_param("workers", "4").without_param("db"),
        );
        let after = patch.apply(&config);
        assert_eq!(after.deployment_limit, None, "Some(None) clears");
        assert!(after.allow_drop);
        assert_eq!(after.root_subdomain, config.root_subdomain, "not named, kept");
        assert_eq!(after.settings.replicas, Some(4));
        assert_eq!(after.settings.params, BTreeMap::from([("workers".into(), "4".into())]));
        assert_eq!(ScopeConfigPatch::default().apply(&config), config, "an empty patch changes nothing");
    }
}
