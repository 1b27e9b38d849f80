//! Patches of the inheritable settings and of a scope's configuration: a
//! patch changes only the fields it names.
//!
//! For a field that is optional in the record, `None` leaves it as it is,
//! `Some(None)` clears it (back to inheriting) and `Some(Some(v))` sets it.
//! `params` entries set a key (`Some(v)`) or remove it (`None`); keys the
//! patch does not name stay. A patch made `From` a whole value names every
//! field of it (and each of its params).

use std::collections::{BTreeMap, BTreeSet};

use super::scope::ScopeConfig;
use super::settings::Settings;
use crate::ids::{BranchId, ClusterId, DatasourceId, ImageId, RepositoryId, ScopeId};
use crate::permission::Role;
use crate::validate::{DomainName, GitRef, Quantity};

fn set<T: Clone>(field: &mut Option<T>, patch: &Option<Option<T>>) {
    if let Some(value) = patch {
        field.clone_from(value);
    }
}

fn set_plain<T: Clone>(field: &mut T, patch: &Option<T>) {
    if let Some(value) = patch {
        field.clone_from(value);
    }
}

/// Changes to a [`Settings`]; see the module docs. Start from
/// [`SettingsPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields of `Settings`, patched
#[non_exhaustive]
pub struct SettingsPatch {
    pub repository_id: Option<Option<RepositoryId>>,
    pub branch_id: Option<Option<BranchId>>,
    pub commit_ref: Option<Option<GitRef>>,
    pub image_id: Option<Option<ImageId>>,
    pub replicas: Option<Option<u32>>,
    pub cpu_request: Option<Option<Quantity>>,
    pub cpu_limit: Option<Option<Quantity>>,
    pub memory_request: Option<Option<Quantity>>,
    pub memory_limit: Option<Option<Quantity>>,
    pub storage_size: Option<Option<Quantity>>,
    /// Keys to set (`Some`) or remove (`None`).
    pub params: BTreeMap<String, Option<String>>,
}

impl SettingsPatch {
    /// `settings` with this patch applied.
    pub fn apply(&self, settings: &Settings) -> Settings {
        let mut s = settings.clone();
        set(&mut s.repository_id, &self.repository_id);
        set(&mut s.branch_id, &self.branch_id);
        set(&mut s.commit_ref, &self.commit_ref);
        set(&mut s.image_id, &self.image_id);
        set(&mut s.replicas, &self.replicas);
        set(&mut s.cpu_request, &self.cpu_request);
        set(&mut s.cpu_limit, &self.cpu_limit);
        set(&mut s.memory_request, &self.memory_request);
        set(&mut s.memory_limit, &self.memory_limit);
        set(&mut s.storage_size, &self.storage_size);
        for (key, value) in &self.params {
            match value {
                Some(v) => s.params.insert(key.clone(), v.clone()),
                None => s.params.remove(key),
            };
        }
        s
    }
}

impl From<Settings> for SettingsPatch {
    fn from(s: Settings) -> Self {
        SettingsPatch {
            repository_id: Some(s.repository_id),
            branch_id: Some(s.branch_id),
            commit_ref: Some(s.commit_ref),
            image_id: Some(s.image_id),
            replicas: Some(s.replicas),
            cpu_request: Some(s.cpu_request),
            cpu_limit: Some(s.cpu_limit),
            memory_request: Some(s.memory_request),
            memory_limit: Some(s.memory_limit),
            storage_size: Some(s.storage_size),
            params: s.params.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        }
    }
}

/// Changes to a [`ScopeConfig`]; see the module docs. Start from
/// [`ScopeConfigPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields of `ScopeConfig`, patched
#[non_exhaustive]
pub struct ScopeConfigPatch {
    pub priority: Option<i32>,
    pub sequence: Option<i32>,
    pub deployment_limit: Option<Option<u32>>,
    pub deployment_cluster_ids: Option<BTreeSet<ClusterId>>,
    pub root_subdomain: Option<Option<DomainName>>,
    pub allow_drop: Option<bool>,
    pub monitor: Option<bool>,
    pub gather_logs: Option<bool>,
    pub role_to_admin: Option<Role>,
    pub deployment_pause_after_seconds: Option<Option<u64>>,
    pub deployment_drop_after_seconds: Option<Option<u64>>,
    pub restore_from_scope: Option<Option<ScopeId>>,
    pub backup_dest_datasource: Option<Option<DatasourceId>>,
    pub monitor_log_delete_after_seconds: Option<Option<u64>>,
    pub backup_retention: Option<crate::backups::retention::RetentionPolicy>,
    /// Changes to the scope's settings.
    pub settings: Option<SettingsPatch>,
}

