//! OCI content descriptors (image-spec `descriptor.md`) and the platform object they carry in an
//! index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::{OS, PLATFORMS, Platform};

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

impl OciPlatform {
    /// The platform table's entry this names, if any.
    fn in_table(&self) -> Option<&'static Platform> {
        PLATFORMS
            .iter()
            .find(|platform| OciPlatform::from(*platform) == *self)
    }
}

impl std::fmt::Display for OciPlatform {
    /// The platform table's one name (`linux/arm64`, `linux/arm/v7`), as `--platform` takes it
    /// and every command prints it: arm64's descriptor carries the variant `v8`, which the name
    /// leaves out. A platform outside the table as `os/architecture[/variant]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(platform) = self.in_table() {
            return f.write_str(platform.name);
        }
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OciPlatform;
    use crate::platform::PLATFORMS;

    #[test]
    fn a_platform_prints_as_the_table_names_it() {
        for platform in PLATFORMS {
            assert_eq!(OciPlatform::from(platform).to_string(), platform.name);
        }
        let arm64 = OciPlatform {
            architecture: "arm64".to_string(),
            os: "linux".to_string(),
            variant: Some("v8".to_string()),
        };
        assert_eq!(arm64.to_string(), "linux/arm64");
        let mips = OciPlatform {
            architecture: "mips64le".to_string(),
            os: "linux".to_string(),
            variant: None,
        };
        assert_eq!(mips.to_string(), "linux/mips64le");
    }
}
