//! Rendering of backups and restores: deterministic names, the labels of
//! every object, credentials in the storage Secret only, the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eyrie_core::executor::{DesiredDeployment, Progress};
use eyrie_core::{BackupId, ErrorKind, GroupType, JobId};
use eyrie_kube::backups::{self, odoo, pgo, pxc};
use eyrie_kube::{Kind, Object, labels};
use serde_json::{Value, json};
use support::{ACCESS_KEY, SECRET_KEY, deployment, long_slugs, source, target};

fn label<'a>(object: &'a Object, key: &str) -> &'a str {
    object.body["metadata"]["labels"][key].as_str().unwrap_or_else(|| panic!("{object:?} has no label {key}"))
}

fn secret_values(secret: &Object) -> Vec<String> {
    let typed: k8s_openapi::api::core::v1::Secret = serde_json::from_value(secret.body.clone()).unwrap();
    typed.data.unwrap().into_values().map(|v| String::from_utf8(v.0).unwrap()).collect()
}

/// Every object of every backup and restore of `d`.
fn operation_objects(d: &DesiredDeployment) -> Vec<Object> {
    let backup = target(d, 0x2a);
    let restore = source(d, 0x2a, 0x99, &backup.prefix);
    match d.effective.group_type {
        GroupType::Odoo => {
            [odoo::backup_objects(d, &backup).unwrap(), odoo::restore_objects(d, &restore).unwrap()].concat()
        }
        GroupType::Pgo => {
            let restore = source(d, 0x2a, 0x99, &pgo::repo_location(&backup.deployment_prefix));
            [pgo::backup_objects(d, &backup).unwrap(), pgo::restore_objects(d, &restore).unwrap()].concat()
        }
        GroupType::Pxc => {
            [pxc::backup_objects(d, &backup).unwrap(), pxc::restore_objects(d, &restore).unwrap()].concat()
        }
        GroupType::None => Vec::new(),
    }
}

fn typed_cases() -> Vec<DesiredDeployment> {
    let mut cases = Vec::new();
    for group_type in [GroupType::Odoo, GroupType::Pgo, GroupType::Pxc] {
        cases.push(deployment(group_type, "db", "main", 200));
        cases.push(long_slugs(group_type));
    }
    cases
}

#[test]
fn names_come_from_the_backup_id_and_the_run() {
    assert_eq!(backups::backup_name(BackupId(0x2a)), "eyrie-backup-000000000000002a");
    assert_eq!(backups::restore_name(JobId(u64::MAX)), "eyrie-restore-ffffffffffffffff");
    for d in typed_cases() {
        let objects = operation_objects(&d);
        assert_eq!(objects, operation_objects(&d), "rendering is deterministic");
        for object in &objects {
            assert!(object.name.len() <= 63, "{object:?}");
            assert!(eyrie_kube::names::is_rfc1035_label(&object.name), "{object:?}");
        }
        let other = operation_objects(&d).into_iter().map(|o| o.name).collect::<Vec<_>>();
        let mut d2 = d.clone();
        d2.deployment_id.0 ^= 1;
        let moved = operation_objects(&d2).into_iter().map(|o| o.name).collect::<Vec<_>>();
        assert_ne!(other, moved, "the base name follows the deployment");
    }
}

#[test]
fn every_object_carries_the_identity_and_operation_labels() {
    for d in typed_cases() {
        for object in operation_objects(&d) {
            assert_eq!(object.namespace.as_deref(), Some(d.namespace.as_str()), "{object:?}");
            let partial_cluster = matches!(object.kind, Kind::PostgresCluster | Kind::PerconaXtraDbCluster);
            if partial_cluster {
                // The fields a backup sets on the deployment's own cluster: no labels of its own.
                assert!(object.body["metadata"]["labels"].is_null(), "{object:?}");
                continue;
            }
            assert_eq!(label(&object, labels::MANAGED_BY), "eyrie");
            assert_eq!(label(&object, labels::DEPLOYMENT), d.deployment_id.to_string());
            assert_eq!(label(&object, labels::PROJECT), d.project_id.to_string());
            assert_eq!(label(&object, labels::GROUP), d.group_id.to_string());
            let operation = label(&object, labels::OPERATION);
            match object.kind {
                Kind::Secret => assert_eq!(operation, "backup-storage"),
                _ if object.name.starts_with("eyrie-backup-") => {
                    assert_eq!(operation, "backup");
                    assert_eq!(label(&object, labels::BACKUP), "bak-000000000000002a");
                }
                _ => {
                    assert_eq!(operation, "restore");
                    assert_eq!(label(&object, labels::RUN), "job-0000000000000099");
                }
            }
        }
    }
}

