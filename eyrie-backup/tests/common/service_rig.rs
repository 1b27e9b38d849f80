//! The service and the job engine over a real S3 server: a test executor
//! that writes each backup into the bucket the way the Kubernetes Job does
//! (with the credentials it is given), and a tenant whose dev scope sends
//! its backups there.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use eyrie_backup::{ObjectKey, S3Objects};
use eyrie_core::executor::{BackupTarget, ClusterAccess, ClusterExecutor, DesiredDeployment, Progress, RestoreSource};
use eyrie_core::jobs::HandlerRegistry;
use eyrie_core::service::NewDatasource;
use eyrie_core::storage::StoreExt;
use eyrie_core::{
    Backup, Datasource, DeploymentId, Engine, EngineConfig, Eyrie, JobAction, ObservedState, Result, SecretString,
};
use eyrie_testkit::fixtures::{Tenant, typical_tenant};
use eyrie_testkit::{MemoryStore, RecordingExecutor};

use super::{ACCESS_KEY_ID, BUCKET, S3Server, SECRET_ACCESS_KEY, body, options};

/// Runs deployments with the recording fake; takes backups by uploading a
/// dump of `DUMP_BYTES` to `<prefix>db.dump` with the target's credentials.
#[derive(Debug, Clone)]
pub struct Uploading {
    inner: RecordingExecutor,
    objects: S3Objects,
}

pub const DUMP_BYTES: usize = 9_000;

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

pub struct Rig {
    pub t: Tenant,
    pub eyrie: Eyrie,
    pub engine: Engine,
    pub server: S3Server,
}

pub async fn rig(credentials: &str) -> Rig {
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
    Rig { t, eyrie, engine, server }
}

pub fn right_credentials() -> String {
    format!("{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}")
}

impl Rig {
    pub async fn take(&self, d: DeploymentId) -> Backup {
        let job = self.engine.backup_now(self.t.developer, d).await.unwrap();
        self.engine.run_until_idle().await.unwrap();
        let id = job.parameters["backup"].parse().unwrap();
        self.t.store.fetch::<Backup>(id).await.unwrap().value
    }

    pub async fn bucket_keys(&self) -> Vec<String> {
        let storage = eyrie_core::executor::ObjectStorage {
            endpoint: Some(self.server.endpoint.clone()),
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
