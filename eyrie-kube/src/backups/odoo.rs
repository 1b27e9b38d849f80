//! `odoo`: a backup is a `batch/v1` Job that dumps the database and archives
//! the filestore into the bucket; a restore is the reverse Job.
//!
//! The Job mounts what the deployment's pods mount, under the same names
//! ([`crate::render::odoo`]): the configuration Secret `<base>-config` at
//! `/etc/odoo` (the database connection is read from its `odoo.conf`:
//! `db_host`, `db_port`, `db_user`, `db_password`, `db_name`) and the
//! filestore PVC `<base>-filestore` at `/var/lib/odoo` (read-only for a
//! backup). Two containers share an `emptyDir` at `/work`:
//!
//! | step | container | image (param, default) | does |
//! | --- | --- | --- | --- |
//! | backup 1 | `dump` (init) | `backup_image`, [`DEFAULT_TOOLS_IMAGE`] | `pg_dump --format=custom` to `db.dump`, `tar czf` of `filestore/<db_name>` to `filestore.tar.gz` |
//! | backup 2 | `upload` | `backup_s3_image`, [`DEFAULT_S3_IMAGE`] | `aws s3 cp` both to `<prefix>db.dump` and `<prefix>filestore.tar.gz` |
//! | restore 1 | `download` (init) | `backup_s3_image` | `aws s3 cp` both from the backup's location |
//! | restore 2 | `load` | `backup_image` | drops and recreates the database, `pg_restore`, replaces the filestore |
//!
//! The scripts are [`DUMP_SCRIPT`], [`UPLOAD_SCRIPT`], [`DOWNLOAD_SCRIPT`]
//! and [`LOAD_SCRIPT`]; the params `backup_script` and `restore_script`
//! replace the database side (dump, load) of a backup or a restore, run
//! after [`CONNECT`] (so `$db` and libpq's variables are set). Every
//! value reaches the scripts as an environment variable, never spliced
//! into them; the credentials come from the deployment's storage Secret
//! through `secretKeyRef`.
//!
//! The Job never retries (`backoffLimit: 0`: a failed dump is reported,
//! not repeated), is kept 7 days after it finishes
//! (`ttlSecondsAfterFinished`) so that its status can still be read, and
//! prefers the node of the deployment's pods (a `ReadWriteOnce` filestore
//! can only be mounted there).

use eyrie_core::Result;
use eyrie_core::executor::{BackupTarget, DesiredDeployment, ObjectStorage, Progress, RestoreSource};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PersistentVolumeClaimVolumeSource, PodAffinity,
    PodAffinityTerm, PodSecurityContext, PodSpec, PodTemplateSpec, SecretKeySelector, SecretVolumeSource, Volume,
    VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::{aws_secret, backup_name, check_storage, ctx, dir, label, restore_name, storage_secret_name};
use crate::kinds::Kind;
use crate::labels;
use crate::render::{DeploymentSecrets, Object, invalid, put};

/// The image with `pg_dump`, `pg_restore` and `tar` when no `backup_image`
/// param is set: PostgreSQL 17's client reads servers from 9.2 to 17.
pub const DEFAULT_TOOLS_IMAGE: &str = "postgres:17.6";
/// The image with the AWS CLI when no `backup_s3_image` param is set.
pub const DEFAULT_S3_IMAGE: &str = "amazon/aws-cli:2.17.0";
/// The backup's database dump, under the backup's prefix.
pub const DUMP_FILE: &str = "db.dump";
/// The backup's filestore archive, under the backup's prefix.
pub const FILESTORE_FILE: &str = "filestore.tar.gz";
/// How long a finished Job is kept (7 days).
pub const JOB_TTL_SECONDS: i32 = 7 * 24 * 3600;

