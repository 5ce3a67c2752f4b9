//! The OCI image layout (image-spec `image-layout.md`) at `target/image/oci/`: written atomically,
//! and read back (verifying every digest) by whatever ships it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::blob::{Blob, Descriptor, digest_hex, sha256};
use crate::image::Image;
use crate::index::{self, Index};
use crate::manifest::{self, Manifest};
use crate::platform::Platform;

pub const LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
/// The annotation in `index.json` that names the image: `skopeo inspect oci:DIR:NAME` and
/// `podman load` look it up.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const LAYOUT_VERSION: &str = "1.0.0";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayoutVersion {
    image_layout_version: &'static str,
}

/// Which images `index.json` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refs {
    /// Only the multi-platform image, under the tag: what loaders given no name expect.
    Image,
    /// Also each platform's image alone, under [`platform_ref`]: tools that do not pick a
    /// platform out of an index (umoci 0.4) need one manifest per name.
    ImageAndPlatforms,
}

/// `localhost/pause:0.1.0-linux-arm-v7`: the name of one platform's image in the layout.
pub fn platform_ref(tag: &str, platform: &Platform) -> String {
    format!("{tag}-{}", platform.dir_name())
}

/// Every file of the layout, as (path relative to the layout root, contents), in a fixed order:
/// `oci-layout`, `index.json`, then the blobs by digest.
pub fn files(image: &Image, refs: Refs) -> Result<Vec<(String, Vec<u8>)>> {
    let version = serde_json::to_vec(&LayoutVersion {
        image_layout_version: LAYOUT_VERSION,
    })?;
    let mut named = vec![named_descriptor(
        image.index.descriptor(),
        image.tag.clone(),
    )];
    if refs == Refs::ImageAndPlatforms {
        for built in &image.platforms {
            named.push(named_descriptor(
                built.manifest_descriptor(),
                platform_ref(&image.tag, built.platform),
            ));
        }
    }
    let top = serde_json::to_vec(&Index::new(named, BTreeMap::new()))?;

    let mut blobs = BTreeMap::new();
    for blob in image.blobs() {
        blobs.insert(blob.layout_path(), blob.data.clone());
    }
    let mut files = vec![
        (LAYOUT_FILE.to_string(), version),
        (INDEX_FILE.to_string(), top),
    ];
    files.extend(blobs);
    Ok(files)
}

fn named_descriptor(mut descriptor: Descriptor, name: String) -> Descriptor {
    descriptor
        .annotations
        .insert(REF_NAME_ANNOTATION.to_string(), name);
    descriptor
}

/// Writes the layout to `dir`, replacing what is there only once the new one is complete: it is
/// built in a sibling directory and renamed into place.
pub fn write(image: &Image, dir: &Path) -> Result<()> {
    let staging = Sibling::new(dir, "new")?;
    for (path, data) in files(image, Refs::ImageAndPlatforms)? {
        let path = staging.path.join(path);
        fs::create_dir_all(path.parent().expect("layout files sit in the layout"))?;
        fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    let old = Sibling::new(dir, "old")?;
    if dir.exists() {
        fs::rename(dir, &old.path)
            .with_context(|| format!("moving the old layout {} aside", dir.display()))?;
    }
    if let Err(error) = fs::rename(&staging.path, dir) {
        if old.path.exists() {
            let _ = fs::rename(&old.path, dir);
        }
        return Err(error).with_context(|| format!("renaming the new layout to {}", dir.display()));
    }
    Ok(())
}

/// A scratch directory next to the layout (same file system, so renames are atomic), removed
/// when dropped whatever happened.
struct Sibling {
    path: PathBuf,
}

impl Sibling {
    fn new(dir: &Path, purpose: &str) -> Result<Sibling> {
        let parent = dir
            .parent()
            .context("the layout directory needs a parent")?;
        let name = dir
            .file_name()
            .context("the layout directory needs a name")?
            .to_string_lossy();
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let path = parent.join(format!(".{name}.{purpose}-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        Ok(Sibling { path })
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A layout's image, read back: everything a registry needs, byte for byte.
#[derive(Debug)]
pub struct Contents {
    /// `org.opencontainers.image.ref.name` of the image in `index.json`.
    pub ref_name: String,
    /// The image index, pushed last, under the tag.
    pub index: Blob,
    /// One image manifest per platform, in the index's order.
    pub manifests: Vec<Blob>,
    /// Configs and layers, each once.
    pub blobs: Vec<Blob>,
}

/// Reads the image in the layout at `dir`, checking each blob against its digest and size.
pub fn read(dir: &Path) -> Result<Contents> {
    let top_path = dir.join(INDEX_FILE);
    let top: Index = serde_json::from_slice(&fs::read(&top_path).with_context(|| {
        format!(
            "no OCI layout at {}: build one with `cargo xtask image`",
            dir.display()
        )
    })?)
    .with_context(|| format!("{} is not an OCI index", top_path.display()))?;
    let indexes: Vec<&Descriptor> = top
        .manifests
        .iter()
        .filter(|descriptor| descriptor.media_type == index::MEDIA_TYPE)
        .collect();
    let [reference] = indexes.as_slice() else {
        bail!(
            "{} names {} image indexes, expected the one `cargo xtask image` writes: rebuild it",
            top_path.display(),
            indexes.len()
        );
    };
    let ref_name = reference
        .annotations
        .get(REF_NAME_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    let index = read_blob(
        dir,
        &reference.media_type,
        &reference.digest,
        reference.size,
    )?;
    let image_index: Index = parse(&index)?;

    let mut manifests = Vec::new();
    let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
    for descriptor in &image_index.manifests {
        let blob = read_blob(
            dir,
            &descriptor.media_type,
            &descriptor.digest,
            descriptor.size,
        )?;
        if blob.media_type != manifest::MEDIA_TYPE {
            bail!(
                "{} in {} is a {}, not an image manifest",
                blob.digest,
                dir.display(),
                blob.media_type
            );
        }
        let manifest: Manifest = parse(&blob)?;
        for part in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !blobs.contains_key(&part.digest) {
                blobs.insert(
                    part.digest.clone(),
                    read_blob(dir, &part.media_type, &part.digest, part.size)?,
                );
            }
        }
        manifests.push(blob);
    }
    Ok(Contents {
        ref_name,
        index,
        manifests,
        blobs: blobs.into_values().collect(),
    })
}

fn read_blob(dir: &Path, media_type: &str, digest: &str, size: u64) -> Result<Blob> {
    let path = dir.join("blobs/sha256").join(digest_hex(digest));
    let data = fs::read(&path).with_context(|| {
        format!(
            "{} is missing from the layout: rebuild it with `cargo xtask image`",
            path.display()
        )
    })?;
    if sha256(&data) != digest || data.len() as u64 != size {
        bail!(
            "{} does not match its digest or size: the layout is corrupt, rebuild it with `cargo xtask image`",
            path.display()
        );
    }
    Ok(Blob::new(media_type, data))
}

fn parse<T: serde::de::DeserializeOwned>(blob: &Blob) -> Result<T> {
    serde_json::from_slice(&blob.data)
        .with_context(|| format!("{} is not a valid {}", blob.digest, blob.media_type))
}
