//! An OCI 1.1 artifact attached to a manifest: an image manifest whose `artifactType` says what it
//! carries, whose config is the spec's empty descriptor (`{}`), whose one layer is the content,
//! and whose `subject` is the manifest it is about. Registries list it among that manifest's
//! referrers; an image layout lists it in `index.json`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::blob::Blob;
use super::descriptor::Descriptor;
use super::manifest::{self, Manifest, SCHEMA_VERSION};

/// The image spec's empty descriptor: media type and the two bytes it always holds.
pub(crate) const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub(crate) const EMPTY_DATA: &[u8] = b"{}";
/// The layer annotation ORAS and others use as the layer's file name.
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// An artifact manifest and the blobs it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub(crate) artifact_type: String,
    /// The manifest it refers to (no platform: as the artifact manifest's `subject` spells it).
    pub(crate) subject: Descriptor,
    pub(crate) manifest: Blob,
    /// The empty config.
    pub(crate) config: Blob,
    pub(crate) layer: Blob,
}

impl Artifact {
    /// The manifest's descriptor with its `artifactType`, as an index lists it.
    pub(crate) fn descriptor(&self) -> Descriptor {
        Descriptor {
            artifact_type: Some(self.artifact_type.clone()),
            ..self.manifest.descriptor()
        }
    }

    /// The manifest's descriptor as a registry lists it among its subject's referrers
    /// (distribution-spec 1.1: its `artifactType` and the manifest's annotations), and so as the
    /// referrers tag schema's index must list it too: readers filter on both without fetching.
    pub(crate) fn referrer_descriptor(&self) -> Result<Descriptor> {
        let manifest: Manifest = serde_json::from_slice(&self.manifest.data)
            .context("an artifact's own manifest does not parse")?;
        Ok(Descriptor {
            annotations: manifest.annotations,
            ..self.descriptor()
        })
    }

    /// The config and the layer.
    pub(crate) fn blobs(&self) -> [&Blob; 2] {
        [&self.config, &self.layer]
    }
}

/// The empty config blob every artifact shares.
pub(crate) fn empty_config() -> Blob {
    Blob::new(EMPTY_MEDIA_TYPE, EMPTY_DATA.to_vec())
}

/// Attaches `content` (whose media type is the artifact type) to the manifest `subject`
/// describes; `title` names the layer as a file, `annotations` go on the artifact manifest.
pub(crate) fn attach(
    subject: Descriptor,
    content: Blob,
    title: &str,
    annotations: BTreeMap<String, String>,
) -> Result<Artifact> {
    let config = empty_config();
    let subject = Descriptor::new(&subject.media_type, &subject.digest, subject.size);
    let mut layer = content.descriptor();
    layer
        .annotations
        .insert(TITLE_ANNOTATION.to_string(), title.to_string());
    let document = Manifest {
        schema_version: SCHEMA_VERSION,
        media_type: manifest::MEDIA_TYPE.to_string(),
        artifact_type: Some(content.media_type.clone()),
        config: config.descriptor(),
        layers: vec![layer],
        subject: Some(subject.clone()),
        annotations,
    };
    Ok(Artifact {
        artifact_type: content.media_type.clone(),
        subject,
        manifest: Blob::json(manifest::MEDIA_TYPE, &document)?,
        config,
        layer: content,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{attach, empty_config};
    use crate::oci::blob::Blob;
    use crate::oci::manifest::MEDIA_TYPE;

    /// The spec's empty descriptor: `{}`, whose digest every registry and tool knows.
    #[test]
    fn the_empty_config_is_the_specs() {
        let config = empty_config();
        assert_eq!(config.size(), 2);
        assert_eq!(
            config.digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn the_manifest_points_at_its_subject_and_says_what_it_carries() {
        let subject = Blob::new(MEDIA_TYPE, b"{}".to_vec());
        let mut with_platform = subject.descriptor();
        with_platform.platform = Some((&crate::platform::PLATFORMS[0]).into());
        let content = Blob::new("application/spdx+json", b"{\"spdxVersion\":1}".to_vec());
        let annotations = BTreeMap::from([("a".to_string(), "b".to_string())]);
        let artifact = attach(with_platform, content.clone(), "x.spdx.json", annotations).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&artifact.manifest.data).unwrap();
        assert_eq!(manifest["artifactType"], "application/spdx+json");
        assert_eq!(
            manifest["subject"],
            serde_json::to_value(subject.descriptor()).unwrap(),
            "the subject descriptor carries no platform"
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
        assert_eq!(manifest["layers"][0]["digest"], content.digest.as_str());
        assert_eq!(
            manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
            "x.spdx.json"
        );
        assert_eq!(manifest["annotations"]["a"], "b");
        assert_eq!(
            artifact.descriptor().artifact_type.as_deref(),
            Some("application/spdx+json")
        );
        assert!(
            artifact.descriptor().annotations.is_empty(),
            "as the layout lists it"
        );
        let listed = artifact.referrer_descriptor().unwrap();
        assert_eq!(
            listed.annotations["a"], "b",
            "as the referrers API lists it"
        );
        assert_eq!(
            listed.artifact_type.as_deref(),
            Some("application/spdx+json")
        );
        assert_eq!(listed.digest, artifact.manifest.digest);
    }
}
