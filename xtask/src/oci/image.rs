//! The image model: one layer, config and manifest per platform and the index over them, each
//! platform's SBOM and provenance attached to its manifest as an artifact, every document
//! serialised. `build::assemble` makes one; `layout` and `archive` write it.

use super::artifact::Artifact;
use super::blob::Blob;
use super::descriptor::Descriptor;
use crate::platform::Platform;

/// The assembled image, every document serialised.
pub(crate) struct Image {
    /// The name it is stored and loaded under, `REPOSITORY:TAG`.
    pub(crate) tag: String,
    /// The image index over every platform's manifest.
    pub(crate) index: Blob,
    pub(crate) platforms: Vec<PlatformImage>,
}

/// One platform's image.
pub(crate) struct PlatformImage {
    pub(crate) platform: &'static Platform,
    pub(crate) layer: Blob,
    pub(crate) config: Blob,
    pub(crate) manifest: Blob,
    /// Its SPDX document, attached to `manifest` as an OCI 1.1 artifact; none for a binary this
    /// project did not build.
    pub(crate) sbom: Option<Artifact>,
    /// Its SLSA provenance, an in-toto statement attached the same way (unsigned: the push signs
    /// it); none for a binary this project did not build.
    pub(crate) provenance: Option<Artifact>,
}

impl PlatformImage {
    /// Layer, config and manifest: what a pull of this platform downloads.
    pub(crate) fn total_bytes(&self) -> u64 {
        self.layer.size() + self.config.size() + self.manifest.size()
    }

    /// The manifest's descriptor with its platform, as indexes list it.
    pub(crate) fn manifest_descriptor(&self) -> Descriptor {
        Descriptor {
            platform: Some(self.platform.into()),
            ..self.manifest.descriptor()
        }
    }
}

impl Image {
    /// Every blob the index reaches, the index included.
    pub(crate) fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.index).chain(
            self.platforms
                .iter()
                .flat_map(|built| [&built.manifest, &built.config, &built.layer]),
        )
    }

    /// The artifacts that refer to the image's manifests: each platform's SBOM, then its
    /// provenance.
    pub(crate) fn referrers(&self) -> impl Iterator<Item = &Artifact> {
        self.platforms
            .iter()
            .flat_map(|built| [built.sbom.as_ref(), built.provenance.as_ref()])
            .flatten()
    }
}