#[test]
fn credentials_are_in_the_storage_secret_only() {
    for d in typed_cases() {
        let objects = operation_objects(&d);
        let secrets: Vec<&Object> = objects.iter().filter(|o| o.kind == Kind::Secret).collect();
        assert!(!secrets.is_empty());
        for secret in &secrets {
            assert_eq!(secret.name, backups::storage_secret_name(&d));
            let values = secret_values(secret).join("\n");
            assert!(values.contains(SECRET_KEY) && values.contains(ACCESS_KEY), "{secret:?}");
            assert!(!format!("{secret:?}").contains(SECRET_KEY));
        }
        for object in objects.iter().filter(|o| o.kind != Kind::Secret) {
            let text = object.body.to_string();
            assert!(!text.contains(SECRET_KEY), "{object:?} holds the secret key");
            assert!(!text.contains(ACCESS_KEY), "{object:?} holds the access key");
        }
    }
}

#[test]
fn the_odoo_job_uses_the_deployments_volumes_and_reads_keys_from_the_secret() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let t = target(&d, 0x2a);
    let objects = odoo::backup_objects(&d, &t).unwrap();
    let job = &objects[1];
    assert_eq!((job.kind, job.name.as_str()), (Kind::Job, "eyrie-backup-000000000000002a"));
    serde_json::from_value::<k8s_openapi::api::batch::v1::Job>(job.body.clone()).unwrap();
    let pod = &job.body["spec"]["template"]["spec"];
    assert_eq!(job.body["spec"]["backoffLimit"], 0);
    assert_eq!(pod["restartPolicy"], "Never");
    let volumes = pod["volumes"].as_array().unwrap();
    assert!(volumes.iter().any(|v| v["persistentVolumeClaim"]["claimName"] == "erp-shop-25-filestore"));
    assert!(volumes.iter().any(|v| v["secret"]["secretName"] == "erp-shop-25-config"));
    assert_eq!(pod["initContainers"][0]["image"], odoo::DEFAULT_TOOLS_IMAGE);
    let upload = &pod["containers"][0];
    assert_eq!(upload["image"], odoo::DEFAULT_S3_IMAGE);
    let env = |name: &str| upload["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(
        env("AWS_SECRET_ACCESS_KEY")["valueFrom"]["secretKeyRef"],
        json!({"name": "erp-shop-25-backup-s3", "key": "AWS_SECRET_ACCESS_KEY", "optional": false})
    );
    assert!(env("AWS_SECRET_ACCESS_KEY").get("value").is_none());
    assert_eq!(env("EYRIE_PREFIX")["value"], t.prefix.as_str());
    assert_eq!(env("EYRIE_BUCKET")["value"], "eyrie-backups");
    assert_eq!(env("EYRIE_PATH_STYLE")["value"], "true");
    // The pod is not selected by the deployment's Service (no managed-by label).
    let pod_labels = job.body["spec"]["template"]["metadata"]["labels"].as_object().unwrap();
    assert!(!pod_labels.contains_key(labels::MANAGED_BY));
    assert_eq!(pod_labels[labels::DEPLOYMENT], d.deployment_id.to_string());
    // Versions are pinned.
    for image in [odoo::DEFAULT_TOOLS_IMAGE, odoo::DEFAULT_S3_IMAGE, pxc::DEFAULT_BACKUP_IMAGE] {
        let tag = image.rsplit_once(':').unwrap().1;
        assert!(tag.chars().next().unwrap().is_ascii_digit() && tag.contains('.'), "{image}");
    }

    // The restore Job loads from the backup's location.
    let s = source(&d, 0x2a, 0x99, &t.prefix);
    let restore = odoo::restore_objects(&d, &s).unwrap();
    let job = &restore[1];
    assert_eq!(job.name, "eyrie-restore-0000000000000099");
    let pod = &job.body["spec"]["template"]["spec"];
    assert_eq!(pod["initContainers"][0]["name"], "download");
    assert_eq!(pod["containers"][0]["name"], "load");
    let prefix =
        pod["initContainers"][0]["env"].as_array().unwrap().iter().find(|e| e["name"] == "EYRIE_PREFIX").unwrap();
    assert_eq!(prefix["value"], t.prefix.as_str());
    let filestore = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "filestore").unwrap();
    assert_eq!(filestore["persistentVolumeClaim"]["readOnly"], false);
}

