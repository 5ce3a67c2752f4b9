//! The OCI image layout (image-spec `image-layout.md`) at `target/image/oci/`: swapped into place
//! whole, and read back (verifying every digest) by whatever ships it.
//!
//! `index.json` names the multi-platform image and each platform's image, and lists each
//! platform's SBOM and provenance artifacts with no name: an artifact is found through its
//! `subject`, as a registry's referrers API finds it, and loaders that look images up by name
//! (skopeo, umoci, podman) never see it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rustix::fs::{CWD, RenameFlags, renameat_with};
use serde::Serialize;

use super::artifact::{Artifact, EMPTY_MEDIA_TYPE};
use super::blob::{Blob, LAYOUT_BLOB_DIR, is_sha256_digest, layout_path, sha256};
use super::descriptor::Descriptor;
use super::image::Image;
use super::index::{self, Index};
use super::manifest::{self, Manifest};
use super::regular_file;
use super::staging::Staging;
use crate::escape::Escaped;
use crate::platform::Platform;

const LAYOUT_FILE: &str = "oci-layout";
pub(crate) const INDEX_FILE: &str = "index.json";
/// The most a file of a layout (`index.json` or a blob) may weigh when it is read: the largest
/// this tool writes, a platform's SBOM, is tens of kilobytes, under a manifest's limit.
const MAX_FILE_BYTES: u64 = manifest::MAX_BYTES;
/// What a read layout that is not as `cargo xtask image` wrote it is told.
const REBUILD: &str = "the layout is corrupt: rebuild it with `cargo xtask image`";
/// The annotation in `index.json` that names the image: `skopeo inspect oci:DIR:NAME` and
/// `podman load` look it up.
const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const LAYOUT_VERSION: &str = "1.0.0";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayoutVersion {
    image_layout_version: &'static str,
}

/// What `index.json` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refs {
    /// Only the multi-platform image, under the tag: what loaders given no name expect (the
    /// archive; `ctr images import` would import every other entry too).
    Image,
    /// Also each platform's image alone, under [`platform_ref`] (tools that do not pick a
    /// platform out of an index, umoci 0.4, need one manifest per name), and every referrer
    /// (the SBOMs and provenance statements), unnamed.
    Everything,
}

/// `localhost/pause:0.1.0-linux-arm-v7`: the name of one platform's image in the layout.
pub fn platform_ref(tag: &str, platform: &Platform) -> String {
    format!("{tag}-{}", platform.dir_name())
}

