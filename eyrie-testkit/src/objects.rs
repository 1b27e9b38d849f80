//! [`MemoryObjects`]: an in-memory bucket behind the core's
//! [`BackupObjects`], for tests of backup rules that need no S3 server
//! (the S3 implementation is tested against a real one in `eyrie-backup`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use eyrie_core::Result;
use eyrie_core::backups::{BackupObjects, StoredObject};
use eyrie_core::executor::ObjectStorage;

/// Object bodies by (bucket, key).
type Objects = BTreeMap<(String, String), Vec<u8>>;

/// Objects by bucket and key. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct MemoryObjects {
    objects: Arc<Mutex<Objects>>,
}

impl MemoryObjects {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores an object.
    pub fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.lock().insert((bucket.to_owned(), key.to_owned()), body);
    }

    /// Every key of `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.lock().keys().filter(|(b, _)| b == bucket).map(|(_, k)| k.clone()).collect()
    }

    /// One object's bytes.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.lock().get(&(bucket.to_owned(), key.to_owned())).cloned()
    }
}

#[async_trait]
impl BackupObjects for MemoryObjects {
    async fn inspect(&self, storage: &ObjectStorage, prefix: &str) -> Result<Vec<StoredObject>> {
        Ok(self
            .lock()
            .iter()
            .filter(|((b, k), _)| *b == storage.bucket && k.starts_with(prefix))
            .map(|((_, k), body)| StoredObject {
                key: k.clone(),
                size: body.len() as u64,
                checksum: Some(format!("len:{}", body.len())),
            })
            .collect())
    }

    async fn delete_prefix(&self, storage: &ObjectStorage, prefix: &str) -> Result<usize> {
        let mut objects = self.lock();
        let before = objects.len();
        objects.retain(|(b, k), _| !(*b == storage.bucket && k.starts_with(prefix)));
        Ok(before - objects.len())
    }

    async fn presign_get(&self, storage: &ObjectStorage, key: &str, ttl: Duration) -> Result<String> {
        Ok(format!("memory://{}/{key}?ttl={}&signature=fake", storage.bucket, ttl.as_secs()))
    }
}
