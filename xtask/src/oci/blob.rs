//! Content-addressed blobs and the OCI descriptors that point at them.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::platform::{OS, Platform};

pub const SHA256_PREFIX: &str = "sha256:";

/// Bytes as they are stored and pushed, with their media type and `sha256:` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256(&data),
            data,
        }
    }

    /// A JSON document. Every document is a struct (or a `BTreeMap`) serialised compactly, so the
    /// same values always give the same bytes and so the same digest.
    pub fn json(media_type: &str, document: &impl Serialize) -> Result<Blob> {
        let data =
            serde_json::to_vec(document).with_context(|| format!("serialising a {media_type}"))?;
        Ok(Blob::new(media_type, data))
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The digest's hex part: the blob's file name in an OCI layout.
    pub fn hex(&self) -> &str {
        digest_hex(&self.digest)
    }

    /// `blobs/sha256/<hex>`: where an OCI layout keeps it.
    pub fn layout_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex())
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size(),
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// `sha256:<64 hex digits>`.
pub fn sha256(data: &[u8]) -> String {
    let hash = Sha256::digest(data);
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{SHA256_PREFIX}{hex}")
}

/// The hex digits of a `sha256:` digest.
pub fn digest_hex(digest: &str) -> &str {
    digest.strip_prefix(SHA256_PREFIX).unwrap_or(digest)
}

/// An OCI content descriptor; fields serialise in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The platform fields shared by an image config and its entry in the image index, so the two
/// always match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl From<&Platform> for OciPlatform {
    fn from(platform: &Platform) -> OciPlatform {
        OciPlatform {
            architecture: platform.arch.to_string(),
            os: OS.to_string(),
            variant: platform.variant.map(str::to_string),
        }
    }
}
