//! The bucket side of backups, as a trait: the core decides, an
//! implementation (`eyrie-backup`'s `S3Objects`, over the `object_store`
//! crate) talks to S3. The testkit has an in-memory one.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::executor::ObjectStorage;

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The checksum the bucket reports (an ETag, or a SHA-256 when the
    /// uploader stored one), as text.
    pub checksum: Option<String>,
}

/// Lists, deletes and signs objects of a backup bucket.
///
/// Errors follow the crate's kinds: wrong credentials or a refused bucket
/// policy are `PermissionDenied` with a message that says so; transport
/// failures and 5xx are `Backend { retryable: true }`.
#[async_trait]
pub trait BackupObjects: Send + Sync + std::fmt::Debug {
    /// Every object under `prefix`, in key order (one HEAD-equivalent per
    /// object: size and checksum as the bucket reports them).
    async fn inspect(&self, storage: &ObjectStorage, prefix: &str) -> Result<Vec<StoredObject>>;
    /// Deletes every object under `prefix`; returns how many there were.
    async fn delete_prefix(&self, storage: &ObjectStorage, prefix: &str) -> Result<usize>;
    /// A pre-signed GET URL for `key`, valid for `ttl`.
    async fn presign_get(&self, storage: &ObjectStorage, key: &str, ttl: Duration) -> Result<String>;
}
