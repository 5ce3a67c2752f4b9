//! An OCI image manifest: one platform's config and layer.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::blob::{Blob, Descriptor};

pub const MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The only schema version of image-spec v1 documents.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

pub fn build(config: &Blob, layer: &Blob, annotations: &BTreeMap<String, String>) -> Result<Blob> {
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        media_type: MEDIA_TYPE.to_string(),
        config: config.descriptor(),
        layers: vec![layer.descriptor()],
        annotations: annotations.clone(),
    };
    Blob::json(MEDIA_TYPE, &manifest)
}
