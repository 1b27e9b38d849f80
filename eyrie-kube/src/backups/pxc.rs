//! `pxc`: backups and restores through the Percona operator's resources.
//!
//! - **Storage.** The `PerconaXtraDBCluster` gets `spec.backup.storages`
//!   entry [`STORAGE`]: `type: s3`, `s3 {bucket: "<bucket>/<backup
//!   prefix>", credentialsSecret, endpointUrl, region, forcePathStyle}`, and `spec.backup.image` (the `backup_image` param, or
//!   [`DEFAULT_BACKUP_IMAGE`]). The credentials Secret is the deployment's
//!   storage Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
//!   These fields are applied under the field manager
//!   [`super::FIELD_MANAGER`], so the deployment's own reconcile leaves
//!   them. Each backup points the storage at its own prefix right before
//!   it creates its backup resource (a deployment runs one job at a time,
//!   so no other backup of the cluster uses the storage meanwhile).
//! - **Backup.** A `PerconaXtraDBClusterBackup` named from the backup id
//!   ([`super::backup_name`]), `spec {pxcCluster, storageName}`. Progress
//!   from `status.state` (`Succeeded`, `Failed`, anything else running);
//!   the operator writes the backup to `status.destination`
//!   (`s3://<bucket>/<backup prefix><cluster>-<time>-full`, with the
//!   operator's `.md5` and `.sst_info` beside it), whose key part is the
//!   backup's `location`: a folder the operator names, under the backup's
//!   own prefix, so deleting that prefix deletes the whole backup. A
//!   destination outside the backup's prefix (the operator read an older
//!   storage path) is reported as a failure;
//!   so is a paused cluster (`pause: true`), before anything is created.
//! - **Restore.** A `PerconaXtraDBClusterRestore` named from the run
//!   ([`super::restore_name`]), `spec {pxcCluster, backupSource
//!   {destination, s3}}`: the operator reads the backup from the bucket, so
//!   a backup of another deployment restores the same way. Progress from
//!   `status.state`, the failure reason from `status.comments`.

use eyrie_core::Result;
use eyrie_core::executor::{BackupTarget, DesiredDeployment, ObjectStorage, Progress, RestoreSource};
use serde_json::{Map, Value, json};

use super::{aws_secret, backup_name, check_storage, ctx, dir, label, restore_name, storage_secret_name};
use crate::kinds::Kind;
use crate::labels;
use crate::render::{DeploymentSecrets, Object, base_name, invalid, json_object};

/// The name of the storage Eyrie adds to the cluster.
pub const STORAGE: &str = "eyrie-s3";
/// The XtraBackup image when no `backup_image` param is set: the one
/// released with operator 1.19.0 for PXC 8.0.
pub const DEFAULT_BACKUP_IMAGE: &str = "percona/percona-xtrabackup:8.0.35-34.1";

/// The `s3` block of a storage or a backup source, for `bucket`.
fn s3(desired: &DesiredDeployment, storage: &ObjectStorage, bucket: String) -> Value {
    let mut s3 = Map::new();
    s3.insert("bucket".to_owned(), Value::String(bucket));
    s3.insert("credentialsSecret".to_owned(), Value::String(storage_secret_name(desired)));
    if let Some(endpoint) = &storage.endpoint {
        s3.insert("endpointUrl".to_owned(), Value::String(endpoint.clone()));
    }
    s3.insert("region".to_owned(), Value::String(storage.region.clone()));
    s3.insert("forcePathStyle".to_owned(), Value::Bool(storage.path_style));
    Value::Object(s3)
}

/// The `PerconaXtraDBCluster` fields a backup needs: the storage and the
/// backup image (a partial object for server-side apply).
pub fn cluster_storage(desired: &DesiredDeployment, target: &BackupTarget) -> Result<Object> {
    check_storage(&target.storage)?;
    let none = DeploymentSecrets::none();
    let image = ctx(desired, &none).param("backup_image").unwrap_or(DEFAULT_BACKUP_IMAGE).to_owned();
    let prefix = dir(&target.prefix);
    if !prefix.starts_with(&dir(&target.deployment_prefix)) || prefix == dir(&target.deployment_prefix) {
        return Err(invalid("prefix", &target.prefix, "must be a backup's prefix inside the deployment's prefix"));
    }
    let bucket = format!("{}/{}", target.storage.bucket, prefix.trim_end_matches('/'));
    let name = base_name(desired);
    let body = json!({
        "apiVersion": Kind::PerconaXtraDbCluster.api_version(),
        "kind": Kind::PerconaXtraDbCluster.kind(),
        "metadata": {"name": name, "namespace": desired.namespace},
        "spec": {"backup": {"image": image, "storages": {STORAGE: {
            "type": "s3",
            "s3": s3(desired, &target.storage, bucket),
        }}}},
    });
    Ok(Object::from_value(Kind::PerconaXtraDbCluster, &name, Some(&desired.namespace), body))
}

