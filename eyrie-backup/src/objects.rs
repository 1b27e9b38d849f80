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
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::Instrument;

/// How many opened buckets an [`S3Objects`] keeps, most recently used first.
pub const CACHED_CLIENTS: usize = 16;

/// Talks to the bucket an [`ObjectStorage`] names, with these client
/// options (time-outs, retries, part size; `allow_http` for loopback
/// servers). Region and addressing style come from the storage.
///
/// Each bucket's client (and its connection pool) is made once and reused
/// for the same endpoint, bucket and credentials: signing a backup's URLs
/// or verifying its objects does not build a client per object. Changed
/// credentials name another client. Cloning shares the clients.
#[derive(Debug, Clone, Default)]
pub struct S3Objects {
    options: S3Options,
    clients: Arc<Mutex<VecDeque<(ObjectStorage, BackupStore)>>>,
}

impl S3Objects {
    /// A client factory with these options.
    pub fn new(options: S3Options) -> Self {
        S3Objects { options, clients: Arc::default() }
    }

    /// The bucket of `storage`, opened (or the client opened before).
    pub fn open(&self, storage: &ObjectStorage) -> Result<BackupStore> {
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = clients.iter().position(|(s, _)| s == storage)
            && let Some(found) = clients.remove(at)
        {
            let store = found.1.clone();
            clients.push_front(found);
            return Ok(store);
        }
        let credentials = S3Credentials::new(storage.access_key_id.clone(), storage.secret_access_key.clone());
        let options = self.options.clone().with_region(storage.region.clone()).with_path_style(storage.path_style);
        let store = BackupStore::open(storage.bucket.clone(), storage.endpoint.clone(), &credentials, options)?;
        clients.push_front((storage.clone(), store.clone()));
        clients.truncate(CACHED_CLIENTS);
        Ok(store)
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

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::SecretString;

    fn storage(bucket: &str, secret: &str) -> ObjectStorage {
        ObjectStorage {
            endpoint: Some("https://s3.example".into()),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            path_style: true,
            access_key_id: "AKID".into(),
            secret_access_key: SecretString::new(secret),
        }
    }

    #[test]
    fn a_bucket_is_opened_once_and_other_credentials_open_another() {
        let objects = S3Objects::default();
        let first = objects.open(&storage("a", "s1")).unwrap();
        assert!(Arc::ptr_eq(&first.s3, &objects.open(&storage("a", "s1")).unwrap().s3), "reused");
        assert!(!Arc::ptr_eq(&first.s3, &objects.open(&storage("a", "s2")).unwrap().s3), "rotated credentials");
        assert!(!Arc::ptr_eq(&first.s3, &objects.open(&storage("b", "s1")).unwrap().s3), "another bucket");
        for i in 0..CACHED_CLIENTS {
            objects.open(&storage(&format!("bucket-{i}"), "s1")).unwrap();
        }
        assert!(!Arc::ptr_eq(&first.s3, &objects.open(&storage("a", "s1")).unwrap().s3), "the oldest was let go");
    }
}