/// Every file of the layout, as (path relative to the layout root, contents), in a fixed order:
/// `oci-layout`, `index.json`, then the blobs by digest.
pub(crate) fn files(image: &Image, refs: Refs) -> Result<Vec<(String, Vec<u8>)>> {
    let version = serde_json::to_vec(&LayoutVersion {
        image_layout_version: LAYOUT_VERSION,
    })?;
    let mut listed = vec![named_descriptor(
        image.index.descriptor(),
        image.tag.clone(),
    )];
    let mut blobs = BTreeMap::new();
    for blob in image.blobs() {
        blobs.insert(blob.layout_path(), blob.data.clone());
    }
    if refs == Refs::Everything {
        for built in &image.platforms {
            listed.push(named_descriptor(
                built.manifest_descriptor(),
                platform_ref(&image.tag, built.platform),
            ));
        }
        for referrer in image.referrers() {
            listed.push(referrer.descriptor());
            for blob in std::iter::once(&referrer.manifest).chain(referrer.blobs()) {
                blobs.insert(blob.layout_path(), blob.data.clone());
            }
        }
    }
    let top = serde_json::to_vec(&Index::new(listed, BTreeMap::new()))?;

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

/// Writes `image`'s whole layout to `dir`, as [`write_files`] does.
#[cfg(test)]
pub(crate) fn write(image: &Image, dir: &Path) -> Result<()> {
    write_files(&files(image, Refs::Everything)?, dir)
}

/// Writes the layout of `files` (as [`files`] gives them) to `dir`. The new layout is built beside
/// it and swapped in with one `renameat2(RENAME_EXCHANGE)`, so `dir` always holds a whole layout,
/// old or new, even if the build is killed at any point.
pub(crate) fn write_files(files: &[(String, Vec<u8>)], dir: &Path) -> Result<()> {
    let staging = Staging::beside(dir)?;
    for (path, data) in files {
        let path = staging.path.join(path);
        fs::create_dir_all(path.parent().expect("layout files sit in the layout"))?;
        fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
    }
    if fs::symlink_metadata(dir).is_ok() {
        // The old layout ends up at the staging path, which `staging` removes when dropped.
        renameat_with(CWD, &staging.path, CWD, dir, RenameFlags::EXCHANGE).with_context(|| {
            format!(
                "swapping the new layout into {} (the file system must support renameat2's \
                 RENAME_EXCHANGE, as ext4, xfs, btrfs and tmpfs do): choose another --out",
                dir.display()
            )
        })?;
    } else {
        fs::rename(&staging.path, dir)
            .with_context(|| format!("renaming the new layout to {}", dir.display()))?;
    }
    Ok(())
}

/// A layout's image, read back: everything a registry needs, byte for byte.
#[derive(Debug)]
pub struct Contents {
    /// The image index, pushed last, under the tag.
    pub(crate) index: Blob,
    /// One image manifest per platform, in the index's order.
    pub(crate) manifests: Vec<Blob>,
    /// Configs and layers, each once.
    pub(crate) blobs: Vec<Blob>,
    /// Every artifact attached to the index or a manifest (each platform's SBOM, then its
    /// provenance), in `index.json`'s order, each checked to be an artifact of this image. What
    /// each is, and so how it is pushed, is the reader's to tell by its `artifact_type`: the model
    /// knows no SBOM or in-toto statement.
    pub(crate) referrers: Vec<Artifact>,
}

/// The first entry under `dir` that a layout this tool writes does not hold (`oci-layout`,
/// `index.json`, `blobs/sha256/` and regular files there named by 64 hex digits), if any.
pub(crate) fn stranger(dir: &Path) -> Result<Option<std::path::PathBuf>> {
    let blobs = dir.join(LAYOUT_BLOB_DIR);
    let expected = |path: &Path, is_file: bool| -> bool {
        match path.parent() {
            Some(parent) if parent == dir => {
                let name = path.file_name().unwrap_or_default();
                (is_file && (name == LAYOUT_FILE || name == INDEX_FILE))
                    || (!is_file && blobs.starts_with(path))
            }
            Some(parent) if parent == blobs => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                is_file && is_sha256_digest(&format!("{}{name}", super::blob::SHA256_PREFIX))
            }
            _ => !is_file && blobs.starts_with(path),
        }
    };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries =
            fs::read_dir(&directory).with_context(|| format!("listing {}", directory.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", directory.display()))?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if !expected(&path, kind.is_file()) || !(kind.is_file() || kind.is_dir()) {
                return Ok(Some(path));
            }
            if kind.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(None)
}

/// Reads the image in the layout at `dir`, checking each blob against its digest and size.
pub fn read(dir: &Path) -> Result<Contents> {
    let top_path = dir.join(INDEX_FILE);
    let top = regular_file::read(&top_path, MAX_FILE_BYTES).map_err(|refusal| {
        if refusal.is_missing() {
            anyhow::anyhow!(
                "no OCI layout at {}: build one with `cargo xtask image`",
                dir.display()
            )
        } else {
            anyhow::anyhow!("{} {refusal}: {REBUILD}", top_path.display())
        }
    })?;
    let top: Index = serde_json::from_slice(&top)
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
    let index = read_blob(dir, reference)?;
    let image_index: Index = parse(&index)?;

    let mut manifests = Vec::new();
    let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
    for descriptor in &image_index.manifests {
        let blob = read_blob(dir, descriptor)?;
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
                blobs.insert(part.digest.clone(), read_blob(dir, part)?);
            }
        }
        manifests.push(blob);
    }
    let subjects: Vec<&str> = std::iter::once(&index)
        .chain(&manifests)
        .map(|blob| blob.digest.as_str())
        .collect();
    let referrers = top
        .manifests
        .iter()
        .filter(|descriptor| descriptor.artifact_type.is_some())
        .map(|descriptor| read_referrer(dir, descriptor, &subjects))
        .collect::<Result<Vec<_>>>()?;
    Ok(Contents {
        index,
        manifests,
        blobs: blobs.into_values().collect(),
        referrers,
    })
}

/// The artifact `descriptor` lists: an image manifest with an empty config and one layer, whose
/// subject is one of `subjects` (the image's index and manifests).
fn read_referrer(dir: &Path, descriptor: &Descriptor, subjects: &[&str]) -> Result<Artifact> {
    let blob = read_blob(dir, descriptor)?;
    let rebuild = "rebuild it with `cargo xtask image`";
    if blob.media_type != manifest::MEDIA_TYPE {
        bail!(
            "{} in {} is listed as an artifact but is a {}: {rebuild}",
            blob.digest,
            dir.display(),
            blob.media_type
        );
    }
    let artifact: Manifest = parse(&blob)?;
    let (Some(artifact_type), Some(subject), [layer]) = (
        artifact.artifact_type.as_ref(),
        artifact.subject.as_ref(),
        artifact.layers.as_slice(),
    ) else {
        bail!(
            "artifact {} in {} needs an artifactType, a subject and one layer: {rebuild}",
            blob.digest,
            dir.display()
        );
    };
    if artifact.config.media_type != EMPTY_MEDIA_TYPE {
        bail!(
            "artifact {} in {} has a {} config, not the empty one: {rebuild}",
            blob.digest,
            dir.display(),
            artifact.config.media_type
        );
    }
    if !subjects.contains(&subject.digest.as_str()) {
        bail!(
            "artifact {} in {} refers to {}, which is not in the image: {rebuild}",
            blob.digest,
            dir.display(),
            subject.digest
        );
    }
    let config = &artifact.config;
    Ok(Artifact {
        artifact_type: artifact_type.clone(),
        subject: subject.clone(),
        config: read_blob(dir, config)?,
        layer: read_blob(dir, layer)?,
        manifest: blob,
    })
}

