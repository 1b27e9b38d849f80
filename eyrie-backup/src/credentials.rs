//! [`S3Credentials`]: the access key pair an `s3like` datasource seals.
//!
//! # Format
//!
//! The datasource's `credentials` secret, as
//! `Eyrie::open_datasource_credentials` returns it, holds
//! `ACCESS_KEY_ID:SECRET_ACCESS_KEY` — the access key id, one colon, the
//! secret access key. The access key id is 1–128 characters without a colon
//! or white space (AWS ids are 16–128 alphanumerics); the secret is
//! everything after the first colon, 1–1024 characters, and may itself
//! contain colons. Surrounding white space (a trailing newline from a file)
//! is trimmed. Nothing else (no session token, no JSON) is accepted.

use eyrie_core::SecretString;
use eyrie_core::validate::ValidationError;
use std::fmt;

/// An S3 access key pair. `Debug` shows the access key id only; the secret
/// never leaves this value except to the S3 client.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
}

impl S3Credentials {
    /// Parses `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (see the module docs).
    /// `Invalid` names the field `credentials` and never echoes the secret.
    pub fn parse(secret: &SecretString) -> Result<S3Credentials, ValidationError> {
        let (access_key_id, secret_access_key) = eyrie_core::executor::ObjectStorage::parse_credentials(secret)?;
        Ok(S3Credentials { access_key_id, secret_access_key })
    }

    /// A key pair from its parts (tests, programs that hold them apart).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: SecretString) -> S3Credentials {
        S3Credentials { access_key_id: access_key_id.into(), secret_access_key }
    }

    /// The access key id (not secret: it shows in logs of S3 servers).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key, for the S3 client only.
    pub(crate) fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let c = S3Credentials::parse(&SecretString::new("AKIDEXAMPLE:wJal/rXU:tnFEMI\n")).unwrap();
        assert_eq!(c.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(c.secret_access_key().expose(), "wJal/rXU:tnFEMI");
    }

    #[test]
    fn debug_and_errors_never_show_the_secret() {
        let c = S3Credentials::parse(&SecretString::new("AKID:hunter2")).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID") && !shown.contains("hunter2"), "{shown}");
        for bad in ["hunter2", ":hunter2", "AKID:", "A KID:hunter2", "AKID:hun\u{7}ter2"] {
            let e = S3Credentials::parse(&SecretString::new(bad)).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
