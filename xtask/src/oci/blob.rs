//! Content-addressed blobs: bytes with their media type and `sha256:` digest.

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::descriptor::Descriptor;

/// The one digest algorithm the image uses, as digests spell it.
pub(crate) const SHA256_PREFIX: &str = "sha256:";
/// Where an OCI layout keeps sha256 blobs, by hex digest.
pub(crate) const LAYOUT_BLOB_DIR: &str = "blobs/sha256";

/// Bytes as they are stored and pushed, with their media type and `sha256:` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub(crate) fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256(&data),
            data,
        }
    }

    /// A JSON document. Every document is a struct (or a `BTreeMap`) serialised compactly, so the
    /// same values always give the same bytes and so the same digest.
    pub(crate) fn json(media_type: &str, document: &impl Serialize) -> Result<Blob> {
        let data =
            serde_json::to_vec(document).with_context(|| format!("serialising a {media_type}"))?;
        Ok(Blob::new(media_type, data))
    }

    pub(crate) fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// `blobs/sha256/<hex>`: where an OCI layout keeps it.
    pub(crate) fn layout_path(&self) -> String {
        layout_path(&self.digest)
    }

    pub(crate) fn descriptor(&self) -> Descriptor {
        Descriptor::new(&self.media_type, &self.digest, self.size())
    }
}

/// `sha256:<64 hex digits>`.
pub fn sha256(data: &[u8]) -> String {
    format!("{SHA256_PREFIX}{}", hex(&Sha256::digest(data)))
}

/// Lower-case hex of `bytes`, as digests and SBOM checksums spell them.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The hex digits of a `sha256:` digest.
pub(crate) fn digest_hex(digest: &str) -> &str {
    digest.strip_prefix(SHA256_PREFIX).unwrap_or(digest)
}

/// `blobs/sha256/<hex>` for a digest: the blob's path in an OCI layout.
pub(crate) fn layout_path(digest: &str) -> String {
    format!("{LAYOUT_BLOB_DIR}/{}", digest_hex(digest))
}

/// Whether `text` is a well-formed `sha256:` digest: 64 lower-case hex digits.
pub(crate) fn is_sha256_digest(text: &str) -> bool {
    const HEX_DIGITS: usize = 64;
    text.strip_prefix(SHA256_PREFIX).is_some_and(|hex| {
        hex.len() == HEX_DIGITS
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
