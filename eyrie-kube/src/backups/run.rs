//! The requests of a backup or a restore: render (which validates, before
//! any request), read what the cluster has for this operation, and create it
//! only when it is missing. A later call reads and reports, with no write.

use eyrie_core::executor::{BackupTarget, DesiredDeployment, Progress, RestoreSource};
use eyrie_core::{Error, GroupType, Result};
use serde_json::Value;

use super::{FIELD_MANAGER, backup_name, dir, odoo, pgo, pxc, refused, restore_name};
use crate::apply::Cluster;
use crate::kinds::Kind;
use crate::render::{Object, base_name};

/// Takes or reports on backup `target` of `desired`.
pub(crate) async fn backup(cluster: &Cluster, desired: &DesiredDeployment, target: &BackupTarget) -> Result<Progress> {
    let ns = desired.namespace.as_str();
    match desired.effective.group_type {
        GroupType::Odoo => {
            let objects = odoo::backup_objects(desired, target)?;
            job(cluster, ns, &backup_name(target.backup_id), &objects, &target.prefix).await
        }
        GroupType::Pgo => {
            let objects = pgo::backup_objects(desired, target)?;
            let live = operator_cluster(cluster, desired, Kind::PostgresCluster).await?;
            let id = target.backup_id.to_string();
            if annotation(&live, pgo::BACKUP_ANNOTATION) == Some(id.as_str()) {
                let status = live.body.pointer("/status/pgbackrest/manualBackup");
                let location = pgo::repo_location(&target.deployment_prefix);
                return Ok(pgo::job_progress(status, &id, "backup", &location)
                    .unwrap_or_else(|| Progress::Running(format!("waiting for the operator to start backup {id}"))));
            }
            if live.body.pointer("/spec/shutdown").and_then(Value::as_bool) == Some(true) {
                return Ok(Progress::Failed(format!(
                    "PostgresCluster {} is shut down (the deployment is paused): pgBackRest backs up a running cluster",
                    live.name
                )));
            }
            create(cluster, &objects).await?;
            Ok(Progress::Running(format!("requested pgBackRest backup {id}")))
        }
        GroupType::Pxc => {
            let objects = pxc::backup_objects(desired, target)?;
            let name = backup_name(target.backup_id);
            match cluster.get(Kind::PerconaXtraDbClusterBackup, Some(ns), &name).await? {
                Some(live) => Ok(pxc::backup_progress(&live.body, target)),
                None => {
                    let live = operator_cluster(cluster, desired, Kind::PerconaXtraDbCluster).await?;
                    if live.body.pointer("/spec/pause").and_then(Value::as_bool) == Some(true) {
                        return Ok(Progress::Failed(format!(
                            "PerconaXtraDBCluster {} is paused (so is the deployment): xtrabackup backs up a running cluster",
                            live.name
                        )));
                    }
                    create(cluster, &objects).await?;
                    Ok(Progress::Running(format!("created PerconaXtraDBClusterBackup {name}")))
                }
            }
        }
        GroupType::None => Err(refused(GroupType::None, "backup")),
    }
}

/// Runs or reports on restore `source` into `desired`.
pub(crate) async fn restore(
    cluster: &Cluster,
    desired: &DesiredDeployment,
    source: &RestoreSource,
) -> Result<Progress> {
    let ns = desired.namespace.as_str();
    match desired.effective.group_type {
        GroupType::Odoo => {
            let objects = odoo::restore_objects(desired, source)?;
            job(cluster, ns, &restore_name(source.run), &objects, "").await
        }
        GroupType::Pgo => {
            let objects = pgo::restore_objects(desired, source)?;
            let live = operator_cluster(cluster, desired, Kind::PostgresCluster).await?;
            let id = source.run.to_string();
            if annotation(&live, pgo::RESTORE_ANNOTATION) == Some(id.as_str()) {
                let status = live.body.pointer("/status/pgbackrest/restore");
                return Ok(pgo::job_progress(status, &id, "restore", "")
                    .unwrap_or_else(|| Progress::Running(format!("waiting for the operator to start restore {id}"))));
            }
            create(cluster, &objects).await?;
            Ok(Progress::Running(format!("requested pgBackRest restore {id} of backup {}", source.backup_id)))
        }
        GroupType::Pxc => {
            let objects = pxc::restore_objects(desired, source)?;
            let name = restore_name(source.run);
            match cluster.get(Kind::PerconaXtraDbClusterRestore, Some(ns), &name).await? {
                Some(live) => Ok(pxc::restore_progress(&live.body)),
                None => {
                    operator_cluster(cluster, desired, Kind::PerconaXtraDbCluster).await?;
                    create(cluster, &objects).await?;
                    Ok(Progress::Running(format!("created PerconaXtraDBClusterRestore {name}")))
                }
            }
        }
        GroupType::None => Err(refused(GroupType::None, "restore")),
    }
}

/// Applies `objects` in order under the backups' field manager.
async fn create(cluster: &Cluster, objects: &[Object]) -> Result<()> {
    for object in objects {
        cluster.apply_as(object, FIELD_MANAGER).await?;
    }
    Ok(())
}

fn annotation<'a>(object: &'a Object, key: &str) -> Option<&'a str> {
    object.body.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

/// The deployment's operator resource; a backup never creates it (a
/// partial apply would make a broken cluster), so a missing one is an error.
async fn operator_cluster(cluster: &Cluster, desired: &DesiredDeployment, kind: Kind) -> Result<Object> {
    let name = base_name(desired);
    cluster.get(kind, Some(&desired.namespace), &name).await?.ok_or_else(|| {
        Error::not_found(
            "kubernetes object",
            format!("{kind}/{}/{name} (deploy the deployment first)", desired.namespace),
        )
    })
}

/// The Job `name` (the last of `objects`): created with the objects when
/// missing, else its progress, with the failed pod's reason.
async fn job(cluster: &Cluster, ns: &str, name: &str, objects: &[Object], location: &str) -> Result<Progress> {
    let Some(live) = cluster.get(Kind::Job, Some(ns), name).await? else {
        create(cluster, objects).await?;
        return Ok(Progress::Running(format!("created job {name}")));
    };
    let progress = odoo::job_progress(&live.body, &[], &dir(location));
    if !matches!(progress, Progress::Failed(_)) {
        return Ok(progress);
    }
    let pods = cluster.list(Kind::Pod, ns, &format!("job-name={name}")).await?;
    let bodies: Vec<Value> = pods.into_iter().map(|p| p.body).collect();
    Ok(odoo::job_progress(&live.body, &bodies, &dir(location)))
}
