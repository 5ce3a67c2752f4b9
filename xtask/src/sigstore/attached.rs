//! The images cosign attaches to a manifest digest under a tag of their own,
//! `sha256-<hex>.<suffix>`: `.sig` (simple-signing payloads, `simple_signing`) and `.att` (DSSE
//! envelopes, `attestation`). Each is an image manifest whose every layer is one document with
//! its annotations, and whose config go-containerregistry derives from those layers (a layer is
//! stored uncompressed, so its diff ID is its digest; one history entry per layer; Go's zero
//! time). cosign maintains them by read, append, write: [`append`] is that step, pure — the
//! registry side fetches the existing manifest, calls it, and pushes what it returns.
//!
//! Structs have go-containerregistry's field order (a descriptor's `size` before `digest`), and
//! keep whatever else another tool wrote (`flatten`), so appending never drops a field of theirs.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::oci::blob::{Blob, digest_hex};
use crate::oci::{config, manifest};

/// Go's zero `time.Time`, as cosign's configs and history entries carry it.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// `rootfs.type` of every image config.
const ROOTFS_TYPE: &str = "layers";

/// go-containerregistry's manifest.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttachedManifest {
    pub(crate) schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) media_type: String,
    pub(crate) config: GoDescriptor,
    pub(crate) layers: Vec<GoDescriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
    /// Fields another tool wrote that cosign's manifests do not have (`subject`, ...).
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoDescriptor {
    pub(crate) media_type: String,
    pub(crate) size: u64,
    pub(crate) digest: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
    /// Fields another tool wrote (`urls`, `platform`, ...).
    #[serde(flatten)]
    pub(crate) other: Map<String, Value>,
}

/// go-containerregistry's config of an empty image with layers appended: every field it writes,
/// in its order.
#[derive(Serialize)]
struct AttachedConfig {
    architecture: &'static str,
    created: &'static str,
    history: Vec<History>,
    os: &'static str,
    rootfs: RootFs,
    config: Empty,
}

#[derive(Serialize)]
struct History {
    created: &'static str,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct Empty {}

/// One document to attach, and the annotations its layer carries.
pub(crate) struct Layer {
    pub(crate) blob: Blob,
    pub(crate) annotations: BTreeMap<String, String>,
}

/// The attached image after appending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attached {
    /// The manifest to push under the tag.
    pub(crate) manifest: Blob,
    /// Its config.
    pub(crate) config: Blob,
    /// Whether every layer was there already, with the same annotations: then `manifest` is the
    /// existing one, byte for byte, and nothing needs pushing.
    pub(crate) unchanged: bool,
}

/// `sha256-<hex>.<suffix>`: the tag cosign keeps `digest`'s `suffix` (`sig`, `att`) under.
pub(crate) fn tag(digest: &str, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", digest_hex(digest))
}

/// Appends `layers` to the attached manifest `existing` (its bytes, when the registry has one;
/// `what` names it in an error): every layer already there stays, whole and first; a layer whose
/// digest is there with the same values for every annotation given is not added again.
pub(crate) fn append(existing: Option<&[u8]>, what: &str, layers: &[Layer]) -> Result<Attached> {
    let mut document = match existing {
        Some(bytes) => serde_json::from_slice::<AttachedManifest>(bytes).with_context(|| {
            format!(
                "the registry's {what} does not hold an image manifest of cosign's: \
                 nothing was changed; remove that tag (cosign clean) or push to another \
                 repository"
            )
        })?,
        None => AttachedManifest {
            schema_version: manifest::SCHEMA_VERSION,
            media_type: manifest::MEDIA_TYPE.to_string(),
            config: GoDescriptor {
                media_type: config::MEDIA_TYPE.to_string(),
                size: 0,
                digest: String::new(),
                annotations: BTreeMap::new(),
                other: Map::new(),
            },
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            other: Map::new(),
        },
    };
    let mut added = false;
    for layer in layers {
        let present = document.layers.iter().any(|old| {
            old.digest == layer.blob.digest
                && layer
                    .annotations
                    .iter()
                    .all(|(key, value)| old.annotations.get(key) == Some(value))
        });
        if !present {
            document.layers.push(GoDescriptor {
                media_type: layer.blob.media_type.clone(),
                size: layer.blob.size(),
                digest: layer.blob.digest.clone(),
                annotations: layer.annotations.clone(),
                other: Map::new(),
            });
            added = true;
        }
    }
    let media_type = if document.media_type.is_empty() {
        manifest::MEDIA_TYPE.to_string()
    } else {
        document.media_type.clone()
    };
    let config = config_of(&document.config.media_type, &document.layers)?;
    let manifest = match existing {
        Some(bytes) if !added => Blob::new(&media_type, bytes.to_vec()),
        _ => {
            document.config.size = config.size();
            document.config.digest = config.digest.clone();
            Blob::json(&media_type, &document)?
        }
    };
    Ok(Attached {
        manifest,
        config,
        unchanged: existing.is_some() && !added,
    })
}

