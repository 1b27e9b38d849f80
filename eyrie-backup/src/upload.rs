//! Upload of one backup object: one PUT for a body up to one part, a
//! multipart upload (object_store's `WriteMultipart`) beyond, with the body's
//! SHA-256 computed as it streams.

use crate::error::map;
use crate::keys::ObjectKey;
use crate::store::BackupStore;
use eyrie_core::{Error, Result};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::Instrument;

/// What an upload stored: the receipt to record and to verify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Where it went.
    pub key: ObjectKey,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the whole body, 64 lowercase hex digits.
    pub sha256: String,
    /// The entity tag the server gave the new object, if any.
    pub e_tag: Option<String>,
    /// Parts sent: 1 for a single PUT.
    pub parts: usize,
}

const READ_BUFFER: usize = 256 * 1024;

impl BackupStore {
    /// Uploads `body` to `key`, overwriting an object already there.
    ///
    /// A body up to [`crate::S3Options::part_size`] goes up in one PUT; a
    /// longer one as a multipart upload of parts of that size, at most
    /// [`crate::S3Options::upload_concurrency`] in flight. A failed multipart
    /// upload is aborted, so no part is left behind. An empty body is stored
    /// (and then fails [`BackupStore::verify`]).
    pub async fn upload<R>(&self, key: &ObjectKey, mut body: R) -> Result<Uploaded>
    where
        R: AsyncRead + Unpin + Send,
    {
        let span = tracing::info_span!("backup upload", bucket = %self.bucket, key = %key);
        async {
            let what = format!("upload of {key}");
            let path = self.path(key)?;
            let part_size = self.options.part_size;
            let mut hasher = Sha256::new();
            let mut first = Vec::new();
            let mut buffer = vec![0; READ_BUFFER];
            // Read up to one part and one byte: that decides PUT or multipart.
            while first.len() <= part_size {
                let n = read(&mut body, &mut buffer).await?;
                if n == 0 {
                    break;
                }
                first.extend_from_slice(&buffer[..n]);
            }
            hasher.update(&first);
            let mut size = first.len() as u64;
            if first.len() <= part_size {
                let put = self.s3.put(&path, PutPayload::from(first)).await.map_err(|e| map(&self.bucket, &what, e))?;
                tracing::info!(size, parts = 1, "backup object stored");
                return Ok(Uploaded { key: key.clone(), size, sha256: hex(&hasher.finalize()), e_tag: put.e_tag, parts: 1 });
            }
            let upload = self.s3.put_multipart(&path).await.map_err(|e| map(&self.bucket, &what, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
            writer.write(&first);
            drop(first);
            let streamed: Result<()> = async {
                loop {
                    writer
                        .wait_for_capacity(self.options.upload_concurrency.max(1))
                        .await
                        .map_err(|e| map(&self.bucket, &what, e))?;
                    let n = read(&mut body, &mut buffer).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    hasher.update(&buffer[..n]);
                    size += n as u64;
                    writer.write(&buffer[..n]);
                }
            }
            .await;
            if let Err(e) = streamed {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "aborting the multipart upload failed; the bucket's lifecycle rule must clean it up");
                }
                return Err(e);
            }
            let parts = size.div_ceil(part_size as u64) as usize;
            let put = writer.finish().await.map_err(|e| map(&self.bucket, &what, e))?;
            tracing::info!(size, parts, "backup object stored");
            Ok(Uploaded { key: key.clone(), size, sha256: hex(&hasher.finalize()), e_tag: put.e_tag, parts })
        }
        .instrument(span)
        .await
    }
}

async fn read<R: AsyncRead + Unpin>(body: &mut R, buffer: &mut [u8]) -> Result<usize> {
    body.read(buffer).await.map_err(|e| Error::backend(format!("reading the backup body failed: {e}"), false))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_in_hex() {
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(hex(&Sha256::digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
