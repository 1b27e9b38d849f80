//! Backups end to end against a real S3-compatible server (s3s-fs with
//! signature checks, in-process on loopback): the service and the job engine
//! of `eyrie-core`, this crate's [`S3Objects`] for verification, retention
//! and download URLs, and a test executor that writes each backup into the
//! bucket the way the Kubernetes Job does (with the credentials it is given).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::service_rig::{DUMP_BYTES, rig, right_credentials};
use common::{ACCESS_KEY_ID, body, bounded};
use eyrie_core::service::NewUser;
use eyrie_core::storage::StoreExt;
use eyrie_core::{Actor, Backup, BackupId, BackupState, ErrorKind, JobAction, JobState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_uploaded_verified_recorded_and_downloaded_through_a_presigned_url() {
    bounded("backup and download", async {
        let g = rig(&right_credentials()).await;
        let d = g.t.sandbox.id;
        let b = g.take(d).await;
        assert_eq!(b.state, BackupState::Done, "{:?}", b.error);
        assert_eq!(b.size_bytes, Some(DUMP_BYTES as u64), "the size the bucket reports");
        assert!(b.checksum.as_deref().unwrap().starts_with("etag:"), "{:?}", b.checksum);
        assert_eq!(g.bucket_keys().await, b.object_keys);

        let links = g.eyrie.download_urls(g.t.developer, b.id, Some(Duration::from_secs(60))).await.unwrap();
        assert_eq!(links.len(), 1);
        let reply = reqwest::get(&links[0].url).await.unwrap();
        assert_eq!(reply.status(), 200);
        assert!(reply.bytes().await.unwrap()[..] == body(DUMP_BYTES, d.0)[..], "the bytes the job uploaded");

        // A one-second URL is refused once it expired (bounded poll).
        let short = g.eyrie.download_urls(g.t.developer, b.id, Some(Duration::from_secs(1))).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let refused = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let reply = reqwest::get(&short[0].url).await.unwrap();
            if reply.status() != 200 {
                break reply;
            }
            assert!(std::time::Instant::now() < deadline, "a 1 s URL was still accepted after 15 s");
        };
        assert_eq!(refused.status(), 403);
        assert!(refused.text().await.unwrap().contains("expired"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_url_is_issued_for_another_tenants_backup() {
    bounded("tenancy", async {
        let g = rig(&right_credentials()).await;
        let b = g.take(g.t.sandbox.id).await;
        let zoe = NewUser::new("Zoe".parse().unwrap(), "zoe@zulu.example".parse().unwrap());
        let zoe = g.t.eyrie.actor(g.t.eyrie.register_user(Actor::System, zoe).await.unwrap().id).await.unwrap();
        let e = g.eyrie.download_urls(zoe, b.id, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = g.eyrie.download_urls(zoe, BackupId(0x0dd0dd), None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "answered like a missing id: {e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_the_job_with_a_clear_error_and_leave_no_done_record() {
    bounded("wrong credentials", async {
        let g = rig(&format!("{ACCESS_KEY_ID}:not-the-secret")).await;
        let job = g.engine.backup_now(g.t.developer, g.t.sandbox.id).await.unwrap();
        g.engine.run_until_idle().await.unwrap();
        let job = g.engine.get_job(g.t.owner, job.id).await.unwrap();
        assert_eq!(job.state, JobState::Error);
        let why = job.error.clone().unwrap();
        assert!(why.contains("credentials"), "the error says the credentials were refused: {why}");
        assert!(!why.contains("not-the-secret"), "and never shows them: {why}");
        let b: Backup = g.t.store.fetch(job.parameters["backup"].parse().unwrap()).await.unwrap().value;
        assert_eq!(b.state, BackupState::Error);
        assert!(g.bucket_keys().await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_expired_backups_objects() {
    bounded("retention", async {
        let g = rig(&right_credentials()).await;
        let d = g.t.sandbox.id;
        let other = g.take(d).await; // a manual one, kept for 30 days
        let mut daily = Vec::new();
        for _ in 0..4 {
            g.t.clock.advance_seconds(86_400);
            let params = BTreeMap::from([("schedule".to_owned(), "daily".to_owned())]);
            let job = g.engine.submit(Actor::System, d, JobAction::Backup, params).await.unwrap();
            g.engine.run_until_idle().await.unwrap();
            let b: Backup = g.t.store.fetch(job.parameters["backup"].parse().unwrap()).await.unwrap().value;
            assert_eq!(b.state, BackupState::Done, "{:?}", b.error);
            daily.push(b);
        }
        let now = eyrie_core::Clock::now(&*g.t.clock);
        let report = g.engine.tick(now).await.unwrap();
        assert_eq!(report.backups_expired, 2, "{report:?}");
        let mut kept: Vec<String> = [&other, &daily[2], &daily[3]].iter().flat_map(|b| b.object_keys.clone()).collect();
        kept.sort();
        assert_eq!(g.bucket_keys().await, kept, "exactly the two oldest daily backups' objects are gone");
        for b in &daily[..2] {
            let now: Backup = g.t.store.fetch(b.id.0).await.unwrap().value;
            assert_eq!(now.state, BackupState::Expired);
        }
    })
    .await;
}