/// The prelude of the database steps: reads the connection from `odoo.conf`
/// into libpq's variables and the database name into `$db`.
pub const CONNECT: &str = r#"set -eu
conf=/etc/odoo/odoo.conf
opt() { sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$conf" | tail -n 1; }
for pair in PGHOST:db_host PGPORT:db_port PGUSER:db_user PGPASSWORD:db_password; do
  value="$(opt "${pair#*:}")"
  if [ -n "$value" ] && [ "$value" != False ]; then export "${pair%%:*}=$value"; fi
done
db="$(opt db_name)"
if [ -z "$db" ] || [ "$db" = False ]; then echo "odoo.conf sets no db_name: no database to back up or restore" >&2; exit 1; fi
"#;

/// The prelude of the S3 steps: path-style addressing and the endpoint from
/// the Job's environment (`$EYRIE_PATH_STYLE`, `$EYRIE_ENDPOINT`).
pub const S3_SETUP: &str = r#"set -eu
if [ "$EYRIE_PATH_STYLE" = true ]; then aws configure set default.s3.addressing_style path; fi
if [ -n "$EYRIE_ENDPOINT" ]; then set -- --endpoint-url "$EYRIE_ENDPOINT"; else set --; fi
"#;

/// The backup's first step (after [`CONNECT`]): dump and archive to `/work`.
pub const DUMP_SCRIPT: &str = r#"pg_dump --format=custom --no-owner --file=/work/db.dump "$db"
if [ -d "/var/lib/odoo/filestore/$db" ]; then
  tar -C "/var/lib/odoo/filestore/$db" -czf /work/filestore.tar.gz .
else
  tar -czf /work/filestore.tar.gz -T /dev/null
fi
"#;

/// The backup's second step (after [`S3_SETUP`]): upload both files.
pub const UPLOAD_SCRIPT: &str = r#"aws "$@" s3 cp /work/db.dump "s3://$EYRIE_BUCKET/${EYRIE_PREFIX}db.dump"
aws "$@" s3 cp /work/filestore.tar.gz "s3://$EYRIE_BUCKET/${EYRIE_PREFIX}filestore.tar.gz"
"#;

/// The restore's first step (after [`S3_SETUP`]): download both files.
pub const DOWNLOAD_SCRIPT: &str = r#"aws "$@" s3 cp "s3://$EYRIE_BUCKET/${EYRIE_PREFIX}db.dump" /work/db.dump
aws "$@" s3 cp "s3://$EYRIE_BUCKET/${EYRIE_PREFIX}filestore.tar.gz" /work/filestore.tar.gz
"#;

/// The restore's second step (after [`CONNECT`]): replace the database and
/// the filestore (owned by the image's `odoo` user, uid 101).
pub const LOAD_SCRIPT: &str = r#"dropdb --if-exists --force "$db"
createdb "$db"
pg_restore --no-owner --exit-on-error --dbname="$db" /work/db.dump
rm -rf "/var/lib/odoo/filestore/$db"
mkdir -p "/var/lib/odoo/filestore/$db"
tar -C "/var/lib/odoo/filestore/$db" -xzf /work/filestore.tar.gz
chown -R 101:101 /var/lib/odoo/filestore
"#;

/// The Secret and the Job of backup `target` of `desired`.
pub fn backup_objects(desired: &DesiredDeployment, target: &BackupTarget) -> Result<Vec<Object>> {
    check_storage(&target.storage)?;
    let none = DeploymentSecrets::none();
    let ctx = ctx(desired, &none);
    let script = ctx.param("backup_script").unwrap_or(DUMP_SCRIPT);
    let first = tools(&ctx, "dump", script, true);
    let second = s3(&ctx, "upload", UPLOAD_SCRIPT, &target.storage, &target.prefix);
    let name = backup_name(target.backup_id);
    let job = job(desired, &name, "backup", (labels::BACKUP, target.backup_id.to_string()), first, second, true)?;
    Ok(vec![aws_secret(desired, &target.storage)?, job])
}

/// The Secret and the Job of restore `source` into `desired`. Refused when
/// the backup's verified keys do not include the two files a restore reads.
pub fn restore_objects(desired: &DesiredDeployment, source: &RestoreSource) -> Result<Vec<Object>> {
    check_storage(&source.storage)?;
    let location = dir(&source.location);
    if location.is_empty() {
        return Err(invalid("location", &source.location, "an Odoo restore needs the backup's key prefix"));
    }
    for file in [DUMP_FILE, FILESTORE_FILE] {
        let key = format!("{location}{file}");
        if !source.object_keys.is_empty() && !source.object_keys.contains(&key) {
            return Err(invalid("object_keys", &key, "the backup has no such object: it is not an Odoo backup"));
        }
    }
    let none = DeploymentSecrets::none();
    let ctx = ctx(desired, &none);
    let first = s3(&ctx, "download", DOWNLOAD_SCRIPT, &source.storage, &location);
    let script = ctx.param("restore_script").unwrap_or(LOAD_SCRIPT);
    let second = tools(&ctx, "load", script, false);
    let name = restore_name(source.run);
    let job = job(desired, &name, "restore", (labels::RUN, source.run.to_string()), first, second, false)?;
    Ok(vec![aws_secret(desired, &source.storage)?, job])
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.to_owned()), value_from: None }
}

fn secret_env(secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: key.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount { name: name.to_owned(), mount_path: path.to_owned(), read_only: Some(read_only), ..Default::default() }
}

fn shell(name: &str, image: String, script: String) -> Container {
    Container {
        name: name.to_owned(),
        image: Some(image),
        command: Some(vec!["/bin/sh".to_owned(), "-c".to_owned(), script]),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ..Container::default()
    }
}

/// The container with the database tools, connected through `odoo.conf`.
fn tools(ctx: &crate::render::Ctx<'_>, name: &str, script: &str, read_only: bool) -> Container {
    let image = ctx.param("backup_image").unwrap_or(DEFAULT_TOOLS_IMAGE).to_owned();
    Container {
        volume_mounts: Some(vec![
            mount("work", "/work", false),
            mount("config", "/etc/odoo", true),
            mount("filestore", "/var/lib/odoo", read_only),
        ]),
        ..shell(name, image, format!("{CONNECT}{script}"))
    }
}

