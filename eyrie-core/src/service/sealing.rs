//! Sealing secrets before they reach any store: XChaCha20-Poly1305 under a
//! key ring the embedding program supplies.
//!
//! Every [`SealedSecret`] names the id of the key that sealed it, so keys can
//! be rotated: add a new key, make it active, and call
//! [`crate::service::Eyrie::reseal_all`] to re-encrypt every stored secret
//! under it; old keys can be dropped from the ring afterwards. Each blob is
//! bound to its place (record and field) as associated data, so a blob
//! copied into another record does not open. Nonces (24 bytes) come from an
//! injected [`NonceSource`]: the core has no randomness of its own.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{Error, Result};
use crate::secret::{SealedSecret, SecretString};
use crate::validate::ValidationError;

/// Seals and opens secrets.
pub trait Sealer: Send + Sync + fmt::Debug {
    /// Encrypts `plaintext` for the place named by `context` (e.g. `cluster/12/kubeconfig`).
    fn seal(&self, plaintext: &SecretString, context: &str) -> Result<SealedSecret>;
    /// Decrypts a blob sealed for `context`.
    fn open(&self, sealed: &SealedSecret, context: &str) -> Result<SecretString>;
    /// Whether `sealed` is under the active key already.
    fn is_current(&self, sealed: &SealedSecret) -> bool;
}

/// Where nonces come from. Must never repeat a nonce under one key: use a
/// cryptographic random source (24-byte random nonces are safe for
/// XChaCha20) or a persistent counter.
pub trait NonceSource: Send + Sync + fmt::Debug {
    /// Fills `nonce` with a fresh value.
    fn fill(&self, nonce: &mut [u8; 24]);
}

/// A 256-bit key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// A key from 32 bytes of key material.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SealingKey(bytes)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// Keys by id, one of them active for sealing; any of them opens.
#[derive(Debug)]
pub struct KeyRing {
    keys: BTreeMap<String, SealingKey>,
    active: String,
    nonces: Box<dyn NonceSource>,
}

impl KeyRing {
    /// A ring with one key, active.
    pub fn new(id: impl Into<String>, key: SealingKey, nonces: impl NonceSource + 'static) -> Result<Self> {
        let id = id.into();
        check_key_id(&id)?;
        Ok(KeyRing { keys: BTreeMap::from([(id.clone(), key)]), active: id, nonces: Box::new(nonces) })
    }

    /// Adds a key (e.g. an old one still needed to open existing blobs).
    pub fn with_key(mut self, id: impl Into<String>, key: SealingKey) -> Result<Self> {
        let id = id.into();
        check_key_id(&id)?;
        self.keys.insert(id, key);
        Ok(self)
    }

    /// Adds a key and makes it the one that seals.
    pub fn with_active_key(self, id: impl Into<String>, key: SealingKey) -> Result<Self> {
        let id = id.into();
        let mut ring = self.with_key(id.clone(), key)?;
        ring.active = id;
        Ok(ring)
    }

    /// The id of the sealing key.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    fn cipher(&self, id: &str) -> Result<XChaCha20Poly1305> {
        let key = self
            .keys
            .get(id)
            .ok_or_else(|| Error::backend(format!("no key {id:?} in the key ring; cannot open this secret"), false))?;
        Ok(XChaCha20Poly1305::new((&key.0).into()))
    }
}

fn check_key_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::field("key_id", id, "must be 1-64 characters of A-Za-z0-9-_.").into())
    }
}

impl Sealer for KeyRing {
    fn seal(&self, plaintext: &SecretString, context: &str) -> Result<SealedSecret> {
        let mut nonce = [0u8; 24];
        self.nonces.fill(&mut nonce);
        let payload = Payload { msg: plaintext.expose().as_bytes(), aad: context.as_bytes() };
        let ciphertext = self
            .cipher(&self.active)?
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| Error::backend("sealing failed", false))?;
        Ok(SealedSecret { key_id: self.active.clone(), nonce: nonce.to_vec(), ciphertext })
    }

    fn open(&self, sealed: &SealedSecret, context: &str) -> Result<SecretString> {
        if sealed.nonce.len() != 24 {
            return Err(Error::Corrupt { record: context.to_owned(), reason: "sealed secret has a bad nonce".into() });
        }
        let payload = Payload { msg: &sealed.ciphertext, aad: context.as_bytes() };
        let plain = self.cipher(&sealed.key_id)?.decrypt(XNonce::from_slice(&sealed.nonce), payload).map_err(|_| {
            Error::Corrupt {
                record: context.to_owned(),
                reason: "sealed secret does not open (wrong key, wrong place or damaged)".into(),
            }
        })?;
        String::from_utf8(plain)
            .map(SecretString::new)
            .map_err(|_| Error::Corrupt { record: context.to_owned(), reason: "opened secret is not UTF-8".into() })
    }

    fn is_current(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id == self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug, Default)]
    struct Counter(AtomicU64);
    impl NonceSource for Counter {
        fn fill(&self, nonce: &mut [u8; 24]) {
            nonce[..8].copy_from_slice(&self.0.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new("k1", SealingKey::from_bytes([7; 32]), Counter::default()).unwrap()
    }

    #[test]
    fn seals_opens_and_binds_to_the_context() {
        let ring = ring();
        let secret = SecretString::new("apiVersion: v1\nkind: Config");
        let sealed = ring.seal(&secret, "cluster/1/kubeconfig").unwrap();
        assert_eq!(sealed.key_id, "k1");
        let haystack = String::from_utf8_lossy(&sealed.ciphertext);
        assert!(!haystack.contains("apiVersion"));
        assert_eq!(ring.open(&sealed, "cluster/1/kubeconfig").unwrap(), secret);
        let moved = ring.open(&sealed, "cluster/2/kubeconfig").unwrap_err();
        assert_eq!(moved.kind(), crate::ErrorKind::Corrupt);
        let mut damaged = sealed.clone();
        damaged.ciphertext[0] ^= 1;
        assert!(ring.open(&damaged, "cluster/1/kubeconfig").is_err());
        let second = ring.seal(&secret, "cluster/1/kubeconfig").unwrap();
        assert_ne!(second.nonce, sealed.nonce, "fresh nonce per seal");
    }

    #[test]
    fn rotation_keeps_old_blobs_openable() {
        let old = ring();
        let sealed = old.seal(&SecretString::new("s3cret"), "ds/1/credentials").unwrap();
        let rotated = ring().with_active_key("k2", SealingKey::from_bytes([9; 32])).unwrap();
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(&sealed, "ds/1/credentials").unwrap().expose(), "s3cret");
        let resealed = rotated.seal(&SecretString::new("s3cret"), "ds/1/credentials").unwrap();
        assert!(rotated.is_current(&resealed));
        let without_old = KeyRing::new("k2", SealingKey::from_bytes([9; 32]), Counter::default()).unwrap();
        assert!(without_old.open(&sealed, "ds/1/credentials").is_err());
        assert!(KeyRing::new("bad id", SealingKey::from_bytes([0; 32]), Counter::default()).is_err());
        assert_eq!(format!("{:?}", SealingKey::from_bytes([1; 32])), "SealingKey([redacted])");
    }
}