#[test]
fn params_replace_images_and_are_not_written_to_odoo_conf() {
    let mut d = deployment(GroupType::Odoo, "erp", "shop", 77);
    d.effective.params.insert(
        "backup_image".into(),
        eyrie_core::Sourced {
            value: "registry.acme.example/pg:16.4".to_owned(),
            source: eyrie_core::Source::Deployment,
        },
    );
    let job = odoo::backup_objects(&d, &target(&d, 1)).unwrap().remove(1);
    assert_eq!(job.body["spec"]["template"]["spec"]["initContainers"][0]["image"], "registry.acme.example/pg:16.4");
    let rendered =
        eyrie_kube::render::render(&d, eyrie_kube::Run::Running, &eyrie_kube::DeploymentSecrets::none()).unwrap();
    let conf = secret_values(&rendered.objects[0]).join("");
    assert!(!conf.contains("backup_image"), "{conf}");
}

#[test]
fn pgo_backups_configure_one_repository_per_deployment() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let t = target(&d, 0x2a);
    let objects = pgo::backup_objects(&d, &t).unwrap();
    let conf = secret_values(&objects[0]).join("");
    assert_eq!(conf, format!("[global]\nrepo1-s3-key={ACCESS_KEY}\nrepo1-s3-key-secret={SECRET_KEY}\n"));
    let cluster = &objects[1];
    assert_eq!(cluster.body["metadata"]["annotations"][pgo::BACKUP_ANNOTATION], "bak-000000000000002a");
    let pgbackrest = &cluster.body["spec"]["backups"]["pgbackrest"];
    assert_eq!(
        pgbackrest["repos"],
        json!([{"name": "repo1", "s3": {"bucket": "eyrie-backups", "endpoint": "minio.acme.example", "region": "eu-west-1"}}])
    );
    let path = pgbackrest["global"]["repo1-path"].as_str().unwrap();
    assert_eq!(path, format!("/{}pgbackrest", t.deployment_prefix));
    assert_eq!(pgbackrest["global"]["repo1-s3-uri-style"], "path");
    assert_eq!(pgbackrest["global"]["repo1-storage-port"], "9000");
    assert_eq!(pgbackrest["manual"], json!({"repoName": "repo1", "options": ["--type=full"]}));
    assert_eq!(pgbackrest["configuration"][0]["secret"]["name"], "db-main-26-backup-s3");
    // The location is the repository, inside the deployment's prefix.
    let location = pgo::repo_location(&t.deployment_prefix);
    assert!(location.starts_with(&t.deployment_prefix) && !location.starts_with(&t.prefix));

    // Restore: a point in time at the end of the backup.
    let s = source(&d, 0x2a, 0x99, &location);
    let objects = pgo::restore_objects(&d, &s).unwrap();
    let cluster = &objects[1];
    assert_eq!(cluster.body["metadata"]["annotations"][pgo::RESTORE_ANNOTATION], "job-0000000000000099");
    assert_eq!(
        cluster.body["spec"]["backups"]["pgbackrest"]["restore"],
        json!({"enabled": true, "repoName": "repo1", "options": ["--type=time", "--target=\"2026-01-01 00:00:00.250+00\""]})
    );
    assert_eq!(cluster.body["spec"]["backups"]["pgbackrest"]["global"]["repo1-path"], path);
}

