//! An OCI image index: the multi-platform image, one manifest per platform. The same document
//! shape is an OCI layout's `index.json`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::blob::Blob;
use super::descriptor::Descriptor;
use super::manifest::SCHEMA_VERSION;

pub(crate) const MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    pub(crate) schema_version: u32,
    pub(crate) media_type: String,
    pub(crate) manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

impl Index {
    pub(crate) fn new(manifests: Vec<Descriptor>, annotations: BTreeMap<String, String>) -> Index {
        Index {
            schema_version: SCHEMA_VERSION,
            media_type: MEDIA_TYPE.to_string(),
            manifests,
            annotations,
        }
    }
}

/// The image index over `manifests`, each descriptor carrying its platform.
pub(crate) fn build(
    manifests: Vec<Descriptor>,
    annotations: &BTreeMap<String, String>,
) -> Result<Blob> {
    Blob::json(MEDIA_TYPE, &Index::new(manifests, annotations.clone()))
}
