//! Datasources (their secrets sealed) and key rotation of every stored secret.

use super::{Eyrie, allow};
use crate::error::{Error, Result};
use crate::ids::{DatasourceId, ProjectId};
use crate::model::{Cluster, ClusterConnection, DataType, Datasource, DatasourceUsage};
use crate::permission::{Action, Actor, Resource};
use crate::secret::{SealedSecret, SecretString};
use crate::storage::{EntityKind, Index, RecordKey, StoreExt, Transaction};
use crate::validate::{Name, Url, ValidationError};

/// What a new datasource needs; secrets in plaintext, sealed before storing.
/// Build it with [`NewDatasource::new`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDatasource {
    /// Display name.
    pub name: Name,
    /// S3-like or database.
    pub data_type: DataType,
    /// What it is for.
    pub usage: DatasourceUsage,
    /// Endpoint (S3-like).
    pub endpoint: Option<Url>,
    /// Bucket (S3-like).
    pub bucket: Option<String>,
    /// Signing region (S3-like); `us-east-1` when unset. 1–32 characters of
    /// `a-z`, `0-9` and `-`.
    pub region: Option<String>,
    /// Path-style addressing (S3-like); see [`Datasource::path_style`].
    pub path_style: Option<bool>,
    /// Connection string (database).
    pub connection: Option<SecretString>,
    /// Credentials.
    pub credentials: Option<SecretString>,
}

impl NewDatasource {
    /// A datasource named `name` of `data_type` for `usage`, with no
    /// endpoint, bucket, connection string or credentials yet.
    pub fn new(name: Name, data_type: DataType, usage: DatasourceUsage) -> Self {
        NewDatasource {
            name,
            data_type,
            usage,
            endpoint: None,
            bucket: None,
            region: None,
            path_style: None,
            connection: None,
            credentials: None,
        }
    }

    /// With this endpoint (S3-like).
    pub fn with_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// With this bucket (S3-like).
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// With this signing region (S3-like).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Path-style (`true`) or virtual-hosted (`false`) addressing (S3-like).
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = Some(path_style);
        self
    }

    /// With this connection string (database), in plaintext.
    pub fn with_connection(mut self, connection: SecretString) -> Self {
        self.connection = Some(connection);
        self
    }

    /// With these credentials, in plaintext.
    pub fn with_credentials(mut self, credentials: SecretString) -> Self {
        self.credentials = Some(credentials);
        self
    }
}

/// An S3 bucket name: 3–63 characters of `a-z`, `0-9`, `.` and `-`,
/// beginning and ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), ValidationError> {
    let edge_ok = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge_ok(bucket.bytes().next())
        && edge_ok(bucket.bytes().last());
    if ok {
        Ok(())
    } else {
        Err(ValidationError::field(
            "bucket",
            bucket,
            "must be 3-63 characters of a-z, 0-9, '.', '-', beginning and ending with a letter or digit",
        ))
    }
}

/// A signing region: 1–32 characters of `a-z`, `0-9` and `-`.
fn check_region(region: &str) -> Result<(), ValidationError> {
    let ok = (1..=32).contains(&region.len())
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(ValidationError::field("region", region, "must be 1-32 characters of a-z, 0-9, '-'")) }
}

pub(crate) fn context(id: DatasourceId, field: &str) -> String {
    format!("datasource/{}/{field}", id.0)
}

