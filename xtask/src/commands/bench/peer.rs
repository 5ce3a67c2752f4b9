//! The peers: what a user would run as a pod's pause instead of ours, each as the command a
//! container runtime would start.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::c_programs::Programs;
use super::requirements;

pub(crate) struct Peer {
    pub(crate) name: &'static str,
    /// Absolute program path, then its arguments.
    pub(crate) command: Vec<PathBuf>,
    /// Every file the peer needs in the image: their bytes are what it costs to ship.
    pub(crate) files: Vec<PathBuf>,
    /// What a reader must know to read its row.
    pub(crate) note: &'static str,
}

impl Peer {
    pub(crate) fn bytes(&self) -> Result<u64> {
        self.files
            .iter()
            .map(|file| {
                Ok(std::fs::metadata(file)
                    .with_context(|| file.display().to_string())?
                    .len())
            })
            .sum()
    }
}

/// Ours first: every ratio is to it.
pub(crate) fn all(ours: &Path, programs: &Programs) -> Result<Vec<Peer>> {
    let catatonit = requirements::program("catatonit")?;
    let tini = requirements::program("tini-static")?;
    Ok(vec![
        Peer {
            name: "pause (this project)",
            command: vec![ours.to_path_buf()],
            files: vec![ours.to_path_buf()],
            note: "Rust, no libc, static",
        },
        Peer {
            name: "pause.c, glibc",
            command: vec![programs.pause_glibc.clone()],
            files: vec![programs.pause_glibc.clone()],
            note: "bench/pause.c built as Kubernetes builds pause.c: gcc -Os -static, stripped",
        },
        Peer {
            name: "pause.c, musl",
            command: vec![programs.pause_musl.clone()],
            files: vec![programs.pause_musl.clone()],
            note: "bench/pause.c built with musl-gcc -Os -static, stripped",
        },
        Peer {
            name: "catatonit -P",
            command: vec![catatonit.clone(), "-P".into()],
            files: vec![catatonit],
            note: "Debian's catatonit in its pause mode, as podman's own pause image runs it",
        },
        // tini has no pause mode: it only ever supervises a child and exits when the child does.
        // The fairest stand-in for a pause is tini as PID 1 (no -s: PID 1 reaps anyway) over the
        // cheapest child that blocks and answers SIGTERM with exit 0, which is our pause. Its rows
        // count both processes and both files.
        Peer {
            name: "tini-static -- pause",
            command: vec![tini.clone(), "--".into(), ours.to_path_buf()],
            files: vec![tini, ours.to_path_buf()],
            note: "Debian's tini-static as PID 1 over our pause as its child; both counted",
        },
    ])
}
