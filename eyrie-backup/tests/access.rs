//! Pre-signed downloads, credentials, tenancy and failure mapping against a
//! real S3-compatible server (s3s-fs with signature checks) on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY, body, bounded, options};
use eyrie_backup::{BackupPrefix, BackupStore, DownloadTtl, S3Credentials};
use eyrie_core::model::DataType;
use eyrie_core::{BackupId, DeploymentId, ErrorKind, NamespaceUid, SecretString};
use std::time::{Duration, Instant};

fn prefix(ns: u64, dep: u64, backup: u64) -> BackupPrefix {
    BackupPrefix::new(NamespaceUid(ns), DeploymentId(dep), BackupId(backup))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_url_returns_the_bytes_then_expires() {
    bounded("pre-signed URL", async {
        let server = S3Server::start().await;
        let store = server.store();
        let key = prefix(1, 2, 3).key("db.dump").unwrap();
        let data = body(70_000, 9);
        store.upload(&key, &data[..]).await.unwrap();

        let ttl = DownloadTtl::from_secs(2).unwrap();
        let client = reqwest::Client::new();
        // Signing and fetching take far less than 2 s; on a machine so loaded
        // that they do not, sign again (at most 5 times).
        let mut fetched = None;
        for _ in 0..5 {
            let url = store.download_url(NamespaceUid(1), &key.to_string(), ttl).await.unwrap();
            assert!(url.as_str().contains("X-Amz-Expires=2"), "{}", url.as_str());
            let fresh = client.get(url.as_str()).send().await.unwrap();
            if fresh.status() == 200 {
                assert!(fresh.bytes().await.unwrap()[..] == data[..]);
                fetched = Some(url);
                break;
            }
            let text = fresh.text().await.unwrap();
            assert!(text.contains("expired"), "a fresh URL was refused for another reason: {text}");
        }
        let url = fetched.expect("a fresh 2 s URL was never accepted");

        // Refused once expired: poll, bounded, until the server says so.
        let deadline = Instant::now() + Duration::from_secs(15);
        let refused = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let reply = client.get(url.as_str()).send().await.unwrap();
            if reply.status() != 200 {
                break reply;
            }
            assert!(Instant::now() < deadline, "a 2 s URL was still accepted after 15 s");
        };
        assert_eq!(refused.status(), 403);
        let text = refused.text().await.unwrap();
        assert!(text.contains("expired"), "{text}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_download_url_is_refused() {
    bounded("tampered URL", async {
        let server = S3Server::start().await;
        let store = server.store();
        let mine = prefix(1, 2, 3).key("db.dump").unwrap();
        let theirs = prefix(5, 6, 7).key("db.dump").unwrap();
        store.upload(&mine, &b"mine"[..]).await.unwrap();
        store.upload(&theirs, &b"theirs"[..]).await.unwrap();
        // Editing the path of a URL issued for one tenant to name another's object breaks the signature.
        let url = store.download_url(NamespaceUid(1), &mine.to_string(), DownloadTtl::DEFAULT).await.unwrap();
        let edited = url.as_str().replace(&mine.to_string(), &theirs.to_string());
        assert_ne!(edited, url.as_str());
        let reply = reqwest::get(&edited).await.unwrap();
        assert_eq!(reply.status(), 403);
        assert!(!reply.text().await.unwrap().contains("theirs"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_url_is_issued_for_another_tenants_key() {
    bounded("tenancy", async {
        let server = S3Server::start().await;
        let store = server.store();
        let theirs = prefix(5, 6, 7).key("db.dump").unwrap().to_string();
        let e = store.download_url(NamespaceUid(1), &theirs, DownloadTtl::DEFAULT).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert!(!e.to_string().contains(&theirs[..16]), "the refusal names the other tenant: {e}");
        for malformed in [
            format!("{}/../../0000000000000005/0000000000000006/0000000000000007/db.dump", &theirs[..50]),
            "0000000000000001/../0000000000000005/0000000000000006/db.dump".to_owned(),
            "0000000000000001/x".to_owned(),
        ] {
            let e = store.download_url(NamespaceUid(1), &malformed, DownloadTtl::DEFAULT).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Invalid, "{malformed}: {e}");
        }
        // The tenant's own key is fine.
        let mine = prefix(1, 6, 7).key("db.dump").unwrap().to_string();
        assert!(store.download_url(NamespaceUid(1), &mine, DownloadTtl::MAX).await.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_with_a_clear_error() {
    bounded("wrong credentials", async {
        let server = S3Server::start().await;
        let key = prefix(1, 2, 3).key("db.dump").unwrap();
        server.store().upload(&key, &b"data"[..]).await.unwrap();
        for (id, secret) in [(ACCESS_KEY_ID, "not-the-secret"), ("AKIDUNKNOWN", SECRET_ACCESS_KEY)] {
            let store = server.store_with(id, secret);
            let upload = store.upload(&prefix(1, 2, 4).key("db.dump").unwrap(), &b"data"[..]).await.unwrap_err();
            let verify = store.verify(&key).await.unwrap_err();
            let list = store.list_deployment(key.prefix().deployment_prefix()).await.unwrap_err();
            for e in [upload, list, verify] {
                assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{id}: {e}");
                assert!(!e.is_retryable());
                let text = e.to_string();
                assert!(text.contains("credentials") && text.contains(common::BUCKET), "{text}");
                assert!(!text.contains(SECRET_ACCESS_KEY) && !text.contains("not-the-secret"), "{text}");
            }
        }
        // Nothing was written by the refused uploads.
        let listed = server.store().list_deployment(key.prefix().deployment_prefix()).await.unwrap();
        assert_eq!(listed.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bad_datasources_are_refused_before_any_request() {
    let server = S3Server::start().await;
    let good = SecretString::new(format!("{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}"));
    let strict = eyrie_backup::S3Options::default();
    let cases = [
        ("http without allow_http", server.datasource(), good.clone(), strict.clone()),
        (
            "database datasource",
            {
                let mut d = server.datasource();
                d.data_type = DataType::Database;
                d
            },
            good.clone(),
            options(),
        ),
        (
            "no bucket",
            {
                let mut d = server.datasource();
                d.bucket = None;
                d
            },
            good.clone(),
            options(),
        ),
        ("unparsable credentials", server.datasource(), SecretString::new("no-colon-here"), options()),
    ];
    for (what, datasource, credentials, opts) in cases {
        let e = BackupStore::from_datasource(&datasource, &credentials, opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e}");
        assert!(!e.to_string().contains(SECRET_ACCESS_KEY), "{e}");
    }
    // Debug of a working store shows no secret.
    let shown = format!("{:?}", server.store());
    assert!(shown.contains(common::BUCKET) && !shown.contains(SECRET_ACCESS_KEY), "{shown}");
    let creds = format!("{:?}", S3Credentials::parse(&good).unwrap());
    assert!(!creds.contains(SECRET_ACCESS_KEY), "{creds}");
}

/// A loopback HTTP server that answers every request with `status`.
async fn answering(status: u16) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    let reply = hyper::Response::builder()
                        .status(status)
                        .body(http_body_util::Full::new(bytes::Bytes::from_static(
                            b"<Error><Code>SlowDown</Code></Error>",
                        )))
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(reply)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (endpoint, task)
}

fn client_for(endpoint: String) -> BackupStore {
    let credentials = S3Credentials::new(ACCESS_KEY_ID, SecretString::new(SECRET_ACCESS_KEY));
    let opts = options().with_retries(0, Duration::from_secs(1));
    BackupStore::open(common::BUCKET.to_owned(), Some(endpoint), &credentials, opts).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_transport_failures_are_retryable_backend_errors() {
    bounded("5xx and transport", async {
        let key = prefix(1, 2, 3).key("db.dump").unwrap();
        let (endpoint, task) = answering(503).await;
        let store = client_for(endpoint);
        for e in
            [store.upload(&key, &b"data"[..]).await.unwrap_err(), store.list_backup(key.prefix()).await.unwrap_err()]
        {
            assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
            assert!(e.is_retryable(), "{e}");
        }
        task.abort();

        let (endpoint, task) = answering(400).await;
        let e = client_for(endpoint).upload(&key, &b"data"[..]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        assert!(!e.is_retryable(), "a 400 fails the same way again: {e}");
        task.abort();

        // Nobody listening: a connection failure.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let e = client_for(endpoint).verify(&key).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        assert!(e.is_retryable(), "{e}");
    })
    .await;
}