/// The blob `descriptor` points at, checked against its digest and size. The digest is checked
/// for its form before it becomes a path (`sha256:../../dev/zero` names no blob), the file must
/// be a regular one, and no more than the descriptor's size is read.
fn read_blob(dir: &Path, descriptor: &Descriptor) -> Result<Blob> {
    if !is_sha256_digest(&descriptor.digest) {
        bail!(
            "{} names the digest `{}`, not `sha256:` and 64 lower-case hex digits: {REBUILD}",
            dir.display(),
            Escaped(&descriptor.digest)
        );
    }
    let path = dir.join(layout_path(&descriptor.digest));
    if descriptor.size > MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes, its descriptor says, over the {MAX_FILE_BYTES} a layout's file may weigh: {REBUILD}",
            path.display(),
            descriptor.size
        );
    }
    let data = regular_file::read(&path, descriptor.size).map_err(|refusal| match refusal {
        refusal if refusal.is_missing() => {
            anyhow::anyhow!("{} is missing from the layout: {REBUILD}", path.display())
        }
        regular_file::Refusal::Longer(size) => anyhow::anyhow!(
            "{} holds more than the {size} bytes its descriptor says: {REBUILD}",
            path.display()
        ),
        refusal => anyhow::anyhow!("{} {refusal}: {REBUILD}", path.display()),
    })?;
    if data.len() as u64 != descriptor.size || sha256(&data) != descriptor.digest {
        bail!(
            "{} does not match its digest or size: {REBUILD}",
            path.display()
        );
    }
    Ok(Blob::new(&descriptor.media_type, data))
}

