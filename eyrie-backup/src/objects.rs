//! [`S3Objects`]: the core's [`BackupObjects`] over S3, for the service and
//! the job engine (verification, retention, download URLs).

use crate::credentials::S3Credentials;
use crate::error::map;
use crate::options::S3Options;
use crate::store::BackupStore;
use async_trait::async_trait;
use eyrie_core::Result;
use eyrie_core::backups::{BackupObjects, StoredObject};
use eyrie_core::executor::ObjectStorage;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use object_store::signer::{Method, Signer};
use std::time::Duration;
use tracing::Instrument;

/// Talks to the bucket an [`ObjectStorage`] names, with these client
/// options (time-outs, retries, part size; `allow_http` for loopback
/// servers). Region and addressing style come from the storage.
#[derive(Debug, Clone, Default)]
pub struct S3Objects {
    options: S3Options,
}

impl S3Objects {
    /// A client factory with these options.
    pub fn new(options: S3Options) -> Self {
        S3Objects { options }
    }

    /// The bucket of `storage`, opened.
    pub fn open(&self, storage: &ObjectStorage) -> Result<BackupStore> {
        let credentials = S3Credentials::new(storage.access_key_id.clone(), storage.secret_access_key.clone());
        let options = self.options.clone().with_region(storage.region.clone()).with_path_style(storage.path_style);
        BackupStore::open(storage.bucket.clone(), storage.endpoint.clone(), &credentials, options)
    }
}

fn path(bucket: &str, key: &str) -> Result<Path> {
    Path::parse(key.trim_end_matches('/')).map_err(|e| map(bucket, &format!("addressing {key}"), e.into()))
}

#[async_trait]
impl BackupObjects for S3Objects {
    async fn inspect(&self, storage: &ObjectStorage, prefix: &str) -> Result<Vec<StoredObject>> {
        let store = self.open(storage)?;
        let span = tracing::info_span!("backup inspect", bucket = %storage.bucket, prefix = %prefix);
        async {
            let mut found = Vec::new();
            for listed in store.list_prefix(prefix).await? {
                // HEAD each object: what the bucket says now, not the listing.
                let what = format!("verification of {}", listed.key);
                let meta = store
                    .s3
                    .head(&path(&storage.bucket, &listed.key)?)
                    .await
                    .map_err(|e| map(&storage.bucket, &what, e))?;
                found.push(StoredObject {
                    key: listed.key,
                    size: meta.size,
                    checksum: meta.e_tag.map(|t| format!("etag:{}", t.trim_matches('"'))),
                });
            }
            Ok(found)
        }
        .instrument(span)
        .await
    }

    async fn delete_prefix(&self, storage: &ObjectStorage, prefix: &str) -> Result<usize> {
        let store = self.open(storage)?;
        let objects = store.list_prefix(prefix).await?;
        for object in &objects {
            let what = format!("deletion of {}", object.key);
            match store.s3.delete(&path(&storage.bucket, &object.key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(map(&storage.bucket, &what, e)),
            }
        }
        tracing::info!(bucket = %storage.bucket, prefix = %prefix, deleted = objects.len(), "backup objects deleted");
        Ok(objects.len())
    }

    async fn presign_get(&self, storage: &ObjectStorage, key: &str, ttl: Duration) -> Result<String> {
        let store = self.open(storage)?;
        let url = store
            .s3
            .signed_url(Method::GET, &path(&storage.bucket, key)?, ttl)
            .await
            .map_err(|e| map(&storage.bucket, &format!("signing of {key}"), e))?;
        Ok(url.to_string())
    }
}