#[test]
fn pgo_refuses_what_it_cannot_restore_or_reach() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let other = deployment(GroupType::Pgo, "db", "other", 79);
    let location = pgo::repo_location(&support::deployment_prefix(&other));
    let err = pgo::restore_objects(&d, &source(&other, 1, 2, &location)).unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::PolicyViolation, false), "{err}");
    assert!(err.to_string().contains("dep-"), "{err}");

    let own = pgo::repo_location(&support::deployment_prefix(&d));
    let mut s = source(&d, 1, 2, &own);
    s.ended_at = None;
    assert_eq!(pgo::restore_objects(&d, &s).unwrap_err().kind(), ErrorKind::Invalid);
    let s = source(&d, 1, 2, "somewhere/else/");
    assert_eq!(pgo::restore_objects(&d, &s).unwrap_err().kind(), ErrorKind::Invalid);
    // Claimed as its own, but the location is another deployment's repository.
    let s = source(&d, 1, 2, &location);
    assert_eq!(pgo::restore_objects(&d, &s).unwrap_err().kind(), ErrorKind::Invalid);

    let mut t = target(&d, 1);
    t.storage.endpoint = Some("http://minio:9000".into());
    assert_eq!(pgo::backup_objects(&d, &t).unwrap_err().kind(), ErrorKind::Invalid);
    t.storage.endpoint = None;
    let cluster = pgo::backup_objects(&d, &t).unwrap().remove(1);
    assert_eq!(
        cluster.body["spec"]["backups"]["pgbackrest"]["repos"][0]["s3"]["endpoint"],
        "s3.eu-west-1.amazonaws.com"
    );
}

#[test]
fn pxc_backups_point_the_storage_at_their_own_prefix() {
    let d = deployment(GroupType::Pxc, "my", "orders", 79);
    let t = target(&d, 0x2a);
    let objects = pxc::backup_objects(&d, &t).unwrap();
    let kinds: Vec<Kind> = objects.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [Kind::Secret, Kind::PerconaXtraDbCluster, Kind::PerconaXtraDbClusterBackup]);
    let storage = &objects[1].body["spec"]["backup"]["storages"][pxc::STORAGE];
    assert_eq!(storage["type"], "s3");
    assert_eq!(storage["s3"]["bucket"], format!("eyrie-backups/{}", t.prefix.trim_end_matches('/')));
    assert_eq!(storage["s3"]["credentialsSecret"], "my-orders-27-backup-s3");
    assert_eq!(storage["s3"]["endpointUrl"], "https://minio.acme.example:9000");
    assert_eq!(storage["s3"]["forcePathStyle"], true);
    assert_eq!(objects[1].body["spec"]["backup"]["image"], pxc::DEFAULT_BACKUP_IMAGE);
    assert_eq!(objects[2].body["spec"], json!({"pxcCluster": "my-orders-27", "storageName": pxc::STORAGE}));

    let s = source(&d, 0x2a, 0x99, &format!("{}my-orders-27-2026-01-01-00:00:00-full/", t.prefix));
    let restore = pxc::restore_objects(&d, &s).unwrap().remove(1);
    assert_eq!(restore.kind, Kind::PerconaXtraDbClusterRestore);
    assert_eq!(
        restore.body["spec"]["backupSource"]["destination"],
        format!("s3://eyrie-backups/{}my-orders-27-2026-01-01-00:00:00-full", t.prefix)
    );
    assert_eq!(restore.body["spec"]["backupSource"]["s3"]["bucket"], "eyrie-backups");
}

