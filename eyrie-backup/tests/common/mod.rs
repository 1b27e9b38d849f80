//! An S3-compatible server in-process on loopback: s3s-fs over a temporary
//! directory, with s3s' `SimpleAuth` so that signatures are verified and
//! expired pre-signed URLs refused, served by hyper on a random port.

#![allow(dead_code, unreachable_pub)]

pub mod service_rig;

use eyrie_backup::{BackupStore, S3Credentials, S3Options};
use eyrie_core::model::{DataType, Datasource, DatasourceUsage};
use eyrie_core::{DatasourceId, ProjectId, SecretString, Timestamp};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const ACCESS_KEY_ID: &str = "AKIDEYRIETEST0001";
pub const SECRET_ACCESS_KEY: &str = "eyrie/test+secret:key";
pub const BUCKET: &str = "eyrie-backups";

/// Every test body runs under this bound.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

/// A running server; stopped when dropped.
pub struct S3Server {
    pub endpoint: String,
    _dir: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    /// Starts a server with one bucket, [`BUCKET`].
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(dir.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server { endpoint, _dir: dir, task }
    }

    /// A datasource naming this server and its bucket.
    pub fn datasource(&self) -> Datasource {
        Datasource {
            id: DatasourceId(1),
            project_id: ProjectId(1),
            name: "backups".parse().unwrap(),
            data_type: DataType::S3like,
            usage: DatasourceUsage::RemoteBackup,
            endpoint: Some(self.endpoint.parse().unwrap()),
            bucket: Some(BUCKET.to_owned()),
            region: None,
            path_style: None,
            connection: None,
            credentials: None,
            created_at: Timestamp(0),
        }
    }

    /// A client with the right credentials, in the format the datasource seals.
    pub fn store(&self) -> BackupStore {
        let credentials = SecretString::new(format!("{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}"));
        BackupStore::from_datasource(&self.datasource(), &credentials, options()).unwrap()
    }

    /// A client with other credentials.
    pub fn store_with(&self, access_key_id: &str, secret: &str) -> BackupStore {
        let credentials = S3Credentials::new(access_key_id, SecretString::new(secret));
        BackupStore::open(BUCKET.to_owned(), Some(self.endpoint.clone()), &credentials, options()).unwrap()
    }
}

/// Loopback options: http allowed, smallest parts, few retries, short time-outs.
pub fn options() -> S3Options {
    S3Options::default()
        .with_allow_http(true)
        .with_part_size(eyrie_backup::MIN_PART_SIZE)
        .with_retries(1, Duration::from_secs(5))
        .with_timeouts(Duration::from_secs(20), Duration::from_secs(2))
}

/// Runs `body` under [`TEST_LIMIT`], failing with a clear message past it.
pub async fn bounded<F: Future<Output = ()>>(what: &str, body: F) {
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("{what} did not finish within {TEST_LIMIT:?}");
    }
}

/// `len` bytes of a repeatable pseudo-random pattern.
pub fn body(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