impl ScopeConfigPatch {
    /// `config` with this patch applied.
    pub fn apply(&self, config: &ScopeConfig) -> ScopeConfig {
        let mut c = config.clone();
        set_plain(&mut c.priority, &self.priority);
        set_plain(&mut c.sequence, &self.sequence);
        set(&mut c.deployment_limit, &self.deployment_limit);
        set_plain(&mut c.deployment_cluster_ids, &self.deployment_cluster_ids);
        set(&mut c.root_subdomain, &self.root_subdomain);
        set_plain(&mut c.allow_drop, &self.allow_drop);
        set_plain(&mut c.monitor, &self.monitor);
        set_plain(&mut c.gather_logs, &self.gather_logs);
        set_plain(&mut c.role_to_admin, &self.role_to_admin);
        set(&mut c.deployment_pause_after_seconds, &self.deployment_pause_after_seconds);
        set(&mut c.deployment_drop_after_seconds, &self.deployment_drop_after_seconds);
        set(&mut c.restore_from_scope, &self.restore_from_scope);
        set(&mut c.backup_dest_datasource, &self.backup_dest_datasource);
        set(&mut c.monitor_log_delete_after_seconds, &self.monitor_log_delete_after_seconds);
        set_plain(&mut c.backup_retention, &self.backup_retention);
        if let Some(settings) = &self.settings {
            c.settings = settings.apply(&c.settings);
        }
        c
    }
}

impl From<ScopeConfig> for ScopeConfigPatch {
    fn from(c: ScopeConfig) -> Self {
        ScopeConfigPatch {
            priority: Some(c.priority),
            sequence: Some(c.sequence),
            deployment_limit: Some(c.deployment_limit),
            deployment_cluster_ids: Some(c.deployment_cluster_ids),
            root_subdomain: Some(c.root_subdomain),
            allow_drop: Some(c.allow_drop),
            monitor: Some(c.monitor),
            gather_logs: Some(c.gather_logs),
            role_to_admin: Some(c.role_to_admin),
            deployment_pause_after_seconds: Some(c.deployment_pause_after_seconds),
            deployment_drop_after_seconds: Some(c.deployment_drop_after_seconds),
            restore_from_scope: Some(c.restore_from_scope),
            backup_dest_datasource: Some(c.backup_dest_datasource),
            monitor_log_delete_after_seconds: Some(c.monitor_log_delete_after_seconds),
            backup_retention: Some(c.backup_retention),
            settings: Some(c.settings.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let before = Settings {
            replicas: Some(2),
            cpu_limit: Some("1".parse().unwrap()),
            params: BTreeMap::from([("workers".into(), "2".into()), ("db_filter".into(), "^x$".into())]),
            ..Settings::default()
        };
        let patch = SettingsPatch {
            replicas: Some(Some(5)),
            cpu_limit: Some(None),
            params: BTreeMap::from([("workers".into(), Some("4".into())), ("db_filter".into(), None)]),
            ..SettingsPatch::default()
        };
        let after = patch.apply(&before);
        assert_eq!(after.replicas, Some(5));
        assert_eq!(after.cpu_limit, None, "Some(None) clears");
        assert_eq!(after.params, BTreeMap::from([("workers".into(), "4".into())]));
        assert_eq!(SettingsPatch::default().apply(&before), before, "an empty patch changes nothing");

        let config = ScopeConfig { priority: 7, allow_drop: true, ..ScopeConfig::default() };
        let patch = ScopeConfigPatch { monitor: Some(true), ..ScopeConfigPatch::default() };
        let after = patch.apply(&config);
        assert!(after.monitor && after.allow_drop && after.priority == 7, "{after:?}");
        assert_eq!(ScopeConfigPatch::from(config.clone()).apply(&ScopeConfig::default()), config);
    }
}
