//! `cargo xtask image`: the multi-platform OCI image, with no container engine. Builds the binaries,
//! assembles one layer, config and manifest per platform and an index over them, checks the size
//! budget, then writes the OCI layout `target/image/oci/` and the loadable `target/image/pause.tar`.
//! Every input is fixed (the binaries, `image/image.toml`, SOURCE_DATE_EPOCH, the git commit), so
//! two builds give the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::blob::{Blob, Descriptor};
use crate::definition::{self, CREATED, Definition, REVISION, VERSION};
use crate::platform::{PLATFORMS, Platform};
use crate::{archive, build, config, epoch, index, layer, layout, manifest, project};

/// The most a platform's compressed layer may weigh.
pub const MAX_LAYER_BYTES: u64 = 1_536;
/// The most a platform's layer, config and manifest may weigh together.
pub const MAX_PLATFORM_BYTES: u64 = 3_072;

/// The repository part of the default tag. `localhost/` is where podman puts an unqualified
/// name anyway; spelling it out gives docker, podman and containerd the same name on load.
pub const DEFAULT_REPOSITORY: &str = "localhost/pause";

pub struct Options {
    /// The name the image is stored and loaded under, `REPOSITORY:TAG`.
    pub tag: String,
    pub platforms: Vec<&'static Platform>,
    /// The directory receiving `oci/` and `pause.tar`.
    pub out: PathBuf,
}

/// The assembled image, every document serialised.
pub struct Image {
    pub tag: String,
    /// The image index over every platform's manifest.
    pub index: Blob,
    pub platforms: Vec<PlatformImage>,
}

/// One platform's image.
pub struct PlatformImage {
    pub platform: &'static Platform,
    pub layer: Blob,
    pub diff_id: String,
    pub config: Blob,
    pub manifest: Blob,
}

impl PlatformImage {
    /// Layer, config and manifest: what a pull of this platform downloads.
    pub fn total_bytes(&self) -> u64 {
        self.layer.size() + self.config.size() + self.manifest.size()
    }

    /// The manifest's descriptor with its platform, as indexes list it.
    pub fn manifest_descriptor(&self) -> Descriptor {
        Descriptor {
            platform: Some(self.platform.into()),
            ..self.manifest.descriptor()
        }
    }
}

impl Image {
    /// Every blob the index reaches, the index included.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.index).chain(
            self.platforms
                .iter()
                .flat_map(|built| [&built.manifest, &built.config, &built.layer]),
        )
    }
}

