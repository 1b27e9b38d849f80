#![doc = include_str!("../../docs/backups.md")]

pub mod odoo;
pub mod pgo;
pub mod pxc;
#[cfg(feature = "client")]
pub(crate) mod run;

use std::collections::BTreeMap;

use eyrie_core::executor::{DesiredDeployment, ObjectStorage};
use eyrie_core::{BackupId, Error, GroupType, JobId, Result, Timestamp};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use crate::kinds::Kind;
use crate::labels;
use crate::render::{DeploymentSecrets, Object, Run, put};

/// The server-side apply field manager of every backup and restore write.
/// Not `eyrie`: the fields a backup adds to an operator's cluster resource
/// (its repository, its storage) are then not the deployment's own, so a
/// later reconcile neither removes them nor counts them as changes.
pub const FIELD_MANAGER: &str = "eyrie-backups";

/// The name of the Job or custom resource of backup `id`: `eyrie-backup-`
/// and the id's 16 hex digits (unique in the namespace, as backup ids are).
pub fn backup_name(id: BackupId) -> String {
    format!("eyrie-backup-{:016x}", id.0)
}

/// The name of the Job or custom resource of the restore run by job `run`.
pub fn restore_name(run: JobId) -> String {
    format!("eyrie-restore-{:016x}", run.0)
}

/// The name of the deployment's Secret with the bucket's credentials:
/// `<base name>-backup-s3` (one per deployment, rewritten by each backup or
/// restore from the storage it is given).
pub fn storage_secret_name(desired: &DesiredDeployment) -> String {
    format!("{}-backup-s3", crate::render::base_name(desired))
}

/// `prefix` with exactly one trailing `/` (empty stays empty).
pub(crate) fn dir(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() { String::new() } else { format!("{trimmed}/") }
}

/// A timestamp as pgBackRest and PostgreSQL read a time target:
/// `YYYY-MM-DD HH:MM:SS.mmm+00`.
pub fn time_target(at: Timestamp) -> String {
    let text = at.to_string();
    text.replacen('T', " ", 1).replace('Z', "+00")
}

/// The error for a group type without backups.
pub fn refused(group_type: GroupType, what: &str) -> Error {
    Error::backend(format!("{what} is not available for group type {group_type}: it keeps no data to back up"), false)
}

/// The rendering context of `desired` for backup objects.
pub(crate) fn ctx<'a>(desired: &'a DesiredDeployment, none: &'a DeploymentSecrets) -> crate::render::Ctx<'a> {
    crate::render::Ctx::new(desired, Run::Running, none)
}

/// Adds the operation labels to the rendered `object`.
pub(crate) fn label(object: &mut Object, operation: &str, id: Option<(&str, String)>) -> Result<()> {
    put(&mut object.body, &["metadata", "labels"], labels::OPERATION, Value::String(operation.to_owned()))?;
    if let Some((key, value)) = id {
        put(&mut object.body, &["metadata", "labels"], key, Value::String(value))?;
    }
    Ok(())
}

/// The deployment's storage Secret with `data`: the deployment's labels plus
/// `eyrie.dev/operation: backup-storage`. The only object that holds the
/// secret access key.
pub(crate) fn storage_secret(desired: &DesiredDeployment, data: BTreeMap<String, String>) -> Result<Object> {
    let none = DeploymentSecrets::none();
    let ctx = ctx(desired, &none);
    let secret = Secret {
        type_: Some("Opaque".to_owned()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v.into_bytes()))).collect()),
        ..Secret::default()
    };
    let mut object = ctx.object(Kind::Secret, &storage_secret_name(desired), &secret)?;
    label(&mut object, "backup-storage", None)?;
    Ok(object)
}

/// The storage Secret with the keys the AWS tools read
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`): for Odoo Jobs and the
/// Percona operator.
pub fn aws_secret(desired: &DesiredDeployment, storage: &ObjectStorage) -> Result<Object> {
    storage_secret(
        desired,
        BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), storage.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), storage.secret_access_key.expose().to_owned()),
        ]),
    )
}

/// Checks that a storage's names cannot break out of the fields they are
/// written to (a bucket with a `/`, an endpoint with a line break).
pub(crate) fn check_storage(storage: &ObjectStorage) -> Result<()> {
    let bad = |field: &'static str, value: &str, reason: &str| Err(crate::render::invalid(field, value, reason));
    if storage.bucket.is_empty() || storage.bucket.contains(['/', '\n', '\r', ' ']) {
        return bad("bucket", &storage.bucket, "must be a bucket name without '/', spaces or line breaks");
    }
    if storage.region.contains(['\n', '\r', ' ']) {
        return bad("region", &storage.region, "must not contain spaces or line breaks");
    }
    if let Some(endpoint) = &storage.endpoint
        && (endpoint.contains(['\n', '\r', ' '])
            || !(endpoint.starts_with("http://") || endpoint.starts_with("https://")))
    {
        return bad("endpoint", endpoint, "must be an http(s) URL without spaces or line breaks");
    }
    if storage.access_key_id.contains(['\n', '\r']) || storage.secret_access_key.expose().contains(['\n', '\r']) {
        // Name the field only: the value is a credential.
        return Err(crate::render::invalid("credentials", "access key", "must not contain line breaks"));
    }
    Ok(())
}
