//! [`BackupStore`]: one `s3like` datasource's bucket, opened with its
//! credentials; listing and deletion of backup objects.

use crate::credentials::S3Credentials;
use crate::error::map;
use crate::keys::{BackupPrefix, DeploymentPrefix, ObjectKey};
use crate::options::{MIN_PART_SIZE, S3Options};
use eyrie_core::model::{DataType, Datasource};
use eyrie_core::validate::ValidationError;
use eyrie_core::{Error, Result, SecretString, Timestamp};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::fmt;
use std::sync::Arc;
use tracing::Instrument;

/// The bucket of one `s3like` datasource, opened with its credentials.
///
/// Cheap to clone (the client is shared). `Debug` shows the bucket, endpoint
/// and region, never the credentials.
#[derive(Clone)]
pub struct BackupStore {
    pub(crate) s3: Arc<AmazonS3>,
    pub(crate) bucket: String,
    endpoint: Option<String>,
    pub(crate) options: S3Options,
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key as the server reports it.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was last written, as the server reports it.
    pub last_modified: Timestamp,
    /// The server's entity tag, if it gave one.
    pub e_tag: Option<String>,
}

impl BackupStore {
    /// Opens the bucket of an `s3like` datasource with its opened credentials
    /// (`ACCESS_KEY_ID:SECRET_ACCESS_KEY`, see [`S3Credentials`]).
    ///
    /// `Invalid` when the datasource is not `s3like`, has no bucket, names an
    /// `http://` endpoint without [`S3Options::allow_http`], or the credentials
    /// do not parse. Nothing is sent to the server here.
    pub fn from_datasource(datasource: &Datasource, credentials: &SecretString, options: S3Options) -> Result<Self> {
        if datasource.data_type != DataType::S3like {
            return Err(ValidationError::field("data_type", "database", "backups need an s3like datasource").into());
        }
        let Some(bucket) = datasource.bucket.clone() else {
            return Err(
                ValidationError::field("bucket", "", "an s3like datasource for backups must name a bucket").into()
            );
        };
        let endpoint = datasource.endpoint.as_ref().map(|u| u.as_str().to_owned());
        let mut options = options;
        if let Some(region) = &datasource.region {
            options = options.with_region(region.clone());
        }
        if let Some(path_style) = datasource.path_style {
            options = options.with_path_style(path_style);
        }
        Self::open(bucket, endpoint, &S3Credentials::parse(credentials)?, options)
    }

    /// Opens `bucket` at `endpoint` (`None`: AWS S3) with `credentials`.
    /// The same checks as [`BackupStore::from_datasource`].
    pub fn open(
        bucket: String,
        endpoint: Option<String>,
        credentials: &S3Credentials,
        options: S3Options,
    ) -> Result<Self> {
        if let Some(ep) = &endpoint {
            let http = ep.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
            if http && !options.allow_http {
                let why = "an unencrypted http:// endpoint is refused unless allow_http is set";
                return Err(ValidationError::field("endpoint", ep, why).into());
            }
        }
        let path_style = options.path_style.unwrap_or(endpoint.is_some());
        let retry = RetryConfig {
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout,
            ..RetryConfig::default()
        };
        let client = ClientOptions::new()
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.connect_timeout)
            .with_allow_http(options.allow_http);
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(&options.region)
            .with_access_key_id(credentials.access_key_id())
            .with_secret_access_key(credentials.secret_access_key().expose())
            .with_virtual_hosted_style_request(!path_style)
            .with_allow_http(options.allow_http)
            .with_retry(retry)
            .with_client_options(client);
        if let Some(ep) = &endpoint {
            builder = builder.with_endpoint(ep);
        }
        let s3 = builder
            .build()
            .map_err(|e| Error::from(ValidationError::field("datasource", &bucket, format!("cannot open: {e}"))))?;
        let options = S3Options { part_size: options.part_size.max(MIN_PART_SIZE), ..options };
        Ok(BackupStore { s3: Arc::new(s3), bucket, endpoint, options })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Every object of one deployment, all its backups, sorted by key.
    pub async fn list_deployment(&self, prefix: DeploymentPrefix) -> Result<Vec<StoredObject>> {
        self.list_under(prefix.to_string()).await
    }

    /// Every object of one backup, sorted by key.
    pub async fn list_backup(&self, prefix: BackupPrefix) -> Result<Vec<StoredObject>> {
        self.list_under(prefix.to_string()).await
    }

    /// Every object under a raw key prefix (trailing `/` optional), sorted by key.
    pub async fn list_prefix(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        self.list_under(prefix.trim_end_matches('/').to_owned()).await
    }

    async fn list_under(&self, prefix: String) -> Result<Vec<StoredObject>> {
        let span = tracing::debug_span!("backup list", bucket = %self.bucket, prefix = %prefix);
        async {
            let what = format!("listing of {prefix}/");
            let path = Path::parse(&prefix).map_err(|e| map(&self.bucket, &what, e.into()))?;
            let mut objects: Vec<StoredObject> = self
                .s3
                .list(Some(&path))
                .map_ok(|meta| StoredObject {
                    key: meta.location.to_string(),
                    size: meta.size,
                    last_modified: Timestamp(meta.last_modified.timestamp_millis()),
                    e_tag: meta.e_tag,
                })
                .try_collect()
                .await
                .map_err(|e| map(&self.bucket, &what, e))?;
            objects.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(objects)
        }
        .instrument(span)
        .await
    }

    /// Deletes one object. Deleting an object that is not there succeeds
    /// (S3 semantics), so a retried expiry is harmless.
    pub async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let span = tracing::debug_span!("backup delete", bucket = %self.bucket, key = %key);
        async {
            let what = format!("deletion of {key}");
            match self.s3.delete(&self.path(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(map(&self.bucket, &what, e)),
            }
        }
        .instrument(span)
        .await
    }

    /// Deletes every object of one backup (what retention does before it marks
    /// the record `expired`). Returns how many objects it deleted; a backup
    /// with no object left deletes none and succeeds.
    pub async fn delete_backup(&self, prefix: BackupPrefix) -> Result<usize> {
        let objects = self.list_backup(prefix).await?;
        for object in &objects {
            let what = format!("deletion of {}", object.key);
            let path = Path::parse(&object.key).map_err(|e| map(&self.bucket, &what, e.into()))?;
            match self.s3.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(map(&self.bucket, &what, e)),
            }
        }
        tracing::info!(bucket = %self.bucket, prefix = %prefix, deleted = objects.len(), "backup objects deleted");
        Ok(objects.len())
    }

    /// The object_store path of a key.
    pub(crate) fn path(&self, key: &ObjectKey) -> Result<Path> {
        let text = key.to_string();
        Path::parse(&text).map_err(|e| map(&self.bucket, &format!("addressing {text}"), e.into()))
    }
}

impl fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupStore")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.options.region)
            .finish_non_exhaustive()
    }
}
