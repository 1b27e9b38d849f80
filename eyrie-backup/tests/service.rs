//! Backups end to end against a real S3-compatible server (s3s-fs with
//! signature checks, in-process on loopback): the service and the job engine
//! of `eyrie-core`, this crate's [`S3Objects`] for verification, retention
//! and download URLs, and a test executor that writes each backup into the
//! bucket the way the Kubernetes Job does (with the credentials it is given).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{ACCESS_KEY_ID, BUCKET, S3Server, SECRET_ACCESS_KEY, body, bounded, options};
use eyrie_backup::{ObjectKey, S3Objects};
use eyrie_core::executor::{BackupTarget, ClusterAccess, ClusterExecutor, DesiredDeployment, Progress, RestoreSource};
use eyrie_core::jobs::HandlerRegistry;
use eyrie_core::service::{NewDatasource, NewUser};
use eyrie_core::storage::StoreExt;
use eyrie_core::{
    Actor, Backup, BackupId, BackupState, Datasource, DeploymentId, Engine, EngineConfig, ErrorKind, Eyrie, JobAction,
    JobState, ObservedState, Result, SecretString,
};
use eyrie_testkit::fixtures::{Tenant, typical_tenant};
use eyrie_testkit::{MemoryStore, RecordingExecutor};

/// Runs deployments with the recording fake; takes backups by uploading a
/// dump of `DUMP_BYTES` to `<prefix>db.dump` with the target's credentials.
#[derive(Debug, Clone)]
struct Uploading {
    inner: RecordingExecutor,
    objects: S3Objects,
}

const DUMP_BYTES: usize = 9_000;

#[async_trait]
impl ClusterExecutor for Uploading {
    async fn ensure_namespace(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.inner.ensure_namespace(c, d).await
    }
    async fn apply(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.inner.apply(c, d).await
    }
    async fn pause(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.inner.pause(c, d).await
    }
    async fn resume(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.inner.resume(c, d).await
    }
    async fn remove(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.inner.remove(c, d).await
    }
    async fn observe(&self, c: &ClusterAccess, d: &DesiredDeployment) -> Result<ObservedState> {
        self.inner.observe(c, d).await
    }
    async fn backup(&self, _: &ClusterAccess, d: &DesiredDeployment, target: &BackupTarget) -> Result<Progress> {
        let key = ObjectKey::parse(&format!("{}db.dump", target.prefix))?;
        let store = self.objects.open(&target.storage)?;
        match store.upload(&key, &body(DUMP_BYTES, d.deployment_id.0)[..]).await {
            Ok(_) => Ok(Progress::Succeeded { location: target.prefix.clone() }),
            // What a Job's pod reports when its upload is refused.
            Err(e) => Ok(Progress::Failed(format!("upload refused: {e}"))),
        }
    }
    async fn restore(&self, c: &ClusterAccess, d: &DesiredDeployment, source: &RestoreSource) -> Result<Progress> {
        self.inner.restore(c, d, source).await
    }
}

struct Rig {
    t: Tenant,
    eyrie: Eyrie,
    engine: Engine,
    _server: S3Server,
}

