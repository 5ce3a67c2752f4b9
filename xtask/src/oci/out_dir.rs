//! The directory `cargo xtask image` writes to (`--out DIR`, by default `target/image`): held by one
//! run at a time, and its two outputs, `DIR/oci` and `DIR/pause.tar`, replaced only when this
//! tool wrote them.
//!
//! - The hold: an exclusive `flock` on DIR itself (a directory can be locked as a file can; no
//!   lock file is left in DIR), from before the build until both outputs are written, so the pair
//!   always comes from one run. A run that finds DIR held says so in one line and waits.
//! - The record: `DIR/xtask-image.json`, written last by every run, holds the size and sha256
//!   digest of the `oci/index.json` and of the `pause.tar` it wrote (`{"layout": [...],
//!   "archive": [...]}`, each a list of `{"digest", "size"}`). While a run swaps its outputs in,
//!   the record lists the old ones and the new ones, so a run killed midway leaves a record that
//!   still knows what is there.
//! - What is replaced: nothing where nothing is; `DIR/oci` only when it holds nothing but layout
//!   files (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) and its `index.json` is one the
//!   record lists (a layout another tool added an image to is not ours any more);
//!   `DIR/pause.tar` only when it is a regular file the record lists. Anything else is refused
//!   before the build, in one line naming the path and what to do, and DIR is left as it was.
//!   The default `target/image` with no record is the build's own (an xtask from before the
//!   record wrote it, and `cargo clean` removes it anyway): replaced.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use super::archive;
use super::blob::sha256;
use super::image::Image;
use super::layout::{self, INDEX_FILE, Refs};
use super::regular_file;
use super::staging::Staging;
use crate::escape::Escaped;
use crate::platform::Platform;
use crate::project;

/// The record of what the last run wrote, in DIR.
const RECORD_FILE: &str = "xtask-image.json";
/// The most the record may weigh when read: it lists a few digests.
const MAX_RECORD_BYTES: u64 = 64 << 10;
/// The most of a recorded output (`oci/index.json`, `pause.tar`) read to check it against the
/// record, whatever size the record claims: the record is a file in DIR, which anyone who can
/// write there may have written, and a size of 2^64-1 beside a sparse `pause.tar` of 16 TiB
/// had the check reserve and read all of it (the process aborted, out of memory). What this
/// tool writes is tens of KiB.
const MAX_CHECKED_BYTES: u64 = 64 << 20;

/// One file this tool wrote, as the record names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Written {
    digest: String,
    size: u64,
}

impl Written {
    fn of(data: &[u8]) -> Written {
        Written {
            digest: sha256(data),
            size: data.len() as u64,
        }
    }
}

/// What the record says: the `index.json`s and tarballs DIR may hold as this tool wrote them.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    layout: Vec<Written>,
    archive: Vec<Written>,
}

/// DIR, held for this run.
pub(crate) struct OutDir {
    dir: PathBuf,
    /// `DIR/oci`.
    layout: PathBuf,
    /// `DIR/pause.tar`.
    archive: PathBuf,
    /// Whether DIR without a record is ours all the same: the default `target/image`.
    ours_without_record: bool,
    /// The open DIR the lock is on; closing it lets the next run in.
    _held: File,
}