impl Eyrie {
    /// Adds a datasource to a project (admins). Its secrets are sealed.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project), err(level = "debug", Display))]
    pub async fn create_datasource(
        &self,
        actor: Actor,
        project: ProjectId,
        input: NewDatasource,
    ) -> Result<Datasource> {
        let actor = self.identify(actor).await?;
        if let Some(bucket) = &input.bucket {
            check_bucket(bucket)?;
        }
        if let Some(region) = &input.region {
            check_region(region)?;
        }
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            allow(actor, Action::ManageDatasources, &access.resource())?;
            let id = DatasourceId(self.next_id());
            let seal = |s: &Option<SecretString>, field| {
                s.as_ref().map(|s| self.sealer.seal(s, &context(id, field))).transpose()
            };
            let ds = Datasource {
                id,
                project_id: project,
                name: input.name.clone(),
                data_type: input.data_type,
                usage: input.usage,
                endpoint: input.endpoint.clone(),
                bucket: input.bucket.clone(),
                region: input.region.clone(),
                path_style: input.path_style,
                connection: seal(&input.connection, "connection")?,
                credentials: seal(&input.credentials, "credentials")?,
                created_at: self.now(),
            };
            let tx = access.pinned().create(ds.clone());
            self.commit(tx, self.audit(actor, Some(project), "datasource.create", id)).await?;
            Ok(ds)
        })
        .await
    }

    /// The datasources of a project. Those who may open their secrets
    /// ([`Action::ManageDatasources`]) get them sealed; other members get
    /// `connection` and `credentials` as `None`.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project), err(level = "debug", Display))]
    pub async fn list_datasources(&self, actor: Actor, project: ProjectId) -> Result<Vec<Datasource>> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, project, None, None).await?;
        allow(actor, Action::ReadProject, &access.resource())?;
        let may_open = crate::permission::explain(actor, Action::ManageDatasources, &access.resource()).allowed;
        Ok(self
            .store
            .children::<Datasource>(Index::ProjectDatasources(project))
            .await?
            .into_iter()
            .map(|v| {
                let mut ds = v.value;
                if !may_open {
                    ds.connection = None;
                    ds.credentials = None;
                }
                ds
            })
            .collect())
    }

    /// Opens a datasource's credentials for its consumer (admins only).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn open_datasource_credentials(&self, actor: Actor, id: DatasourceId) -> Result<Option<SecretString>> {
        let actor = self.identify(actor).await?;
        let ds = self.store.fetch::<Datasource>(id.0).await?.value;
        let named = RecordKey::new(EntityKind::Datasource, id.0);
        let access = self.project_access(actor, ds.project_id, None, None).await.map_err(super::as_seen(named))?;
        allow(actor, Action::ManageDatasources, &access.resource())?;
        ds.credentials.as_ref().map(|s| self.sealer.open(s, &context(id, "credentials"))).transpose()
    }

    /// Deletes a datasource (admins). Refused while a scope names it as its
    /// `backup_dest_datasource`, or while a backup that is not `expired`
    /// is stored in it: those objects would become unreachable.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn delete_datasource(&self, actor: Actor, id: DatasourceId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let read = self.store.fetch::<Datasource>(id.0).await?;
            let named = RecordKey::new(EntityKind::Datasource, id.0);
            let project = read.value.project_id;
            let access = self.project_access(actor, project, None, None).await.map_err(super::as_seen(named))?;
            allow(actor, Action::ManageDatasources, &access.resource())?;
            let mut tx = access.pinned();
            for group in self.store.children::<crate::model::DeploymentGroup>(Index::ProjectGroups(project)).await? {
                for scope in self.store.children::<crate::model::Scope>(Index::GroupScopes(group.value.id)).await? {
                    if scope.value.backup_dest_datasource == Some(id) {
                        return Err(Error::policy(format!(
                            "datasource {id} is the backup destination of scope {}; change the scope first",
                            scope.value.code
                        )));
                    }
                    tx = tx.unchanged(&scope);
                }
            }
            let backups = self.store.children::<crate::model::Backup>(Index::DatasourceBackups(id)).await?;
            let live = backups.iter().filter(|b| b.value.state != crate::model::BackupState::Expired).count();
            if live > 0 {
                return Err(Error::policy(format!(
                    "datasource {id} still holds {live} backup(s) that are not expired; it cannot be deleted"
                )));
            }
            for b in &backups {
                tx = tx.unchanged(b);
            }
            let tx = tx
                .check(crate::storage::Check::Count {
                    index: Index::DatasourceBackups(id),
                    count: backups.len() as u64,
                })
                .delete(&read);
            self.commit(tx, self.audit(actor, Some(project), "datasource.delete", id)).await
        })
        .await
    }

    /// Re-seals every stored secret that is not under the active key
    /// (cluster kubeconfigs, datasource credentials and connection strings),
    /// one record per transaction. Returns how many records changed.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn reseal_all(&self, actor: Actor) -> Result<usize> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ManageGlobalResources, &Resource::Global)?;
        let reseal = |sealed: &SealedSecret, ctx: &str| -> Result<SealedSecret> {
            self.sealer.seal(&self.sealer.open(sealed, ctx)?, ctx)
        };
        let mut changed = 0;
        for read in self.store.all::<Cluster>().await? {
            if let ClusterConnection::Kubeconfig(sealed) = &read.value.connection
                && !self.sealer.is_current(sealed)
            {
                let mut c = read.value.clone();
                let ctx = format!("cluster/{}/kubeconfig", c.id.0);
                c.connection = ClusterConnection::Kubeconfig(reseal(sealed, &ctx)?);
                self.commit(
                    Transaction::new().update(&read, c),
                    self.audit(actor, None, "secret.reseal", read.value.id),
                )
                .await?;
                changed += 1;
            }
        }
        for read in self.store.all::<Datasource>().await? {
            let stale = |s: &Option<SealedSecret>| s.as_ref().is_some_and(|s| !self.sealer.is_current(s));
            if stale(&read.value.connection) || stale(&read.value.credentials) {
                let mut ds = read.value.clone();
                let id = ds.id;
                ds.connection = ds.connection.as_ref().map(|s| reseal(s, &context(id, "connection"))).transpose()?;
                ds.credentials = ds.credentials.as_ref().map(|s| reseal(s, &context(id, "credentials"))).transpose()?;
                let event = self.audit(actor, Some(ds.project_id), "secret.reseal", id);
                self.commit(Transaction::new().update(&read, ds), event).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
