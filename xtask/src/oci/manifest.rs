//! An OCI image manifest: one platform's config and layer, or (image-spec 1.1) an artifact that
//! refers to another manifest through `subject`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::blob::Blob;
use super::descriptor::Descriptor;

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The only schema version of image-spec v1 documents.
pub(crate) const SCHEMA_VERSION: u32 = 2;
/// The most a manifest or index may weigh when read, from a registry or a layout: 4 MiB, the
/// size the distribution spec says clients and registries should handle. Ours are a few KiB.
pub(crate) const MAX_BYTES: u64 = 4 << 20;

/// Fields serialise in the image spec's order. `artifactType` and `subject` are left out when
/// absent, so the image's own manifests keep the bytes (and digests) they had before artifacts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub(crate) schema_version: u32,
    pub(crate) media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) artifact_type: Option<String>,
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
    /// The manifest this one is about: registries list it among that manifest's referrers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

pub(crate) fn build(
    config: &Blob,
    layer: &Blob,
    annotations: &BTreeMap<String, String>,
) -> Result<Blob> {
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        media_type: MEDIA_TYPE.to_string(),
        artifact_type: None,
        config: config.descriptor(),
        layers: vec![layer.descriptor()],
        subject: None,
        annotations: annotations.clone(),
    };
    Blob::json(MEDIA_TYPE, &manifest)
}