fn resource(desired: &DesiredDeployment, kind: Kind, name: &str, spec: Value) -> Object {
    let none = DeploymentSecrets::none();
    let body = json_object([
        ("apiVersion", Value::String(kind.api_version())),
        ("kind", Value::String(kind.kind().to_owned())),
        ("metadata", ctx(desired, &none).meta(name)),
        ("spec", spec),
    ]);
    Object::from_value(kind, name, Some(&desired.namespace), body)
}

/// The storage Secret, the cluster's storage and the
/// `PerconaXtraDBClusterBackup` of backup `target`, in apply order.
pub fn backup_objects(desired: &DesiredDeployment, target: &BackupTarget) -> Result<Vec<Object>> {
    let name = backup_name(target.backup_id);
    let spec = json!({"pxcCluster": base_name(desired), "storageName": STORAGE});
    let mut backup = resource(desired, Kind::PerconaXtraDbClusterBackup, &name, spec);
    label(&mut backup, "backup", Some((labels::BACKUP, target.backup_id.to_string())))?;
    Ok(vec![aws_secret(desired, &target.storage)?, cluster_storage(desired, target)?, backup])
}

/// The `s3://` destination of a backup at `location` in `storage`.
pub fn destination(storage: &ObjectStorage, location: &str) -> String {
    format!("s3://{}/{}", storage.bucket, location.trim_end_matches('/'))
}

/// The storage Secret and the `PerconaXtraDBClusterRestore` of `source`.
pub fn restore_objects(desired: &DesiredDeployment, source: &RestoreSource) -> Result<Vec<Object>> {
    check_storage(&source.storage)?;
    if dir(&source.location).is_empty() {
        return Err(invalid("location", &source.location, "a pxc restore needs the backup's key prefix"));
    }
    let name = restore_name(source.run);
    let backup_source = json!({
        "destination": destination(&source.storage, &source.location),
        "s3": s3(desired, &source.storage, source.storage.bucket.clone()),
    });
    let spec = json!({"pxcCluster": base_name(desired), "backupSource": backup_source});
    let mut restore = resource(desired, Kind::PerconaXtraDbClusterRestore, &name, spec);
    label(&mut restore, "restore", Some((labels::RUN, source.run.to_string())))?;
    Ok(vec![aws_secret(desired, &source.storage)?, restore])
}

fn text<'a>(body: &'a Value, pointer: &str) -> &'a str {
    body.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// How a `PerconaXtraDBClusterBackup` of `target` stands; a succeeded
/// backup's location is its destination's key part, as a prefix
/// (`…-full/`), which must be inside the backup's own prefix.
pub fn backup_progress(backup: &Value, target: &BackupTarget) -> Progress {
    let bucket = &target.storage.bucket;
    match text(backup, "/status/state") {
        "Succeeded" => {
            let destination = text(backup, "/status/destination");
            match destination.strip_prefix(&format!("s3://{bucket}/")) {
                Some(key) if dir(key).starts_with(&dir(&target.prefix)) && dir(key) != dir(&target.prefix) => {
                    Progress::Succeeded { location: dir(key) }
                }
                _ => Progress::Failed(format!(
                    "the operator reports the backup at {destination:?}, not inside s3://{bucket}/{}",
                    dir(&target.prefix)
                )),
            }
        }
        "Failed" => Progress::Failed(format!("xtrabackup failed: {}", text(backup, "/status/error"))),
        "" => Progress::Running("waiting for the Percona operator".to_owned()),
        state => Progress::Running(format!("backup {state}")),
    }
}

/// How a `PerconaXtraDBClusterRestore` stands.
pub fn restore_progress(restore: &Value) -> Progress {
    match text(restore, "/status/state") {
        "Succeeded" => Progress::Succeeded { location: String::new() },
        "Failed" => Progress::Failed(format!("restore failed: {}", text(restore, "/status/comments"))),
        "" => Progress::Running("waiting for the Percona operator".to_owned()),
        state => Progress::Running(format!("restore {state}")),
    }
}
