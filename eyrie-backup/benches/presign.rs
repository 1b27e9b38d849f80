//! What signing a backup's download URLs costs with [`S3Objects`]' client
//! reuse, against building a client per object (what it did before): 100
//! keys signed, through one `S3Objects` (one client) or a fresh one per key.
//! Signing is local: no server is involved.
//!
//! Run: `cargo bench -p eyrie-backup --bench presign`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use eyrie_backup::S3Objects;
use eyrie_core::SecretString;
use eyrie_core::backups::BackupObjects;
use eyrie_core::executor::ObjectStorage;

const KEYS: usize = 100;

fn presign(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let storage = ObjectStorage {
        endpoint: Some("https://s3.example".into()),
        region: "us-east-1".into(),
        bucket: "backups".into(),
        path_style: true,
        access_key_id: "AKIDBENCH".into(),
        secret_access_key: SecretString::new("bench-secret"),
    };
    let keys: Vec<String> = (0..KEYS).map(|i| format!("00000000000000a1/0000000000000002/{i:016x}/db.dump")).collect();
    let ttl = Duration::from_secs(900);
    let mut group = c.benchmark_group("presign_100_keys");
    let shared = S3Objects::default();
    group.bench_function("one_client", |b| {
        b.iter(|| {
            rt.block_on(async {
                for key in &keys {
                    shared.presign_get(&storage, key, ttl).await.unwrap();
                }
            })
        });
    });
    group.bench_function("client_per_key", |b| {
        b.iter(|| {
            rt.block_on(async {
                for key in &keys {
                    S3Objects::default().presign_get(&storage, key, ttl).await.unwrap();
                }
            })
        });
    });
    group.finish();
}

criterion_group!(benches, presign);
criterion_main!(benches);
