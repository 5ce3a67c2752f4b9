//! OCI content descriptors (image-spec `descriptor.md`) and the platform object they carry in an
//! index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::{OS, Platform};

/// An OCI content descriptor; fields serialise in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<OciPlatform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
    /// What an artifact manifest holds (image-spec 1.1), repeated in the descriptors that point at
    /// it so a reader can pick it out without fetching it. Absent on the image's own descriptors,
    /// which keep their exact bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) artifact_type: Option<String>,
}

impl Descriptor {
    pub(crate) fn new(media_type: &str, digest: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest.to_string(),
            size,
            platform: None,
            annotations: BTreeMap::new(),
            artifact_type: None,
        }
    }
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

impl std::fmt::Display for OciPlatform {
    /// `linux/arm/v7`, as `--platform` spells it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}
