//! `pgo`: backups and restores through the `PostgresCluster`'s pgBackRest.
//!
//! - **Repository.** `repo1` is an S3 repository in the bucket
//!   (`spec.backups.pgbackrest.repos[repo1].s3 {bucket, endpoint, region}`)
//!   at `/<deployment prefix>pgbackrest` (`global.repo1-path`), path-style
//!   or virtual-hosted as the storage says (`repo1-s3-uri-style`), on the
//!   endpoint's port (`repo1-storage-port`). pgBackRest reaches S3 over TLS
//!   only: an `http://` endpoint is refused. The keys are in the
//!   deployment's storage Secret under `s3.conf` (`repo1-s3-key`,
//!   `repo1-s3-key-secret`), projected into pgBackRest's configuration
//!   (`spec.backups.pgbackrest.configuration[].secret`).
//! - **One repository per deployment.** pgBackRest keeps every backup and
//!   the WAL archive of a cluster in one repository, so a pgo backup's
//!   objects are *not* under its own backup prefix: its `location` is the
//!   repository's prefix, `<deployment prefix>pgbackrest/`, the same for
//!   every backup of the deployment. Deleting a pgo backup's objects by
//!   location would delete them all; expiring a pgo backup must only mark
//!   its record.
//! - **Backup.** `spec.backups.pgbackrest.manual {repoName: repo1, options:
//!   [--type=full]}` and the annotation
//!   `postgres-operator.crunchydata.com/pgbackrest-backup: <backup id>`;
//!   progress from `status.pgbackrest.manualBackup` once its `id` is that
//!   backup id (`finished` with `succeeded` pods → done, `finished`
//!   otherwise → failed). A shut-down cluster (a paused deployment) cannot
//!   be backed up: reported as failed.
//! - **Restore.** In place: `spec.backups.pgbackrest.restore {enabled: true,
//!   repoName: repo1, options: [--type=time, --target="<end of the
//!   backup>"]}` and the annotation
//!   `postgres-operator.crunchydata.com/pgbackrest-restore: <job id>`;
//!   progress from `status.pgbackrest.restore`. A backup without an end
//!   time is refused (it has no point to restore to).
//! - **Another deployment's backup is refused.** Its repository would have
//!   to be configured on this cluster (a second repo, `repo2`): the
//!   operator runs `stanza-create` on every configured repository and
//!   pgBackRest's `archive-push` writes to every one of them, so once the
//!   restored cluster started (with the source's system identifier, as a
//!   physical restore gives it) it would archive its WAL into the source
//!   deployment's repository, corrupting that deployment's point-in-time
//!   history; and this cluster's own repository would then hold a stanza
//!   of another system. Seeding a new pgo deployment from another one is a
//!   cluster bootstrap (`spec.dataSource.pgbackrest`), not an in-place
//!   restore, and is not done here.
//!
//! Every write is a server-side apply of only these fields under the field
//! manager [`super::FIELD_MANAGER`], so the deployment's own reconcile
//! (manager `eyrie`) neither removes nor reports them.

use std::collections::BTreeMap;

use eyrie_core::executor::{BackupTarget, DesiredDeployment, ObjectStorage, Progress, RestoreSource};
use eyrie_core::{Error, Result};
use serde_json::{Map, Value, json};

use super::{check_storage, dir, storage_secret, storage_secret_name, time_target};
use crate::kinds::Kind;
use crate::render::{Object, base_name, invalid};

/// The repository Eyrie configures.
pub const REPO: &str = "repo1";
/// The operator's annotation that starts a manual backup.
pub const BACKUP_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-backup";
/// The operator's annotation that starts an in-place restore.
pub const RESTORE_ANNOTATION: &str = "postgres-operator.crunchydata.com/pgbackrest-restore";
/// The file the storage Secret's key is projected as, in pgBackRest's `conf.d`.
pub const CONF_KEY: &str = "s3.conf";

/// The repository's key prefix for a deployment prefix:
/// `<deployment prefix>pgbackrest/` (a backup's `location`).
pub fn repo_location(deployment_prefix: &str) -> String {
    format!("{}pgbackrest/", dir(deployment_prefix))
}

/// The storage Secret with `s3.conf`: the repository's keys in pgBackRest's
/// `[global]` section.
pub fn s3_conf_secret(desired: &DesiredDeployment, storage: &ObjectStorage) -> Result<Object> {
    let conf = format!(
        "[global]\n{REPO}-s3-key={}\n{REPO}-s3-key-secret={}\n",
        storage.access_key_id,
        storage.secret_access_key.expose()
    );
    storage_secret(desired, BTreeMap::from([(CONF_KEY.to_owned(), conf)]))
}

/// The endpoint's host and port (`None`: the scheme's default); AWS itself
/// when the storage names no endpoint.
fn endpoint(storage: &ObjectStorage) -> Result<(String, Option<String>)> {
    let Some(url) = &storage.endpoint else {
        return Ok((format!("s3.{}.amazonaws.com", storage.region), None));
    };
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(invalid("endpoint", url, "pgBackRest reaches S3 over https only"));
    };
    let host_port = rest.split('/').next().unwrap_or("");
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok((host.to_owned(), Some(port.to_owned())))
        }
        _ if !host_port.is_empty() && !host_port.contains(':') => Ok((host_port.to_owned(), None)),
        _ => Err(invalid("endpoint", url, "must be https://host[:port]")),
    }
}

