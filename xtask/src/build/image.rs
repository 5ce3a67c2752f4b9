//! The multi-platform OCI image of this checkout, with no container engine: what `cargo xtask
//! image` and `cargo xtask test` make, and what `cargo xtask verify` rebuilds. Builds the
//! binaries (`pause`), assembles the image (`assemble`), checks the size budget, then writes the
//! OCI layout `target/image/oci/` and the loadable `target/image/pause.tar` (or `--out DIR`'s),
//! holding the directory for the run and replacing only what it wrote there (`oci::out_dir`).
//! Every input is fixed (the binaries, `image/image.toml`, SOURCE_DATE_EPOCH, the git commit), so
//! two builds give the same bytes; the provenance adds where the build ran, read once from the
//! environment here.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use super::assemble::{self, Inputs};
use super::pause;
use crate::attest::provenance::{self, Build, Builder, Lockfile};
use crate::oci::blob::sha256;
use crate::oci::definition::Definition;
use crate::oci::image::Image;
use crate::oci::out_dir::OutDir;
use crate::oci::reference::Reference;
use crate::oci::timestamp;
use crate::platform::{PLATFORMS, Platform};
use crate::progress::Progress;
use crate::project;

pub use crate::oci::layer::MAX_LAYER_BYTES;
/// The most a platform's layer, config and manifest may weigh together.
pub const MAX_PLATFORM_BYTES: u64 = 3_072;

/// The repository part of the default tag. `localhost/` is where podman puts an unqualified
/// name anyway; spelling it out gives docker, podman and containerd the same name on load.
const DEFAULT_REPOSITORY: &str = "localhost/pause";
/// The image's definition, relative to the repository root.
const DEFINITION: &str = provenance::IMAGE_DEFINITION;
/// The lock files whose crates go into the image, relative to the repository root: pause's own
/// (the crates linked into the binary) and the root workspace's (the xtask, whose tar and gzip
/// writers and JSON serialiser make every other byte of the image).
const LOCKFILES: &[&str] = &["pause/Cargo.lock", "Cargo.lock"];

pub struct Options {
    /// The name the image is stored and loaded under, `REPOSITORY:TAG`.
    pub tag: String,
    pub platforms: Vec<&'static Platform>,
    /// The directory receiving `oci/` and `pause.tar`.
    pub out: PathBuf,
    /// Where the sizes and what was written are said: stdout, the result of `cargo xtask
    /// image`; stderr when a push follows, whose result is the pushed reference.
    pub progress: Progress,
}

impl Default for Options {
    /// Every platform, the default tag, `target/image`.
    fn default() -> Options {
        Options {
            tag: default_tag(),
            platforms: PLATFORMS.iter().collect(),
            out: project::image_dir(),
            progress: Progress::Stdout,
        }
    }
}

