//! Backups: the pure parts. Object keys ([`keys`]) and the retention
//! planner ([`retention`]) are plain functions of ids and times; the
//! service calls (`backup_now`, `restore`, `download_urls`, listings) are on
//! [`crate::Eyrie`], the job steps in [`crate::jobs`], and the S3 side behind
//! the [`BackupObjects`] trait, which `eyrie-backup` implements.

pub mod keys;
pub mod objects;
pub mod retention;

pub use objects::{BackupObjects, StoredObject};
