//! Pre-signed, time-limited GET URLs for downloads (object_store's
//! [`Signer`], SigV4 query signing), only for a key under the asking
//! tenant's namespace.

use crate::error::map;
use crate::keys::ObjectKey;
use crate::store::BackupStore;
use eyrie_core::permission::Denied;
use eyrie_core::validate::ValidationError;
use eyrie_core::{Error, NamespaceUid, Result};
use object_store::signer::{Method, Signer};
use std::fmt;
use std::time::Duration;
use tracing::Instrument;

/// How long a download URL stays valid: 1 second to 24 hours, default 15
/// minutes. Whole seconds, as SigV4's `X-Amz-Expires` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DownloadTtl(Duration);

impl DownloadTtl {
    /// The default: 15 minutes.
    pub const DEFAULT: DownloadTtl = DownloadTtl(Duration::from_secs(15 * 60));
    /// The longest allowed: 24 hours.
    pub const MAX: DownloadTtl = DownloadTtl(Duration::from_secs(24 * 3600));

    /// A TTL of `seconds`; `Invalid` outside 1 s ..= 24 h.
    pub fn from_secs(seconds: u64) -> Result<DownloadTtl, ValidationError> {
        if (1..=Self::MAX.0.as_secs()).contains(&seconds) {
            Ok(DownloadTtl(Duration::from_secs(seconds)))
        } else {
            Err(ValidationError::field("ttl", format!("{seconds} s"), "must be from 1 second to 24 hours"))
        }
    }

    /// A TTL from a duration; `Invalid` outside 1 s ..= 24 h or with a
    /// fraction of a second.
    pub fn new(ttl: Duration) -> Result<DownloadTtl, ValidationError> {
        if ttl.subsec_nanos() != 0 {
            return Err(ValidationError::field("ttl", format!("{ttl:?}"), "must be whole seconds"));
        }
        Self::from_secs(ttl.as_secs())
    }

    /// The duration.
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl Default for DownloadTtl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A pre-signed URL. It is a bearer credential until it expires, so `Debug`
/// shows the address without its query (the signature); [`DownloadUrl::as_str`]
/// gives the whole URL to hand to the user.
#[derive(Clone, PartialEq, Eq)]
pub struct DownloadUrl {
    url: String,
    ttl: DownloadTtl,
}

impl DownloadUrl {
    /// The whole URL, signature included.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// How long it was issued for.
    pub fn ttl(&self) -> DownloadTtl {
        self.ttl
    }
}

impl fmt::Debug for DownloadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("DownloadUrl").field("address", &address).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl BackupStore {
    /// A pre-signed GET URL for `key`, valid for `ttl`, issued for the tenant
    /// whose namespace is `namespace`.
    ///
    /// `Invalid` when `key` is not a well-formed backup key;
    /// `PermissionDenied` when it is not under `namespace` — the message does
    /// not repeat the key, so it names nothing of another tenant. Signing is
    /// local: nothing is sent to the server, and the object's existence is not
    /// checked (the lead's service checks the backup is `done`).
    pub async fn download_url(&self, namespace: NamespaceUid, key: &str, ttl: DownloadTtl) -> Result<DownloadUrl> {
        let key = ObjectKey::parse(key)?;
        if !key.belongs_to(namespace) {
            tracing::warn!(%namespace, "download URL refused: key outside the namespace's prefix");
            return Err(Error::PermissionDenied(Denied::from("the object is not a backup of this project")));
        }
        let span =
            tracing::info_span!("backup download url", bucket = %self.bucket, key = %key, ttl_s = ttl.0.as_secs());
        async {
            let path = self.path(&key)?;
            let url = self
                .s3
                .signed_url(Method::GET, &path, ttl.0)
                .await
                .map_err(|e| map(&self.bucket, &format!("signing of {key}"), e))?;
            Ok(DownloadUrl { url: url.to_string(), ttl })
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyrie_core::ErrorKind;

    #[test]
    fn ttl_bounds() {
        assert_eq!(DownloadTtl::default().as_duration(), Duration::from_secs(900));
        assert!(DownloadTtl::from_secs(1).is_ok());
        assert!(DownloadTtl::from_secs(86_400).is_ok());
        for bad in [0, 86_401, u64::MAX] {
            let e = eyrie_core::Error::from(DownloadTtl::from_secs(bad).unwrap_err());
            assert_eq!(e.kind(), ErrorKind::Invalid, "{bad}");
        }
        assert!(DownloadTtl::new(Duration::from_millis(1500)).is_err());
    }

    #[test]
    fn debug_hides_the_signature() {
        let url = DownloadUrl {
            url: "https://s3.example/b/k?X-Amz-Signature=deadbeef".to_owned(),
            ttl: DownloadTtl::DEFAULT,
        };
        let shown = format!("{url:?}");
        assert!(shown.contains("https://s3.example/b/k") && !shown.contains("deadbeef"), "{shown}");
    }
}
