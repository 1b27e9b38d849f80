//! Secret values: [`SecretString`] for plaintext in memory and
//! [`SealedSecret`] for what entities hold and stores persist.
//!
//! A `SecretString` is never `Serialize`, so it cannot reach a store or a log
//! through serde by accident, and its `Debug`/`Display` print `[redacted]`.
//! Entities carry secrets only as `SealedSecret`: an encrypted blob that names
//! the key it was sealed with. Sealing and opening happen in the service
//! ([`crate::service::sealing`]: XChaCha20-Poly1305 under a key ring that the
//! embedding program supplies); this module only defines the shapes.

use std::fmt;

/// A secret in plaintext, in memory only. Not serializable; redacted when
/// printed.
///
/// ```
/// use eyrie_core::SecretString;
/// let s = SecretString::new("hunter2");
/// assert_eq!(format!("{s:?} {s}"), "SecretString([redacted]) [redacted]");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a plaintext secret.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The plaintext. Call it only where the value is handed to its consumer
    /// (a sealer, a cluster client), never to format or log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// An encrypted secret as entities hold it: the id of the key that sealed it,
/// the nonce and the ciphertext (with its authentication tag). `Debug` shows
/// the key id and the length only.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SealedSecret {
    /// Which key of the key ring sealed it.
    pub key_id: String,
    /// The nonce used for this blob.
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret(key {}, {} bytes)", self.key_id, self.ciphertext.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_debug_hides_the_bytes() {
        let s = SealedSecret { key_id: "k1".into(), nonce: vec![1; 24], ciphertext: vec![0xAB; 40] };
        let shown = format!("{s:?}");
        assert_eq!(shown, "SealedSecret(key k1, 40 bytes)");
        assert!(!shown.contains("171"));
    }
}