impl OutDir {
    /// Holds `dir` (creating it) for this run, waiting while another run holds it, then checks
    /// that what it holds may be replaced. `ours_without_record`: the default directory.
    pub(crate) fn hold(dir: &Path, ours_without_record: bool) -> Result<OutDir> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let held = File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
        let locked = match flock(&held, FlockOperation::NonBlockingLockExclusive) {
            Err(Errno::WOULDBLOCK) => {
                eprintln!(
                    "another `cargo xtask image` run is writing to {}: this one waits for it to \
                     finish",
                    dir.display()
                );
                flock(&held, FlockOperation::LockExclusive)
            }
            result => result,
        };
        locked.with_context(|| format!("locking {}", dir.display()))?;
        let out = OutDir {
            dir: dir.to_path_buf(),
            layout: project::layout_dir(dir),
            archive: project::archive_path(dir),
            ours_without_record,
            _held: held,
        };
        out.present()?;
        Ok(out)
    }

    /// Writes `image`'s layout and archive (the archive's docker image `docker_platform`'s,
    /// dated `mtime`) over what DIR holds, checked again.
    pub(crate) fn write(
        &self,
        image: &Image,
        docker_platform: &Platform,
        mtime: u64,
    ) -> Result<()> {
        let old = self.present()?;
        let files = layout::files(image, Refs::Everything)?;
        let index = files
            .iter()
            .find(|(name, _)| name == INDEX_FILE)
            .map(|(_, data)| Written::of(data))
            .context("the layout has an index.json")?;
        let archive = archive::bytes(image, docker_platform, mtime)?;
        let new = Record {
            layout: vec![index],
            archive: vec![Written::of(&archive)],
        };
        // Until both are in, either output may be the old one or the new one.
        self.save(&Record {
            layout: old.layout.into_iter().chain(new.layout.clone()).collect(),
            archive: old.archive.into_iter().chain(new.archive.clone()).collect(),
        })?;
        layout::write_files(&files, &self.layout)?;
        archive::write_bytes(&archive, &self.archive)?;
        self.save(&new)
    }

    /// What DIR holds now, as a record: each output present, checked to be ours. Refuses, in
    /// one line naming the path and what to do, anything that is not.
    fn present(&self) -> Result<Record> {
        let record = self.load()?;
        let mut present = Record::default();
        for (path, found, recorded) in [
            (
                &self.layout,
                &mut present.layout,
                record.as_ref().map(|r| &r.layout),
            ),
            (
                &self.archive,
                &mut present.archive,
                record.as_ref().map(|r| &r.archive),
            ),
        ] {
            if fs::symlink_metadata(path).is_err() {
                continue;
            }
            let written = match recorded {
                Some(recorded) => self.recorded(path, recorded)?,
                None if self.ours_without_record => continue,
                None => bail!(self.refusal(
                    path,
                    &format!(
                        "it was not written by `cargo xtask image` (no {RECORD_FILE} beside it)"
                    )
                )),
            };
            found.push(written);
        }
        Ok(present)
    }

    /// `path` (the layout or the archive) as one of the `recorded` files, or a refusal.
    fn recorded(&self, path: &Path, recorded: &[Written]) -> Result<Written> {
        let file = if path == self.layout {
            if let Some(stranger) = layout::stranger(path)? {
                let inside = stranger.strip_prefix(path).unwrap_or(&stranger);
                bail!(self.refusal(
                    path,
                    &format!(
                        "it holds {}, which `cargo xtask image` did not write",
                        inside.display()
                    )
                ));
            }
            path.join(INDEX_FILE)
        } else {
            path.to_path_buf()
        };
        let largest = recorded
            .iter()
            .map(|written| written.size)
            .max()
            .unwrap_or(0)
            .min(MAX_CHECKED_BYTES);
        let changed = || self.refusal(path, "it changed since `cargo xtask image` wrote it");
        let data = match regular_file::read(&file, largest) {
            Ok(data) => data,
            Err(regular_file::Refusal::Longer(_)) => bail!(changed()),
            Err(refusal) => bail!(self.refusal(path, &format!("{} {refusal}", file.display()))),
        };
        let written = Written::of(&data);
        if !recorded.contains(&written) {
            bail!(changed());
        }
        Ok(written)
    }

    /// The refusal to replace `path`, for `why`.
    fn refusal(&self, path: &Path, why: &str) -> String {
        format!(
            "refusing to replace {}: {why}; nothing was changed: choose another --out (a new or \
             empty directory), or move {} away yourself",
            path.display(),
            path.display()
        )
    }

    /// The record in DIR, if there is one.
    fn load(&self) -> Result<Option<Record>> {
        let path = self.dir.join(RECORD_FILE);
        let unknown = |why: String| {
            format!(
                "{} {why}, so it is not the record `cargo xtask image` keeps of what it wrote: \
                 choose another --out (a new or empty directory), or move it away yourself",
                path.display()
            )
        };
        match regular_file::read(&path, MAX_RECORD_BYTES) {
            // serde quotes an unknown field as it is, control characters and all: the record
            // is a file in DIR, which anyone who can write there may have written.
            Ok(data) => serde_json::from_slice(&data).map(Some).map_err(|error| {
                anyhow::anyhow!(unknown(format!(
                    "is not as it writes it ({})",
                    Escaped(&error.to_string())
                )))
            }),
            Err(refusal) if refusal.is_missing() => Ok(None),
            Err(refusal) => bail!(unknown(refusal.to_string())),
        }
    }

    /// Replaces the record in DIR with `record`, in one rename.
    fn save(&self, record: &Record) -> Result<()> {
        let path = self.dir.join(RECORD_FILE);
        let staging = Staging::beside(&path)?;
        fs::write(&staging.path, serde_json::to_vec(record)?)
            .with_context(|| format!("writing {}", staging.path.display()))?;
        fs::rename(&staging.path, &path)
            .with_context(|| format!("renaming {} to {}", staging.path.display(), path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::{OutDir, RECORD_FILE};
    use crate::project;

    /// A record is DIR's word, not ours: the size it claims for `pause.tar` bounds nothing.
    #[test]
    fn a_hostile_record_cannot_make_the_check_read_a_huge_file() {
        let dir = tempfile::tempdir().unwrap();
        let digest = format!("sha256:{}", "0".repeat(64));
        fs::write(
            dir.path().join(RECORD_FILE),
            format!(
                r#"{{"layout":[],"archive":[{{"digest":"{digest}","size":18446744073709551615}}]}}"#
            ),
        )
        .unwrap();
        // Sparse: nearly ext4's largest file, 16 TiB, taking no room on disk.
        let archive = fs::File::create(project::archive_path(dir.path())).unwrap();
        archive.set_len((1 << 44) - (1 << 20)).unwrap();
        let refusal = OutDir::hold(dir.path(), false).err().unwrap().to_string();
        assert!(refusal.contains("it changed since"), "{refusal}");
    }

    /// What a hostile record holds reaches the terminal escaped: an unknown field that would
    /// retitle the terminal and clear the screen.
    #[test]
    fn a_hostile_record_is_quoted_escaped() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(RECORD_FILE),
            r#"{"\u001b]0;PWNED\u0007\u001b[2J":1}"#,
        )
        .unwrap();
        let refusal = OutDir::hold(dir.path(), false).err().unwrap().to_string();
        assert!(refusal.contains("is not as it writes it"), "{refusal}");
        assert!(!refusal.contains(['\u{1b}', '\u{7}']), "{refusal:?}");
    }
}
