//! An OCI image index: the multi-platform image, one manifest per platform. The same document
//! shape is an OCI layout's `index.json`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::blob::{Blob, Descriptor};
use crate::manifest::SCHEMA_VERSION;

pub const MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Index {
    pub fn new(manifests: Vec<Descriptor>, annotations: BTreeMap<String, String>) -> Index {
        Index {
            schema_version: SCHEMA_VERSION,
            media_type: MEDIA_TYPE.to_string(),
            manifests,
            annotations,
        }
    }
}

/// The image index over `manifests`, each descriptor carrying its platform.
pub fn build(manifests: Vec<Descriptor>, annotations: &BTreeMap<String, String>) -> Result<Blob> {
    Blob::json(MEDIA_TYPE, &Index::new(manifests, annotations.clone()))
}
