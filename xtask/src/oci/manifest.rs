//! An OCI image manifest: one platform's config and layer.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::blob::Blob;
use super::descriptor::Descriptor;

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The only schema version of image-spec v1 documents.
pub(crate) const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub(crate) schema_version: u32,
    pub(crate) media_type: String,
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
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
        config: config.descriptor(),
        layers: vec![layer.descriptor()],
        annotations: annotations.clone(),
    };
    Blob::json(MEDIA_TYPE, &manifest)
}
