//! An OCI layout on disk, read with serde_json alone and not with the xtask's reader, so that a
//! mistake in the writer is not repeated by the check.

use std::path::{Path, PathBuf};

use serde_json::Value;
use xtask::build::image::default_tag;
use xtask::oci::blob::sha256;

use crate::Platform;

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The artifact type of an unsigned in-toto statement (a platform's provenance) in the layout.
const IN_TOTO_TYPE: &str = "application/vnd.in-toto+json";

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
    /// Every blob an unsigned first push uploads, each once: the image's configs and layers, and
    /// those of the artifacts `index.json` lists to be pushed as they are (each SBOM's document,
    /// and the empty config they share; not the unsigned in-toto statements, pushed only signed).
    pub fn pushed_blob_count(&self) -> usize {
        let mut digests: Vec<String> = self.top["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .filter(|entry| {
                entry["artifactType"].is_string() && entry["artifactType"] != IN_TOTO_TYPE
            })
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

/// A copy of a layout that a test changes the way another build, or an attacker, would: every
/// edit stores the changed document as a new blob and points everything above it at the new
/// digest (config → manifest → index → `index.json`), so the copy stays a valid layout that the
/// pusher sends as it is. An edited manifest loses the SBOM attached to its old digest, which no
/// longer describes it (the pusher refuses an SBOM whose subject is not in the image).
pub struct EditedLayout {
    dir: PathBuf,
}

impl EditedLayout {
    /// A copy of the layout `from` at `to` (which must not exist).
    pub fn copy(from: &Path, to: &Path) -> EditedLayout {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .expect("running cp");
        assert!(status.success(), "copying {} failed", from.display());
        EditedLayout {
            dir: to.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digests");
        self.dir.join("blobs/sha256").join(hex)
    }

    fn bytes(&self, digest: &str) -> Vec<u8> {
        std::fs::read(self.blob_path(digest)).unwrap_or_else(|error| panic!("{digest}: {error}"))
    }

    fn document(&self, digest: &str) -> Value {
        json(&self.bytes(digest))
    }

    /// Stores `bytes` as a blob; returns its digest.
    fn store(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        std::fs::write(self.blob_path(&digest), bytes).expect("writing a blob");
        digest
    }

    /// Points `descriptor` at `document`, stored.
    fn store_into(&self, document: &Value, descriptor: &mut Value) {
        let bytes = serde_json::to_vec(document).expect("JSON");
        descriptor["digest"] = self.store(&bytes).into();
        descriptor["size"] = bytes.len().into();
    }

    fn top(&self) -> Value {
        json(&std::fs::read(self.dir.join("index.json")).expect("index.json"))
    }

    fn write_top(&self, top: &Value) {
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(top).expect("JSON"),
        )
        .expect("writing index.json");
    }

    /// The multi-platform index's digest.
    pub fn index_digest(&self) -> String {
        self.index_entry(&self.top())["digest"]
            .as_str()
            .expect("a digest")
            .to_string()
    }

    fn index_entry(&self, top: &Value) -> Value {
        top["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .find(|entry| entry["mediaType"] == INDEX_TYPE)
            .expect("the layout names its image index")
            .clone()
    }

    /// Changes the image index with `edit`.
    pub fn edit_index(&self, edit: impl FnOnce(&mut Value)) {
        let mut top = self.top();
        let entry = top["manifests"]
            .as_array_mut()
            .expect("index.json lists manifests")
            .iter_mut()
            .find(|entry| entry["mediaType"] == INDEX_TYPE)
            .expect("the layout names its image index");
        let mut index = self.document(entry["digest"].as_str().expect("a digest"));
        edit(&mut index);
        self.store_into(&index, entry);
        self.write_top(&top);
    }

    /// Changes the manifest of platform `at` (in the index's order) with `edit`; the index and
    /// `index.json` follow, and the SBOM of the old manifest goes.
    pub fn edit_manifest(&self, at: usize, edit: impl FnOnce(&mut Value)) {
        let old = {
            let index = self.document(&self.index_digest());
            index["manifests"][at]["digest"]
                .as_str()
                .expect("a digest")
                .to_string()
        };
        let mut manifest = self.document(&old);
        edit(&mut manifest);
        let mut new = Value::Null;
        self.edit_index(|index| {
            self.store_into(&manifest, &mut index["manifests"][at]);
            new = index["manifests"][at]["digest"].clone();
        });
        let mut top = self.top();
        let entries = top["manifests"]
            .as_array_mut()
            .expect("index.json lists manifests");
        entries.retain(|entry| {
            entry["artifactType"].is_null()
                || self.document(entry["digest"].as_str().expect("a digest"))["subject"]["digest"]
                    != old.as_str()
        });
        for entry in entries
            .iter_mut()
            .filter(|entry| entry["digest"] == old.as_str())
        {
            entry["digest"] = new.clone();
            entry["size"] = serde_json::to_vec(&manifest).expect("JSON").len().into();
        }
        self.write_top(&top);
    }

    /// The compressed layer of platform `at`.
    pub fn layer(&self, at: usize) -> Vec<u8> {
        let index = self.document(&self.index_digest());
        let manifest = self.document(index["manifests"][at]["digest"].as_str().expect("a digest"));
        self.bytes(manifest["layers"][0]["digest"].as_str().expect("a digest"))
    }

    /// Replaces the layer of platform `at` with `layer` (gzip-compressed): its config's diff ID
    /// and the manifest follow.
    pub fn replace_layer(&self, at: usize, layer: &[u8]) {
        use std::io::Read;
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(layer)
            .read_to_end(&mut tar)
            .expect("a gzip layer");
        let diff_id = sha256(&tar);
        let layer_digest = self.store(layer);
        self.edit_manifest(at, |manifest| {
            let mut config =
                self.document(manifest["config"]["digest"].as_str().expect("a digest"));
            config["rootfs"]["diff_ids"][0] = diff_id.into();
            self.store_into(&config, &mut manifest["config"]);
            manifest["layers"][0]["digest"] = layer_digest.into();
            manifest["layers"][0]["size"] = layer.len().into();
        });
    }

    /// Lists no artifact: the image alone, without its SBOMs.
    pub fn drop_referrers(&self) {
        let mut top = self.top();
        top["manifests"]
            .as_array_mut()
            .expect("index.json lists manifests")
            .retain(|entry| entry["artifactType"].is_null());
        self.write_top(&top);
    }
}

/// `layer` (gzip-compressed, one file) with one byte of that file flipped, recompressed.
pub fn flip_a_byte(layer: &[u8], offset_in_file: usize) -> Vec<u8> {
    use std::io::{Read, Write};
    /// A tar header's size: the file's data follows the first one.
    const TAR_BLOCK: usize = 512;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(layer)
        .read_to_end(&mut tar)
        .expect("a gzip layer");
    tar[TAR_BLOCK + offset_in_file] ^= 0xff;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&tar).expect("compressing");
    gzip.finish().expect("compressing")
}
