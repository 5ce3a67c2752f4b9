//! The anchors the per-pod bench starts, each as a FROM-scratch image made the way ours is: the
//! xtask's own assembly (`build::assemble`) from image/image.toml, one layer holding the one binary,
//! the same config (user 65535:65535, the entrypoint being the binary), written as a loadable
//! archive (`oci::archive`) for the host's platform alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::c_programs::Programs;
use super::requirements;
use crate::build::assemble::{self, Inputs};
use crate::build::image::load_definition;
use crate::oci::{archive, timestamp};
use crate::platform::Platform;
use crate::project;

/// The repository every bench image is named under.
const REPOSITORY: &str = "localhost/pause-bench";

pub(crate) struct PodImage {
    pub(crate) name: &'static str,
    /// `REPOSITORY:TAG`, as `docker load` stores it.
    pub(crate) tag: String,
    pub(crate) archive: PathBuf,
    /// What a reader must know to read its row.
    pub(crate) note: &'static str,
}

/// What goes into one image besides the definition's defaults.
struct Anchor {
    name: &'static str,
    /// The last part of the repository.
    slug: &'static str,
    binary: PathBuf,
    /// Where the binary is in the image; the entrypoint runs it.
    path: &'static str,
    arguments: &'static [&'static str],
    note: &'static str,
}

/// Ours first: every ratio is to it.
pub(crate) fn build(
    ours: &Path,
    programs: &Programs,
    host: &'static Platform,
) -> Result<Vec<PodImage>> {
    let anchors = [
        Anchor {
            name: "pause (this project)",
            slug: "pause",
            binary: ours.to_path_buf(),
            path: "/pause",
            arguments: &[],
            note: "our binary, in the layer and config `cargo xtask image` builds for this \
                   platform",
        },
        Anchor {
            name: "pause.c, glibc",
            slug: "pause-c-glibc",
            binary: programs.pause_glibc.clone(),
            path: "/pause",
            arguments: &[],
            note: "bench/pause.c built as Kubernetes builds pause.c (gcc -Os -static, stripped) \
                   in the same image shape",
        },
        Anchor {
            name: "catatonit -P",
            slug: "catatonit",
            binary: requirements::program("catatonit")?,
            path: "/catatonit",
            arguments: &["-P"],
            note: "Debian's static catatonit in its pause mode, as podman's own pause image runs \
                   it, in the same image shape",
        },
    ];
    let epoch = timestamp::parse(std::env::var(timestamp::VAR).ok().as_deref())?;
    let out = project::target_dir().join("bench").join("images");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut images = Vec::new();
    for anchor in anchors {
        let mut definition = load_definition()?;
        definition.binary.path = anchor.path.to_string();
        definition.entrypoint = std::iter::once(anchor.path)
            .chain(anchor.arguments.iter().copied())
            .map(str::to_string)
            .collect();
        let bytes = std::fs::read(&anchor.binary)
            .with_context(|| format!("reading {}", anchor.binary.display()))?;
        let tag = format!("{REPOSITORY}/{}:{}", anchor.slug, env!("CARGO_PKG_VERSION"));
        let inputs = Inputs {
            definition: &definition,
            tag: &tag,
            epoch,
            revision: None,
            // Peers built from C: no SBOM of ours describes them.
            materials: None,
            build: None,
        };
        let image = assemble::assemble(&inputs, &[(host, bytes)])?;
        let archive = out.join(format!("{}.tar", anchor.slug));
        archive::write(&image, host, epoch, &archive)?;
        images.push(PodImage {
            name: anchor.name,
            tag,
            archive,
            note: anchor.note,
        });
    }
    Ok(images)
}
