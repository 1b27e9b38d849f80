//! Upload, verification, listing and deletion against a real S3-compatible
//! server (s3s-fs) on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{S3Server, body, bounded};
use eyrie_backup::{BackupPrefix, Checksum, DeploymentPrefix};
use eyrie_core::{BackupId, DeploymentId, ErrorKind, NamespaceUid};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn prefix(ns: u64, dep: u64, backup: u64) -> BackupPrefix {
    BackupPrefix::new(NamespaceUid(ns), DeploymentId(dep), BackupId(backup))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_body_goes_up_in_one_put_and_verifies() {
    bounded("small upload", async {
        let server = S3Server::start().await;
        let store = server.store();
        let key = prefix(1, 2, 3).key("db.dump").unwrap();
        let data = body(4096, 1);
        let up = store.upload(&key, &data[..]).await.unwrap();
        assert_eq!((up.size, up.parts), (4096, 1));
        assert_eq!(up.sha256, hex(&Sha256::digest(&data)));

        let verified = store.verify_upload(&up).await.unwrap();
        assert_eq!(verified.size, 4096);
        assert_eq!(verified.checksum, Checksum::Sha256(up.sha256.clone()));
        assert!(verified.checksum.to_string().starts_with("sha256:"));

        // Without the receipt (an object a Job wrote): size and the ETag.
        let headed = store.verify(&key).await.unwrap();
        assert_eq!(headed.size, 4096);
        assert!(matches!(&headed.checksum, Checksum::ETag(tag) if !tag.is_empty() && !tag.contains('"')));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_goes_up_in_parts_and_reads_back_whole() {
    bounded("multipart upload", async {
        let server = S3Server::start().await;
        let store = server.store();
        let key = prefix(1, 2, 4).key("filestore.tar").unwrap();
        // Two full 5 MiB parts and a short last one.
        let data = body(2 * eyrie_backup::MIN_PART_SIZE + 123_457, 2);
        let up = store.upload(&key, &data[..]).await.unwrap();
        assert_eq!(up.parts, 3);
        assert_eq!(up.size, data.len() as u64);
        assert_eq!(up.sha256, hex(&Sha256::digest(&data)));
        assert_eq!(store.verify_upload(&up).await.unwrap().size, data.len() as u64);

        // The parts were put together in order: read it back through a download URL.
        let url = store.download_url(NamespaceUid(1), &key.to_string(), Default::default()).await.unwrap();
        let got = reqwest::get(url.as_str()).await.unwrap();
        assert_eq!(got.status(), 200);
        let got = got.bytes().await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got[..] == data[..], "the object read back differs from the body uploaded");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_empty_object_fails_verification() {
    bounded("verification failures", async {
        let server = S3Server::start().await;
        let store = server.store();

        let missing = prefix(1, 2, 5).key("db.dump").unwrap();
        let e = store.verify(&missing).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

        let empty = prefix(1, 2, 6).key("db.dump").unwrap();
        let up = store.upload(&empty, &b""[..]).await.unwrap();
        assert_eq!(up.size, 0);
        for e in [store.verify(&empty).await.unwrap_err(), store.verify_upload(&up).await.unwrap_err()] {
            assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
            assert!(!e.is_retryable(), "{e}");
            assert!(e.to_string().contains("is empty"), "{e}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_overwritten_after_upload_fails_verification() {
    bounded("overwritten object", async {
        let server = S3Server::start().await;
        let store = server.store();
        let key = prefix(1, 2, 7).key("db.dump").unwrap();
        let first = store.upload(&key, &body(1000, 3)[..]).await.unwrap();
        store.upload(&key, &body(999, 4)[..]).await.unwrap();
        let e = store.verify_upload(&first).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        assert!(e.to_string().contains("not the one uploaded"), "{e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_shows_one_deployments_objects_only() {
    bounded("listing", async {
        let server = S3Server::start().await;
        let store = server.store();
        let mut mine = Vec::new();
        for (backup, file) in [(10, "db.dump"), (10, "filestore.tar"), (11, "db.dump")] {
            let key = prefix(1, 2, backup).key(file).unwrap();
            store.upload(&key, &body(100 + backup as usize, backup)[..]).await.unwrap();
            mine.push(key.to_string());
        }
        // Another deployment of the same tenant, and another tenant's deployment with the same id.
        for (ns, dep) in [(1, 3), (9, 2)] {
            store.upload(&prefix(ns, dep, 10).key("db.dump").unwrap(), &b"other"[..]).await.unwrap();
        }
        let listed = store.list_deployment(DeploymentPrefix::new(NamespaceUid(1), DeploymentId(2))).await.unwrap();
        mine.sort();
        assert_eq!(listed.iter().map(|o| o.key.clone()).collect::<Vec<_>>(), mine);
        assert_eq!(listed.iter().map(|o| o.size).collect::<Vec<_>>(), vec![110, 110, 111]);

        let one = store.list_backup(prefix(1, 2, 10)).await.unwrap();
        assert_eq!(one.len(), 2);
        let none = store.list_deployment(DeploymentPrefix::new(NamespaceUid(1), DeploymentId(4))).await.unwrap();
        assert!(none.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_backup_removes_its_objects_and_nothing_else() {
    bounded("deletion", async {
        let server = S3Server::start().await;
        let store = server.store();
        for (backup, file) in [(20, "db.dump"), (20, "filestore.tar"), (21, "db.dump")] {
            store.upload(&prefix(1, 2, backup).key(file).unwrap(), &b"data"[..]).await.unwrap();
        }
        assert_eq!(store.delete_backup(prefix(1, 2, 20)).await.unwrap(), 2);
        let left = store.list_deployment(prefix(1, 2, 0).deployment_prefix()).await.unwrap();
        assert_eq!(
            left.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            [prefix(1, 2, 21).key("db.dump").unwrap().to_string()]
        );
        // Again: nothing left to delete, still fine (a retried expiry).
        assert_eq!(store.delete_backup(prefix(1, 2, 20)).await.unwrap(), 0);
        store.delete(&prefix(1, 2, 20).key("db.dump").unwrap()).await.unwrap();
    })
    .await;
}

/// A body that fails after its bytes run out, like a dump whose process died.
struct Broken;

impl tokio::io::AsyncRead for Broken {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::other("pg_dump exited with status 1")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_fails_midway_leaves_no_object() {
    use tokio::io::AsyncReadExt;
    bounded("broken body", async {
        let server = S3Server::start().await;
        let store = server.store();
        for len in [1000, eyrie_backup::MIN_PART_SIZE + 1000] {
            let key = prefix(1, 2, 8).key("db.dump").unwrap();
            let data = body(len, 5);
            let e = store.upload(&key, (&data[..]).chain(Broken)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
            assert!(e.to_string().contains("pg_dump exited"), "{e}");
            assert_eq!(store.verify(&key).await.unwrap_err().kind(), ErrorKind::NotFound);
            assert!(store.list_backup(key.prefix()).await.unwrap().is_empty());
        }
    })
    .await;
}
