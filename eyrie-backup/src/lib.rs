//! # eyrie-backup
//!
//! Backups of Eyrie deployments on S3-compatible storage: everything that
//! talks to the bucket of a scope's `backup_dest_datasource`, and the pure
//! retention planner that decides what to expire. The service and the job
//! engine (in `eyrie-core`) decide *when*; the Kubernetes Jobs (in
//! `eyrie-kube`) write the dumps; this crate addresses, uploads, verifies,
//! lists, deletes and signs.
//!
//! - [`BackupStore::from_datasource`] opens an `s3like`
//!   [`Datasource`](eyrie_core::model::Datasource) with its opened credentials
//!   (`ACCESS_KEY_ID:SECRET_ACCESS_KEY`, see [`S3Credentials`]) and
//!   [`S3Options`] (region, path-style addressing: the datasource model has no
//!   fields for them yet). It is object_store's `AmazonS3` with the custom
//!   endpoint; `Debug` never shows the credentials.
//! - [`keys`]: deterministic, tenant-scoped keys
//!   `<namespace uid>/<deployment id>/<backup id>/<file>` (16 hex digits each)
//!   and [`key_belongs_to`], the check that keeps one tenant's URL off another
//!   tenant's object.
//! - [`BackupStore::upload`] (one PUT, or multipart beyond one part, SHA-256
//!   computed as it streams), [`BackupStore::verify`] /
//!   [`BackupStore::verify_upload`] (HEAD: present, non-empty, size and
//!   checksum — see [`verify`] for which checksum and why),
//!   [`BackupStore::list_deployment`], [`BackupStore::delete_backup`].
//! - [`BackupStore::download_url`]: a pre-signed GET URL, TTL 1 s to 24 h
//!   (default 15 min, [`DownloadTtl`]), refused for a key outside the
//!   tenant's namespace.
//! - [`retention::plan`]: which backups to expire; the tiers ("daily",
//!   "weekly" = ISO week, "monthly" = calendar month, all UTC) are defined in
//!   [`retention`].
//!
//! Failures map into [`eyrie_core::Error`] (see [Errors](#errors)):
//! `NotFound`, `PermissionDenied` (403/401: wrong credentials or bucket
//! policy, with a message saying so), `Invalid`, and `Backend { retryable }`
//! (transport failures and 5xx are retryable). Nothing panics on input.
//!
//! # Example
//!
//! Keys and retention are pure; the S3 calls need a server (see the crate's
//! `tests/` for a complete run against an in-process one).
//!
//! ```
//! use eyrie_backup::retention::{self, BackupFacts, RetainedKind, RetainedState, RetentionPolicy};
//! use eyrie_backup::{BackupPrefix, key_belongs_to};
//! use eyrie_core::{BackupId, DeploymentId, NamespaceUid, Timestamp};
//!
//! let key = BackupPrefix::new(NamespaceUid(0xa1), DeploymentId(2), BackupId(3)).key("db.dump")?;
//! assert_eq!(key.to_string(), "00000000000000a1/0000000000000002/0000000000000003/db.dump");
//! assert!(key_belongs_to(&key.to_string(), NamespaceUid(0xa1)));
//! assert!(!key_belongs_to(&key.to_string(), NamespaceUid(0xa2)));
//!
//! // Ten daily backups, one a day: with 2 daily slots and no weekly or monthly
//! // ones, the 8 oldest expire.
//! let day = 86_400;
//! let backups: Vec<BackupFacts> = (0..10)
//!     .map(|i| {
//!         let started = Timestamp::from_unix_seconds(1_767_225_600 + i as i64 * day);
//!         BackupFacts::new(BackupId(i), RetainedKind::DailyTriggered, RetainedState::Done, started, None)
//!     })
//!     .collect();
//! let now = Timestamp::from_unix_seconds(1_767_225_600 + 10 * day);
//! let plan = retention::plan(&backups, &RetentionPolicy::new(2, 0, 0, 30 * 86_400), now);
//! assert_eq!(plan.expire(), (0..8).rev().map(BackupId).collect::<Vec<_>>());
//! # Ok::<(), eyrie_core::validate::ValidationError>(())
//! ```
//!
//! # For the service and the engine
//!
//! [`S3Objects`] implements the core's
//! [`BackupObjects`](eyrie_core::backups::BackupObjects): the job engine
//! lists (HEADs) what a backup step wrote, the scheduler's retention deletes
//! expired backups' objects, and `Eyrie::download_urls` signs GETs, all
//! through it. The `eyrie` facade sets it by default. Region and
//! path-style addressing come from the datasource (`region`, default
//! `us-east-1`; `path_style`, default on when an endpoint is set); the other
//! [`S3Options`] (time-outs, retries, `allow_http`) from the embedder.
//!
//! Keys and the retention planner are pure and live in
//! `eyrie_core::backups`; they are re-exported here.
//!
//! # Errors
//!
#![doc = include_str!("../docs/errors.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod credentials;
mod error;
mod objects;
mod options;
mod presign;
mod store;
mod upload;
pub mod verify;

pub use credentials::S3Credentials;
pub use eyrie_core::backups::keys::{self, BackupPrefix, DeploymentPrefix, ObjectKey, key_belongs_to};
pub use eyrie_core::backups::retention;
pub use objects::{CACHED_CLIENTS, S3Objects};
pub use options::{MIN_PART_SIZE, S3Options};
pub use presign::{DownloadTtl, DownloadUrl};
pub use store::{BackupStore, StoredObject};
pub use upload::Uploaded;
pub use verify::{Checksum, Verified};