/// The container with the AWS CLI, given the bucket and the key prefix.
fn s3(ctx: &crate::render::Ctx<'_>, name: &str, script: &str, storage: &ObjectStorage, prefix: &str) -> Container {
    let image = ctx.param("backup_s3_image").unwrap_or(DEFAULT_S3_IMAGE).to_owned();
    let secret = storage_secret_name(ctx.desired);
    Container {
        env: Some(vec![
            secret_env(&secret, "AWS_ACCESS_KEY_ID"),
            secret_env(&secret, "AWS_SECRET_ACCESS_KEY"),
            env("AWS_DEFAULT_REGION", &storage.region),
            env("EYRIE_BUCKET", &storage.bucket),
            env("EYRIE_PREFIX", prefix),
            env("EYRIE_ENDPOINT", storage.endpoint.as_deref().unwrap_or("")),
            env("EYRIE_PATH_STYLE", if storage.path_style { "true" } else { "false" }),
        ]),
        volume_mounts: Some(vec![mount("work", "/work", false)]),
        ..shell(name, image, format!("{S3_SETUP}{script}"))
    }
}

fn job(
    desired: &DesiredDeployment,
    name: &str,
    operation: &str,
    id: (&str, String),
    first: Container,
    second: Container,
    read_only: bool,
) -> Result<Object> {
    let none = DeploymentSecrets::none();
    let ctx = ctx(desired, &none);
    let base = &ctx.base;
    let volumes = vec![
        Volume { name: "work".to_owned(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() },
        Volume {
            name: "config".to_owned(),
            secret: Some(SecretVolumeSource { secret_name: Some(format!("{base}-config")), ..Default::default() }),
            ..Volume::default()
        },
        Volume {
            name: "filestore".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: format!("{base}-filestore"),
                read_only: Some(read_only),
            }),
            ..Volume::default()
        },
    ];
    let near_the_deployment = Affinity {
        pod_affinity: Some(PodAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: PodAffinityTerm {
                    label_selector: Some(LabelSelector {
                        match_labels: Some(labels::selector_labels(desired)),
                        ..LabelSelector::default()
                    }),
                    topology_key: "kubernetes.io/hostname".to_owned(),
                    ..PodAffinityTerm::default()
                },
            }]),
            ..PodAffinity::default()
        }),
        ..Affinity::default()
    };
    let job = Job {
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(JOB_TTL_SECONDS),
            template: PodTemplateSpec {
                // The pod labels are put in below; they leave out
                // `managed-by`, so the deployment's Service never selects
                // this pod.
                metadata: Some(ObjectMeta::default()),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    init_containers: Some(vec![first]),
                    containers: vec![second],
                    volumes: Some(volumes),
                    affinity: Some(near_the_deployment),
                    security_context: Some(PodSecurityContext { fs_group: Some(101), ..Default::default() }),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    let mut object = ctx.object(Kind::Job, name, &job)?;
    let mut pod_labels = ctx.id_labels();
    if let Some(map) = pod_labels.as_object_mut() {
        map.insert(labels::OPERATION.to_owned(), Value::String(operation.to_owned()));
        map.insert(id.0.to_owned(), Value::String(id.1.clone()));
    }
    put(&mut object.body, &["spec", "template", "metadata"], "labels", pod_labels)?;
    label(&mut object, operation, Some(id))?;
    Ok(object)
}

/// How the Job `job` stands, with its pods `pods` (listed by `job-name`):
/// succeeded → [`Progress::Succeeded`] with `location`; failed →
/// [`Progress::Failed`] with the failed container's termination
/// (`<reason>: exit code <n>: <message>`), else the Job's own condition;
/// otherwise [`Progress::Running`].
pub fn job_progress(job: &Value, pods: &[Value], location: &str) -> Progress {
    let status = job.get("status");
    let count = |field: &str| status.and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0);
    let name = job.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
    let failed_condition =
        status.and_then(|s| s.get("conditions")).and_then(Value::as_array).into_iter().flatten().find(|c| {
            c.get("type").and_then(Value::as_str) == Some("Failed")
                && c.get("status").and_then(Value::as_str) == Some("True")
        });
    if count("succeeded") > 0 {
        return Progress::Succeeded { location: location.to_owned() };
    }
    if let Some(condition) = failed_condition {
        if let Some(reason) = pods.iter().find_map(pod_failure) {
            return Progress::Failed(reason);
        }
        let text = |field: &str| condition.get(field).and_then(Value::as_str).unwrap_or("").to_owned();
        return Progress::Failed(format!("job {name} failed: {}: {}", text("reason"), text("message")));
    }
    Progress::Running(format!("job {name}: {} active, {} failed", count("active"), count("failed")))
}

/// The first container (init containers first) of `pod` that terminated
/// with a non-zero exit code, as `<reason>: exit code <n>: <message>`.
pub fn pod_failure(pod: &Value) -> Option<String> {
    let status = pod.get("status")?;
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|field| status.get(*field).and_then(Value::as_array))
        .flatten()
        .find_map(|container| {
            let terminated = container.pointer("/state/terminated")?;
            let code = terminated.get("exitCode").and_then(Value::as_i64)?;
            if code == 0 {
                return None;
            }
            let text = |field: &str| terminated.get(field).and_then(Value::as_str).unwrap_or("").trim().to_owned();
            Some(format!("{}: exit code {code}: {}", text("reason"), text("message")))
        })
}