/// The `spec.backups` Eyrie sets: the repository, its options and keys.
fn backups(
    desired: &DesiredDeployment,
    storage: &ObjectStorage,
    deployment_prefix: &str,
) -> Result<Map<String, Value>> {
    check_storage(storage)?;
    let (host, port) = endpoint(storage)?;
    let mut global = Map::new();
    global.insert(
        format!("{REPO}-path"),
        Value::String(format!("/{}", repo_location(deployment_prefix).trim_end_matches('/'))),
    );
    let style = if storage.path_style { "path" } else { "host" };
    global.insert(format!("{REPO}-s3-uri-style"), Value::String(style.to_owned()));
    if let Some(port) = port {
        global.insert(format!("{REPO}-storage-port"), Value::String(port));
    }
    let mut pgbackrest = Map::new();
    pgbackrest.insert(
        "configuration".to_owned(),
        json!([{"secret": {"name": storage_secret_name(desired), "items": [{"key": CONF_KEY, "path": "eyrie-s3.conf"}]}}]),
    );
    pgbackrest.insert("global".to_owned(), Value::Object(global));
    pgbackrest.insert(
        "repos".to_owned(),
        json!([{"name": REPO, "s3": {"bucket": storage.bucket, "endpoint": host, "region": storage.region}}]),
    );
    Ok(pgbackrest)
}

fn cluster(desired: &DesiredDeployment, annotation: (&str, String), pgbackrest: Map<String, Value>) -> Object {
    let name = base_name(desired);
    let body = json!({
        "apiVersion": Kind::PostgresCluster.api_version(),
        "kind": Kind::PostgresCluster.kind(),
        "metadata": {"name": name, "namespace": desired.namespace, "annotations": {annotation.0: annotation.1}},
        "spec": {"backups": {"pgbackrest": pgbackrest}},
    });
    Object::from_value(Kind::PostgresCluster, &name, Some(&desired.namespace), body)
}

/// The storage Secret and the `PostgresCluster` fields of backup `target`.
pub fn backup_objects(desired: &DesiredDeployment, target: &BackupTarget) -> Result<Vec<Object>> {
    let mut pgbackrest = backups(desired, &target.storage, &target.deployment_prefix)?;
    pgbackrest.insert("manual".to_owned(), json!({"repoName": REPO, "options": ["--type=full"]}));
    Ok(vec![
        s3_conf_secret(desired, &target.storage)?,
        cluster(desired, (BACKUP_ANNOTATION, target.backup_id.to_string()), pgbackrest),
    ])
}

/// The storage Secret and the `PostgresCluster` fields of restore `source`
/// (see the module docs for what is refused).
pub fn restore_objects(desired: &DesiredDeployment, source: &RestoreSource) -> Result<Vec<Object>> {
    if source.source_deployment != desired.deployment_id {
        return Err(Error::policy(format!(
            "a pgo deployment restores its own backups only: backup {} is of deployment {}, whose pgBackRest \
             repository this cluster would then archive into",
            source.backup_id, source.source_deployment
        )));
    }
    let location = dir(&source.location);
    let own = format!("{:016x}/pgbackrest/", desired.deployment_id.0);
    let Some(deployment_prefix) = location.strip_suffix("pgbackrest/").filter(|_| location.ends_with(&own)) else {
        return Err(invalid("location", &source.location, "is not this deployment's pgBackRest repository"));
    };
    let Some(ended_at) = source.ended_at else {
        return Err(invalid("ended_at", source.backup_id, "a pgo restore needs the time its backup ended"));
    };
    let mut pgbackrest = backups(desired, &source.storage, deployment_prefix)?;
    let target = format!("--target=\"{}\"", time_target(ended_at));
    pgbackrest
        .insert("restore".to_owned(), json!({"enabled": true, "repoName": REPO, "options": ["--type=time", target]}));
    Ok(vec![
        s3_conf_secret(desired, &source.storage)?,
        cluster(desired, (RESTORE_ANNOTATION, source.run.to_string()), pgbackrest),
    ])
}

/// How the operator's job `status` (`status.pgbackrest.manualBackup` or
/// `.restore`) stands for the request `id`: `None` while the status is of
/// another request (the operator has not picked this one up yet).
pub fn job_progress(status: Option<&Value>, id: &str, what: &str, location: &str) -> Option<Progress> {
    let status = status?;
    if status.get("id").and_then(Value::as_str) != Some(id) {
        return None;
    }
    let count = |field: &str| status.get(field).and_then(Value::as_i64).unwrap_or(0);
    let finished = status.get("finished").and_then(Value::as_bool).unwrap_or(false);
    Some(match (finished, count("succeeded") > 0) {
        (true, true) => Progress::Succeeded { location: location.to_owned() },
        (true, false) => Progress::Failed(format!(
            "pgBackRest {what} {id} failed ({} failed pods); see the operator's job in the namespace",
            count("failed")
        )),
        (false, _) => Progress::Running(format!("pgBackRest {what} {id}: {} active", count("active"))),
    })
}