/// `localhost/pause:<workspace version>`.
pub fn default_tag() -> String {
    format!("{DEFAULT_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// `target/image`.
pub fn default_out() -> PathBuf {
    project::target_dir().join("image")
}

/// `<out>/oci`: the OCI layout.
pub fn layout_dir(out: &Path) -> PathBuf {
    out.join("oci")
}

/// `<out>/pause.tar`: the OCI layout archive that is also a docker-archive.
pub fn archive_path(out: &Path) -> PathBuf {
    out.join("pause.tar")
}

pub fn run(sh: &Shell, options: &Options) -> Result<Image> {
    check_tag(&options.tag)?;
    let definition = definition::load()?;
    let epoch = epoch::seconds()?;
    let platforms = in_table_order(&options.platforms);
    if platforms.is_empty() {
        bail!(
            "--platform lists no platform: choose from {}",
            crate::platform::all_names()
        );
    }

    let binaries = build::build(sh, &platforms)?;
    let contents = binaries
        .iter()
        .map(|binary| {
            let bytes = std::fs::read(&binary.path)
                .with_context(|| format!("reading {}", binary.path.display()))?;
            Ok((binary.platform, bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let image = assemble(
        &definition,
        &contents,
        &options.tag,
        epoch,
        project::git_revision(sh),
    )?;
    print_sizes(&image);
    check_sizes(&image)?;

    let layout_dir = layout_dir(&options.out);
    layout::write(&image, &layout_dir)?;
    let archive_path = archive_path(&options.out);
    let docker_platform = docker_platform(&image);
    archive::write(&image, docker_platform, epoch, &archive_path)?;

    println!(
        "index {} ({} bytes)",
        image.index.digest,
        image.index.size()
    );
    println!(
        "wrote {} as {}",
        project::relative(&layout_dir).display(),
        image.tag
    );
    println!(
        "wrote {} (docker-archive image: {})",
        project::relative(&archive_path).display(),
        docker_platform.name
    );
    Ok(image)
}

/// Builds every document of the image from the binaries, with no I/O: the same arguments give the
/// same bytes.
pub fn assemble(
    definition: &Definition,
    binaries: &[(&'static Platform, Vec<u8>)],
    tag: &str,
    epoch: u64,
    revision: Option<String>,
) -> Result<Image> {
    let created = epoch::rfc3339(epoch);
    let annotations = annotations(definition, &created, revision);
    let mut platforms = Vec::new();
    for (platform, binary) in binaries {
        let layer = layer::build(&definition.binary, binary, epoch)?;
        let config = config::build(definition, platform, &layer.diff_id, &created)?;
        let manifest = manifest::build(&config, &layer.blob, &annotations)?;
        platforms.push(PlatformImage {
            platform,
            layer: layer.blob,
            diff_id: layer.diff_id,
            config,
            manifest,
        });
    }
    let index = index::build(
        platforms
            .iter()
            .map(PlatformImage::manifest_descriptor)
            .collect(),
        &annotations,
    )?;
    Ok(Image {
        tag: tag.to_string(),
        index,
        platforms,
    })
}

/// The definition's annotations plus the computed ones.
fn annotations(
    definition: &Definition,
    created: &str,
    revision: Option<String>,
) -> BTreeMap<String, String> {
    let mut annotations = definition.annotations.clone();
    annotations.insert(CREATED.to_string(), created.to_string());
    annotations.insert(VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
    if let Some(revision) = revision {
        annotations.insert(REVISION.to_string(), revision);
    }
    annotations
}

/// The requested platforms once each, in the table's order, so that the index does not depend on
/// how `--platform` was spelled.
fn in_table_order(requested: &[&'static Platform]) -> Vec<&'static Platform> {
    PLATFORMS
        .iter()
        .filter(|platform| requested.contains(platform))
        .collect()
}

/// The host's platform when the image has it, else the first: a docker-archive holds one.
fn docker_platform(image: &Image) -> &'static Platform {
    let host = Platform::host();
    image
        .platforms
        .iter()
        .map(|built| built.platform)
        .find(|&platform| Some(platform) == host)
        .unwrap_or(image.platforms[0].platform)
}

fn print_sizes(image: &Image) {
    println!(
        "{:<16} {:>6} {:>7} {:>9} {:>6}",
        "platform", "layer", "config", "manifest", "total"
    );
    for built in &image.platforms {
        println!(
            "{:<16} {:>6} {:>7} {:>9} {:>6}",
            built.platform.name,
            built.layer.size(),
            built.config.size(),
            built.manifest.size(),
            built.total_bytes()
        );
    }
}

/// Fails on the first platform over budget, writing nothing.
pub fn check_sizes(image: &Image) -> Result<()> {
    for built in &image.platforms {
        let name = built.platform.name;
        if built.layer.size() > MAX_LAYER_BYTES {
            bail!(
                "{name}: the compressed layer is {} bytes, over the {MAX_LAYER_BYTES}-byte budget: \
                 shrink the binary (`cargo xtask build` shows its size)",
                built.layer.size()
            );
        }
        if built.total_bytes() > MAX_PLATFORM_BYTES {
            bail!(
                "{name}: layer + config + manifest is {} bytes, over the {MAX_PLATFORM_BYTES}-byte budget: \
                 shrink the binary or the annotations in image/image.toml",
                built.total_bytes()
            );
        }
    }
    Ok(())
}

/// `REPOSITORY:TAG` as docker spells it: lower-case path components, an optional registry host
/// (with port) first, and a tag of at most 128 word characters, dots and dashes.
pub fn check_tag(tag: &str) -> Result<()> {
    const MAX_TAG_LENGTH: usize = 128;
    let fix = "give --tag as REPOSITORY:TAG, e.g. localhost/pause:0.1.0";
    let Some((repository, version)) = tag
        .rsplit_once(':')
        .filter(|(repository, version)| !repository.is_empty() && !version.contains('/'))
    else {
        bail!("--tag `{tag}` has no tag: {fix}");
    };
    let tag_ok = version.len() <= MAX_TAG_LENGTH
        && version
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphanumeric() || first == '_')
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let mut components = repository.split('/').peekable();
    let host = components.next_if(|first| first.contains(['.', ':']) || *first == "localhost");
    let host_ok = host.is_none_or(|host| {
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
    });
    let path: Vec<&str> = components.collect();
    let path_ok = !path.is_empty()
        && path.iter().all(|component| {
            !component.is_empty()
                && component
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && component.starts_with(|c: char| c.is_ascii_alphanumeric())
                && component.ends_with(|c: char| c.is_ascii_alphanumeric())
        });
    if !(tag_ok && host_ok && path_ok) {
        bail!("--tag `{tag}` is not a valid image reference: {fix}");
    }
    Ok(())
}