/// `localhost/pause:<workspace version>`.
pub fn default_tag() -> String {
    format!("{DEFAULT_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// Builds and writes the image; nothing is written unless every check passed.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    check_tag(&options.tag)?;
    let epoch = timestamp::parse(std::env::var(timestamp::VAR).ok().as_deref())?;
    let platforms = in_table_order(&options.platforms);
    pause::check_platforms(&platforms)?;
    // Before the build: a refusal costs nothing, and two runs over one DIR take turns.
    let out = OutDir::hold(&options.out, options.out == project::image_dir())?;
    let record = build_record(sh)?;
    let quiet = options.progress == Progress::Quiet;
    let image = build(sh, &options.tag, &platforms, epoch, Some(&record), quiet)?;
    print_sizes(&image, options.progress);
    check_sizes(&image)?;

    let layout_dir = project::layout_dir(&options.out);
    let archive_path = project::archive_path(&options.out);
    let docker_platform = docker_platform(&image);
    out.write(&image, docker_platform, epoch)?;

    let say = |line: String| options.progress.say(&line);
    say(format!(
        "index {} ({} bytes)",
        image.index.digest,
        image.index.size()
    ));
    say(format!(
        "wrote {} as {}",
        project::relative(&layout_dir).display(),
        image.tag
    ));
    say(format!(
        "wrote {} (docker-archive image: {})",
        project::relative(&archive_path).display(),
        docker_platform.name
    ));
    Ok(())
}

/// The image this checkout builds for `platforms` (in the table's order), dated `epoch`, named
/// `tag`, with the provenance `record` gives (none: no provenance): the binaries built, the
/// materials asked, every document assembled; nothing written. `cargo xtask verify` rebuilds a
/// published image with it, with the published date. `quiet` leaves out cargo's command line.
pub(crate) fn build(
    sh: &Shell,
    tag: &str,
    platforms: &[&'static Platform],
    epoch: u64,
    record: Option<&Build>,
    quiet: bool,
) -> Result<Image> {
    let definition = load_definition()?;
    let binaries = pause::build(sh, platforms, quiet)?;
    let contents = binaries
        .iter()
        .map(|binary| {
            let bytes = std::fs::read(&binary.path)
                .with_context(|| format!("reading {}", binary.path.display()))?;
            Ok((binary.platform, bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let revision = project::git_revision(sh);
    let materials = pause::materials(sh, platforms)?;
    let inputs = Inputs {
        definition: &definition,
        tag,
        epoch,
        revision: revision.as_deref(),
        materials: Some(&materials),
        build: record,
    };
    assemble::assemble(&inputs, &contents)
}

/// What the provenance says about the build besides the materials: the commit and whether the
/// checkout differs from it, the digests of the image definition and the lock files, and the
/// builder, from the environment (GitHub Actions' variables), read here once.
fn build_record(sh: &Shell) -> Result<Build> {
    let root = project::root();
    let digest_of = |path: &str| -> Result<String> {
        let bytes = std::fs::read(root.join(path)).with_context(|| format!("reading {path}"))?;
        Ok(sha256(&bytes))
    };
    Ok(Build {
        commit: project::git_commit(sh),
        uncommitted_changes: project::has_uncommitted_changes(sh),
        definition: digest_of(DEFINITION)?,
        lockfiles: LOCKFILES
            .iter()
            .map(|path| {
                Ok(Lockfile {
                    path: path.to_string(),
                    digest: digest_of(path)?,
                })
            })
            .collect::<Result<_>>()?,
        builder: Builder::from_environment(|name| std::env::var(name).ok()),
    })
}

/// `image/image.toml`, checked; an error names the file.
pub(crate) fn load_definition() -> Result<Definition> {
    let path = project::root().join(DEFINITION);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Definition::parse(&text)
        .with_context(|| format!("{DEFINITION} is not a valid image definition"))
}

/// The requested platforms once each, in the table's order, so that the index does not depend on
/// how `--platform` was spelled.
pub(crate) fn in_table_order(requested: &[&'static Platform]) -> Vec<&'static Platform> {
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

fn print_sizes(image: &Image, progress: Progress) {
    progress.say(&format!(
        "{:<16} {:>6} {:>7} {:>9} {:>6}",
        "platform", "layer", "config", "manifest", "total"
    ));
    for built in &image.platforms {
        progress.say(&format!(
            "{:<16} {:>6} {:>7} {:>9} {:>6}",
            built.platform.name,
            built.layer.size(),
            built.config.size(),
            built.manifest.size(),
            built.total_bytes()
        ));
    }
}

/// Fails on the first platform over budget, writing nothing.
fn check_sizes(image: &Image) -> Result<()> {
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
                 shrink the binary or the annotations in {DEFINITION}",
                built.total_bytes()
            );
        }
    }
    Ok(())
}

/// `[REGISTRY/]REPOSITORY:TAG`: the name loaders store the image under needs a tag, and no digest.
fn check_tag(tag: &str) -> Result<()> {
    let fix = "give --tag as REPOSITORY:TAG, e.g. localhost/pause:0.1.0";
    let reference =
        Reference::parse(tag).map_err(|error| anyhow::anyhow!("--tag {error}: {fix}"))?;
    if reference.tag.is_none() || reference.digest.is_some() {
        bail!("--tag `{reference}` has no tag, or has a digest: {fix}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MAX_LAYER_BYTES, check_sizes, check_tag};
    use crate::build::assemble::tests::image_of;
    use crate::build::pause::MAX_BINARY_BYTES;
    use crate::oci::definition::File;
    use crate::oci::layer;
    use crate::platform::PLATFORMS;

    /// The bound on an inflated layer, which a registry's layer is read under, holds any layer
    /// the budgets let through: a binary of the whole binary budget reads back.
    #[test]
    fn a_layer_within_budget_reads_back_within_the_inflated_bound() {
        let file = File {
            path: "/pause".to_string(),
            mode: 0o755,
            uid: 0,
            gid: 0,
        };
        let binary = vec![0; MAX_BINARY_BYTES as usize];
        let built = layer::build(&file, &binary, 0).unwrap();
        let (entries, _) = layer::read(&built.blob.data).unwrap();
        assert_eq!(entries[0].data, binary);
    }

    /// A binary that does not compress (xorshift noise) must make the size check fail, naming the
    /// platform and the budget.
    #[test]
    fn an_oversized_layer_is_refused() {
        const NOISE_BYTES: usize = 4096;
        let mut state: u32 = 0x9e37_79b9;
        let noise: Vec<u8> = (0..NOISE_BYTES)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        let platform = &PLATFORMS[0];
        let error = check_sizes(&image_of(&[(platform, noise)], 0))
            .expect_err("4 KiB of noise is over budget")
            .to_string();
        assert!(
            error.contains(platform.name) && error.contains(&MAX_LAYER_BYTES.to_string()),
            "{error}"
        );
        check_sizes(&image_of(&[(platform, vec![0; NOISE_BYTES])], 0)).expect("zeros compress");
    }

    #[test]
    fn malformed_tags_are_refused() {
        for good in [
            "localhost/pause:0.1.0",
            "127.0.0.1:5000/pause:dev",
            "ghcr.io/o/pause:v1.2.3",
            "pause:x",
        ] {
            check_tag(good).unwrap_or_else(|error| panic!("{good}: {error}"));
        }
        for bad in [
            "",
            "pause",
            "Pause:1",
            "localhost/pause:",
            "localhost/pause:a/b",
            ":1",
            "pause:-x",
            "a//b:1",
            "ghcr.io/o/pause@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let error = check_tag(bad).expect_err(bad).to_string();
            assert!(
                error.contains("--tag") && error.contains("REPOSITORY:TAG"),
                "{bad}: {error}"
            );
        }
    }
}