/// The layers of `media_type` in the attached manifest `manifest` (its bytes), in order, with
/// their annotations; layers of other types are another tool's and are passed over.
pub(crate) fn layers_of(manifest: &[u8], media_type: &str) -> Result<Vec<GoDescriptor>> {
    let document = serde_json::from_slice::<AttachedManifest>(manifest)
        .map_err(|error| anyhow::anyhow!("it is not an image manifest ({error})"))?;
    Ok(document
        .layers
        .into_iter()
        .filter(|layer| layer.media_type == media_type)
        .collect())
}

/// The config go-containerregistry computes for an empty image with `layers` appended.
fn config_of(media_type: &str, layers: &[GoDescriptor]) -> Result<Blob> {
    let config = AttachedConfig {
        architecture: "",
        created: ZERO_TIME,
        history: layers
            .iter()
            .map(|_| History { created: ZERO_TIME })
            .collect(),
        os: "",
        rootfs: RootFs {
            kind: ROOTFS_TYPE,
            diff_ids: layers.iter().map(|layer| layer.digest.clone()).collect(),
        },
        config: Empty {},
    };
    Blob::json(media_type, &config)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Layer, append, tag};
    use crate::oci::blob::Blob;

    fn layer(content: &[u8], annotation: &str) -> Layer {
        Layer {
            blob: Blob::new("application/x-test", content.to_vec()),
            annotations: BTreeMap::from([("a".to_string(), annotation.to_string())]),
        }
    }

    #[test]
    fn the_tag_names_the_digest_and_the_kind() {
        assert_eq!(tag("sha256:ab12", "att"), "sha256-ab12.att");
    }

    /// Fields this xtask does not model, on the manifest and on a layer, survive an append.
    #[test]
    fn appending_keeps_what_other_tools_wrote() {
        let theirs = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1,"digest":"sha256:00"},"layers":[{"mediaType":"application/x-theirs","size":3,"digest":"sha256:11","annotations":{"k":"v"},"urls":["https://example.com/x"]}],"subject":{"mediaType":"m","size":1,"digest":"sha256:22"}}"#;
        let appended = append(Some(theirs.as_bytes()), "test tag", &[layer(b"ours", "1")]).unwrap();
        assert!(!appended.unchanged);
        let before: serde_json::Value = serde_json::from_str(theirs).unwrap();
        let after: serde_json::Value = serde_json::from_slice(&appended.manifest.data).unwrap();
        assert_eq!(
            after["layers"][0], before["layers"][0],
            "their layer, whole"
        );
        assert_eq!(after["subject"], before["subject"]);
        assert_eq!(after["layers"].as_array().unwrap().len(), 2);
        assert_eq!(after["config"]["digest"], appended.config.digest.as_str());
        let config: serde_json::Value = serde_json::from_slice(&appended.config.data).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!(["sha256:11", after["layers"][1]["digest"]])
        );
    }

    /// The same layer with the same annotations is there once; with another value it is added.
    #[test]
    fn the_same_layer_twice_is_added_once() {
        let first = append(None, "test tag", &[layer(b"x", "1"), layer(b"x", "1")]).unwrap();
        assert!(!first.unchanged);
        let again = append(Some(&first.manifest.data), "test tag", &[layer(b"x", "1")]).unwrap();
        assert!(again.unchanged);
        assert_eq!(again.manifest, first.manifest);
        let other = append(Some(&first.manifest.data), "test tag", &[layer(b"x", "2")]).unwrap();
        assert!(!other.unchanged);
    }

    #[test]
    fn what_is_not_a_manifest_is_refused_naming_it() {
        for broken in [&b"<html>"[..], br#"{"schemaVersion":2,"manifests":[]}"#] {
            let error = format!(
                "{:#}",
                append(Some(broken), "sha256-ab.att", &[layer(b"x", "1")]).unwrap_err()
            );
            assert!(
                error.contains("sha256-ab.att") && error.contains("nothing was changed"),
                "{error}"
            );
        }
    }
}