fn parse<T: serde::de::DeserializeOwned>(blob: &Blob) -> Result<T> {
    serde_json::from_slice(&blob.data).with_context(|| {
        format!(
            "{} is not a valid {}",
            blob.digest,
            Escaped(&blob.media_type)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::{INDEX_FILE, Refs, files, read, stranger, write};
    use crate::build::assemble::tests::{every_platform, image_of};
    use crate::oci::blob::LAYOUT_BLOB_DIR;
    use crate::platform::PLATFORMS;

    fn entries(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Writing over an existing layout swaps in the new one whole: none of the old blobs stay,
    /// and no scratch directory is left beside it.
    #[test]
    fn rewriting_the_layout_replaces_it_whole() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        for epoch in [0, 1_700_000_000] {
            let image = image_of(&[(&PLATFORMS[0], b"binary".to_vec())], epoch);
            write(&image, &dir).unwrap();
            assert_eq!(read(&dir).unwrap().index.digest, image.index.digest);
            assert_eq!(
                fs::read_dir(dir.join(LAYOUT_BLOB_DIR)).unwrap().count(),
                9,
                "index, manifest, config and layer of the last image only, its SBOM's \
                 manifest, empty config and document, and its provenance's manifest and \
                 statement"
            );
        }
        assert_eq!(entries(scratch.path()), ["oci"]);
    }

    /// The reader that pushing uses gives back the written bytes, every blob once.
    #[test]
    fn the_layout_reads_back_byte_for_byte() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        let image = every_platform(0);
        write(&image, &dir).unwrap();
        let contents = read(&dir).unwrap();
        assert_eq!(contents.index, image.index);
        let manifests: Vec<_> = image
            .platforms
            .iter()
            .map(|built| built.manifest.clone())
            .collect();
        assert_eq!(contents.manifests, manifests);
        assert_eq!(
            contents.blobs.len(),
            2 * PLATFORMS.len(),
            "a config and a layer per platform"
        );
        for blob in &contents.blobs {
            assert!(image.blobs().any(|built| built == blob), "{}", blob.digest);
        }
        assert!(
            contents.referrers.iter().eq(image.referrers()),
            "every SBOM and provenance artifact, in platform order"
        );
    }

    /// Loaders find images by name: the archive's `index.json` is the image alone, the layout's
    /// names every image and lists each SBOM and provenance, unnamed, with its artifactType.
    #[test]
    fn referrers_are_listed_unnamed_and_only_in_the_layout() {
        let image = every_platform(0);
        let index_of = |refs| -> serde_json::Value {
            let files = files(&image, refs).unwrap();
            serde_json::from_slice(&files[1].1).unwrap()
        };
        let archive = index_of(Refs::Image);
        assert_eq!(archive["manifests"].as_array().unwrap().len(), 1);
        let layout = index_of(Refs::Everything);
        let listed = layout["manifests"].as_array().unwrap();
        assert_eq!(listed.len(), 1 + 3 * PLATFORMS.len());
        let unnamed: Vec<&str> = listed
            .iter()
            .filter(|entry| entry["annotations"].is_null())
            .map(|entry| entry["artifactType"].as_str().expect("an artifactType"))
            .collect();
        assert_eq!(unnamed.len(), 2 * PLATFORMS.len());
        for pair in unnamed.chunks(2) {
            assert_eq!(
                pair,
                ["application/spdx+json", "application/vnd.in-toto+json"]
            );
        }
    }

    /// A listed artifact whose subject is not in the image is refused, naming it.
    #[test]
    fn a_referrer_of_something_else_is_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        let mut image = image_of(&[(&PLATFORMS[0], b"a".to_vec())], 0);
        let stranger =
            crate::oci::blob::Blob::new(crate::oci::manifest::MEDIA_TYPE, b"{}".to_vec());
        let sbom = image.platforms[0].sbom.as_ref().expect("an SBOM");
        image.platforms[0].sbom = Some(
            crate::oci::artifact::attach(
                stranger.descriptor(),
                sbom.layer.clone(),
                "x",
                Default::default(),
            )
            .unwrap(),
        );
        write(&image, &dir).unwrap();
        let error = read(&dir).unwrap_err().to_string();
        assert!(
            error.contains(&stranger.digest) && error.contains("not in the image"),
            "{error}"
        );
    }

    /// A reader never finds the layout missing while it is rewritten: there is no moment between
    /// moving the old one away and the new one in.
    #[test]
    fn the_layout_never_disappears_while_it_is_rewritten() {
        const REWRITES: usize = 200;
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        let images = [
            image_of(&[(&PLATFORMS[0], b"a".to_vec())], 0),
            image_of(&[(&PLATFORMS[0], b"b".to_vec())], 0),
        ];
        write(&images[0], &dir).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let misses = Arc::new(AtomicUsize::new(0));
        let watcher = {
            let (done, misses, index) = (done.clone(), misses.clone(), dir.join(INDEX_FILE));
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    if !index.exists() {
                        misses.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        for round in 0..REWRITES {
            write(&images[round % 2], &dir).unwrap();
        }
        done.store(true, Ordering::SeqCst);
        watcher.join().unwrap();
        assert_eq!(
            misses.load(Ordering::SeqCst),
            0,
            "index.json was missing during a rewrite"
        );
    }

    /// Scratch directories that a killed build left beside the layout are removed by the next
    /// write; one of a build still running is not.
    #[test]
    fn a_killed_build_leaves_nothing_behind_after_the_next() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        // No process has pid 4194304 (above the kernel's PID_MAX_LIMIT); pid 1 always runs.
        let dead = scratch.path().join(".oci.new-4194304");
        let alive = scratch.path().join(".oci.new-1");
        for leftover in [&dead, &alive] {
            fs::create_dir_all(leftover.join("blobs")).unwrap();
        }
        write(&image_of(&[(&PLATFORMS[0], b"a".to_vec())], 0), &dir).unwrap();
        assert_eq!(entries(scratch.path()), [".oci.new-1", "oci"]);
    }

    /// A layout as written holds no stranger; a file of anyone else's, anywhere in it, is named.
    #[test]
    fn what_a_layout_does_not_hold_is_named() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("oci");
        let image = image_of(&[(&PLATFORMS[0], b"a".to_vec())], 0);
        write(&image, &dir).unwrap();
        assert_eq!(stranger(&dir).unwrap(), None);
        for (path, named) in [
            ("notes/thesis.txt", "notes"),
            ("blobs/sha256/not-a-digest", "blobs/sha256/not-a-digest"),
            ("blobs/sha512/x", "blobs/sha512"),
            ("index.json.orig", "index.json.orig"),
        ] {
            let scratch = tempfile::tempdir().unwrap();
            let dir = scratch.path().join("oci");
            write(&image, &dir).unwrap();
            fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            fs::write(dir.join(path), b"mine").unwrap();
            assert_eq!(stranger(&dir).unwrap(), Some(dir.join(named)), "{path}");
        }
    }
}
