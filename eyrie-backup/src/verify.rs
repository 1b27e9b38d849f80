//! Verification after a backup: the object exists and is not empty (HEAD),
//! with its size and a checksum to record.
//!
//! # Which checksum
//!
//! - For an object this crate uploaded, the **SHA-256 of the whole body**,
//!   computed while it streamed up ([`Uploaded::sha256`]), and checked against
//!   the server by size and entity tag ([`BackupStore::verify_upload`]). It is
//!   the one to record: anyone can recompute it from a download
//!   (`sha256sum`), whatever the part size or the server.
//! - For an object a backup Job wrote, only the server's **ETag** is known
//!   without downloading it ([`BackupStore::verify`]). It is recorded as
//!   `etag:…` and is weaker: for a multipart upload it is a digest of the parts'
//!   digests (`…-N`), it depends on the part size, and servers with
//!   server-side encryption do not derive it from the content at all. It still
//!   changes when the object is rewritten, which is what a restore checks.

use crate::error::map;
use crate::keys::ObjectKey;
use crate::store::BackupStore;
use crate::upload::Uploaded;
use eyrie_core::{Error, Result, Timestamp};
use object_store::ObjectStoreExt;
use std::fmt;
use tracing::Instrument;

/// A checksum recorded for a backup object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// SHA-256 of the body, 64 lowercase hex digits; printed `sha256:<hex>`.
    Sha256(String),
    /// The server's entity tag, quotes removed; printed `etag:<value>`.
    ETag(String),
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::Sha256(hex) => write!(f, "sha256:{hex}"),
            Checksum::ETag(tag) => write!(f, "etag:{tag}"),
        }
    }
}

impl std::str::FromStr for Checksum {
    type Err = eyrie_core::validate::ValidationError;

    /// Parses what [`Checksum`]'s `Display` prints: `sha256:` and 64 lowercase
    /// hex digits, or `etag:` and 1–256 printable characters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refuse =
            || eyrie_core::validate::ValidationError::field("checksum", s, "must be sha256:<64 hex> or etag:<tag>");
        if let Some(hex) = s.strip_prefix("sha256:") {
            let ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            return if ok { Ok(Checksum::Sha256(hex.to_owned())) } else { Err(refuse()) };
        }
        match s.strip_prefix("etag:") {
            Some(tag) if (1..=256).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(Checksum::ETag(tag.to_owned()))
            }
            _ => Err(refuse()),
        }
    }
}

/// A backup object found present and non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The object.
    pub key: ObjectKey,
    /// Its size in bytes (> 0).
    pub size: u64,
    /// The checksum to record.
    pub checksum: Checksum,
    /// When the server says it was written.
    pub last_modified: Timestamp,
}

impl BackupStore {
    /// HEADs `key`: `NotFound` when it is missing, `Backend` (not retryable)
    /// when it is empty; otherwise its size and ETag (see the module docs).
    pub async fn verify(&self, key: &ObjectKey) -> Result<Verified> {
        let span = tracing::info_span!("backup verify", bucket = %self.bucket, key = %key);
        async {
            let (size, e_tag, last_modified) = self.head_non_empty(key).await?;
            let Some(tag) = e_tag else {
                return Err(Error::backend(
                    format!("backup object {}/{key} has no ETag to record", self.bucket),
                    false,
                ));
            };
            Ok(Verified { key: key.clone(), size, checksum: Checksum::ETag(unquote(&tag)), last_modified })
        }
        .instrument(span)
        .await
    }

    /// HEADs the object of an upload and checks it is the one uploaded: same
    /// size and, when the server gave one on upload, same ETag. A mismatch
    /// (overwritten, truncated) is `Backend`, not retryable. Records the
    /// upload's SHA-256.
    pub async fn verify_upload(&self, uploaded: &Uploaded) -> Result<Verified> {
        let key = &uploaded.key;
        let span = tracing::info_span!("backup verify", bucket = %self.bucket, key = %key);
        async {
            let (size, e_tag, last_modified) = self.head_non_empty(key).await?;
            let tag_differs = matches!((&uploaded.e_tag, &e_tag), (Some(a), Some(b)) if unquote(a) != unquote(b));
            if size != uploaded.size || tag_differs {
                let message = format!(
                    "backup object {}/{key} is not the one uploaded: {size} bytes stored, {} uploaded{}",
                    self.bucket,
                    uploaded.size,
                    if tag_differs { ", and its ETag changed" } else { "" }
                );
                return Err(Error::backend(message, false));
            }
            Ok(Verified { key: key.clone(), size, checksum: Checksum::Sha256(uploaded.sha256.clone()), last_modified })
        }
        .instrument(span)
        .await
    }

    async fn head_non_empty(&self, key: &ObjectKey) -> Result<(u64, Option<String>, Timestamp)> {
        let what = format!("verification of {key}");
        let meta = self.s3.head(&self.path(key)?).await.map_err(|e| map(&self.bucket, &what, e))?;
        if meta.size == 0 {
            tracing::warn!("backup object is empty");
            return Err(Error::backend(format!("backup object {}/{key} is empty", self.bucket), false));
        }
        Ok((meta.size, meta.e_tag, Timestamp(meta.last_modified.timestamp_millis())))
    }
}

fn unquote(tag: &str) -> String {
    tag.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_print_and_parse_back() {
        for c in [Checksum::Sha256("ab".repeat(32)), Checksum::ETag("9b2cf535f27731c974343645a3985328-3".into())] {
            assert_eq!(c.to_string().parse::<Checksum>().unwrap(), c);
        }
        for bad in ["", "sha256:", "sha256:AB", "md5:abc", "etag:", "etag:a b", &format!("sha256:{}", "g".repeat(64))] {
            assert!(bad.parse::<Checksum>().is_err(), "{bad}");
        }
    }
}
