//! An OCI layout on disk, read with serde_json alone and not with the xtask's reader, so that a
//! mistake in the writer is not repeated by the check.

use std::path::{Path, PathBuf};

use serde_json::Value;
use xtask::commands::image::default_tag;
use xtask::oci::blob::sha256;

use crate::Platform;

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI layout on disk.
pub struct Layout {
    dir: PathBuf,
    pub top: Value,
    /// The name of the multi-platform image in index.json.
    tag: String,
}

impl Layout {
    /// The layout at `dir` holding the image under the default tag.
    pub fn open(dir: &Path) -> Layout {
        Layout::named_as(dir, &default_tag())
    }

    pub fn named_as(dir: &Path, tag: &str) -> Layout {
        let top = json(&std::fs::read(dir.join("index.json")).expect("index.json"));
        let layout = json(&std::fs::read(dir.join("oci-layout")).expect("oci-layout"));
        assert_eq!(layout["imageLayoutVersion"], "1.0.0");
        Layout {
            dir: dir.to_path_buf(),
            top,
            tag: tag.to_string(),
        }
    }

    /// A blob's bytes, checked against its digest.
    pub fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digests");
        let data = std::fs::read(self.dir.join("blobs/sha256").join(hex))
            .unwrap_or_else(|error| panic!("blob {digest}: {error}"));
        assert_eq!(
            sha256(&data),
            digest,
            "blob content does not match its name"
        );
        data
    }

    /// The blob a descriptor points at, checked against the descriptor's size.
    pub fn fetch(&self, descriptor: &Value) -> Vec<u8> {
        let data = self.blob(
            descriptor["digest"]
                .as_str()
                .expect("descriptors have a digest"),
        );
        assert_eq!(
            Some(data.len() as u64),
            descriptor["size"].as_u64(),
            "{descriptor}"
        );
        data
    }

    /// The entry of index.json named `name`.
    pub fn named(&self, name: &str) -> &Value {
        let entries = self.top["manifests"]
            .as_array()
            .expect("index.json lists manifests");
        let named: Vec<&Value> = entries
            .iter()
            .filter(|entry| entry["annotations"][REF_NAME] == name)
            .collect();
        assert_eq!(
            named.len(),
            1,
            "index.json must name `{name}` exactly once: {}",
            self.top
        );
        named[0]
    }

    /// The multi-platform image: (descriptor, image index).
    pub fn image(&self) -> (&Value, Value) {
        let descriptor = self.named(&self.tag);
        assert_eq!(descriptor["mediaType"], INDEX_TYPE);
        (descriptor, json(&self.fetch(descriptor)))
    }

    pub fn index_digest(&self) -> String {
        self.image().0["digest"]
            .as_str()
            .expect("a digest")
            .to_string()
    }

    /// One platform's (index entry, manifest, config, compressed layer).
    pub fn platform(&self, platform: &Platform) -> (Value, Value, Value, Vec<u8>) {
        let (_, index) = self.image();
        let wanted = oci_platform(platform);
        let entries: Vec<&Value> = index["manifests"]
            .as_array()
            .expect("an index lists manifests")
            .iter()
            .filter(|entry| entry["platform"] == wanted)
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "{}: the index must list it once: {index}",
            platform.name
        );
        let entry = entries[0].clone();
        assert_eq!(entry["mediaType"], MANIFEST_TYPE);
        let manifest = json(&self.fetch(&entry));
        let config = json(&self.fetch(&manifest["config"]));
        let layers = manifest["layers"]
            .as_array()
            .expect("a manifest lists layers");
        assert_eq!(layers.len(), 1, "{}: one layer", platform.name);
        let layer = self.fetch(&layers[0]);
        (entry, manifest, config, layer)
    }
}

pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The OCI platform object the platform table implies.
fn oci_platform(platform: &Platform) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("architecture".into(), platform.arch.into());
    object.insert("os".into(), "linux".into());
    if let Some(variant) = platform.variant {
        object.insert("variant".into(), variant.into());
    }
    Value::Object(object)
}

impl Layout {
    /// Every blob a first push uploads, each once: the image's configs and layers, and those of
    /// the artifacts `index.json` lists (each SBOM's document, and the empty config they share).
    pub fn pushed_blob_count(&self) -> usize {
        let mut digests: Vec<String> = self.top["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .filter(|entry| entry["artifactType"].is_string())
            .flat_map(|entry| {
                let manifest = json(&self.fetch(entry));
                std::iter::once(manifest["config"]["digest"].to_string())
                    .chain(
                        manifest["layers"]
                            .as_array()
                            .expect("a manifest lists layers")
                            .iter()
                            .map(|layer| layer["digest"].to_string()),
                    )
                    .collect::<Vec<_>>()
            })
            .collect();
        digests.sort();
        digests.dedup();
        self.config_and_layer_count() + digests.len()
    }

    /// The configs and layers of every platform, each once: what a push uploads besides manifests
    /// and the artifacts attached to them.
    pub fn config_and_layer_count(&self) -> usize {
        let (_, index) = self.image();
        let mut digests: Vec<String> = index["manifests"]
            .as_array()
            .expect("an index lists manifests")
            .iter()
            .flat_map(|entry| {
                let manifest = json(&self.fetch(entry));
                let mut parts = vec![manifest["config"]["digest"].to_string()];
                parts.extend(
                    manifest["layers"]
                        .as_array()
                        .expect("a manifest lists layers")
                        .iter()
                        .map(|layer| layer["digest"].to_string()),
                );
                parts
            })
            .collect();
        digests.sort();
        digests.dedup();
        digests.len()
    }
}
