//! `target/image/pause.tar`: one tarball that is at once an OCI layout archive (`oci-layout`,
//! `index.json`, `blobs/`) and a docker-archive (`manifest.json`, whose paths point at the same
//! blobs), so every loader finds what it looks for: `docker load`, `podman load`,
//! `ctr images import`, `skopeo copy oci-archive:`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::image::Image;
use super::layout::{self, Refs};
use super::staging::Staging;
use super::tarball::{DATA_FILE, DIRECTORY, Tarball};
use crate::platform::Platform;

/// The docker-archive's table of contents.
const DOCKER_MANIFEST: &str = "manifest.json";
const BLOB_DIRECTORIES: &[&str] = &["blobs/", "blobs/sha256/"];

/// One image of a docker-archive.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerImage<'a> {
    config: String,
    repo_tags: [&'a str; 1],
    layers: Vec<String>,
}

/// The archive's bytes. A docker-archive holds one platform: `docker_platform`'s image is the
/// one tagged there.
pub(crate) fn bytes(image: &Image, docker_platform: &Platform, mtime: u64) -> Result<Vec<u8>> {
    let docker = image
        .platforms
        .iter()
        .find(|built| built.platform == docker_platform)
        .context("the docker-archive platform is not in the image")?;
    let manifest = [DockerImage {
        config: docker.config.layout_path(),
        repo_tags: [&image.tag],
        layers: vec![docker.layer.layout_path()],
    }];

    let mut tarball = Tarball::new(mtime);
    for directory in BLOB_DIRECTORIES {
        tarball.directory(directory, DIRECTORY)?;
    }
    for (name, data) in layout::files(image, Refs::Image)? {
        tarball.file(&name, DATA_FILE, &data)?;
    }
    tarball.file(DOCKER_MANIFEST, DATA_FILE, &serde_json::to_vec(&manifest)?)?;
    tarball.finish()
}

/// Writes the archive to `path` (through a scratch file renamed into place). A docker-archive
/// holds one platform: `docker_platform`'s image is the one tagged there.
pub(crate) fn write(
    image: &Image,
    docker_platform: &Platform,
    mtime: u64,
    path: &Path,
) -> Result<()> {
    write_bytes(&bytes(image, docker_platform, mtime)?, path)
}

/// Writes the archive `bytes` to `path`, through a scratch file renamed into place.
pub(crate) fn write_bytes(bytes: &[u8], path: &Path) -> Result<()> {
    let staging = Staging::beside(path)?;
    fs::write(&staging.path, bytes)
        .with_context(|| format!("writing {}", staging.path.display()))?;
    fs::rename(&staging.path, path)
        .with_context(|| format!("renaming {} to {}", staging.path.display(), path.display()))
}