#[test]
fn progress_is_read_from_what_the_cluster_reports() {
    let job = |status: Value| json!({"metadata": {"name": "eyrie-backup-1"}, "status": status});
    assert_eq!(
        odoo::job_progress(&job(json!({"succeeded": 1})), &[], "p/"),
        Progress::Succeeded { location: "p/".into() }
    );
    assert!(matches!(odoo::job_progress(&job(json!({"active": 1})), &[], "p/"), Progress::Running(_)));
    let failed = job(
        json!({"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}),
    );
    let pod = json!({"status": {"initContainerStatuses": [{"name": "dump", "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "pg_dump: error: connection refused\n"}}}]}});
    assert_eq!(
        odoo::job_progress(&failed, &[pod], "p/"),
        Progress::Failed("Error: exit code 1: pg_dump: error: connection refused".into())
    );
    let Progress::Failed(reason) = odoo::job_progress(&failed, &[], "p/") else { panic!() };
    assert!(reason.contains("BackoffLimitExceeded"), "{reason}");

    let status = json!({"id": "bak-1", "finished": true, "succeeded": 1});
    assert_eq!(pgo::job_progress(Some(&status), "bak-2", "backup", "l/"), None);
    assert_eq!(
        pgo::job_progress(Some(&status), "bak-1", "backup", "l/"),
        Some(Progress::Succeeded { location: "l/".into() })
    );
    let status = json!({"id": "bak-1", "finished": true, "failed": 2});
    assert!(matches!(pgo::job_progress(Some(&status), "bak-1", "backup", "l/"), Some(Progress::Failed(_))));

    let d = deployment(GroupType::Pxc, "my", "orders", 79);
    let t = target(&d, 0x2a);
    let inside = format!("s3://eyrie-backups/{}x-full", t.prefix);
    let backup = json!({"status": {"state": "Succeeded", "destination": inside}});
    let location = format!("{}x-full/", t.prefix);
    assert_eq!(pxc::backup_progress(&backup, &t), Progress::Succeeded { location });
    let older = format!("s3://eyrie-backups/{}{:016x}/x-full", t.deployment_prefix, 0x29);
    let own = format!("s3://eyrie-backups/{}", t.prefix);
    for outside in ["s3://other/a/x-full", "s3://eyrie-backups/a/b/pxc/x-full", "s3://eyrie-backups/", &older, &own] {
        let elsewhere = json!({"status": {"state": "Succeeded", "destination": outside}});
        assert!(matches!(pxc::backup_progress(&elsewhere, &t), Progress::Failed(_)), "{outside}");
    }
    let failed = json!({"status": {"state": "Failed", "error": "xbcloud put: 403"}});
    assert_eq!(pxc::backup_progress(&failed, &t), Progress::Failed("xtrabackup failed: xbcloud put: 403".into()));
    assert!(matches!(pxc::restore_progress(&json!({"status": {"state": "Restoring"}})), Progress::Running(_)));
}

#[test]
fn bad_storage_and_foreign_backups_are_refused_before_anything_is_rendered() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let mut t = target(&d, 1);
    t.storage.bucket = "bucket/../other".into();
    assert_eq!(odoo::backup_objects(&d, &t).unwrap_err().kind(), ErrorKind::Invalid);
    let mut t = target(&d, 1);
    t.storage.secret_access_key = eyrie_core::SecretString::new("line\nbreak");
    let err = odoo::backup_objects(&d, &t).unwrap_err();
    assert!(!err.to_string().contains("line\nbreak"), "{err}");

    let mut s = source(&d, 1, 2, "ns/dep/bak/");
    s.object_keys = vec!["ns/dep/bak/dump.sql".into()];
    assert_eq!(odoo::restore_objects(&d, &s).unwrap_err().kind(), ErrorKind::Invalid);
    s.object_keys = vec!["ns/dep/bak/db.dump".into(), "ns/dep/bak/filestore.tar.gz".into()];
    odoo::restore_objects(&d, &s).unwrap();

    let refusal = backups::refused(GroupType::None, "backup");
    assert!(!refusal.is_retryable() && refusal.to_string().contains("none"), "{refusal}");
}