async fn rig(credentials: &str) -> Rig {
    let server = S3Server::start().await;
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let objects = S3Objects::new(options());
    let eyrie = t.eyrie.clone().with_backup_objects(Arc::new(objects.clone()));
    let input = NewDatasource::new(
        "Backups".parse().unwrap(),
        eyrie_core::DataType::S3like,
        eyrie_core::DatasourceUsage::RemoteBackup,
    )
    .with_endpoint(server.endpoint.parse().unwrap())
    .with_bucket(BUCKET.to_owned())
    .with_credentials(SecretString::new(credentials));
    let ds: Datasource = eyrie.create_datasource(t.admin, t.project.id, input).await.unwrap();
    let config = eyrie_core::model::ScopeConfigPatch::default()
        .with_backup_dest_datasource(Some(ds.id))
        .with_backup_retention(eyrie_core::backups::retention::RetentionPolicy::new(2, 0, 0, 30 * 86_400))
        .with_deployment_pause_after_seconds(None)
        .with_deployment_drop_after_seconds(None);
    let patch = eyrie_core::service::ScopePatch::default().with_config(config);
    eyrie.update_scope(t.owner, t.dev.id, patch).await.unwrap();
    let executor = Uploading { inner: RecordingExecutor::new(), objects };
    let handlers = HandlerRegistry::with_executor(Arc::new(executor));
    let engine = Engine::new(eyrie.clone(), handlers, EngineConfig::default());
    for action in [JobAction::Initialize, JobAction::Deploy] {
        engine.submit(t.owner, t.sandbox.id, action, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }
    Rig { t, eyrie, engine, _server: server }
}

fn right_credentials() -> String {
    format!("{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}")
}

impl Rig {
    async fn take(&self, d: DeploymentId) -> Backup {
        let job = self.engine.backup_now(self.t.developer, d).await.unwrap();
        self.engine.run_until_idle().await.unwrap();
        let id = job.parameters["backup"].parse().unwrap();
        self.t.store.fetch::<Backup>(id).await.unwrap().value
    }

    async fn bucket_keys(&self) -> Vec<String> {
        let storage = eyrie_core::executor::ObjectStorage {
            endpoint: Some(self._server.endpoint.clone()),
            region: "us-east-1".into(),
            bucket: BUCKET.into(),
            path_style: true,
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: SecretString::new(SECRET_ACCESS_KEY),
        };
        let store = S3Objects::new(options()).open(&storage).unwrap();
        store.list_prefix("").await.unwrap().into_iter().map(|o| o.key).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_uploaded_verified_recorded_and_downloaded_through_a_presigned_url() {
    bounded("backup and download", async {
        let g = rig(&right_credentials()).await;
        let d = g.t.sandbox.id;
        let b = g.take(d).await;
        assert_eq!(b.state, BackupState::Done, "{:?}", b.error);
        assert_eq!(b.size_bytes, Some(DUMP_BYTES as u64), "the size the bucket reports");
        assert!(b.checksum.as_deref().unwrap().starts_with("etag:"), "{:?}", b.checksum);
        assert_eq!(g.bucket_keys().await, b.object_keys);

        let links = g.eyrie.download_urls(g.t.developer, b.id, Some(Duration::from_secs(60))).await.unwrap();
        assert_eq!(links.len(), 1);
        let reply = reqwest::get(&links[0].url).await.unwrap();
        assert_eq!(reply.status(), 200);
        assert!(reply.bytes().await.unwrap()[..] == body(DUMP_BYTES, d.0)[..], "the bytes the job uploaded");

        // A one-second URL is refused once it expired (bounded poll).
        let short = g.eyrie.download_urls(g.t.developer, b.id, Some(Duration::from_secs(1))).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let refused = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let reply = reqwest::get(&short[0].url).await.unwrap();
            if reply.status() != 200 {
                break reply;
            }
            assert!(std::time::Instant::now() < deadline, "a 1 s URL was still accepted after 15 s");
        };
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("expired"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_url_is_issued_for_another_tenants_backup() {
    bounded("tenancy", async {
        let g = rig(&right_credentials()).await;
        let b = g.take(g.t.sandbox.id).await;
        let zoe = NewUser::new("Zoe".parse().unwrap(), "zoe@zulu.example".parse().unwrap());
        let zoe = g.t.eyrie.actor(g.t.eyrie.register_user(Actor::System, zoe).await.unwrap().id).await.unwrap();
        let e = g.eyrie.download_urls(zoe, b.id, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = g.eyrie.download_urls(zoe, BackupId(0x0dd0dd), None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "answered like a missing id: {e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_the_job_with_a_clear_error_and_leave_no_done_record() {
    bounded("wrong credentials", async {
        let g = rig(&format!("{ACCESS_KEY_ID}:not-the-secret")).await;
        let job = g.engine.backup_now(g.t.developer, g.t.sandbox.id).await.unwrap();
        g.engine.run_until_idle().await.unwrap();
        let job = g.engine.get_job(g.t.owner, job.id).await.unwrap();
        assert_eq!(job.state, JobState::Error);
        let why = job.error.clone().unwrap();
        assert!(why.contains("credentials"), "the error says the credentials were refused: {why}");
        assert!(!why.contains("not-the-secret"), "and never shows them: {why}");
        let b: Backup = g.t.store.fetch(job.parameters["backup"].parse().unwrap()).await.unwrap().value;
        assert_eq!(b.state, BackupState::Error);
        assert!(g.bucket_keys().await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_expired_backups_objects() {
    bounded("retention", async {
        let g = rig(&right_credentials()).await;
        let d = g.t.sandbox.id;
        let other = g.take(d).await; // a manual one, kept for 30 days
        let mut daily = Vec::new();
        for _ in 0..4 {
            g.t.clock.advance_seconds(86_400);
            let params = BTreeMap::from([("schedule".to_owned(), "daily".to_owned())]);
            let job = g.engine.submit(Actor::System, d, JobAction::Backup, params).await.unwrap();
            g.engine.run_until_idle().await.unwrap();
            let b: Backup = g.t.store.fetch(job.parameters["backup"].parse().unwrap()).await.unwrap().value;
            assert_eq!(b.state, BackupState::Done, "{:?}", b.error);
            daily.push(b);
        }
        let now = eyrie_core::Clock::now(&*g.t.clock);
        let report = g.engine.tick(now).await.unwrap();
        assert_eq!(report.backups_expired, 2, "{report:?}");
        let mut kept: Vec<String> = [&other, &daily[2], &daily[3]].iter().flat_map(|b| b.object_keys.clone()).collect();
        kept.sort();
        assert_eq!(g.bucket_keys().await, kept, "exactly the two oldest daily backups' objects are gone");
        for b in &daily[..2] {
            let now: Backup = g.t.store.fetch(b.id.0).await.unwrap().value;
            assert_eq!(now.state, BackupState::Expired);
        }
    })
    .await;
}
