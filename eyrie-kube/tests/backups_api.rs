//! The API conversations of backups and restores, scripted with `tower-test`
//! behind a real `kube::Client`: the first call creates (→ running), a later
//! call reads a finished status (→ succeeded with the location, or failed
//! with the reason), and nothing is written once the operation exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eyrie_core::executor::{ClusterExecutor, Progress};
use eyrie_core::{ErrorKind, GroupType};
use eyrie_kube::Kind;
use eyrie_kube::backups::{self, pgo, pxc};
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use serde_json::{Value, json};
use support::server::{Exchange, list};
use support::{SECRET_KEY, access, deployment, source, target};

use support::conversation::{collection, lines, live_cluster, missing, path, run, writes_are_backup_applies};

#[tokio::test]
async fn odoo_backup_creates_a_job_then_reports_it() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let t = target(&d, 0x2a);
    let job = path(Kind::Job, &d, "eyrie-backup-000000000000002a");
    let secret = path(Kind::Secret, &d, "erp-shop-25-backup-s3");

    // First call: nothing there yet, so the Secret and the Job are applied.
    let script = vec![
        Exchange::get(&job, 404, missing()),
        Exchange::patch(&secret, 201, json!({})),
        Exchange::patch(&job, 201, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);
    let secret_body = seen[1].body.as_ref().unwrap();
    assert_eq!(secret_body["kind"], "Secret");
    let job_body = seen[2].body.as_ref().unwrap().to_string();
    assert!(!job_body.contains(SECRET_KEY), "the Job holds the secret key");
    assert!(job_body.contains("secretKeyRef"), "{job_body}");

    // Still running: read only.
    let running = json!({"metadata": {"name": "eyrie-backup-000000000000002a"}, "status": {"active": 1}});
    let (result, seen) =
        run(vec![Exchange::get(&job, 200, running)], async |x| x.backup(&access(), &d, &t).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    assert_eq!(seen.len(), 1);

    // Succeeded: the backup's prefix is its location.
    let done = json!({"metadata": {"name": "eyrie-backup-000000000000002a"}, "status": {"succeeded": 1}});
    let (result, seen) = run(vec![Exchange::get(&job, 200, done)], async |x| x.backup(&access(), &d, &t).await).await;
    assert_eq!(result.unwrap(), Progress::Succeeded { location: t.prefix.clone() });
    assert!(seen.iter().all(|s| !s.is_write()));
}

#[tokio::test]
async fn an_odoo_job_whose_pod_failed_reports_the_pods_reason() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let t = target(&d, 0x2a);
    let name = "eyrie-backup-000000000000002a";
    let failed = json!({"metadata": {"name": name}, "status": {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
    let pod = json!({"metadata": {"name": format!("{name}-x7k2p"), "namespace": d.namespace}, "status": {"phase": "Failed",
        "initContainerStatuses": [{"name": "dump", "state": {"terminated": {"exitCode": 1, "reason": "Error",
            "message": "pg_dump: error: connection to server at \"db\" failed: FATAL:  password authentication failed\n"}}}],
        "containerStatuses": [{"name": "upload", "state": {"waiting": {"reason": "PodInitializing"}}}]}});
    let script = vec![
        Exchange::get(&path(Kind::Job, &d, name), 200, failed),
        Exchange::get(&collection(Kind::Pod, &d.namespace), 200, list("Pod", vec![pod])),
    ];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    assert_eq!(
        result.unwrap(),
        Progress::Failed(
            "Error: exit code 1: pg_dump: error: connection to server at \"db\" failed: FATAL:  password authentication failed"
                .into()
        )
    );
    assert_eq!(seen[1].query["labelSelector"], format!("job-name={name}"));
    assert!(seen.iter().all(|s| !s.is_write()));
}

#[tokio::test]
async fn odoo_restore_runs_the_reverse_job() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let other = deployment(GroupType::Odoo, "erp", "stage", 70);
    let s = source(&other, 0x2a, 0x99, &target(&other, 0x2a).prefix);
    let job = path(Kind::Job, &d, "eyrie-restore-0000000000000099");
    let secret = path(Kind::Secret, &d, "erp-shop-25-backup-s3");
    let script = vec![
        Exchange::get(&job, 404, missing()),
        Exchange::patch(&secret, 201, json!({})),
        Exchange::patch(&job, 201, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.restore(&access(), &d, &s).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);
    let body = seen[2].body.as_ref().unwrap();
    assert_eq!(body["spec"]["template"]["spec"]["containers"][0]["name"], "load");

    let done = json!({"metadata": {"name": "eyrie-restore-0000000000000099"}, "status": {"succeeded": 1}});
    let (result, _) = run(vec![Exchange::get(&job, 200, done)], async |x| x.restore(&access(), &d, &s).await).await;
    assert_eq!(result.unwrap(), Progress::Succeeded { location: String::new() });
}

#[tokio::test]
async fn pgo_backup_sets_the_manual_section_then_reads_the_operators_status() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let t = target(&d, 0x2a);
    let cluster = live_cluster(&d);
    let cluster_path = path(Kind::PostgresCluster, &d, &cluster.name);
    let secret = path(Kind::Secret, &d, "db-main-26-backup-s3");

    let script = vec![
        Exchange::get(&cluster_path, 200, cluster.body.clone()),
        Exchange::patch(&secret, 200, json!({})),
        Exchange::patch(&cluster_path, 200, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);
    let patch = seen[2].body.as_ref().unwrap();
    assert_eq!(patch["metadata"]["annotations"][pgo::BACKUP_ANNOTATION], "bak-000000000000002a");
    assert_eq!(patch["spec"]["backups"]["pgbackrest"]["manual"]["repoName"], "repo1");
    assert!(patch["spec"].get("instances").is_none(), "only the backup fields are applied");
    assert!(!patch.to_string().contains(SECRET_KEY));

    // Annotated, the operator has not picked it up yet (an older backup's status): running, no write.
    let mut requested = cluster.body.clone();
    requested["metadata"]["annotations"][pgo::BACKUP_ANNOTATION] = json!("bak-000000000000002a");
    requested["status"] =
        json!({"pgbackrest": {"manualBackup": {"id": "bak-0000000000000001", "finished": true, "succeeded": 1}}});
    let (result, seen) =
        run(vec![Exchange::get(&cluster_path, 200, requested.clone())], async |x| x.backup(&access(), &d, &t).await)
            .await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    assert_eq!(seen.len(), 1);

    requested["status"] =
        json!({"pgbackrest": {"manualBackup": {"id": "bak-000000000000002a", "finished": true, "succeeded": 1}}});
    let (result, _) =
        run(vec![Exchange::get(&cluster_path, 200, requested.clone())], async |x| x.backup(&access(), &d, &t).await)
            .await;
    assert_eq!(result.unwrap(), Progress::Succeeded { location: pgo::repo_location(&t.deployment_prefix) });

    requested["status"] =
        json!({"pgbackrest": {"manualBackup": {"id": "bak-000000000000002a", "finished": true, "failed": 1}}});
    let (result, _) =
        run(vec![Exchange::get(&cluster_path, 200, requested)], async |x| x.backup(&access(), &d, &t).await).await;
    assert!(matches!(result.unwrap(), Progress::Failed(_)));

    // A paused deployment: failed, nothing written.
    let paused = render(&d, Run::Paused, &DeploymentSecrets::none()).unwrap().objects.remove(0);
    let (result, seen) =
        run(vec![Exchange::get(&cluster_path, 200, paused.body)], async |x| x.backup(&access(), &d, &t).await).await;
    let Progress::Failed(reason) = result.unwrap() else { panic!("a shut-down cluster cannot be backed up") };
    assert!(reason.contains("shut down"), "{reason}");
    assert_eq!(seen.len(), 1);

    // Not deployed: an error, and no partial cluster is created.
    let (result, seen) =
        run(vec![Exchange::get(&cluster_path, 404, missing())], async |x| x.backup(&access(), &d, &t).await).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn pgo_restore_sets_the_restore_section_then_reads_the_operators_status() {
    let d = deployment(GroupType::Pgo, "db", "main", 78);
    let t = target(&d, 0x2a);
    let s = source(&d, 0x2a, 0x99, &pgo::repo_location(&t.deployment_prefix));
    let cluster = live_cluster(&d);
    let cluster_path = path(Kind::PostgresCluster, &d, &cluster.name);
    let script = vec![
        Exchange::get(&cluster_path, 200, cluster.body.clone()),
        Exchange::patch(&path(Kind::Secret, &d, "db-main-26-backup-s3"), 200, json!({})),
        Exchange::patch(&cluster_path, 200, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.restore(&access(), &d, &s).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);
    let patch = seen[2].body.as_ref().unwrap();
    assert_eq!(patch["metadata"]["annotations"][pgo::RESTORE_ANNOTATION], "job-0000000000000099");
    assert_eq!(patch["spec"]["backups"]["pgbackrest"]["restore"]["enabled"], true);

    let mut restoring = cluster.body.clone();
    restoring["metadata"]["annotations"][pgo::RESTORE_ANNOTATION] = json!("job-0000000000000099");
    restoring["status"] =
        json!({"pgbackrest": {"restore": {"id": "job-0000000000000099", "finished": false, "active": 1}}});
    let (result, _) =
        run(vec![Exchange::get(&cluster_path, 200, restoring.clone())], async |x| x.restore(&access(), &d, &s).await)
            .await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    restoring["status"] =
        json!({"pgbackrest": {"restore": {"id": "job-0000000000000099", "finished": true, "succeeded": 1}}});
    let (result, seen) =
        run(vec![Exchange::get(&cluster_path, 200, restoring)], async |x| x.restore(&access(), &d, &s).await).await;
    assert_eq!(result.unwrap(), Progress::Succeeded { location: String::new() });
    assert!(seen.iter().all(|s| !s.is_write()));

    // Another deployment's backup: refused before any request.
    let other = deployment(GroupType::Pgo, "db", "other", 79);
    let foreign = source(&other, 1, 0x98, &pgo::repo_location(&support::deployment_prefix(&other)));
    let (result, seen) = run(vec![], async |x| x.restore(&access(), &d, &foreign).await).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert!(seen.is_empty());
}

#[tokio::test]
async fn pxc_backup_adds_the_storage_and_a_backup_resource() {
    let d = deployment(GroupType::Pxc, "my", "orders", 79);
    let t = target(&d, 0x2a);
    let cluster = live_cluster(&d);
    let backup = path(Kind::PerconaXtraDbClusterBackup, &d, "eyrie-backup-000000000000002a");
    let cluster_path = path(Kind::PerconaXtraDbCluster, &d, &cluster.name);
    let script = vec![
        Exchange::get(&backup, 404, missing()),
        Exchange::get(&cluster_path, 200, cluster.body.clone()),
        Exchange::patch(&path(Kind::Secret, &d, "my-orders-27-backup-s3"), 201, json!({})),
        Exchange::patch(&cluster_path, 200, json!({})),
        Exchange::patch(&backup, 201, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);
    assert_eq!(seen[3].body.as_ref().unwrap()["spec"]["backup"]["storages"][pxc::STORAGE]["type"], "s3");
    assert_eq!(seen[4].body.as_ref().unwrap()["spec"]["storageName"], pxc::STORAGE);

    let destination = format!("s3://eyrie-backups/{}my-orders-27-2026-01-01-00:00:00-full", t.prefix);
    let done = json!({"metadata": {"name": "eyrie-backup-000000000000002a"}, "status": {"state": "Succeeded", "destination": destination}});
    let (result, seen) =
        run(vec![Exchange::get(&backup, 200, done)], async |x| x.backup(&access(), &d, &t).await).await;
    assert_eq!(
        result.unwrap(),
        Progress::Succeeded { location: format!("{}my-orders-27-2026-01-01-00:00:00-full/", t.prefix) }
    );
    assert_eq!(seen.len(), 1);

    // A paused cluster: failed, nothing written.
    let paused = render(&d, Run::Paused, &DeploymentSecrets::none()).unwrap().objects.remove(0);
    let script = vec![Exchange::get(&backup, 404, missing()), Exchange::get(&cluster_path, 200, paused.body)];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    let Progress::Failed(reason) = result.unwrap() else { panic!("a paused cluster cannot be backed up") };
    assert!(reason.contains("paused"), "{reason}");
    assert!(seen.iter().all(|s| !s.is_write()));

    // No cluster: nothing is created.
    let script = vec![Exchange::get(&backup, 404, missing()), Exchange::get(&cluster_path, 404, missing())];
    let (result, seen) = run(script, async |x| x.backup(&access(), &d, &t).await).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(seen.iter().all(|s| !s.is_write()));
}

#[tokio::test]
async fn pxc_restore_creates_a_restore_resource_then_reads_its_state() {
    let d = deployment(GroupType::Pxc, "my", "orders", 79);
    let location = format!("{}my-orders-27-2026-01-01-00:00:00-full/", target(&d, 0x2a).prefix);
    let s = source(&d, 0x2a, 0x99, &location);
    let cluster = live_cluster(&d);
    let restore = path(Kind::PerconaXtraDbClusterRestore, &d, "eyrie-restore-0000000000000099");
    let script = vec![
        Exchange::get(&restore, 404, missing()),
        Exchange::get(&path(Kind::PerconaXtraDbCluster, &d, &cluster.name), 200, cluster.body.clone()),
        Exchange::patch(&path(Kind::Secret, &d, "my-orders-27-backup-s3"), 201, json!({})),
        Exchange::patch(&restore, 201, json!({})),
    ];
    let (result, seen) = run(script, async |x| x.restore(&access(), &d, &s).await).await;
    assert!(matches!(result.unwrap(), Progress::Running(_)));
    writes_are_backup_applies(&seen);

    let failed = json!({"status": {"state": "Failed", "comments": "xbcloud get: access denied"}});
    let (result, _) =
        run(vec![Exchange::get(&restore, 200, failed)], async |x| x.restore(&access(), &d, &s).await).await;
    assert_eq!(result.unwrap(), Progress::Failed("restore failed: xbcloud get: access denied".into()));
    let done = json!({"status": {"state": "Succeeded"}});
    let (result, _) = run(vec![Exchange::get(&restore, 200, done)], async |x| x.restore(&access(), &d, &s).await).await;
    assert_eq!(result.unwrap(), Progress::Succeeded { location: String::new() });
}

#[tokio::test]
async fn none_is_refused_before_any_request() {
    let d = deployment(GroupType::None, "apps", "api", 80);
    let t = target(&d, 1);
    let (result, seen) = run(vec![], async |x| x.backup(&access(), &d, &t).await).await;
    let err = result.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Backend, false), "{err}");
    assert!(err.to_string().contains("none"), "{err}");
    let s = source(&d, 1, 2, &t.prefix);
    let (result, _) = run(vec![], async |x| x.restore(&access(), &d, &s).await).await;
    assert!(!result.unwrap_err().is_retryable());
    assert!(seen.is_empty());
}

#[tokio::test]
async fn a_reconcile_leaves_backup_objects_alone() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let objects = render(&d, Run::Running, &DeploymentSecrets::none()).unwrap().objects;
    let storage_secret = backups::odoo::backup_objects(&d, &target(&d, 1)).unwrap().remove(0);
    let script: Vec<Exchange> = Kind::owned_by(GroupType::Odoo)
        .iter()
        .map(|kind| {
            let mut items: Vec<Value> = objects.iter().filter(|o| o.kind == *kind).map(|o| o.body.clone()).collect();
            if *kind == Kind::Secret {
                items.push(storage_secret.body.clone());
            }
            Exchange::get(&collection(*kind, &d.namespace), 200, list(kind.kind(), items))
        })
        .collect();
    let (result, seen) = run(script, async |x| x.apply(&access(), &d).await).await;
    result.unwrap();
    assert!(seen.iter().all(|s| !s.is_write()), "{:?}", lines(&seen));
}

#[tokio::test]
async fn only_pgo_declares_it_cannot_restore_across_deployments() {
    let (result, seen) = run(vec![], async |x| {
        Ok([GroupType::Odoo, GroupType::Pgo, GroupType::Pxc, GroupType::None].map(|t| x.restores_across_deployments(t)))
    })
    .await;
    assert_eq!(result.unwrap(), [true, false, true, true], "the engine refuses up front what pgo would refuse later");
    assert!(seen.is_empty(), "a question, not a request");
}
